"""Moved to :mod:`benchmarks.analysis.render`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.analysis import render as _moved

sys.modules[__name__] = _moved
