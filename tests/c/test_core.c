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
    /* An empty output of a 2 x 2 stride-2 float32 average, a shape the
     * short-row kernel would take if it were not empty: nothing to do. */
    for (i = 1; i < 3; i++) {
        float xf[16], yf[4] = {5, 5, 5, 5};
        memset(xf, 0, sizeof xf);
        CHECK(make_geom(&g, 2, 1, 1, in, k, s, p, d, 0, 0));
        g.out[i] = 0;
        snprintf(ctx, sizeof ctx, "empty float32 k2s2 average, out[%d] = 0", i);
        CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, xf, yf, 1, 0) == CPOOL_OK);
        CHECK(yf[0] == 5 && yf[3] == 5);
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
        /* k3s2 rows of 20 outputs whose last window ends on the buffer's
         * last element: the AVX2 lanes' stride-2 loads must stop there */
        const int64_t in[2] = {9, 41}, k[2] = {3, 3}, s[2] = {2, 2}, p[2] = {0, 0},
                      d[2] = {1, 1};
        if (make_geom(&g, 2, 2, 3, in, k, s, p, d, 0, 0)) {
            all_max(&g, 1);
            all_avg(&g, 1);
        }
    }
    {
        /* stride-2 rows with a column of left padding, which the float32
         * AVX2 max lanes and average sums take whole, clipping their first
         * block: with padding (0, 1) the first row's first taps lie before
         * the buffer, where the masked loads must not read; 2 x 2 windows on
         * an odd width */
        const int64_t in[2] = {9, 42}, k[2] = {3, 3}, s[2] = {2, 2}, p01[2] = {0, 1},
                      p11[2] = {1, 1}, d[2] = {1, 1};
        const int64_t in2[2] = {6, 41}, k2[2] = {2, 2}, p2[2] = {1, 1};
        if (make_geom(&g, 2, 2, 3, in, k, s, p01, d, 0, 0)) {
            all_max(&g, 1);
            all_avg(&g, 1);
        }
        if (make_geom(&g, 2, 2, 3, in, k, s, p11, d, 0, 0)) {
            all_max(&g, 1);
            all_avg(&g, 1);
        }
        if (make_geom(&g, 2, 1, 2, in2, k2, s, p2, d, 0, 0)) {
            all_max(&g, 1);
            all_avg(&g, 1);
        }
    }
    {
        /* 8-bit k2s2 rows of 33 and 66 outputs: the AVX2 kernel, whose last
         * block overlaps the one before; the first call's last window ends
         * on the buffer's last element */
        const int64_t in[2] = {4, 66}, in2[2] = {5, 130}, k[2] = {2, 2}, s[2] = {2, 2},
                      p[2] = {0, 0}, p1[2] = {1, 1}, d[2] = {1, 1};
        if (make_geom(&g, 2, 2, 3, in, k, s, p, d, 0, 0))
            all_max(&g, 1);
        if (make_geom(&g, 2, 1, 2, in2, k, s, p1, d, 1, 0))
            all_max(&g, 1);
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
    {
        /* rows of full 2 x 2 stride-2 windows (32 and more: the AVX2 row
         * kernels' shortcut), with a second output depth whose windows hold
         * no input: the shortcut must not take them */
        const int64_t in[2] = {4, 66}, k[2] = {2, 2}, s2[2] = {2, 2}, p0[2] = {0, 0},
                      d1[2] = {1, 1};
        cpool_geom g;
        if (make_geom(&g, 2, 2, 3, in, k, s2, p0, d1, 0, 0)) {
            g.out[0] = 2;
            if (cpool_geom_check(&g) == CPOOL_OK)
                all_max(&g, 0);
        }
    }
    {
        /* out x stride = 2^24 x 2^40 wraps in 64 bits (the window starts
         * of cpool_avg_window overflowed): refused, with both at their
         * 2^40 limits and where the product just passes 2^42 */
        const int64_t in[2] = {1, 1}, k[2] = {1, 1}, p0[2] = {0, 0}, d1[2] = {1, 1};
        float gy = 3, gx = -1;
        cpool_geom g;
        make_geom(&g, 2, 1, 1, in, k, k, p0, d1, 0, 0);
        strcpy(ctx, "out x stride past 2^42");
        g.kernel[1] = g.stride[1] = (int64_t)1 << 40;
        g.out[1] = (int64_t)1 << 24;
        CHECK(cpool_avg_pool_bwd(CPOOL_F32, &g, &gy, &gx, 1, 0) == CPOOL_EINVAL);
        CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, &gy, &gx, 1, 0) == CPOOL_EINVAL);
        g.out[1] = 5; /* 4 x 2^40 = 2^42: the last one allowed */
        CHECK(cpool_geom_check(&g) == CPOOL_OK);
        g.out[1] = 6;
        CHECK(cpool_geom_check(&g) == CPOOL_EINVAL);
        CHECK(gx == -1);
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
    uint32_t u[CPOOL_CHUNK];
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
    cpool_philox_words(5, 1, 200, k, u);
    for (i = 0; i < 200; i++)
        CHECK(cpool_uniform(u[i]) == cpool_philox_uniform(5 + (uint64_t)i, k));
    cpool_philox_words((uint64_t)1 << 40, 77, 100, k, u);
    for (i = 0; i < 100; i++)
        CHECK(cpool_uniform(u[i]) ==
              cpool_philox_uniform(((uint64_t)1 << 40) + 77 * (uint64_t)i, k));
    {
        /* rows of every length up to two blocks of calls and every offset
         * in a call, and where the counter's low word wraps (the carry made
         * in registers), up to the last call of 2^63 positions */
        static const uint64_t firsts[3] = {((uint64_t)1 << 34) - 4 * 20, 1000,
                                           ((uint64_t)1 << 63) - 4 * 40};
        uint32_t buf[4 * CPOOL_CHUNK];
        int f, n;
        for (f = 0; f < 3; f++)
            for (n = 1; n <= 4 * 32 + 3; n++) {
                const uint64_t first = firsts[f] + (uint64_t)(n % 4);
                const uint32_t *row = cpool_philox_row(first, n, k, buf);
                for (i = 0; i < n; i++)
                    CHECK(cpool_uniform(row[i]) == cpool_philox_uniform(first + (uint64_t)i, k));
            }
    }
#if defined(CPOOL_PHILOX_AVX2)
    {
        /* each vector variant the CPU has, whichever the dispatch takes:
         * every count of calls up to three blocks, counters from an array
         * and made in registers, against the scalar rounds */
        typedef void (*calls_fn)(const uint64_t *, int64_t, const uint32_t *, uint32_t *);
        typedef void (*seq_fn)(uint64_t, int64_t, const uint32_t *, uint32_t *);
        const calls_fn calls[2] = {cpool_philox_calls_avx2, cpool_philox_calls_avx512};
        const seq_fn seqs[2] = {cpool_philox_seq_avx2, cpool_philox_seq_avx512};
        const int have[2] = {__builtin_cpu_supports("avx2"), cpool_philox_vl()};
        const uint64_t first = ((uint64_t)1 << 32) - 21;
        uint64_t c[48];
        uint32_t a[4 * 48], b[4 * 48], want4[4], cw[4] = {0, 0, 0, 0};
        int v, n;
        for (v = 0; v < 2; v++) {
            if (!have[v])
                continue;
            for (n = 1; n <= 48; n++) {
                for (i = 0; i < n; i++)
                    c[i] = first + (uint64_t)(7 * i); /* not consecutive */
                calls[v](c, n, k, a);
                seqs[v](first, n, k, b);
                for (i = 0; i < n; i++) {
                    cw[0] = (uint32_t)c[i];
                    cw[1] = (uint32_t)(c[i] >> 32);
                    cpool_philox4x32_10(cw, k, want4);
                    for (w = 0; w < 4; w++)
                        CHECK(a[4 * i + w] == want4[w]);
                    cw[0] = (uint32_t)(first + (uint64_t)i);
                    cw[1] = (uint32_t)((first + (uint64_t)i) >> 32);
                    cpool_philox4x32_10(cw, k, want4);
                    for (w = 0; w < 4; w++)
                        CHECK(b[4 * i + w] == want4[w]);
                }
            }
        }
    }
#endif
}

/* ---- the newer entry points: shared helpers ---------------------------- */

/* v rounded to the element type.  For float32, an operation on float32
 * operands computed in double and rounded once is the correctly rounded
 * float32 result (53 >= 2 * 24 + 2 for + - * /), so this emulates T exactly. */
static double rt(cpool_dtype dt, double v) { return dt == CPOOL_F32 ? (double)(float)v : v; }

/* Unit roundoff of a floating type. */
static double unit_roundoff(cpool_dtype dt) { return dt == CPOOL_F32 ? 5.96e-8 : 1.12e-16; }

static const int64_t ONE_BIN[2] = {0, 1};

/* Adaptive bins [floor(i*a/n), ceil((i+1)*a/n)), exactly 2n int64s. */
static int64_t *adaptive_table(int64_t a, int64_t n)
{
    int64_t *b = (int64_t *)alloc_exact(2 * n, sizeof(int64_t));
    int64_t i;
    for (i = 0; i < n; i++) {
        b[2 * i] = i * a / n;
        b[2 * i + 1] = ((i + 1) * a + n - 1) / n;
    }
    return b;
}

/* `tables` tables of n random non-empty bins inside [0, a) (fractional-like
 * per-plane windows), exactly 2 n tables int64s. */
/* Per-plane tables of windows of width k (fractional pooling's), at random
 * starts: nondecreasing when `sorted`, else in any order. */
static int64_t *fixed_tables(int64_t a, int64_t n, int64_t tables, int64_t k, int sorted)
{
    int64_t *b = (int64_t *)alloc_exact(2 * n * tables, sizeof(int64_t));
    int64_t i, t;
    for (t = 0; t < tables; t++)
        for (i = 0; i < n; i++) {
            int64_t st = (int64_t)(rnd() % (uint32_t)(a - k + 1));
            if (sorted) /* i * (a - k) / (n - 1), pulled back by up to 1 */
                st = n > 1 ? i * (a - k) / (n - 1) : 0, st -= st > 0 && (rnd() & 1);
            b[2 * (t * n + i)] = st;
            b[2 * (t * n + i) + 1] = st + k;
        }
    return b;
}

static int64_t *random_tables(int64_t a, int64_t n, int64_t tables)
{
    int64_t *b = (int64_t *)alloc_exact(2 * n * tables, sizeof(int64_t));
    int64_t i;
    for (i = 0; i < n * tables; i++) {
        const int64_t st = (int64_t)(rnd() % (uint32_t)a);
        b[2 * i] = st;
        b[2 * i + 1] = st + 1 + (int64_t)(rnd() % (uint32_t)(a - st));
    }
    return b;
}

/* A geometry whose rank axes take the bin tables tab[0, rank) (per plane:
 * plane stride 2 * out, else shared) and whose leading axes are extent-1
 * windows, given as a shared one-bin table when lead_table. */
