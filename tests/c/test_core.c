/* Stand-alone test driver for cpool's C core (src/), public API only.
 *
 * Plain C99, no framework: CHECK() prints file:line and the current case on
 * a failure and counts it; main() returns nonzero if anything failed.  Every
 * buffer handed to the core is malloc'd at its exact size, so a build with
 * -fsanitize=address reports any access outside it.  tests/test_c_core.py
 * builds and runs this file (sanitizer build and a serial -Werror build).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpool.h"
#include "philox.h" /* white-box: the generator stochastic pooling draws from */

/* ---- checks ------------------------------------------------------------ */

static long n_checks = 0;
static long n_failures = 0;
static char ctx[320] = "";

#define MAX_REPORTED 60
#define CHECK(cond)                                                              \
    do {                                                                         \
        n_checks++;                                                              \
        if (!(cond)) {                                                           \
            n_failures++;                                                        \
            if (n_failures <= MAX_REPORTED)                                      \
                fprintf(stderr, "%s:%d: CHECK(%s) failed [%s]\n", __FILE__,      \
                        __LINE__, #cond, ctx);                                   \
        }                                                                        \
    } while (0)

/* ---- element types ----------------------------------------------------- */

static const cpool_dtype ALL_DTYPES[] = {CPOOL_F32, CPOOL_F64, CPOOL_I8,  CPOOL_U8,
                                         CPOOL_I16, CPOOL_U16, CPOOL_I32, CPOOL_I64};
static const cpool_dtype FLOAT_DTYPES[] = {CPOOL_F32, CPOOL_F64};
#define N_ALL ((int)(sizeof(ALL_DTYPES) / sizeof(ALL_DTYPES[0])))
#define N_FLOAT ((int)(sizeof(FLOAT_DTYPES) / sizeof(FLOAT_DTYPES[0])))

static const char *dt_name(cpool_dtype dt)
{
    switch (dt) {
    case CPOOL_F32: return "f32";
    case CPOOL_F64: return "f64";
    case CPOOL_I8: return "i8";
    case CPOOL_U8: return "u8";
    case CPOOL_I16: return "i16";
    case CPOOL_U16: return "u16";
    case CPOOL_I32: return "i32";
    case CPOOL_I64: return "i64";
    }
    return "?";
}

static size_t esize(cpool_dtype dt)
{
    switch (dt) {
    case CPOOL_F32: return sizeof(float);
    case CPOOL_F64: return sizeof(double);
    case CPOOL_I8: return sizeof(int8_t);
    case CPOOL_U8: return sizeof(uint8_t);
    case CPOOL_I16: return sizeof(int16_t);
    case CPOOL_U16: return sizeof(uint16_t);
    case CPOOL_I32: return sizeof(int32_t);
    case CPOOL_I64: return sizeof(int64_t);
    }
    return 1;
}

static int is_float(cpool_dtype dt) { return dt == CPOOL_F32 || dt == CPOOL_F64; }
static int is_unsigned(cpool_dtype dt) { return dt == CPOOL_U8 || dt == CPOOL_U16; }

/* The value of a max window with no input element. */
static double lowest(cpool_dtype dt)
{
    switch (dt) {
    case CPOOL_F32:
    case CPOOL_F64: return -INFINITY;
    case CPOOL_I8: return INT8_MIN;
    case CPOOL_U8: return 0;
    case CPOOL_I16: return INT16_MIN;
    case CPOOL_U16: return 0;
    case CPOOL_I32: return INT32_MIN;
    case CPOOL_I64: return (double)INT64_MIN; /* -2^63, exact */
    }
    return 0;
}

/* A large value, exact in a double (int64's maximum is not). */
static double highest(cpool_dtype dt)
{
    switch (dt) {
    case CPOOL_F32:
    case CPOOL_F64: return INFINITY;
    case CPOOL_I8: return INT8_MAX;
    case CPOOL_U8: return UINT8_MAX;
    case CPOOL_I16: return INT16_MAX;
    case CPOOL_U16: return UINT16_MAX;
    case CPOOL_I32: return INT32_MAX;
    case CPOOL_I64: return 9007199254740992.0; /* 2^53 */
    }
    return 0;
}

static double getv(cpool_dtype dt, const void *b, int64_t i)
{
    switch (dt) {
    case CPOOL_F32: return ((const float *)b)[i];
    case CPOOL_F64: return ((const double *)b)[i];
    case CPOOL_I8: return ((const int8_t *)b)[i];
    case CPOOL_U8: return ((const uint8_t *)b)[i];
    case CPOOL_I16: return ((const int16_t *)b)[i];
    case CPOOL_U16: return ((const uint16_t *)b)[i];
    case CPOOL_I32: return ((const int32_t *)b)[i];
    case CPOOL_I64: return (double)((const int64_t *)b)[i];
    }
    return 0;
}

static void setv(cpool_dtype dt, void *b, int64_t i, double v)
{
    switch (dt) {
    case CPOOL_F32: ((float *)b)[i] = (float)v; break;
    case CPOOL_F64: ((double *)b)[i] = v; break;
    case CPOOL_I8: ((int8_t *)b)[i] = (int8_t)v; break;
    case CPOOL_U8: ((uint8_t *)b)[i] = (uint8_t)v; break;
    case CPOOL_I16: ((int16_t *)b)[i] = (int16_t)v; break;
    case CPOOL_U16: ((uint16_t *)b)[i] = (uint16_t)v; break;
    case CPOOL_I32: ((int32_t *)b)[i] = (int32_t)v; break;
    case CPOOL_I64: ((int64_t *)b)[i] = (int64_t)v; break;
    }
}

/* Equal, NaN equal to NaN. */
static int same(double a, double b) { return a == b || (a != a && b != b); }

/* One rounding of a value of size `want`. */
static int close_to(cpool_dtype dt, double got, double want)
{
    const double tol = dt == CPOOL_F32 ? 2e-6 : 1e-13;
    double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
    return fabs(got - want) <= tol * scale;
}

/* A sum in T of `count` rounded terms whose magnitudes add up to `abs_sum`:
 * the standard bound (count + 1) * u * abs_sum, u the unit roundoff. */
static int sum_close_to(cpool_dtype dt, double got, double want, double abs_sum,
                        int64_t count)
{
    const double u = dt == CPOOL_F32 ? 5.96e-8 : 1.12e-16;
    return fabs(got - want) <= (double)(count + 1) * u * abs_sum + 1e-300;
}

/* ---- helpers ----------------------------------------------------------- */

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "test_core: out of memory (%lu bytes)\n", (unsigned long)bytes);
        exit(2);
    }
    return p;
}

/* Exactly `count` elements of `es` bytes, filled with a junk byte pattern so
 * that an output element the kernel forgets to write is noticed. */
