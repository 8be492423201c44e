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
#include <string.h>
#include "max.h"

#if defined(CPOOL_MAX_AVX2)
#include "lanes_avx2.h"

/* the longest run that max_run_pick takes at once (its int32 offsets);
 * tests make it small to reach the merging of chunks */
#ifndef CPOOL_RUN_CHUNK
#define CPOOL_RUN_CHUNK ((int64_t)1 << 30)
#endif

/* The first block of a row whose windows start `pad` (1-4) columns before
 * the row, x pointing there: a tap left of the row (column offset k % kw
 * within its window, kw taps a window row) is neither loaded nor picked,
 * and a lane's pick starts at its first tap inside the row, as in max.inc's
 * clipped windows.  Only the first of the two loads of a stride-2 tap can
 * reach left of the row. */
CPOOL_AVX2_INLINE void max_lanes_left_clipped(const float *restrict x, int64_t step,
                                              const int64_t *restrict rel,
                                              const __m256 *restrict relk, int64_t taps,
                                              int64_t kw, int64_t pad, float *restrict y,
                                              int64_t *restrict idx, int64_t ibase,
                                              int64_t istep, int with_idx)
{
    const __m256i elem = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    /* each lane's column offset j * step, in cpool_load8's lane order */
    const __m256i col = step == 1 ? elem : _mm256_setr_epi32(0, 2, 8, 10, 4, 6, 12, 14);
    __m256 m = _mm256_set1_ps(-INFINITY), pick = _mm256_setzero_ps();
    __m256i edge[CPOOL_LANES8_TAPS]; /* pad - column offset - 1 */
    __m256 inside[CPOOL_LANES8_TAPS];
    int64_t k, b = 0;
    for (k = 0; k < taps; k++, b = b + 1 < kw ? b + 1 : 0) { /* b = k % kw, no division */
        edge[k] = _mm256_set1_epi32((int)(pad - b - 1));
        inside[k] = _mm256_castsi256_ps(_mm256_cmpgt_epi32(col, edge[k]));
    }
    for (k = taps - 1; k >= 0; k--)
        pick = _mm256_blendv_ps(pick, relk[k], inside[k]);
    for (k = 0; k < taps; k++) {
        const __m256 a = _mm256_maskload_ps(x + rel[k], _mm256_cmpgt_epi32(elem, edge[k]));
        const __m256 v = step == 1 ? a
                                   : _mm256_shuffle_ps(a, _mm256_loadu_ps(x + rel[k] + 7), 0xD8);
        const __m256 up = _mm256_and_ps(inside[k],
                                        _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ),
                                                     _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
        m = _mm256_blendv_ps(m, v, up);
        if (with_idx)
            pick = _mm256_blendv_ps(pick, relk[k], up);
    }
    _mm256_storeu_ps(y, cpool_order8(m, step));
    if (with_idx)
        cpool_store_index8(idx, ibase, istep, pick, step);
}

CPOOL_AVX2_INLINE void max_lanes(const float *restrict x, int64_t step,
                                 const int64_t *restrict rel, int64_t taps, int64_t n,
                                 float *restrict y, int64_t *restrict idx, int64_t ibase,
                                 int64_t istep, int with_idx, int64_t kw, int64_t pad)
{
    const __m256 lowest = _mm256_set1_ps(-INFINITY);
    __m256 relk[CPOOL_LANES8_TAPS];
    int64_t j0 = 0, k;
    cpool_rel8(rel, taps, relk);
    if (pad > 0) {
        max_lanes_left_clipped(x, step, rel, relk, taps, kw, pad, y, idx, ibase, istep,
                               with_idx);
        if (n == 8)
            return;
        j0 = 8;
    }
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
                                      int64_t istep, int with_idx, int64_t kw, int64_t pad)
{
#define CPOOL_LANES(k) max_lanes(x, step, rel, k, n, y, idx, ibase, istep, with_idx, kw, pad)
    CPOOL_WITH_EITHER(taps, 9, 4, CPOOL_LANES);
#undef CPOOL_LANES
}

