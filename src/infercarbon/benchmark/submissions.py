"""Measured submissions to the living benchmark: the CSV schema, per-row validation and the
append-only store.

A submission file is a CSV with the columns of :data:`SCHEMA` (documented for contributors in
``docs/benchmark_submissions.md``).  :func:`submit` validates every row on its own, appends
only complete rows to the store and reports every rejected row with its row number, column,
what is wrong and how to fix it.  Row numbers are spreadsheet rows: the header is row 1, the
first data row is row 2.

Validation catches missing disclosures (measurement method, hourly grid intensity over the
window and its source, PUE and whether it is measured or vendor-published, embodied
amortisation method, whether training carbon is included, submitter, licence), wrong units
(intensity in kg/kWh or t/kWh, energy in Wh or kWh, an hourly intensity count that does not
match the window) and duplicate rows, within the file and against the store.  Re-submitting
an accepted file appends nothing (idempotent).

The hourly intensity has one value per UTC clock hour that the window overlaps: a window
10:15..12:45 overlaps 10:00, 11:00 and 12:00, so three values.  The intensity applied to the
submission is the energy-weighted mean over the window: each hour weighs by the submitted
``hourly_energy_j`` when given, else by its overlap with the window (constant power assumed,
stated in the result).

>>> start = datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
>>> hour_weights_s(start, datetime(2026, 1, 1, 12, 45, tzinfo=UTC))
array([2700., 3600., 2700.])
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from infercarbon.arrays import FloatArray
from infercarbon.errors import (
    DataError,
    InputError,
    ParseError,
    UnknownHardwareError,
)
from infercarbon.reference import seed
from infercarbon.timeutil import format_utc
from infercarbon.units import G_PER_KG, G_PER_T, J_PER_KWH, J_PER_WH, S_PER_HOUR, US_PER_S

__all__ = [
    "ACCEPTED_LICENCES",
    "COLUMN_NAMES",
    "ENERGY_METHODS",
    "SCHEMA",
    "STORE_COLUMNS",
    "STORE_FILE",
    "Column",
    "RowError",
    "RowOutcome",
    "SubmissionStore",
    "SubmitReport",
    "ValidRow",
    "hour_weights_s",
    "read_submission_csv",
    "submit",
    "validate_rows",
    "write_submission_csv",
]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the submission schema."""

    name: str
    required: str  # "yes", "no", or the condition under which it is required
    unit: str
    description: str
    example: str


#: The submission CSV schema, in column order.
SCHEMA: tuple[Column, ...] = (
    Column(
        "workload_id",
        "one of workload_id / workload_description",
        "-",
        "the cohort workload measured (WL-01 .. WL-06)",
        "WL-02",
    ),
    Column(
        "workload_description",
        "one of workload_id / workload_description",
        "-",
        "free description of the workload when it is not a cohort workload",
        "YOLOv11n 1280x720 defect detection, batch 1",
    ),
    Column(
        "hardware",
        "yes",
        "-",
        "the device(s) measured, as 'N x model' when several",
        "1 x Jetson Orin Nano 8 GB",
    ),
    Column("tier", "no", "-", "the benchmark hardware tier (T0 .. T6) the device belongs to", "T1"),
    Column(
        "region",
        "yes",
        "-",
        "grid region of the measurement (any name/id that `infercarbon regions` resolves)",
        "GB",
    ),
    Column(
        "energy_j",
        "yes",
        "J per inference",
        "measured energy per inference, in joules (not Wh, not kWh)",
        "1.62",
    ),
    Column(
        "energy_boundary",
        "no",
        "-",
        "what the meter covered: accelerator, node or system (whole system at the wall)",
        "node",
    ),
    Column(
        "n_inferences", "yes", "count", "inferences served during the measurement window", "144000"
    ),
    Column(
        "window_start_utc",
        "yes",
        "ISO 8601, UTC",
        "start of the measurement window (with Z or +00:00)",
        "2026-11-02T08:00:00Z",
    ),
    Column(
        "window_end_utc",
        "yes",
        "ISO 8601, UTC",
        "end of the measurement window (exclusive)",
        "2026-11-02T16:00:00Z",
    ),
    Column(
        "energy_method", "yes", "-", "mlperf-power, codecarbon or infercarbon-meter", "codecarbon"
    ),
    Column(
        "energy_method_version",
        "if energy_method is codecarbon (>= 3.0)",
        "-",
        "version of the measurement tool or MLPerf round",
        "3.0.4",
    ),
    Column(
        "hourly_intensity_g_per_kwh",
        "yes",
        "g CO2e/kWh",
        "grid intensity for every UTC clock hour the window overlaps, ';'-separated, oldest first",
        "182;175;169;171;168;166;170;174",
    ),
    Column(
        "intensity_source",
        "yes",
        "-",
        "where the hourly intensity comes from (provider, zone, basis)",
        "Electricity Maps GB, lifecycle, hourly",
    ),
    Column(
        "hourly_energy_j",
        "no",
        "J per hour",
        "measured energy in each of those hours (';'-separated); weights the intensity "
        "mean, and must add up to energy_j x n_inferences",
        "4100000;4120000;4090000",
    ),
    Column("pue", "yes", "ratio", "facility PUE applied to the measured IT energy (>= 1)", "1.05"),
    Column("pue_source", "yes", "-", "measured or vendor-published", "measured"),
    Column(
        "embodied_method",
        "yes",
        "-",
        "how embodied carbon is amortised per inference, or 'none' when it is not counted",
        "60 kg per device / 5 years x device time / utilisation",
    ),
    Column(
        "embodied_g",
        "if embodied_method is not none",
        "g CO2e per inference",
        "embodied carbon per inference by that method",
        "0.00004",
    ),
    Column(
        "training_included",
        "yes",
        "yes/no",
        "whether training carbon is included in this submission",
        "no",
    ),
    Column(
        "training_g",
        "if training_included is yes",
        "g CO2e per inference",
        "amortised training carbon per inference",
        "",
    ),
    Column(
        "submitter", "yes", "-", "person or organisation submitting the row", "Acme Plant Analytics"
    ),
    Column(
        "licence",
        "yes",
        "-",
        "open licence of the row (CC0-1.0, CC-BY-4.0, CC-BY-SA-4.0, ODbL-1.0, PDDL-1.0, "
        "CDLA-Permissive-2.0, Apache-2.0, MIT)",
        "CC-BY-4.0",
    ),
    Column("notes", "no", "-", "anything a reader needs to interpret the row", ""),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in SCHEMA)
