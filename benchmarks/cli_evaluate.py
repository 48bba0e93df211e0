"""Moved to :mod:`benchmarks.commands.evaluate`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.commands import evaluate as _moved

sys.modules[__name__] = _moved
