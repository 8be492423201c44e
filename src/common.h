/* Internal helpers shared by every family: portability, OpenMP pragmas,
 * dtype dispatch and the window geometry (the one place window rules live). */
#ifndef CPOOL_COMMON_H
#define CPOOL_COMMON_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cpool.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#define CPOOL_INLINE static __inline
#define CPOOL_FORCE_INLINE static __forceinline
#else
#define CPOOL_INLINE static inline
#if defined(__GNUC__)
#define CPOOL_FORCE_INLINE static inline __attribute__((always_inline))
#else
#define CPOOL_FORCE_INLINE static inline
#endif
#endif

/* Runtime SIMD dispatch: the function holding a hot parallel loop is built
 * twice, for AVX2 and for the portable baseline, and the loader picks one
 * (GCC ifunc; Linux x86-64 only).  Everything it calls in the hot loop must be
 * CPOOL_FORCE_INLINE so the AVX2 copy does not call baseline code.  AVX-512
 * clones measured slower on these loops (research/performance-notes.md). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && defined(__GLIBC__) && !defined(CPOOL_NO_CLONES)
/* glibc: musl has no ifunc */
#define CPOOL_HAVE_CLONES 1
#define CPOOL_CLONES __attribute__((target_clones("avx2", "default")))
/* hand-written AVX2 code (intrinsics), called after a CPU check */
#define CPOOL_AVX2 __attribute__((target("avx2")))
/* the same with AVX-512VL's instructions on 256-bit vectors */
#define CPOOL_AVX512VL __attribute__((target("avx2,avx512f,avx512vl")))
#else
#define CPOOL_CLONES
#endif

/* The hand-written AVX2 lane kernels (lanes_avx2.h: max_avx2.c,
 * avg_avx2.c, stoch_avx2.c) take blocks of eight windows of at most this
 * many taps. */
#define CPOOL_LANES8_TAPS 16

#if defined(CPOOL_HAVE_CLONES)
/* Whether the AVX2 lane kernels take n windows of `taps` taps at stride
 * `step` here: step 1 or 2, at least one block of 8, at most
 * CPOOL_LANES8_TAPS taps, and a CPU with AVX2.  (Their tap offsets must also
 * fit int32, which the callers check on the table they build.) */
CPOOL_INLINE int cpool_lanes8_fit(int64_t step, int64_t n, int64_t taps)
{
    return (step == 1 || step == 2) && n >= 8 && taps >= 1 && taps <= CPOOL_LANES8_TAPS &&
           __builtin_cpu_supports("avx2");
}
#endif

/* Inside an .inc body: whether T is float32 (int32 has its size too, and
 * (T)0.5 is 0 there). */
#define CPOOL_T_IS_F32 (sizeof(T) == sizeof(float) && (T)0.5 != 0)

/* Calls f with the stride argument a compile-time 1 or 2 where it is, so the
 * inlined loop gets contiguous or stride-2 vector loads instead of a gather;
 * other strides take the generic loop.  f must be CPOOL_FORCE_INLINE. */
#define CPOOL_WITH_STRIDE(sw, call_with) CPOOL_WITH_EITHER(sw, 1, 2, call_with)

/* Calls f(c1) if v == c1, f(c2) if v == c2, else f(v): a specialisation of an
 * inlined f for two common values of a runtime parameter. */
#define CPOOL_WITH_EITHER(v, c1, c2, call_with) \
    do {                                        \
        if ((v) == (c1))                        \
            call_with(c1);                      \
        else if ((v) == (c2))                   \
            call_with(c2);                      \
        else                                    \
            call_with(v);                       \
    } while (0)

/* Pragmas go through a macro so a serial build compiles warning-free and MSVC
 * (no _Pragma before C11) gets __pragma.  Two levels so that macro arguments
 * are expanded before they are stringised. */
