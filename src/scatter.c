/* Index scatter and gather: the backward of every family that records
 * indices (max, adaptive max, fractional, stochastic, SPP) and max unpooling. */
#include "common.h"

#define CPOOL_BODY "scatter.inc"
#include "dtypes_float.h"
#include "dtypes_int.h"
#undef CPOOL_BODY

static int extents_ok(const cpool_geom *g)
{
    return g->n >= 0 && g->c >= 0 && cpool_prod3(g->in) >= 0 && cpool_prod3(g->out) >= 0;
}

int cpool_index_scatter_add(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                            const int64_t *indices, void *grad_x)
{
    if (!extents_ok(g))
        return CPOOL_EINVAL;
    CPOOL_DISPATCH_FLOAT(dt, scatter, (g, grad_y, indices, grad_x, 0))
}

int cpool_index_scatter_store(cpool_dtype dt, const cpool_geom *g, const void *src,
                              const int64_t *indices, void *dst)
{
    if (!extents_ok(g))
        return CPOOL_EINVAL;
    CPOOL_DISPATCH_ALL(dt, scatter, (g, src, indices, dst, 1))
}

int cpool_index_gather_winners(cpool_dtype dt, const cpool_geom *g, const void *grad_dst,
                               const int64_t *indices, void *grad_src)
{
    if (!extents_ok(g) || g->channels_last)
        return CPOOL_EINVAL;
    CPOOL_DISPATCH_ALL(dt, gather_winners, (g, grad_dst, indices, grad_src))
}
