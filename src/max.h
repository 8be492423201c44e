/* The max forward of each element type, one per .inc instantiation.  The
 * max kernels are most of the build (over 100 s in one file with GCC 12 at
 * -O3), so they are built in four files that compile in parallel: max.c
 * (floating types and the entry point), max_int8.c, max_int16.c and
 * max_int32_64.c. */
#ifndef CPOOL_MAX_H
#define CPOOL_MAX_H

#include <stdint.h>
#include "common.h"

#define CPOOL_MAX_FWD(sfx) \
    int CPOOL_PASTE(cpool_max_fwd, sfx)(const cpool_geom *g, const void *x, void *y, int64_t *ind)
CPOOL_MAX_FWD(f32);
CPOOL_MAX_FWD(f64);
CPOOL_MAX_FWD(i8);
CPOOL_MAX_FWD(u8);
CPOOL_MAX_FWD(i16);
CPOOL_MAX_FWD(u16);
CPOOL_MAX_FWD(i32);
CPOOL_MAX_FWD(i64);
#undef CPOOL_MAX_FWD

#if defined(CPOOL_HAVE_CLONES)
#define CPOOL_MAX_AVX2 1
/* The float32 maxima of n windows that cpool_lanes8_fit admits: window j's
 * tap k is x[j * step + rel[k]], step 1 or 2, rel[k] <= INT32_MAX.  y[j] =
 * the maximum by max.inc's rule, and unless idx is NULL, idx[j] = ibase +
 * j * istep + rel[its tap]. */
void cpool_max_lanes_f32_avx2(const float *restrict x, int64_t step, const int64_t *restrict rel,
                              int64_t taps, int64_t n, float *restrict y, int64_t *restrict idx,
                              int64_t ibase, int64_t istep);
/* cpool_max_lanes_f32_avx2 for windows that start `pad` (0-4) columns
 * before their row, x pointing there (so window j's taps are x[j * step +
 * rel[k]]), kw taps a window row (rel[k] = row offset + k % kw): taps left
 * of the row are skipped, as in clipped windows.  n == 8, or n - 8 >=
 * pad / step rounded up; pad < kw. */
void cpool_max_lanes_padded_f32_avx2(const float *restrict x, int64_t step,
                                     const int64_t *restrict rel, int64_t taps, int64_t kw,
                                     int64_t pad, int64_t n, float *restrict y,
                                     int64_t *restrict idx, int64_t ibase, int64_t istep);
/* Max pooling 2 x 2, stride 2 of `planes` contiguous channels-first H x W
 * float planes into OH x OW planes with rows of at most 8 outputs
 * (cpool_k2s2_short): y and, unless NULL, ind (plane offsets) by max.inc's
 * rule; both contiguous. */
void cpool_max_k2s2_short_f32_avx2(const float *restrict x, int64_t planes, int64_t H,
                                   int64_t W, int64_t OH, int64_t OW, float *restrict y,
                                   int64_t *restrict ind);
/* The offset of max.inc's pick among src[0 .. n-1], n >= 1 (its scan rule);
 * after a CPU check. */
int64_t cpool_max_run_f32_avx2(const float *restrict src, int64_t n);
/* y[p] = plane p's maximum by that rule, and ind[p] its offset unless ind
 * is NULL, for p < planes of n >= 1 floats each at x + p n */
void cpool_max_planes_f32_avx2(const float *restrict x, int64_t n, int64_t planes,
                               float *restrict y, int64_t *restrict ind);
/* y[j] = the maximum of a[2 j], a[2 j + 1], b[2 j], b[2 j + 1] for j < n,
 * n >= 32, of 8-bit elements, signed where is_signed. */
void cpool_max_k2s2_8bit_avx2(const void *restrict a, const void *restrict b, int64_t n,
                              void *restrict y, int is_signed);
/* Max pooling of planes of in_plane floats at x + p in_plane, p < planes,
 * rows W long, over windows hb x wb (cpool_bins8: 2d bins of 6-8 columns):
 * y and, unless NULL, ind (plane offsets) hold OH x OW results a plane.
 * `readable` floats from x may be read. */
void cpool_max_bins8_f32_avx2(const float *restrict x, int64_t W, int64_t in_plane,
                              int64_t planes, const int64_t *restrict hb, int64_t OH,
                              const int64_t *restrict wb, int64_t OW, int64_t readable,
                              float *restrict y, int64_t *restrict ind);
#endif

#endif
