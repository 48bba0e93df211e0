"""Moved to :mod:`benchmarks.pipeline.executors`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.pipeline import executors as _moved

sys.modules[__name__] = _moved
