"""NASLib's keys for NAS-Bench-201 cells (NAS-Bench-Suite-Zero's ``zc_nasbench201.json`` and NASLib's API).

NASLib names a cell by a tuple of 6 op codes, e.g. ``"(4, 0, 3, 1, 4, 3)"``, with its own op order and
edge order (Krishnakumar et al., "NAS-Bench-Suite-Zero", NeurIPS 2022; NASLib's ``nasbench201``
search space). Importers of NASLib files read keys through :meth:`spaces.nb201.NB201Space.from_naslib`.
"""

from __future__ import annotations

import re

NB201_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
"""NASLib's NB201 op codes: 0=skip_connect, 1=none, 2=nor_conv_3x3, 3=nor_conv_1x1, 4=avg_pool_3x3."""
NB201_EDGE_ORDER = (0, 1, 3, 2, 4, 5)
"""Arch-string edge position of each tuple element: NASLib lists edges e(1,2), e(1,3), e(1,4), e(2,3),
e(2,4), e(3,4), which are arch-string positions p0, p1, p3, p2, p4, p5."""
_KEY = re.compile(
    r"^\(\s*([0-4])\s*,\s*([0-4])\s*,\s*([0-4])\s*,\s*([0-4])\s*,\s*([0-4])\s*,\s*([0-4])\s*\)$"
)


def nb201_from_naslib(key: str) -> str:
    """The NB201 arch string of a NASLib op-index tuple key such as ``"(4, 0, 3, 1, 4, 3)"``."""
    match = _KEY.match(str(key))
    if not match:
        raise ValueError(
            f"{key!r} is not a NASLib NB201 key (a tuple of 6 op codes 0-4, e.g. '(4, 0, 3, 1, 4, 3)')"
        )
    ops = [""] * 6
    for code, position in zip(match.groups(), NB201_EDGE_ORDER):
        ops[position] = NB201_OPS[int(code)]
    return f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


def naslib_from_nb201(arch: str) -> str:
    """The NASLib op-index tuple key of an NB201 arch string (the inverse of :func:`nb201_from_naslib`)."""
    import spaces

    space = spaces.get("nb201")
    ops = space.ops_of(space.parse(arch))  # type: ignore[attr-defined]
    return "(" + ", ".join(str(NB201_OPS.index(ops[p])) for p in NB201_EDGE_ORDER) + ")"
