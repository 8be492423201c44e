/* Eight float32 lanes in AVX2 registers: the loads and stores that the
 * hand-written kernels (stoch_avx2.c, max_avx2.c) share.  Lane j of a block
 * reads p[j * step], step 1 or 2.  Include only where CPOOL_HAVE_CLONES. */
#ifndef CPOOL_LANES_AVX2_H
#define CPOOL_LANES_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include "common.h"

#define CPOOL_AVX2_INLINE CPOOL_FORCE_INLINE CPOOL_AVX2

/* Lanes j < 8 of p[j * step].  Step 2 gives them in the order 0, 1, 4, 5,
 * 2, 3, 6, 7 (one in-lane shuffle instead of a cross-lane one per load);
 * cpool_order8 puts a block's results back once.  The second load starts
 * at p + 7 so that nothing past lane 7's element is read. */
CPOOL_AVX2_INLINE __m256 cpool_load8(const float *restrict p, int64_t step)
{
    if (step == 1)
        return _mm256_loadu_ps(p);
    return _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 7), 0xD8);
}

/* Lanes j < 8 of p[2 j] and of p[2 j + 1], in cpool_load8's step-2 order,
 * from the same two loads: two taps side by side for three instructions
 * each fewer.  Reads p[0, 16). */
CPOOL_AVX2_INLINE void cpool_load8_pair(const float *restrict p, __m256 *even, __m256 *odd)
{
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    *even = _mm256_shuffle_ps(a, b, 0x88);
    *odd = _mm256_shuffle_ps(a, b, 0xDD);
}

/* The permutation of cpool_load8 (its own inverse): 64-bit pairs 0, 2, 1, 3. */
CPOOL_AVX2_INLINE __m256 cpool_order8(__m256 v, int64_t step)
{
    if (step == 1)
        return v;
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
}

/* The offsets rel[k] (int32) broadcast as float bit patterns, for blends. */
CPOOL_AVX2_INLINE void cpool_rel8(const int64_t *restrict rel, int64_t taps, __m256 *restrict out)
{
    int64_t k;
    for (k = 0; k < taps; k++)
        out[k] = _mm256_castsi256_ps(_mm256_set1_epi32((int)rel[k]));
}

/* idx[j] = base + j * istep + pick[j] for j < 8, pick in cpool_load8's
 * order (int32 bit patterns). */
CPOOL_AVX2_INLINE void cpool_store_index8(int64_t *restrict idx, int64_t base, int64_t istep,
                                          __m256 pick, int64_t step)
{
    const __m256i r = _mm256_castps_si256(cpool_order8(pick, step));
    const __m256i at = _mm256_add_epi64(_mm256_set1_epi64x(base),
                                        _mm256_setr_epi64x(0, istep, 2 * istep, 3 * istep));
    _mm256_storeu_si256((__m256i *)(void *)idx,
                        _mm256_add_epi64(at, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(r))));
    _mm256_storeu_si256((__m256i *)(void *)(idx + 4),
                        _mm256_add_epi64(_mm256_add_epi64(at, _mm256_set1_epi64x(4 * istep)),
                                         _mm256_cvtepi32_epi64(_mm256_extracti128_si256(r, 1))));
}

/* The four taps of 2 x 2, stride-2 windows on input rows r0, r1 of at most
 * 16 columns (W), in window order: t[0] = r0[2j], t[1] = r0[2j + 1], t[2] =
 * r1[2j], t[3] = r1[2j + 1] for lanes j < 8, in cpool_load8's step-2 order.
 * Where reading on to r1 + 16 could pass the end of the input (`masked`)
 * the loads stop at the row (lo_mask: lanes < min(W, 8), hi_mask: lanes <
 * min(W - 8, 8)); elsewhere the lanes past W come from the next row and go
 * unused. */
CPOOL_AVX2_INLINE void cpool_k2s2_short_taps(const float *restrict r0, const float *restrict r1,
                                             int masked, __m256i lo_mask, __m256i hi_mask,
                                             __m256 t[4])
{
    const __m256 a0 = masked ? _mm256_maskload_ps(r0, lo_mask) : _mm256_loadu_ps(r0);
    const __m256 b0 = masked ? _mm256_maskload_ps(r0 + 8, hi_mask) : _mm256_loadu_ps(r0 + 8);
    const __m256 a1 = masked ? _mm256_maskload_ps(r1, lo_mask) : _mm256_loadu_ps(r1);
    const __m256 b1 = masked ? _mm256_maskload_ps(r1 + 8, hi_mask) : _mm256_loadu_ps(r1 + 8);
    t[0] = _mm256_shuffle_ps(a0, b0, 0x88);
    t[1] = _mm256_shuffle_ps(a0, b0, 0xDD);
    t[2] = _mm256_shuffle_ps(a1, b1, 0x88);
    t[3] = _mm256_shuffle_ps(a1, b1, 0xDD);
}

/* The row masks of cpool_k2s2_short_taps for rows of W columns. */
CPOOL_AVX2_INLINE void cpool_k2s2_short_masks(int64_t W, __m256i *lo_mask, __m256i *hi_mask)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int64_t lo = W < 8 ? W : 8, hi = W < 8 ? 0 : W - 8 < 8 ? W - 8 : 8;
    *lo_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)lo), lane);
    *hi_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane);
}

/* v[i] lane j <- v[j] lane i: an 8 x 8 transpose of 32-bit elements in
 * registers. */
CPOOL_AVX2_INLINE void cpool_transpose8x8(__m256i v[8])
{
    __m256i t[8], s[8];
    int i;
    for (i = 0; i < 8; i += 2) { /* rows i, i + 1 interleaved: columns 0, 1, 4, 5 | 2, 3, 6, 7 */
        t[i] = _mm256_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(v[i], v[i + 1]);
    }
    for (i = 0; i < 8; i += 4) { /* four rows: columns 0, 4 | 1, 5 | 2, 6 | 3, 7 */
        s[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        s[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        s[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        s[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (i = 0; i < 4; i++) {
        v[i] = _mm256_permute2x128_si256(s[i], s[i + 4], 0x20);
        v[i + 4] = _mm256_permute2x128_si256(s[i], s[i + 4], 0x31);
    }
}

#endif
