/* Average pooling's float32 interior window sums in AVX2 registers, for the
 * runtime dispatch in avg.inc.
 *
 * GCC vectorises avg.inc's tap passes eight outputs at a time, reading and
 * writing the row of sums once per tap, and ends each row with a scalar
 * tail (7 of 56 outputs for k3s2p1 on 112 columns).  Here each block of
 * eight windows sums all its taps in registers, and a row's last block
 * overlaps the one before instead of leaving a tail.  Each lane adds its
 * taps in the same order from the same 0, so the sums are the C's, bit for
 * bit. */
#include "avg.h"

#if defined(CPOOL_AVG_AVX2)
#include "lanes_avx2.h"

CPOOL_AVX2_INLINE void window_sums(const float *restrict x, int64_t step,
                                   const int64_t *restrict rel, int64_t taps, int64_t n,
                                   float *restrict y)
{
    int64_t j0 = 0, k;
    for (;;) {
        const float *restrict p;
        __m256 acc = _mm256_setzero_ps(); /* 0 + x: -0 sums to +0, as in PyTorch */
        if (j0 + 8 > n) /* a short last block overlaps the one before */
            j0 = n - 8;
        p = x + j0 * step;
        for (k = 0; k < taps; k++)
            acc = _mm256_add_ps(acc, cpool_load8(p + rel[k], step));
        _mm256_storeu_ps(y + j0, cpool_order8(acc, step));
        if (j0 + 8 >= n)
            return;
        j0 += 8;
    }
}

CPOOL_AVX2 void cpool_window_sums_f32_avx2(const float *restrict x, int64_t step,
                                           const int64_t *restrict rel, int64_t taps,
                                           int64_t n, float *restrict y)
{
#define CPOOL_SUMS_STEP1(k) window_sums(x, 1, rel, k, n, y)
#define CPOOL_SUMS_STEP2(k) window_sums(x, 2, rel, k, n, y)
    if (step == 1)
        CPOOL_WITH_EITHER(taps, 9, 4, CPOOL_SUMS_STEP1);
    else
        CPOOL_WITH_EITHER(taps, 9, 4, CPOOL_SUMS_STEP2);
#undef CPOOL_SUMS_STEP1
#undef CPOOL_SUMS_STEP2
}
#else
/* ISO C forbids an empty translation unit. */
typedef int cpool_avg_no_avx2;
#endif