static void make_bins_geom(cpool_geom *g, int rank, int64_t n, int64_t c, const int64_t *in,
                           const int64_t *out, int64_t *const *tab, int per_plane,
                           int lead_table, int channels_last)
{
    int a;
    memset(g, 0, sizeof(*g));
    g->n = n;
    g->c = c;
    g->channels_last = channels_last;
    for (a = 0; a < 3; a++) {
        const int j = a - (3 - rank);
        g->in[a] = j >= 0 ? in[j] : 1;
        g->out[a] = j >= 0 ? out[j] : 1;
        g->kernel[a] = g->stride[a] = g->dilation[a] = 1;
        if (j >= 0) {
            g->bins[a] = tab[j];
            g->bins_plane_stride[a] = per_plane ? 2 * out[j] : 0;
        } else if (lead_table) {
            g->bins[a] = ONE_BIN;
        }
    }
}

static void describe_win(const cpool_geom *g, const char *what, cpool_dtype dt)
{
    int a;
    char axes[3][48];
    for (a = 0; a < 3; a++) {
        if (g->bins[a])
            snprintf(axes[a], sizeof axes[a], "bins%s", g->bins_plane_stride[a] ? "/plane" : "");
        else
            snprintf(axes[a], sizeof axes[a], "k%lld s%lld p%lld d%lld", (long long)g->kernel[a],
                     (long long)g->stride[a], (long long)g->pad[a], (long long)g->dilation[a]);
    }
    snprintf(ctx, sizeof ctx,
             "%s %s n=%lld c=%lld in=%lldx%lldx%lld out=%lldx%lldx%lld [%s | %s | %s] ybs=%lld",
             what, dt_name(dt), (long long)g->n, (long long)g->c, (long long)g->in[0],
             (long long)g->in[1], (long long)g->in[2], (long long)g->out[0],
             (long long)g->out[1], (long long)g->out[2], axes[0], axes[1], axes[2],
             (long long)g->y_batch_stride);
}

/* Window o of axis a of plane pl for the references: [lo, hi) inside the
 * input, from the bin table when the axis has one, else the regular window
 * (dilation 1) clipped to the input. */
static void ref_window(const cpool_geom *g, int a, int64_t pl, int64_t o, int64_t *lo,
                       int64_t *hi)
{
    if (g->bins[a]) {
        const int64_t *b = g->bins[a] + pl * g->bins_plane_stride[a] + 2 * o;
        *lo = b[0];
        *hi = b[1];
    } else {
        const int64_t st = o * g->stride[a] - g->pad[a], en = st + g->kernel[a];
        *lo = st > 0 ? st : 0;
        *hi = en < g->in[a] ? en : g->in[a];
    }
}

/* Output q of a plane's (out[0], out[1], out[2]) block: its windows. */
static void ref_windows(const cpool_geom *g, int64_t pl, int64_t q, int64_t *lo, int64_t *hi)
{
    int64_t o[3];
    int a;
    o[0] = q / (g->out[1] * g->out[2]);
    o[1] = (q / g->out[2]) % g->out[1];
    o[2] = q % g->out[2];
    for (a = 0; a < 3; a++)
        ref_window(g, a, pl, o[a], &lo[a], &hi[a]);
}

/* In-plane offset of input position (i0, i1, i2). */
static int64_t plane_off(const cpool_geom *g, int64_t i0, int64_t i1, int64_t i2)
{
    return (i0 * g->in[1] + i1) * g->in[2] + i2;
}

/* Max over any windows (bin tables or regular, dilation 1), channels-first,
 * PyTorch's rule as ref_max. */
static void ref_max_win(cpool_dtype dt, const cpool_geom *g, const void *x, double *y,
                        int64_t *ind)
{
    const int64_t P = prod3(g->in), Q = prod3(g->out);
    int64_t pl, q, lo[3], hi[3], i0, i1, i2;
    for (pl = 0; pl < g->n * g->c; pl++)
        for (q = 0; q < Q; q++) {
            double m = lowest(dt);
            int64_t mi = -1;
            ref_windows(g, pl, q, lo, hi);
            for (i0 = lo[0]; i0 < hi[0]; i0++)
                for (i1 = lo[1]; i1 < hi[1]; i1++)
                    for (i2 = lo[2]; i2 < hi[2]; i2++) {
                        const int64_t off = plane_off(g, i0, i1, i2);
                        const double v = getv(dt, x, pl * P + off);
                        if (mi < 0)
                            mi = off;
                        if (v > m || v != v) {
                            m = v;
                            mi = off;
                        }
                    }
            y[pl * Q + q] = m;
            ind[pl * Q + q] = mi;
        }
}

/* Non-negative activations, about 40% zeros, the rest multiples of 1/4 in
 * (0, 4]: every sum and sum of squares is exact in double. */
static void fill_nonneg(cpool_dtype dt, void *x, int64_t count)
{
    int64_t i;
    for (i = 0; i < count; i++) {
        const uint32_t r = rnd() % 10;
        setv(dt, x, i, r < 4 ? 0.0 : (double)(rnd() % 16 + 1) * 0.25);
    }
}

/* ---- bin tables: max and average --------------------------------------- */

/* Max forward through any windows: channels-first with and without indices
 * against the reference; for shared tables also channels-last (equal to
 * channels-first); a per-plane table must be refused channels-last. */
static void case_max_win(cpool_dtype dt, const cpool_geom *gin)
{
    cpool_geom g = *gin, gl = *gin;
    const size_t es = esize(dt);
    const int64_t P = prod3(g.in), Q = prod3(g.out), planes = g.n * g.c;
    const int64_t nx = planes * P, ny = planes * Q;
    const int per_plane = g.bins_plane_stride[0] || g.bins_plane_stride[1] ||
                          g.bins_plane_stride[2];
    void *x = alloc_exact(nx, es), *y = alloc_exact(ny, es), *y2 = alloc_exact(ny, es);
    int64_t *ind = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    double *yref = (double *)xmalloc((size_t)ny * sizeof(double));
    int64_t *iref = (int64_t *)xmalloc((size_t)ny * sizeof(int64_t));
    int64_t q;

    g.channels_last = 0;
    gl.channels_last = 1;
    describe_win(&g, "max(win)", dt);
    fill_max_input(dt, x, nx, 1);
    CHECK(cpool_geom_check(&g) == CPOOL_OK);
    CHECK(cpool_max_pool_fwd(dt, &g, x, y, ind) == CPOOL_OK);
    CHECK(cpool_max_pool_fwd(dt, &g, x, y2, NULL) == CPOOL_OK);
    ref_max_win(dt, &g, x, yref, iref);
    for (q = 0; q < ny; q++) {
        CHECK(same(getv(dt, y, q), yref[q]));
        CHECK(ind[q] == iref[q]);
        CHECK(same(getv(dt, y2, q), yref[q]));
    }

    if (per_plane) { /* max alone takes them channels-last */
        describe_win(&gl, "max(win) per-plane cl: geom_check refuses", dt);
        CHECK(cpool_geom_check(&gl) == CPOOL_EINVAL);
    }
    {
        void *xl = alloc_exact(nx, es), *yl = alloc_exact(ny, es), *yl2 = alloc_exact(ny, es);
        void *yt = alloc_exact(ny, es);
        int64_t *indl = (int64_t *)alloc_exact(ny, sizeof(int64_t));
        int64_t *indt = (int64_t *)alloc_exact(ny, sizeof(int64_t));
        describe_win(&gl, "max(win)", dt);
        to_cl(es, g.n, g.c, P, x, xl);
        CHECK(cpool_max_pool_fwd(dt, &gl, xl, yl, indl) == CPOOL_OK);
        CHECK(cpool_max_pool_fwd(dt, &gl, xl, yl2, NULL) == CPOOL_OK);
        to_cf(es, g.n, g.c, Q, yl, yt);
        to_cf(sizeof(int64_t), g.n, g.c, Q, indl, indt);
        for (q = 0; q < ny; q++) {
            CHECK(same(getv(dt, yt, q), yref[q]));
            CHECK(indt[q] == iref[q]);
            CHECK(same(getv(dt, yl2, q), getv(dt, yl, q)));
        }
        free(xl);
        free(yl);
        free(yl2);
        free(yt);
        free(indl);
        free(indt);
    }
    free(x);
    free(y);
    free(y2);
    free(ind);
    free(yref);
    free(iref);
}

/* Average forward and backward through shared bin tables, both layouts,
 * against a reference that rounds like T: the forward sums in T (exact
 * here: small integers) and divides by each axis's extent in turn; the
 * backward adds grad / kd / kh / kw to each element in output order. */
static void case_avg_bins(cpool_dtype dt, const cpool_geom *gin)
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
    int64_t pl, q, lo[3], hi[3], i0, i1, i2;

    g.channels_last = 0;
    gl.channels_last = 1;
    describe_win(&g, "avg(bins)", dt);
    fill_small(dt, x, nx);
    fill_small(dt, gy, ny);
    to_cl(es, g.n, g.c, P, x, xl);
    to_cl(es, g.n, g.c, Q, gy, gyl);
    /* count_include_pad means nothing for a bin table: both values given */
    CHECK(cpool_avg_pool_fwd(dt, &g, x, y, 0, 0) == CPOOL_OK);
    CHECK(cpool_avg_pool_fwd(dt, &gl, xl, yl, 1, 0) == CPOOL_OK);
    CHECK(cpool_avg_pool_bwd(dt, &g, gy, gx, 1, 0) == CPOOL_OK);
    CHECK(cpool_avg_pool_bwd(dt, &gl, gyl, gxl, 0, 0) == CPOOL_OK);

    for (q = 0; q < nx; q++)
        gref[q] = 0;
    for (pl = 0; pl < planes; pl++)
        for (q = 0; q < Q; q++) {
            double s = 0, share;
            ref_windows(&g, pl, q, lo, hi);
            for (i0 = lo[0]; i0 < hi[0]; i0++)
                for (i1 = lo[1]; i1 < hi[1]; i1++)
                    for (i2 = lo[2]; i2 < hi[2]; i2++)
                        s += getv(dt, x, pl * P + plane_off(&g, i0, i1, i2));
            yref[pl * Q + q] = rt(dt, rt(dt, rt(dt, s / (double)(hi[0] - lo[0])) /
                                                 (double)(hi[1] - lo[1])) /
                                      (double)(hi[2] - lo[2]));
            share = rt(dt, rt(dt, rt(dt, getv(dt, gy, pl * Q + q) / (double)(hi[0] - lo[0])) /
                                      (double)(hi[1] - lo[1])) /
                           (double)(hi[2] - lo[2]));
            for (i0 = lo[0]; i0 < hi[0]; i0++)
                for (i1 = lo[1]; i1 < hi[1]; i1++)
                    for (i2 = lo[2]; i2 < hi[2]; i2++) {
                        const int64_t i = pl * P + plane_off(&g, i0, i1, i2);
                        gref[i] = rt(dt, gref[i] + share);
                    }
        }
    to_cf(es, g.n, g.c, Q, yl, yt);
    to_cf(es, g.n, g.c, P, gxl, gxt);
    for (q = 0; q < ny; q++) {
        CHECK(getv(dt, y, q) == yref[q]);
        CHECK(getv(dt, yt, q) == yref[q]);
    }
    for (q = 0; q < nx; q++) {
        CHECK(getv(dt, gx, q) == gref[q]);
        CHECK(getv(dt, gxt, q) == gref[q]);
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
}

