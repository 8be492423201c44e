/* Global pooling: one reduction per (n, c) over every spatial element. */
#include "common.h"
#include "max.h"

/* Elements per block of the average (8 lanes x 8): see global.inc. */
#define CPOOL_GLOBAL_BLOCK 64

#define CPOOL_BODY "global.inc"
#include "dtypes_float.h"
#include "dtypes_int.h"
#undef CPOOL_BODY

int cpool_global_pool(cpool_dtype dt, const cpool_geom *g, const void *x, void *y, int is_max)
{
    if (g->n < 0 || g->c < 1 || cpool_prod3(g->in) < 1)
        return CPOOL_EINVAL;
    if (!is_max && dt != CPOOL_F32 && dt != CPOOL_F64)
        return CPOOL_EDTYPE;
    CPOOL_DISPATCH_ALL(dt, global_pool, (g, x, y, is_max))
}
