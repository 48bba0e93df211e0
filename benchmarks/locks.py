"""Moved to :mod:`spaces.locks` (beside :mod:`spaces.atomic`); this old path stays an alias of it."""

import sys

from spaces import locks as _moved

sys.modules[__name__] = _moved