static void *alloc_exact(int64_t count, size_t es)
{
    void *p = xmalloc((size_t)count * es);
    memset(p, 0xA5, (size_t)count * es);
    return p;
}

static uint64_t rng_state = 0x853c49e6748fea9bULL;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* PyTorch's output size. */
static int64_t out_size(int64_t L, int64_t k, int64_t s, int64_t p, int64_t d, int ceil)
{
    int64_t o = floordiv(L + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0), s) + 1;
    if (ceil && (o - 1) * s >= L + p)
        o--;
    return o;
}

static int64_t prod3(const int64_t *v) { return v[0] * v[1] * v[2]; }

/* Fills a geometry for spatial rank 1-3 (leading axes size 1, kernel, stride
 * and dilation 1, pad 0), with `out` from PyTorch's formula.  Returns 1 when
 * every output extent is at least 1. */
static int make_geom(cpool_geom *g, int rank, int64_t n, int64_t c, const int64_t *in,
                     const int64_t *k, const int64_t *s, const int64_t *p, const int64_t *d,
                     int ceil, int channels_last)
{
    int a, ok = 1;
    memset(g, 0, sizeof(*g));
    g->n = n;
    g->c = c;
    g->channels_last = channels_last;
    for (a = 0; a < 3; a++) {
        const int j = a - (3 - rank); /* index into the rank-long arrays */
        g->in[a] = j >= 0 ? in[j] : 1;
        g->kernel[a] = j >= 0 ? k[j] : 1;
        g->stride[a] = j >= 0 ? s[j] : 1;
        g->pad[a] = j >= 0 ? p[j] : 0;
        g->dilation[a] = j >= 0 ? d[j] : 1;
        g->out[a] = out_size(g->in[a], g->kernel[a], g->stride[a], g->pad[a],
                             g->dilation[a], ceil);
        if (g->out[a] < 1)
            ok = 0;
    }
    return ok;
}

static void describe(const cpool_geom *g, const char *what, cpool_dtype dt)
{
    snprintf(ctx, sizeof ctx,
             "%s %s n=%lld c=%lld in=%lldx%lldx%lld out=%lldx%lldx%lld k=%lldx%lldx%lld "
             "s=%lldx%lldx%lld p=%lldx%lldx%lld d=%lldx%lldx%lld",
             what, dt_name(dt), (long long)g->n, (long long)g->c, (long long)g->in[0],
             (long long)g->in[1], (long long)g->in[2], (long long)g->out[0],
             (long long)g->out[1], (long long)g->out[2], (long long)g->kernel[0],
             (long long)g->kernel[1], (long long)g->kernel[2], (long long)g->stride[0],
             (long long)g->stride[1], (long long)g->stride[2], (long long)g->pad[0],
             (long long)g->pad[1], (long long)g->pad[2], (long long)g->dilation[0],
             (long long)g->dilation[1], (long long)g->dilation[2]);
}

/* Channels-first (n, c, P) <-> channels-last (n, P, c), elements of es bytes. */
static void to_cl(size_t es, int64_t n, int64_t c, int64_t P, const void *src, void *dst)
{
    int64_t a, b, q;
    for (a = 0; a < n; a++)
        for (b = 0; b < c; b++)
            for (q = 0; q < P; q++)
                memcpy((char *)dst + (size_t)((a * P + q) * c + b) * es,
                       (const char *)src + (size_t)((a * c + b) * P + q) * es, es);
}

static void to_cf(size_t es, int64_t n, int64_t c, int64_t P, const void *src, void *dst)
{
    int64_t a, b, q;
    for (a = 0; a < n; a++)
        for (b = 0; b < c; b++)
            for (q = 0; q < P; q++)
                memcpy((char *)dst + (size_t)((a * c + b) * P + q) * es,
                       (const char *)src + (size_t)((a * P + q) * c + b) * es, es);
}

/* ---- references (channels-first, PyTorch semantics, one output at a time) */

/* Max: taps in (d, h, w) order, running max from LOWEST with the index of the
 * first in-bounds tap; a tap wins on v > m or NaN; -1 for no tap. */
static void ref_max(cpool_dtype dt, const cpool_geom *g, const void *x, double *y,
                    int64_t *ind)
{
    const int64_t P = prod3(g->in), Q = prod3(g->out);
    int64_t pl, o0, o1, o2, j0, j1, j2;
    for (pl = 0; pl < g->n * g->c; pl++)
        for (o0 = 0; o0 < g->out[0]; o0++)
            for (o1 = 0; o1 < g->out[1]; o1++)
                for (o2 = 0; o2 < g->out[2]; o2++) {
                    double m = lowest(dt);
                    int64_t mi = -1;
                    for (j0 = 0; j0 < g->kernel[0]; j0++) {
                        const int64_t i0 = o0 * g->stride[0] - g->pad[0] + j0 * g->dilation[0];
                        if (i0 < 0 || i0 >= g->in[0])
                            continue;
                        for (j1 = 0; j1 < g->kernel[1]; j1++) {
                            const int64_t i1 =
                                o1 * g->stride[1] - g->pad[1] + j1 * g->dilation[1];
                            if (i1 < 0 || i1 >= g->in[1])
                                continue;
                            for (j2 = 0; j2 < g->kernel[2]; j2++) {
                                const int64_t i2 =
                                    o2 * g->stride[2] - g->pad[2] + j2 * g->dilation[2];
                                int64_t off;
                                double v;
                                if (i2 < 0 || i2 >= g->in[2])
                                    continue;
                                off = (i0 * g->in[1] + i1) * g->in[2] + i2;
                                v = getv(dt, x, pl * P + off);
                                if (mi < 0)
                                    mi = off;
                                if (v > m || v != v) {
                                    m = v;
                                    mi = off;
                                }
                            }
                        }
                    }
                    y[pl * Q + (o0 * g->out[1] + o1) * g->out[2] + o2] = m;
                    ind[pl * Q + (o0 * g->out[1] + o1) * g->out[2] + o2] = mi;
                }
}

/* Average pooling window along one axis, as PyTorch: [lo, hi) inside the
 * input and the extent clipped to the padded input. */
static void avg_axis(int64_t o, int64_t L, int64_t k, int64_t s, int64_t p, int64_t *lo,
                     int64_t *hi, int64_t *padded)
{
    int64_t start = o * s - p, end = start + k;
    if (end > L + p)
        end = L + p;
    *padded = end - start;
    *lo = start > 0 ? start : 0;
    *hi = end < L ? end : L;
}

