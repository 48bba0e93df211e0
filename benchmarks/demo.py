"""Moved to :mod:`benchmarks.commands.demo`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.commands import demo as _moved

sys.modules[__name__] = _moved
