/* Stochastic pooling's float32 draws for small windows in AVX2 registers,
 * for the runtime dispatch in stochastic.inc.
 *
 * The method is stoch_count_small's: float32 running sums counted against
 * t - m and t + m, lanes where the two counts differ drawn again in double.
 * GCC keeps those sums in stack arrays, counts them in a second loop and
 * leaves the pick a scalar gather per lane; rewrites of that C (a fixed
 * block of 16 lanes, a pick by selects, the tap values kept for the pick, a
 * loop over the tap table) all ran slower.  Here a block of eight
 * lanes keeps its running sums in registers and picks by blends: the masks
 * "running sum k <= t - m" are true for k below the count and false from it
 * on, so blending tap k + 1 (its value, its offset, the running sum there)
 * under mask k leaves the drawn tap.  Windows of 3 x 3 and 2 x 2 taps go
 * further (stoch_draw_rows): one pass, the row first, then the tap in it.
 * The C in stochastic.inc stays the definition and the fallback; the tests
 * hold both to the reference. */
#include "stochastic.h"

#if defined(CPOOL_STOCH_AVX2)
#include <float.h>
#include "lanes_avx2.h"

/* The largest R and K that stoch_draw_rows is instantiated with. */
#define CPOOL_STOCH_ROWS 3
/* Loops over rows and columns unrolled, so their vectors are registers. */
#define CPOOL_UNROLL _Pragma("GCC unroll 4")

/* cpool_uniform of eight words, rounded to float32 as the C draws round
 * it: each 16-bit half converts exactly, the sum rounds once, and the scale
 * by 2^-32 is exact. */
CPOOL_AVX2_INLINE __m256 stoch_uniform8(const uint32_t *restrict u)
{
    const __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)u);
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(w, 16));
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(w, _mm256_set1_epi32(0xFFFF)));
    return _mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(hi, _mm256_set1_ps(65536.0f)), lo),
                         _mm256_set1_ps(2.3283064365386963e-10f));
}

/* What a block's draw needs from its window sums: lo = t - m and hi = t +
 * m around t = u * S (lo = -1 for an all-zero window, so that no running
 * sum is at or below it and the first tap is drawn), and pos = S > 0. */
typedef struct {
    __m256 lo, hi, pos, sum;
} stoch_bounds;

CPOOL_AVX2_INLINE stoch_bounds stoch_bounds8(__m256 sum, const uint32_t *restrict u,
                                             int64_t step, int64_t taps)
{
    /* stoch_count_small's slack, to the bit */
    const __m256 slack = _mm256_set1_ps((float)((double)(2 * taps + 24) / 16777216.0));
    const __m256 uv = cpool_order8(stoch_uniform8(u), step);
    const __m256 t = _mm256_mul_ps(uv, sum), m = _mm256_mul_ps(slack, sum);
    stoch_bounds b;
    b.pos = _mm256_cmp_ps(sum, _mm256_setzero_ps(), _CMP_GT_OQ);
    b.lo = _mm256_blendv_ps(_mm256_set1_ps(-1.0f), _mm256_sub_ps(t, m), b.pos);
    b.hi = _mm256_add_ps(t, m);
    b.sum = sum;
    return b;
}

/* Stores a block's drawn values and offsets and lists its undecided lanes
 * (those the block before listed, below `done`, left out); returns the
 * new length of redo[].  next is the first running sum above lo. */
CPOOL_AVX2_INLINE int64_t stoch_store8(stoch_bounds b, __m256 next, __m256 val, __m256 pick,
                                       int64_t step, int64_t j0, int64_t done, float *restrict y,
                                       int64_t *restrict idx, int64_t ibase, int64_t istep,
                                       int64_t *restrict redo, int64_t nredo)
{
    const __m256 big = _mm256_set1_ps(FLT_MAX), tiny = _mm256_set1_ps(7.888609052210118e-31f);
    /* The running sums only grow, so some lies in (t - m, t + m] exactly
     * where the first one above t - m does; and stoch_outside's range. */
    const __m256 odd = _mm256_or_ps(
        _mm256_and_ps(b.pos, _mm256_cmp_ps(next, b.hi, _CMP_LE_OQ)),
        _mm256_or_ps(_mm256_cmp_ps(b.sum, big, _CMP_GT_OQ),
                     _mm256_and_ps(b.pos, _mm256_cmp_ps(b.sum, tiny, _CMP_LT_OQ))));
    unsigned bits = (unsigned)_mm256_movemask_ps(cpool_order8(odd, step)) &
                    ~((1u << (done - j0)) - 1u);
    _mm256_storeu_ps(y + j0, cpool_order8(val, step));
    if (idx)
        cpool_store_index8(idx + j0, ibase + j0 * istep, istep, pick, step);
    for (; bits; bits &= bits - 1)
        redo[nredo++] = j0 + __builtin_ctz(bits);
    return nredo;
}

