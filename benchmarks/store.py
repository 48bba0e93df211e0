"""Moved to :mod:`benchmarks.storage.store`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import store as _moved

sys.modules[__name__] = _moved
