# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin bridge to the C core: buffers in, geometry struct, GIL released,
status code returned (cpool._args.check_status turns it into an exception).  Arguments were validated by cpool._args; nothing here
checks shapes or dtypes beyond what the buffer protocol enforces, and the C
core re-checks the geometry itself."""

from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release,
                             PyBUF_C_CONTIGUOUS, PyBUF_WRITABLE)
from libc.stdint cimport int64_t, uint64_t


cdef class _Buffer:
    """A C-contiguous buffer held for the length of one call."""
    cdef Py_buffer view
    cdef bint held

    def __cinit__(self, obj, bint writable):
        PyObject_GetBuffer(obj, &self.view,
                           PyBUF_C_CONTIGUOUS | (PyBUF_WRITABLE if writable else 0))
        self.held = True

    def __dealloc__(self):
        if self.held:
            PyBuffer_Release(&self.view)


cdef inline void *_ptr(_Buffer b) noexcept:
    return b.view.buf if b is not None else NULL


cdef inline void *_at(_Buffer b, int64_t offset) noexcept:
    """The buffer's address `offset` elements in (NULL for None)."""
    return <char *>b.view.buf + offset * b.view.itemsize if b is not None else NULL


cdef class _Geom:
    """cpool_geom from the tuple cpool._args builds:
    (n, c, in3, out3, kernel3, stride3, pad3, dilation3, channels_last[,
    bins3, bins_plane_stride3[, y_batch_stride]]), holding the bin tables'
    buffers."""
    cdef cpool_geom g
    cdef _Buffer b0, b1, b2

    def __cinit__(self, tuple geom):
        cdef int a
        self.g.n = geom[0]
        self.g.c = geom[1]
        for a in range(3):
            self.g.in_[a] = geom[2][a]
            self.g.out[a] = geom[3][a]
            self.g.kernel[a] = geom[4][a]
            self.g.stride[a] = geom[5][a]
            self.g.pad[a] = geom[6][a]
            self.g.dilation[a] = geom[7][a]
            self.g.bins[a] = NULL
            self.g.bins_plane_stride[a] = 0
        self.g.channels_last = geom[8]
        self.g.y_batch_stride = geom[11] if len(geom) > 11 else 0
        if len(geom) > 9:
            bins, strides = geom[9], geom[10]
            self.b0 = _Buffer(bins[0], False) if bins[0] is not None else None
            self.b1 = _Buffer(bins[1], False) if bins[1] is not None else None
            self.b2 = _Buffer(bins[2], False) if bins[2] is not None else None
            self.g.bins[0] = <const int64_t *>_ptr(self.b0)
            self.g.bins[1] = <const int64_t *>_ptr(self.b1)
            self.g.bins[2] = <const int64_t *>_ptr(self.b2)
            for a in range(3):
                self.g.bins_plane_stride[a] = strides[a]


def geometry(tuple geom):
    """A prepared geometry the wrappers accept in place of the tuple (the
    fast path of repeated calls caches these)."""
    return _Geom(geom)


def max_pool_fwd(int dt, geom, x, y, indices, int64_t y_offset=0):
    """y_offset: elements into y (and indices) where the result starts."""
    cdef _Geom G = geom if type(geom) is _Geom else _Geom(geom)
    cdef int rc
    cdef _Buffer bx = _Buffer(x, False), by = _Buffer(y, True)
    cdef _Buffer bi = _Buffer(indices, True) if indices is not None else None
    cdef void *px = _ptr(bx)
    cdef void *py = _at(by, y_offset)
    cdef int64_t *pi = <int64_t *>_at(bi, y_offset)
    with nogil:
        rc = cpool_max_pool_fwd(<cpool_dtype>dt, &G.g, px, py, pi)
    return rc


def avg_pool(int dt, geom, src, dst, bint count_include_pad, int64_t divisor,
             bint backward, int64_t dst_offset=0):
    """Forward (src = x, dst = y) or backward (src = grad_y, dst = grad_x);
    dst_offset: elements into dst where the result starts."""
    cdef _Geom G = geom if type(geom) is _Geom else _Geom(geom)
    cdef int rc
    cdef _Buffer bs = _Buffer(src, False), bd = _Buffer(dst, True)
    cdef void *ps = _ptr(bs)
    cdef void *pd = _at(bd, dst_offset)
    with nogil:
        if backward:
            rc = cpool_avg_pool_bwd(<cpool_dtype>dt, &G.g, ps, pd, count_include_pad, divisor)
        else:
            rc = cpool_avg_pool_fwd(<cpool_dtype>dt, &G.g, ps, pd, count_include_pad, divisor)
    return rc


def lp_pool_fwd(int dt, tuple geom, x, y, double p):
    cdef _Geom G = _Geom(geom)
    cdef int rc
    cdef _Buffer bx = _Buffer(x, False), by = _Buffer(y, True)
    cdef void *px = _ptr(bx)
    cdef void *py = _ptr(by)
    with nogil:
        rc = cpool_lp_pool_fwd(<cpool_dtype>dt, &G.g, px, py, p)
    return rc