/* Any window shape: the sum first, then the running sums again from the
 * same loads (L1 hits), since a tap and a running sum for each tap would
 * not fit the sixteen registers. */
CPOOL_AVX2_INLINE int64_t stoch_draw(const float *restrict x, int64_t step,
                                     const int64_t *restrict rel, int64_t scale, int64_t taps,
                                     int64_t n, const uint32_t *restrict u, float *restrict y,
                                     int64_t *restrict idx, int64_t ibase, int64_t istep,
                                     int64_t *restrict redo)
{
    __m256 relk[CPOOL_LANES8_TAPS];
    int64_t off[CPOOL_LANES8_TAPS];
    int64_t j0 = 0, done = 0, nredo = 0, k;
    cpool_rel8(rel, taps, relk);
    for (k = 0; k < taps; k++)
        off[k] = rel[k] * scale;
    while (done < n) {
        __m256 tap, sum, run, val, pick, next;
        stoch_bounds b;
        const float *restrict p;
        if (j0 + 8 > n) /* a short last block overlaps the one before */
            j0 = n - 8;
        p = x + j0 * step;
        sum = cpool_load8(p + off[0], step);
        for (k = 1; k < taps; k++)
            sum = _mm256_add_ps(sum, cpool_load8(p + off[k], step));
        b = stoch_bounds8(sum, u + j0, step, taps);
        val = cpool_load8(p + off[0], step);
        run = val;
        pick = relk[0];
        next = run;
        for (k = 1; k < taps; k++) {
            const __m256 below = _mm256_cmp_ps(run, b.lo, _CMP_LE_OQ);
            tap = cpool_load8(p + off[k], step);
            run = _mm256_add_ps(run, tap);
            val = _mm256_blendv_ps(val, tap, below);
            pick = _mm256_blendv_ps(pick, relk[k], below);
            next = _mm256_blendv_ps(next, run, below);
        }
        nredo = stoch_store8(b, next, val, pick, step, j0, done, y, idx, ibase, istep, redo,
                             nredo);
        done = j0 + 8;
        j0 += 8;
    }
    return nredo;
}

/* Windows of R rows of K taps each, tap (r, c) at rel[r K] + c: one pass.
 * The running sum at (r, c) is taken as C_r + P_rc, the sum of the rows
 * before plus the row's own prefix, instead of in scan order.  That is
 * another association of the same terms (>= 0), so it keeps the error bound
 * that the slack covers; the sums still only grow, and each row's last one
 * is C_(r+1) itself.  So the row drawn from is the one where C_r <= lo <
 * C_(r+1), which needs only the row sums, and all taps can stay in registers
 * through the pick.  Step 2 (which the dispatch below takes only at scale
 * 1) loads columns 0 and 1 of a row from the same two vectors. */
