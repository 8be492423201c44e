/* Sanity limits on a geometry (and every bin inside its axis, non-empty): the Python layer validates every argument with
 * PyTorch's rules and messages; this is the C core's own guard, so that no
 * call from any binding can make a kernel index outside its buffers. */
#include "common.h"

/* Far beyond any real array, small enough that o * stride + kernel * dilation
 * cannot overflow int64. */
#define CPOOL_EXTENT_MAX ((int64_t)1 << 40)
#define CPOOL_WINDOW_MAX ((int64_t)1 << 40)

int cpool_geom_check(const cpool_geom *g)
{
    int a;
    if (g->n < 0 || g->c < 0 || g->n > CPOOL_EXTENT_MAX || g->c > CPOOL_EXTENT_MAX)
        return CPOOL_EINVAL;
    if (g->y_batch_stride != 0 &&
        (g->channels_last || g->y_batch_stride < g->c * g->out[0] * g->out[1] * g->out[2]))
        return CPOOL_EINVAL;
    for (a = 0; a < 3; a++) {
        if (g->in[a] < 1 || g->in[a] > CPOOL_EXTENT_MAX)
            return CPOOL_EINVAL;
        if (g->out[a] < 0 || g->out[a] > CPOOL_EXTENT_MAX)
            return CPOOL_EINVAL;
        if (g->kernel[a] < 1 || g->stride[a] < 1 || g->dilation[a] < 1 || g->pad[a] < 0)
            return CPOOL_EINVAL;
        if (g->kernel[a] > CPOOL_WINDOW_MAX || g->stride[a] > CPOOL_WINDOW_MAX ||
            g->dilation[a] > CPOOL_WINDOW_MAX || g->pad[a] > CPOOL_WINDOW_MAX)
            return CPOOL_EINVAL;
        if (g->kernel[a] - 1 > 4 * CPOOL_EXTENT_MAX / g->dilation[a]) /* window span */
            return CPOOL_EINVAL;
        /* the last window's start: out and stride may each be 2^40, their
         * product may not (a real geometry's is below in + 2 pad) */
        if (g->out[a] > 1 && g->stride[a] > 4 * CPOOL_EXTENT_MAX / (g->out[a] - 1))
            return CPOOL_EINVAL;
        if (g->bins[a]) {
            int64_t tables, t, o;
            if (g->dilation[a] != 1)
                return CPOOL_EINVAL;
            if (g->bins_plane_stride[a] == 0)
                tables = 1;
            else if (g->bins_plane_stride[a] == 2 * g->out[a] && !g->channels_last)
                tables = g->n * g->c;
            else
                return CPOOL_EINVAL;
            for (t = 0; t < tables; t++) {
                const int64_t *b = g->bins[a] + t * g->bins_plane_stride[a];
                for (o = 0; o < g->out[a]; o++)
                    if (b[2 * o] < 0 || b[2 * o] >= b[2 * o + 1] || b[2 * o + 1] > g->in[a] ||
                        (g->kernel[a] > 1 && b[2 * o + 1] - b[2 * o] != g->kernel[a]))
                        return CPOOL_EINVAL;
            }
        }
    }
    return CPOOL_OK;
}

/* A shared bin table whose bins are [o*k, o*k + k) is a regular window of
 * kernel = stride = k: rewrite such axes so the kernels take their regular
 * (vectorised interior) paths.  Adaptive pooling to a divisor of the input
 * extent is the common case (e.g. 14 -> 7). */
void cpool_geom_regularize(const cpool_geom *g, cpool_geom *out)
{
    int a;
    *out = *g;
    for (a = 0; a < 3; a++) {
        const int64_t *b = g->bins[a];
        int64_t k, o;
        if (!b || g->bins_plane_stride[a] != 0 || g->out[a] < 1)
            continue;
        k = b[1] - b[0];
        /* Along W the regular path runs tap by tap over the row's columns,
         * which pays for small kernels only (13 taps for one output do not). */
        if (a == 2 && k > 3)
            continue;
        for (o = 0; o < g->out[a]; o++)
            if (b[2 * o] != o * k || b[2 * o + 1] != o * k + k)
                break;
        if (o < g->out[a])
            continue;
        out->bins[a] = NULL;
        out->kernel[a] = out->stride[a] = k;
        out->pad[a] = 0;
        out->dilation[a] = 1;
    }
}
