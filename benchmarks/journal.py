"""Moved to :mod:`benchmarks.storage.journal`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import journal as _moved

sys.modules[__name__] = _moved
