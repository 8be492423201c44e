/* Stochastic pooling: sampled training forward with stored indices and the
 * probability-weighted evaluation forward.  The backward is the shared index
 * scatter. */
#include "common.h"
#include "philox.h"
#include "stochastic.h"
#include <float.h>

/* Small windows' running sums are kept in blocks of this many columns (9 KiB
 * for a 3x3 window). */
#define CPOOL_STOCH_LANES 64

/* GCC: no unroll-and-jam in the function (see stoch_fwd_cl). */
#if defined(__GNUC__) && !defined(__clang__)
#define CPOOL_NO_JAM __attribute__((optimize("no-loop-unroll-and-jam")))
#else
#define CPOOL_NO_JAM
#endif

/* The input rows (along axis a) that output position o checks when the call
 * checks the activations: [o * stride - pad, (o + 1) * stride - pad), the last
 * output taking the rest, clipped to the input.  These ranges tile the axis,
 * so every element, covered by a window or not, is checked exactly once, by
 * the item that is about to read it. */
CPOOL_INLINE void cpool_owned_rows(const cpool_geom *g, int a, int64_t o, int64_t *first,
                                   int64_t *count)
{
    const int64_t s = g->stride[a], p = g->pad[a], in = g->in[a];
    const int64_t lo = o * s - p, hi = o + 1 == g->out[a] ? in : (o + 1) * s - p;
    *first = lo > 0 ? lo : 0;
    *count = (hi < in ? hi : in) - *first;
    if (*count < 0)
        *count = 0;
}

#define CPOOL_BODY "stochastic.inc"
#include "dtypes_float.h"
#undef CPOOL_BODY

static int stochastic_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                               int64_t *indices, int training, uint64_t seed,
                               const cpool_counter *counter, int check)
{
    uint32_t key[2];
    cpool_counter own;
    int a, rc = cpool_geom_check(g);
    if (rc != CPOOL_OK)
        return rc;
    /* PyTorch's pooling rules (pad <= kernel / 2, the last window starting
     * inside the input) give every window an element to draw; the kernels
     * rely on it, so a geometry without them is refused here too. */
    for (a = 0; a < 3; a++)
        if (g->dilation[a] != 1 || g->bins[a] || 2 * g->pad[a] > g->kernel[a] ||
            (g->out[a] > 0 && (g->out[a] - 1) * g->stride[a] - g->pad[a] >= g->in[a]))
            return CPOOL_EINVAL;
    key[0] = (uint32_t)seed;
    key[1] = (uint32_t)(seed >> 32);
    if (!counter) { /* the call's own channels-first output index */
        own.base = 0;
        own.h_stride = g->out[2];
        own.d_stride = g->out[1] * own.h_stride;
        own.c_stride = g->out[0] * own.d_stride;
        own.n_stride = g->c * own.c_stride;
        counter = &own;
    }
    CPOOL_DISPATCH_FLOAT(dt, stoch_fwd, (g, x, y, indices, training ? key : NULL, counter, check))
}

int cpool_stochastic_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                              int64_t *indices, int training, uint64_t seed,
                              const cpool_counter *counter)
{
    return stochastic_pool_fwd(dt, g, x, y, indices, training, seed, counter, 0);
}

int cpool_stochastic_pool_fwd_checked(cpool_dtype dt, const cpool_geom *g, const void *x,
                                      void *y, int64_t *indices, int training, uint64_t seed,
                                      const cpool_counter *counter)
{
    return stochastic_pool_fwd(dt, g, x, y, indices, training, seed, counter, 1);
}

int64_t cpool_first_invalid_activation(cpool_dtype dt, const void *x, int64_t count)
{
    switch (dt) {
    case CPOOL_F32:
        return first_invalid_f32(x, count);
    case CPOOL_F64:
        return first_invalid_f64(x, count);
    default:
        return -2;
    }
}