static const cpool_dtype MAX_WIN_DTYPES[] = {CPOOL_F32, CPOOL_F64, CPOOL_I8, CPOOL_U8};
#define N_MAX_WIN ((int)(sizeof(MAX_WIN_DTYPES) / sizeof(MAX_WIN_DTYPES[0])))

static void test_bins(void)
{
    /* adaptive (rank, in, out): overlapping bins, bins that are regular
     * windows (the kernels then take their regular paths; along W only for
     * extents <= 3), out > in, one bin over the whole axis */
    static const struct {
        int rank;
        int64_t in[3], out[3];
    } shared[] = {
        {1, {7}, {3}},          {1, {8}, {4}},          {1, {5}, {8}},
        {1, {13}, {1}},         {2, {6, 9}, {3, 3}},    {2, {7, 5}, {3, 4}},
        {2, {12, 8}, {3, 2}},   {2, {4, 4}, {4, 4}},    {2, {3, 10}, {5, 3}},
        {3, {5, 6, 7}, {2, 3, 4}}, {3, {4, 4, 6}, {2, 2, 3}},
        /* windows 6-8 wide and tall, not regular: cpool_bins8 */
        {2, {13, 13}, {2, 2}},  {2, {15, 20}, {2, 3}},  {2, {13, 17}, {2, 3}},
    };
    static const struct {
        int rank;
        int64_t in[3], out[3];
    } per_plane[] = {
        {1, {9}, {4}}, {2, {7, 5}, {3, 4}}, {2, {6, 9}, {4, 5}}, {3, {4, 5, 6}, {2, 3, 3}},
    };
    const int64_t n = 2, c = 3;
    /* 2 x 9 planes: channels-first takes the tile path (16 planes a tile, one
     * partial), 2 x 3 the row kernels */
    static const int64_t channels[] = {3, 9};
    int ci, lead, t, j, cc;
    cpool_geom g;
    for (cc = 0; cc < 2; cc++)
        for (ci = 0; ci < (int)(sizeof shared / sizeof shared[0]); ci++)
            for (lead = 0; lead <= (shared[ci].rank < 3); lead++) {
                int64_t *tab[3] = {NULL, NULL, NULL};
                for (j = 0; j < shared[ci].rank; j++)
                    tab[j] = adaptive_table(shared[ci].in[j], shared[ci].out[j]);
                make_bins_geom(&g, shared[ci].rank, n, channels[cc], shared[ci].in,
                               shared[ci].out, tab, 0, lead, 0);
                for (t = 0; t < N_MAX_WIN; t++)
                    case_max_win(MAX_WIN_DTYPES[t], &g);
                for (t = 0; t < N_FLOAT; t++)
                    case_avg_bins(FLOAT_DTYPES[t], &g);
                for (j = 0; j < 3; j++)
                    free(tab[j]);
            }

    /* regular windows with output rows under 8 columns on 18 planes: the
     * tile path too (padding, dilation, ceil mode) */
    {
        const int64_t in[2] = {9, 11}, k3[2] = {3, 3}, s2[2] = {2, 2}, p1[2] = {1, 1};
        const int64_t d1[2] = {1, 1}, d2[2] = {2, 2};
        int ceil;
        for (ceil = 0; ceil <= 1; ceil++) {
            if (make_geom(&g, 2, 2, 9, in, k3, s2, p1, d1, ceil, 0)) {
                all_max(&g, 1);
                all_avg(&g, 1);
            }
            if (make_geom(&g, 2, 2, 9, in, k3, s2, p1, d2, ceil, 0))
                all_max(&g, 1);
        }
    }

    /* per-plane tables (channels-first only; max only) */
    for (ci = 0; ci < (int)(sizeof per_plane / sizeof per_plane[0]); ci++)
        for (lead = 0; lead <= (per_plane[ci].rank < 3); lead++) {
            int64_t *tab[3] = {NULL, NULL, NULL};
            for (j = 0; j < per_plane[ci].rank; j++)
                tab[j] = random_tables(per_plane[ci].in[j], per_plane[ci].out[j], n * c);
            make_bins_geom(&g, per_plane[ci].rank, n, c, per_plane[ci].in, per_plane[ci].out,
                           tab, 1, lead, 0);
            for (t = 0; t < N_MAX_WIN; t++)
                case_max_win(MAX_WIN_DTYPES[t], &g);
            for (j = 0; j < 3; j++)
                free(tab[j]);
        }

    /* per-plane windows of one width, the width given as the kernel:
     * fractional pooling's tables; with a row of starts that spans more than
     * one run of 256 columns, and starts in any order */
    {
        static const struct {
            int rank;
            int64_t in[3], out[3], k[3];
            int sorted;
        } fixed[] = {
            {2, {7, 9}, {4, 5}, {2, 2}, 1},        {2, {9, 12}, {3, 4}, {3, 4}, 1},
            {2, {5, 600}, {2, 300}, {2, 3}, 1},     {2, {4, 700}, {3, 90}, {1, 2}, 0},
            {1, {30}, {12}, {2}, 0},                {3, {4, 6, 9}, {2, 3, 5}, {2, 3, 2}, 1},
            {2, {6, 40}, {3, 17}, {2, 5}, 0},
        };
        for (ci = 0; ci < (int)(sizeof fixed / sizeof fixed[0]); ci++) {
            int64_t *tab[3] = {NULL, NULL, NULL};
            const int r = fixed[ci].rank;
            for (j = 0; j < r; j++)
                tab[j] = fixed_tables(fixed[ci].in[j], fixed[ci].out[j], n * c, fixed[ci].k[j],
                                      fixed[ci].sorted);
            make_bins_geom(&g, r, n, c, fixed[ci].in, fixed[ci].out, tab, 1, 0, 0);
            for (j = 0; j < r; j++)
                g.kernel[3 - r + j] = fixed[ci].k[j];
            for (t = 0; t < N_MAX_WIN; t++)
                case_max_win(MAX_WIN_DTYPES[t], &g);
            for (j = 0; j < 3; j++)
                free(tab[j]);
        }
    }

    /* more than 256 channels (the channels-last chunk), and bins on H with
     * a regular padded window along W */
    {
        const int64_t in[2] = {5, 4}, out[2] = {2, 3};
        int64_t *tab[3] = {NULL, NULL, NULL};
        tab[0] = adaptive_table(in[0], out[0]);
        tab[1] = adaptive_table(in[1], out[1]);
        make_bins_geom(&g, 2, 1, 260, in, out, tab, 0, 0, 0);
        case_max_win(CPOOL_F32, &g);
        case_max_win(CPOOL_U8, &g);
        case_avg_bins(CPOOL_F32, &g);
        make_bins_geom(&g, 2, 2, 3, in, out, tab, 0, 0, 0);
        g.bins[2] = NULL;
        g.kernel[2] = 3;
        g.stride[2] = 2;
        g.pad[2] = 1;
        g.in[2] = 9;
        g.out[2] = out_size(9, 3, 2, 1, 1, 0);
        for (t = 0; t < N_MAX_WIN; t++)
            case_max_win(MAX_WIN_DTYPES[t], &g);
        free(tab[0]);
        free(tab[1]);
    }
}

/* cpool_geom_check on bin tables: every bin non-empty inside its axis, in
 * every plane's table; per-plane tables channels-first only; plane stride 0
 * or 2 * out; dilation 1.  And the families that take no (or no per-plane)
 * tables refuse them. */
