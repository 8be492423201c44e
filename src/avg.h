/* Average pooling's hand-written AVX2 window sums (avg_avx2.c). */
#ifndef CPOOL_AVG_H
#define CPOOL_AVG_H

#include <stdint.h>
#include "common.h"

#if defined(CPOOL_HAVE_CLONES)
#define CPOOL_AVG_AVX2 1
/* y[j] = 0 + x[j * step + rel[0]] + ... + x[j * step + rel[taps - 1]], added
 * in that order in float32, for n windows that cpool_lanes8_fit admits. */
void cpool_window_sums_f32_avx2(const float *restrict x, int64_t step,
                                const int64_t *restrict rel, int64_t taps, int64_t n,
                                float *restrict y);
#endif

#endif
