/* Philox4x32-10 in AVX2 registers, for the runtime dispatch in philox.h.
 *
 * The rounds need the high and low halves of 32 x 32-bit products.  Written
 * in C, GCC computes them as ordered 64-bit lanes and spends most of a
 * round shuffling them back into 32-bit lanes (6 ns a call here); AVX2
 * multiplies the even and the odd lanes separately, and two blends put the
 * halves in place, which halves the cost of the stochastic draws' random
 * numbers.  The portable C in philox.h stays the definition and the
 * fallback; both are checked against the Random123 known answers. */
#include "philox.h"

#if defined(CPOOL_PHILOX_AVX2)
#include <immintrin.h>

/* hi = (a * m) >> 32 and *lo = (uint32_t)(a * m) in each 32-bit lane. */
CPOOL_AVX2 static inline __m256i philox_mulhilo(__m256i a, __m256i m, __m256i *lo)
{
    const __m256i even = _mm256_mul_epu32(a, m);
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    return _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* Eight calls: counters ctr[0..7], their words to words[0..31]. */
CPOOL_AVX2 static inline void philox_eight(const uint64_t *restrict ctr, const uint32_t key[2],
                                           uint32_t *restrict words)
{
    const __m256i m0 = _mm256_set1_epi32((int)CPOOL_PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi32((int)CPOOL_PHILOX_M1);
    /* lanes 0-3 of a permuted pair of counters: their low words, 4-7: high */
    const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i p = _mm256_permutevar8x32_epi32(
        _mm256_loadu_si256((const __m256i *)(const void *)ctr), split);
    const __m256i q = _mm256_permutevar8x32_epi32(
        _mm256_loadu_si256((const __m256i *)(const void *)(ctr + 4)), split);
    __m256i c0 = _mm256_permute2x128_si256(p, q, 0x20);
    __m256i c1 = _mm256_permute2x128_si256(p, q, 0x31);
    __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
    __m256i t0, t1, t2, t3;
    uint32_t k0 = key[0], k1 = key[1];
    int r;
    for (r = 0; r < 10; r++) {
        __m256i lo0, lo1;
        const __m256i hi0 = philox_mulhilo(c0, m0, &lo0);
        const __m256i hi1 = philox_mulhilo(c2, m1, &lo1);
        c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)k0));
        c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)k1));
        c1 = lo1;
        c3 = lo0;
        k0 += CPOOL_PHILOX_W0;
        k1 += CPOOL_PHILOX_W1;
    }
    /* call j's four words side by side: a 4 x 8 transpose */
    t0 = _mm256_unpacklo_epi32(c0, c1); /* calls 0, 1 | 4, 5: words 0-1 */
    t1 = _mm256_unpackhi_epi32(c0, c1); /* calls 2, 3 | 6, 7 */
    t2 = _mm256_unpacklo_epi32(c2, c3); /* words 2-3 */
    t3 = _mm256_unpackhi_epi32(c2, c3);
    c0 = _mm256_unpacklo_epi64(t0, t2); /* call 0 | call 4 */
    c1 = _mm256_unpackhi_epi64(t0, t2); /* call 1 | call 5 */
    c2 = _mm256_unpacklo_epi64(t1, t3); /* call 2 | call 6 */
    c3 = _mm256_unpackhi_epi64(t1, t3); /* call 3 | call 7 */
    _mm256_storeu_si256((__m256i *)(void *)words,
                        _mm256_permute2x128_si256(c0, c1, 0x20));
    _mm256_storeu_si256((__m256i *)(void *)(words + 8),
                        _mm256_permute2x128_si256(c2, c3, 0x20));
    _mm256_storeu_si256((__m256i *)(void *)(words + 16),
                        _mm256_permute2x128_si256(c0, c1, 0x31));
    _mm256_storeu_si256((__m256i *)(void *)(words + 24),
                        _mm256_permute2x128_si256(c2, c3, 0x31));
}

CPOOL_AVX2 void cpool_philox_calls_avx2(const uint64_t *restrict ctr, int64_t calls,
                                        const uint32_t key[2], uint32_t *restrict words)
{
    int64_t j0;
    for (j0 = 0; j0 + 8 <= calls; j0 += 8)
        philox_eight(ctr + j0, key, words + 4 * j0);
    if (j0 < calls) { /* the last few in a padded block: rows are often short */
        uint64_t last[8] = {0};
        uint32_t out[32];
        memcpy(last, ctr + j0, (size_t)(calls - j0) * sizeof *ctr);
        philox_eight(last, key, out);
        memcpy(words + 4 * j0, out, (size_t)(calls - j0) * 4 * sizeof *out);
    }
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cpool_philox_no_avx2;
#endif