STORE_FILE = "submissions.csv"
#: The store adds, per accepted row: its fingerprint, when it was accepted and from which file.
STORE_COLUMNS: tuple[str, ...] = (*COLUMN_NAMES, "fingerprint", "accepted_utc", "source_file")

#: method -> spellings accepted for it
ENERGY_METHODS: dict[str, tuple[str, ...]] = {
    "mlperf-power": ("mlperf-power", "mlperf power", "mlperf_power", "mlperfpower", "mlperf"),
    "codecarbon": ("codecarbon", "code carbon", "code-carbon"),
    "infercarbon-meter": (
        "infercarbon-meter",
        "infercarbon meter",
        "infercarbon",
        "infercarbon_meter",
    ),
}
ACCEPTED_LICENCES: tuple[str, ...] = (
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "ODbL-1.0",
    "PDDL-1.0",
    "CDLA-Permissive-2.0",
    "Apache-2.0",
    "MIT",
)
_BOUNDARIES = ("accelerator", "node", "system")
_PUE_SOURCES = {
    "measured": "measured",
    "vendor-published": "vendor-published",
    "vendor published": "vendor-published",
    "vendor": "vendor-published",
    "published": "vendor-published",
}
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_NONE_METHODS = {"none", "excluded", "not included", "not counted", "n/a"}
#: hourly averages above this are above any grid (coal units emit ~820-1,100 g/kWh)
MAX_HOURLY_G_PER_KWH = 1_500.0
#: the longest window one row may cover (366 days of hourly values)
MAX_WINDOW_S = 366 * 86_400
#: below any measured AI inference energy (tinyML results are in microjoules and up) [J]
MIN_ENERGY_J = 1e-6
#: the shortest plausible busy time of one inference on a device at its maximum power [s]
MIN_DEVICE_TIME_S = 1e-6


# ------------------------------------------------------------------------------- errors
@dataclass(frozen=True, slots=True)
class RowError:
    """What is wrong with one cell (or the file, when ``row`` is None)."""

    row: int | None
    column: str | None
    problem: str
    fix: str

    def __str__(self) -> str:
        where = ", ".join(
            p
            for p in (
                f"row {self.row}" if self.row is not None else "file",
                f"column '{self.column}'" if self.column else "",
            )
            if p
        )
        return f"{where}: {self.problem}. Fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "problem": self.problem, "fix": self.fix}


