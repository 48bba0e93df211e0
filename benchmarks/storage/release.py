"""Immutable, versioned releases: a journal (or a table) -> partitioned Parquet + manifest + dataset card.

Layout of ``OUT/NAME-VERSION/``::

    manifest.json              schema version, per-file SHA-256 / bytes / rows / role, protocols, recipes,
                               metric cards, environment lock (every installed distribution), provenance
    README.md                  the dataset card, generated from the manifest (hashed too)
    architectures.parquet      arch, arch_id, published index, degenerate flag (each string once)
    records/<task>.parquet     the long-format records of one task

Records are partitioned by **task** only. A task is the unit users load and compare (a correlation
study never mixes CIFAR-10 with ImageNet16-120 numbers), a task-sized file stays large enough to
compress well (an NB201 task with ~50 metrics is ~800k rows, ~15 MB), and tasks keep the file count
small. Partitioning by metric would give NB201-sized tables hundreds of 15k-row files whose footers
cost more than they save; metric selection is served instead by sorting each partition by
(metric, arch_id, arch, seed, fidelity, epoch), so Parquet row-group statistics can skip metrics.
The ``task`` column stays inside each file, so a partition read alone is still complete.

A release is never overwritten: writing goes to a temporary sibling that is renamed into place.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.storage.markup import md_code, md_text
from benchmarks.storage.schema import archbench_version, seed_combiner
from benchmarks.storage.store import (
    Source,
    TableError,
    atomic_folder,
    content_id,
    environment,
    from_journal,
    from_table,
    manifest_body,
    partition_name,
    recorded_build,
    sha256_file,
    write_manifest,
    write_parquet,
)

_LICENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$")
"""An SPDX-style licence id (``CC-BY-4.0``, ``Apache-2.0``, ``other``): it goes into the card's YAML."""
VERSION_PATTERN = r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
"""A release version: semantic X.Y.Z without leading zeros."""
NAME_PATTERN = r"[a-z0-9][a-z0-9_.-]{0,99}"
"""A release name: lower-case letters, digits, '.', '_' or '-'."""
_VERSION = re.compile(f"^{VERSION_PATTERN}$")
_NAME = re.compile(f"^{NAME_PATTERN}$")
SORT_KEYS = ("metric", "arch_id", "arch", "seed", "fidelity", "epoch")
"""Order of the records inside each task partition."""
DEFAULT_LICENCE = "CC-BY-4.0"


def resolve_source(path: str | Path) -> Source:
    """The records behind ``path``: a journal file, a build folder holding ``journal.sqlite``, or a table folder."""
    path = Path(path)
    if path.is_file():
        return from_journal(path)
    if (path / "manifest.json").is_file():
        return from_table(path)
    if (path / "journal.sqlite").is_file():
        return from_journal(path / "journal.sqlite")
    if not path.exists():
        raise TableError(f"{path}: no such journal, build folder or table")
    raise TableError(f"{path}: neither a journal, a build folder with journal.sqlite, nor a table folder")


def resolve_sources(paths: str | Path | Sequence[str | Path]) -> Source:
    """One source, or several joined by :func:`benchmarks.storage.combine.combine_sources` (e.g. a profile
    per measurement target and a latency model's predictions)."""
    from benchmarks.storage.combine import combine_sources

    if isinstance(paths, (str, Path)):
        return resolve_source(paths)
    paths = list(paths)
    return combine_sources([resolve_source(p) for p in paths], [str(p) for p in paths])


_HTML_TAG = re.compile(r"<[A-Za-z!/?]")
"""The start of an HTML tag, comment or declaration: notes are Markdown only, so the card renders safely."""


