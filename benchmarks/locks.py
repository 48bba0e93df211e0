"""Moved to :mod:`benchmarks.storage.locks`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import locks as _moved

sys.modules[__name__] = _moved
