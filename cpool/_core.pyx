# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin bridge to the C core: arrays in, geometry struct, GIL released,
status code returned (cpool._args.check_status turns it into an exception).
Arguments were validated by cpool._args; nothing here checks shapes or
dtypes, only that each array is C-contiguous, aligned and (for results)
writeable, and the C core re-checks the geometry itself."""

cimport numpy as cnp
from libc.stdint cimport int64_t, uint64_t

cnp.import_array()

cdef int _READ = cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_ALIGNED
cdef int _WRITE = _READ | cnp.NPY_ARRAY_WRITEABLE


cdef void *_data(object a, bint writable) except? NULL:
    """The data of an aligned C-contiguous (and, for results, writeable)
    ndarray, or NULL for None.  A Py_buffer would check the same, but costs
    0.3-0.6 us an array: a tiny call's whole budget is 2 us."""
    if a is None:
        return NULL
    if not cnp.PyArray_Check(a):
        raise TypeError(f"cpool._core: expected a numpy.ndarray, got {type(a).__name__}")
    cdef int need = _WRITE if writable else _READ
    if cnp.PyArray_FLAGS(<cnp.ndarray>a) & need != need:
        raise ValueError("cpool._core: expected an aligned C-contiguous"
                         + (" writeable" if writable else "") + " array")
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef void *_at(object a, int64_t offset) except? NULL:
    """The address `offset` elements into a result array (NULL for None)."""
    cdef char *p = <char *>_data(a, True)
    return p + offset * cnp.PyArray_ITEMSIZE(<cnp.ndarray>a) if p != NULL else NULL


cdef class _Geom:
    """cpool_geom from the tuple cpool._args builds:
    (n, c, in3, out3, kernel3, stride3, pad3, dilation3, channels_last[,
    bins3, bins_plane_stride3[, y_batch_stride]]), holding the bin tables'
    arrays."""
    cdef cpool_geom g
    cdef object bins  # keeps the bin tables alive

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
            self.bins, strides = geom[9], geom[10]
            for a in range(3):
                self.g.bins[a] = <const int64_t *>_data(self.bins[a], False)
                self.g.bins_plane_stride[a] = strides[a]


# ---- the repeated-call fast path --------------------------------------------
# A network calls the same few geometries over and over.  When x is a plain
# aligned C-contiguous native ndarray and every argument has its plain type
# (ints, None or tuples of ints; bools for flags), the call is keyed on
# (shape, dtype, arguments) and the plan its first call validated is reused:
# validation would give the same answer.  Anything else takes the full path
# in Python.  This is Cython because the whole of a tiny call has 2 us.

cdef bint _plain(object v):
    """An int, None or a tuple of ints: what a window argument may be for
    the call to be keyed on its value (a NumPy integer, a bool or a list
    could validate differently than its value says)."""
    if v is None or type(v) is int:
        return True
    if type(v) is not tuple:
        return False
    for e in <tuple>v:
        if type(e) is not int:
            return False
    return True


cdef bint _plain_call(object x, tuple window_args, tuple flags):
    if not cnp.PyArray_CheckExact(x):
        return False
    if (cnp.PyArray_FLAGS(<cnp.ndarray>x) & _READ != _READ
            or not cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>x)):
        return False
    for v in window_args:
        if not _plain(v):
            return False
    for v in flags:
        if type(v) is not bool:
            return False
    return True


def fast_key(x, tuple window_args, tuple flags):
    """The key of a call on x in a PlanCache, or None when the call must
    take the full path."""
    if not _plain_call(x, window_args, flags):
        return None
    return (x.shape, cnp.PyArray_TYPE(<cnp.ndarray>x), window_args, flags)


cdef class Plan:
    """A call that passed validation: its key (input shape and dtype number,
    window arguments, flags), and what the call needs: dtype code, result
    shape and dtype number, prepared geometry, the family's own arguments."""
    cdef int in_ndim, in_type_num
    cdef cnp.npy_intp in_dims[5]
    cdef tuple window_args, flags
    cdef int code
    cdef int ndim, type_num
    cdef cnp.npy_intp dims[5]
    cdef _Geom geom
    cdef tuple extra

    def __cinit__(self, tuple key, int code, tuple shape, dtype, tuple geom, tuple extra):
        cdef tuple in_shape = key[0]
        cdef int i
        if len(shape) > 5 or len(in_shape) > 5:
            raise ValueError("cpool._core.Plan: at most 5 dimensions")
        self.in_ndim, self.in_type_num = len(in_shape), key[1]
        for i in range(self.in_ndim):
            self.in_dims[i] = in_shape[i]
        self.window_args, self.flags = key[2], key[3]
        self.code, self.ndim, self.type_num = code, len(shape), dtype.num
        for i in range(self.ndim):
            self.dims[i] = shape[i]
        self.geom, self.extra = _Geom(geom), extra

    cdef bint matches(self, cnp.ndarray x, tuple window_args, tuple flags):
        """Whether x and the arguments have this plan's key (x and the
        arguments being plain)."""
        cdef int i
        if (cnp.PyArray_NDIM(x) != self.in_ndim
                or cnp.PyArray_TYPE(x) != self.in_type_num):
            return False
        for i in range(self.in_ndim):
            if cnp.PyArray_DIMS(x)[i] != self.in_dims[i]:
                return False
        return window_args == self.window_args and flags == self.flags

    cdef object empty(self, int type_num):
        return cnp.PyArray_EMPTY(self.ndim, self.dims, type_num, 0)


