"""Moved to :mod:`benchmarks.storage.progress`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import progress as _moved

sys.modules[__name__] = _moved