#if defined(_OPENMP)
#if defined(_MSC_VER)
#define CPOOL_PRAGMA(x) __pragma(x)
#else
#define CPOOL_STR_PRAGMA(x) _Pragma(#x)
#define CPOOL_PRAGMA(x) CPOOL_STR_PRAGMA(x)
#endif
#else
#define CPOOL_PRAGMA(x)
#endif

/* Below this many touched elements a parallel region costs more than it saves
 * (entering one is 0.3-1.2 us; research/performance-notes.md). */
#define CPOOL_PARALLEL_MIN 32768

/* Columns or channels per pass of an inner loop with a stack scratch lane. */
#define CPOOL_CHUNK 256

/* OpenMP 2.0 subset only (MSVC): signed index, static schedule, if clause.
 * Placed right before a for statement; a serial build just uses `work`. */
#if defined(_OPENMP)
#define CPOOL_PARALLEL_FOR(work)                                                   \
    CPOOL_PRAGMA(omp parallel for schedule(static)                                 \
                     num_threads(cpool_get_num_threads())                          \
                         if ((work) > CPOOL_PARALLEL_MIN))
#define CPOOL_PARALLEL_FOR_SUM(work, ...)                                          \
    CPOOL_PRAGMA(omp parallel for schedule(static)                                 \
                     num_threads(cpool_get_num_threads())                          \
                         if ((work) > CPOOL_PARALLEL_MIN) reduction(+ : __VA_ARGS__))
#else
#define CPOOL_PARALLEL_FOR(work) (void)(work);
#define CPOOL_PARALLEL_FOR_SUM(work, ...) (void)(work);
#endif

/* for (q = 0; q < n; q++) { body }, in a parallel region only when the work
 * pays for one.  An `if` clause that is false still enters the OpenMP runtime
 * (0.5 us a call here, a quarter of a tiny call's time); a plain loop does
 * not.  The body (the variadic tail, so it may hold commas) is compiled twice.
 * `clause` is added to the parallel loop (may be empty). */
#if defined(_OPENMP)
#define CPOOL_FOR_ITEMS_WITH(work, q, n, clause, ...)                              \
    if ((work) <= CPOOL_PARALLEL_MIN || cpool_get_num_threads() == 1) {            \
        for (q = 0; q < (n); q++) {                                                \
            __VA_ARGS__                                                            \
        }                                                                          \
    } else {                                                                       \
        CPOOL_PRAGMA(omp parallel for schedule(static)                             \
                         num_threads(cpool_get_num_threads()) clause)              \
        for (q = 0; q < (n); q++) {                                                \
            __VA_ARGS__                                                            \
        }                                                                          \
    }
#else
#define CPOOL_FOR_ITEMS_WITH(work, q, n, clause, ...)                              \
    for (q = 0; q < (n); q++) {                                                    \
        (void)(work);                                                              \
        __VA_ARGS__                                                                \
    }
#endif
#define CPOOL_FOR_ITEMS(work, q, n, ...) CPOOL_FOR_ITEMS_WITH(work, q, n, , __VA_ARGS__)
/* ... with a sum of `var` over the items (e.g. failed allocations) */
#define CPOOL_FOR_ITEMS_SUM(work, q, n, var, ...)                                  \
    CPOOL_FOR_ITEMS_WITH(work, q, n, reduction(+ : var), __VA_ARGS__)

#define CPOOL_PASTE_(a, b) a##_##b
#define CPOOL_PASTE(a, b) CPOOL_PASTE_(a, b)
/* Inside an .inc body: name##_##SFX, e.g. max_fwd_cf_f32. */
#define CPOOL_FN(name) CPOOL_PASTE(name, SFX)

/* dtype switch over the variants an .inc body generated. */
#define CPOOL_CASE(code, sfx, call) \
    case code:                      \
        return CPOOL_PASTE(call, sfx)
#define CPOOL_DISPATCH_FLOAT(dt, fn, args)   \
    switch (dt) {                            \
        CPOOL_CASE(CPOOL_F32, f32, fn) args; \
        CPOOL_CASE(CPOOL_F64, f64, fn) args; \
    default:                                 \
        return CPOOL_EDTYPE;                 \
    }
