"""Enumerate a whole registered space and check it against its card (for spaces too large for the tests).

The space conformance suite enumerates spaces of up to ``spaces.conformance.ENUMERATION_LIMIT``
architectures; this runs the same check, ``check_enumerate``, with no limit: ``enumerate`` gives
``size`` distinct architectures, as many equivalence classes as the card's ``num_unique``, and
``index`` / ``from_index`` agree with the enumeration order.

Prints one line and exits 1 if the check fails (2 for a space that cannot be enumerated).

    python scripts/enumerate_space.py nb201
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    """Enumerate the space named on the command line and print the result."""
    import spaces
    from spaces.conformance import check_enumerate

    parser = argparse.ArgumentParser(prog="enumerate_space", description=__doc__.split("\n\n")[0])
    parser.add_argument("space", help="registered space name")
    args = parser.parse_args(argv)
    try:
        space = spaces.requires(spaces.get(args.space), spaces.EnumerableSpace, "enumerate_space")
    except (KeyError, TypeError) as exc:
        print(f"enumerate_space: error: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        check_enumerate(space, limit=None)
    except AssertionError as exc:
        print(f"FAILED {exc}")
        return 1
    print(
        f"ok {space.name}: {space.size:,} architectures, {space.card.num_unique or '?'} classes, "
        f"{time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