/* Divisor of output o, 0 for a window without input elements. */
static int64_t avg_div(const cpool_geom *g, const int64_t *o, int cip, int64_t override,
                       int64_t *lo, int64_t *hi)
{
    int64_t a, pad_sz = 1, in_sz = 1, padded;
    for (a = 0; a < 3; a++) {
        avg_axis(o[a], g->in[a], g->kernel[a], g->stride[a], g->pad[a], &lo[a], &hi[a],
                 &padded);
        if (hi[a] <= lo[a])
            return 0;
        pad_sz *= padded;
        in_sz *= hi[a] - lo[a];
    }
    return override > 0 ? override : cip ? pad_sz : in_sz;
}

static void ref_avg_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, int cip,
                        int64_t override, double *y)
{
    const int64_t P = prod3(g->in), Q = prod3(g->out);
    int64_t pl, q, o[3], lo[3], hi[3], a, b, e;
    for (pl = 0; pl < g->n * g->c; pl++)
        for (q = 0; q < Q; q++) {
            double acc = 0;
            int64_t div;
            o[0] = q / (g->out[1] * g->out[2]);
            o[1] = (q / g->out[2]) % g->out[1];
            o[2] = q % g->out[2];
            div = avg_div(g, o, cip, override, lo, hi);
            if (div == 0) {
                y[pl * Q + q] = 0;
                continue;
            }
            for (a = lo[0]; a < hi[0]; a++)
                for (b = lo[1]; b < hi[1]; b++)
                    for (e = lo[2]; e < hi[2]; e++)
                        acc += getv(dt, x, pl * P + (a * g->in[1] + b) * g->in[2] + e);
            y[pl * Q + q] = acc / (double)div;
        }
}

/* Also, per element, the sum of |share| and the number of shares added: the
 * kernel sums in T, so its rounding error grows with both. */
static void ref_avg_bwd(cpool_dtype dt, const cpool_geom *g, const void *gy, int cip,
                        int64_t override, double *gx, double *gabs, int64_t *gcnt)
{
    const int64_t P = prod3(g->in), Q = prod3(g->out);
    int64_t pl, q, o[3], lo[3], hi[3], a, b, e;
    for (q = 0; q < g->n * g->c * P; q++) {
        gx[q] = 0;
        gabs[q] = 0;
        gcnt[q] = 0;
    }
    for (pl = 0; pl < g->n * g->c; pl++)
        for (q = 0; q < Q; q++) {
            double share;
            int64_t div;
            o[0] = q / (g->out[1] * g->out[2]);
            o[1] = (q / g->out[2]) % g->out[1];
            o[2] = q % g->out[2];
            div = avg_div(g, o, cip, override, lo, hi);
            if (div == 0)
                continue;
            share = getv(dt, gy, pl * Q + q) / (double)div;
            for (a = lo[0]; a < hi[0]; a++)
                for (b = lo[1]; b < hi[1]; b++)
                    for (e = lo[2]; e < hi[2]; e++) {
                        const int64_t i = pl * P + (a * g->in[1] + b) * g->in[2] + e;
                        gx[i] += share;
                        gabs[i] += fabs(share);
                        gcnt[i]++;
                    }
        }
}

/* ---- data -------------------------------------------------------------- */

/* Max input: small integers (many ties) plus the type's extremes, and for
 * floats some -inf and, if allowed, NaN. */
static void fill_max_input(cpool_dtype dt, void *x, int64_t count, int allow_nan)
{
    int64_t i;
    for (i = 0; i < count; i++) {
        const uint32_t r = rnd() % 100;
        double v;
        if (r < 4)
            v = lowest(dt);
        else if (r < 6 && !is_float(dt))
            v = highest(dt);
        else if (r < 8 && is_float(dt) && allow_nan)
            v = NAN;
        else if (is_unsigned(dt))
            v = (double)(rnd() % 21);
        else
            v = (double)(rnd() % 21) - 10.0;
        setv(dt, x, i, v);
    }
}

static void fill_small(cpool_dtype dt, void *x, int64_t count)
{
    int64_t i;
    for (i = 0; i < count; i++)
        setv(dt, x, i, (double)(rnd() % 17) - 8.0);
}

/* ---- the sweep's per-geometry cases ------------------------------------ */

/* Max forward (all four calls) and, for float types, the index scatter on the
 * resulting indices.  `strict`: compare against the PyTorch reference; when 0
 * (geometries PyTorch would refuse) only the safety properties are checked. */
