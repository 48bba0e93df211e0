"""``archbench leaderboard``: init | validate | submit | score | render | tracks.

Each submission problem is printed as its own line on stderr and the command exits with status 2;
other errors reach the root CLI's one-line handler (also status 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench leaderboard`` and its actions."""
    p = sub.add_parser(
        "leaderboard",
        help="host leaderboards: hidden splits, data-only submissions, scoring, a static site",
        description="Turn a table you built into a leaderboard (public part + host-only hidden part), "
        "validate and accept submissions, score them on the hidden part and render a static site.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    tracks = actions.add_parser("tracks", help="the registered tracks and their submission columns")
    tracks.set_defaults(func=_tracks)

    init = actions.add_parser("init", help="create a board from a table")
    init.add_argument("table", type=Path, help="a table folder you built (archbench build / release)")
    init.add_argument("--track", required=True, help="proxy | predictor | search | hardware")
    init.add_argument("--out", type=Path, required=True, help="new public board folder")
    init.add_argument("--hidden", type=Path, required=True, help="new host-only folder for the hidden part")
    init.add_argument("--param", action="append", default=[], help="track parameter KEY=VALUE (repeatable)")
    init.add_argument("--title", default=None, help="board title")
    init.add_argument("--practice", action="store_true", help="allow published truth (a practice board)")
    init.add_argument("--max-bytes", type=int, default=None, help="size limit of a rows file")
    init.set_defaults(func=_init)

    for name, helptext, func in (
        ("validate", "check a submission without storing it", _validate),
        ("submit", "validate and store a submission", _submit),
    ):
        q = actions.add_parser(name, help=helptext)
        q.add_argument("board", type=Path, help="the public board folder")
        q.add_argument("--rows", type=Path, required=True, help="rows: .csv or .parquet")
        q.add_argument(
            "--meta", type=Path, required=True, help="metadata block: JSON (see docs/leaderboards.md)"
        )
        q.set_defaults(func=func)

    score = actions.add_parser("score", help="score every submission on the hidden part")
    score.add_argument("board", type=Path)
    score.add_argument("--hidden", type=Path, required=True, help="the host-only folder written by init")
    score.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    score.set_defaults(func=_score)

    render = actions.add_parser("render", help="write the static site for one or more boards")
    render.add_argument("boards", type=Path, nargs="+")
    render.add_argument("--out", type=Path, required=True, help="site folder")
    render.add_argument("--overwrite", action="store_true", help="replace an existing site folder")
    render.set_defaults(func=_render)
    p.set_defaults(func=_tracks)


def _tracks(args: argparse.Namespace) -> int:
    from leaderboards.tracks import TRACKS

    for name in TRACKS.names():
        track = TRACKS.get(name)
        cols = ", ".join(f"{c.name}:{c.kind}" for c in track.columns)
        print(f"{name:10s} {track.summary}\n{'':10s} columns: {cols}")
    return 0


def _params(items: list[str]) -> dict[str, object]:
    from predictors.search.cli import parse_params

    return parse_params(items)


def _init(args: argparse.Namespace) -> int:
    from leaderboards.board import init_board
    from leaderboards.schema import ROWS_MAX_BYTES

    max_bytes = args.max_bytes if args.max_bytes is not None else ROWS_MAX_BYTES
    if max_bytes < 1:
        raise ValueError("--max-bytes must be >= 1")
    board = init_board(
        args.table,
        args.track,
        args.out,
        args.hidden,
        _params(args.param),
        args.practice,
        args.title,
        max_bytes,
    )
    print(f"board {board.path} ({board.info['track']}, release {board.info['release'][:23]}...)")
    print(f"hidden part (keep private) {args.hidden}; commitment {board.info['commitment']}")
    return 0


def _report(problems: list[str]) -> int:
    for line in problems:
        print(f"archbench leaderboard: refused: {' '.join(line.split())}", file=sys.stderr)
    return 2


def _validate(args: argparse.Namespace) -> int:
    from leaderboards.board import load_board, validate

    _, _, problems = validate(load_board(args.board), args.rows, args.meta)
    if problems:
        return _report(problems)
    print("valid")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from leaderboards.board import load_board, submit
    from leaderboards.schema import SubmissionError

    try:
        folder = submit(load_board(args.board), args.rows, args.meta)
    except SubmissionError as exc:
        return _report(exc.problems)
    print(f"accepted as {folder.name}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from leaderboards.board import load_board
    from leaderboards.scoring import score_board

    result = score_board(load_board(args.board), args.hidden, args.boot)
    for e in result["entries"]:
        h = e["hidden"]
        print(
            f"{e['rank']:3d} {e['id']}  {result['main']} {h['value']} [{h['low']}, {h['high']}]  rank delta {e['rank_delta']:+d}"
        )
    print(f"scores {args.board / 'scores.json'}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from leaderboards.board import load_board
    from leaderboards.site import render_site

    index = render_site([load_board(b) for b in args.boards], args.out, args.overwrite)
    print(f"site {index}")
    return 0