#define CPOOL_DISPATCH_ALL(dt, fn, args)     \
    switch (dt) {                            \
        CPOOL_CASE(CPOOL_F32, f32, fn) args; \
        CPOOL_CASE(CPOOL_F64, f64, fn) args; \
        CPOOL_CASE(CPOOL_I8, i8, fn) args;   \
        CPOOL_CASE(CPOOL_U8, u8, fn) args;   \
        CPOOL_CASE(CPOOL_I16, i16, fn) args; \
        CPOOL_CASE(CPOOL_U16, u16, fn) args; \
        CPOOL_CASE(CPOOL_I32, i32, fn) args; \
        CPOOL_CASE(CPOOL_I64, i64, fn) args; \
    default:                                 \
        return CPOOL_EDTYPE;                 \
    }

/* ---- geometry ---------------------------------------------------------- */

/* In-bounds taps of window `o` along one axis (dilated, padded window as in
 * PyTorch's max pooling): taps first, first + dil, ..., `count` of them. */
CPOOL_FORCE_INLINE void cpool_taps(int64_t o, int64_t in, int64_t k, int64_t s, int64_t p,
                                   int64_t d, int64_t *first, int64_t *count)
{
    int64_t start = o * s - p;
    int64_t end = start + (k - 1) * d + 1;
    if (end > in)
        end = in;
    if (d == 1) { /* the common case, without the divisions */
        if (start < 0)
            start = 0;
        *first = start;
        *count = start < end ? end - start : 0;
        return;
    }
    if (start < 0)
        start += ((-start + d - 1) / d) * d;
    *first = start;
    *count = start < end ? (end - start + d - 1) / d : 0;
}

/* Average-pooling window `o` along one axis: [lo, hi) inside the input, and the
 * extent clipped only to the padded input, which count_include_pad divides by
 * (so a ceil-mode overhang past the right padding is not counted, as PyTorch). */
CPOOL_FORCE_INLINE int64_t cpool_avg_window(int64_t o, int64_t in, int64_t k, int64_t s,
                                      int64_t p, int64_t *lo, int64_t *hi)
{
    int64_t start = o * s - p;
    int64_t end = start + k;
    if (end > in + p)
        end = in + p;
    *lo = start > 0 ? start : 0;
    *hi = end < in ? end : in;
    return end - start;
}

/* Output columns [lo, hi) whose whole window lies inside the input, so the
 * interior loop needs no bounds tests. */
