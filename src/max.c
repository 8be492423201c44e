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
    cpool_geom r = *g;
    int rc;
    /* Max pooling alone takes per-plane tables in channels-last data too:
     * the tables are checked as for the same data channels-first. */
    r.channels_last = g->channels_last && !cpool_plane_bins(g);
    rc = g->channels_last && g->y_batch_stride ? CPOOL_EINVAL : cpool_geom_check(&r);
    if (rc != CPOOL_OK)
        return rc;
    cpool_geom_regularize(g, &r);
    CPOOL_DISPATCH_ALL(dt, cpool_max_fwd, (&r, x, y, indices))
}