cdef enum _Family:
    MAX_POOL = 0
    AVG_POOL = 1


cdef class PlanCache:
    """One family's plans by fast_key, at most `limit` of them, and the
    repeated call that runs one.  The plan found last is tried first, by
    comparing fields, without building and hashing a key."""
    cdef dict plans
    cdef Plan last
    cdef Py_ssize_t limit
    cdef int family
    cdef object full, check_status

    def __cinit__(self, str family, full, check_status, Py_ssize_t limit=512):
        """family: "max_pool" (flags: ceil_mode, return_indices, ...) or
        "avg_pool" (extra: count_include_pad, divisor); full(fn, x,
        window_args, flags, out): the call without a plan; check_status(rc,
        fn) raises for a nonzero status of the C core."""
        if family not in ("max_pool", "avg_pool"):
            raise ValueError(f"cpool._core.PlanCache: unknown family {family!r}")
        self.family = MAX_POOL if family == "max_pool" else AVG_POOL
        self.plans, self.limit = {}, limit
        self.full, self.check_status = full, check_status

    def __call__(self, str fn, x, tuple window_args, tuple flags, out):
        """The call: planned when it can be, else the full path."""
        res = self.run(fn, x, window_args, flags, out)
        return res if res is not None else self.full(fn, x, window_args, flags, out)

    def __len__(self):
        return len(self.plans)

    cdef Plan lookup(self, x, tuple window_args, tuple flags):
        if not _plain_call(x, window_args, flags):
            return None
        if self.last is not None and self.last.matches(x, window_args, flags):
            return self.last
        plan = self.plans.get((x.shape, cnp.PyArray_TYPE(<cnp.ndarray>x), window_args,
                               flags))
        if plan is not None:
            self.last = plan
        return plan

    def remember(self, key, int code, shape, dtype, tuple geom, *extra):
        """Keeps the plan of a validated call (key: fast_key's, or None)."""
        if key is not None and len(self.plans) < self.limit:
            self.plans[key] = Plan(key, code, tuple(shape), dtype, geom, extra)

    cdef object run(self, str fn, x, tuple window_args, tuple flags, out):
        """The result of a call that has a plan, or None: no plan, or an
        `out` that is not plainly fine (the full path checks it and says
        what is wrong)."""
        cdef Plan plan = self.lookup(x, window_args, flags)
        cdef int rc = 0
        if plan is None or (out is not None and not _fits(out, plan, <cnp.ndarray>x)):
            return None
        y = plan.empty(plan.type_num) if out is None else out
        if self.family == MAX_POOL:
            ind = plan.empty(cnp.NPY_INT64) if flags[1] else None
            if cnp.PyArray_SIZE(<cnp.ndarray>y):
                rc = _max_pool_fwd(plan.code, plan.geom, x, y, ind, 0)
            if rc:
                self.check_status(rc, fn)
            return (y, ind) if flags[1] else y
        if cnp.PyArray_SIZE(<cnp.ndarray>y):
            rc = _avg_pool(plan.code, plan.geom, x, y, plan.extra[0], plan.extra[1], False, 0)
        if rc:
            self.check_status(rc, fn)
        return y


cdef bint _fits(object out, Plan plan, cnp.ndarray x):
    """Whether `out` is a result array for the plan that cpool._args.output
    would accept: the plan's shape and dtype, native, aligned, C-contiguous,
    writeable, and no byte shared with x (both are contiguous: their byte
    ranges are disjoint)."""
    cdef cnp.ndarray o
    cdef char *a
    cdef char *b
    cdef int i
    if not cnp.PyArray_Check(out):
        return False
    o = <cnp.ndarray>out
    if (cnp.PyArray_NDIM(o) != plan.ndim or cnp.PyArray_TYPE(o) != plan.type_num
            or cnp.PyArray_FLAGS(o) & _WRITE != _WRITE or not cnp.PyArray_ISNOTSWAPPED(o)):
        return False
    for i in range(plan.ndim):
        if cnp.PyArray_DIMS(o)[i] != plan.dims[i]:
            return False
    a, b = <char *>cnp.PyArray_DATA(o), <char *>cnp.PyArray_DATA(x)
    return a + cnp.PyArray_NBYTES(o) <= b or b + cnp.PyArray_NBYTES(x) <= a


# ---- the kernels ------------------------------------------------------------

cdef int _max_pool_fwd(int dt, _Geom G, x, y, indices, int64_t y_offset) except? -100:
    cdef const void *px = _data(x, False)
    cdef void *py = _at(y, y_offset)
    cdef int64_t *pi = <int64_t *>_at(indices, y_offset)
    with nogil:
        return cpool_max_pool_fwd(<cpool_dtype>dt, &G.g, px, py, pi)


