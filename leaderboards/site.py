"""``render``: a static site (HTML, CSS, SVG plots, one small script) that works from ``file://``.

One page per board (a track on a task), one page per submission with its exact command, and an index.
Every user-supplied string (metadata, ids, parameters) passes :func:`benchmarks.storage.markup.html_text`;
links are built from archbench-made ids only, and a code URL is linked only when it is ``http(s)``. A
Content-Security-Policy allows scripts and styles from the site's own files only, so even an escaping
mistake could not run inline script.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from benchmarks.storage.markup import html_text as esc
from benchmarks.storage.markup import slug
from leaderboards.board import Board, read_submission
from leaderboards.scoring import read_scores

ASSETS = Path(__file__).with_name("assets")
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"


def _page(title: str, body: str, root: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)}</title><link rel="stylesheet" href="{root}style.css"></head>\n'
        f'<body>\n{body}\n<script src="{root}sort.js"></script>\n</body></html>\n'
    )


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _ci(est: dict[str, Any] | None) -> tuple[str, str]:
    """Cell text and sort value of an estimate with its interval."""
    if not est or est.get("value") is None:
        return "–", ""
    return f"{_num(est['value'])} [{_num(est['low'])}, {_num(est['high'])}]", f"{est['value']}"


def _cell(text: str, sort: object, num: bool = True) -> str:
    css = ' class="num"' if num else ""
    return f'<td{css} data-v="{esc(sort)}">{text}</td>'


def _safe_url(url: object) -> str | None:
    text = str(url)
    return text if text.startswith(("https://", "http://")) and not any(c.isspace() for c in text) else None


def board_slug(board: Board) -> str:
    """The board's folder name in the site (track, task and the board id: unique and file-name safe)."""
    return slug(f"{board.info['track']}-{board.info['task']}", 30) + "-" + str(board.info["board_id"])[:8]


def _board_page(board: Board, scores: dict[str, Any] | None) -> str:
    info = board.info
    head = f'<p><a href="../index.html">all leaderboards</a></p><h1>{esc(info["title"])}</h1>'
    if info.get("practice"):
        head += '<p class="banner">Practice board: its truth comes from published numbers, so scores here are for practice, not ranking.</p>'
    params = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in sorted(info["params"].items()))
    head += (
        f"<dl><dt>track</dt><dd>{esc(info['track'])}</dd><dt>task</dt><dd>{esc(info['task'])}</dd>"
        f"<dt>table release</dt><dd><code>{esc(info['release'])}</code></dd>"
        f"<dt>hidden part commitment</dt><dd><code>{esc(info['commitment'])}</code></dd>{params}</dl>"
    )
    if not scores or not scores["entries"]:
        return head + "<p>No scored submissions yet.</p>"
    entries = scores["entries"]
    extra_names = sorted({k for e in entries for k in e["extra"]})
    better = "higher" if scores["higher_is_better"] else "lower"
    columns = [
        "rank",
        "separable from above",
        "method",
        "authors",
        f"hidden {scores['main']} [95% CI]",
        f"public {scores['main']}",
        "public rank",
        "rank Δ (public − hidden)",
        *extra_names,
        "compute h",
    ]
    header = "".join(f'<th scope="col"><button type="button">{esc(c)}</button></th>' for c in columns)
    rows = []
    for e in entries:
        meta = e["metadata"]
        sep = e.get("separable_from_above")
        sep_text = (
            "–" if sep is None else ("yes" if sep else "no") + f" ({_num(e.get('win_rate_of_above'), 2)})"
        )
        hidden_text, hidden_sort = _ci(e["hidden"])
        cells = [
            _cell(str(e["rank"]), e["rank"]),
            _cell(sep_text, "" if sep is None else int(sep), num=False),
            _cell(f'<a href="{esc(e["id"])}.html">{esc(meta["method"])}</a>', meta["method"], num=False),
            _cell(esc(", ".join(meta["authors"])), ", ".join(meta["authors"]), num=False),
            _cell(hidden_text, hidden_sort),
            _cell(_num(e["public"]), "" if e["public"] is None else e["public"]),
            _cell(str(e["public_rank"]), e["public_rank"]),
            _cell(f"{e['rank_delta']:+d}", e["rank_delta"]),
            *(_cell(*_ci(e["extra"].get(name))) for name in extra_names),
            _cell(_num(meta["compute"]["hours"], 2), meta["compute"]["hours"]),
        ]
        tie = ' class="tie"' if sep is False else ""
        rows.append(f"<tr{tie}>{''.join(cells)}</tr>")
    note = (
        f'<p class="note">Ranked on the hidden {esc(scores["main"])} ({better} is better). Intervals: percentile '
        f"bootstrap, {scores['n_boot']} resamples of the hidden units. <em>Separable from above</em>: the entry above "
        f"wins in at least {scores['level']:.0%} of {'paired' if scores['paired'] else 'independent'} bootstrap draws "
        "(the share is in brackets); rows marked on the left are not separable from the one above. Click a header to sort.</p>"
    )
    table = f'<table class="sortable" id="scores"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    plot = '<h2>Scores</h2><img class="plot" src="scores.svg" alt="hidden scores with 95% intervals, and public vs hidden rank">'
    return head + "<h2>Ranking</h2>" + table + note + plot


