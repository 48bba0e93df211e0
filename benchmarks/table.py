"""Moved to :mod:`benchmarks.storage.table`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import table as _moved

sys.modules[__name__] = _moved