static void test_bins_geom_check(void)
{
    const int64_t in[2] = {5, 6}, out[2] = {3, 4}, n = 2, c = 2, planes = 4;
    const int64_t nx = planes * 30, ny = planes * 12;
    float *x = (float *)alloc_exact(nx, sizeof(float)), *y = (float *)alloc_exact(ny, sizeof(float));
    float *gx = (float *)alloc_exact(nx, sizeof(float));
    int64_t *ind = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    int64_t *shared[3] = {NULL, NULL, NULL}, *pp[3] = {NULL, NULL, NULL};
    cpool_geom g;
    int axis, variant, cl, j;
    memset(x, 0, (size_t)nx * sizeof(float));
    for (j = 0; j < 2; j++) {
        shared[j] = adaptive_table(in[j], out[j]);
        pp[j] = random_tables(in[j], out[j], planes);
    }
    for (cl = 0; cl <= 1; cl++) {
        make_bins_geom(&g, 2, n, c, in, out, shared, 0, 1, cl);
        snprintf(ctx, sizeof ctx, "bins geom_check shared base %s", cl ? "cl" : "cf");
        CHECK(cpool_geom_check(&g) == CPOOL_OK);
        make_bins_geom(&g, 2, n, c, in, out, pp, 1, 1, cl);
        snprintf(ctx, sizeof ctx, "bins geom_check per-plane base %s", cl ? "cl" : "cf");
        CHECK(cpool_geom_check(&g) == (cl ? CPOOL_EINVAL : CPOOL_OK));
        CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_OK);
        CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, x, y, 1, 0) == CPOOL_EINVAL);
        /* a bin of another width than the kernel that promises one */
        g.kernel[1] = pp[0][1] - pp[0][0] + 1;
        CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_EINVAL);
        g.kernel[1] = 1;
        /* the slice form of y is channels-first only */
        g.y_batch_stride = c * out[0] * out[1];
        CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == (cl ? CPOOL_EINVAL : CPOOL_OK));
    }

    /* bad bins: in axis 1 or 2 (the table axes), in the shared table, or in
     * the last plane's per-plane table */
    for (axis = 1; axis <= 2; axis++)
        for (variant = 0; variant < 6; variant++)
            for (j = 0; j <= 1; j++) {
                static const char *names[] = {"start == end", "start > end", "end > in",
                                              "start < 0",    "both < 0",    "end == 0"};
                const int64_t L = in[axis - 1], O = out[axis - 1];
                const int64_t tables = j ? planes : 1, at = 2 * O * (tables - 1) + 2 * (O - 1);
                int64_t *bad = (int64_t *)alloc_exact(2 * O * tables, sizeof(int64_t));
                int64_t *tab[3] = {NULL, NULL, NULL};
                memcpy(bad, j ? pp[axis - 1] : shared[axis - 1],
                       (size_t)(2 * O * tables) * sizeof(int64_t));
                switch (variant) {
                case 0: bad[at + 1] = bad[at]; break;
                case 1: bad[at] = 3; bad[at + 1] = 1; break;
                case 2: bad[at + 1] = L + 1; break;
                case 3: bad[at] = -1; break;
                case 4: bad[at] = -3; bad[at + 1] = -1; break;
                case 5: bad[at] = 0; bad[at + 1] = 0; break;
                }
                tab[0] = shared[0];
                tab[1] = shared[1];
                if (j) {
                    tab[0] = pp[0];
                    tab[1] = pp[1];
                }
                tab[axis - 1] = bad;
                for (cl = 0; cl <= 1; cl++) {
                    make_bins_geom(&g, 2, n, c, in, out, tab, j, 0, cl);
                    snprintf(ctx, sizeof ctx, "bins geom_check %s axis %d %s %s", names[variant],
                             axis, j ? "per-plane" : "shared", cl ? "cl" : "cf");
                    CHECK(cpool_geom_check(&g) == CPOOL_EINVAL);
                    CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_EINVAL);
                    CHECK(cpool_max_pool_fwd(CPOOL_U8, &g, x, y, NULL) == CPOOL_EINVAL);
                    CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, x, y, 0, 0) == CPOOL_EINVAL);
                    CHECK(cpool_avg_pool_bwd(CPOOL_F32, &g, y, gx, 0, 0) == CPOOL_EINVAL);
                }
                free(bad);
            }

    /* plane strides other than 0 and 2 * out; dilation with a table */
    for (cl = 0; cl <= 1; cl++) {
        const int64_t strides[4] = {1, 2 * 4 + 2, -2 * 4, 2 * 3};
        int si;
        for (si = 0; si < 4; si++) {
            make_bins_geom(&g, 2, n, c, in, out, pp, 1, 0, cl);
            g.bins_plane_stride[2] = strides[si];
            snprintf(ctx, sizeof ctx, "bins geom_check plane stride %lld %s",
                     (long long)strides[si], cl ? "cl" : "cf");
            CHECK(cpool_geom_check(&g) == CPOOL_EINVAL);
            CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_EINVAL);
        }
        make_bins_geom(&g, 2, n, c, in, out, shared, 0, 0, cl);
        g.dilation[1] = 2;
        snprintf(ctx, sizeof ctx, "bins geom_check dilation 2 %s", cl ? "cl" : "cf");
        CHECK(cpool_geom_check(&g) == CPOOL_EINVAL);
        CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_EINVAL);
        CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, x, y, 0, 0) == CPOOL_EINVAL);
    }

    /* Families without (per-plane) tables refuse them. */
    make_bins_geom(&g, 2, n, c, in, out, pp, 1, 0, 0);
    snprintf(ctx, sizeof ctx, "per-plane bins refused by avg / lp / stochastic");
    CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, x, y, 0, 0) == CPOOL_EINVAL);
    CHECK(cpool_avg_pool_bwd(CPOOL_F32, &g, y, gx, 0, 0) == CPOOL_EINVAL);
    CHECK(cpool_lp_pool_fwd(CPOOL_F32, &g, x, y, 2.0) == CPOOL_EINVAL);
    CHECK(cpool_stochastic_pool_fwd(CPOOL_F32, &g, x, y, ind, 1, 1, NULL) == CPOOL_EINVAL);
    make_bins_geom(&g, 2, n, c, in, out, shared, 0, 0, 0);
    snprintf(ctx, sizeof ctx, "shared bins refused by lp / stochastic");
    CHECK(cpool_lp_pool_fwd(CPOOL_F32, &g, x, y, 2.0) == CPOOL_EINVAL);
    CHECK(cpool_lp_pool_bwd(CPOOL_F32, &g, y, x, y, gx, 2.0) == CPOOL_EINVAL);
    CHECK(cpool_stochastic_pool_fwd(CPOOL_F32, &g, x, y, ind, 1, 1, NULL) == CPOOL_EINVAL);
    CHECK(cpool_stochastic_pool_fwd(CPOOL_F32, &g, x, y, NULL, 0, 1, NULL) == CPOOL_EINVAL);

    for (j = 0; j < 2; j++) {
        free(shared[j]);
        free(pp[j]);
    }
    free(x);
    free(y);
    free(gx);
    free(ind);
}

/* ---- y_batch_stride ---------------------------------------------------- */

#define WIDE_SENTINEL 77.0
#define WIDE_IND_SENTINEL ((int64_t)-7777)

/* Channels-first forward of family fam (0 max, 1 avg, 2 Lp p=2, 3 stochastic
 * training) into y with y_batch_stride c * prod(out) + extra, indices too;
 * the buffers end at the last batch entry's last element.  The gaps keep
 * their sentinel, the rest equals the contiguous call. */
static void case_wide(int fam, cpool_dtype dt, const cpool_geom *gin, int64_t extra)
{
    static const char *fams[] = {"max", "avg", "lp", "stochastic"};
    cpool_geom g = *gin, gw = *gin;
    const size_t es = esize(dt);
    const int64_t P = prod3(g.in), Q = prod3(g.out), per = g.c * Q;
    const int64_t nx = g.n * g.c * P, ny = g.n * per, ybs = per + extra;
    const int64_t nw = (g.n - 1) * ybs + per;
    const int with_ind = fam == 0 || fam == 3;
    void *x = alloc_exact(nx, es), *y = alloc_exact(ny, es), *yw = alloc_exact(nw, es);
    void *yw2 = alloc_exact(nw, es);
    int64_t *ind = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    int64_t *indw = (int64_t *)alloc_exact(nw, sizeof(int64_t));
    int64_t b, i;
    char what[64];

    g.channels_last = gw.channels_last = 0;
    g.y_batch_stride = 0;
    gw.y_batch_stride = ybs;
    snprintf(what, sizeof what, "wide %s", fams[fam]);
    describe_win(&gw, what, dt);
    if (fam == 0)
        fill_max_input(dt, x, nx, 1);
    else if (fam == 1)
        fill_small(dt, x, nx);
    else
        fill_nonneg(dt, x, nx);
    for (i = 0; i < nw; i++) {
        setv(dt, yw, i, WIDE_SENTINEL);
        setv(dt, yw2, i, WIDE_SENTINEL);
        indw[i] = WIDE_IND_SENTINEL;
    }
    CHECK(cpool_geom_check(&gw) == CPOOL_OK);
    switch (fam) {
    case 0:
        CHECK(cpool_max_pool_fwd(dt, &g, x, y, ind) == CPOOL_OK);
        CHECK(cpool_max_pool_fwd(dt, &gw, x, yw, indw) == CPOOL_OK);
        CHECK(cpool_max_pool_fwd(dt, &gw, x, yw2, NULL) == CPOOL_OK);
        break;
    case 1:
        CHECK(cpool_avg_pool_fwd(dt, &g, x, y, 1, 0) == CPOOL_OK);
        CHECK(cpool_avg_pool_fwd(dt, &gw, x, yw, 1, 0) == CPOOL_OK);
        CHECK(cpool_avg_pool_fwd(dt, &gw, x, yw2, 0, 3) == CPOOL_OK);
        break;
    case 2:
        CHECK(cpool_lp_pool_fwd(dt, &g, x, y, 2.0) == CPOOL_OK);
        CHECK(cpool_lp_pool_fwd(dt, &gw, x, yw, 2.0) == CPOOL_OK);
        CHECK(cpool_lp_pool_fwd(dt, &gw, x, yw2, 2.0) == CPOOL_OK);
        break;
    case 3:
        CHECK(cpool_stochastic_pool_fwd(dt, &g, x, y, ind, 1, 99, NULL) == CPOOL_OK);
        CHECK(cpool_stochastic_pool_fwd(dt, &gw, x, yw, indw, 1, 99, NULL) == CPOOL_OK);
        CHECK(cpool_stochastic_pool_fwd(dt, &gw, x, yw2, NULL, 1, 99, NULL) == CPOOL_OK);
        break;
    }
    for (b = 0; b < g.n; b++)
        for (i = 0; i < ybs && b * ybs + i < nw; i++) {
            const int64_t at = b * ybs + i;
            if (i < per) {
                CHECK(same(getv(dt, yw, at), getv(dt, y, b * per + i)));
                if (fam != 1)
                    CHECK(same(getv(dt, yw2, at), getv(dt, y, b * per + i)));
                if (with_ind)
                    CHECK(indw[at] == ind[b * per + i]);
                else
                    CHECK(indw[at] == WIDE_IND_SENTINEL);
            } else {
                CHECK(getv(dt, yw, at) == WIDE_SENTINEL);
                CHECK(getv(dt, yw2, at) == WIDE_SENTINEL);
                CHECK(indw[at] == WIDE_IND_SENTINEL);
            }
        }
    free(x);
    free(y);
    free(yw);
    free(yw2);
    free(ind);
    free(indw);
}

static void test_y_batch_stride(void)
{
    const int64_t in[2] = {5, 6}, k[2] = {3, 2}, s[2] = {2, 2}, p[2] = {1, 0}, p0[2] = {0, 0};
    const int64_t d[2] = {1, 1}, bin_in[2] = {7, 5}, bin_out[2] = {3, 4};
    const int64_t wide_in[2] = {13, 13}, wide_out[2] = {2, 2}, extras[2] = {0, 5};
    int64_t *tab[3] = {NULL, NULL, NULL}, *wide[3] = {NULL, NULL, NULL};
    cpool_geom g;
    int gi, ei, t;
    tab[0] = adaptive_table(bin_in[0], bin_out[0]);
    tab[1] = adaptive_table(bin_in[1], bin_out[1]);
    wide[0] = adaptive_table(wide_in[0], wide_out[0]);
    wide[1] = adaptive_table(wide_in[1], wide_out[1]);
    for (gi = 0; gi < 5; gi++) {
        /* padded, unpadded (ceil mode), adaptive bins, per-plane bins, bins
         * for cpool_bins8 (7 x 7) */
        int64_t *pp[3] = {NULL, NULL, NULL};
        if (gi == 0)
            CHECK(make_geom(&g, 2, 3, 2, in, k, s, p, d, 0, 0));
        else if (gi == 1)
            CHECK(make_geom(&g, 2, 3, 2, in, k, s, p0, d, 1, 0));
        else if (gi == 2)
            make_bins_geom(&g, 2, 3, 2, bin_in, bin_out, tab, 0, 0, 0);
        else if (gi == 4)
            make_bins_geom(&g, 2, 3, 2, wide_in, wide_out, wide, 0, 0, 0);
        else {
            pp[0] = random_tables(bin_in[0], bin_out[0], 6);
            pp[1] = random_tables(bin_in[1], bin_out[1], 6);
            make_bins_geom(&g, 2, 3, 2, bin_in, bin_out, pp, 1, 0, 0);
        }
        for (ei = 0; ei < 2; ei++) {
            for (t = 0; t < N_MAX_WIN; t++)
                case_wide(0, MAX_WIN_DTYPES[t], &g, extras[ei]);
            for (t = 0; t < N_FLOAT && gi < 3; t++)
                case_wide(1, FLOAT_DTYPES[t], &g, extras[ei]);
            for (t = 0; t < N_FLOAT && gi == 1; t++)
                case_wide(2, FLOAT_DTYPES[t], &g, extras[ei]);
            for (t = 0; t < N_FLOAT && gi < 2; t++)
                case_wide(3, FLOAT_DTYPES[t], &g, extras[ei]);
        }
        free(pp[0]);
        free(pp[1]);
    }

    /* cpool_geom_check: too small a stride, or channels-last, is refused */
    CHECK(make_geom(&g, 2, 3, 2, in, k, s, p, d, 0, 0));
    snprintf(ctx, sizeof ctx, "y_batch_stride geom_check");
    g.y_batch_stride = g.c * prod3(g.out);
    CHECK(cpool_geom_check(&g) == CPOOL_OK);
    g.y_batch_stride = g.c * prod3(g.out) - 1;
    CHECK(cpool_geom_check(&g) == CPOOL_EINVAL);
    g.y_batch_stride = -1;
    CHECK(cpool_geom_check(&g) == CPOOL_EINVAL);
    g.y_batch_stride = g.c * prod3(g.out) + 5;
    g.channels_last = 1;
    CHECK(cpool_geom_check(&g) == CPOOL_EINVAL);
    {
        float x[180], y[64];
        int64_t ind[64];
        memset(x, 0, sizeof x);
        CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_EINVAL);
        CHECK(cpool_avg_pool_fwd(CPOOL_F32, &g, x, y, 0, 0) == CPOOL_EINVAL);
        CHECK(cpool_stochastic_pool_fwd(CPOOL_F32, &g, x, y, ind, 1, 1, NULL) == CPOOL_EINVAL);
    }
    free(tab[0]);
    free(tab[1]);
    free(wide[0]);
    free(wide[1]);
}

