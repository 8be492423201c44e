# Declarations of the C core (src/cpool.h) for the Cython layer.
from libc.stdint cimport int64_t, uint64_t

cdef extern from "cpool.h" nogil:
    enum:
        CPOOL_OK
        CPOOL_EINVAL
        CPOOL_ENOMEM
        CPOOL_EINDEX
        CPOOL_EDTYPE

    ctypedef int cpool_dtype

    ctypedef struct cpool_geom:
        int64_t n, c
        int64_t[3] in_ "in"
        int64_t[3] out
        int64_t[3] kernel
        int64_t[3] stride
        int64_t[3] pad
        int64_t[3] dilation
        const int64_t *bins[3]
        int64_t[3] bins_plane_stride
        int channels_last
        int64_t y_batch_stride

    int cpool_geom_check(const cpool_geom *g)
    int cpool_max_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x,
                           void *y, int64_t *indices)
    int cpool_avg_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x,
                           void *y, int count_include_pad, int64_t divisor_override)
    int cpool_avg_pool_bwd(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                           void *grad_x, int count_include_pad, int64_t divisor_override)
    int cpool_lp_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                          double p)
    int cpool_lp_pool_bwd(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                          const void *x, const void *y, void *grad_x, double p)
    ctypedef struct cpool_counter:
        uint64_t base
        int64_t n_stride, c_stride, d_stride, h_stride
    int cpool_stochastic_pool_fwd(cpool_dtype dt, const cpool_geom *g, const void *x,
                                  void *y, int64_t *indices, int training, uint64_t seed,
                                  const cpool_counter *counter)
    int cpool_stochastic_pool_fwd_checked(cpool_dtype dt, const cpool_geom *g, const void *x,
                                          void *y, int64_t *indices, int training,
                                          uint64_t seed, const cpool_counter *counter)
    int64_t cpool_first_invalid_activation(cpool_dtype dt, const void *x, int64_t count)
    int cpool_global_pool(cpool_dtype dt, const cpool_geom *g, const void *x, void *y,
                          int is_max)
    int cpool_index_scatter_add(cpool_dtype dt, const cpool_geom *g, const void *grad_y,
                                const int64_t *indices, void *grad_x)
    int cpool_index_scatter_store(cpool_dtype dt, const cpool_geom *g, const void *src,
                                  const int64_t *indices, void *dst)
    int cpool_index_gather_winners(cpool_dtype dt, const cpool_geom *g, const void *grad_dst,
                                   const int64_t *indices, void *grad_src)

    int cpool_get_num_threads()
    void cpool_set_num_threads(int n)
    int cpool_openmp_enabled()
    int cpool_openmp_version()
    const char *cpool_simd_flags()
    const char *cpool_simd_dispatch()
    const char *cpool_compiler()