CPOOL_AVX2 void cpool_max_lanes_padded_f32_avx2(const float *restrict x, int64_t step,
                                                const int64_t *restrict rel, int64_t taps,
                                                int64_t kw, int64_t pad, int64_t n,
                                                float *restrict y, int64_t *restrict idx,
                                                int64_t ibase, int64_t istep)
{
    if (step == 1 && idx)
        max_lanes_taps(x, 1, rel, taps, n, y, idx, ibase, istep, 1, kw, pad);
    else if (step == 1)
        max_lanes_taps(x, 1, rel, taps, n, y, NULL, 0, 0, 0, kw, pad);
    else if (idx)
        max_lanes_taps(x, 2, rel, taps, n, y, idx, ibase, istep, 1, kw, pad);
    else
        max_lanes_taps(x, 2, rel, taps, n, y, NULL, 0, 0, 0, kw, pad);
}

CPOOL_AVX2 void cpool_max_lanes_f32_avx2(const float *restrict x, int64_t step,
                                         const int64_t *restrict rel, int64_t taps, int64_t n,
                                         float *restrict y, int64_t *restrict idx,
                                         int64_t ibase, int64_t istep)
{
    cpool_max_lanes_padded_f32_avx2(x, step, rel, taps, 1, 0, n, y, idx, ibase, istep);
}

/* Max pooling 2 x 2, stride 2, on channels-first planes whose output rows
 * are shorter than a vector: each output row is one block of lanes (its
 * taps from cpool_k2s2_short_taps, the rule of max_lanes), so a tiny call
 * or a 14 x 14 -> 7 x 7 plane needs neither the channels-last tiles'
 * transposes nor a scalar tail per row. */
/* idx[j] = base + 2 j + pick[j] for j < 4 (pick: int32 bit patterns) */
CPOOL_AVX2_INLINE void store_index4(int64_t *restrict idx, int64_t base, __m128 pick)
{
    const __m256i at = _mm256_add_epi64(_mm256_set1_epi64x(base), _mm256_setr_epi64x(0, 2, 4, 6));
    _mm256_storeu_si256((__m256i *)(void *)idx,
                        _mm256_add_epi64(at, _mm256_cvtepi32_epi64(_mm_castps_si128(pick))));
}

/* max_k2s2_short for rows of at most 4 outputs, in 128-bit registers: half
 * the micro-ops of a 256-bit block where the CPU splits those (a call on
 * 16 planes 8 x 8 -> 4 x 4: 0.59 -> 0.34 us on a first-generation Zen). */