CPOOL_AVX2_INLINE int64_t stoch_draw_rows(const float *restrict x, int64_t step, int R, int K,
                                          const int64_t *restrict rel, int64_t scale, int64_t n,
                                          const uint32_t *restrict u, float *restrict y,
                                          int64_t *restrict idx, int64_t ibase, int64_t istep,
                                          int64_t *restrict redo)
{
    __m256 relr[CPOOL_STOCH_ROWS], v[CPOOL_STOCH_ROWS][CPOOL_STOCH_ROWS];
    __m256 cum[CPOOL_STOCH_ROWS + 1];
    int64_t off[CPOOL_STOCH_ROWS];
    int64_t j0 = 0, done = 0, nredo = 0;
    int r, c;
    CPOOL_UNROLL
    for (r = 0; r < R; r++) {
        relr[r] = _mm256_castsi256_ps(_mm256_set1_epi32((int)rel[r * K]));
        off[r] = rel[r * K] * scale;
    }
    while (done < n) {
        __m256 base, val, next, run, prefix, below, rrel;
        __m256i col;
        stoch_bounds b;
        const float *restrict p;
        if (j0 + 8 > n) /* a short last block overlaps the one before */
            j0 = n - 8;
        p = x + j0 * step;
        CPOOL_UNROLL
        for (r = 0; r < R; r++) {
            if (step == 2) /* scale 1 */
                cpool_load8_pair(p + off[r], &v[r][0], &v[r][1]);
            CPOOL_UNROLL
            for (c = step == 2 ? 2 : 0; c < K; c++)
                v[r][c] = cpool_load8(p + off[r] + c * scale, step);
        }
        /* cum[r]: the rows before r; the row sums add left to right */
        CPOOL_UNROLL
        for (r = 0; r < R; r++) {
            __m256 rowsum = v[r][0];
            CPOOL_UNROLL
            for (c = 1; c < K; c++)
                rowsum = _mm256_add_ps(rowsum, v[r][c]);
            cum[r + 1] = r ? _mm256_add_ps(cum[r], rowsum) : rowsum;
        }
        b = stoch_bounds8(cum[R], u + j0, step, R * K);
        /* the row: the last one whose cum is <= lo (row 0 if none) */
        base = _mm256_setzero_ps();
        rrel = relr[0];
        CPOOL_UNROLL
        for (r = 1; r < R; r++) {
            const __m256 in = _mm256_cmp_ps(cum[r], b.lo, _CMP_LE_OQ);
            base = _mm256_blendv_ps(base, cum[r], in);
            rrel = _mm256_blendv_ps(rrel, relr[r], in);
            CPOOL_UNROLL
            for (c = 0; c < K; c++)
                v[0][c] = _mm256_blendv_ps(v[0][c], v[r][c], in);
        }
        /* in the row: the first C_r + P_rc above lo (the last one is) */
        prefix = v[0][0];
        run = _mm256_add_ps(base, prefix);
        val = v[0][0];
        next = run;
        col = _mm256_setzero_si256();
        CPOOL_UNROLL
        for (c = 1; c < K; c++) {
            below = _mm256_cmp_ps(run, b.lo, _CMP_LE_OQ);
            prefix = _mm256_add_ps(prefix, v[0][c]);
            run = _mm256_add_ps(base, prefix);
            val = _mm256_blendv_ps(val, v[0][c], below);
            next = _mm256_blendv_ps(next, run, below);
            col = _mm256_sub_epi32(col, _mm256_castps_si256(below));
        }
        nredo = stoch_store8(b, next, val,
                             _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(rrel), col)),
                             step, j0, done, y, idx, ibase, istep, redo, nredo);
        done = j0 + 8;
        j0 += 8;
    }
    return nredo;
}

/* Whether rel[] is R rows of K consecutive offsets. */
static int stoch_is_rows(const int64_t *restrict rel, int64_t taps, int K)
{
    int64_t k;
    for (k = 0; k < taps; k++)
        if (rel[k] != rel[k - k % K] + k % K)
            return 0;
    return 1;
}

CPOOL_AVX2 int64_t cpool_stoch_draw_f32_avx2(const float *restrict x, int64_t step,
                                             const int64_t *restrict rel, int64_t scale,
                                             int64_t taps, int64_t n, const uint32_t *restrict u,
                                             float *restrict y, int64_t *restrict idx,
                                             int64_t ibase, int64_t istep,
                                             int64_t *restrict redo)
{
#define CPOOL_DRAW_STEP1(k) return stoch_draw(x, 1, rel, scale, k, n, u, y, idx, ibase, istep, redo)
#define CPOOL_DRAW_STEP2(k) return stoch_draw(x, 2, rel, scale, k, n, u, y, idx, ibase, istep, redo)
#define CPOOL_DRAW_ROWS(s, R, K) \
    return stoch_draw_rows(x, s, R, K, rel, scale, n, u, y, idx, ibase, istep, redo)
    if (taps == 9 && stoch_is_rows(rel, taps, 3)) {
        if (step == 1)
            CPOOL_DRAW_ROWS(1, 3, 3);
        if (scale == 1)
            CPOOL_DRAW_ROWS(2, 3, 3);
    }
    if (taps == 4 && stoch_is_rows(rel, taps, 2)) {
        if (step == 1)
            CPOOL_DRAW_ROWS(1, 2, 2);
        if (scale == 1)
            CPOOL_DRAW_ROWS(2, 2, 2);
    }
    if (step == 1)
        CPOOL_WITH_TAPS(taps, CPOOL_DRAW_STEP1);
    CPOOL_WITH_TAPS(taps, CPOOL_DRAW_STEP2);
#undef CPOOL_DRAW_STEP1
#undef CPOOL_DRAW_STEP2
#undef CPOOL_DRAW_ROWS
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cpool_stoch_no_avx2;
#endif
