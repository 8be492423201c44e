/* Average pooling, forward and backward, float32 and float64. */
#include "common.h"

typedef struct {
    int cip;          /* count_include_pad */
    int64_t override; /* divisor_override, <= 0 for none */
} avg_rule;

/* Windows of output o = (od, oh, ow): [lo, hi) per axis and the divisor, which
 * is 0 only for a window with no input element (its output is 0). */
CPOOL_INLINE int64_t avg_box(const cpool_geom *g, avg_rule r, const int64_t *o,
                             int64_t *lo, int64_t *hi)
{
    int64_t psz = 1, isz = 1, a;
    for (a = 0; a < 3; a++) {
        psz *= cpool_avg_window(o[a], g->in[a], g->kernel[a], g->stride[a], g->pad[a],
                                &lo[a], &hi[a]);
        isz *= hi[a] > lo[a] ? hi[a] - lo[a] : 0;
    }
    if (isz == 0)
        return 0;
    if (r.override > 0)
        return r.override;
    return r.cip ? psz : isz;
}

#define CPOOL_BODY "avg.inc"
#include "dtypes_float.h"
#undef CPOOL_BODY

int cpool_avg_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                       int count_include_pad, int64_t divisor_override)
{
    avg_rule r;
    int rc = cpool_geom_check(g);
    if (rc != CPOOL_OK)
        return rc;
    r.cip = count_include_pad;
    r.override = divisor_override;
    CPOOL_DISPATCH_FLOAT(dt, avg_fwd, (g, r, x, y))
}

int cpool_avg_pool_bwd(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                       void *grad_x, int count_include_pad, int64_t divisor_override)
{
    avg_rule r;
    int rc = cpool_geom_check(g);
    if (rc != CPOOL_OK)
        return rc;
    r.cip = count_include_pad;
    r.override = divisor_override;
    CPOOL_DISPATCH_FLOAT(dt, avg_bwd, (g, r, grad_y, grad_x))
}