def _submission_page(entry: dict[str, Any], record: dict[str, Any], board: Board) -> str:
    meta = record["metadata"]
    url = _safe_url(meta["code_url"])
    code = (
        f'<a href="{esc(url)}" rel="nofollow noopener noreferrer">{esc(url)}</a>'
        if url
        else esc(meta["code_url"])
    )
    fields = [
        ("method", esc(meta["method"])),
        ("authors", esc(", ".join(meta["authors"]))),
        ("code", code),
        ("compute", f"{esc(meta['compute']['hardware'])}, {esc(meta['compute']['hours'])} h"),
        ("archbench version", esc(meta["archbench_version"])),
        ("table release", f"<code>{esc(meta['release'])}</code>"),
        ("submitted", esc(record["submitted_at"])),
        ("rows", esc(record["rows"])),
        ("SHA-256", f"<code>{esc(record['sha256'])}</code>"),
        ("hidden rank", esc(entry["rank"])),
        (f"hidden {esc(board.info['main'])}", esc(_ci(entry["hidden"])[0])),
        ("public score / rank", f"{esc(_num(entry['public']))} / {esc(entry['public_rank'])}"),
    ]
    fields += [(esc(k), esc(_ci(v)[0])) for k, v in sorted(entry["extra"].items())]
    body = (
        f'<p><a href="index.html">{esc(board.info["title"])}</a></p><h1>{esc(meta["method"])}</h1>'
        f"<dl>{''.join(f'<dt>{k}</dt><dd>{v}</dd>' for k, v in fields)}</dl>"
        f"<h2>Exact command</h2><pre>{esc(meta['command'])}</pre>"
    )
    if meta.get("description"):
        body += f"<h2>Description</h2><p>{esc(meta['description'])}</p>"
    return body


def render_site(boards: list[Board], out: str | Path, overwrite: bool = False) -> Path:
    """Write the site for ``boards`` into ``out`` (atomically); return the index page's path."""
    from leaderboards.plots import plot_scores
    from spaces.atomic import atomic_folder

    out = Path(out)
    if not boards:
        raise ValueError("render needs at least one board")
    listing = []
    with atomic_folder(out, overwrite=overwrite) as tmp:
        for asset in ("style.css", "sort.js"):
            shutil.copyfile(ASSETS / asset, tmp / asset)
        for board in boards:
            scores = read_scores(board)
            name = board_slug(board)
            folder = tmp / name
            folder.mkdir()
            (folder / "index.html").write_text(_page(board.info["title"], _board_page(board, scores), "../"))
            if scores and scores["entries"]:
                plot_scores(scores, folder / "scores.svg")
                by_id = {p.name: p for p in board.submissions()}
                for entry in scores["entries"]:
                    _, record = read_submission(by_id[entry["id"]])
                    page = _page(record["metadata"]["method"], _submission_page(entry, record, board), "../")
                    (folder / f"{entry['id']}.html").write_text(page)
            count = len(scores["entries"]) if scores else 0
            listing.append(
                f'<tr><td data-v="{esc(board.info["track"])}">{esc(board.info["track"])}</td>'
                f'<td data-v="{esc(board.info["task"])}">{esc(board.info["task"])}</td>'
                f'<td data-v="{esc(board.info["title"])}"><a href="{name}/index.html">{esc(board.info["title"])}</a>'
                f"{' (practice)' if board.info.get('practice') else ''}</td>"
                f'<td class="num" data-v="{count}">{count}</td></tr>'
            )
        header = "".join(
            f'<th scope="col"><button type="button">{c}</button></th>'
            for c in ("track", "task", "board", "entries")
        )
        body = (
            '<h1>archbench leaderboards</h1><table class="sortable" id="boards">'
            f"<thead><tr>{header}</tr></thead><tbody>{''.join(listing)}</tbody></table>"
            '<p class="note">Static site rendered by <code>archbench leaderboard render</code>.</p>'
        )
        (tmp / "index.html").write_text(_page("archbench leaderboards", body, ""))
    return out / "index.html"