CPOOL_AVX2_INLINE void max_k2s2_quarter(const float *restrict x, int64_t planes, int64_t H,
                                        int64_t W, int64_t OH, int64_t OW, float *restrict y,
                                        int64_t *restrict ind, int with_idx)
{
    const int64_t rows = planes * OH, size = planes * H * W;
    const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
    const int64_t lo = W < 4 ? W : 4, hi = W < 4 ? 0 : W - 4 < 4 ? W - 4 : 4;
    const __m128i lo_mask = _mm_cmpgt_epi32(_mm_set1_epi32((int)lo), lane);
    const __m128i hi_mask = _mm_cmpgt_epi32(_mm_set1_epi32((int)hi), lane);
    const __m128 rel[4] = {_mm_castsi128_ps(_mm_set1_epi32(0)),
                           _mm_castsi128_ps(_mm_set1_epi32(1)),
                           _mm_castsi128_ps(_mm_set1_epi32((int)W)),
                           _mm_castsi128_ps(_mm_set1_epi32((int)W + 1))};
    int64_t p, oh, i = 0;
    for (p = 0; p < planes; p++)
        for (oh = 0; oh < OH; oh++, i++) {
            const int64_t at = (p * H + 2 * oh) * W;
            const float *restrict r0 = x + at, *restrict r1 = r0 + W;
            const int masked = at + W + 8 > size;
            const __m128 a0 = masked ? _mm_maskload_ps(r0, lo_mask) : _mm_loadu_ps(r0);
            const __m128 b0 = masked ? _mm_maskload_ps(r0 + 4, hi_mask) : _mm_loadu_ps(r0 + 4);
            const __m128 a1 = masked ? _mm_maskload_ps(r1, lo_mask) : _mm_loadu_ps(r1);
            const __m128 b1 = masked ? _mm_maskload_ps(r1 + 4, hi_mask) : _mm_loadu_ps(r1 + 4);
            const __m128 t[4] = {_mm_shuffle_ps(a0, b0, 0x88), _mm_shuffle_ps(a0, b0, 0xDD),
                                 _mm_shuffle_ps(a1, b1, 0x88), _mm_shuffle_ps(a1, b1, 0xDD)};
            __m128 m = _mm_set1_ps(-INFINITY), pick = rel[0];
            int k;
            for (k = 0; k < 4; k++) {
                const __m128 up = _mm_or_ps(_mm_cmp_ps(t[k], m, _CMP_GT_OQ),
                                            _mm_cmp_ps(t[k], t[k], _CMP_UNORD_Q));
                m = _mm_blendv_ps(m, t[k], up);
                if (with_idx)
                    pick = _mm_blendv_ps(pick, rel[k], up);
            }
            if (i * OW + 4 <= rows * OW) { /* spills into the next rows, as above */
                _mm_storeu_ps(y + i * OW, m);
                if (with_idx)
                    store_index4(ind + i * OW, 2 * oh * W, pick);
            } else {
                float yb[4];
                int64_t ib[4];
                _mm_storeu_ps(yb, m);
                memcpy(y + i * OW, yb, (size_t)OW * sizeof(float));
                if (with_idx) {
                    store_index4(ib, 2 * oh * W, pick);
                    memcpy(ind + i * OW, ib, (size_t)OW * sizeof(int64_t));
                }
            }
        }
}

CPOOL_AVX2_INLINE void max_k2s2_short(const float *restrict x, int64_t planes, int64_t H,
                                      int64_t W, int64_t OH, int64_t OW, float *restrict y,
                                      int64_t *restrict ind, int with_idx)
{
    const int64_t rows = planes * OH, size = planes * H * W;
    const __m256 rel[4] = {_mm256_castsi256_ps(_mm256_set1_epi32(0)),
                           _mm256_castsi256_ps(_mm256_set1_epi32(1)),
                           _mm256_castsi256_ps(_mm256_set1_epi32((int)W)),
                           _mm256_castsi256_ps(_mm256_set1_epi32((int)W + 1))};
    __m256i lo_mask, hi_mask;
    int64_t p, oh, i = 0;
    cpool_k2s2_short_masks(W, &lo_mask, &hi_mask);
    for (p = 0; p < planes; p++)
        for (oh = 0; oh < OH; oh++, i++) {
            const int64_t at = (p * H + 2 * oh) * W;
            __m256 t[4], m = _mm256_set1_ps(-INFINITY), pick = rel[0];
            int k;
            if (at + W + 16 <= size)
                cpool_k2s2_short_taps(x + at, x + at + W, 0, lo_mask, hi_mask, t);
            else
                cpool_k2s2_short_taps(x + at, x + at + W, 1, lo_mask, hi_mask, t);
            for (k = 0; k < 4; k++) {
                const __m256 up = _mm256_or_ps(_mm256_cmp_ps(t[k], m, _CMP_GT_OQ),
                                               _mm256_cmp_ps(t[k], t[k], _CMP_UNORD_Q));
                m = _mm256_blendv_ps(m, t[k], up);
                if (with_idx)
                    pick = _mm256_blendv_ps(pick, rel[k], up);
            }
            /* a row shorter than 8 spills into the next rows' results,
             * which are written after it; the last rows go through a
             * local block so that nothing is written past the end */
            if (i * OW + 8 <= rows * OW) {
                _mm256_storeu_ps(y + i * OW, cpool_order8(m, 2));
                if (with_idx)
                    cpool_store_index8(ind + i * OW, 2 * oh * W, 2, pick, 2);
            } else {
                float yb[8];
                int64_t ib[8];
                _mm256_storeu_ps(yb, cpool_order8(m, 2));
                memcpy(y + i * OW, yb, (size_t)OW * sizeof(float));
                if (with_idx) {
                    cpool_store_index8(ib, 2 * oh * W, 2, pick, 2);
                    memcpy(ind + i * OW, ib, (size_t)OW * sizeof(int64_t));
                }
            }
        }
}