static void case_max(cpool_dtype dt, const cpool_geom *gin, int strict)
{
    cpool_geom g = *gin, gl = *gin;
    const size_t es = esize(dt);
    const int64_t P = prod3(g.in), Q = prod3(g.out), planes = g.n * g.c;
    const int64_t nx = planes * P, ny = planes * Q;
    void *x = alloc_exact(nx, es), *xl = alloc_exact(nx, es);
    void *y = alloc_exact(ny, es), *y2 = alloc_exact(ny, es);
    void *yl = alloc_exact(ny, es), *yl2 = alloc_exact(ny, es), *yt = alloc_exact(ny, es);
    int64_t *ind = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    int64_t *indl = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    int64_t *indt = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    double *yref = (double *)xmalloc((size_t)ny * sizeof(double));
    int64_t *iref = (int64_t *)xmalloc((size_t)ny * sizeof(int64_t));
    int64_t q;
    int rc;

    g.channels_last = 0;
    gl.channels_last = 1;
    describe(&g, strict ? "max" : "max(robust)", dt);
    fill_max_input(dt, x, nx, 1);
    to_cl(es, g.n, g.c, P, x, xl);

    rc = cpool_max_pool_fwd(dt, &g, x, y, ind);
    CHECK(rc == CPOOL_OK);
    rc = cpool_max_pool_fwd(dt, &g, x, y2, NULL);
    CHECK(rc == CPOOL_OK);
    rc = cpool_max_pool_fwd(dt, &gl, xl, yl, indl);
    CHECK(rc == CPOOL_OK);
    rc = cpool_max_pool_fwd(dt, &gl, xl, yl2, NULL);
    CHECK(rc == CPOOL_OK);

    /* Safety: every index -1 or inside the plane, the value the input's. */
    for (q = 0; q < ny; q++) {
        const int64_t k = ind[q];
        CHECK(k >= -1 && k < P);
        if (k >= 0 && k < P)
            CHECK(same(getv(dt, y, q), getv(dt, x, (q / Q) * P + k)));
        else if (k == -1)
            CHECK(getv(dt, y, q) == lowest(dt));
        CHECK(same(getv(dt, y2, q), getv(dt, y, q))); /* the no-index path */
    }
    for (q = 0; q < ny; q++) { /* channels-last, in its own layout */
        const int64_t k = indl[q];
        CHECK(k >= -1 && k < P);
        if (k >= 0 && k < P)
            CHECK(same(getv(dt, yl, q), getv(dt, xl, (q / (Q * g.c)) * P * g.c +
                                                       k * g.c + q % g.c)));
        CHECK(same(getv(dt, yl2, q), getv(dt, yl, q)));
    }

    /* Channels-last, transposed back, equals channels-first exactly. */
    to_cf(es, g.n, g.c, Q, yl, yt);
    to_cf(sizeof(int64_t), g.n, g.c, Q, indl, indt);
    for (q = 0; q < ny; q++) {
        CHECK(same(getv(dt, yt, q), getv(dt, y, q)));
        CHECK(indt[q] == ind[q]);
    }

    if (strict) {
        ref_max(dt, &g, x, yref, iref);
        for (q = 0; q < ny; q++) {
            CHECK(same(getv(dt, y, q), yref[q]));
            CHECK(ind[q] == iref[q]);
        }
    }

    /* Index scatter (the max backward) on these indices, both layouts. */
    if (is_float(dt)) {
        void *gy = alloc_exact(ny, es), *gyl = alloc_exact(ny, es);
        void *gx = alloc_exact(nx, es), *gxl = alloc_exact(nx, es), *gxt = alloc_exact(nx, es);
        double *gref = (double *)xmalloc((size_t)nx * sizeof(double));
        describe(&g, strict ? "scatter" : "scatter(robust)", dt);
        fill_small(dt, gy, ny);
        to_cl(es, g.n, g.c, Q, gy, gyl);
        rc = cpool_index_scatter_add(dt, &g, gy, ind, gx);
        CHECK(rc == CPOOL_OK);
        rc = cpool_index_scatter_add(dt, &gl, gyl, indl, gxl);
        CHECK(rc == CPOOL_OK);
        for (q = 0; q < nx; q++)
            gref[q] = 0;
        for (q = 0; q < ny; q++)
            if (ind[q] >= 0 && ind[q] < P)
                gref[(q / Q) * P + ind[q]] += getv(dt, gy, q);
        to_cf(es, g.n, g.c, P, gxl, gxt);
        for (q = 0; q < nx; q++) {
            /* Sums of small integers: exact in either type and any order. */
            CHECK(getv(dt, gx, q) == gref[q]);
            CHECK(getv(dt, gxt, q) == getv(dt, gx, q));
        }
        free(gy);
        free(gyl);
        free(gx);
        free(gxl);
        free(gxt);
        free(gref);
    }

    free(x);
    free(xl);
    free(y);
    free(y2);
    free(yl);
    free(yl2);
    free(yt);
    free(ind);
    free(indl);
    free(indt);
    free(yref);
    free(iref);
}

/* Average forward and backward, both layouts, against the reference. */
static void case_avg(cpool_dtype dt, const cpool_geom *gin, int cip, int64_t override,
                     int strict)
{
    cpool_geom g = *gin, gl = *gin;
    const size_t es = esize(dt);
    const int64_t P = prod3(g.in), Q = prod3(g.out), planes = g.n * g.c;
    const int64_t nx = planes * P, ny = planes * Q;
    void *x = alloc_exact(nx, es), *xl = alloc_exact(nx, es);
    void *y = alloc_exact(ny, es), *yl = alloc_exact(ny, es), *yt = alloc_exact(ny, es);
    void *gy = alloc_exact(ny, es), *gyl = alloc_exact(ny, es);
    void *gx = alloc_exact(nx, es), *gxl = alloc_exact(nx, es), *gxt = alloc_exact(nx, es);
    double *yref = (double *)xmalloc((size_t)ny * sizeof(double));
    double *gref = (double *)xmalloc((size_t)nx * sizeof(double));
    double *gabs = (double *)xmalloc((size_t)nx * sizeof(double));
    int64_t *gcnt = (int64_t *)xmalloc((size_t)nx * sizeof(int64_t));
    char what[64];
    int64_t q;
    int rc;

    g.channels_last = 0;
    gl.channels_last = 1;
    snprintf(what, sizeof what, "avg%s cip=%d override=%lld", strict ? "" : "(robust)", cip,
             (long long)override);
    describe(&g, what, dt);

    fill_small(dt, x, nx);
    to_cl(es, g.n, g.c, P, x, xl);
    fill_small(dt, gy, ny);
    to_cl(es, g.n, g.c, Q, gy, gyl);

    rc = cpool_avg_pool_fwd(dt, &g, x, y, cip, override);
    CHECK(rc == CPOOL_OK);
    rc = cpool_avg_pool_fwd(dt, &gl, xl, yl, cip, override);
    CHECK(rc == CPOOL_OK);
    rc = cpool_avg_pool_bwd(dt, &g, gy, gx, cip, override);
    CHECK(rc == CPOOL_OK);
    rc = cpool_avg_pool_bwd(dt, &gl, gyl, gxl, cip, override);
    CHECK(rc == CPOOL_OK);

    to_cf(es, g.n, g.c, Q, yl, yt);
    to_cf(es, g.n, g.c, P, gxl, gxt);
    for (q = 0; q < ny; q++)
        CHECK(getv(dt, yt, q) == getv(dt, y, q));
    for (q = 0; q < nx; q++)
        CHECK(getv(dt, gxt, q) == getv(dt, gx, q));

    if (strict) {
        ref_avg_fwd(dt, &g, x, cip, override, yref);
        ref_avg_bwd(dt, &g, gy, cip, override, gref, gabs, gcnt);
        for (q = 0; q < ny; q++) /* a sum of small integers (exact), one division */
            CHECK(close_to(dt, getv(dt, y, q), yref[q]));
        for (q = 0; q < nx; q++)
            CHECK(sum_close_to(dt, getv(dt, gx, q), gref[q], gabs[q], gcnt[q]));
    } else {
        for (q = 0; q < ny; q++)
            CHECK(isfinite(getv(dt, y, q)));
        for (q = 0; q < nx; q++)
            CHECK(isfinite(getv(dt, gx, q)));
    }

    free(x);
    free(xl);
    free(y);
    free(yl);
    free(yt);
    free(gy);
    free(gyl);
    free(gx);
    free(gxl);
    free(gxt);
    free(yref);
    free(gref);
    free(gabs);
    free(gcnt);
}

static long n_max_geoms = 0, n_avg_geoms = 0;

static void all_max(const cpool_geom *g, int strict)
{
    int t;
    n_max_geoms++;
    for (t = 0; t < N_ALL; t++)
        case_max(ALL_DTYPES[t], g, strict);
}

static void all_avg(const cpool_geom *g, int strict)
{
    int t, cip, ov;
    n_avg_geoms++;
    for (t = 0; t < N_FLOAT; t++)
        for (cip = 0; cip <= 1; cip++)
            for (ov = 0; ov <= 1; ov++)
                case_avg(FLOAT_DTYPES[t], g, cip, ov ? 3 : 0, strict);
}

