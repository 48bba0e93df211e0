"""Moved to :mod:`benchmarks.storage.markup`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.storage import markup as _moved

sys.modules[__name__] = _moved
