/* Average pooling, forward and backward, float32 and float64. */
#include "common.h"

typedef struct {
    int cip;          /* count_include_pad */
    int64_t override; /* divisor_override, <= 0 for none */
} avg_rule;

/* One axis's factor of a window's divisor: the window's extent clipped to
 * the padded input (count_include_pad) or to the input; 0 when the window
 * holds no input element.  [lo, hi) is the window inside the input. */
CPOOL_FORCE_INLINE int64_t avg_axis_factor(const cpool_geom *g, avg_rule r, int a, int64_t o,
                                     int64_t *lo, int64_t *hi)
{
    const int64_t padded = cpool_avg_window(o, g->in[a], g->kernel[a], g->stride[a],
                                            g->pad[a], lo, hi);
    return *hi <= *lo ? 0 : r.cip ? padded : *hi - *lo;
}

/* The divisor from the product of the axis factors; 0 only for a window with
 * no input element, whose output is 0. */
CPOOL_FORCE_INLINE int64_t avg_divisor(avg_rule r, int64_t factors)
{
    return factors == 0 ? 0 : r.override > 0 ? r.override : factors;
}

/* Windows of output o = (od, oh, ow): [lo, hi) per axis, and the divisor. */
CPOOL_FORCE_INLINE int64_t avg_box(const cpool_geom *g, avg_rule r, const int64_t *o,
                             int64_t *lo, int64_t *hi)
{
    return avg_divisor(r, avg_axis_factor(g, r, 0, o[0], &lo[0], &hi[0]) *
                              avg_axis_factor(g, r, 1, o[1], &lo[1], &hi[1]) *
                              avg_axis_factor(g, r, 2, o[2], &lo[2], &hi[2]));
}

#define CPOOL_BODY "avg.inc"
#include "dtypes_float.h"
#undef CPOOL_BODY

static int avg_run(int backward, cpool_dtype dt, const cpool_geom *g, const void *src,
                   void *dst, int count_include_pad, int64_t divisor_override)
{
    avg_rule r;
    int rc = cpool_geom_check(g);
    if (rc != CPOOL_OK)
        return rc;
    r.cip = count_include_pad;
    r.override = divisor_override;
    if (backward)
        CPOOL_DISPATCH_FLOAT(dt, avg_bwd, (g, r, src, dst))
    CPOOL_DISPATCH_FLOAT(dt, avg_fwd, (g, r, src, dst))
}

int cpool_avg_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                       int count_include_pad, int64_t divisor_override)
{
    return avg_run(0, dt, g, x, y, count_include_pad, divisor_override);
}

int cpool_avg_pool_bwd(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                       void *grad_x, int count_include_pad, int64_t divisor_override)
{
    return avg_run(1, dt, g, grad_y, grad_x, count_include_pad, divisor_override);
}