/* ---- known answers ----------------------------------------------------- */

static void test_known_answers(void)
{
    /* 4x4 arange, n=1, c=2 (channel 1 = arange + 100), both layouts. */
    static const double want_max[4] = {5, 7, 13, 15};
    static const double want_avg[4] = {2.5, 4.5, 10.5, 12.5};
    const int64_t in[2] = {4, 4}, k3[2] = {3, 3}, k2[2] = {2, 2}, s2[2] = {2, 2};
    const int64_t p1[2] = {1, 1}, p0[2] = {0, 0}, d1[2] = {1, 1};
    int t, cl;
    for (t = 0; t < N_FLOAT; t++)
        for (cl = 0; cl <= 1; cl++) {
            const cpool_dtype dt = FLOAT_DTYPES[t];
            const size_t es = esize(dt);
            void *x = alloc_exact(32, es), *y = alloc_exact(8, es);
            int64_t *ind = (int64_t *)alloc_exact(8, sizeof(int64_t));
            cpool_geom g;
            int i, ch;
            for (ch = 0; ch < 2; ch++)
                for (i = 0; i < 16; i++)
                    setv(dt, x, cl ? i * 2 + ch : ch * 16 + i, i + 100.0 * ch);

            CHECK(make_geom(&g, 2, 1, 2, in, k3, s2, p1, d1, 0, cl));
            describe(&g, cl ? "known max cl" : "known max cf", dt);
            CHECK(g.in[0] == 1 && g.kernel[0] == 1 && g.stride[0] == 1 && g.pad[0] == 0 &&
                  g.dilation[0] == 1 && g.out[0] == 1);
            CHECK(g.out[1] == 2 && g.out[2] == 2);
            CHECK(cpool_geom_check(&g) == CPOOL_OK);
            CHECK(cpool_max_pool_fwd(dt, &g, x, y, ind) == CPOOL_OK);
            for (ch = 0; ch < 2; ch++)
                for (i = 0; i < 4; i++) {
                    const int64_t o = cl ? i * 2 + ch : ch * 4 + i;
                    CHECK(getv(dt, y, o) == want_max[i] + 100.0 * ch);
                    CHECK(ind[o] == (int64_t)want_max[i]);
                }

            CHECK(make_geom(&g, 2, 1, 2, in, k2, s2, p0, d1, 0, cl));
            describe(&g, cl ? "known avg cl" : "known avg cf", dt);
            CHECK(g.out[1] == 2 && g.out[2] == 2);
            CHECK(cpool_avg_pool_fwd(dt, &g, x, y, 1, 0) == CPOOL_OK);
            for (ch = 0; ch < 2; ch++)
                for (i = 0; i < 4; i++)
                    CHECK(getv(dt, y, cl ? i * 2 + ch : ch * 4 + i) ==
                          want_avg[i] + 100.0 * ch);
            free(x);
            free(y);
            free(ind);
        }

    /* 1d, ceil mode: arange(5), k2 s2 -> 3 outputs, the last window clipped
     * (and its padded extent clipped too: 4 / 1 even with count_include_pad). */
    for (t = 0; t < N_FLOAT; t++) {
        const cpool_dtype dt = FLOAT_DTYPES[t];
        const int64_t L[1] = {5}, k[1] = {2}, s[1] = {2}, p[1] = {0}, d[1] = {1};
        void *x = alloc_exact(5, esize(dt)), *y = alloc_exact(3, esize(dt));
        int64_t *ind = (int64_t *)alloc_exact(3, sizeof(int64_t));
        cpool_geom g;
        int i;
        for (i = 0; i < 5; i++)
            setv(dt, x, i, i);
        CHECK(make_geom(&g, 1, 1, 1, L, k, s, p, d, 1, 0));
        describe(&g, "known 1d ceil", dt);
        CHECK(g.in[0] == 1 && g.in[1] == 1 && g.in[2] == 5);
        CHECK(g.out[0] == 1 && g.out[1] == 1 && g.out[2] == 3);
        CHECK(cpool_max_pool_fwd(dt, &g, x, y, ind) == CPOOL_OK);
        CHECK(getv(dt, y, 0) == 1 && getv(dt, y, 1) == 3 && getv(dt, y, 2) == 4);
        CHECK(ind[0] == 1 && ind[1] == 3 && ind[2] == 4);
        CHECK(cpool_avg_pool_fwd(dt, &g, x, y, 1, 0) == CPOOL_OK);
        CHECK(getv(dt, y, 0) == 0.5 && getv(dt, y, 1) == 2.5 && getv(dt, y, 2) == 4);
        free(x);
        free(y);
        free(ind);
    }

    /* 3d: 2x2x2 arange, k2 -> one output, the whole volume. */
    {
        const int64_t in3[3] = {2, 2, 2}, k[3] = {2, 2, 2}, s[3] = {1, 1, 1};
        const int64_t p[3] = {0, 0, 0}, d[3] = {1, 1, 1};
        float x[8], y[1];
        int64_t ind[1];
        cpool_geom g;
        int i;
        for (i = 0; i < 8; i++)
            x[i] = (float)((i * 5) % 8); /* max 7 at i = 3 */
        CHECK(make_geom(&g, 3, 1, 1, in3, k, s, p, d, 0, 0));
        describe(&g, "known 3d", CPOOL_F32);
        CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_OK);
        CHECK(y[0] == 7.0f && ind[0] == 3);
        CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, x, y, 0, 0) == CPOOL_OK);
        CHECK(y[0] == 3.5f);
    }

    /* NaN: a window with NaN gives NaN and the index of its last NaN. */
    {
        const int64_t L[1] = {5}, k[1] = {5}, s[1] = {1}, p[1] = {2}, d[1] = {1};
        const double xv[5] = {1, NAN, 3, NAN, 2};
        int t2, cl;
        for (t2 = 0; t2 < N_FLOAT; t2++)
            for (cl = 0; cl <= 1; cl++) {
                const cpool_dtype dt = FLOAT_DTYPES[t2];
                void *x = alloc_exact(5, esize(dt)), *y = alloc_exact(5, esize(dt));
                int64_t *ind = (int64_t *)alloc_exact(5, sizeof(int64_t));
                cpool_geom g;
                int i;
                for (i = 0; i < 5; i++)
                    setv(dt, x, i, xv[i]);
                CHECK(make_geom(&g, 1, 1, 1, L, k, s, p, d, 0, cl));
                describe(&g, "nan", dt);
                CHECK(g.out[2] == 5);
                CHECK(cpool_max_pool_fwd(dt, &g, x, y, ind) == CPOOL_OK);
                /* windows: [-2,2] [-1,3] [0,4] [1,5] [2,6] */
                CHECK(isnan(getv(dt, y, 0)) && ind[0] == 1);
                CHECK(isnan(getv(dt, y, 1)) && ind[1] == 3);
                CHECK(isnan(getv(dt, y, 2)) && ind[2] == 3);
                CHECK(isnan(getv(dt, y, 3)) && ind[3] == 3);
                CHECK(isnan(getv(dt, y, 4)) && ind[4] == 3);
                free(x);
                free(y);
                free(ind);
            }
    }
}

