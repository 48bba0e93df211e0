"""Moved to :mod:`benchmarks.pipeline.ray_executor`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.pipeline import ray_executor as _moved

sys.modules[__name__] = _moved
