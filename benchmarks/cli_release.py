"""Moved to :mod:`benchmarks.commands.release`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.commands import release as _moved

sys.modules[__name__] = _moved