/* A window made only of padding: 2x2 input, k2 s1 p1 d3 -> 1x1 output whose
 * taps (-1 and 2 on each axis) all miss the input. */
static void test_padding_only_window(void)
{
    const int64_t in[2] = {2, 2}, k[2] = {2, 2}, s[2] = {1, 1}, p[2] = {1, 1}, d[2] = {3, 3};
    int t, cl, with_ind;
    for (t = 0; t < N_ALL; t++)
        for (cl = 0; cl <= 1; cl++)
            for (with_ind = 0; with_ind <= 1; with_ind++) {
                const cpool_dtype dt = ALL_DTYPES[t];
                const int64_t C = 3;
                void *x = alloc_exact(4 * C, esize(dt)), *y = alloc_exact(C, esize(dt));
                int64_t *ind = (int64_t *)alloc_exact(C, sizeof(int64_t));
                cpool_geom g;
                int64_t i;
                for (i = 0; i < 4 * C; i++)
                    setv(dt, x, i, 7);
                CHECK(make_geom(&g, 2, 1, C, in, k, s, p, d, 0, cl));
                describe(&g, cl ? "padding-only cl" : "padding-only cf", dt);
                CHECK(g.out[0] == 1 && g.out[1] == 1 && g.out[2] == 1);
                CHECK(cpool_max_pool_fwd(dt, &g, x, y, with_ind ? ind : NULL) == CPOOL_OK);
                for (i = 0; i < C; i++) {
                    CHECK(getv(dt, y, i) == lowest(dt));
                    if (is_float(dt))
                        CHECK(isinf(getv(dt, y, i)) && getv(dt, y, i) < 0);
                    if (with_ind)
                        CHECK(ind[i] == -1);
                }
                /* And its backward: -1 skipped, grad_x all zero. */
                if (is_float(dt) && with_ind) {
                    void *gy = alloc_exact(C, esize(dt)), *gx = alloc_exact(4 * C, esize(dt));
                    for (i = 0; i < C; i++)
                        setv(dt, gy, i, 1);
                    CHECK(cpool_index_scatter_add(dt, &g, gy, ind, gx) == CPOOL_OK);
                    for (i = 0; i < 4 * C; i++)
                        CHECK(getv(dt, gx, i) == 0);
                    free(gy);
                    free(gx);
                }
                free(x);
                free(y);
                free(ind);
            }
}

/* The index scatter's own contract: -1 skipped, an index >= plane or < -1
 * gives CPOOL_EINDEX (and is never written). */
static void test_scatter_indices(void)
{
    /* One plane per (n, c): n=2, c=2, in 1x1x4 (plane 4), out 1x1x3. */
    const int64_t n = 2, c = 2, P = 4, Q = 3, planes = 4;
    int t, cl, bad;
    for (t = 0; t < N_FLOAT; t++)
        for (cl = 0; cl <= 1; cl++)
            for (bad = 0; bad <= 4; bad++) {
                const cpool_dtype dt = FLOAT_DTYPES[t];
                void *gy = alloc_exact(planes * Q, esize(dt));
                void *gx = alloc_exact(planes * P, esize(dt));
                int64_t *ind = (int64_t *)alloc_exact(planes * Q, sizeof(int64_t));
                double want[16];
                cpool_geom g;
                int64_t i, pl, o;
                int rc;
                memset(&g, 0, sizeof g);
                g.n = n;
                g.c = c;
                g.in[0] = g.in[1] = 1;
                g.in[2] = P;
                g.out[0] = g.out[1] = 1;
                g.out[2] = Q;
                for (i = 0; i < 3; i++)
                    g.kernel[i] = g.stride[i] = g.dilation[i] = 1;
                g.channels_last = cl;
                snprintf(ctx, sizeof ctx, "scatter indices %s %s bad=%d", dt_name(dt),
                         cl ? "cl" : "cf", bad);
                for (i = 0; i < planes * P; i++)
                    want[i] = 0;
                /* Indices per plane: (pl % 4), -1, 2; grad (pl+1)*(o+1). */
                for (pl = 0; pl < planes; pl++)
                    for (o = 0; o < Q; o++) {
                        const int64_t k = o == 0 ? pl % 4 : o == 1 ? -1 : 2;
                        const double v = (double)((pl + 1) * (o + 1));
                        const int64_t at = cl ? ((pl / c) * Q + o) * c + pl % c : pl * Q + o;
                        ind[at] = k;
                        setv(dt, gy, at, v);
                        if (k >= 0)
                            want[pl * P + k] += v;
                    }
                /* bad: 1 -> index == plane size, 2 -> -2, 3 -> huge, 4 -> INT64_MIN;
                 * put in the last plane's first output (whose grad, 4, no longer
                 * lands at index 3). */
                if (bad) {
                    const int64_t at = cl ? ((planes - 1) / c * Q) * c + (planes - 1) % c
                                          : (planes - 1) * Q;
                    ind[at] = bad == 1 ? P : bad == 2 ? -2 : bad == 3 ? ((int64_t)1 << 40)
                                                                      : INT64_MIN;
                    want[(planes - 1) * P + (planes - 1) % 4] -= (double)planes;
                }
                rc = cpool_index_scatter_add(dt, &g, gy, ind, gx);
                CHECK(rc == (bad ? CPOOL_EINDEX : CPOOL_OK));
                /* Everything else is still scattered, the bad index skipped. */
                for (pl = 0; pl < planes; pl++)
                    for (i = 0; i < P; i++)
                        CHECK(getv(dt, gx, cl ? ((pl / c) * P + i) * c + pl % c
                                              : pl * P + i) == want[pl * P + i]);
                free(gy);
                free(gx);
                free(ind);
            }
}

/* cpool_geom_check rejects bad geometries; every entry point then answers
 * CPOOL_EINVAL without touching the buffers. */