def lp_pool_bwd(int dt, tuple geom, grad_y, x, y, grad_x, double p):
    cdef _Geom G = _Geom(geom)
    cdef int rc
    cdef _Buffer bg = _Buffer(grad_y, False), bx = _Buffer(x, False)
    cdef _Buffer by = _Buffer(y, False), bgx = _Buffer(grad_x, True)
    cdef void *pg = _ptr(bg)
    cdef void *px = _ptr(bx)
    cdef void *py = _ptr(by)
    cdef void *pgx = _ptr(bgx)
    with nogil:
        rc = cpool_lp_pool_bwd(<cpool_dtype>dt, &G.g, pg, px, py, pgx, p)
    return rc


def stochastic_pool_fwd(int dt, tuple geom, x, y, indices, bint training, uint64_t seed,
                        tuple counter=None, bint check=False):
    """counter: None, or (base, n_stride, c_stride, d_stride, h_stride);
    check: also check the activations (status -5 for a bad one)."""
    cdef _Geom G = _Geom(geom)
    cdef int rc
    cdef cpool_counter ctr
    cdef const cpool_counter *pctr = NULL
    cdef _Buffer bx = _Buffer(x, False), by = _Buffer(y, True)
    cdef _Buffer bi = _Buffer(indices, True) if indices is not None else None
    cdef void *px = _ptr(bx)
    cdef void *py = _ptr(by)
    cdef int64_t *pi = <int64_t *>_ptr(bi)
    if counter is not None:
        ctr.base, ctr.n_stride, ctr.c_stride, ctr.d_stride, ctr.h_stride = counter
        pctr = &ctr
    with nogil:
        if check:
            rc = cpool_stochastic_pool_fwd_checked(<cpool_dtype>dt, &G.g, px, py, pi, training,
                                                   seed, pctr)
        else:
            rc = cpool_stochastic_pool_fwd(<cpool_dtype>dt, &G.g, px, py, pi, training, seed,
                                           pctr)
    return rc


def first_invalid_activation(int dt, x):
    """Flat offset of the first negative, NaN or infinite element, or -1."""
    cdef _Buffer bx = _Buffer(x, False)
    cdef void *px = _ptr(bx)
    cdef int64_t n = x.size, r
    with nogil:
        r = cpool_first_invalid_activation(<cpool_dtype>dt, px, n)
    return r


def global_pool(int dt, tuple geom, x, y, bint is_max):
    cdef _Geom G = _Geom(geom)
    cdef int rc
    cdef _Buffer bx = _Buffer(x, False), by = _Buffer(y, True)
    cdef void *px = _ptr(bx)
    cdef void *py = _ptr(by)
    with nogil:
        rc = cpool_global_pool(<cpool_dtype>dt, &G.g, px, py, is_max)
    return rc


def index_scatter(int dt, tuple geom, src, indices, dst, bint store):
    """dst = 0; dst[plane][indices] += src (store=False) or = src (store=True)."""
    cdef _Geom G = _Geom(geom)
    cdef int rc
    cdef _Buffer bs = _Buffer(src, False), bi = _Buffer(indices, False)
    cdef _Buffer bd = _Buffer(dst, True)
    cdef void *ps = _ptr(bs)
    cdef int64_t *pi = <int64_t *>_ptr(bi)
    cdef void *pd = _ptr(bd)
    with nogil:
        if store:
            rc = cpool_index_scatter_store(<cpool_dtype>dt, &G.g, ps, pi, pd)
        else:
            rc = cpool_index_scatter_add(<cpool_dtype>dt, &G.g, ps, pi, pd)
    return rc


def index_gather_winners(int dt, tuple geom, grad_dst, indices, grad_src):
    cdef _Geom G = _Geom(geom)
    cdef int rc
    cdef _Buffer bd = _Buffer(grad_dst, False), bi = _Buffer(indices, False)
    cdef _Buffer bs = _Buffer(grad_src, True)
    cdef void *pd = _ptr(bd)
    cdef int64_t *pi = <int64_t *>_ptr(bi)
    cdef void *ps = _ptr(bs)
    with nogil:
        rc = cpool_index_gather_winners(<cpool_dtype>dt, &G.g, pd, pi, ps)
    return rc


def get_num_threads():
    return cpool_get_num_threads()


def set_num_threads(int n):
    cpool_set_num_threads(n)


def build_facts():
    return {
        "openmp": bool(cpool_openmp_enabled()),
        "openmp_version": cpool_openmp_version(),
        "simd": cpool_simd_flags().decode().split(),
        "simd_dispatch": cpool_simd_dispatch().decode(),
        "compiler": cpool_compiler().decode(),
    }