class _RowInvalid(Exception):
    """Internal: one cell failed; collected into RowErrors."""

    def __init__(self, column: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.column, self.problem, self.fix = column, problem, fix


# --------------------------------------------------------------------------- parsing
def _fmt_num(v: float) -> str:
    """Canonical text of a number: integers without '.0', others by repr."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def _float(text: str, column: str, *, what: str) -> float:
    try:
        v = float(text.strip().replace("_", ""))
    except ValueError:
        raise _RowInvalid(
            column,
            f"{text!r} is not a number",
            f"write {what} as a plain number, e.g. 1.8 (no units, no thousands separators)",
        ) from None
    if not math.isfinite(v):
        raise _RowInvalid(column, f"{text!r} is not a finite number", f"give {what}")
    return v


def _floats(text: str, column: str, *, what: str) -> list[float]:
    parts = [p.strip() for p in re.split(r"[;|]", text.strip()) if p.strip() != ""]
    if not parts:
        raise _RowInvalid(column, "is empty", f"give {what}, ';'-separated")
    return [_float(p, column, what=what) for p in parts]


def _utc(text: str, column: str) -> datetime:
    raw = text.strip()
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _RowInvalid(
            column, f"{raw!r} is not an ISO 8601 timestamp", "write e.g. 2026-11-02T08:00:00Z"
        ) from None
    if dt.tzinfo is None:
        raise _RowInvalid(
            column, f"{raw!r} has no time zone", f"the window is in UTC: write {raw}Z if it is UTC"
        )
    off = dt.utcoffset()
    if off != timedelta(0):
        conv = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise _RowInvalid(
            column, f"{raw!r} is not UTC (offset {off})", f"give the UTC time, here {conv}"
        )
    return dt.astimezone(UTC)


_iso = format_utc


def hour_weights_s(start: datetime, end: datetime) -> FloatArray:
    """Seconds of the window [start, end) inside each UTC clock hour it overlaps."""
    t0 = start.timestamp()
    t1 = end.timestamp()
    h0 = math.floor(t0 / S_PER_HOUR) * S_PER_HOUR
    h1 = math.ceil(t1 / S_PER_HOUR) * S_PER_HOUR
    starts = np.arange(h0, h1, S_PER_HOUR, dtype=np.float64)
    out: FloatArray = np.clip(
        np.minimum(starts + S_PER_HOUR, t1) - np.maximum(starts, t0), 0.0, None
    )
    return out


def _version_tuple(text: str) -> tuple[int, ...] | None:
    m = re.match(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


# ---------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class ValidRow:
    """A complete, validated submission row."""

    row: int
    values: dict[str, str]  # canonical text of every schema column
    fingerprint: str
    region_id: str
    region_name: str
    energy_j: float
    n_inferences: int
    window_start_utc: datetime
    window_end_utc: datetime
    hourly_intensity_g_per_kwh: tuple[float, ...]
    weights: tuple[float, ...]
    weighting: str  # "hourly energy" or "time overlap (constant power assumed)"
    pue: float
    embodied_g: float | None
    training_g: float | None

    @property
    def mean_intensity_g_per_kwh(self) -> float:
        """Energy-weighted mean of the hourly intensity over the window [g/kWh]."""
        w = np.asarray(self.weights)
        return float(np.dot(w, np.asarray(self.hourly_intensity_g_per_kwh)) / w.sum())

    @property
    def conflict_key(self) -> tuple[str, ...]:
        """Rows with the same key describe the same measurement."""
        v = self.values
        return (
            v["workload_id"] or v["workload_description"].lower(),
            v["hardware"].lower(),
            self.region_id,
            v["window_start_utc"],
            v["window_end_utc"],
            v["submitter"].lower(),
        )


def fingerprint(values: dict[str, str]) -> str:
    """sha256 of the canonical values of every schema column."""
    payload = json.dumps([values.get(c, "") for c in COLUMN_NAMES], ensure_ascii=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class _Validator:
    """Validates one row, collecting every error (not just the first)."""

    def __init__(self, raw: dict[str, str], row: int, now_utc: datetime) -> None:
        self.raw = {k: (v or "").strip() for k, v in raw.items()}
        self.row = row
        self.now = now_utc
        self.errors: list[RowError] = []
        self.out: dict[str, str] = dict.fromkeys(COLUMN_NAMES, "")

    def err(self, column: str, problem: str, fix: str) -> None:
        self.errors.append(RowError(self.row, column, problem, fix))

    def get(self, column: str) -> str:
        return self.raw.get(column, "")

    def need(self, column: str, fix: str) -> str | None:
        v = self.get(column)
        if v == "":
            self.err(
                column,
                "is missing (a mandatory disclosure)"
                if column
                not in (
                    "hardware",
                    "region",
                    "energy_j",
                    "n_inferences",
                    "window_start_utc",
                    "window_end_utc",
                )
                else "is missing",
                fix,
            )
            return None
        return v

    def run(self) -> ValidRow | None:
        from infercarbon.reference.regions import resolve_region

        # ---- workload, hardware, tier
        wid, wdesc = self.get("workload_id"), self.get("workload_description")
        if wid:
            try:
                self.out["workload_id"] = seed.get_workload(wid).workload_id
            except InputError as exc:
                self.err(
                    "workload_id",
                    str(exc),
                    "use a cohort id (WL-01 .. WL-06) or leave "
                    "it empty and describe the workload in workload_description",
                )
        elif not wdesc:
            self.err(
                "workload_id",
                "neither workload_id nor workload_description is given",
                "give a cohort id (WL-01 .. WL-06) or describe the workload",
            )
        self.out["workload_description"] = wdesc
        hw = self.need("hardware", "name the device(s) measured, e.g. '1 x NVIDIA L4'")
        self.out["hardware"] = hw or ""
        tier = None
        if self.get("tier"):
            try:
                tier = seed.get_tier(self.get("tier"))
                self.out["tier"] = tier.tier_id
            except UnknownHardwareError as exc:
                self.err("tier", str(exc), "use T0 .. T6 or leave it empty")
        # ---- region
        region = None
        reg = self.need("region", "give the grid region, e.g. GB, DE, US-TX or aws:eu-west-1")
        if reg:
            try:
                region = resolve_region(reg)
                self.out["region"] = region.region_id
            except InputError as exc:
                self.err("region", str(exc), "use a region that `infercarbon regions` lists")
        # ---- energy and count
        energy = n = None
        e_txt = self.need("energy_j", "give the measured energy per inference in joules")
        if e_txt:
            try:
                energy = _float(e_txt, "energy_j", what="the energy per inference in J")
                if energy <= 0:
                    raise _RowInvalid(
                        "energy_j",
                        f"{e_txt} is not > 0",
                        "give the measured energy per inference (> 0 J)",
                    )
                self.out["energy_j"] = _fmt_num(energy)
            except _RowInvalid as exc:
                self.err(exc.column, exc.problem, exc.fix)
                energy = None
        n_txt = self.need("n_inferences", "give the number of inferences in the window")
        if n_txt:
            try:
                nf = _float(n_txt, "n_inferences", what="the number of inferences")
                if nf < 1 or not nf.is_integer():
                    raise _RowInvalid(
                        "n_inferences",
                        f"{n_txt} is not a whole number >= 1",
                        "count the inferences served in the window",
                    )
                n = int(nf)
                self.out["n_inferences"] = str(n)
            except _RowInvalid as exc:
                self.err(exc.column, exc.problem, exc.fix)
        b = self.get("energy_boundary").lower()
        if b and b not in _BOUNDARIES:
            self.err(
                "energy_boundary",
                f"{b!r} is not a known boundary",
                f"use one of {', '.join(_BOUNDARIES)}, or leave it empty",
            )
        self.out["energy_boundary"] = b
        # ---- window
        start = end = None
        for col in ("window_start_utc", "window_end_utc"):
            t = self.need(col, "give the measurement window in UTC, e.g. 2026-11-02T08:00:00Z")
            if t:
                try:
                    dt = _utc(t, col)
                    self.out[col] = _iso(dt)
                    if col == "window_start_utc":
                        start = dt
                    else:
                        end = dt
                except _RowInvalid as exc:
                    self.err(exc.column, exc.problem, exc.fix)
        if start is not None and end is not None:
            if end <= start:
                self.err(
                    "window_end_utc",
                    "the window ends before it starts",
                    "window_end_utc must be after window_start_utc",
                )
                start = end = None
            elif (end - start).total_seconds() > MAX_WINDOW_S:
                self.err(
                    "window_end_utc",
                    "the window is longer than 366 days",
                    "split the measurement into rows of at most a year",
                )
                start = end = None
            elif end > self.now:
                self.err(
                    "window_end_utc",
                    f"the window ends in the future ({_iso(end)} > {_iso(self.now)})",
                    "submit after the measurement has finished",
                )
                start = end = None
        # ---- method
        m = self.need(
            "energy_method", "name the energy measurement method: " + " | ".join(ENERGY_METHODS)
        )
        method = None
        if m:
            key = m.lower().strip()
            method = next((k for k, spell in ENERGY_METHODS.items() if key in spell), None)
            if method is None:
                self.err(
                    "energy_method",
                    f"{m!r} is not an accepted measurement method",
                    "measure with MLPerf Power, CodeCarbon >= 3.0 or infercarbon's meter "
                    f"and write one of {', '.join(ENERGY_METHODS)}",
                )
            else:
                self.out["energy_method"] = method
        ver = self.get("energy_method_version")
        self.out["energy_method_version"] = ver
        if method == "codecarbon":
            vt = _version_tuple(ver) if ver else None
            if not ver:
                self.err(
                    "energy_method_version",
                    "is missing (CodeCarbon needs its version)",
                    "give the CodeCarbon version used, e.g. 3.0.4 (>= 3.0 required)",
                )
            elif vt is None:
                self.err(
                    "energy_method_version", f"{ver!r} is not a version number", "write e.g. 3.0.4"
                )
            elif vt < (3, 0):
                self.err(
                    "energy_method_version",
                    f"CodeCarbon {ver} is older than 3.0",
                    "re-measure with CodeCarbon >= 3.0",
                )
        # ---- intensity
        hourly: list[float] | None = None
        h_txt = self.need(
            "hourly_intensity_g_per_kwh",
            "give the grid intensity for every UTC hour of the window in g/kWh, "
            "';'-separated (e.g. from Electricity Maps)",
        )
        if h_txt:
            try:
                hourly = _floats(
                    h_txt, "hourly_intensity_g_per_kwh", what="the hourly intensity in g/kWh"
                )
                if min(hourly) < 0:
                    raise _RowInvalid(
                        "hourly_intensity_g_per_kwh",
                        "a value is negative",
                        "intensity is >= 0 g/kWh",
                    )
            except _RowInvalid as exc:
                self.err(exc.column, exc.problem, exc.fix)
                hourly = None
        src = self.need(
            "intensity_source",
            "name the source of the hourly intensity, e.g. 'Electricity Maps DE, lifecycle'",
        )
        self.out["intensity_source"] = src or ""
        weights: FloatArray | None = None
        if start is not None and end is not None:
            weights = hour_weights_s(start, end)
        if hourly is not None:
            self.out["hourly_intensity_g_per_kwh"] = ";".join(_fmt_num(v) for v in hourly)
            hourly = self._check_intensity_units(hourly, weights, start, end, region)
        # ---- hourly energy (optional)
        he_txt = self.get("hourly_energy_j")
        hourly_e: list[float] | None = None
        if he_txt:
            try:
                hourly_e = _floats(he_txt, "hourly_energy_j", what="the energy of each hour in J")
                if min(hourly_e) < 0 or sum(hourly_e) <= 0:
                    raise _RowInvalid(
                        "hourly_energy_j",
                        "values must be >= 0 with a positive sum",
                        "give the measured joules of each hour",
                    )
                self.out["hourly_energy_j"] = ";".join(_fmt_num(v) for v in hourly_e)
            except _RowInvalid as exc:
                self.err(exc.column, exc.problem, exc.fix)
                hourly_e = None
            if hourly_e is not None and weights is not None and len(hourly_e) != len(weights):
                self.err(
                    "hourly_energy_j",
                    f"{len(hourly_e)} values for a window that "
                    f"overlaps {len(weights)} UTC clock hours",
                    "give one value per UTC clock hour of the window",
                )
                hourly_e = None
        self._check_energy_units(energy, n, tier, hourly_e)
        # ---- PUE
        pue = None
        p_txt = self.need("pue", "give the facility PUE (>= 1), e.g. 1.2")
        if p_txt:
            try:
                pue = _float(p_txt, "pue", what="the PUE")
                if pue < 1:
                    fix = (
                        f"PUE is facility/IT energy (>= 1); if {p_txt} is the overhead, "
                        f"the PUE is {1 + pue:g}"
                        if 0 < pue < 1
                        else "PUE is >= 1"
                    )
                    raise _RowInvalid("pue", f"{p_txt} is below 1", fix)
                if pue > 3:
                    raise _RowInvalid(
                        "pue",
                        f"{p_txt} is above 3, beyond any reported facility",
                        "give PUE as a ratio (e.g. 1.4), not a percentage",
                    )
                self.out["pue"] = _fmt_num(pue)
            except _RowInvalid as exc:
                self.err(exc.column, exc.problem, exc.fix)
                pue = None
        ps = self.need("pue_source", "say whether the PUE is measured or vendor-published")
        if ps:
            canon = _PUE_SOURCES.get(ps.lower())
            if canon is None:
                self.err(
                    "pue_source",
                    f"{ps!r} is not measured or vendor-published",
                    "write measured or vendor-published",
                )
            else:
                self.out["pue_source"] = canon
        # ---- embodied
        emb = None
        em = self.need(
            "embodied_method",
            "describe how embodied carbon is amortised per inference, or write none",
        )
        self.out["embodied_method"] = (
            em.lower() if em and em.lower() in _NONE_METHODS else (em or "")
        )
        eg = self.get("embodied_g")
        if em and em.lower() in _NONE_METHODS:
            if eg:
                self.err(
                    "embodied_g",
                    f"is given although embodied_method is {em!r}",
                    "describe the amortisation method, or clear embodied_g",
                )
        elif em:
            if not eg:
                self.err(
                    "embodied_g",
                    "is missing although an embodied method is described",
                    "give the embodied g CO2e per inference by that method, or set "
                    "embodied_method to none",
                )
            else:
                try:
                    emb = _float(eg, "embodied_g", what="embodied g CO2e per inference")
                    if emb < 0:
                        raise _RowInvalid("embodied_g", "is negative", "give a value >= 0")
                    self.out["embodied_g"] = _fmt_num(emb)
                except _RowInvalid as exc:
                    self.err(exc.column, exc.problem, exc.fix)
                    emb = None
        # ---- training
        tr = None
        ti = self.need("training_included", "write yes or no: is training carbon included?")
        if ti:
            if ti.lower() in _YES:
                self.out["training_included"] = "yes"
                tg = self.get("training_g")
                if not tg:
                    self.err(
                        "training_g",
                        "is missing although training_included is yes",
                        "give the amortised training g CO2e per inference, or set "
                        "training_included to no",
                    )
                else:
                    try:
                        tr = _float(tg, "training_g", what="training g CO2e per inference")
                        if tr < 0:
                            raise _RowInvalid("training_g", "is negative", "give a value >= 0")
                        self.out["training_g"] = _fmt_num(tr)
                    except _RowInvalid as exc:
                        self.err(exc.column, exc.problem, exc.fix)
            elif ti.lower() in _NO:
                self.out["training_included"] = "no"
                if self.get("training_g"):
                    self.err(
                        "training_g",
                        "is given although training_included is no",
                        "set training_included to yes, or clear training_g",
                    )
            else:
                self.err("training_included", f"{ti!r} is not yes or no", "write yes or no")
        # ---- submitter, licence, notes
        sub = self.need("submitter", "name the person or organisation submitting the row")
        self.out["submitter"] = sub or ""
        lic = self.need("licence", f"choose an open licence: {', '.join(ACCEPTED_LICENCES)}")
        if lic:
            canon_l = next((x for x in ACCEPTED_LICENCES if x.lower() == lic.lower()), None)
            if canon_l is None:
                close = difflib.get_close_matches(lic, ACCEPTED_LICENCES, n=2)
                self.err(
                    "licence",
                    f"{lic!r} is not an accepted open licence"
                    + (f" (did you mean {', '.join(close)}?)" if close else ""),
                    f"use one of {', '.join(ACCEPTED_LICENCES)}",
                )
            else:
                self.out["licence"] = canon_l
        self.out["notes"] = self.get("notes")

        if self.errors:
            return None
        assert region is not None and energy is not None and n is not None
        assert start is not None and end is not None and hourly is not None
        assert weights is not None and pue is not None
        if hourly_e is not None:
            w, weighting = np.asarray(hourly_e, dtype=np.float64), "hourly energy"
        else:
            w, weighting = weights, "time overlap (constant power assumed)"
        return ValidRow(
            row=self.row,
            values=self.out,
            fingerprint=fingerprint(self.out),
            region_id=region.region_id,
            region_name=region.name,
            energy_j=energy,
            n_inferences=n,
            window_start_utc=start,
            window_end_utc=end,
            hourly_intensity_g_per_kwh=tuple(hourly),
            weights=tuple(float(x) for x in w),
            weighting=weighting,
            pue=pue,
            embodied_g=emb,
            training_g=tr,
        )

    # ------------------------------------------------------------------ unit checks
    def _check_intensity_units(
        self,
        hourly: list[float],
        weights: FloatArray | None,
        start: datetime | None,
        end: datetime | None,
        region: Any,
    ) -> list[float] | None:
        col = "hourly_intensity_g_per_kwh"
        ok = True
        if weights is not None and len(hourly) != len(weights):
            assert start is not None and end is not None
            first = datetime.fromtimestamp(
                math.floor(start.timestamp() / S_PER_HOUR) * S_PER_HOUR, UTC
            )
            self.err(
                col,
                f"{len(hourly)} values for a window {_iso(start)} .. {_iso(end)} "
                f"that overlaps {len(weights)} UTC clock hours",
                f"give exactly {len(weights)} values, one per UTC clock hour starting "
                f"{first.strftime('%Y-%m-%dT%H:00Z')} (partial hours count)",
            )
            ok = False
        hi = max(hourly)
        if hi > MAX_HOURLY_G_PER_KWH:
            self.err(
                col,
                f"{_fmt_num(hi)} g/kWh is above any grid's hourly intensity "
                f"(> {MAX_HOURLY_G_PER_KWH:,.0f})",
                "give g CO2e per kWh: lb/MWh x 0.4536 = g/kWh; g/MWh / 1,000 = g/kWh",
            )
            ok = False
        mean = float(np.mean(hourly))
        annual = region.intensity_g_per_kwh.value if region is not None else None
        if annual is not None and annual >= 10 and mean < annual / 30:
            for factor, unit in ((G_PER_KG, "kg/kWh"), (G_PER_T, "t/kWh")):
                if annual / 5 <= mean * factor <= annual * 5:
                    self.err(
                        col,
                        f"values (mean {mean:.4g}) look like {unit}, not g/kWh: the "
                        f"region's annual average is {annual:.0f} g/kWh",
                        f"multiply every value by {factor:,.0f} to get g/kWh",
                    )
                    ok = False
                    break
        return hourly if ok else None

    def _check_energy_units(
        self, energy: float | None, n: int | None, tier: Any, hourly_e: list[float] | None
    ) -> None:
        if energy is None:
            return
        col = "energy_j"
        conv = ((J_PER_WH, "Wh"), (J_PER_KWH, "kWh"))
        if hourly_e is not None and n is not None:
            total = sum(hourly_e)
            ratio = total / (energy * n)
            for factor, unit in conv:
                if abs(ratio / factor - 1) < 0.02:
                    self.err(
                        col,
                        f"energy_j x n_inferences is {factor:,.0f}x less than the "
                        f"sum of hourly_energy_j: energy_j looks like {unit}",
                        f"multiply energy_j by {factor:,.0f} to get joules",
                    )
                    return
            if n > 1 and abs(total / energy - 1) < 0.02:
                self.err(
                    col,
                    "energy_j equals the sum of hourly_energy_j: it looks like the "
                    "window's total energy, not the energy per inference",
                    f"divide by n_inferences ({n}) to get J per inference",
                )
                return
            if abs(ratio - 1) > 0.05:
                self.err(
                    "hourly_energy_j",
                    f"adds up to {total:.6g} J but energy_j x "
                    f"n_inferences is {energy * n:.6g} J ({(ratio - 1) * 100:+.1f} %)",
                    "make the hourly energy add up to the window's energy (within 5 %)",
                )
                return
        # too small for the device's maximum power, or far below the cohort's figures for
        # the same workload: which unit fits is decided by the workload's figures if known
        problem = None
        p_hi, what = self._max_power_w(tier)
        if p_hi is not None and energy / p_hi < MIN_DEVICE_TIME_S:
            problem = (
                f"{_fmt_num(energy)} J per inference is less than {what} draws in "
                f"{MIN_DEVICE_TIME_S * US_PER_S:g} us at full power"
            )
        elif energy < MIN_ENERGY_J:
            problem = (
                f"{_fmt_num(energy)} J per inference is below {MIN_ENERGY_J:g} J, less "
                "than any measured AI inference (MLPerf Tiny microcontrollers use "
                "microjoules and up)"
            )
        wid = self.out.get("workload_id")
        fits: list[str] = []
        if wid:
            ref = [e for (w, _), e in seed.SEED_ENERGY_J.items() if w == wid]
            lo, hi = min(ref), max(ref)
            mid = math.sqrt(lo * hi)
            ok = [
                (abs(math.log(energy * f / mid)), u)
                for f, u in conv
                if lo / 30 <= energy * f <= hi * 30
            ]
            fits = [u for _, u in sorted(ok)]
            if problem is None and energy < lo / 1_000 and fits:
                problem = (
                    f"{_fmt_num(energy)} J is over 1,000x below the cohort's "
                    f"{lo:g}-{hi:g} J for {wid}"
                )
        if problem is None:
            return
        unit = fits[0] if fits else "Wh or kWh"
        factor_txt = {"Wh": "3,600", "kWh": "3,600,000"}.get(unit)
        self.err(
            col,
            f"{problem}: it looks like {unit}",
            f"multiply by {factor_txt} to get joules per inference"
            if factor_txt
            else "give joules per inference (1 Wh = 3,600 J; 1 kWh = 3,600,000 J)",
        )

    def _max_power_w(self, tier: Any) -> tuple[float | None, str]:
        if tier is not None:
            return float(tier.active_power_w.range[1]), f"tier {tier.tier_id}"
        hw = self.get("hardware")
        if not hw:
            return None, ""
        from infercarbon.reference.gpus import lookup_gpu

        m = re.match(r"^\s*(\d+)\s*[x×*]\s*(.+)$", hw)
        count, name = (int(m.group(1)), m.group(2)) if m else (1, hw)
        try:
            spec = lookup_gpu(name)
        except InputError:
            return None, ""
        return spec.tdp_w * max(count, 1), f"{count} x {spec.name}"


# ------------------------------------------------------------------------- files
def read_submission_csv(
    text: str, *, path: str = "<text>"
) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """Rows of a submission CSV with their spreadsheet row numbers, and file-level errors
    (missing or unknown columns)."""
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ParseError(str(exc), path=path) from exc
    if not header:
        raise ParseError("the file is empty (no header row)", path=path)
    reader.fieldnames = header
    errors: list[RowError] = []
    for h in header:
        if h not in COLUMN_NAMES:
            close = difflib.get_close_matches(h, COLUMN_NAMES, n=1)
            errors.append(
                RowError(
                    None,
                    h,
                    "is not a column of the submission schema",
                    f"rename it to '{close[0]}'"
                    if close
                    else "remove it (see docs/benchmark_submissions.md)",
                )
            )
    dup = sorted({h for h in header if header.count(h) > 1})
    errors += [RowError(None, h, "appears more than once in the header", "keep one") for h in dup]
    optional_missing = {
        "workload_id",
        "workload_description",
        "tier",
        "energy_boundary",
        "energy_method_version",
        "hourly_energy_j",
        "embodied_g",
        "training_g",
        "notes",
    }
    for c in COLUMN_NAMES:
        if c not in header and c not in optional_missing:
            errors.append(
                RowError(
                    None,
                    c,
                    "is missing from the header (a mandatory column)",
                    "add the column; see docs/benchmark_submissions.md",
                )
            )
    if "workload_id" not in header and "workload_description" not in header:
        errors.append(
            RowError(
                None,
                "workload_id",
                "neither workload_id nor workload_description is in the header",
                "add one of them",
            )
        )
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        line_before = reader.line_num
        for rec in reader:
            start_line = line_before + 1
            line_before = reader.line_num
            if None in rec:
                errors.append(
                    RowError(
                        start_line,
                        None,
                        "has more cells than the header",
                        "quote cells that contain commas",
                    )
                )
                continue
            if all((v or "").strip() == "" for v in rec.values()):
                continue
            rows.append((start_line, {k: v or "" for k, v in rec.items()}))
    except csv.Error as exc:
        raise ParseError(str(exc), path=path, row=reader.line_num) from exc
    return rows, errors


def write_submission_csv(rows: Sequence[dict[str, str]]) -> str:
    """Submission rows as CSV text with the schema's header."""
    buf = io.StringIO()
    w = csv.DictWriter(
        buf, fieldnames=list(COLUMN_NAMES), lineterminator="\n", extrasaction="raise"
    )
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in COLUMN_NAMES})
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What happened to one submitted row."""

    row: int
    status: str  # "accepted" | "already-accepted" | "rejected"
    errors: tuple[RowError, ...] = ()
    fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "status": self.status,
            "fingerprint": self.fingerprint,
            "errors": [e.to_dict() for e in self.errors],
        }


def validate_rows(
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    now_utc: datetime,
    known: dict[str, str] | None = None,
    known_keys: dict[tuple[str, ...], str] | None = None,
) -> tuple[list[RowOutcome], list[ValidRow]]:
    """Validate rows; ``known`` maps fingerprints already accepted to where (for idempotent
    re-submission), ``known_keys`` maps measurement keys to the fingerprint accepted for
    them (a different row for the same measurement is a conflict)."""
    if now_utc.tzinfo is None:
        raise InputError("now_utc must be timezone-aware", field="now_utc")
    known = dict(known or {})
    known_keys = dict(known_keys or {})
    seen: dict[str, int] = {}
    seen_keys: dict[tuple[str, ...], int] = {}
    outcomes: list[RowOutcome] = []
    valid: list[ValidRow] = []
    for row, raw in rows:
        v = _Validator(raw, row, now_utc)
        vr = v.run()
        if vr is None:
            outcomes.append(RowOutcome(row, "rejected", tuple(v.errors)))
            continue
        fp = vr.fingerprint
        if fp in seen:
            outcomes.append(
                RowOutcome(
                    row,
                    "rejected",
                    (
                        RowError(
                            row,
                            None,
                            f"duplicate of row {seen[fp]} in this file",
                            "remove the repeated row",
                        ),
                    ),
                    fp,
                )
            )
            continue
        if fp in known:
            outcomes.append(
                RowOutcome(
                    row,
                    "already-accepted",
                    (
                        RowError(
                            row,
                            None,
                            f"identical to a row already accepted ({known[fp]}); not appended "
                            "again",
                            "nothing to do",
                        ),
                    ),
                    fp,
                )
            )
            seen[fp] = row
            continue
        key = vr.conflict_key
        if key in seen_keys:
            outcomes.append(
                RowOutcome(
                    row,
                    "rejected",
                    (
                        RowError(
                            row,
                            "window_start_utc",
                            f"same workload, hardware, region, window and "
                            f"submitter as row {seen_keys[key]} but different figures",
                            "keep one row per measurement (correct the window if these "
                            "are different runs)",
                        ),
                    ),
                    fp,
                )
            )
            continue
        if key in known_keys:
            outcomes.append(
                RowOutcome(
                    row,
                    "rejected",
                    (
                        RowError(
                            row,
                            "window_start_utc",
                            "the store already holds a different row for the "
                            f"same workload, hardware, region, window and submitter "
                            f"(fingerprint {known_keys[key][:12]})",
                            "accepted rows are append-only: "
                            "submit a correction as a new measurement window, or ask the steward",
                        ),
                    ),
                    fp,
                )
            )
            continue
        seen[fp] = row
        seen_keys[key] = row
        outcomes.append(RowOutcome(row, "accepted", (), fp))
        valid.append(vr)
    return outcomes, valid


# ------------------------------------------------------------------------- store
@dataclass(frozen=True)
class SubmissionStore:
    """A directory holding the accepted submissions (``submissions.csv``, append-only)."""

    directory: Path

    @property
    def path(self) -> Path:
        return Path(self.directory) / STORE_FILE

    def exists(self) -> bool:
        return self.path.is_file()

    def read_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8") if self.exists() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the submission store {self.path}: {exc}") from exc

    def rows(self) -> list[dict[str, str]]:
        """Every accepted row (schema columns + fingerprint, accepted_utc, source_file)."""
        text = self.read_text()
        if not text:
            return []
        reader = csv.DictReader(io.StringIO(text))
        if tuple(reader.fieldnames or ()) != STORE_COLUMNS:
            raise DataError(
                f"{self.path} does not have the store's columns "
                f"({', '.join(STORE_COLUMNS)}); was it edited by hand?"
            )
        out = [dict(r) for r in reader]
        for i, r in enumerate(out, start=2):
            vals = {c: r[c] for c in COLUMN_NAMES}
            if fingerprint(vals) != r["fingerprint"]:
                raise DataError(
                    f"{self.path} row {i}: the stored values do not match their "
                    "fingerprint (the append-only store was modified)"
                )
        return out

    def append(self, rows: Sequence[ValidRow], *, accepted_utc: datetime, source_file: str) -> None:
        if not rows:
            return
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            new = not self.exists() or self.path.stat().st_size == 0
            with self.path.open("a", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(STORE_COLUMNS), lineterminator="\n")
                if new:
                    w.writeheader()
                for r in rows:
                    w.writerow(
                        {
                            **r.values,
                            "fingerprint": r.fingerprint,
                            "accepted_utc": _iso(accepted_utc),
                            "source_file": source_file,
                        }
                    )
        except OSError as exc:
            raise DataError(f"cannot write the submission store {self.path}: {exc}") from exc

    def valid_rows(self) -> list[ValidRow]:
        """Accepted rows, re-validated (each against the time it was accepted)."""
        out: list[ValidRow] = []
        for i, r in enumerate(self.rows(), start=2):
            try:
                acc = _utc(r["accepted_utc"], "accepted_utc")
            except _RowInvalid as exc:
                raise DataError(f"{self.path} row {i}: {exc.problem}") from None
            v = _Validator({c: r[c] for c in COLUMN_NAMES}, i, acc)
            vr = v.run()
            if vr is None:
                raise DataError(
                    f"{self.path} row {i} no longer validates: "
                    + "; ".join(str(e) for e in v.errors)
                )
            out.append(vr)
        return out


@dataclass
class SubmitReport:
    """The outcome of one :func:`submit` call."""

    source: str
    store: str
    file_errors: list[RowError] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)

    @property
    def accepted(self) -> list[RowOutcome]:
        return [o for o in self.outcomes if o.status == "accepted"]

    @property
    def rejected(self) -> list[RowOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    @property
    def already(self) -> list[RowOutcome]:
        return [o for o in self.outcomes if o.status == "already-accepted"]

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "store": self.store,
            "ok": self.ok,
            "accepted": len(self.accepted),
            "already_accepted": len(self.already),
            "rejected": len(self.rejected),
            "file_errors": [e.to_dict() for e in self.file_errors],
            "rows": [o.to_dict() for o in self.outcomes],
        }

    def lines(self) -> list[str]:
        out = [str(e) for e in self.file_errors]
        for o in self.outcomes:
            if o.status == "accepted":
                out.append(f"row {o.row}: accepted ({(o.fingerprint or '')[:12]})")
            else:
                out += [f"{'' if o.status == 'rejected' else 'note: '}{e}" for e in o.errors]
        out.append(
            f"{len(self.accepted)} accepted, {len(self.already)} already accepted, "
            f"{len(self.rejected)} rejected"
            + (", file rejected" if self.file_errors else "")
            + f" -> {self.store}"
        )
        return out


def submit(
    text: str, store: SubmissionStore, *, now_utc: datetime, source_file: str = "<text>"
) -> SubmitReport:
    """Validate a submission CSV and append its complete, new rows to ``store``.

    File-level errors (a mandatory column missing from the header, an unknown column) reject
    the whole file: a misspelt column would otherwise drop a disclosure.
    """
    report = SubmitReport(source_file, str(store.path))
    rows, file_errors = read_submission_csv(text, path=source_file)
    report.file_errors = file_errors
    if file_errors:
        return report
    if not rows:
        report.file_errors.append(
            RowError(None, None, "has no data rows", "add one row per measurement")
        )
        return report
    stored = store.rows()
    known = {
        r["fingerprint"]: f"accepted {r['accepted_utc']} from {r['source_file']}" for r in stored
    }
    known_keys: dict[tuple[str, ...], str] = {}
    if stored:
        for vr in store.valid_rows():
            known_keys[vr.conflict_key] = vr.fingerprint
    outcomes, valid = validate_rows(rows, now_utc=now_utc, known=known, known_keys=known_keys)
    report.outcomes = outcomes
    store.append(valid, accepted_utc=now_utc, source_file=Path(source_file).name)
    return report