static void test_geom_check(void)
{
    const int64_t in[2] = {4, 4}, k[2] = {3, 3}, s[2] = {2, 2}, p[2] = {1, 1}, d[2] = {1, 1};
    cpool_geom base;
    int variant, axis;
    /* Buffers big enough for the valid base geometry (n=1, c=2). */
    float x[32], y[8], gx[32];
    int64_t ind[8];
    CHECK(make_geom(&base, 2, 1, 2, in, k, s, p, d, 0, 0));
    snprintf(ctx, sizeof ctx, "geom_check base");
    CHECK(cpool_geom_check(&base) == CPOOL_OK);
    memset(x, 0, sizeof x);
    memset(y, 0, sizeof y);
    memset(ind, 0, sizeof ind);
    for (variant = 0; variant < 9; variant++)
        for (axis = 0; axis < 3; axis++) {
            static const char *names[] = {"kernel 0", "stride 0", "pad -1", "in 0",
                                          "dilation 0", "kernel -1", "out -1", "n -1", "c -1"};
            cpool_geom g = base;
            int cl;
            switch (variant) {
            case 0: g.kernel[axis] = 0; break;
            case 1: g.stride[axis] = 0; break;
            case 2: g.pad[axis] = -1; break;
            case 3: g.in[axis] = 0; break;
            case 4: g.dilation[axis] = 0; break;
            case 5: g.kernel[axis] = -1; break;
            case 6: g.out[axis] = -1; break;
            case 7: g.n = -1; break;
            case 8: g.c = -1; break;
            }
            for (cl = 0; cl <= 1; cl++) {
                g.channels_last = cl;
                snprintf(ctx, sizeof ctx, "geom_check %s axis %d %s", names[variant], axis,
                         cl ? "cl" : "cf");
                CHECK(cpool_geom_check(&g) == CPOOL_EINVAL);
                CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_EINVAL);
                CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, NULL) == CPOOL_EINVAL);
                CHECK(cpool_max_pool_fwd(CPOOL_I8, &g, x, y, ind) == CPOOL_EINVAL);
                CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, x, y, 1, 0) == CPOOL_EINVAL);
                CHECK(cpool_avg_pool_bwd(CPOOL_F32, &g, y, gx, 1, 0) == CPOOL_EINVAL);
            }
        }
    /* out = 0 is a valid, empty call. */
    {
        cpool_geom g = base;
        g.out[2] = 0;
        snprintf(ctx, sizeof ctx, "geom_check out 0");
        CHECK(cpool_geom_check(&g) == CPOOL_OK);
    }
}

/* Unknown dtype codes, and integer dtypes where only floats have kernels. */
static void test_dtypes(void)
{
    const int64_t in[2] = {4, 4}, k[2] = {2, 2}, s[2] = {2, 2}, p[2] = {0, 0}, d[2] = {1, 1};
    const int bad_codes[] = {8, 9, 99, -1};
    double x[16], y[4], gx[16];
    int64_t ind[4] = {0, 1, 2, 3};
    cpool_geom g;
    int i, cl;
    memset(x, 0, sizeof x);
    memset(y, 0, sizeof y);
    for (cl = 0; cl <= 1; cl++) {
        CHECK(make_geom(&g, 2, 1, 1, in, k, s, p, d, 0, cl));
        for (i = 0; i < (int)(sizeof bad_codes / sizeof bad_codes[0]); i++) {
            const cpool_dtype dt = (cpool_dtype)bad_codes[i];
            snprintf(ctx, sizeof ctx, "dtype code %d", bad_codes[i]);
            CHECK(cpool_max_pool_fwd(dt, &g, x, y, ind) == CPOOL_EDTYPE);
            CHECK(cpool_max_pool_fwd(dt, &g, x, y, NULL) == CPOOL_EDTYPE);
            CHECK(cpool_avg_pool_fwd(dt, &g, x, y, 0, 0) == CPOOL_EDTYPE);
            CHECK(cpool_avg_pool_bwd(dt, &g, y, gx, 0, 0) == CPOOL_EDTYPE);
            CHECK(cpool_index_scatter_add(dt, &g, y, ind, gx) == CPOOL_EDTYPE);
        }
        for (i = 0; i < N_ALL; i++) {
            const cpool_dtype dt = ALL_DTYPES[i];
            if (is_float(dt))
                continue;
            snprintf(ctx, sizeof ctx, "integer dtype %s for avg / scatter", dt_name(dt));
            CHECK(cpool_avg_pool_fwd(dt, &g, x, y, 0, 0) == CPOOL_EDTYPE);
            CHECK(cpool_avg_pool_bwd(dt, &g, y, gx, 1, 0) == CPOOL_EDTYPE);
            CHECK(cpool_index_scatter_add(dt, &g, y, ind, gx) == CPOOL_EDTYPE);
            CHECK(cpool_max_pool_fwd(dt, &g, x, y, ind) == CPOOL_OK);
        }
    }
}

static void test_runtime(void)
{
    snprintf(ctx, sizeof ctx, "runtime");
#if defined(_OPENMP)
    CHECK(cpool_openmp_enabled() == 1);
    CHECK(cpool_openmp_version() == _OPENMP);
    cpool_set_num_threads(3);
    CHECK(cpool_get_num_threads() == 3);
    cpool_set_num_threads(0);
    CHECK(cpool_get_num_threads() == 1);
#else
    CHECK(cpool_openmp_enabled() == 0);
    CHECK(cpool_openmp_version() == 0);
    cpool_set_num_threads(3);
    CHECK(cpool_get_num_threads() == 1);
#endif
    CHECK(cpool_compiler() != NULL && cpool_simd_flags() != NULL);
}

/* ---- the sweep --------------------------------------------------------- */

static void sweep_rank(int rank, const int64_t *sizes, int nsizes)
{
    int si, k, s, p, d, ceil, shift;
    for (si = 0; si < nsizes; si++) {
        const int64_t *in = sizes + si * rank;
        for (k = 1; k <= 4; k++)
            for (s = 1; s <= 3; s++)
                for (p = 0; p <= k / 2; p++)
                    for (d = 1; d <= 3; d++)
                        for (ceil = 0; ceil <= 1; ceil++)
                            for (shift = 0; shift <= (rank > 1); shift++) {
                                /* shift 1: anisotropic, parameters rotated per axis */
                                int64_t ka[3], sa[3], pa[3], da[3], one[3] = {1, 1, 1};
                                cpool_geom g;
                                int a;
                                for (a = 0; a < rank; a++) {
                                    ka[a] = 1 + (k - 1 + a * shift) % 4;
                                    sa[a] = 1 + (s - 1 + a * shift) % 3;
                                    da[a] = 1 + (d - 1 + a * shift) % 3;
                                    pa[a] = p < ka[a] / 2 ? p : ka[a] / 2;
                                }
                                if (make_geom(&g, rank, 2, 3, in, ka, sa, pa, da, ceil, 0))
                                    all_max(&g, 1);
                                if (d == 1 &&
                                    make_geom(&g, rank, 2, 3, in, ka, sa, pa, one, ceil, 0))
                                    all_avg(&g, 1);
                            }
    }
}

