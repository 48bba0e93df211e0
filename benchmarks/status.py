"""Moved to :mod:`benchmarks.storage.status`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import status as _moved

sys.modules[__name__] = _moved
