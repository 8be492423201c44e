/* Max pooling's float32 interior rows in AVX2 registers, for the runtime
 * dispatch in max.inc.
 *
 * GCC vectorises max_row_taps' chain of selects for 8 outputs at a time and
 * finishes each row's interior with a scalar tail: on 55 outputs a row, 7
 * of them, which cost about as much as the 48 before (perf, k3s2 on
 * (32,64,112,112)).  Here every block of eight outputs keeps its whole
 * window's maximum in registers, and a row's last block overlaps the one
 * before instead of leaving a tail: a window's maximum does not depend on
 * which block computes it. */
#include "max.h"

#if defined(CPOOL_MAX_AVX2)
#include "lanes_avx2.h"

CPOOL_AVX2_INLINE void max_lanes(const float *restrict x, int64_t step,
                                 const int64_t *restrict rel, int64_t taps, int64_t n,
                                 float *restrict y, int64_t *restrict idx, int64_t ibase,
                                 int64_t istep, int with_idx)
{
    const __m256 lowest = _mm256_set1_ps(-INFINITY);
    __m256 relk[CPOOL_LANES8_TAPS];
    int64_t j0 = 0, k;
    cpool_rel8(rel, taps, relk);
    for (;;) {
        const float *restrict p;
        __m256 m = lowest, pick = relk[0];
        if (j0 + 8 > n) /* a short last block overlaps the one before */
            j0 = n - 8;
        p = x + j0 * step;
        for (k = 0; k < taps; k++) {
            /* PyTorch's rule: v > m || isnan(v), so ties keep the first
             * maximum and a NaN window its last NaN */
            const __m256 v = cpool_load8(p + rel[k], step);
            const __m256 up = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ),
                                           _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            m = _mm256_blendv_ps(m, v, up);
            if (with_idx)
                pick = _mm256_blendv_ps(pick, relk[k], up);
        }
        _mm256_storeu_ps(y + j0, cpool_order8(m, step));
        if (with_idx)
            cpool_store_index8(idx + j0, ibase + j0 * istep, istep, pick, step);
        if (j0 + 8 >= n)
            return;
        j0 += 8;
    }
}

/* max_lanes with the tap count a compile-time 9 or 4 where it is */
CPOOL_AVX2_INLINE void max_lanes_taps(const float *restrict x, int64_t step,
                                      const int64_t *restrict rel, int64_t taps, int64_t n,
                                      float *restrict y, int64_t *restrict idx, int64_t ibase,
                                      int64_t istep, int with_idx)
{
#define CPOOL_LANES(k) max_lanes(x, step, rel, k, n, y, idx, ibase, istep, with_idx)
    CPOOL_WITH_EITHER(taps, 9, 4, CPOOL_LANES);
#undef CPOOL_LANES
}

CPOOL_AVX2 void cpool_max_lanes_f32_avx2(const float *restrict x, int64_t step,
                                         const int64_t *restrict rel, int64_t taps, int64_t n,
                                         float *restrict y, int64_t *restrict idx,
                                         int64_t ibase, int64_t istep)
{
    if (step == 1 && idx)
        max_lanes_taps(x, 1, rel, taps, n, y, idx, ibase, istep, 1);
    else if (step == 1)
        max_lanes_taps(x, 1, rel, taps, n, y, NULL, 0, 0, 0);
    else if (idx)
        max_lanes_taps(x, 2, rel, taps, n, y, idx, ibase, istep, 1);
    else
        max_lanes_taps(x, 2, rel, taps, n, y, NULL, 0, 0, 0);
}

