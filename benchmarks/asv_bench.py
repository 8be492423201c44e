"""asv suite: cpool's own times over the benchmark's case table
(cpool._bench.CASES, the table `python -m cpool bench` compares with
PyTorch), at the quick sizes, for regression tracking across commits.

    asv run --python=same --quick        # this checkout
    asv continuous main HEAD             # a change against main
"""
import numpy as np

import cpool
from cpool import _bench

_NAMES = [c.name for c in _bench.CASES]


class Pooling:
    params = (_NAMES, ["NCHW", "NHWC"])
    param_names = ["case", "layout"]
    timeout = 120

    def setup(self, name, layout):
        case = _bench.CASES[_NAMES.index(name)]
        x = _bench._input(case, quick=True)
        if layout == "NHWC":
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        self.runner = _bench._Runner(case, x, layout == "NHWC", None)

    def time_cpool(self, name, layout):
        self.runner.cpool()

    def time_cpool_one_thread(self, name, layout):
        with cpool.num_threads(1):
            self.runner.cpool()
