/* What stochastic.c and its AVX2 draws (stoch_avx2.c) share. */
#ifndef CPOOL_STOCHASTIC_H
#define CPOOL_STOCHASTIC_H

#include <stdint.h>
#include "common.h"

/* Windows of up to this many taps keep their running sums instead of
 * reading x twice (stochastic.inc), and fit the AVX2 draws' registers. */
#define CPOOL_STOCH_PREFIX 16

/* Calls f with the tap count a compile-time 4 or 9 where it is (2x2 and 3x3
 * windows), so the loops over taps unroll and the running sums stay in
 * registers; other counts take the generic loop.  f must be
 * CPOOL_FORCE_INLINE. */
#define CPOOL_WITH_TAPS(taps, call_with) CPOOL_WITH_EITHER(taps, 9, 4, call_with)

#if defined(CPOOL_HAVE_CLONES)
#define CPOOL_STOCH_AVX2 1
/* The float32 draws of n lanes that cpool_lanes8_fit admits
 * (stoch_count_small's method): lane j's tap k is x[j * step + rel[k] *
 * scale], rel[k] <= INT32_MAX; its uniform cpool_uniform(u[j]).  Writes
 * y[j], the drawn tap's value, and, unless idx is NULL, idx[j] = ibase +
 * j * istep + rel[drawn].  Lanes that the float32 sums cannot decide go to
 * redo[] (room for n), for the caller to draw in double; returns their
 * number. */
int64_t cpool_stoch_draw_f32_avx2(const float *restrict x, int64_t step,
                                  const int64_t *restrict rel, int64_t scale, int64_t taps,
                                  int64_t n, const uint32_t *restrict u, float *restrict y,
                                  int64_t *restrict idx, int64_t ibase, int64_t istep,
                                  int64_t *restrict redo);
#endif

#endif
