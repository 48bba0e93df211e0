"""Moved to :mod:`benchmarks.analysis.report`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.analysis import report as _moved

sys.modules[__name__] = _moved
