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
 * under mask k leaves the drawn tap.  The C in stochastic.inc stays the
 * definition and the fallback; the tests hold both to the reference. */
#include "stochastic.h"

#if defined(CPOOL_STOCH_AVX2)
#include <float.h>
#include "lanes_avx2.h"

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

CPOOL_AVX2_INLINE int64_t stoch_draw(const float *restrict x, int64_t step,
                                     const int64_t *restrict rel, int64_t scale, int64_t taps,
                                     int64_t n, const uint32_t *restrict u, float *restrict y,
                                     int64_t *restrict idx, int64_t ibase, int64_t istep,
                                     int64_t *restrict redo)
{
    /* stoch_count_small's slack and range, to the bit */
    const __m256 slack = _mm256_set1_ps((float)((double)(2 * taps + 24) / 16777216.0));
    const __m256 zero = _mm256_setzero_ps(), none = _mm256_set1_ps(-1.0f);
    const __m256 big = _mm256_set1_ps(FLT_MAX), tiny = _mm256_set1_ps(7.888609052210118e-31f);
    __m256 relk[CPOOL_LANES8_TAPS];
    int64_t off[CPOOL_LANES8_TAPS];
    int64_t j0 = 0, done = 0, nredo = 0, k;
    cpool_rel8(rel, taps, relk);
    for (k = 0; k < taps; k++)
        off[k] = rel[k] * scale;
    while (done < n) {
        __m256 uv, tap, sum, run, t, m, pos, lo, hi, val, pick, next, odd;
        const float *restrict p;
        unsigned bits;
        if (j0 + 8 > n) /* a short last block overlaps the one before */
            j0 = n - 8;
        p = x + j0 * step;
        /* The sum first, then the running sums again from the same loads
         * (L1 hits): a tap and a running sum for each of nine taps would
         * not fit the sixteen registers. */
        sum = cpool_load8(p + off[0], step);
        for (k = 1; k < taps; k++)
            sum = _mm256_add_ps(sum, cpool_load8(p + off[k], step));
        uv = cpool_order8(stoch_uniform8(u + j0), step);
        t = _mm256_mul_ps(uv, sum);
        m = _mm256_mul_ps(slack, sum);
        pos = _mm256_cmp_ps(sum, zero, _CMP_GT_OQ);
        /* all zero: no running sum <= -1, so the first tap */
        lo = _mm256_blendv_ps(none, _mm256_sub_ps(t, m), pos);
        hi = _mm256_add_ps(t, m);
        val = cpool_load8(p + off[0], step);
        run = val;
        pick = relk[0];
        next = run; /* the first running sum > t - m */
        for (k = 1; k < taps; k++) {
            const __m256 below = _mm256_cmp_ps(run, lo, _CMP_LE_OQ);
            tap = cpool_load8(p + off[k], step);
            run = _mm256_add_ps(run, tap);
            val = _mm256_blendv_ps(val, tap, below);
            pick = _mm256_blendv_ps(pick, relk[k], below);
            next = _mm256_blendv_ps(next, run, below);
        }
        /* The running sums only grow, so some lies in (t - m, t + m] exactly
         * where the first one above t - m does. */
        odd = _mm256_or_ps(_mm256_and_ps(pos, _mm256_cmp_ps(next, hi, _CMP_LE_OQ)),
                           _mm256_or_ps(_mm256_cmp_ps(sum, big, _CMP_GT_OQ),
                                         _mm256_and_ps(pos, _mm256_cmp_ps(sum, tiny, _CMP_LT_OQ))));
        _mm256_storeu_ps(y + j0, cpool_order8(val, step));
        if (idx)
            cpool_store_index8(idx + j0, ibase + j0 * istep, istep, pick, step);
        /* lanes the block before already listed are left out */
        bits = (unsigned)_mm256_movemask_ps(cpool_order8(odd, step)) &
               ~((1u << (done - j0)) - 1u);
        for (; bits; bits &= bits - 1)
            redo[nredo++] = j0 + __builtin_ctz(bits);
        done = j0 + 8;
        j0 += 8;
    }
    return nredo;
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
    if (step == 1)
        CPOOL_WITH_TAPS(taps, CPOOL_DRAW_STEP1);
    CPOOL_WITH_TAPS(taps, CPOOL_DRAW_STEP2);
#undef CPOOL_DRAW_STEP1
#undef CPOOL_DRAW_STEP2
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cpool_stoch_no_avx2;
#endif