CPOOL_AVX2 void cpool_max_k2s2_short_f32_avx2(const float *restrict x, int64_t planes,
                                              int64_t H, int64_t W, int64_t OH, int64_t OW,
                                              float *restrict y, int64_t *restrict ind)
{
    if (OW <= 4 && ind)
        max_k2s2_quarter(x, planes, H, W, OH, OW, y, ind, 1);
    else if (OW <= 4)
        max_k2s2_quarter(x, planes, H, W, OH, OW, y, NULL, 0);
    else if (ind)
        max_k2s2_short(x, planes, H, W, OH, OW, y, ind, 1);
    else
        max_k2s2_short(x, planes, H, W, OH, OW, y, NULL, 0);
}

/* Lanes of idx where v is not above m; at's lanes where it is (int32). */
CPOOL_AVX2_INLINE __m256i first_at(__m256i idx, __m256i at, __m256 v, __m256 m)
{
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(idx), _mm256_castsi256_ps(at),
                                                _mm256_cmp_ps(v, m, _CMP_GT_OQ)));
}

/* Lanes of idx where m holds top; INT32_MAX elsewhere. */
CPOOL_AVX2_INLINE __m256i held_at(__m256i idx, __m256 m, __m256 top)
{
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(_mm256_set1_epi32(INT32_MAX)),
                                                _mm256_castsi256_ps(idx),
                                                _mm256_cmp_ps(m, top, _CMP_EQ_OQ)));
}

/* v's largest lane in every lane */
CPOOL_AVX2_INLINE __m256 max_everywhere(__m256 v)
{
    v = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 1));
    v = _mm256_max_ps(v, _mm256_shuffle_ps(v, v, 0x4E));
    return _mm256_max_ps(v, _mm256_shuffle_ps(v, v, 0xB1));
}

/* v's smallest int32 lane */
CPOOL_AVX2_INLINE int64_t min_lane(__m256i v)
{
    __m128i c = _mm_min_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    c = _mm_min_epi32(c, _mm_shuffle_epi32(c, 0x4E));
    c = _mm_min_epi32(c, _mm_shuffle_epi32(c, 0xB1));
    return _mm_cvtsi128_si32(c);
}

/* PyTorch's scan over src[0, n) in one pass, 8 <= n <= CPOOL_RUN_CHUNK:
 * each of 32 lanes keeps its maximum and the first offset it saw it at,
 * and the pick is the smallest offset among the lanes that hold the
 * overall maximum.  The two-pass form (maxima, then a search for the
 * first) spent half its time in the search on 169-element planes.
 * Returns -1 where src holds a NaN, which the caller resolves. */