CPOOL_AVX2 int64_t cpool_max_run_f32_avx2(const float *restrict src, int64_t n)
{
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0, nan = _mm256_setzero_ps();
    __m128 h;
    float m;
    int64_t i = 0, k;
    /* maxps(v, m) keeps m when v is NaN: NaNs are only noted, in `nan` */
    for (; i + 32 <= n; i += 32) {
        const __m256 v0 = _mm256_loadu_ps(src + i), v1 = _mm256_loadu_ps(src + i + 8);
        const __m256 v2 = _mm256_loadu_ps(src + i + 16), v3 = _mm256_loadu_ps(src + i + 24);
        m0 = _mm256_max_ps(v0, m0);
        m1 = _mm256_max_ps(v1, m1);
        m2 = _mm256_max_ps(v2, m2);
        m3 = _mm256_max_ps(v3, m3);
        nan = _mm256_or_ps(nan, _mm256_or_ps(_mm256_cmp_ps(v0, v1, _CMP_UNORD_Q),
                                             _mm256_cmp_ps(v2, v3, _CMP_UNORD_Q)));
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(src + i);
        m0 = _mm256_max_ps(v, m0);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    m0 = _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3));
    h = _mm_max_ps(_mm256_castps256_ps128(m0), _mm256_extractf128_ps(m0, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    m = _mm_cvtss_f32(h);
    k = _mm256_movemask_ps(nan);
    for (; i < n; i++) {
        k |= src[i] != src[i];
        m = src[i] > m ? src[i] : m;
    }
    if (k) { /* the scan keeps the last NaN */
        for (i = n - 1; src[i] == src[i]; i--)
            ;
        return i;
    }
    /* else the first element equal to the maximum (-0 == +0: the first of
     * either, as the scan keeps) */
    for (i = 0; i + 8 <= n; i += 8) {
        k = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(src + i), _mm256_set1_ps(m),
                                             _CMP_EQ_OQ));
        if (k)
            return i + __builtin_ctz((unsigned)k);
    }
    for (; src[i] != m; i++)
        ;
    return i;
}

/* b[c * ds + r] = a[r * ss + c] for r, c < 8.  Each load fills a 128-bit
 * half of rows r and r + 4 (a load-port insert), so the block needs 16
 * in-lane shuffles and no cross-lane ones: 1.2x faster than a register
 * transpose at -O3, 2.5x at -O2 (where GCC keeps that one's arrays on the
 * stack). */
CPOOL_AVX2_INLINE void transpose8x8_mem(const float *a, int64_t ss, float *b, int64_t ds)
{
    __m256 r[8], t[8];
    int i;
    for (i = 0; i < 4; i++) { /* r[i]: row i | row i + 4, columns 0-3; r[i + 4]: 4-7 */
        r[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(a + i * ss)),
                                    _mm_loadu_ps(a + (i + 4) * ss), 1);
        r[i + 4] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(a + i * ss + 4)),
                                        _mm_loadu_ps(a + (i + 4) * ss + 4), 1);
    }
    for (i = 0; i < 8; i += 4) { /* rows 0, 1 | 2, 3 interleaved per column pair */
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
        t[i + 2] = _mm256_unpacklo_ps(r[i + 2], r[i + 3]);
        t[i + 3] = _mm256_unpackhi_ps(r[i + 2], r[i + 3]);
    }
    for (i = 0; i < 8; i += 4) { /* column c of all eight rows */
        _mm256_storeu_ps(b + i * ds, _mm256_shuffle_ps(t[i], t[i + 2], 0x44));
        _mm256_storeu_ps(b + (i + 1) * ds, _mm256_shuffle_ps(t[i], t[i + 2], 0xEE));
        _mm256_storeu_ps(b + (i + 2) * ds, _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44));
        _mm256_storeu_ps(b + (i + 3) * ds, _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE));
    }
}

CPOOL_AVX2 void cpool_transpose32_avx2(const void *src, int64_t rows, int64_t cols,
                                       int64_t src_stride, void *dst, int64_t dst_stride)
{
    /* shuffles move bits: any 4-byte element goes through float registers
     * (the edges are copied as integers) */
    const float *restrict a = (const float *)src;
    float *restrict b = (float *)dst;
    const uint32_t *restrict ai = (const uint32_t *)src;
    uint32_t *restrict bi = (uint32_t *)dst;
    const int64_t r8 = rows - rows % 8, c8 = cols - cols % 8;
    int64_t r0, c0, r, c, rb;
    /* column blocks outside, row blocks inside, over bands of 1024 rows: a
     * few streams at a time on either side (the other orders were 1.4x
     * slower on a (12544 x 64) -> (64 x 12544) transpose) */
    for (rb = 0; rb < r8; rb += 1024) {
        const int64_t re = r8 - rb < 1024 ? r8 : rb + 1024;
        for (c0 = 0; c0 < c8; c0 += 8)
            for (r0 = rb; r0 < re; r0 += 8)
                transpose8x8_mem(a + r0 * src_stride + c0, src_stride,
                                 b + c0 * dst_stride + r0, dst_stride);
    }
    for (r = 0; r < rows; r++)
        for (c = r < r8 ? c8 : 0; c < cols; c++)
            bi[c * dst_stride + r] = ai[r * src_stride + c];
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cpool_max_no_avx2;
#endif
