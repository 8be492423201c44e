/* Max pooling: the forward entry point, and the kernels for the floating
 * types (max.h: where the integer types are). */
#include <float.h>
#include <stdint.h>
#include "common.h"
#include "max.h"

#define CPOOL_BODY "max.inc"
#include "dtypes_float.h"
#undef CPOOL_BODY

int cpool_max_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                       int64_t *indices)
{
    cpool_geom r;
    int rc = cpool_geom_check(g);
    if (rc != CPOOL_OK)
        return rc;
    cpool_geom_regularize(g, &r);
    CPOOL_DISPATCH_ALL(dt, cpool_max_fwd, (&r, x, y, indices))
}
