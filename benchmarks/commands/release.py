"""``archbench release`` and ``archbench export``: versioned releases, Hugging Face and CSV exports."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands.args import CLIError


def register_release(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench release``."""
    p = sub.add_parser(
        "release",
        help="write an immutable, versioned release (Parquet by task + manifest + dataset card)",
        description="Turn a journal, a build folder (with journal.sqlite) or a table folder (or several, combined) "
        "into OUT/NAME-VERSION: "
        "records partitioned by task, the architectures table, manifest.json (hashes, row counts, protocols, "
        "environment lock, provenance) and a generated README.md dataset card. Never overwrites a release.",
    )
    p.add_argument(
        "source",
        type=Path,
        nargs="+",
        help="journal.sqlite, a build folder, or a table folder; several are combined into one release "
        "(e.g. a profile per target): one space, no record twice, agreeing protocols and metric cards",
    )
    p.add_argument("--name", required=True, help="release name, e.g. nb201-zc")
    p.add_argument("--version", required=True, help="semantic version X.Y.Z")
    p.add_argument(
        "--out", type=Path, required=True, help="parent folder; the release goes to OUT/NAME-VERSION"
    )
    p.add_argument("--licence", default="CC-BY-4.0", help="data licence (default: CC-BY-4.0)")
    p.add_argument("--citation", type=Path, default=None, help="BibTeX file to add to the card's citation")
    p.add_argument(
        "--notes",
        type=Path,
        default=None,
        help="Markdown file of notes for the card's Notes section (what the release leaves out, and why)",
    )
    p.set_defaults(func=_release)


def _text_file(path: Path | None, flag: str) -> str | None:
    """The text of an optional ``--citation`` / ``--notes`` file; CLIError if it is not a readable file."""
    if path is None:
        return None
    if not path.is_file():
        raise CLIError(f"{flag} {path}: no such file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CLIError(f"{flag} {path}: not UTF-8 text") from None


def _release(args: argparse.Namespace) -> int:
    from benchmarks.storage.release import release

    citation = _text_file(args.citation, "--citation")
    notes = _text_file(args.notes, "--notes")
    sources = args.source[0] if len(args.source) == 1 else args.source
    command = ["archbench", "release", *map(str, args.source), "--name", args.name, "--version", args.version]
    command += ["--out", str(args.out), "--licence", args.licence]
    for flag, path in (("--citation", args.citation), ("--notes", args.notes)):
        command += [flag, str(path)] if path is not None else []
    out = release(
        sources,
        args.name,
        args.version,
        args.out,
        licence=args.licence,
        citation=citation,
        notes=notes,
        command=command,
    )
    print(f"release: {out}")
    return 0


def register_export(sub: argparse._SubParsersAction) -> None:
    """Add ``archbench export``."""
    p = sub.add_parser(
        "export",
        help="export a table to Hugging Face datasets (save_to_disk) or CSV",
        description="hf: a DatasetDict (splits records, architectures) saved with save_to_disk plus a hash manifest; "
        "archbench query / open_table open it again. csv: records.csv and architectures.csv for people.",
    )
    p.add_argument("table", type=Path, help="table or release folder")
    p.add_argument("--format", choices=("hf", "csv"), required=True, help="output format")
    p.add_argument("--out", type=Path, required=True, help="new output folder")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from benchmarks.storage.hf import export_csv, save_hf
    from benchmarks.storage.table import open_table

    if args.out.exists():
        raise CLIError(f"--out {args.out} already exists; choose a new folder")
    table = open_table(args.table)
    out = save_hf(table, args.out) if args.format == "hf" else export_csv(table, args.out)
    print(f"{args.format}: {out}")
    return 0


def register_import_formats(actions: argparse._SubParsersAction) -> None:
    """Add ``archbench import zc-json`` and ``archbench import hw-table`` to the ``import`` command."""
    zc = actions.add_parser(
        "zc-json",
        help="NAS-Bench-Suite-Zero / NASLib zero-cost JSON (zc_nasbench201.json style)",
        description="Import dataset -> arch key -> proxy -> {score, time} (+ val_accuracy) from NASLib's "
        "zero-cost JSON. NB201 keys are NASLib op-index tuples; proxy and dataset names are mapped to archbench's.",
    )
    zc.add_argument("file", type=Path, help="the JSON file")
    zc.add_argument("--space", default="nb201", help="search space of the keys (default: nb201)")
    zc.add_argument("--out", type=Path, required=True, help="new folder for journal.sqlite and table/")
    zc.set_defaults(func=_import_zc)

    hw = actions.add_parser(
        "hw-table",
        help="HW-NAS-Bench-style per-device latency/energy table (CSV/Parquet, long format)",
        description="One row per architecture, device and metric; name the columns. Stored as cost metrics per "
        "concrete architecture, one protocol per device.",
    )
    hw.add_argument("file", type=Path, help="CSV or Parquet file")
    hw.add_argument("--space", default="nb201", help="search space (default: nb201)")
    hw.add_argument("--task", required=True, help="task the networks were built for, e.g. cifar10")
    hw.add_argument("--key-column", required=True, help="column holding the arch string or index")
    hw.add_argument("--key", choices=("arch", "index"), default="arch", help="what the key column holds")
    hw.add_argument("--device-column", required=True, help="column naming the device, e.g. device")
    hw.add_argument("--metric-column", required=True, help="column naming the metric, e.g. metric")
    hw.add_argument("--value-column", required=True, help="column holding the value")
    units = hw.add_mutually_exclusive_group(required=True)
    units.add_argument("--unit-column", default=None, help="column holding each row's unit")
    units.add_argument("--unit", default=None, help="one unit for every row, e.g. ms")
    hw.add_argument("--out", type=Path, required=True, help="new folder for journal.sqlite and table/")
    hw.set_defaults(func=_import_hw)


def _import_zc(args: argparse.Namespace) -> int:
    from benchmarks.published.importers import import_zero_cost_json

    print(f"imported {args.file} -> {import_zero_cost_json(args.file, args.out, args.space)}")
    return 0


def _import_hw(args: argparse.Namespace) -> int:
    from benchmarks.published.importers import HardwareImport, import_hardware_table

    spec = HardwareImport(
        space=args.space,
        task=args.task,
        key_column=args.key_column,
        device_column=args.device_column,
        metric_column=args.metric_column,
        value_column=args.value_column,
        key=args.key,
        unit_column=args.unit_column,
        unit=args.unit,
    )
    print(f"imported {args.file} -> {import_hardware_table(args.file, spec, args.out)}")
    return 0
