"""Moved to :mod:`benchmarks.pipeline.driver`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.pipeline import driver as _moved

sys.modules[__name__] = _moved
