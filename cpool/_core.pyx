# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin bridge to the C core: buffers in, geometry struct, GIL released,
status code out.  Arguments were validated by cpool._args; nothing here
checks shapes or dtypes beyond what the buffer protocol enforces."""

from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release,
                             PyBUF_C_CONTIGUOUS, PyBUF_WRITABLE)
from libc.stdint cimport int64_t



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


cdef int _fill(cpool_geom *g, tuple geom) except -1:
    """geom = (n, c, in3, out3, kernel3, stride3, pad3, dilation3, channels_last)."""
    cdef int a
    g.n = geom[0]
    g.c = geom[1]
    for a in range(3):
        g.in_[a] = geom[2][a]
        g.out[a] = geom[3][a]
        g.kernel[a] = geom[4][a]
        g.stride[a] = geom[5][a]
        g.pad[a] = geom[6][a]
        g.dilation[a] = geom[7][a]
    g.channels_last = geom[8]
    return 0


cdef int _check(int rc) except -1:
    if rc == CPOOL_OK:
        return 0
    if rc == CPOOL_ENOMEM:
        raise MemoryError("cpool: out of memory")
    if rc == CPOOL_EINDEX:
        raise ValueError("indices: a value lies outside its input plane "
                         "(valid: -1 or 0 <= index < prod(spatial input shape))")
    if rc == CPOOL_EDTYPE:
        raise TypeError("cpool: no kernel for this dtype")
    raise ValueError("cpool: inconsistent pooling geometry")


def max_pool_fwd(int dt, tuple geom, x, y, indices):
    cdef cpool_geom g
    cdef int rc
    _fill(&g, geom)
    cdef _Buffer bx = _Buffer(x, False), by = _Buffer(y, True)
    cdef _Buffer bi = _Buffer(indices, True) if indices is not None else None
    cdef void *px = _ptr(bx)
    cdef void *py = _ptr(by)
    cdef int64_t *pi = <int64_t *>_ptr(bi)
    with nogil:
        rc = cpool_max_pool_fwd(<cpool_dtype>dt, &g, px, py, pi)
    _check(rc)


def avg_pool(int dt, tuple geom, src, dst, bint count_include_pad, int64_t divisor,
             bint backward):
    """Forward (src = x, dst = y) or backward (src = grad_y, dst = grad_x)."""
    cdef cpool_geom g
    cdef int rc
    _fill(&g, geom)
    cdef _Buffer bs = _Buffer(src, False), bd = _Buffer(dst, True)
    cdef void *ps = _ptr(bs)
    cdef void *pd = _ptr(bd)
    with nogil:
        if backward:
            rc = cpool_avg_pool_bwd(<cpool_dtype>dt, &g, ps, pd, count_include_pad, divisor)
        else:
            rc = cpool_avg_pool_fwd(<cpool_dtype>dt, &g, ps, pd, count_include_pad, divisor)
    _check(rc)


def index_scatter_add(int dt, tuple geom, grad_y, indices, grad_x):
    cdef cpool_geom g
    cdef int rc
    _fill(&g, geom)
    cdef _Buffer by = _Buffer(grad_y, False), bi = _Buffer(indices, False)
    cdef _Buffer bx = _Buffer(grad_x, True)
    cdef void *py = _ptr(by)
    cdef int64_t *pi = <int64_t *>_ptr(bi)
    cdef void *px = _ptr(bx)
    with nogil:
        rc = cpool_index_scatter_add(<cpool_dtype>dt, &g, py, pi, px)
    _check(rc)


def get_num_threads():
    return cpool_get_num_threads()


def set_num_threads(int n):
    cpool_set_num_threads(n)


def build_facts():
    return {
        "openmp": bool(cpool_openmp_enabled()),
        "openmp_version": cpool_openmp_version(),
        "simd": cpool_simd_flags().decode().split(),
        "compiler": cpool_compiler().decode(),
    }