CPOOL_AVX2_INLINE int64_t max_run_pick(const float *restrict src, int64_t n)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0, top;
    __m256 nan = _mm256_setzero_ps();
    __m256i i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0, at = i0;
    int64_t i = 0;
    /* lane j of accumulator a sees offsets 8 at + 8 a + j, at = i / 8: one
     * counter for all four, made offsets after the loop */
    for (; i + 32 <= n; i += 32) {
        const __m256 v0 = _mm256_loadu_ps(src + i), v1 = _mm256_loadu_ps(src + i + 8);
        const __m256 v2 = _mm256_loadu_ps(src + i + 16), v3 = _mm256_loadu_ps(src + i + 24);
        i0 = first_at(i0, at, v0, m0);
        i1 = first_at(i1, at, v1, m1);
        i2 = first_at(i2, at, v2, m2);
        i3 = first_at(i3, at, v3, m3);
        /* maxps(v, m) keeps m when v is NaN: NaNs are only noted, in `nan` */
        m0 = _mm256_max_ps(v0, m0);
        m1 = _mm256_max_ps(v1, m1);
        m2 = _mm256_max_ps(v2, m2);
        m3 = _mm256_max_ps(v3, m3);
        nan = _mm256_or_ps(nan, _mm256_or_ps(_mm256_cmp_ps(v0, v1, _CMP_UNORD_Q),
                                             _mm256_cmp_ps(v2, v3, _CMP_UNORD_Q)));
        at = _mm256_add_epi32(at, _mm256_set1_epi32(4));
    }
    i0 = _mm256_add_epi32(_mm256_slli_epi32(i0, 3), lane);
    i1 = _mm256_add_epi32(_mm256_slli_epi32(i1, 3), _mm256_add_epi32(lane, _mm256_set1_epi32(8)));
    i2 = _mm256_add_epi32(_mm256_slli_epi32(i2, 3), _mm256_add_epi32(lane, _mm256_set1_epi32(16)));
    i3 = _mm256_add_epi32(_mm256_slli_epi32(i3, 3), _mm256_add_epi32(lane, _mm256_set1_epi32(24)));
    /* the rest into accumulator 0; a last partial block overlaps the one
     * before, which is harmless: a lane that sees an offset again sees its
     * value again, and its offsets still come in increasing order */
    for (; i < n; i += 8) {
        const int64_t o = i + 8 <= n ? i : n - 8;
        const __m256 v = _mm256_loadu_ps(src + o);
        i0 = first_at(i0, _mm256_add_epi32(_mm256_set1_epi32((int)o), lane), v, m0);
        m0 = _mm256_max_ps(v, m0);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    if (_mm256_movemask_ps(nan))
        return -1;
    /* the smallest offset holding the maximum */
    top = max_everywhere(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    return min_lane(_mm256_min_epi32(_mm256_min_epi32(held_at(i0, m0, top), held_at(i1, m1, top)),
                                     _mm256_min_epi32(held_at(i2, m2, top), held_at(i3, m3, top))));
}

/* max.inc's pick among src[0, n), n >= 1: chunks whose offsets fit the
 * int32 lanes, a later chunk's maximum taken only where it is greater, as
 * in the scan */
CPOOL_AVX2_INLINE int64_t max_run(const float *restrict src, int64_t n)
{
    int64_t base, i, k = 0;
    for (base = 0; base < n; base += CPOOL_RUN_CHUNK) {
        const int64_t len = n - base < CPOOL_RUN_CHUNK ? n - base : CPOOL_RUN_CHUNK;
        int64_t at;
        if (len < 8) { /* the scan itself */
            for (i = base; i < n; i++)
                k = src[i] > src[k] || src[i] != src[i] ? i : k;
            return k;
        }
        at = max_run_pick(src + base, len);
        if (at < 0) { /* the scan keeps the last NaN */
            for (i = n - 1; src[i] == src[i]; i--)
                ;
            return i;
        }
        if (base == 0 || src[base + at] > src[k])
            k = base + at;
    }
    return k;
}

/* Row o of a bin8 window: 8 columns, or those in `in` near the end */
CPOOL_AVX2_INLINE __m256 bin8_row(const float *restrict plane, int64_t o, int64_t readable,
                                  __m256i in)
{
    return o + 8 <= readable ? _mm256_loadu_ps(plane + o) : _mm256_maskload_ps(plane + o, in);
}

/* One window of max pooling over bins (cpool_bins8): rows [h0, h1) of
 * columns [w0, w0 + nw), nw <= 8, of a plane of rows W long, whose
 * readable floats end `readable` past it.  Lanes keep each column's first
 * maximum, with the row it was first seen in; columns past nw are read
 * (the next row's, or nothing past the end) and masked out at the end. */
CPOOL_AVX2_INLINE int64_t max_bin8(const float *restrict plane, int64_t W, int64_t readable,
                                   int64_t h0, int64_t h1, int64_t w0, int64_t nw)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nw), lane);
    __m256 m = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps(), top;
    __m256i row = _mm256_set1_epi32((int)(h0 * W + w0)), at = row;
    int64_t h, c, k;
    float best;
    for (h = h0; h < h1; h++) {
        const __m256 v = bin8_row(plane, h * W + w0, readable, in);
        at = first_at(at, row, v, m);
        m = _mm256_max_ps(v, m);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        row = _mm256_add_epi32(row, _mm256_set1_epi32((int)W));
    }
    m = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), m, _mm256_castsi256_ps(in));
    if (!(_mm256_movemask_ps(_mm256_and_ps(nan, _mm256_castsi256_ps(in))))) {
        /* outside columns hold -inf, and larger offsets than column 0 */
        top = max_everywhere(m);
        return min_lane(held_at(_mm256_add_epi32(at, lane), m, top));
    }
    /* a NaN: the scan itself, which keeps the last */
    k = h0 * W + w0;
    best = -INFINITY;
    for (h = h0; h < h1; h++)
        for (c = w0; c < w0 + nw; c++) {
            const float v = plane[h * W + c];
            if (v > best || v != v) {
                best = v;
                k = h * W + c;
            }
        }
    return k;
}

