"""Moved to :mod:`benchmarks.analysis.derived`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.analysis import derived as _moved

sys.modules[__name__] = _moved