/* Larger cases: rows wider than the 256-column chunk, more than 256
 * channels, and enough work for the OpenMP parallel regions to run. */
static void big_cases(void)
{
    cpool_geom g;
    {
        const int64_t L[1] = {601}, k[1] = {3}, s[1] = {2}, p[1] = {1}, d1[1] = {1},
                      d2[1] = {2}, k2[1] = {2}, s1[1] = {1}, p0[1] = {0};
        if (make_geom(&g, 1, 2, 3, L, k, s, p, d1, 0, 0)) {
            all_max(&g, 1);
            all_avg(&g, 1);
        }
        if (make_geom(&g, 1, 2, 3, L, k, s, p, d2, 1, 0))
            all_max(&g, 1);
        if (make_geom(&g, 1, 1, 2, L, k2, s1, p0, d1, 0, 0)) {
            all_max(&g, 1);
            all_avg(&g, 1);
        }
    }
    {
        const int64_t in[2] = {5, 7}, k[2] = {3, 3}, s[2] = {1, 2}, p[2] = {1, 1},
                      d[2] = {1, 1};
        if (make_geom(&g, 2, 2, 260, in, k, s, p, d, 1, 0)) {
            all_max(&g, 1);
            all_avg(&g, 1);
        }
    }
    {
        const int64_t in[2] = {48, 50}, k[2] = {3, 3}, s[2] = {1, 1}, p[2] = {1, 1},
                      d[2] = {1, 2};
        const int64_t d1[2] = {1, 1};
        if (make_geom(&g, 2, 2, 3, in, k, s, p, d, 0, 0))
            all_max(&g, 1);
        if (make_geom(&g, 2, 2, 3, in, k, s, p, d1, 0, 0))
            all_avg(&g, 1);
    }
    {
        const int64_t in[3] = {9, 10, 11}, k[3] = {3, 2, 3}, s[3] = {1, 2, 1},
                      p[3] = {1, 1, 0}, d[3] = {1, 1, 2}, d1[3] = {1, 1, 1};
        if (make_geom(&g, 3, 2, 5, in, k, s, p, d, 1, 0))
            all_max(&g, 1);
        if (make_geom(&g, 3, 2, 5, in, k, s, p, d1, 1, 0))
            all_avg(&g, 1);
    }
}

/* Geometries PyTorch refuses but cpool_geom_check accepts (padding beyond
 * half the kernel, `out` larger or smaller than the formula): the kernels must
 * stay inside their buffers and return sane results. */
static void robustness_cases(void)
{
    static const int64_t sizes[][2] = {{3, 4}, {1, 5}, {6, 2}};
    int si, k, p, s, delta;
    for (si = 0; si < 3; si++)
        for (k = 1; k <= 3; k++)
            for (p = 0; p <= 4; p++)
                for (s = 1; s <= 2; s++)
                    for (delta = -1; delta <= 2; delta++) {
                        const int64_t ka[2] = {k, k + 1}, sa[2] = {s, 1}, pa[2] = {p, p},
                                      da[2] = {2, 1}, one[2] = {1, 1};
                        cpool_geom g;
                        int a, fam;
                        for (fam = 0; fam < 2; fam++) {
                            make_geom(&g, 2, 1, 2, sizes[si], ka, sa, pa, fam ? one : da, 0,
                                      0);
                            for (a = 1; a < 3; a++) {
                                g.out[a] += delta;
                                if (g.out[a] < 1)
                                    g.out[a] = 1;
                            }
                            if (cpool_geom_check(&g) != CPOOL_OK)
                                continue;
                            if (fam == 0)
                                all_max(&g, 0);
                            else
                                all_avg(&g, 0);
                        }
                    }
}

/* Random123's known-answer vectors for philox4x32 10 (tests/kat_vectors),
 * and the uniforms: word q % 4 of counter q / 4, the same whether drawn one by
 * one or lane-parallel with any step. */
static void test_philox(void)
{
    static const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                                       {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                                       {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    static const uint32_t key[3][2] = {{0, 0},
                                       {0xffffffffu, 0xffffffffu},
                                       {0xa4093822u, 0x299f31d0u}};
    static const uint32_t want[3][4] = {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
                                        {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
                                        {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    const uint32_t k[2] = {12345u, 678u};
    double u[CPOOL_CHUNK];
    uint32_t out[4];
    int i, w;
    strcpy(ctx, "philox");
    for (i = 0; i < 3; i++) {
        cpool_philox4x32_10(ctr[i], key[i], out);
        for (w = 0; w < 4; w++)
            CHECK(out[w] == want[i][w]);
    }
    cpool_philox4x32_10(ctr[0], k, out);
    for (w = 0; w < 4; w++)
        CHECK(cpool_philox_uniform((uint64_t)w, k) == out[w] / 4294967296.0);
    cpool_philox_uniforms(5, 1, 200, k, u);
    for (i = 0; i < 200; i++)
        CHECK(u[i] == cpool_philox_uniform(5 + (uint64_t)i, k) && u[i] >= 0 && u[i] < 1);
    cpool_philox_uniforms((uint64_t)1 << 40, 77, 100, k, u);
    for (i = 0; i < 100; i++)
        CHECK(u[i] == cpool_philox_uniform(((uint64_t)1 << 40) + 77 * (uint64_t)i, k));
}

int main(void)
{
    static const int64_t sizes1[] = {1, 2, 5, 7, 9};
    static const int64_t sizes2[] = {5, 7, 3, 5, 1, 6, 7, 3};
    static const int64_t sizes3[] = {3, 5, 7, 5, 3, 3, 1, 3, 4};
    static const int threads[] = {1, 4};
    int ti;

    printf("cpool C core test: %s, OpenMP %s (%d)%s\n", cpool_compiler(),
           cpool_openmp_enabled() ? "on" : "off", cpool_openmp_version(),
           cpool_simd_flags());
    test_runtime();
    test_philox();
    test_known_answers();
    test_padding_only_window();
    test_scatter_indices();
    test_geom_check();
    test_dtypes();

    /* The sweep with one thread and with four (the channels-last scatter
     * splits channel blocks when n < threads; big cases go parallel). */
    for (ti = 0; ti < (cpool_openmp_enabled() ? 2 : 1); ti++) {
        cpool_set_num_threads(threads[ti]);
        sweep_rank(1, sizes1, 5);
        sweep_rank(2, sizes2, 4);
        sweep_rank(3, sizes3, 3);
        big_cases();
        robustness_cases();
    }

    printf("%ld max geometries, %ld avg geometries, %ld checks, %ld failures\n",
           n_max_geoms, n_avg_geoms, n_checks, n_failures);
    if (n_failures) {
        printf("FAILED\n");
        return 1;
    }
    printf("OK\n");
    return 0;
}