/* ---- Lp pooling -------------------------------------------------------- */

/* Forward and backward, both layouts, against (sum of x^p)^(1/p) over each
 * window (a ceil-mode partial window sums only its own elements) and its
 * gradient x^(p-1) * sum of grad_y * y^(1-p), windows with y == 0 skipped.
 * Non-negative input, the first plane all zero (every y 0 there). */
static void case_lp(cpool_dtype dt, const cpool_geom *gin, double p)
{
    cpool_geom g = *gin, gl = *gin;
    const size_t es = esize(dt);
    const int64_t P = prod3(g.in), Q = prod3(g.out), planes = g.n * g.c;
    const int64_t nx = planes * P, ny = planes * Q;
    const double u = unit_roundoff(dt);
    void *x = alloc_exact(nx, es), *xl = alloc_exact(nx, es);
    void *y = alloc_exact(ny, es), *yl = alloc_exact(ny, es), *yt = alloc_exact(ny, es);
    void *gy = alloc_exact(ny, es), *gyl = alloc_exact(ny, es);
    void *gx = alloc_exact(nx, es), *gxl = alloc_exact(nx, es), *gxt = alloc_exact(nx, es);
    double *acc = (double *)xmalloc((size_t)nx * sizeof(double));
    double *aabs = (double *)xmalloc((size_t)nx * sizeof(double));
    int64_t *cnt = (int64_t *)xmalloc((size_t)nx * sizeof(int64_t));
    int64_t pl, q, lo[3], hi[3], i0, i1, i2;
    char what[48];

    g.channels_last = 0;
    gl.channels_last = 1;
    snprintf(what, sizeof what, "lp p=%g", p);
    describe(&g, what, dt);
    for (q = 0; q < nx; q++)
        setv(dt, x, q, q < P ? 0.0 : (double)(rnd() % 9) * 0.5);
    fill_small(dt, gy, ny);
    to_cl(es, g.n, g.c, P, x, xl);
    to_cl(es, g.n, g.c, Q, gy, gyl);
    CHECK(cpool_lp_pool_fwd(dt, &g, x, y, p) == CPOOL_OK);
    CHECK(cpool_lp_pool_fwd(dt, &gl, xl, yl, p) == CPOOL_OK);
    CHECK(cpool_lp_pool_bwd(dt, &g, gy, x, y, gx, p) == CPOOL_OK);
    CHECK(cpool_lp_pool_bwd(dt, &gl, gyl, xl, yl, gxl, p) == CPOOL_OK);
    to_cf(es, g.n, g.c, Q, yl, yt);
    to_cf(es, g.n, g.c, P, gxl, gxt);

    for (q = 0; q < nx; q++) {
        acc[q] = 0;
        aabs[q] = 0;
        cnt[q] = 0;
    }
    for (pl = 0; pl < planes; pl++)
        for (q = 0; q < Q; q++) {
            const double got = getv(dt, y, pl * Q + q);
            double s = 0, want, share;
            int64_t taps = 0;
            ref_windows(&g, pl, q, lo, hi);
            for (i0 = lo[0]; i0 < hi[0]; i0++)
                for (i1 = lo[1]; i1 < hi[1]; i1++)
                    for (i2 = lo[2]; i2 < hi[2]; i2++, taps++)
                        s += pow(getv(dt, x, pl * P + plane_off(&g, i0, i1, i2)), p);
            want = pow(s, 1.0 / p);
            CHECK(taps > 0);
            CHECK(fabs(got - want) <= 4.0 * (double)(taps + 4) * u * want);
            CHECK(getv(dt, yt, pl * Q + q) == got); /* both layouts, the same bits */
            if (pl == 0)
                CHECK(got == 0);
            if (got == 0)
                continue;
            /* the backward reference from the kernel's own y */
            share = getv(dt, gy, pl * Q + q) * pow(got, 1.0 - p);
            for (i0 = lo[0]; i0 < hi[0]; i0++)
                for (i1 = lo[1]; i1 < hi[1]; i1++)
                    for (i2 = lo[2]; i2 < hi[2]; i2++) {
                        const int64_t i = pl * P + plane_off(&g, i0, i1, i2);
                        acc[i] += share;
                        aabs[i] += fabs(share);
                        cnt[i]++;
                    }
        }
    for (q = 0; q < nx; q++) {
        const double xp = p == 1 ? 1.0 : pow(getv(dt, x, q), p - 1);
        const double got = getv(dt, gx, q);
        CHECK(isfinite(got));
        CHECK(fabs(got - xp * acc[q]) <= 4.0 * (double)(cnt[q] + 6) * u * xp * aabs[q]);
        CHECK(getv(dt, gxt, q) == got);
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
    free(acc);
    free(aabs);
    free(cnt);
}

static void test_lp(void)
{
    static const struct {
        int rank;
        int64_t in[3], k[3], s[3];
    } cases[] = {
        {1, {7}, {3}, {2}},          {1, {9}, {2}, {2}},          {1, {601}, {3}, {2}},
        {2, {5, 7}, {2, 3}, {2, 2}}, {2, {4, 6}, {3, 2}, {1, 2}}, {3, {3, 4, 5}, {2, 2, 3}, {2, 2, 2}},
    };
    static const double ps[3] = {1.0, 2.0, 3.5};
    const int64_t zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    int ci, ceil, pi, t;
    cpool_geom g;
    for (ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++)
        for (ceil = 0; ceil <= 1; ceil++) {
            if (!make_geom(&g, cases[ci].rank, 2, 3, cases[ci].in, cases[ci].k, cases[ci].s,
                           zero, one, ceil, 0))
                continue;
            for (pi = 0; pi < 3; pi++)
                for (t = 0; t < N_FLOAT; t++)
                    case_lp(FLOAT_DTYPES[t], &g, ps[pi]);
        }
}

/* p must be finite and nonzero, no padding or dilation, float types only. */
static void test_lp_errors(void)
{
    const int64_t in[2] = {4, 5}, k[2] = {2, 2}, s[2] = {2, 2}, p0[2] = {0, 0}, p1[2] = {1, 1};
    const int64_t d1[2] = {1, 1}, d2[2] = {2, 1};
    const double bad_p[4] = {0.0, NAN, INFINITY, -INFINITY};
    double *x = (double *)alloc_exact(20, sizeof(double)), *y = (double *)alloc_exact(6, sizeof(double));
    double *gy = (double *)alloc_exact(6, sizeof(double)), *gx = (double *)alloc_exact(20, sizeof(double));
    cpool_geom g;
    int i, cl;
    for (i = 0; i < 20; i++)
        x[i] = 1.0 + i;
    for (i = 0; i < 6; i++)
        gy[i] = 1.0;
    for (cl = 0; cl <= 1; cl++) {
        CHECK(make_geom(&g, 2, 1, 1, in, k, s, p0, d1, 1, cl));
        for (i = 0; i < 4; i++) {
            snprintf(ctx, sizeof ctx, "lp p=%g refused %s", bad_p[i], cl ? "cl" : "cf");
            CHECK(cpool_lp_pool_fwd(CPOOL_F64, &g, x, y, bad_p[i]) == CPOOL_EINVAL);
            CHECK(cpool_lp_pool_bwd(CPOOL_F64, &g, gy, x, y, gx, bad_p[i]) == CPOOL_EINVAL);
            CHECK(cpool_lp_pool_fwd(CPOOL_F32, &g, x, y, bad_p[i]) == CPOOL_EINVAL);
        }
        snprintf(ctx, sizeof ctx, "lp dtype refused %s", cl ? "cl" : "cf");
        CHECK(cpool_lp_pool_fwd(CPOOL_I32, &g, x, y, 2.0) == CPOOL_EDTYPE);
        CHECK(cpool_lp_pool_bwd(CPOOL_I32, &g, gy, x, y, gx, 2.0) == CPOOL_EDTYPE);
        CHECK(cpool_lp_pool_fwd((cpool_dtype)99, &g, x, y, 2.0) == CPOOL_EDTYPE);
        snprintf(ctx, sizeof ctx, "lp p=-1 accepted %s", cl ? "cl" : "cf");
        CHECK(cpool_lp_pool_fwd(CPOOL_F64, &g, x, y, -1.0) == CPOOL_OK);
        CHECK(make_geom(&g, 2, 1, 1, in, k, s, p1, d1, 0, cl));
        snprintf(ctx, sizeof ctx, "lp padding refused %s", cl ? "cl" : "cf");
        CHECK(cpool_lp_pool_fwd(CPOOL_F64, &g, x, y, 2.0) == CPOOL_EINVAL);
        CHECK(cpool_lp_pool_bwd(CPOOL_F64, &g, gy, x, y, gx, 2.0) == CPOOL_EINVAL);
        CHECK(make_geom(&g, 2, 1, 1, in, k, s, p0, d2, 0, cl));
        snprintf(ctx, sizeof ctx, "lp dilation refused %s", cl ? "cl" : "cf");
        CHECK(cpool_lp_pool_fwd(CPOOL_F64, &g, x, y, 2.0) == CPOOL_EINVAL);
        CHECK(cpool_lp_pool_bwd(CPOOL_F64, &g, gy, x, y, gx, 2.0) == CPOOL_EINVAL);
    }
    free(x);
    free(y);
    free(gy);
    free(gx);
}

/* ---- global pooling ---------------------------------------------------- */

/* y is n x c in both layouts: max by PyTorch's rule, average as the double
 * sum / S rounded once to T. */
static void case_global(cpool_dtype dt, int64_t n, int64_t c, const int64_t *in3, int is_max)
{
    cpool_geom g, gl;
    const size_t es = esize(dt);
    const int64_t S = prod3(in3), planes = n * c, nx = planes * S;
    void *x = alloc_exact(nx, es), *xl = alloc_exact(nx, es);
    void *y = alloc_exact(planes, es), *yl = alloc_exact(planes, es);
    int64_t pl, i;
    int a;
    memset(&g, 0, sizeof g);
    g.n = n;
    g.c = c;
    for (a = 0; a < 3; a++) {
        g.in[a] = in3[a];
        g.out[a] = 1;
        g.kernel[a] = in3[a];
        g.stride[a] = g.dilation[a] = 1;
    }
    gl = g;
    gl.channels_last = 1;
    snprintf(ctx, sizeof ctx, "global %s %s n=%lld c=%lld in=%lldx%lldx%lld",
             is_max ? "max" : "avg", dt_name(dt), (long long)n, (long long)c,
             (long long)in3[0], (long long)in3[1], (long long)in3[2]);
    if (is_max)
        fill_max_input(dt, x, nx, 1);
    else
        fill_small(dt, x, nx);
    to_cl(es, n, c, S, x, xl);
    CHECK(cpool_global_pool(dt, &g, x, y, is_max) == CPOOL_OK);
    CHECK(cpool_global_pool(dt, &gl, xl, yl, is_max) == CPOOL_OK);
    for (pl = 0; pl < planes; pl++) {
        double want;
        if (is_max) {
            want = lowest(dt);
            for (i = 0; i < S; i++) {
                const double v = getv(dt, x, pl * S + i);
                if (v > want || v != v)
                    want = v;
            }
        } else {
            double s = 0;
            for (i = 0; i < S; i++)
                s += getv(dt, x, pl * S + i);
            want = rt(dt, s / (double)S);
        }
        CHECK(same(getv(dt, y, pl), want));
        CHECK(same(getv(dt, yl, pl), want));
    }
    free(x);
    free(xl);
    free(y);
    free(yl);
}

/* Whole-plane maxima with their offsets (max over a window the size of the
 * plane, and global max): float32 takes a one-pass vector scan whose lanes
 * each keep their first maximum.  Planes whose maximum is rare and repeated
 * (the first copy must win, wherever the lanes put the copies), full of
 * ties, -inf only, or with NaNs (the last wins); every length up to 130
 * and some longer, so that runs end at every offset in a block of 8 and
 * 32.  The sanitizer build makes the scan's chunks short
 * (CPOOL_RUN_CHUNK), so chunks are merged there. */
static void test_whole_plane_picks(void)
{
    static const int64_t longer[] = {200, 257, 1000, 1031};
    const int64_t planes = 6, shortest = 130; /* lengths 1-130, then longer */
    int64_t t, pl, i;
    for (t = 0; t < shortest + 4; t++) {
        const int64_t S = t < shortest ? t + 1 : longer[t - shortest];
        const int64_t in[1] = {S}, one[1] = {1}, zero[1] = {0};
        float *x = (float *)alloc_exact(planes * S, sizeof(float));
        float *y = (float *)alloc_exact(planes, sizeof(float));
        float *yg = (float *)alloc_exact(planes, sizeof(float));
        int64_t *ind = (int64_t *)alloc_exact(planes, sizeof(int64_t));
        cpool_geom g;
        CHECK(make_geom(&g, 1, 2, planes / 2, in, in, one, zero, one, 0, 0));
        snprintf(ctx, sizeof ctx, "whole-plane picks S=%lld", (long long)S);
        for (pl = 0; pl < planes; pl++) {
            float *xp = x + pl * S;
            for (i = 0; i < S; i++) {
                if (pl == 0)
                    xp[i] = (float)(rnd() % 100);
                else if (pl == 1)
                    xp[i] = (float)(rnd() % 3);
                else if (pl == 2)
                    xp[i] = -INFINITY;
                else if (pl == 3 && rnd() % 16 == 0)
                    xp[i] = NAN;
                else
                    xp[i] = (float)(rnd() % 1000) / 7.0f;
            }
            if (pl == 0)
                for (i = 0; i < 3; i++)
                    xp[rnd() % S] = 1000.0f;
            if (pl == 4) /* copies 32 apart: one lane's, then another's */
                for (i = S / 4; i < S; i += 32)
                    xp[i] = 500.0f;
        }
        CHECK(cpool_max_pool_fwd(CPOOL_F32, &g, x, y, ind) == CPOOL_OK);
        CHECK(cpool_global_pool(CPOOL_F32, &g, x, yg, 1) == CPOOL_OK);
        for (pl = 0; pl < planes; pl++) {
            const float *xp = x + pl * S;
            int64_t k = 0;
            for (i = 1; i < S; i++)
                if (xp[i] > xp[k] || xp[i] != xp[i])
                    k = i;
            CHECK(ind[pl] == k);
            CHECK(same(y[pl], xp[k]) && same(yg[pl], xp[k]));
        }
        free(x);
        free(y);
        free(yg);
        free(ind);
    }
}

static void test_global(void)
{
    static const struct {
        int64_t n, c, in[3];
    } cases[] = {
        {2, 3, {3, 5, 7}}, {1, 300, {1, 2, 9}}, {3, 2, {1, 1, 1}},
        {1, 1, {1, 1, 16}}, {2, 4, {1, 64, 80}}, /* parallel: > 32768 elements */
    };
    int ci, t;
    for (ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++) {
        for (t = 0; t < N_ALL; t++)
            case_global(ALL_DTYPES[t], cases[ci].n, cases[ci].c, cases[ci].in, 1);
        for (t = 0; t < N_FLOAT; t++)
            case_global(FLOAT_DTYPES[t], cases[ci].n, cases[ci].c, cases[ci].in, 0);
    }
    /* the average of an integer dtype, and unknown codes */
    {
        const int64_t in3[3] = {1, 2, 2};
        int32_t x[8], y[2];
        cpool_geom g;
        int cl;
        memset(x, 0, sizeof x);
        memset(&g, 0, sizeof g);
        g.n = 1;
        g.c = 2;
        memcpy(g.in, in3, sizeof in3);
        for (cl = 0; cl <= 1; cl++) {
            g.channels_last = cl;
            for (t = 0; t < N_ALL; t++) {
                if (is_float(ALL_DTYPES[t]))
                    continue;
                snprintf(ctx, sizeof ctx, "global avg %s refused", dt_name(ALL_DTYPES[t]));
                CHECK(cpool_global_pool(ALL_DTYPES[t], &g, x, y, 0) == CPOOL_EDTYPE);
            }
            snprintf(ctx, sizeof ctx, "global unknown dtype");
            CHECK(cpool_global_pool((cpool_dtype)99, &g, x, y, 1) == CPOOL_EDTYPE);
            CHECK(cpool_global_pool((cpool_dtype)99, &g, x, y, 0) == CPOOL_EDTYPE);
        }
    }
}

/* ---- stochastic pooling ------------------------------------------------ */

/* The documented draw: u = Philox(seed) at the channels-first output index,
 * t = u * S, the tap whose number is the count of running sums <= t (S and
 * the running sums in double, taps in (d, h, w) order); an all-zero window
 * gives its first tap.  Also the evaluation value sum(a^2) / S. */
static void ref_stochastic(cpool_dtype dt, const cpool_geom *g, const void *x, uint64_t seed,
                           int64_t *ind, double *ye, double *wsum)
{
    const int64_t P = prod3(g->in), Q = prod3(g->out);
    uint32_t key[2];
    int64_t pl, q, lo[3], hi[3], i0, i1, i2;
    key[0] = (uint32_t)seed;
    key[1] = (uint32_t)(seed >> 32);
    for (pl = 0; pl < g->n * g->c; pl++)
        for (q = 0; q < Q; q++) {
            double s = 0, s2 = 0, t, run = 0;
            int64_t below = 0, k = 0, pick = -1;
            ref_windows(g, pl, q, lo, hi);
            for (i0 = lo[0]; i0 < hi[0]; i0++)
                for (i1 = lo[1]; i1 < hi[1]; i1++)
                    for (i2 = lo[2]; i2 < hi[2]; i2++) {
                        const double v = getv(dt, x, pl * P + plane_off(g, i0, i1, i2));
                        s += v;
                        s2 += v * v;
                    }
            t = cpool_philox_uniform((uint64_t)(pl * Q + q), key) * s;
            for (i0 = lo[0]; i0 < hi[0]; i0++)
                for (i1 = lo[1]; i1 < hi[1]; i1++)
                    for (i2 = lo[2]; i2 < hi[2]; i2++) {
                        run += getv(dt, x, pl * P + plane_off(g, i0, i1, i2));
                        below += run <= t;
                    }
            if (s <= 0)
                below = 0;
            for (i0 = lo[0]; i0 < hi[0]; i0++)
                for (i1 = lo[1]; i1 < hi[1]; i1++)
                    for (i2 = lo[2]; i2 < hi[2]; i2++, k++)
                        if (k == below)
                            pick = plane_off(g, i0, i1, i2);
            ind[pl * Q + q] = pick;
            ye[pl * Q + q] = s > 0 ? s2 / s : 0;
            wsum[pl * Q + q] = s;
        }
}

/* Training (with and without indices) and evaluation, both layouts. */
static void case_stochastic(cpool_dtype dt, const cpool_geom *gin, uint64_t seed)
{
    cpool_geom g = *gin, gl = *gin;
    const size_t es = esize(dt);
    const int64_t P = prod3(g.in), Q = prod3(g.out), planes = g.n * g.c;
    const int64_t nx = planes * P, ny = planes * Q;
    void *x = alloc_exact(nx, es), *xl = alloc_exact(nx, es);
    void *y = alloc_exact(ny, es), *y2 = alloc_exact(ny, es), *ye = alloc_exact(ny, es);
    void *yl = alloc_exact(ny, es), *yl2 = alloc_exact(ny, es), *yle = alloc_exact(ny, es);
    void *yt = alloc_exact(ny, es);
    int64_t *ind = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    int64_t *indl = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    int64_t *indt = (int64_t *)alloc_exact(ny, sizeof(int64_t));
    int64_t *iref = (int64_t *)xmalloc((size_t)ny * sizeof(int64_t));
    double *eref = (double *)xmalloc((size_t)ny * sizeof(double));
    double *wsum = (double *)xmalloc((size_t)ny * sizeof(double));
    int64_t pl, q, lo[3], hi[3];
    long zero_windows = 0;

    g.channels_last = 0;
    gl.channels_last = 1;
    describe(&g, "stochastic", dt);
    fill_nonneg(dt, x, nx);
    if (planes > 1) /* a whole plane of zeros: every window zero-only */
        for (q = 0; q < P; q++)
            setv(dt, x, P + q, 0.0);
    to_cl(es, g.n, g.c, P, x, xl);
    CHECK(cpool_stochastic_pool_fwd(dt, &g, x, y, ind, 1, seed, NULL) == CPOOL_OK);
    CHECK(cpool_stochastic_pool_fwd(dt, &g, x, y2, NULL, 1, seed, NULL) == CPOOL_OK);
    CHECK(cpool_stochastic_pool_fwd(dt, &g, x, ye, NULL, 0, seed, NULL) == CPOOL_OK);
    CHECK(cpool_stochastic_pool_fwd(dt, &gl, xl, yl, indl, 1, seed, NULL) == CPOOL_OK);
    CHECK(cpool_stochastic_pool_fwd(dt, &gl, xl, yl2, NULL, 1, seed, NULL) == CPOOL_OK);
    CHECK(cpool_stochastic_pool_fwd(dt, &gl, xl, yle, NULL, 0, seed, NULL) == CPOOL_OK);
    ref_stochastic(dt, &g, x, seed, iref, eref, wsum);

    for (pl = 0; pl < planes; pl++)
        for (q = 0; q < Q; q++) {
            const int64_t o = pl * Q + q, k = ind[o];
            ref_windows(&g, pl, q, lo, hi);
            /* inside its window, y the input there */
            CHECK(k >= 0 && k < P);
            if (k >= 0 && k < P) {
                const int64_t i0 = k / (g.in[1] * g.in[2]), i1 = (k / g.in[2]) % g.in[1],
                              i2 = k % g.in[2];
                CHECK(i0 >= lo[0] && i0 < hi[0] && i1 >= lo[1] && i1 < hi[1] && i2 >= lo[2] &&
                      i2 < hi[2]);
                CHECK(getv(dt, y, o) == getv(dt, x, pl * P + k));
                if (wsum[o] > 0) /* a zero activation is never drawn */
                    CHECK(getv(dt, x, pl * P + k) > 0);
            }
            if (wsum[o] == 0) { /* zero-only window: its first tap */
                zero_windows++;
                CHECK(k == plane_off(&g, lo[0], lo[1], lo[2]));
                CHECK(getv(dt, y, o) == 0);
            }
            CHECK(k == iref[o]); /* the documented draw */
            CHECK(getv(dt, y2, o) == getv(dt, y, o));
            CHECK(close_to(dt, getv(dt, ye, o), eref[o]));
        }
    if (planes > 1)
        CHECK(zero_windows >= Q);

    /* channels-last: the same draws, the same values */
    to_cf(es, g.n, g.c, Q, yl, yt);
    to_cf(sizeof(int64_t), g.n, g.c, Q, indl, indt);
    for (q = 0; q < ny; q++) {
        CHECK(getv(dt, yt, q) == getv(dt, y, q));
        CHECK(indt[q] == ind[q]);
    }
    to_cf(es, g.n, g.c, Q, yl2, yt);
    for (q = 0; q < ny; q++)
        CHECK(getv(dt, yt, q) == getv(dt, y, q));
    to_cf(es, g.n, g.c, Q, yle, yt);
    for (q = 0; q < ny; q++)
        CHECK(close_to(dt, getv(dt, yt, q), eref[q]));

    /* the checked entry: the same draws on good input, in both layouts;
     * CPOOL_EVALUE for one bad element anywhere (the last is often in no
     * window) */
    CHECK(cpool_stochastic_pool_fwd_checked(dt, &g, x, yt, indt, 1, seed, NULL) == CPOOL_OK);
    CHECK(cpool_stochastic_pool_fwd_checked(dt, &gl, xl, yl2, NULL, 0, seed, NULL) ==
          CPOOL_OK);
    for (q = 0; q < ny; q++) {
        CHECK(getv(dt, yt, q) == getv(dt, y, q) && indt[q] == ind[q]);
        CHECK(getv(dt, yl2, q) == getv(dt, yle, q));
    }
    for (q = 0; q < 3; q++) {
        const int64_t at = q == 0 ? 0 : q == 1 ? nx / 2 : nx - 1;
        const double keep = getv(dt, x, at), keep_l = getv(dt, xl, at);
        setv(dt, x, at, q == 1 ? NAN : -1.0);
        setv(dt, xl, at, INFINITY);
        CHECK(cpool_stochastic_pool_fwd_checked(dt, &g, x, yt, indt, 1, seed, NULL) ==
              CPOOL_EVALUE);
        CHECK(cpool_stochastic_pool_fwd_checked(dt, &g, x, yt, NULL, 0, seed, NULL) ==
              CPOOL_EVALUE);
        CHECK(cpool_stochastic_pool_fwd_checked(dt, &gl, xl, yl2, indl, 1, seed, NULL) ==
              CPOOL_EVALUE);
        setv(dt, x, at, keep);
        setv(dt, xl, at, keep_l);
    }

    free(x);
    free(xl);
    free(y);
    free(y2);
    free(ye);
    free(yl);
    free(yl2);
    free(yle);
    free(yt);
    free(ind);
    free(indl);
    free(indt);
    free(iref);
    free(eref);
    free(wsum);
}

static void test_stochastic(void)
{
    static const struct {
        int rank;
        int64_t in[3], k[3], s[3], p[3];
        int ceil;
        int64_t n, c;
    } cases[] = {
        {2, {6, 7}, {2, 2}, {2, 2}, {0, 0}, 1, 2, 3},
        {2, {5, 5}, {3, 3}, {1, 1}, {1, 1}, 0, 2, 3},
        {2, {7, 9}, {5, 5}, {2, 2}, {2, 2}, 0, 1, 3},        /* 25 taps */
        {3, {4, 5, 6}, {2, 2, 2}, {1, 2, 2}, {0, 1, 1}, 1, 2, 2},
        {3, {5, 5, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, 0, 1, 2}, /* 27 taps */
        {1, {600}, {2}, {2}, {0}, 0, 1, 2},                  /* rows over 256 columns */
        {1, {11}, {4}, {3}, {1}, 1, 2, 3},
        {2, {4, 4}, {2, 2}, {2, 2}, {0, 0}, 0, 1, 70},       /* over 64 channel lanes */
        {2, {5, 6}, {5, 5}, {1, 1}, {2, 2}, 0, 1, 70},
        {2, {40, 40}, {2, 2}, {2, 2}, {0, 0}, 0, 2, 8},      /* parallel */
        {2, {9, 41}, {3, 3}, {2, 2}, {0, 0}, 0, 1, 9},       /* AVX2 lanes to the end */
    };
    const int64_t one[3] = {1, 1, 1};
    int ci, t;
    cpool_geom g;
    for (ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++) {
        CHECK(make_geom(&g, cases[ci].rank, cases[ci].n, cases[ci].c, cases[ci].in,
                        cases[ci].k, cases[ci].s, cases[ci].p, one, cases[ci].ceil, 0));
        for (t = 0; t < N_FLOAT; t++)
            case_stochastic(FLOAT_DTYPES[t], &g, 0x0123456789abcdefULL + (uint64_t)ci);
    }

    /* Geometries with an empty window are refused before any read. */
    {
        const int64_t in[2] = {4, 4}, k2[2] = {2, 2}, p1[2] = {0, 1}, s2[2] = {2, 2};
        float *x = (float *)alloc_exact(16, sizeof(float));
        float *y = (float *)alloc_exact(64, sizeof(float));
        int64_t *ind = (int64_t *)alloc_exact(64, sizeof(int64_t));
        snprintf(ctx, sizeof ctx, "stochastic empty windows refused");
        memset(x, 0, 16 * sizeof(float));
        CHECK(make_geom(&g, 2, 1, 1, in, k2, s2, p1, one, 0, 0));
        g.pad[2] = 2; /* pad > kernel / 2: the first column window is all padding */
        CHECK(cpool_stochastic_pool_fwd(CPOOL_F32, &g, x, y, ind, 1, 1, NULL) == CPOOL_EINVAL);
        CHECK(make_geom(&g, 2, 1, 1, in, k2, s2, p1, one, 0, 0));
        g.out[2] = 4; /* the last window starts past the input */
        CHECK(cpool_stochastic_pool_fwd(CPOOL_F32, &g, x, y, ind, 1, 1, NULL) == CPOOL_EINVAL);
        CHECK(cpool_stochastic_pool_fwd(CPOOL_F32, &g, x, y, NULL, 0, 1, NULL) == CPOOL_EINVAL);
        free(x);
        free(y);
        free(ind);
    }

    /* The seed's low and high words both matter. */
    {
        const int64_t in[2] = {40, 40}, k[2] = {2, 2}, p[2] = {0, 0};
        const uint64_t seeds[3] = {0x5eedULL, 0x5eedULL ^ 1, 0x5eedULL + ((uint64_t)1 << 32)};
        int64_t Q, i, si, differ[2] = {0, 0};
        float *x;
        float *y;
        int64_t *ind[3];
        CHECK(make_geom(&g, 2, 1, 2, in, k, k, p, one, 0, 0));
        Q = 2 * prod3(g.out);
        x = (float *)alloc_exact(2 * 1600, sizeof(float));
        y = (float *)alloc_exact(Q, sizeof(float));
        for (i = 0; i < 3200; i++)
            x[i] = 1.0f + (float)(i % 3);
        snprintf(ctx, sizeof ctx, "stochastic seed words");
        for (si = 0; si < 3; si++) {
            ind[si] = (int64_t *)alloc_exact(Q, sizeof(int64_t));
            CHECK(cpool_stochastic_pool_fwd(CPOOL_F32, &g, x, y, ind[si], 1, seeds[si], NULL) ==
                  CPOOL_OK);
        }
        for (i = 0; i < Q; i++)
            for (si = 1; si < 3; si++)
                differ[si - 1] += ind[si][i] != ind[0][i];
        CHECK(differ[0] > 0 && differ[1] > 0);
        for (si = 0; si < 3; si++)
            free(ind[si]);
        free(x);
        free(y);
    }

    /* dilation, integer dtypes, unknown codes */
    {
        const int64_t in[2] = {4, 4}, k[2] = {2, 2}, p[2] = {0, 0}, d2[2] = {1, 2};
        double x[16], y[9];
        int64_t ind[9];
        int cl;
        for (t = 0; t < 16; t++)
            x[t] = 1.0;
        for (cl = 0; cl <= 1; cl++) {
            CHECK(make_geom(&g, 2, 1, 1, in, k, k, p, d2, 0, cl));
            snprintf(ctx, sizeof ctx, "stochastic dilation refused %s", cl ? "cl" : "cf");
            CHECK(cpool_stochastic_pool_fwd(CPOOL_F64, &g, x, y, ind, 1, 1, NULL) == CPOOL_EINVAL);
            CHECK(cpool_stochastic_pool_fwd(CPOOL_F64, &g, x, y, NULL, 0, 1, NULL) == CPOOL_EINVAL);
            CHECK(make_geom(&g, 2, 1, 1, in, k, k, p, one, 0, cl));
            snprintf(ctx, sizeof ctx, "stochastic dtype refused %s", cl ? "cl" : "cf");
            for (t = 0; t < N_ALL; t++)
                if (!is_float(ALL_DTYPES[t]))
                    CHECK(cpool_stochastic_pool_fwd(ALL_DTYPES[t], &g, x, y, ind, 1, 1, NULL) ==
                          CPOOL_EDTYPE);
            CHECK(cpool_stochastic_pool_fwd((cpool_dtype)99, &g, x, y, ind, 1, 1, NULL) ==
                  CPOOL_EDTYPE);
        }
    }
}

/* cpool_first_invalid_activation: the first negative, NaN or infinite
 * element, across the 4096-element blocks; -1 when clean; -2 for integers. */
static void test_first_invalid(void)
{
    const int64_t N = 5000;
    static const int64_t where[] = {0, 17, 4095, 4096, 4999};
    const double bad[] = {-1.0, -1e-30, NAN, INFINITY, -INFINITY};
    int t, wi, bi;
    for (t = 0; t < N_FLOAT; t++) {
        const cpool_dtype dt = FLOAT_DTYPES[t];
        void *x = alloc_exact(N, esize(dt));
        int64_t i;
        for (i = 0; i < N; i++) /* zeros, -0.0, large finite values: all valid */
            setv(dt, x, i, i % 7 == 0 ? 0.0 : i % 7 == 1 ? -0.0 : i % 7 == 2 ? 3e37 : (double)i);
        snprintf(ctx, sizeof ctx, "first_invalid clean %s", dt_name(dt));
        CHECK(cpool_first_invalid_activation(dt, x, N) == -1);
        CHECK(cpool_first_invalid_activation(dt, x, 0) == -1);
        for (wi = 0; wi < (int)(sizeof where / sizeof where[0]); wi++)
            for (bi = 0; bi < (int)(sizeof bad / sizeof bad[0]); bi++) {
                const double keep = getv(dt, x, where[wi]);
                snprintf(ctx, sizeof ctx, "first_invalid %s %g at %lld", dt_name(dt), bad[bi],
                         (long long)where[wi]);
                setv(dt, x, where[wi], bad[bi]);
                CHECK(cpool_first_invalid_activation(dt, x, N) == where[wi]);
                CHECK(cpool_first_invalid_activation(dt, x, where[wi]) == -1); /* before it */
                CHECK(cpool_first_invalid_activation(dt, x, where[wi] + 1) == where[wi]);
                /* a second one later: still the first */
                if (where[wi] + 3 < N) {
                    const double keep2 = getv(dt, x, where[wi] + 3);
                    setv(dt, x, where[wi] + 3, NAN);
                    CHECK(cpool_first_invalid_activation(dt, x, N) == where[wi]);
                    setv(dt, x, where[wi] + 3, keep2);
                }
                setv(dt, x, where[wi], keep);
            }
        CHECK(cpool_first_invalid_activation(dt, x, N) == -1);
        free(x);
    }
    {
        int32_t xi[4] = {-1, -2, -3, -4};
        snprintf(ctx, sizeof ctx, "first_invalid integer dtypes");
        for (t = 0; t < N_ALL; t++)
            if (!is_float(ALL_DTYPES[t]))
                CHECK(cpool_first_invalid_activation(ALL_DTYPES[t], xi, 1) == -2);
        CHECK(cpool_first_invalid_activation((cpool_dtype)99, xi, 1) == -2);
    }
}

/* ---- max unpooling: index scatter store and gather winners ------------- */

/* In g, in are dst's extents and out src's.  Indices per plane: random with
 * many repeats and some -1; `bad` puts out-of-range indices (>= plane size,
 * -2, huge, INT64_MIN) into two elements, which must give CPOOL_EINDEX and
 * be skipped. */
static void case_unpool(cpool_dtype dt, int64_t n, int64_t c, const int64_t *in3,
                        const int64_t *out3, int bad)
{
    cpool_geom g, gl;
    const size_t es = esize(dt);
    const int64_t P = prod3(in3), Q = prod3(out3), planes = n * c;
    const int64_t nd = planes * P, ns = planes * Q;
    void *src = alloc_exact(ns, es), *dst = alloc_exact(nd, es);
    void *gd = alloc_exact(nd, es), *gs = alloc_exact(ns, es);
    int64_t *ind = (int64_t *)alloc_exact(ns, sizeof(int64_t));
    double *dref = (double *)xmalloc((size_t)nd * sizeof(double));
    int64_t *who = (int64_t *)xmalloc((size_t)nd * sizeof(int64_t));
    int64_t pl, o, i;
    int a;
    memset(&g, 0, sizeof g);
    g.n = n;
    g.c = c;
    for (a = 0; a < 3; a++) {
        g.in[a] = in3[a];
        g.out[a] = out3[a];
        g.kernel[a] = g.stride[a] = g.dilation[a] = 1;
    }
    gl = g;
    gl.channels_last = 1;
    snprintf(ctx, sizeof ctx, "unpool %s n=%lld c=%lld dst=%lldx%lldx%lld src=%lldx%lldx%lld bad=%d",
             dt_name(dt), (long long)n, (long long)c, (long long)in3[0], (long long)in3[1],
             (long long)in3[2], (long long)out3[0], (long long)out3[1], (long long)out3[2], bad);
    for (pl = 0; pl < planes; pl++)
        for (o = 0; o < Q; o++) {
            const uint32_t r = rnd() % 8;
            int64_t k = r == 0 ? -1 : (int64_t)(rnd() % (uint32_t)P);
            if (r == 1 && o > 0 && ind[pl * Q + o - 1] >= 0)
                k = ind[pl * Q + o - 1]; /* a repeat right after */
            ind[pl * Q + o] = k;
            setv(dt, src, pl * Q + o, (double)(1 + (pl * Q + o) % 100));
        }
    ind[0] = 0; /* plane 0: index 0 three times, the last one wins */
    if (Q > 2) {
        ind[Q / 2] = 0;
        ind[Q - 1] = 0;
    }
    if (bad) {
        const int64_t v = bad == 1 ? P : bad == 2 ? -2 : bad == 3 ? ((int64_t)1 << 40) : INT64_MIN;
        ind[(planes - 1) * Q + Q / 2] = v;
        ind[1] = bad == 1 ? INT64_MAX : v;
    }
    for (i = 0; i < nd; i++)
        setv(dt, gd, i, (double)(1 + i % 90));

    for (i = 0; i < nd; i++) {
        dref[i] = 0;
        who[i] = -1;
    }
    for (pl = 0; pl < planes; pl++)
        for (o = 0; o < Q; o++) {
            const int64_t k = ind[pl * Q + o];
            if (k >= 0 && k < P) {
                dref[pl * P + k] = getv(dt, src, pl * Q + o);
                who[pl * P + k] = o;
            }
        }

    CHECK(cpool_index_scatter_store(dt, &g, src, ind, dst) == (bad ? CPOOL_EINDEX : CPOOL_OK));
    for (i = 0; i < nd; i++)
        CHECK(getv(dt, dst, i) == dref[i]);
    CHECK(cpool_index_gather_winners(dt, &g, gd, ind, gs) == (bad ? CPOOL_EINDEX : CPOOL_OK));
    for (pl = 0; pl < planes; pl++)
        for (o = 0; o < Q; o++) {
            const int64_t k = ind[pl * Q + o];
            const int won = k >= 0 && k < P && who[pl * P + k] == o;
            CHECK(getv(dt, gs, pl * Q + o) == (won ? getv(dt, gd, pl * P + k) : 0.0));
        }
    if (planes > 0 && Q > 2) /* plane 0's index 0: only its last holder gets a gradient */
        CHECK(getv(dt, gs, 0) == 0 && getv(dt, gs, Q / 2) == 0 &&
              getv(dt, gs, Q - 1) == getv(dt, gd, 0));

    /* channels-last: the store in its own layout; the gather refuses it */
    {
        void *srcl = alloc_exact(ns, es), *dstl = alloc_exact(nd, es), *dt2 = alloc_exact(nd, es);
        int64_t *indl = (int64_t *)alloc_exact(ns, sizeof(int64_t));
        to_cl(es, n, c, Q, src, srcl);
        to_cl(sizeof(int64_t), n, c, Q, ind, indl);
        CHECK(cpool_index_scatter_store(dt, &gl, srcl, indl, dstl) ==
              (bad ? CPOOL_EINDEX : CPOOL_OK));
        to_cf(es, n, c, P, dstl, dt2);
        for (i = 0; i < nd; i++)
            CHECK(getv(dt, dt2, i) == dref[i]);
        CHECK(cpool_index_gather_winners(dt, &gl, gd, indl, gs) == CPOOL_EINVAL);
        free(srcl);
        free(dstl);
        free(dt2);
        free(indl);
    }
    free(src);
    free(dst);
    free(gd);
    free(gs);
    free(ind);
    free(dref);
    free(who);
}

static void test_unpool(void)
{
    static const struct {
        int64_t n, c, in[3], out[3];
    } cases[] = {
        {2, 3, {1, 2, 3}, {1, 1, 5}},
        {1, 2, {1, 4, 4}, {1, 3, 3}},
        {2, 2, {2, 2, 2}, {1, 2, 4}},
        {1, 20, {1, 3, 3}, {1, 2, 2}}, /* channels-last channel blocks */
    };
    int ci, t, bad;
    for (ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++)
        for (t = 0; t < N_ALL; t++)
            for (bad = 0; bad <= 4; bad++)
                if (bad == 0 || ci == 0)
                    case_unpool(ALL_DTYPES[t], cases[ci].n, cases[ci].c, cases[ci].in,
                                cases[ci].out, bad);
    {
        const int64_t in3[3] = {1, 2, 2}, out3[3] = {1, 1, 2};
        float s[2] = {1, 2}, d[4];
        int64_t ind[2] = {0, 1};
        cpool_geom g;
        memset(&g, 0, sizeof g);
        g.n = g.c = 1;
        memcpy(g.in, in3, sizeof in3);
        memcpy(g.out, out3, sizeof out3);
        snprintf(ctx, sizeof ctx, "unpool unknown dtype");
        CHECK(cpool_index_scatter_store((cpool_dtype)99, &g, s, ind, d) == CPOOL_EDTYPE);
        CHECK(cpool_index_gather_winners((cpool_dtype)99, &g, d, ind, s) == CPOOL_EDTYPE);
    }
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
    test_bins_geom_check();
    test_lp_errors();
    test_first_invalid();

    /* The sweep with one thread and with four (the channels-last scatter
     * splits channel blocks when n < threads; big cases go parallel). */
    for (ti = 0; ti < (cpool_openmp_enabled() ? 2 : 1); ti++) {
        cpool_set_num_threads(threads[ti]);
        sweep_rank(1, sizes1, 5);
        sweep_rank(2, sizes2, 4);
        sweep_rank(3, sizes3, 3);
        big_cases();
        robustness_cases();
        /* the newer entry points */
        test_bins();
        test_y_batch_stride();
        test_lp();
        test_global();
        test_whole_plane_picks();
        test_stochastic();
        test_unpool();
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
