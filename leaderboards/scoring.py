"""Score every accepted submission of a board on its hidden part: ranks, CIs, rank deltas, separability.

Entries are ranked on the hidden main metric. Each entry also gets its rank on the public part (the
score an entrant could compute alone) and the delta ``public rank - hidden rank`` (positive: it did
better on hidden truth than its public score suggested). Adjacent entries are marked separable when the
better one wins in >= 95% of the bootstrap draws (:mod:`leaderboards.stats`).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from benchmarks.analysis.metrics import Estimate
from leaderboards import stats
from leaderboards.board import Board, hidden_part, read_submission

SCORES_FILE = "scores.json"


def _estimate(value: Estimate) -> dict[str, float | None]:
    def clean(x: float) -> float | None:
        return None if not math.isfinite(x) else round(float(x), 6)

    return {"value": clean(value.value), "low": clean(value.low), "high": clean(value.high)}


def score_board(board: Board, hidden_dir: str | Path, n_boot: int = stats.N_BOOT) -> dict[str, Any]:
    """Score all submissions and write ``scores.json`` (atomically); return its content."""
    from benchmarks.storage.schema import utc_now
    from spaces.atomic import atomic_file

    if n_boot < 100:
        raise ValueError(f"n_boot must be >= 100 for a 95% interval, got {n_boot}")
    hidden = hidden_part(board, hidden_dir)
    track = board.track
    entries, all_draws = [], []
    for folder in board.submissions():
        rows, record = read_submission(folder)
        scores = track.score(rows, board.public, hidden, board.params, n_boot)
        all_draws.append(scores.draws)
        entries.append(
            {
                "id": folder.name,
                "metadata": record["metadata"],
                "submitted_at": record["submitted_at"],
                "hidden": _estimate(scores.hidden),
                "public": None if not math.isfinite(scores.public) else round(scores.public, 6),
                "extra": {k: _estimate(v) for k, v in scores.extra.items()},
            }
        )
    better = track.higher_is_better
    hidden_ranks = stats.ranks(
        [e["hidden"]["value"] if e["hidden"]["value"] is not None else math.nan for e in entries], better
    )
    public_ranks = stats.ranks(
        [e["public"] if e["public"] is not None else math.nan for e in entries], better
    )
    for entry, h, p, draws in zip(entries, hidden_ranks, public_ranks, all_draws):
        entry.update(rank=h, public_rank=p, rank_delta=p - h, _draws=draws)
    entries.sort(key=lambda e: (e["rank"], e["id"]))
    for above, below in itertools.pairwise(entries):
        rate = stats.win_rate(above["_draws"], below["_draws"], better)
        below["win_rate_of_above"] = None if not math.isfinite(rate) else round(rate, 4)
        below["separable_from_above"] = stats.separable(rate)
    for entry in entries:
        del entry["_draws"]
    result = {
        "board_id": board.info["board_id"],
        "track": track.name,
        "main": track.main,
        "higher_is_better": better,
        "commitment": board.info["commitment"],
        "n_boot": n_boot,
        "level": stats.LEVEL,
        "paired": track.paired,
        "scored_at": utc_now(),
        "entries": entries,
    }
    with atomic_file(board.path / SCORES_FILE) as tmp:
        tmp.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


def read_scores(board: Board) -> dict[str, Any] | None:
    """The board's ``scores.json``, or ``None`` before the first ``score``."""
    from spaces.jsonio import load_bounded

    path = board.path / SCORES_FILE
    return load_bounded(path, 16 * 1024 * 1024) if path.is_file() else None
