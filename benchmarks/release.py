"""Moved to :mod:`benchmarks.storage.release`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import release as _moved

sys.modules[__name__] = _moved
