"""Build a table folder in one call: ``OUT/journal.sqlite`` (resumable) released to ``OUT/table``.

:func:`build_table` is what ``archbench build`` runs after parsing its arguments: protocol variants,
one recipe per training budget, derived curve metrics and the export, under the journal's lock.
:func:`profile_table` is the same for ``archbench profile``. Both run on any executor (local pool, Ray).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.pipeline.executors import Executor
from benchmarks.pipeline.profile_units import ProfileSpec
from benchmarks.pipeline.run import export_journal, failed_units, forget_failed, run_spec
from benchmarks.pipeline.specs import BuildSpec, preflight
from benchmarks.pipeline.units import RunResult
from hw_profiles.protocol import MeasurementProtocol


@dataclass(frozen=True)
class TableBuild:
    """What :func:`build_table` did: units run and already done, wall time, the table and what failed."""

    ran: int
    skipped: int
    seconds: float
    table: Path
    journal: Path
    failed: int
    """Units holding ``error``/``oom`` records (rerun with ``retry_failed=True`` to compute them again)."""
    derived: dict[str, int]
    """Derived metric -> records written by this call."""


def build_specs(
    spec: BuildSpec, fidelities: Sequence[int] = (), vary: Mapping[str, Sequence[object]] | None = None
) -> tuple[list[BuildSpec], list[str]]:
    """The specs one build runs, and the labels of its proxy protocols.

    Args:
        spec: the base build; its recipe (if any) is the smallest training budget.
        fidelities: more training budgets in epochs: the recipe's schedule compressed to each
            (``Recipe.scaled``), trained on the same seeds, with no proxies.
        vary: protocol fields and values to vary one at a time (``{"bn_mode": ["eval"]}``): each
            variant recomputes the proxies; training runs once, with the base protocol.
    """
    specs, labels = [spec], []
    if vary:
        from benchmarks.analysis.sensitivity import protocol_variants

        if spec.protocol is None:
            raise ValueError("--vary changes the proxy protocol: give --proxies too")
        variants = protocol_variants(spec.protocol, dict(vary))
        specs = [
            replace(
                spec,
                protocol=p,
                recipe=spec.recipe if i == 0 else None,
                train_seeds=spec.train_seeds if i == 0 else (),
            )
            for i, (_, p) in enumerate(variants)
        ]
        labels = [label for label, _ in variants]
    budgets = sorted(set(fidelities))
    if budgets and spec.recipe is None:
        raise ValueError("training budgets need a recipe")
    if spec.recipe is not None:
        specs += [
            replace(spec, proxies=(), protocol=None, recipe=spec.recipe.scaled(e))
            for e in budgets
            if e != spec.recipe.epochs
        ]
    return specs, labels


def build_table(
    spec: BuildSpec,
    out: str | Path,
    *,
    fidelities: Sequence[int] = (),
    vary: Mapping[str, Sequence[object]] | None = None,
    derive: Sequence[str] = (),
    executor: Executor | Callable[[], Executor] | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> TableBuild:
    """Build (or resume) the table of ``spec`` in ``out``: journal, derived metrics, Parquet release.

    Every spec the build runs (see :func:`build_specs`) is checked before anything is written; the
    journal is locked for the whole call, so a second build of ``out`` stops with one line.

    Args:
        spec: architectures, proxies under a protocol, and training under a recipe.
        out: output folder: ``journal.sqlite`` (rerun the same call to resume) and ``table/``.
        fidelities: more training budgets in epochs (see :func:`build_specs`).
        vary: protocol variants, one field at a time (see :func:`build_specs`).
        derive: curve metrics derived after training from every budget (``sotl``, ``extrap_pow3``...).
        executor: where units run (default: a local process pool), or a zero-argument factory of
            one, called once every setting is checked (so a bad setting fails before a Ray cluster
            starts); an executor made here is closed at the end.
        retry_failed: first forget the units holding ``error``/``oom`` records, to compute them again.
        progress: show progress bars.
        log: called with one line per step worth telling (protocol variants, retries, derivations).

    Returns:
        A :class:`TableBuild`.

    Example:
        >>> from benchmarks.pipeline import BuildSpec, build_table  # doctest: +SKIP
        >>> from proxies.protocol import Protocol  # doctest: +SKIP
        >>> spec = BuildSpec("nb201", "mnist5k", archs, proxies=("synflow",), protocol=Protocol(task="mnist5k"))
        >>> build_table(spec, "runs/synflow").table  # doctest: +SKIP
        PosixPath('runs/synflow/table')
    """
    from benchmarks.pipeline.executors import LocalExecutor

    say = log or (lambda _line: None)
    if not spec.proxies and spec.recipe is None:
        raise ValueError("nothing to build: give proxies and/or a training recipe")
    if derive:
        from benchmarks.analysis.derived import DERIVATIONS

        if spec.recipe is None:
            raise ValueError("--derive reads training curves: give --train-epochs too")
        for name in derive:
            DERIVATIONS.get(name)  # unknown names fail before any work
    specs, labels = build_specs(spec, fidelities, vary)
    if labels:
        say(f"{len(labels)} protocols: " + ", ".join(labels))
    for one in specs:  # every setting is checked before anything is written
        preflight(one)
    with _executor(executor, LocalExecutor) as made:
        return _build(spec, specs, Path(out), made, derive, retry_failed, progress, say)


@contextmanager
def _executor(
    given: Executor | Callable[[], Executor] | None, default: Callable[[], Executor]
) -> Iterator[Executor]:
    """``given`` itself, or the executor its factory (or ``default``) makes, closed after the block."""
    if given is not None and hasattr(given, "map_unordered"):
        yield given
        return
    executor = (given or default)()
    try:
        yield executor
    finally:
        close = getattr(executor, "close", None)
        if close is not None:
            close()


def _build(
    spec: BuildSpec,
    specs: list[BuildSpec],
    out: Path,
    executor: Executor,
    derive: Sequence[str],
    retry_failed: bool,
    progress: bool,
    say: Callable[[str], None],
) -> TableBuild:
    from spaces.locks import locked

    journal_path = out / "journal.sqlite"
    preflight(spec, executor)  # the device, where the executor runs the units
    results: list[RunResult] = []
    derived: dict[str, int] = {}
    with locked(journal_path.with_name("journal.sqlite.lock"), str(journal_path)):
        if retry_failed:
            say(f"retrying {forget_failed(journal_path)} failed unit(s)")
        for i, one in enumerate(specs, start=1):
            label = f"build {i}/{len(specs)}" if len(specs) > 1 else "build"
            results.append(run_spec(one, journal_path, executor, progress=progress, label=label))
        if derive:
            from benchmarks.analysis.derived import derive as derive_metrics
            from benchmarks.analysis.derived import standard_derivations

            recipes = {s.recipe.hash: s.recipe.to_dict() for s in specs if s.recipe is not None}
            derived = derive_metrics(journal_path, standard_derivations(recipes, derive))
            say(f"derived: {derived or 'nothing new'}")
        table = export_journal(journal_path, out / "table")
        failed = len(failed_units(journal_path))
    return TableBuild(
        ran=sum(r.ran for r in results),
        skipped=sum(r.skipped for r in results),
        seconds=sum(r.seconds for r in results),
        table=table,
        journal=journal_path,
        failed=failed,
        derived=derived,
    )


def profile_table(
    space: str,
    archs: Sequence[str],
    protocol: MeasurementProtocol,
    out_dir: str | Path,
    executor: Executor | Callable[[], Executor] | None = None,
    progress: bool = True,
    retry_failed: bool = False,
) -> RunResult:
    """Profile every unit not yet journaled in ``out_dir/journal.sqlite`` and release ``out_dir/table``.

    The manifest lists the measurement protocol under ``protocols`` and adds ``hw_devices``: the
    device descriptor of every run that wrote to the journal. ``executor`` is an executor or a
    factory of one, as for :func:`build_table`; the default runs one unit at a time (parallel runs
    disturb timings) with the protocol's thread count. On Ray, units run as many at once as the
    cluster fits, each asking for ``threads`` CPUs: give each unit a node's worth of CPUs (or a
    cluster of one unit's size) where timings must not disturb each other.
    """
    from benchmarks.pipeline.executors import LocalExecutor
    from spaces.locks import locked

    spec = ProfileSpec(space, tuple(archs), protocol)
    preflight(spec)  # every setting, before an executor (a Ray cluster) starts
    journal_path = Path(out_dir) / "journal.sqlite"
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with (
        _executor(executor, lambda: LocalExecutor(1, protocol.threads)) as made,
        locked(journal_path.with_name("journal.sqlite.lock"), str(journal_path)),
    ):
        if retry_failed:
            forget_failed(journal_path)
        result = run_spec(spec, journal_path, made, progress=progress, label="profile")
        export_journal(journal_path, Path(out_dir) / "table")
    return result
