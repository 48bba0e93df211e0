"""Moved to :mod:`benchmarks.analysis.metrics`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.analysis import metrics as _moved

sys.modules[__name__] = _moved
