"""Moved to :mod:`benchmarks.storage.hf`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import hf as _moved

sys.modules[__name__] = _moved
