"""The ``archbench`` command: a thin argparse root whose subcommands come from entry points.

Each package contributes its subcommands from its own ``cli.py`` through the entry-point group
``archbench.commands`` (a callable taking the subparsers object), so the root never imports a higher
layer. The subcommands of :mod:`benchmarks` live in :mod:`benchmarks.commands`; the old names
(``benchmarks.cli.register_build``...) still resolve. Heavy libraries are imported inside command bodies, so ``--help`` answers at once. Errors
print one line naming the problem and exit with status 2; nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

# The argument helpers every subcommand shares, re-exported here (their old home).
from benchmarks.commands.args import CLIError, field_values, int_list, key_values, name_list

_BUILTIN_COMMANDS = {
    "spaces": "spaces.cli:register",
    "proxies": "proxies.cli:register",
    "build": "benchmarks.commands.build:register_build",
    "status": "benchmarks.commands.query:register_status",
    "query": "benchmarks.commands.query:register_query",
    "demo": "benchmarks.commands.demo:register_demo",
    "import": "benchmarks.commands.evaluate:register_import",
    "proxies-evaluate": "benchmarks.commands.evaluate:register_proxies_evaluate",
    "proxies-sensitivity": "benchmarks.commands.evaluate:register_proxies_sensitivity",
    "profile": "benchmarks.commands.profile:register",
    "release": "benchmarks.commands.release:register_release",
    "export": "benchmarks.commands.release:register_export",
}


def _command_loaders() -> dict[str, str]:
    found = {ep.name: ep.value for ep in entry_points(group="archbench.commands")}
    return found or dict(_BUILTIN_COMMANDS)


def _load(target: str):
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        key = exc.args[0]
        if isinstance(key, bytes):
            key = key.decode(errors="replace")
        # Our own KeyErrors carry a sentence; a bare key from deeper down means a missing field.
        text = str(key) if " " in str(key) else f"missing field {str(key)!r} in the input"
    else:
        text = str(exc)
    return " ".join(text.split()) or type(exc).__name__


def make_parser() -> argparse.ArgumentParser:
    """The root parser with every registered subcommand."""
    from benchmarks.storage.schema import archbench_version

    parser = argparse.ArgumentParser(
        prog="archbench",
        description="NAS benchmark tables: search spaces, zero-cost proxies, reduced training, rank correlations.",
    )
    parser.add_argument("--version", action="version", version=f"archbench {archbench_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for _name, target in sorted(_command_loaders().items()):
        _load(target)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``archbench`` console script."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from benchmarks.storage.journal import JournalError
    from benchmarks.storage.store import TableError

    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, KeyError, TypeError, OSError, TableError, JournalError) as exc:
        print(f"archbench {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"archbench {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


__all__ = ["CLIError", "field_values", "int_list", "key_values", "main", "make_parser", "name_list"]

_MOVED = {
    "register_build": "benchmarks.commands.build",
    "_build": "benchmarks.commands.build",
    "register_status": "benchmarks.commands.query",
    "register_query": "benchmarks.commands.query",
    "register_demo": "benchmarks.commands.demo",
    "_executor_for": "benchmarks.commands.args",
}


def __getattr__(name: str) -> Any:
    """Old names of the subcommands that moved to :mod:`benchmarks.commands`."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    target = "executor_for" if name == "_executor_for" else name
    return _load(f"{_MOVED[name]}:{target}")