/* max_bin8's value alone, as max_value finds it; 0 where the window holds
 * a NaN */
CPOOL_AVX2_INLINE int max_bin8_value(const float *restrict plane, int64_t W, int64_t readable,
                                     int64_t h0, int64_t h1, int64_t w0, int64_t nw,
                                     float *restrict y)
{
    const __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nw),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 m = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
    int64_t h, c;
    float top;
    for (h = h0; h < h1; h++) {
        const __m256 v = bin8_row(plane, h * W + w0, readable, in);
        m = _mm256_max_ps(v, m);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    if (_mm256_movemask_ps(_mm256_and_ps(nan, _mm256_castsi256_ps(in))))
        return 0;
    top = _mm256_cvtss_f32(max_everywhere(
        _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), m, _mm256_castsi256_ps(in))));
    for (h = h0; top == 0 && h < h1; h++) /* +0 or -0: the first zero */
        for (c = w0; c < w0 + nw; c++)
            if (plane[h * W + c] == 0) {
                *y = plane[h * W + c];
                return 1;
            }
    *y = top;
    return 1;
}

CPOOL_AVX2 void cpool_max_bins8_f32_avx2(const float *restrict x, int64_t W, int64_t in_plane,
                                         int64_t planes, const int64_t *restrict hb,
                                         int64_t OH, const int64_t *restrict wb, int64_t OW,
                                         int64_t readable, float *restrict y,
                                         int64_t *restrict ind)
{
    int64_t p, oh, ow;
    for (p = 0; p < planes; p++) {
        const float *restrict plane = x + p * in_plane;
        for (oh = 0; oh < OH; oh++)
            for (ow = 0; ow < OW; ow++) {
                const int64_t q = (p * OH + oh) * OW + ow;
                int64_t k;
                if (!ind && max_bin8_value(plane, W, readable - p * in_plane, hb[2 * oh],
                                           hb[2 * oh + 1], wb[2 * ow],
                                           wb[2 * ow + 1] - wb[2 * ow], y + q))
                    continue;
                k = max_bin8(plane, W, readable - p * in_plane, hb[2 * oh], hb[2 * oh + 1],
                             wb[2 * ow], wb[2 * ow + 1] - wb[2 * ow]);
                y[q] = plane[k];
                if (ind)
                    ind[q] = k;
            }
    }
}

/* The larger bytes of a and b, signed or not. */
CPOOL_AVX2_INLINE __m256i max_bytes(__m256i a, __m256i b, int is_signed)
{
    return is_signed ? _mm256_max_epi8(a, b) : _mm256_max_epu8(a, b);
}

