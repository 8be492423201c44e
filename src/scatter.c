/* Index scatter-add: the backward of every family that records indices
 * (max, and later adaptive max, fractional, stochastic, SPP). */
#include "common.h"

#define CPOOL_BODY "scatter.inc"
#include "dtypes_float.h"
#undef CPOOL_BODY

int cpool_index_scatter_add(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                            const int64_t *indices, void *grad_x)
{
    if (g->n < 0 || g->c < 0 || cpool_prod3(g->in) < 0 || cpool_prod3(g->out) < 0)
        return CPOOL_EINVAL;
    CPOOL_DISPATCH_FLOAT(dt, scatter_add, (g, grad_y, indices, grad_x))
}