CPOOL_FORCE_INLINE void cpool_interior(int64_t in, int64_t out, int64_t k, int64_t s,
                                 int64_t p, int64_t d, int64_t *lo, int64_t *hi)
{
    int64_t span = (k - 1) * d + 1;
    int64_t a = (p + s - 1) / s;                             /* first o with o*s-p >= 0 */
    int64_t b = in - span + p >= 0 ? (in - span + p) / s + 1 : 0; /* o*s-p+span <= in */
    if (b > out)
        b = out;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* Outputs [lo, hi) whose undilated window [o*s - p, o*s - p + k) contains
 * input position i (an in-bounds i, so clipping the window changes nothing):
 * the gather side of a backward pass. */
CPOOL_FORCE_INLINE void cpool_covering(int64_t i, int64_t out, int64_t k, int64_t s, int64_t p,
                                 int64_t *lo, int64_t *hi)
{
    int64_t t = i + p - k + 1;
    int64_t a = t > 0 ? (t + s - 1) / s : 0;
    int64_t b = (i + p) / s + 1;
    if (b > out)
        b = out;
    *lo = a;
    *hi = a < b ? b : a;
}

/* Bin-table axes that are regular windows rewritten as such (geometry.c). */
void cpool_geom_regularize(const cpool_geom *g, cpool_geom *out);

/* Window o of one axis of plane `plane`: first in-bounds tap and tap count;
 * the taps are `dilation` apart (1 for a bin table). */
CPOOL_FORCE_INLINE void cpool_window(const cpool_geom *g, int a, int64_t plane, int64_t o,
                                     int64_t *first, int64_t *count)
{
    if (g->bins[a]) {
        const int64_t *b = g->bins[a] + plane * g->bins_plane_stride[a] + 2 * o;
        *first = b[0];
        *count = b[1] - b[0];
    } else {
        cpool_taps(o, g->in[a], g->kernel[a], g->stride[a], g->pad[a], g->dilation[a], first,
                   count);
    }
}

CPOOL_FORCE_INLINE int64_t cpool_prod3(const int64_t *v) { return v[0] * v[1] * v[2]; }

CPOOL_FORCE_INLINE int cpool_pow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

/* Channels-first planes of at most CPOOL_TILE_PLANE elements (in and out)
 * are pooled as channels-last tiles (tile.inc) of cpool_tile_planes() planes:
 * at least CPOOL_TILE, at most CPOOL_TILE_MAX, and within CPOOL_TILE_ELEMS
 * elements (input or output). */
#define CPOOL_TILE 16
#define CPOOL_TILE_MAX 256
#define CPOOL_TILE_ELEMS 65536
#define CPOOL_TILE_PLANE 1024

/* Whether a channels-first call takes the tile path: small planes, enough
 * of them, and bin tables (adaptive and SPP pooling) or output rows shorter
 * than a vector; bin tables must be shared by all planes.  One output per
 * plane is a whole-plane reduction, which the channels-first kernels
 * vectorise along the plane without a transpose. */
CPOOL_FORCE_INLINE int cpool_tiles(const cpool_geom *g)
{
    int a, bins = 0;
    if (g->channels_last || g->n * g->c < CPOOL_TILE || cpool_prod3(g->in) > CPOOL_TILE_PLANE ||
        cpool_prod3(g->out) > CPOOL_TILE_PLANE || cpool_prod3(g->out) == 1)
        return 0;
    for (a = 0; a < 3; a++) {
        if (g->bins[a] && g->bins_plane_stride[a] != 0)
            return 0;
        bins |= g->bins[a] != NULL;
    }
    return bins || g->out[2] < 8;
}

/* Planes per tile: the channels-last rows' set-up per pixel is spread over
 * the tile's lanes, so bigger tiles pay (adaptive average 14 -> 7 ran 2.3x
 * faster with 256 planes than with 16), as long as a tile stays in L2 and
 * every thread gets two tiles.  A multiple of 8, the transpose's block. */
CPOOL_FORCE_INLINE int64_t cpool_tile_planes(const cpool_geom *g)
{
    const int64_t planes = g->n * g->c, in = cpool_prod3(g->in), out = cpool_prod3(g->out);
    const int64_t share = planes / (2 * (int64_t)cpool_get_num_threads());
    int64_t np = CPOOL_TILE_ELEMS / (in > out ? in : out);
    np = np < CPOOL_TILE_MAX ? np : CPOOL_TILE_MAX;
    np = (np < share ? np : share) / 8 * 8;
    return np > CPOOL_TILE ? np : CPOOL_TILE;
}

#if defined(CPOOL_HAVE_CLONES)
/* tile.inc's transpose for 4-byte elements in AVX2 registers (max_avx2.c):
 * GCC turned the portable 8 x 8 blocks into scalar inserts and spills once
 * the strides were not constants (6x slower). */
void cpool_transpose32_avx2(const void *src, int64_t rows, int64_t cols, int64_t src_stride,
                            void *dst, int64_t dst_stride);
#endif

/* Whether a channels-first call is a 2d 2 x 2, stride-2 pooling with every
 * window inside the input (no padding, no partial ceil_mode window), a
 * non-empty output whose rows are shorter than a vector (the row kernels
 * take 8 and more; rows of at most 17 columns, as a geometry from the
 * output-size rule has), and contiguous results: the case of the AVX2 kernels
 * cpool_{max,avg}_k2s2_short_f32_avx2. */
CPOOL_FORCE_INLINE int cpool_k2s2_short(const cpool_geom *g)
{
    return !g->channels_last && !g->y_batch_stride && g->in[0] == 1 && g->out[0] == 1 &&
           g->kernel[0] == 1 && g->pad[0] == 0 && g->out[1] >= 1 && g->out[2] >= 1 &&
           !g->bins[1] && !g->bins[2] && g->kernel[1] == 2 && g->kernel[2] == 2 &&
           g->stride[1] == 2 && g->stride[2] == 2 && g->pad[1] == 0 && g->pad[2] == 0 &&
           g->dilation[1] == 1 && g->dilation[2] == 1 && g->out[2] <= 8 &&
           2 * g->out[2] <= g->in[2] && g->in[2] <= 2 * g->out[2] + 1 &&
           2 * g->out[1] <= g->in[1];
}

/* Whether some axis has a bin table per plane (fractional pooling). */
CPOOL_FORCE_INLINE int cpool_plane_bins(const cpool_geom *g)
{
    return (g->bins[0] && g->bins_plane_stride[0]) || (g->bins[1] && g->bins_plane_stride[1]) ||
           (g->bins[2] && g->bins_plane_stride[2]);
}

/* The geometry of a tile of np planes: one channels-last sample of np
 * channels. */
CPOOL_FORCE_INLINE cpool_geom cpool_tile_geom(const cpool_geom *g, int64_t np)
{
    cpool_geom t = *g;
    t.n = 1;
    t.c = np;
    t.channels_last = 1;
    t.y_batch_stride = 0;
    return t;
}

/* Whether every plane has one output whose window is the whole plane
 * (adaptive pooling to 1, a kernel the size of the input): a reduction of
 * in_plane contiguous elements per plane. */
CPOOL_FORCE_INLINE int cpool_whole_plane(const cpool_geom *g)
{
    int a;
    if (cpool_prod3(g->out) != 1 || cpool_plane_bins(g))
        return 0;
    for (a = 0; a < 3; a++) {
        int64_t first, count;
        cpool_window(g, a, 0, 0, &first, &count);
        if (first != 0 || count != g->in[a] || (g->in[a] > 1 && g->dilation[a] != 1))
            return 0;
    }
    return 1;
}

/* Whether channels-first bins suit max pooling's row-vector kernel
 * (cpool_max_bins8_f32_avx2): 2d, tables shared by all planes, every window
 * 6-8 columns wide and at least 6 rows tall (adaptive 13 -> 2: 7 x 7, 1.5x
 * faster than the tiles).  A window row is one vector there, and each
 * window ends in a reduction across lanes; on 5 x 5 windows (13 -> 3)
 * that made it 1.2x slower than the tiles' transposes. */
CPOOL_FORCE_INLINE int cpool_bins8(const cpool_geom *g)
{
    const int64_t *hb = g->bins[1], *wb = g->bins[2];
    int64_t o;
    if (g->channels_last || g->in[0] != 1 || g->out[0] != 1 || !hb || !wb ||
        g->bins_plane_stride[1] || g->bins_plane_stride[2] || g->out[1] < 1 || g->out[2] < 1 ||
        cpool_prod3(g->in) > INT32_MAX / 2)
        return 0;
    for (o = 0; o < g->out[2]; o++)
        if (wb[2 * o + 1] - wb[2 * o] < 6 || wb[2 * o + 1] - wb[2 * o] > 8)
            return 0;
    for (o = 0; o < g->out[1]; o++)
        if (hb[2 * o + 1] - hb[2 * o] < 6)
            return 0;
    return 1;
}

/* Channels-first work items of at most `most` planes of one sample (y's
 * batch stride parts samples; a sample's results lie side by side): the
 * first plane of item r of g->n * ceil(c / most), and its plane count. */
CPOOL_FORCE_INLINE int64_t cpool_sample_block(const cpool_geom *g, int64_t r, int64_t most,
                                              int64_t *np)
{
    const int64_t per = (g->c + most - 1) / most, c0 = r % per * most;
    *np = g->c - c0 < most ? g->c - c0 : most;
    return r / per * g->c + c0;
}

/* Channels-first: where output row rr of plane p starts in y.  The plain
 * contiguous case needs no division (per-row divisions dominate tiny calls). */
CPOOL_FORCE_INLINE int64_t cpool_y_row(const cpool_geom *g, int64_t p, int64_t rr)
{
    const int64_t rows = g->out[0] * g->out[1], out_plane = rows * g->out[2];
    if (!g->y_batch_stride)
        return (p * rows + rr) * g->out[2];
    return (p / g->c) * g->y_batch_stride + (p % g->c) * out_plane + rr * g->out[2];
}

/* Output row rr of a plane as (od, oh); no division for 1d/2d (out[0] = 1). */
CPOOL_FORCE_INLINE void cpool_row_split(const cpool_geom *g, int64_t rr, int64_t *od,
                                        int64_t *oh)
{
    if (g->out[0] == 1) {
        *od = 0;
        *oh = rr;
    } else {
        *od = rr / g->out[1];
        *oh = rr % g->out[1];
    }
}

/* The W axis's interior columns [lo, hi), the same for every row of a call:
 * computed once per call (empty for a bin table). */
CPOOL_FORCE_INLINE void cpool_w_interior(const cpool_geom *g, int64_t *lo, int64_t *hi)
{
    *lo = *hi = 0;
    if (!g->bins[2])
        cpool_interior(g->in[2], g->out[2], g->kernel[2], g->stride[2], g->pad[2],
                       g->dilation[2], lo, hi);
}

/* Whether every output row of a call is one run of full windows: 2d, no
 * padding, dilation or bins, the W interior [lo, hi) the whole row, and
 * every window of axis 1 inside the input -- (out - 1) * stride + kernel
 * <= in, divided rather than multiplied, as extents and strides go up to
 * 2^40.  The row kernels' shortcut past the per-row set-up. */
CPOOL_FORCE_INLINE int cpool_full_rows(const cpool_geom *g, int64_t lo, int64_t hi)
{
    int a;
    if (lo != 0 || hi != g->out[2] || g->in[0] != 1 || g->kernel[0] != 1 || g->out[0] != 1 ||
        g->out[1] < 1 || g->kernel[1] > g->in[1] ||
        g->out[1] - 1 > (g->in[1] - g->kernel[1]) / g->stride[1])
        return 0;
    for (a = 0; a < 3; a++)
        if (g->pad[a] || g->dilation[a] != 1 || g->bins[a])
            return 0;
    return 1;
}

/* cpool_full_rows but for padding: 2d, no dilation or bins, one column of
 * left padding at most and no window past the right end ([lo, hi) runs to
 * the row's end; at stride 2 more padding always leaves a window past the
 * right end too).  Rows whose windows fit in H then hold full windows but
 * for the left border, which the AVX2 lanes clip themselves. */
CPOOL_FORCE_INLINE int cpool_left_padded_rows(const cpool_geom *g, int64_t hi)
{
    int a;
    if (hi != g->out[2] || g->in[0] != 1 || g->kernel[0] != 1 || g->out[0] != 1 ||
        g->pad[0] || g->pad[2] > 1 || g->pad[2] >= g->kernel[2] || g->out[1] < 1)
        return 0;
    for (a = 0; a < 3; a++)
        if (g->dilation[a] != 1 || g->bins[a])
            return 0;
    return 1;
}

/* items * kernel volume, saturating: only compared with CPOOL_PARALLEL_MIN,
 * and kernel extents up to 2^40 would overflow the plain product. */
CPOOL_FORCE_INLINE int64_t cpool_work(int64_t items, const int64_t *kernel)
{
    const int64_t big = (int64_t)1 << 62;
    int a;
    for (a = 0; a < 3; a++) {
        if (items > 0 && kernel[a] > big / items)
            return big;
        items *= kernel[a];
    }
    return items;
}

#endif