/* 8-bit 2 x 2 stride-2 windows, 32 a block: the two rows' maximum, then
 * each byte pair's in the low byte of its 16-bit lane, packed.  GCC's
 * vectorisation of the portable loop took 2 cycles an output (perf, uint8
 * on (32,64,112,112)).  A row's last block overlaps the one before. */
CPOOL_AVX2_INLINE void max_k2s2_8bit(const uint8_t *restrict a, const uint8_t *restrict b,
                                     int64_t n, uint8_t *restrict y, int is_signed)
{
    const __m256i low = _mm256_set1_epi16(0xFF);
    int64_t j = 0;
    for (;;) {
        __m256i v0, v1;
        if (j + 32 > n)
            j = n - 32;
        v0 = max_bytes(_mm256_loadu_si256((const __m256i *)(const void *)(a + 2 * j)),
                       _mm256_loadu_si256((const __m256i *)(const void *)(b + 2 * j)), is_signed);
        v1 = max_bytes(_mm256_loadu_si256((const __m256i *)(const void *)(a + 2 * j + 32)),
                       _mm256_loadu_si256((const __m256i *)(const void *)(b + 2 * j + 32)),
                       is_signed);
        v0 = max_bytes(v0, _mm256_srli_epi16(v0, 8), is_signed);
        v1 = max_bytes(v1, _mm256_srli_epi16(v1, 8), is_signed);
        /* in-lane packing interleaves the halves: 64-bit pairs 0, 2, 1, 3 */
        _mm256_storeu_si256((__m256i *)(void *)(y + j),
                            _mm256_permute4x64_epi64(_mm256_packus_epi16(_mm256_and_si256(v0, low),
                                                                         _mm256_and_si256(v1, low)),
                                                     0xD8));
        if (j + 32 >= n)
            return;
        j += 32;
    }
}

CPOOL_AVX2 void cpool_max_k2s2_8bit_avx2(const void *restrict a, const void *restrict b,
                                         int64_t n, void *restrict y, int is_signed)
{
    if (is_signed)
        max_k2s2_8bit((const uint8_t *)a, (const uint8_t *)b, n, (uint8_t *)y, 1);
    else
        max_k2s2_8bit((const uint8_t *)a, (const uint8_t *)b, n, (uint8_t *)y, 0);
}

CPOOL_AVX2 int64_t cpool_max_run_f32_avx2(const float *restrict src, int64_t n)
{
    return max_run(src, n);
}

/* The value PyTorch's scan picks from src[0, n), 8 <= n, without its
 * offset: a plain maximum over four accumulators, half the work of
 * max_run_pick's.  Equal values have equal bits except +0 and -0, where
 * the first zero decides.  Returns 0 where src holds a NaN. */
CPOOL_AVX2_INLINE int max_value(const float *restrict src, int64_t n, float *restrict y)
{
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    __m256 nan = _mm256_setzero_ps();
    int64_t i = 0;
    float top;
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
    for (; i < n; i += 8) { /* a last partial block overlaps the one before */
        const __m256 v = _mm256_loadu_ps(src + (i + 8 <= n ? i : n - 8));
        m0 = _mm256_max_ps(v, m0);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    if (_mm256_movemask_ps(nan))
        return 0;
    top = _mm256_cvtss_f32(
        max_everywhere(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3))));
    if (top == 0)
        for (i = 0; src[i] != 0; i++)
            ;
    *y = top == 0 ? src[i] : top;
    return 1;
}

CPOOL_AVX2 void cpool_max_planes_f32_avx2(const float *restrict x, int64_t n, int64_t planes,
                                          float *restrict y, int64_t *restrict ind)
{
    int64_t p;
    for (p = 0; p < planes; p++) {
        int64_t k;
        if (!ind && n >= 8 && max_value(x + p * n, n, y + p))
            continue;
        k = max_run(x + p * n, n);
        y[p] = x[p * n + k];
        if (ind)
            ind[p] = k;
    }
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
