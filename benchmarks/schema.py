"""Moved to :mod:`benchmarks.storage.schema`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import schema as _moved

sys.modules[__name__] = _moved
