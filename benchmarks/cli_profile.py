"""Moved to :mod:`benchmarks.commands.profile`; this old path stays an alias of it (same module object)."""

import sys

from benchmarks.commands import profile as _moved

sys.modules[__name__] = _moved
