"""Moved to :mod:`benchmarks.analysis.sensitivity`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.analysis import sensitivity as _moved

sys.modules[__name__] = _moved
