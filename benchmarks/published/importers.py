"""Importers for tables users already hold (no pickles): published accuracies keyed by arch or index.

An imported table is a normal archbench table (journal -> Parquet + manifest) whose records say
where they came from: ``device`` is ``imported``, and ``protocol_hash`` hashes the import settings
together with the source file's SHA-256, which the manifest keeps under ``protocols``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from benchmarks.storage.journal import Journal
from benchmarks.storage.schema import arch_fields, arch_row, make_record, utc_now
from benchmarks.storage.store import export, sha256_file
from spaces.jsonio import JSONInputError, load_bounded

# NASLib's NB201 keys now live with the space (spaces.nb201_naslib); these names stay importable from
# here, where archbench 0.1 users found them.
from spaces.nb201_naslib import NB201_EDGE_ORDER, NB201_OPS, naslib_from_nb201, nb201_from_naslib  # noqa: F401
from spaces.specs import MAX_SEED, sha256_of

if TYPE_CHECKING:
    from spaces.base import Architecture

KEYS = ("arch", "index")
UNIT_RANGES = {"%": (0.0, 100.0)}
"""Values a unit admits beyond being finite: an accuracy in % lies in [0, 100]."""
_FORBIDDEN = "<>&|`\"'\\"
_NAME = re.compile(
    r"^[^\s<>&|`\"'\\\x00-\x1f\x7f]([^<>&|`\"'\\\x00-\x1f\x7f]{0,98}[^\s<>&|`\"'\\\x00-\x1f\x7f])?$"
)


def check_name(value: object, what: str) -> str:
    """A metric, device or unit name: 1-100 printable characters, no edge spaces, none of ``<>&|`"'\\``."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid name (1-100 printable characters without leading or "
            f"trailing spaces and without any of {_FORBIDDEN})"
        )
    return value


def _check_task(task: str) -> None:
    from spaces.tasks import get_task

    get_task(task)  # unknown tasks fail with the valid names


@dataclass(frozen=True)
class AccuracyImport:
    """How to read a table of published accuracies (columns are named by the user)."""

    space: str
    task: str
    metric: str
    key_column: str
    value_column: str
    key: str = "arch"
    fidelity: int = 200
    unit: str = "%"
    seed_column: str | None = None

    def __post_init__(self) -> None:
        if self.key not in KEYS:
            raise ValueError(f"key must be one of {', '.join(KEYS)}, got {self.key!r}")
        if isinstance(self.fidelity, bool) or not isinstance(self.fidelity, int) or self.fidelity < 0:
            raise ValueError(f"fidelity must be an integer >= 0 epochs, got {self.fidelity!r}")
        check_name(self.metric, "metric")
        check_name(self.unit, "unit")
        _check_task(self.task)


def read_frame(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame (chosen by suffix)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise ValueError(
            f"{path}: {path.stat().st_size:,} bytes is over the {MAX_IMPORT_BYTES:,}-byte import limit"
        )
    try:
        names = _header(path, suffix)
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"{path}: column names {repeated} appear more than once")
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        raise ValueError(f"{path}: unreadable {suffix[1:]} file ({' '.join(str(exc).split())})") from None
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: unreadable {suffix[1:]} file ({' '.join(str(exc).split())})") from None


def _header(path: Path, suffix: str) -> list[str]:
    """The file's column names as written (pandas renames a repeated CSV column to ``name.1``)."""
    if suffix == ".csv":
        import csv

        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f), [])
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def read_keyed_rows(
    path: Path, columns: list[str], space_name: str, key_column: str, key: str
) -> tuple[pd.DataFrame, list[Architecture]]:
    """The file's rows and their architectures (``key``: ``arch`` strings or published ``index``).

    One-line errors name a missing column, an empty file or the row of a bad key.
    """
    import spaces

    frame = read_frame(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: columns {missing} not found (columns: {', '.join(map(str, frame.columns))})"
        )
    if frame.empty:
        raise ValueError(f"{path}: no rows")
    space = spaces.get(space_name)
    if key == "index":
        spaces.requires(space, spaces.EnumerableSpace, f"{path}: architectures given by published index")
    archs = []
    for row, value in enumerate(frame[key_column], start=1):
        try:
            archs.append(space.from_index(integral(value, "index")) if key == "index" else space.parse(value))
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise ValueError(f"{path}: row {row}, column {key_column!r}: {exc}") from None
    return frame, archs


def integral(value: object, what: str) -> int:
    """``value`` as an int if it is a whole number (``3``, ``3.0``, ``"3"``); ValueError for ``3.7``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a whole number") from None
    if isinstance(value, bool) or not number.is_integer():
        raise ValueError(f"{what} {value!r} is not a whole number")
    return int(number)


def _seeds(path: Path, column: pd.Series, name: str) -> list[int]:
    seeds = []
    for row, value in enumerate(column, start=1):
        try:
            seed = integral(value, "seed")
        except ValueError as exc:
            raise ValueError(f"{path}: row {row}, column {name!r}: {exc}") from None
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"{path}: row {row}, column {name!r}: seed {seed} is outside [0, {MAX_SEED}]")
        seeds.append(seed)
    return seeds


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def import_accuracies(path: str | Path, spec: AccuracyImport, out: str | Path) -> Path:
    """Validate ``path`` and release it as a table in ``out/table`` (journal at ``out/journal.sqlite``).

    Raises ValueError naming the file, the column and the offending rows (1-based data rows) on
    missing columns, unknown architectures or indices, duplicate keys, and NaN/inf values.
    """
    import spaces

    path, out = Path(path), Path(out)
    wanted = [spec.key_column, spec.value_column] + ([spec.seed_column] if spec.seed_column else [])
    frame, archs = read_keyed_rows(path, wanted, spec.space, spec.key_column, spec.key)
    space = spaces.get(spec.space)
    values = pd.to_numeric(frame[spec.value_column], errors="coerce")
    bad = [i + 1 for i, v in enumerate(values) if not math.isfinite(v)]
    if bad:
        raise ValueError(
            f"{path}: column {spec.value_column!r} has missing, NaN or inf values at rows {_rows_text(bad)}"
        )
    low, high = UNIT_RANGES.get(spec.unit, (-math.inf, math.inf))
    bad = [i + 1 for i, v in enumerate(values) if not low <= v <= high]
    if bad:
        raise ValueError(
            f"{path}: column {spec.value_column!r} has values outside [{low:g}, {high:g}] {spec.unit} "
            f"at rows {_rows_text(bad)}"
        )
    seeds = _seeds(path, frame[spec.seed_column], spec.seed_column) if spec.seed_column else [0] * len(frame)
    keys = pd.Series([(a.string, s) for a, s in zip(archs, seeds)])
    duplicated = [i + 1 for i in keys.index[keys.duplicated(keep=False)]]
    if duplicated:
        raise ValueError(f"{path}: architectures listed twice (same seed) at rows {_rows_text(duplicated)}")

    settings = {
        "import": "accuracy-table",
        **asdict(spec),
        "source_sha256": sha256_file(path),
        "source": path.name,
    }
    protocol_hash = sha256_of(settings)
    records = [
        make_record(
            **arch_fields(space, a),
            task=spec.task,
            metric=spec.metric,
            value=float(v),
            unit=spec.unit,
            fidelity=spec.fidelity,
            epoch=spec.fidelity,
            seed=int(s),
            device="imported",
            provenance="imported",
            protocol_hash=protocol_hash,
            seconds=None,
            status="ok",
        )
        for a, v, s in zip(archs, values, seeds)
    ]
    card = {"unit": spec.unit, "kind": "functional", "higher_is_better": True, "source": path.name}
    return write_import(out, space, {protocol_hash: settings}, {spec.metric: card}, archs, records)


def write_import(
    out: Path,
    space: object,
    protocols: dict[str, dict[str, object]],
    cards: dict[str, dict[str, object]],
    archs: list[object],
    records: list[dict[str, object]],
) -> Path:
    """Journal validated imported records in ``out/journal.sqlite`` and export ``out/table``.

    Refuses a folder that already holds a journal; call only after every check has passed, so bad
    input never leaves a folder behind.
    """
    journal_path = out / "journal.sqlite"
    if journal_path.exists():
        raise ValueError(f"{out} already holds a journal; import into a new folder")
    with Journal(journal_path) as journal:
        journal.bind("space", {"name": space.name, "version": space.version})
        for protocol_hash, settings in protocols.items():
            journal.bind(f"protocol:{protocol_hash}", settings)
        for metric, card in cards.items():
            journal.bind(f"metric:{metric}", card)
        journal.add_archs(arch_row(space, a) for a in dict.fromkeys(archs))
        key = sha256_of(sorted(protocols))[:16]
        journal.commit_unit(f"import|{key}", records, utc_now())
    return export(journal_path, out / "table")


# ---- NASLib / NAS-Bench-Suite-Zero zero-cost JSON ------------------------------------------------------------
NASLIB_PROXIES = {
    "jacov": "jacob_cov",
    "grad_norm": "grad_norm",
    "snip": "snip",
    "synflow": "synflow",
    "nwot": "nwot",
    "epe_nas": "epe_nas",
    "fisher": "fisher",
    "grasp": "grasp",
    "l2_norm": "l2_norm",
    "plain": "plain",
    "zen": "zen",
    "params": "params",
    # NASLib's FLOPs counter also counts BN and pooling (222.86 vs NB201's 220.12 MFLOPs for the
    # all-3x3 cell at CIFAR-10): a different quantity, so it keeps a name of its own.
    "flops": "flops_naslib",
}
"""NASLib proxy name -> archbench metric name (Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022)."""
MAX_IMPORT_BYTES = 4 << 30
"""The largest file an importer reads (NASLib's zero-cost JSON files are tens of MB)."""

NASLIB_TASKS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}
"""NASLib dataset name -> archbench task."""
NASLIB_ACCURACY = "val_accuracy"
"""The per-architecture NB201 200-epoch validation accuracy (%) NASLib stores beside the proxies."""
_NASLIB_IGNORED = ("id",)


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        repeated = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"key {repeated!r} appears twice in one JSON object")
    return found


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {json.dumps(value)[:40]}")
    return float(value)


def _status(value: float) -> str:
    return "ok" if math.isfinite(value) else ("nan" if math.isnan(value) else "inf")


def _card_for(naslib: str, metric: str, source: str) -> dict[str, object]:
    from proxies import get_proxy

    if metric == "flops_naslib":
        card = {"unit": "MFLOPs", "kind": "cost", "higher_is_better": True}
        return {**card, "source": source, "note": "NASLib's FLOPs counter (includes BN and pooling)"}
    if naslib in NASLIB_PROXIES:
        proxy = get_proxy(metric).card
        card = {"unit": proxy.unit, "kind": proxy.kind, "higher_is_better": proxy.higher_is_better}
        return {**card, "paper": proxy.paper, "source": source}
    return {"unit": "score", "kind": "functional", "higher_is_better": None, "source": source}


def import_zero_cost_json(path: str | Path, out: str | Path, space_name: str = "nb201") -> Path:
    """Import a NAS-Bench-Suite-Zero / NASLib zero-cost JSON (``zc_nasbench201.json`` style) into ``out/table``.

    Layout: ``dataset -> arch key -> proxy -> {"score", "time"}``, plus a ``"val_accuracy"`` number per
    architecture (NB201's 200-epoch validation accuracy, stored as ``val_acc``). Proxy names map to
    archbench names through :data:`NASLIB_PROXIES` (others keep ``naslib_<name>``), datasets through
    :data:`NASLIB_TASKS`. Proxy scores and accuracies each get a protocol naming the source file and
    its SHA-256, so they are never averaged with computed numbers. Non-finite scores are kept as
    ``nan``/``inf`` records (a failure is a value); malformed keys, numbers or layout raise ValueError.
    Architecture keys are read by the space's ``from_naslib(key) -> Architecture`` (NB201:
    :func:`spaces.nb201_naslib.nb201_from_naslib`); a space without one is refused by name.
    """
    import spaces

    path, out = Path(path), Path(out)
    space = spaces.get(space_name)
    from_naslib = getattr(space, "from_naslib", None)
    if from_naslib is None:
        raise ValueError(
            f"zero-cost JSON import reads NASLib architecture keys, which space {space_name!r} does not "
            "(it has no from_naslib)"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        data = load_bounded(path, MAX_IMPORT_BYTES, max_depth=8, object_pairs_hook=_no_duplicate_keys)
    except JSONInputError:
        raise
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: expected an object of datasets ({', '.join(NASLIB_TASKS)})")
    source = {"source": path.name, "source_sha256": sha256_file(path), "space": space.name}
    proxy_protocol = {"import": "naslib-zero-cost-json", "field": "score", **source}
    accuracy_protocol = {
        "import": "naslib-zero-cost-json",
        "field": NASLIB_ACCURACY,
        "fidelity": 200,
        **source,
    }
    proxy_hash, accuracy_hash = sha256_of(proxy_protocol), sha256_of(accuracy_protocol)
    records, archs, cards = [], {}, {}
    for dataset, entries in data.items():
        task = NASLIB_TASKS.get(dataset)
        if task is None:
            raise ValueError(f"{path}: unknown dataset {dataset!r} (known: {', '.join(NASLIB_TASKS)})")
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: dataset {dataset!r} must map architecture keys to entries")
        seen: dict[str, str] = {}
        for key, fields in entries.items():
            where = f"{path}: {dataset} {key}"
            try:
                arch = from_naslib(key)
            except ValueError as exc:
                raise ValueError(f"{path}: dataset {dataset!r}: {exc}") from None
            if arch.string in seen:
                raise ValueError(
                    f"{path}: dataset {dataset!r}: keys {seen[arch.string]!r} and {key!r} are the same cell"
                )
            seen[arch.string] = key
            archs[arch.string] = arch
            if not isinstance(fields, dict):
                raise ValueError(f"{where}: expected an object of proxies")
            common = arch_fields(space, arch)
            for name, entry in fields.items():
                if name in _NASLIB_IGNORED:
                    continue
                if name == NASLIB_ACCURACY:
                    value = _number(entry, f"{where} {name}")
                    if not 0.0 <= value <= 100.0:
                        raise ValueError(f"{where} {name}: {value} is not an accuracy in [0, 100] %")
                    cards["val_acc"] = {
                        "unit": "%",
                        "kind": "functional",
                        "higher_is_better": True,
                        "source": path.name,
                    }
                    records.append(
                        make_record(
                            **common,
                            task=task,
                            metric="val_acc",
                            value=value,
                            unit="%",
                            fidelity=200,
                            epoch=200,
                            seed=0,
                            device="imported",
                            provenance="imported",
                            protocol_hash=accuracy_hash,
                            status="ok",
                        )
                    )
                    continue
                if not isinstance(entry, dict) or "score" not in entry:
                    raise ValueError(f"{where} {name}: expected {{'score': ..., 'time': ...}}")
                score = _number(entry["score"], f"{where} {name} score")
                seconds = entry.get("time")
                seconds = None if seconds is None else _number(seconds, f"{where} {name} time")
                if seconds is not None and not (math.isfinite(seconds) and seconds >= 0):
                    raise ValueError(f"{where} {name} time: {seconds} is not a duration in seconds")
                metric = NASLIB_PROXIES.get(name, f"naslib_{name}")
                cards.setdefault(metric, _card_for(name, metric, path.name))
                status = _status(score)
                records.append(
                    make_record(
                        **common,
                        task=task,
                        metric=metric,
                        value=score if status == "ok" else None,
                        unit=cards[metric]["unit"],
                        fidelity=0,
                        epoch=0,
                        seed=0,
                        device="imported",
                        provenance="imported",
                        protocol_hash=proxy_hash,
                        seconds=seconds,
                        status=status,
                        message="" if status == "ok" else f"{status} in the source file",
                    )
                )
    if not records:
        raise ValueError(f"{path}: no proxy scores or accuracies found")
    protocols = {proxy_hash: proxy_protocol}
    if "val_acc" in cards:
        protocols[accuracy_hash] = accuracy_protocol
    return write_import(out, space, protocols, cards, list(archs.values()), records)


# ---- HW-NAS-Bench-style hardware tables ---------------------------------------------------------------------
@dataclass(frozen=True)
class HardwareImport:
    """How to read a long table of per-device hardware costs (HW-NAS-Bench style; columns named by the user).

    One row per (architecture, device, metric): e.g. ``arch, device, metric, value, unit`` with
    devices such as ``edgegpu`` or ``raspi4`` and metrics ``latency`` (ms) / ``energy`` (mJ)
    (Li et al., HW-NAS-Bench, ICLR 2021). Give the unit per row (``unit_column``) or for all (``unit``).
    """

    space: str
    task: str
    key_column: str
    device_column: str
    metric_column: str
    value_column: str
    key: str = "arch"
    unit_column: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.key not in KEYS:
            raise ValueError(f"key must be one of {', '.join(KEYS)}, got {self.key!r}")
        if (self.unit_column is None) == (self.unit is None):
            raise ValueError(
                "give exactly one of unit_column (a unit per row) or unit (one unit for all rows)"
            )
        if self.unit is not None:
            check_name(self.unit, "unit")
        _check_task(self.task)


def import_hardware_table(path: str | Path, spec: HardwareImport, out: str | Path) -> Path:
    """Validate a per-device latency/energy table and release it as ``out/table`` (cost metrics per device).

    Each device gets its own protocol (source file, its SHA-256, the device), so :meth:`Table.wide`
    refuses to average one metric across devices unless ``device=`` or ``protocol_hash=`` picks one.
    Raises ValueError naming the file, column and rows on missing columns, unknown architectures,
    empty device/metric names, NaN/inf/negative values, mixed units and duplicate rows.
    """
    import spaces

    path, out = Path(path), Path(out)
    wanted = [spec.key_column, spec.device_column, spec.metric_column, spec.value_column]
    wanted += [spec.unit_column] if spec.unit_column else []
    frame, archs = read_keyed_rows(path, wanted, spec.space, spec.key_column, spec.key)
    space = spaces.get(spec.space)
    texts = {}
    for column in (spec.device_column, spec.metric_column, spec.unit_column):
        if column is None:
            continue
        values = frame[column]
        bad = [i + 1 for i, v in enumerate(values) if not isinstance(v, str) or not v.strip()]
        if bad:
            raise ValueError(f"{path}: column {column!r} is empty or not text at rows {_rows_text(bad)}")
        texts[column] = [v.strip() for v in values]
        for row, text in enumerate(texts[column], start=1):
            try:
                check_name(text, column)
            except ValueError as exc:
                raise ValueError(f"{path}: row {row}: {exc}") from None
    devices, metrics = texts[spec.device_column], texts[spec.metric_column]
    units = texts[spec.unit_column] if spec.unit_column else [spec.unit] * len(frame)
    values = pd.to_numeric(frame[spec.value_column], errors="coerce")
    bad = [i + 1 for i, v in enumerate(values) if not (math.isfinite(v) and v >= 0)]
    if bad:
        raise ValueError(
            f"{path}: column {spec.value_column!r} has missing, NaN, inf or negative values at rows {_rows_text(bad)}"
        )
    unit_of: dict[tuple[str, str], str] = {}
    for row, (device, metric, unit) in enumerate(zip(devices, metrics, units), start=1):
        if unit_of.setdefault((device, metric), unit) != unit:
            raise ValueError(
                f"{path}: row {row}: {metric!r} on {device!r} in {unit!r}, earlier rows say {unit_of[(device, metric)]!r}"
            )
    metric_units = {}
    for (_, metric), unit in unit_of.items():
        if metric_units.setdefault(metric, unit) != unit:
            raise ValueError(
                f"{path}: metric {metric!r} comes in units {metric_units[metric]!r} and {unit!r}; use one"
            )
    keys = pd.Series([(a.string, d, m) for a, d, m in zip(archs, devices, metrics)])
    duplicated = [i + 1 for i in keys.index[keys.duplicated(keep=False)]]
    if duplicated:
        raise ValueError(f"{path}: same architecture, device and metric at rows {_rows_text(duplicated)}")

    base = {
        "import": "hardware-table",
        **asdict(spec),
        "source": path.name,
        "source_sha256": sha256_file(path),
    }
    protocols = {d: {**base, "device": d} for d in sorted(set(devices))}
    hashes = {d: sha256_of(p) for d, p in protocols.items()}
    records = [
        make_record(
            **arch_fields(space, a),
            task=spec.task,
            metric=m,
            value=float(v),
            unit=u,
            fidelity=0,
            epoch=0,
            seed=0,
            device=d,
            provenance="imported",
            protocol_hash=hashes[d],
            seconds=None,
            status="ok",
        )
        for a, d, m, v, u in zip(archs, devices, metrics, values, units)
    ]
    cards = {
        m: {"unit": u, "kind": "cost", "higher_is_better": False, "source": path.name}
        for m, u in metric_units.items()
    }
    return write_import(out, space, {hashes[d]: p for d, p in protocols.items()}, cards, archs, records)
