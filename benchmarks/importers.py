"""Moved to :mod:`benchmarks.published.importers`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.published import importers as _moved

sys.modules[__name__] = _moved
