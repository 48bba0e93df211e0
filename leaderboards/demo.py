"""The last step of ``archbench demo``: a proxy leaderboard of the demo's own proxies, rendered as a site.

Each demo proxy becomes one data-only submission (its scores from the demo table), scored on a hidden
split of the demo's ground truth (val accuracy archbench trained itself), and the site is written to
``OUT/leaderboard/site``. The hidden part goes to ``OUT/leaderboard/host-only``.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

DEMO_CODE_URL = "https://archbench.invalid/demo"
"""A placeholder on the reserved ``.invalid`` domain (RFC 2606): the demo's code is archbench itself."""


def _command(out: Path) -> str:
    if Path(sys.argv[0]).name == "archbench":
        return shlex.join(["archbench", *sys.argv[1:]])
    return shlex.join(["archbench", "demo", "--out", str(out)])


def demo_leaderboard(
    table_dir: Path, out: Path, proxies: tuple[str, ...], task: str, console: Any, n_boot: int = 1000
) -> Path:
    """Init a proxy board on the demo table, submit every proxy, score, render; return the site's index."""
    import pandas as pd

    from benchmarks.storage.schema import archbench_version
    from benchmarks.storage.table import open_table
    from leaderboards.board import init_board, submit
    from leaderboards.scoring import score_board
    from leaderboards.site import render_site

    root = Path(out) / "leaderboard"
    shutil.rmtree(root, ignore_errors=True)
    board = init_board(
        table_dir,
        "proxy",
        root / "board",
        root / "host-only",
        {"metric": "val_acc", "task": task},
        title=f"demo: zero-cost proxies vs {task} val accuracy",
    )
    table = open_table(table_dir)
    ids = board.public["archs"]["arch_id"]
    skipped = []
    for proxy in proxies:
        if proxy not in table.metrics:
            skipped.append(proxy)
            continue
        frame = table.filter(metric=proxy, task=task, status="ok")
        scores = table.wide([proxy], task=task)
        values = scores[proxy].reindex(ids) if proxy in scores else pd.Series(float("nan"), index=ids)
        if values.isna().any():
            skipped.append(proxy)
            continue
        folder = root / "submissions" / proxy
        folder.mkdir(parents=True)
        pd.DataFrame({"arch_id": ids.to_numpy(), "score": values.to_numpy()}).to_csv(
            folder / "rows.csv", index=False
        )
        meta = {
            "method": proxy,
            "authors": ["archbench demo"],
            "code_url": DEMO_CODE_URL,
            "compute": {
                "hardware": "this machine's CPU",
                "hours": round(float(frame["seconds"].sum()) / 3600, 6),
            },
            "archbench_version": archbench_version(),
            "command": _command(Path(out)),
            "release": board.info["release"],
            "description": f"the {proxy} scores of the demo table, one per architecture",
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=1))
        submit(board, folder / "rows.csv", folder / "meta.json")
    result = score_board(board, root / "host-only", n_boot)
    index = render_site([board], root / "site", overwrite=True)
    best = result["entries"][0] if result["entries"] else None
    if best:
        h = best["hidden"]
        console.print(
            f"leaderboard: {len(result['entries'])} proxies on {len(board.public['archs'])} cells; best on the hidden "
            f"split: {best['metadata']['method']} (Kendall {h['value']:+.3f} [{h['low']:+.3f}, {h['high']:+.3f}])"
            + (f"; skipped (missing or failed on some cells): {', '.join(skipped)}" if skipped else "")
        )
    console.print(f"leaderboard site: {index.resolve()}")
    return index
