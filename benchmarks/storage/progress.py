"""Progress and ETA for journaled runs: a rich bar on a terminal, one plain line a minute elsewhere.

A whole-space build mixes units whose costs differ by 30x (a cost unit counts parameters in 0.1 s,
a proxy unit runs backward passes for 3 s), usually in long runs of one kind, so one overall
units-per-second rate mispredicts the remaining time by that factor whenever the mix changes.
:class:`StageEta` keeps a rate per *stage* (the first field of a unit key: ``cost``, ``proxies``,
``train``, ``profile``...) instead. Runs that outlive a terminal (``nohup``, CI, a Ray head node)
get a plain, timestamped line every ``interval`` seconds on stderr instead of a bar nobody sees.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import IO

from benchmarks.storage.schema import utc_now


def unit_stage(key: str) -> str:
    """The stage of a unit key: its first ``|``-separated field (``cost``, ``proxies``, ``train``...)."""
    return key.partition("|")[0]


def stage_counts(keys: Iterable[str]) -> dict[str, int]:
    """Number of unit keys per stage, in first-seen order."""
    return dict(Counter(unit_stage(k) for k in keys))


def format_duration(seconds: float | None) -> str:
    """``H:MM:SS`` (``?`` when unknown or not finite)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class StageEta:
    """Remaining wall time from per-stage throughput.

    Each finished unit is charged the wall time since the previous one finished (or since the start),
    so with parallel workers the charges still add up to the elapsed time. A stage's mean charge
    times its remaining units, summed over stages, is the ETA; it is unknown (``None``) while a stage
    with work left has not finished a unit yet.
    """

    def __init__(self, remaining: Mapping[str, int], start: float) -> None:
        self.remaining = Counter({k: v for k, v in remaining.items() if v > 0})
        self.charged: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        self._last = start

    def record(self, stage: str, now: float) -> None:
        """Note that a unit of ``stage`` finished at time ``now`` (same clock as ``start``)."""
        self.charged[stage] += max(0.0, now - self._last)
        self.finished[stage] += 1
        self.remaining[stage] = max(0, self.remaining[stage] - 1)
        self._last = now

    def set_remaining(self, remaining: Mapping[str, int]) -> None:
        """Replace the work left per stage (the pace so far is kept)."""
        self.remaining = Counter({k: v for k, v in remaining.items() if v > 0})

    def restart(self, start: float) -> None:
        """A new run starts at ``start``: its first unit is charged from there (pace is kept)."""
        self._last = start

    def eta(self) -> float | None:
        """Seconds left at each stage's pace so far, or ``None`` if a pending stage has no pace yet."""
        total = 0.0
        for stage, left in self.remaining.items():
            if left <= 0:
                continue
            if not self.finished[stage]:
                return None
            total += left * self.charged[stage] / self.finished[stage]
        return total

    def left(self) -> str:
        """``proxies 6,466 left, cost 12 left``: the stages with work left."""
        return ", ".join(f"{stage} {n:,} left" for stage, n in self.remaining.items() if n > 0)


class RunProgress:
    """Progress of one journaled run: ``with RunProgress(...) as advance: advance(key)`` per unit.

    On a terminal it is a rich bar with the per-stage ETA; otherwise it writes an opening line, a
    line every ``interval`` seconds (also while a long unit runs) and one at the end to ``stream``
    (stderr). Disabled, it does nothing.
    """

    def __init__(
        self,
        label: str,
        total: int,
        todo: Iterable[str],
        enabled: bool = True,
        interval: float = 60.0,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        todo = list(todo)
        self.label, self.total, self.enabled, self.interval = label, total, enabled, interval
        self.completed = total - len(todo)
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.start = clock()
        self.eta = StageEta(stage_counts(todo), self.start)
        self._bar = None
        self._lock, self._print_lock = threading.Lock(), threading.Lock()
        self._next_line = self.start + interval

    def __enter__(self) -> Callable[[str], None]:
        if not self.enabled:
            return lambda key: None
        if self.stream.isatty():
            self._open_bar()
            return self.advance
        todo = sum(self.eta.remaining.values())
        self._print(
            f"{utc_now()} {self.label}: {todo:,} units to run of a {self.total:,}-unit plan ({self.eta.left()})"
        )
        # Units can take hours (training): a heartbeat keeps the log moving between them.
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="archbench-progress", daemon=True)
        self._heartbeat.start()
        return self.advance

    def _print(self, text: str) -> None:
        with self._print_lock:
            print(text, file=self.stream, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self._line_if_due()

    def _line_if_due(self) -> None:
        with self._lock:  # the heartbeat thread and advance() both get here: one line per interval
            now = self.clock()
            if now < self._next_line:
                return
            self._next_line = now + self.interval
            text = self.line()
        self._print(text)

    def _open_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn(f"[bold]{self.label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(file=self.stream),
        )
        self._bar.__enter__()
        self._task = self._bar.add_task(self._eta_text(), total=self.total, completed=self.completed)

    def _eta_text(self) -> str:
        return f"eta {format_duration(self.eta.eta())}"

    def line(self) -> str:
        """The plain progress line: counts, share, elapsed, ETA and what is left per stage."""
        now = self.clock()
        share = self.completed / self.total if self.total else 1.0
        left = self.eta.left()
        return (
            f"{utc_now()} {self.label}: {self.completed:,}/{self.total:,} units ({share:.1%}), "
            f"elapsed {format_duration(now - self.start)}, {self._eta_text()}"
            + (f" ({left})" if left else "")
        )

    def advance(self, key: str) -> None:
        """Count one finished unit (its key names its stage)."""
        now = self.clock()
        self.completed += 1
        self.eta.record(unit_stage(key), now)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=self._eta_text())
        else:
            self._line_if_due()

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.__exit__(*exc)
            return
        self._stop.set()
        self._heartbeat.join()
        self._print(self.line())
