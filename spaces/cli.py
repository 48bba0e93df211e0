"""``archbench spaces``: list spaces, show a space's card, parse or sample architectures."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench spaces`` and its actions."""
    p = sub.add_parser(
        "spaces",
        help="list search spaces, parse and sample architectures",
        description="Search spaces: list them, show one, parse or sample architectures.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="registered spaces (the default)").set_defaults(func=_list)
    show = actions.add_parser("show", help="a space's card")
    show.add_argument("space")
    show.set_defaults(func=_show)
    parse = actions.add_parser("parse", help="canonical string, arch_id, published index of an architecture")
    parse.add_argument("space")
    parse.add_argument("arch", help="architecture string, e.g. an NB201 '|op~0|+|op~0|op~1|+|...|' string")
    parse.set_defaults(func=_parse)
    sample = actions.add_parser("sample", help="sample architectures with a seed")
    sample.add_argument("space")
    sample.add_argument("-n", type=int, default=5, help="how many (default: 5)")
    sample.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    sample.set_defaults(func=_sample)
    p.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    import spaces

    rows = []
    for name in spaces.list_spaces():
        card = spaces.SPACES.get(name).card
        source = f"  built with {card.source}" if card.source else ""
        rows.append((name, _count(card.num_archs), _count(card.num_unique), f"{card.paper}{source}"))
    width = [max(9, *(len(row[k]) for row in rows)) for k in range(3)] if rows else [9, 9, 9]
    for name, size, unique, paper in rows:
        print(f"{name:{width[0]}s} {size:>{width[1]}s} archs  {unique:>{width[2]}s} unique  {paper}")
    return 0


def _count(n: int | None) -> str:
    """A count with thousands separators, or in scientific notation past a billion (None: unknown)."""
    if n is None:
        return "?"
    return f"{n:,d}" if n < 10**9 else f"{n:.2e}"


def _show(args: argparse.Namespace) -> int:
    import spaces

    space = spaces.get(args.space)
    card = space.card
    from spaces.capabilities import capabilities

    size = "infinite" if card.num_archs is None else f"{card.num_archs:,}"
    print(
        f"{space.name} (version {space.version})\n  archs: {size}  unique: {card.num_unique}\n"
        f"  source: {card.source or 'archbench'}\n"
        f"  ops: {', '.join(card.ops)}\n  encoding: {card.encoding}\n  paper: {card.paper}\n"
        f"  inputs: {', '.join(kind.kind for kind in space.inputs)}\n"
        f"  capabilities: {', '.join(capabilities(space)) or 'core only'}"
    )
    encodings = getattr(space, "encodings", ())
    if encodings:
        print(f"  encodings: {', '.join(encodings)}")
    return 0


def _parse(args: argparse.Namespace) -> int:
    import spaces

    space = spaces.get(args.space)
    arch = space.parse(args.arch)
    print(
        f"arch:           {arch.string}\narch_id:        {arch.arch_id}\ncanonical form: {space.canonical(arch)}\n"
        f"index:          {space.index(arch)}\nrepresentative: {space.representative(arch).string}\n"
        f"degenerate:     {space.is_degenerate(arch)}"
    )
    return 0


def _sample(args: argparse.Namespace) -> int:
    import numpy as np

    import spaces

    space = spaces.get(args.space)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.n):
        arch = space.sample(rng)
        print(f"{arch.arch_id}  {arch.string}")
    return 0
