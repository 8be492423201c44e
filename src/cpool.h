/* cpool: the C core's whole public interface.
 *
 * Plain C99, no Python headers.  Every array is C-contiguous; spatial ranks
 * 1-3 are all handled as 3d with size-1 leading axes, so one geometry struct
 * and one set of window rules serve every rank and every family.
 */
#ifndef CPOOL_H
#define CPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every kernel. */
#define CPOOL_OK 0
#define CPOOL_EINVAL (-1) /* geometry the Python layer should have refused */
#define CPOOL_ENOMEM (-2)
#define CPOOL_EINDEX (-3) /* an index outside its plane */
#define CPOOL_EDTYPE (-4) /* no kernel for this dtype */
#define CPOOL_EVALUE (-5) /* an input value the operation refuses */

/* Element types; the values are fixed, the Python layer maps dtypes onto them. */
typedef enum {
    CPOOL_F32 = 0,
    CPOOL_F64 = 1,
    CPOOL_I8 = 2,
    CPOOL_U8 = 3,
    CPOOL_I16 = 4,
    CPOOL_U16 = 5,
    CPOOL_I32 = 6,
    CPOOL_I64 = 7
} cpool_dtype;

/* One pooling call's geometry, axes ordered (D, H, W).
 *
 * Channels-first data is (n*c planes) x in[0] x in[1] x in[2]; channels-last
 * data is n x in[0] x in[1] x in[2] x c.  `out` holds the output extents, which
 * the caller computes with PyTorch's rules.
 *
 * An axis's windows come either from kernel/stride/pad/dilation, or, when
 * bins[a] is not NULL, from a table of [start, end) pairs, one per output
 * position (adaptive and fractional pooling); then stride, pad and dilation
 * of that axis are unused, and kernel is 1, or, when every bin has the same
 * width, may be that width (fractional pooling), which lets the kernels
 * vectorise along the row.  bins_plane_stride[a] is the distance in
 * int64s between consecutive planes' tables: 0 when all planes share one
 * table, 2 * out[a] for per-plane windows (channels-first only).
 * cpool_geom_check() validates all of it before a kernel trusts it.
 */
typedef struct {
    int64_t n, c;
    int64_t in[3], out[3];
    int64_t kernel[3], stride[3], pad[3], dilation[3];
    const int64_t *bins[3];
    int64_t bins_plane_stride[3];
    int channels_last;
    /* Channels-first forward only: elements between consecutive batch entries
     * of y (and indices), for writing into a slice of a wider array (spatial
     * pyramid pooling's levels); 0 means contiguous, c * prod(out). */
    int64_t y_batch_stride;
} cpool_geom;

int cpool_geom_check(const cpool_geom *g);

/* Max pooling forward.  `indices` may be NULL (the no-index path).  Indices are
 * flat offsets inside the (n, c) input plane, -1 for a window with no input
 * element. */
int cpool_max_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x,
                       void *y, int64_t *indices);

/* Average pooling.  divisor_override <= 0 means none. */
int cpool_avg_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x,
                       void *y, int count_include_pad, int64_t divisor_override);
int cpool_avg_pool_bwd(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                       void *grad_x, int count_include_pad, int64_t divisor_override);

/* Lp pooling (sum of x^p over the window)^(1/p), p finite and nonzero; no
 * padding.  Backward: grad_x = x^(p-1) * sum over covering windows of
 * grad_y * y^(1-p), a window with y == 0 contributing nothing. */
int cpool_lp_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y, double p);
int cpool_lp_pool_bwd(cpool_dtype dt, const cpool_geom *g, const void *grad_y, const void *x,
                      const void *y, void *grad_x, double p);

/* Where a call's outputs sit in a larger logical output, for the counters
 * of stochastic pooling: output (n, c, od, oh, ow) of the call draws with
 * counter base + n*n_stride + c*c_stride + od*d_stride + oh*h_stride + ow.
 * A block of a chunked array (cpool.dask) so draws what the whole array
 * would. */
typedef struct {
    uint64_t base;
    int64_t n_stride, c_stride, d_stride, h_stride;
} cpool_counter;

/* Stochastic pooling (regular windows, dilation 1).  training: draw one tap
 * per window with probability a_i / sum(a), Philox keyed by `seed` with the
 * channels-first output index as counter (or the one `counter` gives, when
 * not NULL); indices may be NULL.  Otherwise sum(a^2) / sum(a).  Activations
 * must be >= 0 and finite: see below. */
int cpool_stochastic_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                              int64_t *indices, int training, uint64_t seed,
                              const cpool_counter *counter);

/* The same, checking every element of x on the way (covered by a window or
 * not) while it is in cache: CPOOL_EVALUE if one is negative, NaN or
 * infinite, and then y and indices hold garbage.  It saves the separate pass
 * of cpool_first_invalid_activation, which a caller still needs to name the
 * element, or when nothing may be written on failure. */
int cpool_stochastic_pool_fwd_checked(cpool_dtype dt, const cpool_geom *g, const void *x,
                                      void *y, int64_t *indices, int training, uint64_t seed,
                                      const cpool_counter *counter);

/* Offset of the first negative, NaN or infinite element of x[0, count), -1 if
 * none (-2: not a floating dtype). */
int64_t cpool_first_invalid_activation(cpool_dtype dt, const void *x, int64_t count);

/* Global pooling over all of in[]: y is n x c in both layouts. */
int cpool_global_pool(cpool_dtype dt, const cpool_geom *g, const void *x, void *y, int is_max);

/* The shared index backward: grad_x = 0, then grad_x[plane, indices[o]] +=
 * grad_y[o] for every output o, in increasing o, skipping -1.  Serves every
 * family whose forward records indices.  `g` supplies n, c, the in/out
 * extents and the layout; kernel fields are ignored.  Any index outside
 * [-1, plane size) gives CPOOL_EINDEX. */
int cpool_index_scatter_add(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                            const int64_t *indices, void *grad_x);

/* Max unpooling: the same walk with dst = 0, then dst[plane][indices[o]] =
 * src[o]; where indices repeat, the last in the plane's scan order wins. */
int cpool_index_scatter_store(cpool_dtype dt, const cpool_geom *g, const void *src,
                              const int64_t *indices, void *dst);

/* Max unpooling's backward: grad_src[o] = grad_dst[plane][indices[o]] for the
 * element that won that position, 0 for the others and for index -1.
 * Channels-first only. */
int cpool_index_gather_winners(cpool_dtype dt, const cpool_geom *g, const void *grad_dst,
                               const int64_t *indices, void *grad_src);

/* Threads and build facts. */
int cpool_get_num_threads(void);
void cpool_set_num_threads(int n);
int cpool_openmp_enabled(void);
int cpool_openmp_version(void); /* _OPENMP (yyyymm), 0 when serial */
const char *cpool_simd_flags(void);
const char *cpool_simd_dispatch(void); /* the kernels' runtime SIMD choice, "" if none */
const char *cpool_compiler(void);

#ifdef __cplusplus
}
#endif
#endif
