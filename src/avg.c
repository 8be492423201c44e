/* Window sums: average pooling (regular windows, or adaptive bin tables) and
 * Lp pooling, forward and backward, float32 and float64.  One accumulate
 * loop; what differs is the term summed and how a window's sum is finished. */
#include "avg.h"
#include "common.h"

typedef struct {
    int lp;           /* Lp pooling: sum x^p, finish with the p-th root */
    double p;
    int per_axis;     /* bin tables: divide by each axis's extent in turn */
    int cip;          /* count_include_pad */
    int64_t override; /* divisor_override, <= 0 for none */
} avg_rule;

/* What a call of cpool_window_sums_f32_avx2 needs besides its rows: the
 * taps' offsets from a window's first element, and the finish. */
typedef struct {
    int64_t rel[CPOOL_LANES8_TAPS], taps;
    int64_t kw, pad; /* taps a window row; columns its windows start left of the row */
    int squares;
    cpool_sums_finish finish;
    float by;
} avg_sums_plan;

/* The arrays of one backward call. */
typedef struct {
    const void *gy, *x, *y;
    void *gx;
} avg_io;

/* Window o of axis a: [lo, hi) inside the input, and the axis's factor of
 * the divisor -- the extent clipped to the padded input (count_include_pad)
 * or to the input, the bin's extent for a table; 0 for a window holding no
 * input element. */
CPOOL_FORCE_INLINE int64_t avg_span(const cpool_geom *g, avg_rule r, int a, int64_t o,
                                    int64_t *lo, int64_t *hi)
{
    if (g->bins[a]) { /* average bins are shared by all planes */
        *lo = g->bins[a][2 * o];
        *hi = g->bins[a][2 * o + 1];
        return *hi - *lo;
    } else {
        const int64_t padded = cpool_avg_window(o, g->in[a], g->kernel[a], g->stride[a],
                                                g->pad[a], lo, hi);
        return *hi <= *lo ? 0 : r.cip ? padded : *hi - *lo;
    }
}

/* The divisor of a regular window from its axis factors' product; 0 only for
 * a window with no input element, whose output is 0. */
CPOOL_FORCE_INLINE int64_t avg_divisor(avg_rule r, int64_t factors)
{
    return factors == 0 ? 0 : r.override > 0 ? r.override : factors;
}

/* Whether a channels-first average takes cpool_avg_k2s2_short_f32_avx2.
 * The 14 x 14 -> 7 x 7 planes of adaptive average pooling went through
 * channels-last tiles, whose transposes were 87% of the time. */
CPOOL_INLINE int avg_k2s2_short(const cpool_geom *g, avg_rule r)
{
    return !r.lp && cpool_k2s2_short(g);
}

/* Whether a backward's windows tile the input: average in either layout, 2d,
 * kernel = stride, no padding, every window inside the input (elements
 * past the last window get no gradient).  Each element then takes one
 * share or none: written once, no zero fill and no adds. */
CPOOL_INLINE int avg_disjoint(const cpool_geom *g, avg_rule r)
{
    return !r.lp && !r.per_axis && g->in[0] == 1 && g->kernel[0] == 1 &&
           g->out[0] == 1 && g->pad[0] == 0 && g->pad[1] == 0 && g->pad[2] == 0 &&
           g->kernel[1] == g->stride[1] && g->kernel[2] == g->stride[2] && g->out[1] >= 1 &&
           g->out[2] >= 1 && g->out[1] <= g->in[1] / g->kernel[1] &&
           g->out[2] <= g->in[2] / g->kernel[2]; /* divided: extents up to 2^40 */
}

#define CPOOL_BODY "avg.inc"
#include "dtypes_float.h"
#undef CPOOL_BODY

static int avg_rule_for(const cpool_geom *g, avg_rule *r)
{
    int rc = cpool_geom_check(g), a;
    r->per_axis = 0;
    for (a = 0; a < 3; a++)
        if (g->bins[a]) {
            if (g->bins_plane_stride[a] != 0)
                return CPOOL_EINVAL;
            r->per_axis = 1;
        }
    return rc;
}

int cpool_avg_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                       int count_include_pad, int64_t divisor_override)
{
    avg_rule r = {0, 1.0, 0, 0, 0};
    cpool_geom reg;
    int rc = avg_rule_for(g, &r); /* per_axis stays set for regularised bins */
    if (rc != CPOOL_OK)
        return rc;
    r.cip = count_include_pad;
    r.override = divisor_override;
    cpool_geom_regularize(g, &reg);
    CPOOL_DISPATCH_FLOAT(dt, avg_fwd, (&reg, r, x, y))
}

int cpool_avg_pool_bwd(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                       void *grad_x, int count_include_pad, int64_t divisor_override)
{
    avg_rule r = {0, 1.0, 0, 0, 0};
    avg_io io;
    int rc = avg_rule_for(g, &r);
    if (rc != CPOOL_OK)
        return rc;
    r.cip = count_include_pad;
    r.override = divisor_override;
    io.gy = grad_y;
    io.x = io.y = NULL;
    io.gx = grad_x;
    CPOOL_DISPATCH_FLOAT(dt, avg_bwd, (g, r, io))
}

static int lp_rule(const cpool_geom *g, double p, avg_rule *r)
{
    int a, rc = avg_rule_for(g, r);
    r->lp = 1;
    r->p = p;
    r->cip = 0;
    r->override = 0;
    if (rc != CPOOL_OK)
        return rc;
    if (!(p == p) || p == 0 || isinf(p) || r->per_axis)
        return CPOOL_EINVAL;
    for (a = 0; a < 3; a++)
        if (g->pad[a] != 0 || g->dilation[a] != 1)
            return CPOOL_EINVAL;
    return CPOOL_OK;
}

int cpool_lp_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y, double p)
{
    avg_rule r;
    int rc = lp_rule(g, p, &r);
    if (rc != CPOOL_OK)
        return rc;
    CPOOL_DISPATCH_FLOAT(dt, avg_fwd, (g, r, x, y))
}

int cpool_lp_pool_bwd(cpool_dtype dt, const cpool_geom *g, const void *grad_y, const void *x,
                      const void *y, void *grad_x, double p)
{
    avg_rule r;
    avg_io io;
    int rc = lp_rule(g, p, &r);
    if (rc != CPOOL_OK)
        return rc;
    io.gy = grad_y;
    io.x = x;
    io.y = y;
    io.gx = grad_x;
    CPOOL_DISPATCH_FLOAT(dt, avg_bwd, (g, r, io))
}
