"""``archbench proxies``: list the registered proxies with their cards, or show one."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench proxies`` and its actions."""
    p = sub.add_parser(
        "proxies",
        help="list zero-cost proxies and their cards",
        description="Zero-cost proxies: what each needs, its direction and its paper.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="registered proxies (the default)")
    listing.add_argument("--filter", default=None, help="fnmatch pattern, e.g. 'syn*'")
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="one proxy's card")
    show.add_argument("proxy")
    show.set_defaults(func=_show)
    p.set_defaults(func=_list, filter=None)


def _list(args: argparse.Namespace) -> int:
    import proxies

    for name in proxies.list_proxies(args.filter):
        card = proxies.get_proxy(name).card
        needs = (
            ",".join(
                k
                for k, v in (
                    ("data", card.needs_data),
                    ("labels", card.needs_labels),
                    ("grad", card.needs_grad),
                )
                if v
            )
            or "-"
        )
        direction = "higher" if card.higher_is_better else "lower"
        print(f"{name:15s} {card.kind:10s} needs {needs:17s} {direction:6s} {card.summary}")
    return 0


def _show(args: argparse.Namespace) -> int:
    import proxies

    card = proxies.get_proxy(args.proxy).card
    for key, value in card.__dict__.items():
        print(f"{key:17s} {value}")
    return 0
