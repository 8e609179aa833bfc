"""The versioned cohort: one table of modelled and measured rows, dated snapshots and diffs.

A snapshot is two files in a directory: ``cohort-YYYY-MM-DD.csv`` (the rows of
:data:`SNAPSHOT_COLUMNS`) and ``cohort-YYYY-MM-DD.json`` (the manifest: date, engine version,
data versions and sources, row counts, sha256 of the CSV).  A dated snapshot is immutable:
writing a different table under an existing date is refused.  One snapshot per release is
bundled in ``infercarbon/benchmark/data/snapshots`` (see ``SOURCES.md`` there).

Modelled rows (label ``modelled``) are the seed cohort recomputed by the engine from
illustrative inputs (:func:`infercarbon.benchmark.cohort.cohort_rows`); measured rows (label
``measured``) are accepted submissions whose footprint the engine recomputes from the
submitted energy, PUE and the energy-weighted mean of the submitted hourly intensity.

>>> SNAPSHOT_COLUMNS[:3]
('row_key', 'label', 'energy_label')
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import platform
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from infercarbon.accounting import footprint
from infercarbon.accounting.footprint import Footprint, FootprintRequest, Input
from infercarbon.accounting.uncertainty import Fixed
from infercarbon.benchmark.cohort import PAYLOAD_BYTES, cohort_rows
from infercarbon.benchmark.submissions import SubmissionStore, ValidRow
from infercarbon.errors import DataError, InputError
from infercarbon.reference import seed

__all__ = [
    "MANIFEST_SCHEMA",
    "SNAPSHOT_COLUMNS",
    "Snapshot",
    "SnapshotDiff",
    "benchmark_rows",
    "bundled_snapshot_dir",
    "diff_snapshots",
    "list_snapshots",
    "load_snapshot",
    "measured_rows",
    "modelled_rows",
    "render_diff",
    "rows_to_csv",
    "write_snapshot",
]

MANIFEST_SCHEMA = "infercarbon.benchmark.snapshot/1"
#: Columns of the open benchmark CSV and of every snapshot; g = g CO2e per inference.
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "row_key",
    "label",
    "energy_label",
    "workload",
    "hardware",
    "tier",
    "region",
    "region_id",
    "intensity_g_per_kwh",
    "energy_j",
    "operational_it_g",
    "pue",
    "pue_adder_g",
    "operational_location_g",
    "idle_tenancy_g",
    "idle_30_70_g",
    "embodied_g",
    "embodied_label",
    "network_g",
    "training_g",
    "total_location_g",
    "total_location_low_g",
    "total_location_high_g",
    "per_outcome_g",
    "outcome",
    "per_shift_g",
    "n_inferences",
    "energy_method",
    "pue_source",
    "intensity_source",
    "window_start_utc",
    "window_end_utc",
    "submitter",
    "licence",
    "fingerprint",
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME_RE = re.compile(r"^cohort-(\d{4}-\d{2}-\d{2})\.csv$")


# --------------------------------------------------------------------------- rows
def modelled_rows(*, samples: int = 2_000, seed_: int = 0) -> list[dict[str, Any]]:
    """The seed cohort recomputed by the engine (label ``modelled``, illustrative inputs)."""
    out: list[dict[str, Any]] = []
    for r in cohort_rows(samples=samples, seed_=seed_):
        d = r.to_dict()
        emb_label = str(d["embodied_label"])
        out.append(
            {
                **d,
                "row_key": f"modelled:{d['workload']}/{d['tier']}/{d['region_id']}",
                "label": "modelled",
                "energy_label": "illustrative",
                "hardware": seed.get_tier(d["tier"]).device,
                "embodied_g": None if emb_label.startswith("excluded") else d["embodied_g"],
                "embodied_label": emb_label,
                "training_g": None,
            }
        )
    return out


def _fp(req: FootprintRequest) -> Footprint:
    with warnings.catch_warnings():
        # the market line falls back to location: recorded in the footprint's warnings
        warnings.simplefilter("ignore")
        return footprint(req)


def measured_rows(
    rows: Sequence[ValidRow], *, samples: int = 100, seed_: int = 0
) -> list[dict[str, Any]]:
    """Accepted submissions, footprint recomputed by the engine (label ``measured``).

    Operational = submitted energy x submitted PUE x energy-weighted mean of the submitted
    hourly intensity / 3.6e6; the submitter's embodied and training figures per inference are
    added as disclosed (none is invented when not given).
    """
    out: list[dict[str, Any]] = []
    for vr in rows:
        v = vr.values
        method = v["energy_method"] + (
            f" {v['energy_method_version']}" if v["energy_method_version"] else ""
        )
        mean = vr.mean_intensity_g_per_kwh
        energy = Input(
            "energy_j",
            Fixed(vr.energy_j),
            "j",
            f"{method}, submitted by {v['submitter']}",
            "measured",
        )
        intensity = Input(
            "intensity_location_g_per_kwh",
            Fixed(mean),
            "g_per_kwh",
            v["intensity_source"],
            "cited",
            f"energy-weighted mean of {len(vr.hourly_intensity_g_per_kwh)} hourly "
            f"values; weights: {vr.weighting}",
        )
        pue = Input(
            "pue",
            Fixed(vr.pue),
            "ratio",
            f"submitter ({v['pue_source']})",
            "measured" if v["pue_source"] == "measured" else "cited",
        )
        tier = seed.get_tier(v["tier"]) if v["tier"] else None
        req = FootprintRequest(
            region_id=vr.region_id,
            region_name=vr.region_name,
            energy_j=energy,
            intensity_location_g_per_kwh=intensity,
            pue=pue,
            operating_model=tier.operating_model if tier else "owned",
            samples=samples,
            seed=seed_,
            notes=(f"measured submission {vr.fingerprint[:16]}",),
        )
        fp = _fp(req)
        fp_it = _fp(req.with_(pue=Input("pue", Fixed(1.0), "ratio", "IT only", "derived")))
        oper = fp.item("operational_location").emissions_g
        it_g = fp_it.item("operational_location").emissions_g
        extra = (vr.embodied_g or 0.0) + (vr.training_g or 0.0)
        out.append(
            {
                "row_key": f"measured:{vr.fingerprint[:16]}",
                "label": "measured",
                "energy_label": "measured",
                "workload": v["workload_id"] or v["workload_description"],
                "hardware": v["hardware"],
                "tier": v["tier"] or None,
                "region": vr.region_name,
                "region_id": vr.region_id,
                "intensity_g_per_kwh": mean,
                "energy_j": vr.energy_j,
                "operational_it_g": it_g,
                "pue": vr.pue,
                "pue_adder_g": oper - it_g,
                "operational_location_g": oper,
                "idle_tenancy_g": None,
                "idle_30_70_g": None,
                "embodied_g": vr.embodied_g,
                "embodied_label": (
                    f"user: {v['embodied_method']}"
                    if vr.embodied_g is not None
                    else f"excluded: embodied_method {v['embodied_method']!r}"
                ),
                "network_g": None,
                "training_g": vr.training_g,
                "total_location_g": fp.total_location_g + extra,
                "total_location_low_g": None,
                "total_location_high_g": None,
                "per_outcome_g": None,
                "outcome": None,
                "per_shift_g": None,
                "n_inferences": vr.n_inferences,
                "energy_method": method,
                "pue_source": v["pue_source"],
                "intensity_source": v["intensity_source"],
                "window_start_utc": v["window_start_utc"],
                "window_end_utc": v["window_end_utc"],
                "submitter": v["submitter"],
                "licence": v["licence"],
                "fingerprint": vr.fingerprint,
            }
        )
    return out


def benchmark_rows(
    store: SubmissionStore | None = None, *, samples: int = 2_000, seed_: int = 0
) -> list[dict[str, Any]]:
    """Modelled cohort rows, then the measured rows of ``store`` (when given)."""
    rows = modelled_rows(samples=samples, seed_=seed_)
    if store is not None:
        rows += measured_rows(store.valid_rows(), seed_=seed_)
    return rows


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float | np.floating):
        f = float(v)
        if not math.isfinite(f):
            return ""
        return repr(f)
    return str(v)


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The open benchmark CSV (one row per cohort row, :data:`SNAPSHOT_COLUMNS`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SNAPSHOT_COLUMNS)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in SNAPSHOT_COLUMNS])
    return buf.getvalue()


# ---------------------------------------------------------------------- manifest
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _data_versions(
    rows: Sequence[dict[str, Any]], store: SubmissionStore | None, samples: int, seed_: int
) -> dict[str, Any]:
    from infercarbon.reference.regions import resolve_region

    try:
        regions_bytes = (
            resources.files("infercarbon.reference") / "data" / "regions.csv"
        ).read_bytes()
    except OSError as exc:
        raise DataError(f"bundled region table unreadable: {exc}") from exc
    grids = []
    for reg in seed.SEED_REGIONS:
        r = resolve_region(reg.region_query)
        f = r.intensity_g_per_kwh
        grids.append(
            {
                "seed_region": reg.name,
                "region_id": r.region_id,
                "intensity_g_per_kwh": f.value,
                "basis": r.basis,
                "source": f.source,
                "vintage": f.vintage,
                "licence": f.licence,
            }
        )
    store_text = store.read_text() if store is not None else ""
    return {
        "cohort": {
            "source": seed.SEED_SOURCE,
            "label": "illustrative",
            "pairs": len(seed.SEED_ENERGY_J),
            "regions": len(seed.SEED_REGIONS),
            "payload_bytes": {k: v[0] for k, v in PAYLOAD_BYTES.items()},
        },
        "regions": {
            "file": "infercarbon/reference/data/regions.csv",
            "sha256": _sha256(regions_bytes),
            "grids": grids,
        },
        "submissions": {
            "rows": sum(1 for r in rows if r.get("label") == "measured"),
            "store_sha256": _sha256(store_text.encode()) if store_text else None,
        },
        "monte_carlo": {"samples": samples, "seed": seed_, "numpy": np.__version__},
    }


@dataclass(frozen=True)
class Snapshot:
    """A loaded snapshot: rows by ``row_key``, and the manifest when there is one."""

    name: str
    rows: dict[str, dict[str, str]]
    manifest: dict[str, Any] | None = None
    columns: tuple[str, ...] = field(default=SNAPSHOT_COLUMNS)


def bundled_snapshot_dir() -> Path:
    """The directory of the snapshots shipped with the package."""
    return Path(str(resources.files("infercarbon.benchmark") / "data" / "snapshots"))


def write_snapshot(
    directory: Path,
    on: date,
    *,
    store: SubmissionStore | None = None,
    samples: int = 2_000,
    seed_: int = 0,
    engine_version: str,
) -> tuple[Path, Path, dict[str, Any]]:
    """Compute the benchmark table and write ``cohort-<date>.csv`` and its manifest.

    Re-writing an identical table is a no-op; a different table under an existing date is
    refused (:class:`~infercarbon.errors.InputError`): dated snapshots are immutable.
    """
    rows = benchmark_rows(store, samples=samples, seed_=seed_)
    text = rows_to_csv(rows)
    digest = _sha256(text.encode())
    stem = f"cohort-{on.isoformat()}"
    csv_path, man_path = Path(directory) / f"{stem}.csv", Path(directory) / f"{stem}.json"
    if csv_path.exists():
        old = csv_path.read_bytes()
        if _sha256(old) != digest:
            raise InputError(
                f"a different snapshot for {on.isoformat()} already exists in "
                f"{directory} (sha256 {_sha256(old)[:12]}); snapshots are "
                "immutable: use another --date or another --dir",
                field="date",
            )
    labels = [str(r["label"]) for r in rows]
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "date": on.isoformat(),
        "engine": {
            "name": "infercarbon",
            "version": engine_version,
            "python": platform.python_version(),
        },
        "csv_file": csv_path.name,
        "csv_sha256": digest,
        "row_count": len(rows),
        "rows_by_label": {lab: labels.count(lab) for lab in sorted(set(labels))},
        "columns": list(SNAPSHOT_COLUMNS),
        "data": _data_versions(rows, store, samples, seed_),
    }
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        csv_path.write_text(text, encoding="utf-8", newline="")
        man_path.write_text(
            json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        raise DataError(f"cannot write the snapshot to {directory}: {exc}") from exc
    return csv_path, man_path, manifest


def _read_csv(path: Path) -> tuple[tuple[str, ...], dict[str, dict[str, str]], bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read snapshot {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    cols = tuple(reader.fieldnames or ())
    if "row_key" not in cols:
        raise DataError(f"{path} is not a benchmark snapshot (no row_key column)")
    rows: dict[str, dict[str, str]] = {}
    for i, r in enumerate(reader, start=2):
        key = r["row_key"]
        if key in rows:
            raise DataError(f"{path} row {i}: row_key {key!r} appears twice")
        rows[key] = dict(r)
    return cols, rows, data


def list_snapshots(dirs: Sequence[Path]) -> dict[str, Path]:
    """date -> CSV path of every snapshot in ``dirs`` (earlier dirs win)."""
    found: dict[str, Path] = {}
    for d in dirs:
        if not Path(d).is_dir():
            continue
        for p in sorted(Path(d).iterdir()):
            m = _NAME_RE.match(p.name)
            if m and m.group(1) not in found:
                found[m.group(1)] = p
    return found


def load_snapshot(ref: str, dirs: Sequence[Path]) -> Snapshot:
    """A snapshot by date (looked up in ``dirs`` in order) or by CSV path.

    When the CSV has a manifest beside it the sha256 is verified
    (:class:`~infercarbon.errors.DataError` when it does not match).
    """
    p = Path(ref)
    if _DATE_RE.match(ref) and not p.is_file():
        found = list_snapshots(dirs)
        if ref not in found:
            raise InputError(
                f"no snapshot dated {ref} in {', '.join(str(d) for d in dirs)}; "
                f"available: {', '.join(sorted(found)) or 'none'}",
                field="snapshot",
            )
        p = found[ref]
    elif not p.is_file():
        raise InputError(
            f"{ref!r} is neither a snapshot date (YYYY-MM-DD) nor a CSV file", field="snapshot"
        )
    cols, rows, data = _read_csv(p)
    manifest = None
    man = p.with_suffix(".json")
    if man.is_file():
        try:
            manifest = json.loads(man.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read manifest {man}: {exc}") from exc
        if manifest.get("csv_sha256") != _sha256(data):
            raise DataError(
                f"{p} does not match its manifest's sha256 (the snapshot was "
                "modified after it was written)"
            )
        if manifest.get("row_count") != len(rows):
            raise DataError(
                f"{p} has {len(rows)} rows, its manifest says {manifest.get('row_count')}"
            )
    name = manifest["date"] if manifest else str(p)
    return Snapshot(name, rows, manifest, cols)


# -------------------------------------------------------------------------- diff
@dataclass(frozen=True)
class SnapshotDiff:
    """Rows added, removed and changed between snapshots ``a`` and ``b``."""

    a: str
    b: str
    added: list[dict[str, str]]
    removed: list[dict[str, str]]
    #: row_key -> column -> {a, b, delta, rel_change} (delta/rel_change None for text)
    changed: dict[str, dict[str, dict[str, Any]]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "added": self.added,
            "removed": self.removed,
            "changed": [{"row_key": k, "columns": v} for k, v in self.changed.items()],
            "summary": {
                "added": len(self.added),
                "removed": len(self.removed),
                "changed": len(self.changed),
            },
        }


def _num(text: str) -> float | None:
    if text == "":
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def diff_snapshots(a: Snapshot, b: Snapshot, *, rel_tol: float = 0.0) -> SnapshotDiff:
    """Compare two snapshots row by row (keyed by ``row_key``).

    A numeric cell counts as changed when ``|b - a| > rel_tol x |a|`` (``rel_tol=0``: any
    change); relative change is ``(b - a) / |a|`` (None when a is 0).
    """
    if rel_tol < 0 or not math.isfinite(rel_tol):
        raise InputError("must be a finite number >= 0", field="rel_tol")
    added = [b.rows[k] for k in b.rows if k not in a.rows]
    removed = [a.rows[k] for k in a.rows if k not in b.rows]
    changed: dict[str, dict[str, dict[str, Any]]] = {}
    for k, ra in a.rows.items():
        rb = b.rows.get(k)
        if rb is None:
            continue
        cols: dict[str, dict[str, Any]] = {}
        for c in dict.fromkeys((*a.columns, *b.columns)):
            if c == "row_key":
                continue
            va, vb = ra.get(c, ""), rb.get(c, "")
            if va == vb:
                continue
            na, nb = _num(va), _num(vb)
            if na is not None and nb is not None:
                if abs(nb - na) <= rel_tol * abs(na):
                    continue
                cols[c] = {
                    "a": na,
                    "b": nb,
                    "delta": nb - na,
                    "rel_change": (nb - na) / abs(na) if na != 0 else None,
                }
            else:
                cols[c] = {"a": va, "b": vb, "delta": None, "rel_change": None}
        if cols:
            changed[k] = cols
    return SnapshotDiff(a.name, b.name, added, removed, changed)


def _g(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def render_diff(d: SnapshotDiff, fmt: str) -> str:
    """``table`` (aligned text), ``csv`` (one line per change) or ``json``."""
    if fmt == "json":
        return json.dumps(d.to_dict(), indent=2) + "\n"
    lines: list[list[str]] = [
        ["added", r["row_key"], "", "", _g(r.get("total_location_g")), "", ""] for r in d.added
    ]
    lines += [
        ["removed", r["row_key"], "", _g(r.get("total_location_g")), "", "", ""] for r in d.removed
    ]
    for k, cols in d.changed.items():
        for c, ch in cols.items():
            rel = ch["rel_change"]
            lines.append(
                [
                    "changed",
                    k,
                    c,
                    _g(ch["a"]),
                    _g(ch["b"]),
                    _g(ch["delta"]),
                    "" if rel is None else f"{rel * 100:+.4g}%",
                ]
            )
    header = ["change", "row_key", "column", "a", "b", "delta", "rel_change"]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(lines)
        return buf.getvalue()
    if fmt != "table":
        raise InputError(f"unknown format {fmt!r}: use table, csv or json", field="format")
    out = [
        f"a: {d.a}",
        f"b: {d.b}",
        f"{len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed rows",
        "",
    ]
    if lines:
        table = [header, *lines]
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        out += [
            "  ".join(cell.ljust(wd) for cell, wd in zip(line, widths, strict=True)).rstrip()
            for line in table
        ]
    return "\n".join(out) + "\n"