def _has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character other than newline and tab (refused in card text)."""
    return any(c < " " and c not in "\n\t" for c in text)


def _split_by_task(records: pa.Table) -> dict[str, pa.Table]:
    if records.column("task").null_count:
        raise TableError("records without a task cannot be released (the task names the partition)")
    parts = {}
    for task in sorted(set(records.column("task").to_pylist())):
        part = records.filter(pc.equal(records["task"], task))
        parts[task] = part.sort_by([(k, "ascending") for k in SORT_KEYS])
    return parts


def release(
    source: str | Path | Sequence[str | Path],
    name: str,
    version: str,
    out: str | Path,
    *,
    licence: str = DEFAULT_LICENCE,
    citation: str | None = None,
    notes: str | None = None,
    command: list[str] | None = None,
) -> Path:
    """Write the release ``out/NAME-VERSION`` from a journal, build folder or table (or several, combined);
    refuses to overwrite.

    ``command`` is recorded in the provenance (the CLI passes its own command line); ``citation`` is
    BibTeX added to the card beside the generated entry; ``notes`` is Markdown for the card's Notes
    section (what the release leaves out and why, caveats), kept in the manifest too.
    """
    if not _NAME.match(name):
        raise ValueError(f"release name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
    if not _VERSION.match(version):
        raise ValueError(f"release version {version!r} is not X.Y.Z (semantic version, e.g. 1.0.0)")
    if not isinstance(licence, str) or not _LICENCE.match(licence):
        raise ValueError(
            f"licence {licence!r} is not an SPDX-style id such as CC-BY-4.0 (letters, digits, . + -)"
        )
    if citation is not None and ("```" in citation or _has_control_characters(citation)):
        raise ValueError("citation must be plain BibTeX text (no ``` fences, no control characters)")
    if notes is not None:
        notes = notes.strip()
        if not notes or _has_control_characters(notes) or _HTML_TAG.search(notes):
            raise ValueError("notes must be non-empty Markdown text (no control characters, no HTML tags)")
    target = Path(out) / f"{name}-{version}"
    if target.exists():
        raise TableError(f"{target} already exists: releases are immutable, choose a new --version")
    src = resolve_sources(source)
    parts = _split_by_task(src.records)
    with atomic_folder(target) as tmp:
        (tmp / "records").mkdir()
        files: dict[str, dict[str, Any]] = {}
        for task, part in parts.items():
            file = partition_name(task)
            files[file] = {**write_parquet(part, tmp / file), "role": "records", "task": task}
        files["architectures.parquet"] = {
            **write_parquet(src.archs, tmp / "architectures.parquet"),
            "role": "architectures",
        }
        body = manifest_body(src)
        manifest = {
            **body,
            "layout": "release",
            "name": name,
            "version": version,
            "licence": licence,
            "partitioning": {"records": ["task"], "sorted_by": list(SORT_KEYS)},
            "environment": {**body["environment"], "lock": environment(lock=True)["lock"]},
            "provenance": {**body["provenance"], "command": command, "created_at": body["created_at"]},
            "summary": summary(src.records, src.archs),
            "files": files,
        }
        if citation:
            manifest["citation"] = citation
        if notes:
            manifest["notes"] = notes
        (tmp / "README.md").write_text(dataset_card(manifest, citation, content_id(manifest)))
        files["README.md"] = {
            "sha256": sha256_file(tmp / "README.md"),
            "bytes": (tmp / "README.md").stat().st_size,
            "role": "card",
        }
        write_manifest(tmp, manifest)
    return target


def summary(records: pa.Table, archs: pa.Table) -> dict[str, Any]:
    """Row counts by task, metric and status, and the architecture/class counts, for the manifest and card."""
    metric_status = Counter(zip(records.column("metric").to_pylist(), records.column("status").to_pylist()))
    by_metric: dict[str, dict[str, int]] = {}
    for (metric, status), n in sorted(metric_status.items()):
        by_metric.setdefault(metric, {})[status] = n
    return {
        "records": records.num_rows,
        "architectures": archs.num_rows,
        "classes": len(set(archs.column("arch_id").to_pylist())),
        "tasks": dict(sorted(Counter(records.column("task").to_pylist()).items())),
        "metrics": by_metric,
    }


# ---- the dataset card ---------------------------------------------------------------------------------------
CARD_CELL_CHARS = 160
"""A setting whose text is longer (a LUT's block latencies, a list of fitted architectures) is summarised
in the card; ``manifest.json`` holds it whole."""


def _cell(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    if len(text) > CARD_CELL_CHARS:
        size = f"{len(value)} entries" if isinstance(value, dict | list) else f"{len(text)} characters"
        text = f"({size}: in manifest.json)"
    return md_text(text)


def _settings_table(settings: dict[str, dict[str, Any]], title: str) -> list[str]:
    """One Markdown table per kind of settings (e.g. measurement protocols, a LUT model's)."""
    if not settings:
        return []
    kinds: dict[str, dict[str, dict[str, Any]]] = {}
    for digest, fields in settings.items():
        kinds.setdefault(str(fields.get("kind", "")), {})[digest] = fields
    lines = []
    for kind, group in sorted(kinds.items()):
        keys = sorted({k for s in group.values() for k in s})
        heading = f"### {title}" + (f" ({kind})" if kind and len(kinds) > 1 else "")
        lines += [heading, "", "| hash | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for digest, fields in sorted(group.items()):
            lines.append(f"| `{digest[:12]}` | " + " | ".join(_cell(fields.get(k, "")) for k in keys) + " |")
        lines.append("")
    return lines


def _bibtex(manifest: dict[str, Any]) -> str:
    key = re.sub(r"[^a-z0-9]", "", manifest["name"]) + manifest["version"].replace(".", "")
    year = manifest["created_at"][:4]
    return (
        f"@misc{{{key},\n  title = {{{manifest['name']} {manifest['version']}: an archbench NAS benchmark table}},\n"
        f"  year = {{{year}}},\n  note = {{archbench {archbench_version()}, manifest SHA-256s in manifest.json}}\n}}"
    )


def dataset_card(manifest: dict[str, Any], citation: str | None = None, cid: str | None = None) -> str:
    """The release's README.md: what it holds, how it was built, metrics, row counts, loading, licence."""
    s, name, version = manifest["summary"], manifest["name"], manifest["version"]
    space = manifest.get("space") or {}
    records_files = {k: v for k, v in manifest["files"].items() if v.get("role") == "records"}
    lines = [
        "---",
        f"license: {manifest['licence'].lower()}",
        f"pretty_name: {name} {version}",
        "tags: [neural-architecture-search, benchmark, archbench]",
        "configs:",
        "- config_name: records",
        "  data_files: records/*.parquet",
        "- config_name: architectures",
        "  data_files: architectures.parquet",
        "---",
        "",
        f"# {name} {version}",
        "",
        f"An archbench benchmark table for the search space {md_code(space.get('name'))} "
        f"(version {space.get('version')}): {s['records']:,} records over {s['architectures']:,} "
        f"architectures in {s['classes']:,} equivalence classes (`arch_id`), tasks "
        + ", ".join(md_code(t) for t in s["tasks"])
        + ".",
        "",
        "Records are long-format rows (one measured value each): `space, space_version, arch_id, arch, task, "
        "metric, value, unit, fidelity, epoch, seed, device, protocol_hash, seconds, status, message, "
        "archbench_version, created_at`. `value` is null unless `status` is `ok`; failures are kept with "
        "their `message`. Functional metrics (proxy scores, trained accuracy) are stored once per `arch_id` "
        "on the class representative and hold for every member; cost metrics (params, FLOPs, latency) "
        "are stored per concrete architecture.",
        "",
        "## How it was built",
        "",
        f"Created {manifest['created_at']} by archbench {manifest['environment']['archbench']} "
        f"(git `{manifest['provenance'].get('git_revision')}`) on Python {manifest['environment']['python']}, "
        f"{manifest['environment']['platform']}. Devices: "
        + (", ".join(md_code(d) for d in manifest["devices"]) or "none")
        + ".",
        "",
    ]
    command = manifest["provenance"].get("command")
    if command:
        lines += ["Command: " + md_code(" ".join(command)), ""]
    lines += _build_time_lines(manifest["provenance"])
    lines += _hardware_lines(manifest.get("hw_devices", []))
    lines += [
        "Every number was measured under the protocol (or training recipe) its `protocol_hash` names; "
        "numbers under different protocols are different measurements and must not be compared or averaged "
        "as one. Imported numbers carry a protocol naming their source file.",
        "",
        *_settings_table(manifest["protocols"], "Protocols"),
        *_settings_table(manifest["recipes"], "Training recipes"),
        "## Metrics",
        "",
        "| metric | kind | unit | better | seeds combine | ok | failed | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for metric, statuses in s["metrics"].items():
        card = manifest["metrics"].get(metric, {})
        better = {True: "higher", False: "lower"}.get(card.get("higher_is_better"), "n/a")
        failed = ", ".join(f"{k} {v:,}" for k, v in statuses.items() if k != "ok") or "0"
        seeds = seed_combiner(card, metric)
        source = _cell(card.get("paper") or card.get("source") or "")
        lines.append(
            f"| {md_code(metric)} | {_cell(card.get('kind', '?'))} | {_cell(card.get('unit', '?'))} | {better} | {seeds} | "
            f"{statuses.get('ok', 0):,} | {failed} | {source} |"
        )
    if manifest.get("notes"):
        lines += ["", "## Notes", "", manifest["notes"]]
    lines += ["", "## Files", "", "| file | rows | bytes | SHA-256 |", "|---|---|---|---|"]
    for file, entry in sorted(manifest["files"].items()):
        lines.append(
            f"| {md_code(file)} | {entry['rows']:,} | {entry['bytes']:,} | `{entry['sha256'][:16]}…` |"
        )
    first = next(iter(records_files), "records/TASK.parquet")
    lines += [
        "",
        f"Records are partitioned by task ({len(records_files)} file(s)) and sorted by "
        + ", ".join(manifest["partitioning"]["sorted_by"])
        + ". `manifest.json` holds every file's SHA-256 (this card's too), the protocols, metric cards, "
        "the environment lock (every installed distribution) and the provenance.",
        "",
        *(
            [
                f"Content id: `{cid}` (the SHA-256 of `manifest.json`'s canonical JSON without this "
                "card's entry). It pins every data file; cite it, and open exactly this release with "
                f'`open_table("{name}-{version}", expect="{cid}")`.',
                "",
            ]
            if cid
            else []
        ),
        "## How to load",
        "",
        "```python",
        "from benchmarks.table import open_table   # pip install archbench; verifies every SHA-256",
        f'table = open_table("{name}-{version}"' + (f', expect="{cid}")' if cid else ")"),
        "table.wide(task=...)                       # one row per arch_id, one column per metric",
        "table.value(index=0, metric=...)           # one number",
        "",
        "import pandas as pd                        # without archbench (no hash check: the folder must",
        "                                           # hold only the files manifest.json lists)",
        f'records = pd.read_parquet("{name}-{version}/records")',
        f'archs = pd.read_parquet("{name}-{version}/architectures.parquet")',
        "",
        "import datasets                            # Hugging Face datasets",
        f'ds = datasets.load_dataset("parquet", data_files="{name}-{version}/{first}")',
        "```",
        "",
        "## Licence and citation",
        "",
        f"Data licence: {manifest['licence']}. Cite the release and the papers of the metrics above:",
        "",
        "```bibtex",
        _bibtex(manifest),
        *([citation.strip()] if citation else []),
        "```",
        "",
    ]
    return "\n".join(lines)


def _hardware_lines(descriptors: list[dict[str, Any]]) -> list[str]:
    """One line per profiling device: what it was, its allocator, threads and library versions."""
    lines = []
    for d in descriptors:
        allocator = ", ".join(f"{k} {v}" for k, v in sorted((d.get("allocator") or {}).items())) or "unknown"
        versions = ", ".join(f"{k} {v}" for k, v in sorted((d.get("versions") or {}).items()))
        memory = d.get("memory_bytes")
        lines.append(
            f"- Measured on {md_code(str(d.get('label')))}: {d.get('cores')} cores"
            + (f", {memory / 2**30:.1f} GiB" if memory else "")
            + f", {d.get('threads')} thread(s) per measurement, allocator {md_text(allocator)}, "
            f"torch {md_text(str(d.get('torch')))}" + (f", {md_text(versions)}" if versions else "") + "."
        )
    return ["Hardware (the device descriptors in `manifest.json`):", "", *lines, ""] if lines else []


def _build_time_lines(provenance: dict[str, Any]) -> list[str]:
    """What the build cost: its sessions' wall time (from the journal's session records)."""
    from benchmarks.storage.progress import format_duration

    build = recorded_build(provenance)
    if not build or not build.get("sessions"):
        return []
    sessions = build["sessions"]
    ran = sum(s["ran"] for s in sessions)
    text = (
        f"Build time: {format_duration(build['wall_s'])} of wall time over {len(sessions)} session(s), "
        f"{ran:,} units"
    )
    if build.get("unrecorded_units"):
        text += f" (and {build['unrecorded_units']:,} units committed before session records existed)"
    return [text + ".", ""]
