/* Average pooling's hand-written AVX2 window sums (avg_avx2.c). */
#ifndef CPOOL_AVG_H
#define CPOOL_AVG_H

#include <stdint.h>
#include "common.h"

/* How cpool_window_sums_f32_avx2 finishes a sum s: as it is, s * by (a
 * power-of-two divisor's exact reciprocal), s / by, or sqrt(s) (Lp, p = 2). */
typedef enum { CPOOL_SUMS_RAW, CPOOL_SUMS_MUL, CPOOL_SUMS_DIV, CPOOL_SUMS_SQRT } cpool_sums_finish;

#if defined(CPOOL_HAVE_CLONES)
#define CPOOL_AVG_AVX2 1
/* y[j] = finish(0 + t(x[j * step + rel[0]]) + ... + t(x[j * step + rel[taps - 1]])),
 * added in that order in float32, t(v) = v * v if `squares`, else v; for n
 * windows that cpool_lanes8_fit admits.  Every step is one correctly rounded
 * float32 operation, so the results are the scalar loop's bits. */
void cpool_window_sums_f32_avx2(const float *restrict x, int64_t step,
                                const int64_t *restrict rel, int64_t taps, int64_t n,
                                int squares, cpool_sums_finish finish, float by,
                                float *restrict y);
/* cpool_window_sums_f32_avx2 for windows that start `pad` (0-4) columns
 * before their row, x pointing there, kw taps a window row (rel[k] = row
 * offset + k % kw): taps left of the row are skipped, which leaves each sum
 * the clipped window's bits.  n == 8, or n - 8 >= pad / step rounded up;
 * pad < kw. */
void cpool_window_sums_padded_f32_avx2(const float *restrict x, int64_t step,
                                       const int64_t *restrict rel, int64_t taps, int64_t kw,
                                       int64_t pad, int64_t n, int squares,
                                       cpool_sums_finish finish, float by, float *restrict y);
/* The window sums ((0 + r0[2j]) + r0[2j + 1] + r1[2j]) + r1[2j + 1] of a
 * 2 x 2, stride-2 pooling of `planes` contiguous channels-first H x W planes
 * into OH x OW planes, for rows of at most 8 outputs (OW <= 8, 2 OW <= W,
 * 2 OH <= H); y is contiguous. */
void cpool_avg_k2s2_short_f32_avx2(const float *restrict x, int64_t planes, int64_t H,
                                   int64_t W, int64_t OH, int64_t OW, float *restrict y);
#endif

#endif
