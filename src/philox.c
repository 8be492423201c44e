/* Philox4x32-10 in AVX2 (and AVX-512VL) registers, for the runtime dispatch in philox.h.
 *
 * The rounds need the high and low halves of 32 x 32-bit products.  Written
 * in C, GCC computes them as ordered 64-bit lanes and spends most of a
 * round shuffling them back into 32-bit lanes (6 ns a call here); AVX2
 * multiplies the even and the odd lanes separately for the high halves, one
 * blend puts them in place, and one 32-bit multiply gives the low halves,
 * which halves the cost of the stochastic draws' random numbers.  Sixteen
 * calls run as two independent chains of rounds (2.75 against 3.3 ns a
 * call with one).  The portable C in philox.h stays the definition and the
 * fallback; both are checked against the Random123 known answers. */
#include "philox.h"

#if defined(CPOOL_PHILOX_AVX2)
#include "lanes_avx2.h"

/* Eight calls' counter words, lane j = call j. */
typedef struct {
    __m256i c0, c1, c2, c3;
} philox_lanes;

CPOOL_AVX2 static inline philox_lanes philox_load(const uint64_t *restrict ctr)
{
    /* lanes 0-3 of a permuted pair of counters: their low words, 4-7: high */
    const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i p = _mm256_permutevar8x32_epi32(
        _mm256_loadu_si256((const __m256i *)(const void *)ctr), split);
    const __m256i q = _mm256_permutevar8x32_epi32(
        _mm256_loadu_si256((const __m256i *)(const void *)(ctr + 4)), split);
    philox_lanes s;
    s.c0 = _mm256_permute2x128_si256(p, q, 0x20);
    s.c1 = _mm256_permute2x128_si256(p, q, 0x31);
    s.c2 = _mm256_setzero_si256();
    s.c3 = _mm256_setzero_si256();
    return s;
}

/* call j's four words to words[4j..4j+3]: a 4 x 8 transpose */
CPOOL_AVX2 static inline void philox_store(philox_lanes s, uint32_t *restrict words)
{
    const __m256i t0 = _mm256_unpacklo_epi32(s.c0, s.c1); /* calls 0, 1 | 4, 5: words 0-1 */
    const __m256i t1 = _mm256_unpackhi_epi32(s.c0, s.c1); /* calls 2, 3 | 6, 7 */
    const __m256i t2 = _mm256_unpacklo_epi32(s.c2, s.c3); /* words 2-3 */
    const __m256i t3 = _mm256_unpackhi_epi32(s.c2, s.c3);
    const __m256i a0 = _mm256_unpacklo_epi64(t0, t2); /* call 0 | call 4 */
    const __m256i a1 = _mm256_unpackhi_epi64(t0, t2); /* call 1 | call 5 */
    const __m256i a2 = _mm256_unpacklo_epi64(t1, t3); /* call 2 | call 6 */
    const __m256i a3 = _mm256_unpackhi_epi64(t1, t3); /* call 3 | call 7 */
    _mm256_storeu_si256((__m256i *)(void *)words, _mm256_permute2x128_si256(a0, a1, 0x20));
    _mm256_storeu_si256((__m256i *)(void *)(words + 8), _mm256_permute2x128_si256(a2, a3, 0x20));
    _mm256_storeu_si256((__m256i *)(void *)(words + 16), _mm256_permute2x128_si256(a0, a1, 0x31));
    _mm256_storeu_si256((__m256i *)(void *)(words + 24), _mm256_permute2x128_si256(a2, a3, 0x31));
}

/* Eight calls on the consecutive counters first + j: the carry into the
 * high word where the low one wraps. */
CPOOL_AVX2 static inline philox_lanes philox_iota(uint64_t first)
{
    const __m256i flip = _mm256_set1_epi32((int)0x80000000u);
    const __m256i lo0 = _mm256_set1_epi32((int)(uint32_t)first);
    const __m256i lo = _mm256_add_epi32(lo0, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    /* lo < lo0 unsigned: a wrap, which adds one (the mask is -1) */
    const __m256i wrap = _mm256_cmpgt_epi32(_mm256_xor_si256(lo0, flip),
                                            _mm256_xor_si256(lo, flip));
    philox_lanes s;
    s.c0 = lo;
    s.c1 = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(first >> 32)), wrap);
    s.c2 = _mm256_setzero_si256();
    s.c3 = _mm256_setzero_si256();
    return s;
}

CPOOL_AVX2 static inline void philox_schedule(const uint32_t key[2], __m256i *k0, __m256i *k1)
{
    int r;
    for (r = 0; r < 10; r++) {
        k0[r] = _mm256_set1_epi32((int)(key[0] + (uint32_t)r * CPOOL_PHILOX_W0));
        k1[r] = _mm256_set1_epi32((int)(key[1] + (uint32_t)r * CPOOL_PHILOX_W1));
    }
}

/* The rounds and the loops over calls, in AVX2 and in AVX-512VL (the same
 * 256-bit vectors, with three-way XORs and masked shuffles: 12 instead of
 * 16 instructions a round, 25% faster here). */
#define SFX avx2
#define CPOOL_PHILOX_TARGET CPOOL_AVX2
#include "philox_lanes.inc"
#undef SFX
#undef CPOOL_PHILOX_TARGET
#define SFX avx512
#define CPOOL_PHILOX_TARGET CPOOL_AVX512VL
#define CPOOL_PHILOX_VL 1
#include "philox_lanes.inc"
#undef SFX
#undef CPOOL_PHILOX_TARGET
#undef CPOOL_PHILOX_VL

/* dst[i * dstride + r] = src[r][i] for r, i < 8 */
CPOOL_AVX2 static inline void words_transpose8(const uint32_t *const *src, int64_t at,
                                               uint32_t *restrict dst, int64_t dstride)
{
    __m256i v[8];
    int i;
    for (i = 0; i < 8; i++)
        v[i] = _mm256_loadu_si256((const __m256i *)(const void *)(src[i] + at));
    cpool_transpose8x8(v);
    for (i = 0; i < 8; i++)
        _mm256_storeu_si256((__m256i *)(void *)(dst + i * dstride), v[i]);
}

CPOOL_AVX2 int64_t cpool_words_transpose_avx2(const uint32_t *const *w, int64_t runs, int64_t n,
                                              uint32_t *restrict u, int64_t uj)
{
    int64_t g, j0;
    if (n < 8)
        return 0;
    for (g = 0; g + 8 <= runs; g += 8)
        for (j0 = 0; j0 < n; j0 += 8) { /* a short last block overlaps the one before */
            const int64_t at = j0 + 8 > n ? n - 8 : j0;
            words_transpose8(w + g, at, u + at * uj + g, uj);
        }
    return g;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cpool_philox_no_avx2;
#endif
