"""Hardware-transfer track: latency predictions for devices whose tables are hidden, given k public samples each.

Some devices of a latency table are held out (``hidden_devices``, or the last ``n_hidden`` in sorted
order); the other devices' tables are public, and each held-out device contributes ``k`` public samples
(its "shots", chosen with a fixed seed). Submissions predict every architecture on every held-out
device; the main metric is Spearman's rho on the non-shot architectures, averaged over held-out
devices, the measure HELP reports (Lee et al., "HELP: Hardware-Adaptive Efficient Latency Prediction
for NAS via Meta-Learning", NeurIPS 2021). The public score is Spearman on the shots.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from benchmarks.analysis.metrics import spearman
from leaderboards import stats
from leaderboards.schema import Column
from leaderboards.tracks.base import (
    TRACKS,
    Scores,
    Split,
    Track,
    duplicate_problems,
    id_problems,
    truth_by_arch,
)


def _devices(table: Any, metric: str) -> list[str]:
    table.check_filters(metric=metric)
    found = table.filter(metric=metric, status="ok")["device"].astype(str).unique()
    return sorted(d for d in found if d != "imported")


@TRACKS.register("hardware")
class HardwareTrack(Track):
    """Latency predictions for held-out devices from k shots each; mean Spearman over held-out devices."""

    name = "hardware"
    summary = "latency on hidden devices from k public samples each; mean Spearman over devices"
    columns: ClassVar[tuple[Column, ...]] = (
        Column("device", "id", "a held-out device of public/shots.parquet"),
        Column("arch_id", "id", "an arch_id of public/archs.parquet"),
        Column("latency", "float", "predicted latency (any monotone scale)"),
    )
    main = "spearman"
    higher_is_better = True
    defaults: ClassVar[dict[str, Any]] = {
        "metric": "latency_ms",
        "hidden_devices": None,
        "n_hidden": 2,
        "k": 10,
        "seed": 0,
    }

    def make_split(self, table: Any, params: dict[str, Any]) -> Split:
        """Public devices' tables and k shots per held-out device (public); the rest hidden."""
        metric, k = str(params["metric"]), int(params["k"])
        devices = _devices(table, metric)
        if params["hidden_devices"]:
            given = params["hidden_devices"]
            held = sorted(given.split(",") if isinstance(given, str) else given)
            unknown = sorted(set(held) - set(devices))
            if unknown:
                raise ValueError(f"hidden_devices {unknown} are not in the table (devices: {devices})")
        else:
            held = devices[-int(params["n_hidden"]) :] if int(params["n_hidden"]) > 0 else []
        if not held or len(held) == len(devices):
            raise ValueError(f"need >= 1 held-out and >= 1 public device; the table has {devices}")
        per_device = {
            d: truth_by_arch(table, metric, None, device=d).frame.set_index("arch_id") for d in devices
        }
        common = sorted(set.intersection(*(set(f.index) for f in per_device.values())))
        if len(common) < k + 5:
            raise ValueError(
                f"{len(common)} architectures are measured on every device; need >= k + 5 = {k + 5}"
            )
        rng = np.random.default_rng(int(params["seed"]))
        archs = per_device[devices[0]].loc[common, ["arch"]].reset_index()
        train = pd.concat(
            [
                per_device[d].loc[common, ["value"]].reset_index().assign(device=d)
                for d in devices
                if d not in held
            ]
        )
        shots, hidden = [], []
        for device in held:
            chosen = set(rng.choice(common, size=k, replace=False))
            frame = per_device[device].loc[common, ["value"]].reset_index().assign(device=device)
            shots.append(frame[frame["arch_id"].isin(chosen)])
            hidden.append(frame[~frame["arch_id"].isin(chosen)])
        public = {
            "archs": archs,
            "train": train[["device", "arch_id", "value"]].reset_index(drop=True),
            "shots": pd.concat(shots)[["device", "arch_id", "value"]].reset_index(drop=True),
        }
        truth = pd.concat(hidden)[["device", "arch_id", "value"]].reset_index(drop=True)
        return Split(public, {"truth": truth}, {**params, "hidden_devices": held})

    def check(self, rows: pd.DataFrame, public: dict[str, pd.DataFrame], params: dict[str, Any]) -> list[str]:
        """Every (held-out device, architecture) pair once."""
        held = [str(d) for d in params["hidden_devices"]]
        problems = duplicate_problems(rows, ["device", "arch_id"], "rows")
        problems += id_problems(rows["device"], set(held), "device", "rows")
        expected = set(public["archs"]["arch_id"])
        for device in held:
            part = rows.loc[rows["device"] == device, "arch_id"]
            if len(part):
                problems += id_problems(part, expected, "arch_id", f"rows (device {device})")
        return problems

    def score(
        self,
        rows: pd.DataFrame,
        public: dict[str, pd.DataFrame],
        hidden: dict[str, pd.DataFrame],
        params: dict[str, Any],
        n_boot: int = stats.N_BOOT,
    ) -> Scores:
        """Mean Spearman over held-out devices (paired draws per device); Spearman per device."""
        preds = rows.set_index(["device", "arch_id"])["latency"]
        truth, shots = hidden["truth"], public["shots"]
        points, draws, public_scores, extra = [], [], [], {}
        for number, device in enumerate(sorted(str(d) for d in params["hidden_devices"])):
            part = truth[truth["device"] == device].sort_values("arch_id")
            keys = pd.MultiIndex.from_arrays([part["device"], part["arch_id"]])
            x, y = preds.reindex(keys).to_numpy(), part["value"].to_numpy()
            index = stats.resamples(len(y), n_boot, seed=stats.SEED + number)
            device_draws = stats.draws_of(lambda i, x=x, y=y: spearman(x[i], y[i]), index)
            points.append(spearman(x, y))
            draws.append(device_draws)
            extra[f"spearman[{device}]"] = stats.estimate(points[-1], device_draws)
            shot = shots[shots["device"] == device]
            shot_keys = pd.MultiIndex.from_arrays([shot["device"], shot["arch_id"]])
            public_scores.append(spearman(preds.reindex(shot_keys).to_numpy(), shot["value"].to_numpy()))
        mean_draws = np.nanmean(np.stack(draws), axis=0)
        return Scores(
            stats.estimate(float(np.mean(points)), mean_draws),
            float(np.nanmean(public_scores)),
            mean_draws,
            extra,
        )