def max_pool_fwd(int dt, tuple geom, x, y, indices, int64_t y_offset=0):
    """y_offset: elements into y (and indices) where the result starts."""
    return _max_pool_fwd(dt, _Geom(geom), x, y, indices, y_offset)


cdef int _avg_pool(int dt, _Geom G, src, dst, bint count_include_pad, int64_t divisor,
                   bint backward, int64_t dst_offset) except? -100:
    cdef const void *ps = _data(src, False)
    cdef void *pd = _at(dst, dst_offset)
    with nogil:
        if backward:
            return cpool_avg_pool_bwd(<cpool_dtype>dt, &G.g, ps, pd, count_include_pad,
                                      divisor)
        return cpool_avg_pool_fwd(<cpool_dtype>dt, &G.g, ps, pd, count_include_pad, divisor)


def avg_pool(int dt, tuple geom, src, dst, bint count_include_pad, int64_t divisor,
             bint backward, int64_t dst_offset=0):
    """Forward (src = x, dst = y) or backward (src = grad_y, dst = grad_x);
    dst_offset: elements into dst where the result starts."""
    return _avg_pool(dt, _Geom(geom), src, dst, count_include_pad, divisor, backward,
                     dst_offset)


def lp_pool_fwd(int dt, tuple geom, x, y, double p):
    cdef _Geom G = _Geom(geom)
    cdef const void *px = _data(x, False)
    cdef void *py = _data(y, True)
    cdef int rc
    with nogil:
        rc = cpool_lp_pool_fwd(<cpool_dtype>dt, &G.g, px, py, p)
    return rc


def lp_pool_bwd(int dt, tuple geom, grad_y, x, y, grad_x, double p):
    cdef _Geom G = _Geom(geom)
    cdef const void *pg = _data(grad_y, False)
    cdef const void *px = _data(x, False)
    cdef const void *py = _data(y, False)
    cdef void *pgx = _data(grad_x, True)
    cdef int rc
    with nogil:
        rc = cpool_lp_pool_bwd(<cpool_dtype>dt, &G.g, pg, px, py, pgx, p)
    return rc


def stochastic_pool_fwd(int dt, tuple geom, x, y, indices, bint training, uint64_t seed,
                        tuple counter=None, bint check=False):
    """counter: None, or (base, n_stride, c_stride, d_stride, h_stride);
    check: also check the activations (status -5 for a bad one)."""
    cdef _Geom G = _Geom(geom)
    cdef cpool_counter ctr
    cdef const cpool_counter *pctr = NULL
    cdef int rc
    cdef const void *px = _data(x, False)
    cdef void *py = _data(y, True)
    cdef int64_t *pi = <int64_t *>_data(indices, True)
    if counter is not None:
        ctr.base, ctr.n_stride, ctr.c_stride, ctr.d_stride, ctr.h_stride = counter
        pctr = &ctr
    with nogil:
        if check:
            rc = cpool_stochastic_pool_fwd_checked(<cpool_dtype>dt, &G.g, px, py, pi,
                                                   training, seed, pctr)
        else:
            rc = cpool_stochastic_pool_fwd(<cpool_dtype>dt, &G.g, px, py, pi, training,
                                           seed, pctr)
    return rc


def first_invalid_activation(int dt, x):
    """Flat offset of the first negative, NaN or infinite element, or -1."""
    cdef const void *px = _data(x, False)
    cdef int64_t n = cnp.PyArray_SIZE(<cnp.ndarray>x)
    cdef int64_t r
    with nogil:
        r = cpool_first_invalid_activation(<cpool_dtype>dt, px, n)
    return r


def global_pool(int dt, tuple geom, x, y, bint is_max):
    cdef _Geom G = _Geom(geom)
    cdef const void *px = _data(x, False)
    cdef void *py = _data(y, True)
    cdef int rc
    with nogil:
        rc = cpool_global_pool(<cpool_dtype>dt, &G.g, px, py, is_max)
    return rc


def index_scatter(int dt, tuple geom, src, indices, dst, bint store):
    """dst = 0; dst[plane][indices] += src (store=False) or = src (store=True)."""
    cdef _Geom G = _Geom(geom)
    cdef const void *ps = _data(src, False)
    cdef const int64_t *pi = <const int64_t *>_data(indices, False)
    cdef void *pd = _data(dst, True)
    cdef int rc
    with nogil:
        if store:
            rc = cpool_index_scatter_store(<cpool_dtype>dt, &G.g, ps, pi, pd)
        else:
            rc = cpool_index_scatter_add(<cpool_dtype>dt, &G.g, ps, pi, pd)
    return rc


def index_gather_winners(int dt, tuple geom, grad_dst, indices, grad_src):
    cdef _Geom G = _Geom(geom)
    cdef const void *pd = _data(grad_dst, False)
    cdef const int64_t *pi = <const int64_t *>_data(indices, False)
    cdef void *ps = _data(grad_src, True)
    cdef int rc
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
