/* Average pooling's float32 interior window sums in AVX2 registers, for the
 * runtime dispatch in avg.inc.
 *
 * GCC vectorises avg.inc's tap passes eight outputs at a time, reading and
 * writing the row of sums once per tap, and ends each row with a scalar
 * tail (7 of 56 outputs for k3s2p1 on 112 columns).  Here each block of
 * eight windows sums all its taps in registers, and a row's last block
 * overlaps the one before instead of leaving a tail.  Each lane adds its
 * taps in the same order from the same 0, so the sums are the C's, bit for
 * bit. */
#include "avg.h"

#if defined(CPOOL_AVG_AVX2)
#include "lanes_avx2.h"

CPOOL_AVX2_INLINE void window_sums(const float *restrict x, int64_t step,
                                   const int64_t *restrict rel, int64_t taps, int64_t n,
                                   int squares, cpool_sums_finish finish, float by,
                                   float *restrict y, int64_t kw, int64_t pad)
{
    const __m256 b = _mm256_set1_ps(by);
    const __m256i elem = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t j0 = 0, k;
    for (;;) {
        const float *restrict p;
        __m256 acc = _mm256_setzero_ps(); /* 0 + x: -0 sums to +0, as in PyTorch */
        if (j0 + 8 > n) /* a short last block overlaps the one before */
            j0 = n - 8;
        p = x + j0 * step;
        if (j0 == 0 && pad > 0) {
            /* windows that start `pad` columns left of their row: a tap
             * there is not loaded and adds +0, which leaves every sum's
             * bits as they are (a sum from +0 is never -0) */
            int64_t c = 0;
            for (k = 0; k < taps; k++, c = c + 1 < kw ? c + 1 : 0) {
                const __m256i mask = _mm256_cmpgt_epi32(elem, _mm256_set1_epi32((int)(pad - c - 1)));
                const __m256 a = _mm256_maskload_ps(p + rel[k], mask);
                const __m256 v = step == 1 ? a
                                           : _mm256_shuffle_ps(a, _mm256_loadu_ps(p + rel[k] + 7),
                                                               0xD8);
                acc = _mm256_add_ps(acc, squares ? _mm256_mul_ps(v, v) : v);
            }
        } else {
            for (k = 0; k < taps; k++) {
                const __m256 v = cpool_load8(p + rel[k], step);
                acc = _mm256_add_ps(acc, squares ? _mm256_mul_ps(v, v) : v);
            }
        }
        /* one predictable branch a block: the finish costs no pass of its own */
        if (finish == CPOOL_SUMS_MUL)
            acc = _mm256_mul_ps(acc, b);
        else if (finish == CPOOL_SUMS_DIV)
            acc = _mm256_div_ps(acc, b);
        else if (finish == CPOOL_SUMS_SQRT)
            acc = _mm256_sqrt_ps(acc);
        _mm256_storeu_ps(y + j0, cpool_order8(acc, step));
        if (j0 + 8 >= n)
            return;
        j0 += 8;
    }
}

/* window_sums with taps a compile-time 9 or 4 where it is (3 x 3, 2 x 2) */
CPOOL_AVX2_INLINE void sums_by_taps(const float *restrict x, int64_t step,
                                    const int64_t *restrict rel, int64_t taps, int64_t n,
                                    int squares, cpool_sums_finish finish, float by,
                                    float *restrict y, int64_t kw, int64_t pad)
{
#define CPOOL_SUMS(k) window_sums(x, step, rel, k, n, squares, finish, by, y, kw, pad)
    CPOOL_WITH_EITHER(taps, 9, 4, CPOOL_SUMS);
#undef CPOOL_SUMS
}

CPOOL_AVX2 void cpool_window_sums_padded_f32_avx2(const float *restrict x, int64_t step,
                                                  const int64_t *restrict rel, int64_t taps,
                                                  int64_t kw, int64_t pad, int64_t n,
                                                  int squares, cpool_sums_finish finish,
                                                  float by, float *restrict y)
{
    /* constant step and squaring: stride-2 loads and no per-tap test */
    if (step == 1 && !squares)
        sums_by_taps(x, 1, rel, taps, n, 0, finish, by, y, kw, pad);
    else if (step == 1)
        sums_by_taps(x, 1, rel, taps, n, 1, finish, by, y, kw, pad);
    else if (!squares)
        sums_by_taps(x, 2, rel, taps, n, 0, finish, by, y, kw, pad);
    else
        sums_by_taps(x, 2, rel, taps, n, 1, finish, by, y, kw, pad);
}

CPOOL_AVX2 void cpool_window_sums_f32_avx2(const float *restrict x, int64_t step,
                                           const int64_t *restrict rel, int64_t taps,
                                           int64_t n, int squares, cpool_sums_finish finish,
                                           float by, float *restrict y)
{
    cpool_window_sums_padded_f32_avx2(x, step, rel, taps, 1, 0, n, squares, finish, by, y);
}

/* The window sums of one output row of a 2 x 2, stride-2 pooling whose
 * input rows r0, r1 hold at most 16 columns: the taps added in window order
 * from 0 (cpool_k2s2_short_taps). */
CPOOL_AVX2_INLINE __m256 k2s2_row_sums(const float *restrict r0, const float *restrict r1,
                                       int masked, __m256i lo_mask, __m256i hi_mask)
{
    __m256 t[4], acc = _mm256_setzero_ps(); /* 0 + x: -0 sums to +0 */
    int k;
    cpool_k2s2_short_taps(r0, r1, masked, lo_mask, hi_mask, t);
    for (k = 0; k < 4; k++)
        acc = _mm256_add_ps(acc, t[k]);
    return cpool_order8(acc, 2);
}

CPOOL_AVX2 void cpool_avg_k2s2_short_f32_avx2(const float *restrict x, int64_t planes,
                                              int64_t H, int64_t W, int64_t OH, int64_t OW,
                                              float *restrict y)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i out_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)OW), lane);
    const int64_t rows = planes * OH;
    const int64_t size = planes * H * W;
    __m256i lo_mask, hi_mask;
    int64_t p, oh, i = 0;
    cpool_k2s2_short_masks(W, &lo_mask, &hi_mask);
    for (p = 0; p < planes; p++)
        for (oh = 0; oh < OH; oh++, i++) {
            const int64_t at = (p * H + 2 * oh) * W;
            const float *restrict r0 = x + at;
            const __m256 v = at + W + 16 <= size ? k2s2_row_sums(r0, r0 + W, 0, lo_mask, hi_mask)
                                                 : k2s2_row_sums(r0, r0 + W, 1, lo_mask, hi_mask);
            /* a row shorter than 8 spills into the next rows' outputs,
             * which are written after it; rows that would spill past the
             * end are masked */
            if (i * OW + 8 <= rows * OW)
                _mm256_storeu_ps(y + i * OW, v);
            else
                _mm256_maskstore_ps(y + i * OW, out_mask, v);
        }
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cpool_avg_no_avx2;
#endif
