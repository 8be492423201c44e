/* Threads and build facts. */
#include "common.h"
#if defined(_OPENMP)
#include <omp.h>
#endif

/* 0 until first asked: then omp_get_max_threads(), which honours
 * OMP_NUM_THREADS.  The Python layer asks once at import, under the GIL. */
static int cpool_threads = 0;

int cpool_get_num_threads(void)
{
    if (cpool_threads <= 0) {
#if defined(_OPENMP)
        cpool_threads = omp_get_max_threads();
#else
        cpool_threads = 1;
#endif
    }
    return cpool_threads;
}

void cpool_set_num_threads(int n)
{
#if defined(_OPENMP)
    /* More threads than a few per core only slows kernels down, and a huge
     * team makes the OpenMP runtime fail to create threads and crash. */
    const int cap = 4 * (omp_get_num_procs() > 0 ? omp_get_num_procs() : 1);
    const int limit = omp_get_thread_limit() > 0 ? omp_get_thread_limit() : cap;
    if (n < 1)
        n = 1;
    if (n > cap)
        n = cap;
    if (n > limit)
        n = limit;
    cpool_threads = n;
#else
    (void)n;
    cpool_threads = 1;
#endif
}

int cpool_openmp_enabled(void)
{
#if defined(_OPENMP)
    return 1;
#else
    return 0;
#endif
}

int cpool_openmp_version(void)
{
#if defined(_OPENMP)
    return _OPENMP;
#else
    return 0;
#endif
}

const char *cpool_simd_flags(void)
{
    return ""
#if defined(__SSE2__) || defined(_M_X64)
           " SSE2"
#endif
#if defined(__SSE4_2__)
           " SSE4.2"
#endif
#if defined(__AVX__)
           " AVX"
#endif
#if defined(__AVX2__)
           " AVX2"
#endif
#if defined(__FMA__)
           " FMA"
#endif
#if defined(__AVX512F__)
           " AVX512F"
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
           " NEON"
#endif
        ;
}

const char *cpool_simd_dispatch(void)
{
#if defined(CPOOL_HAVE_CLONES)
    return __builtin_cpu_supports("avx2") ? "avx2 (runtime dispatch: avx2, baseline)"
                                          : "baseline (runtime dispatch: avx2, baseline)";
#else
    return "";
#endif
}

const char *cpool_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
#define CPOOL_STR_(x) #x
#define CPOOL_STR(x) CPOOL_STR_(x)
    return "msvc " CPOOL_STR(_MSC_FULL_VER);
#else
    return "unknown";
#endif
}
