"""Measured submissions to the living benchmark: the CSV schema, per-row validation and the
append-only store.

A submission file is a CSV with the columns of :data:`SCHEMA` (documented for contributors in
``docs/benchmark_submissions.md``).  :func:`submit` validates every row on its own, appends
only complete rows to the store and reports every rejected row with its row number, column,
what is wrong and how to fix it.  Row numbers are spreadsheet rows: the header is row 1, the
first data row is row 2.

Each row is validated by the pydantic model :class:`SubmissionRow`: the field rules (types,
units in names, ranges, choices, and the cross-field rules as field validators that run once
the fields they read are valid) in one place, and the published JSON Schema of a row
(:func:`submission_json_schema`; ``docs/schemas/benchmark-submission.schema.json``;
``infercarbon schema submission``).  pydantic's errors are mapped onto :class:`RowError`
(row, column, problem, fix); every problem of a row is reported, not just the first.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from infercarbon.arrays import FloatArray
from infercarbon.errors import (
    DataError,
    InputError,
    ParseError,
    UnknownHardwareError,
)
from infercarbon.reference import seed
from infercarbon.timeutil import format_utc
from infercarbon.units import J_PER_KWH, J_PER_WH, S_PER_HOUR

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
    "SubmissionRow",
    "SubmissionStore",
    "SubmitReport",
    "ValidRow",
    "hour_weights_s",
    "read_submission_csv",
    "submission_json_schema",
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
#: The energy measurement methods a row may use (the keys of ENERGY_METHODS).
EnergyMethod = Literal["mlperf-power", "codecarbon", "infercarbon-meter"]
ENERGY_METHODS: dict[EnergyMethod, tuple[str, ...]] = {
    "mlperf-power": ("mlperf-power", "mlperf power", "mlperf_power", "mlperfpower", "mlperf"),
    "codecarbon": ("codecarbon", "code carbon", "code-carbon"),
    "infercarbon-meter": (
        "infercarbon-meter",
        "infercarbon meter",
        "infercarbon",
        "infercarbon_meter",
    ),
}
#: The open licences a row may carry.
Licence = Literal[
    "CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "ODbL-1.0", "PDDL-1.0", "CDLA-Permissive-2.0",
    "Apache-2.0", "MIT",
]  # fmt: skip
ACCEPTED_LICENCES: tuple[str, ...] = get_args(Licence)
#: What the meter covered.
Boundary = Literal["accelerator", "node", "system"]
_BOUNDARIES: tuple[str, ...] = get_args(Boundary)
PueSource = Literal["measured", "vendor-published"]
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
#: Where the published JSON Schema of a row lives (its ``$id``).
SCHEMA_ID = (
    "https://github.com/infercarbon/infercarbon/blob/main/docs/schemas/"
    "benchmark-submission.schema.json"
)


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


# --------------------------------------------------------------------------- parsing
def _fmt_num(v: float) -> str:
    """Canonical text of a number: integers without '.0', others by repr."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def _invalid(problem: str, fix: str, column: str | None = None) -> PydanticCustomError:
    """A row problem raised inside the model: ``problem`` and ``fix`` go to the RowError;
    ``column`` when it is not the field being validated."""
    ctx: dict[str, Any] = {"problem": problem, "fix": fix}
    if column is not None:
        ctx["column"] = column
    return PydanticCustomError("submission", "{problem}", ctx)


def _number(v: Any, what: str) -> Any:
    """Cell text -> float: a plain number (``_`` separators allowed), finite."""
    if not isinstance(v, str):
        return v
    try:
        x = float(v.strip().replace("_", ""))
    except ValueError:
        raise _invalid(
            f"{v!r} is not a number",
            f"write {what} as a plain number, e.g. 1.8 (no units, no thousands separators)",
        ) from None
    if not math.isfinite(x):
        raise _invalid(f"{v!r} is not a finite number", f"give {what}")
    return x


def _numbers(v: Any, what: str) -> Any:
    """Cell text -> list of floats, ';'- (or '|'-) separated."""
    if not isinstance(v, str):
        return v
    parts = [p.strip() for p in re.split(r"[;|]", v.strip()) if p.strip() != ""]
    if not parts:
        raise _invalid("is empty", f"give {what}, ';'-separated")
    return [_number(p, what) for p in parts]


def _number_text(what: str) -> BeforeValidator:
    return BeforeValidator(lambda v: _number(v, what))


def _numbers_text(what: str) -> BeforeValidator:
    return BeforeValidator(lambda v: _numbers(v, what))


def _utc(text: str) -> datetime:
    """ISO 8601 text with Z or +00:00 -> aware UTC datetime (other offsets are errors)."""
    raw = text.strip()
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _invalid(
            f"{raw!r} is not an ISO 8601 timestamp", "write e.g. 2026-11-02T08:00:00Z"
        ) from None
    if dt.tzinfo is None:
        raise _invalid(
            f"{raw!r} has no time zone", f"the window is in UTC: write {raw}Z if it is UTC"
        )
    off = dt.utcoffset()
    if off != timedelta(0):
        conv = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise _invalid(f"{raw!r} is not UTC (offset {off})", f"give the UTC time, here {conv}")
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


def _spelling(table: Mapping[str, str]) -> BeforeValidator:
    """Known spellings -> the canonical value (case-insensitive); others pass through."""

    def canon(v: Any) -> Any:
        return table.get(v.strip().lower(), v) if isinstance(v, str) else v

    return BeforeValidator(canon)


_METHOD_SPELLINGS = {s: k for k, spell in ENERGY_METHODS.items() for s in spell}
_LICENCE_SPELLINGS = {x.lower(): x for x in ACCEPTED_LICENCES}
_YES_NO = {**dict.fromkeys(_YES, "yes"), **dict.fromkeys(_NO, "no")}


# ------------------------------------------------------------------------ the row model
def _col(name: str, **kw: Any) -> Any:
    """A model field documented by its :data:`SCHEMA` column (description, unit, example)."""
    c = next(c for c in SCHEMA if c.name == name)
    unit = f" [{c.unit}]" if c.unit not in ("-", "") else ""
    return Field(
        description=f"{c.description}{unit}; required: {c.required}",
        examples=[c.example] if c.example else None,
        **kw,
    )


_Text = Annotated[str, Field(min_length=1)]
_Float = Annotated[float, PlainSerializer(_fmt_num, return_type=str)]
_Floats = PlainSerializer(lambda xs: ";".join(_fmt_num(x) for x in xs), return_type=str)
_UtcTime = Annotated[
    datetime, BeforeValidator(lambda v: _utc(v) if isinstance(v, str) else v),
    PlainSerializer(_iso, return_type=str),
]  # fmt: skip


def _seen(info: ValidationInfo, *names: str) -> bool:
    """Every field in ``names`` validated (a field that failed is absent from info.data)."""
    return all(n in info.data for n in names)


class SubmissionRow(BaseModel):
    """One row of a living-benchmark submission (``docs/benchmark_submissions.md``).

    Cells are text in the CSV: numbers are plain numbers, lists are ';'-separated and
    times are ISO 8601 UTC; an empty cell is an absent value.  Fields are validated in
    the order below (a cross-field rule runs once the fields it reads are valid), so
    ``energy_j`` comes after the fields its unit checks read.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, title="infercarbon benchmark submission row"
    )

    workload_id: str | None = _col("workload_id", default=None)
    workload_description: str | None = _col(
        "workload_description", default=None, validate_default=True
    )
    hardware: _Text = _col("hardware")
    tier: str | None = _col("tier", default=None)
    region: _Text = _col("region")
    energy_boundary: Annotated[
        Boundary | None,
        BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
    ] = _col("energy_boundary", default=None)
    n_inferences: Annotated[
        int, _number_text("the number of inferences"), PlainSerializer(str, return_type=str)
    ] = _col("n_inferences", ge=1)
    window_start_utc: _UtcTime = _col("window_start_utc")
    window_end_utc: _UtcTime = _col("window_end_utc")
    energy_method: Annotated[EnergyMethod, _spelling(_METHOD_SPELLINGS)] = _col("energy_method")
    energy_method_version: str | None = _col(
        "energy_method_version", default=None, validate_default=True
    )
    hourly_intensity_g_per_kwh: Annotated[
        list[Annotated[float, Field(ge=0, le=MAX_HOURLY_G_PER_KWH)]],
        _numbers_text("the hourly intensity in g/kWh"),
        _Floats,
    ] = _col("hourly_intensity_g_per_kwh", min_length=1)
    intensity_source: _Text = _col("intensity_source")
    hourly_energy_j: Annotated[
        Annotated[list[Annotated[float, Field(ge=0)]], _Floats] | None,
        _numbers_text("the energy of each hour in J"),
    ] = _col("hourly_energy_j", default=None)
    energy_j: Annotated[_Float, _number_text("the energy per inference in J")] = _col(
        "energy_j", gt=0
    )
    pue: Annotated[_Float, _number_text("the PUE")] = _col("pue", ge=1, le=3)
    pue_source: Annotated[PueSource, _spelling(_PUE_SOURCES)] = _col("pue_source")
    embodied_method: _Text = _col("embodied_method")
    embodied_g: Annotated[_Float | None, _number_text("embodied g CO2e per inference")] = _col(
        "embodied_g", default=None, ge=0, validate_default=True
    )
    training_included: Annotated[Literal["yes", "no"], _spelling(_YES_NO)] = _col(
        "training_included"
    )
    training_g: Annotated[_Float | None, _number_text("training g CO2e per inference")] = _col(
        "training_g", default=None, ge=0, validate_default=True
    )
    submitter: _Text = _col("submitter")
    licence: Annotated[Licence, _spelling(_LICENCE_SPELLINGS)] = _col("licence")
    notes: str | None = _col("notes", default=None)

    @model_validator(mode="before")
    @classmethod
    def _cells(cls, data: Any) -> Any:
        """Cells are stripped; an empty cell is an absent value."""
        if not isinstance(data, Mapping):
            return data
        out = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in out.items() if v is not None and v != ""}

    # ---- workload, hardware, region: canonical names from the bundled tables
    @field_validator("workload_id")
    @classmethod
    def _workload(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return seed.get_workload(v).workload_id
        except InputError as exc:
            raise _invalid(
                str(exc),
                "use a cohort id (WL-01 .. WL-06) or leave it empty and describe the "
                "workload in workload_description",
            ) from None

    @field_validator("workload_description")
    @classmethod
    def _workload_given(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None and _seen(info, "workload_id") and info.data["workload_id"] is None:
            raise _invalid(
                "neither workload_id nor workload_description is given",
                "give a cohort id (WL-01 .. WL-06) or describe the workload",
                column="workload_id",
            )
        return v

    @field_validator("tier")
    @classmethod
    def _tier(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return seed.get_tier(v).tier_id
        except UnknownHardwareError as exc:
            raise _invalid(str(exc), "use T0 .. T6 or leave it empty") from None

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        from infercarbon.reference.regions import resolve_region

        try:
            return resolve_region(v).region_id
        except InputError as exc:
            raise _invalid(str(exc), "use a region that `infercarbon regions` lists") from None

    # ---- the window
    @field_validator("window_end_utc")
    @classmethod
    def _window(cls, end: datetime, info: ValidationInfo) -> datetime:
        if not _seen(info, "window_start_utc"):
            return end
        start = info.data["window_start_utc"]
        now: datetime | None = (info.context or {}).get("now_utc")
        if end <= start:
            raise _invalid(
                "the window ends before it starts", "window_end_utc must be after window_start_utc"
            )
        if (end - start).total_seconds() > MAX_WINDOW_S:
            raise _invalid(
                "the window is longer than 366 days",
                "split the measurement into rows of at most a year",
            )
        if now is not None and end > now:
            raise _invalid(
                f"the window ends in the future ({_iso(end)} > {_iso(now)})",
                "submit after the measurement has finished",
            )
        return end

    @field_validator("energy_method_version")
    @classmethod
    def _codecarbon_version(cls, v: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("energy_method") != "codecarbon":
            return v
        if v is None:
            raise _invalid(
                "is missing (CodeCarbon needs its version)",
                "give the CodeCarbon version used, e.g. 3.0.4 (>= 3.0 required)",
            )
        vt = _version_tuple(v)
        if vt is None:
            raise _invalid(f"{v!r} is not a version number", "write e.g. 3.0.4")
        if vt < (3, 0):
            raise _invalid(f"CodeCarbon {v} is older than 3.0", "re-measure with CodeCarbon >= 3.0")
        return v

    # ---- hourly series: one value per UTC clock hour of the window, in the right unit
    @field_validator("hourly_intensity_g_per_kwh")
    @classmethod
    def _intensity(cls, hourly: list[float], info: ValidationInfo) -> list[float]:
        problems = []
        weights = _window_weights(info)
        if weights is not None and len(hourly) != len(weights):
            start, end = info.data["window_start_utc"], info.data["window_end_utc"]
            first = datetime.fromtimestamp(
                math.floor(start.timestamp() / S_PER_HOUR) * S_PER_HOUR, UTC
            )
            problems.append(
                (
                    f"{len(hourly)} values for a window {_iso(start)} .. {_iso(end)} "
                    f"that overlaps {len(weights)} UTC clock hours",
                    f"give exactly {len(weights)} values, one per UTC clock hour starting "
                    f"{first.strftime('%Y-%m-%dT%H:00Z')} (partial hours count)",
                )
            )
        if _seen(info, "region"):
            problems += _intensity_unit_problems(hourly, info.data["region"])
        if problems:
            raise PydanticCustomError(
                "submission", "{problem}", {"problem": problems[0][0], "problems": problems}
            )
        return hourly

    @field_validator("hourly_energy_j")
    @classmethod
    def _hourly_energy(cls, hourly_e: list[float] | None, info: ValidationInfo) -> Any:
        if hourly_e is None:
            return None
        if sum(hourly_e) <= 0:
            raise _invalid(
                "values must be >= 0 with a positive sum", "give the measured joules of each hour"
            )
        weights = _window_weights(info)
        if weights is not None and len(hourly_e) != len(weights):
            raise _invalid(
                f"{len(hourly_e)} values for a window that overlaps {len(weights)} UTC clock hours",
                "give one value per UTC clock hour of the window",
            )
        return hourly_e

    @field_validator("energy_j")
    @classmethod
    def _energy_units(cls, energy: float, info: ValidationInfo) -> float:
        d = info.data
        problem = _energy_unit_problem(
            energy,
            n=d.get("n_inferences"),
            hourly_e=d.get("hourly_energy_j"),
            tier_id=d.get("tier"),
            hardware=d.get("hardware"),
            workload_id=d.get("workload_id"),
        )
        if problem is not None:
            column, text, fix = problem
            raise _invalid(text, fix, column=column)
        return energy

    # ---- disclosures that depend on each other
    @field_validator("embodied_method")
    @classmethod
    def _embodied_method(cls, v: str) -> str:
        return v.lower() if v.lower() in _NONE_METHODS else v

    @field_validator("embodied_g")
    @classmethod
    def _embodied(cls, v: float | None, info: ValidationInfo) -> float | None:
        if not _seen(info, "embodied_method"):
            return v
        em = info.data["embodied_method"]
        if em in _NONE_METHODS and v is not None:
            raise _invalid(
                f"is given although embodied_method is {em!r}",
                "describe the amortisation method, or clear embodied_g",
            )
        if em not in _NONE_METHODS and v is None:
            raise _invalid(
                "is missing although an embodied method is described",
                "give the embodied g CO2e per inference by that method, or set "
                "embodied_method to none",
            )
        return v

    @field_validator("training_g")
    @classmethod
    def _training(cls, v: float | None, info: ValidationInfo) -> float | None:
        ti = info.data.get("training_included")
        if ti == "yes" and v is None:
            raise _invalid(
                "is missing although training_included is yes",
                "give the amortised training g CO2e per inference, or set training_included to no",
            )
        if ti == "no" and v is not None:
            raise _invalid(
                "is given although training_included is no",
                "set training_included to yes, or clear training_g",
            )
        return v

    def canonical_values(self) -> dict[str, str]:
        """The canonical text of every schema column (what the store holds)."""
        dumped = self.model_dump()
        return {c: "" if dumped[c] is None else str(dumped[c]) for c in COLUMN_NAMES}


def _window_weights(info: ValidationInfo) -> FloatArray | None:
    """Seconds of the (valid) window in each UTC clock hour, or None."""
    if not _seen(info, "window_start_utc", "window_end_utc"):
        return None
    return hour_weights_s(info.data["window_start_utc"], info.data["window_end_utc"])


# ------------------------------------------------------------------ unit checks
def _intensity_unit_problems(hourly: list[float], region_id: str) -> list[tuple[str, str]]:
    """Hourly intensity that looks like kg/kWh or t/kWh against the region's annual mean."""
    from infercarbon.reference.regions import resolve_region

    mean = float(np.mean(hourly))
    annual = resolve_region(region_id).intensity_g_per_kwh.value
    if annual is None or annual < 10 or mean >= annual / 30:
        return []
    for factor, unit in ((1_000.0, "kg/kWh"), (1_000_000.0, "t/kWh")):
        if annual / 5 <= mean * factor <= annual * 5:
            return [
                (
                    f"values (mean {mean:.4g}) look like {unit}, not g/kWh: the "
                    f"region's annual average is {annual:.0f} g/kWh",
                    f"multiply every value by {factor:,.0f} to get g/kWh",
                )
            ]
    return []


_WH_KWH = ((J_PER_WH, "Wh"), (J_PER_KWH, "kWh"))


def _hourly_total_problem(
    energy: float, n: int, hourly_e: list[float]
) -> tuple[str, str, str] | None:
    """energy_j against the hourly energy: Wh/kWh, a window total, or a mismatch."""
    total = sum(hourly_e)
    ratio = total / (energy * n)
    for factor, unit in _WH_KWH:
        if abs(ratio / factor - 1) < 0.02:
            return (
                "energy_j",
                f"energy_j x n_inferences is {factor:,.0f}x less than the "
                f"sum of hourly_energy_j: energy_j looks like {unit}",
                f"multiply energy_j by {factor:,.0f} to get joules",
            )
    if n > 1 and abs(total / energy - 1) < 0.02:
        return (
            "energy_j",
            "energy_j equals the sum of hourly_energy_j: it looks like the "
            "window's total energy, not the energy per inference",
            f"divide by n_inferences ({n}) to get J per inference",
        )
    if abs(ratio - 1) > 0.05:
        return (
            "hourly_energy_j",
            f"adds up to {total:.6g} J but energy_j x "
            f"n_inferences is {energy * n:.6g} J ({(ratio - 1) * 100:+.1f} %)",
            "make the hourly energy add up to the window's energy (within 5 %)",
        )
    return None


def _energy_unit_problem(
    energy: float,
    *,
    n: int | None,
    hourly_e: list[float] | None,
    tier_id: str | None,
    hardware: str | None,
    workload_id: str | None,
) -> tuple[str, str, str] | None:
    """(column, problem, fix) when energy_j looks like Wh or kWh, or None.

    Too small for the device's maximum power, or far below the cohort's figures for the
    same workload: which unit fits is decided by the workload's figures if known."""
    if hourly_e is not None and n is not None:
        return _hourly_total_problem(energy, n, hourly_e)
    problem = None
    p_hi, what = _max_power_w(tier_id, hardware)
    if p_hi is not None and energy / p_hi < MIN_DEVICE_TIME_S:
        problem = (
            f"{_fmt_num(energy)} J per inference is less than {what} draws in "
            f"{MIN_DEVICE_TIME_S * 1e6:g} us at full power"
        )
    elif energy < MIN_ENERGY_J:
        problem = (
            f"{_fmt_num(energy)} J per inference is below {MIN_ENERGY_J:g} J, less "
            "than any measured AI inference (MLPerf Tiny microcontrollers use "
            "microjoules and up)"
        )
    fits: list[str] = []
    if workload_id:
        ref = [e for (w, _), e in seed.SEED_ENERGY_J.items() if w == workload_id]
        lo, hi = min(ref), max(ref)
        mid = math.sqrt(lo * hi)
        ok = [
            (abs(math.log(energy * f / mid)), u)
            for f, u in _WH_KWH
            if lo / 30 <= energy * f <= hi * 30
        ]
        fits = [u for _, u in sorted(ok)]
        if problem is None and energy < lo / 1_000 and fits:
            problem = (
                f"{_fmt_num(energy)} J is over 1,000x below the cohort's "
                f"{lo:g}-{hi:g} J for {workload_id}"
            )
    if problem is None:
        return None
    unit = fits[0] if fits else "Wh or kWh"
    factor_txt = {"Wh": "3,600", "kWh": "3,600,000"}.get(unit)
    return (
        "energy_j",
        f"{problem}: it looks like {unit}",
        f"multiply by {factor_txt} to get joules per inference"
        if factor_txt
        else "give joules per inference (1 Wh = 3,600 J; 1 kWh = 3,600,000 J)",
    )


def _max_power_w(tier_id: str | None, hardware: str | None) -> tuple[float | None, str]:
    if tier_id is not None:
        tier = seed.get_tier(tier_id)
        return float(tier.active_power_w.range[1]), f"tier {tier.tier_id}"
    if not hardware:
        return None, ""
    from infercarbon.reference.gpus import lookup_gpu

    m = re.match(r"^\s*(\d+)\s*[x×*]\s*(.+)$", hardware)
    count, name = (int(m.group(1)), m.group(2)) if m else (1, hardware)
    try:
        spec = lookup_gpu(name)
    except InputError:
        return None, ""
    return spec.tdp_w * max(count, 1), f"{count} x {spec.name}"


# ------------------------------------------------------------- pydantic errors -> RowError
_MEASUREMENT = {
    "hardware",
    "region",
    "energy_j",
    "n_inferences",
    "window_start_utc",
    "window_end_utc",
}
#: How to fix a missing mandatory cell.
_MISSING_FIX: dict[str, str] = {
    "hardware": "name the device(s) measured, e.g. '1 x NVIDIA L4'",
    "region": "give the grid region, e.g. GB, DE, US-TX or aws:eu-west-1",
    "energy_j": "give the measured energy per inference in joules",
    "n_inferences": "give the number of inferences in the window",
    "window_start_utc": "give the measurement window in UTC, e.g. 2026-11-02T08:00:00Z",
    "window_end_utc": "give the measurement window in UTC, e.g. 2026-11-02T08:00:00Z",
    "energy_method": "name the energy measurement method: " + " | ".join(ENERGY_METHODS),
    "hourly_intensity_g_per_kwh": "give the grid intensity for every UTC hour of the window "
    "in g/kWh, ';'-separated (e.g. from Electricity Maps)",
    "intensity_source": "name the source of the hourly intensity, e.g. "
    "'Electricity Maps DE, lifecycle'",
    "pue": "give the facility PUE (>= 1), e.g. 1.2",
    "pue_source": "say whether the PUE is measured or vendor-published",
    "embodied_method": "describe how embodied carbon is amortised per inference, or write none",
    "training_included": "write yes or no: is training carbon included?",
    "submitter": "name the person or organisation submitting the row",
    "licence": f"choose an open licence: {', '.join(ACCEPTED_LICENCES)}",
}


def _pue_fix(x: float) -> str:
    if 0 < x < 1:
        return (
            f"PUE is facility/IT energy (>= 1); if {_fmt_num(x)} is the overhead, "
            f"the PUE is {1 + x:g}"
        )
    return "PUE is >= 1"


def _licence_problem(x: Any) -> str:
    close = difflib.get_close_matches(str(x), ACCEPTED_LICENCES, n=2)
    return f"{x!r} is not an accepted open licence" + (
        f" (did you mean {', '.join(close)}?)" if close else ""
    )


_Msg = Callable[[Any], tuple[str, str]]
#: (column, pydantic error type) -> (problem, fix) from the offending value.
_MESSAGES: dict[tuple[str, str], _Msg] = {
    ("energy_j", "greater_than"): lambda x: (
        f"{_fmt_num(x)} is not > 0",
        "give the measured energy per inference (> 0 J)",
    ),
    ("n_inferences", "greater_than_equal"): lambda x: (
        f"{_fmt_num(x)} is not a whole number >= 1",
        "count the inferences served in the window",
    ),
    ("n_inferences", "int_from_float"): lambda x: (
        f"{_fmt_num(x)} is not a whole number >= 1",
        "count the inferences served in the window",
    ),
    ("pue", "greater_than_equal"): lambda x: (f"{_fmt_num(x)} is below 1", _pue_fix(x)),
    ("pue", "less_than_equal"): lambda x: (
        f"{_fmt_num(x)} is above 3, beyond any reported facility",
        "give PUE as a ratio (e.g. 1.4), not a percentage",
    ),
    ("hourly_intensity_g_per_kwh", "greater_than_equal"): lambda x: (
        "a value is negative",
        "intensity is >= 0 g/kWh",
    ),
    ("hourly_intensity_g_per_kwh", "less_than_equal"): lambda x: (
        f"{_fmt_num(x)} g/kWh is above any grid's hourly intensity (> {MAX_HOURLY_G_PER_KWH:,.0f})",
        "give g CO2e per kWh: lb/MWh x 0.4536 = g/kWh; g/MWh / 1,000 = g/kWh",
    ),
    ("hourly_energy_j", "greater_than_equal"): lambda x: (
        "values must be >= 0 with a positive sum",
        "give the measured joules of each hour",
    ),
    ("embodied_g", "greater_than_equal"): lambda x: ("is negative", "give a value >= 0"),
    ("training_g", "greater_than_equal"): lambda x: ("is negative", "give a value >= 0"),
    ("energy_boundary", "literal_error"): lambda x: (
        f"{x!r} is not a known boundary",
        f"use one of {', '.join(_BOUNDARIES)}, or leave it empty",
    ),
    ("energy_method", "literal_error"): lambda x: (
        f"{x!r} is not an accepted measurement method",
        "measure with MLPerf Power, CodeCarbon >= 3.0 or infercarbon's meter "
        f"and write one of {', '.join(ENERGY_METHODS)}",
    ),
    ("pue_source", "literal_error"): lambda x: (
        f"{x!r} is not measured or vendor-published",
        "write measured or vendor-published",
    ),
    ("training_included", "literal_error"): lambda x: (
        f"{x!r} is not yes or no",
        "write yes or no",
    ),
    ("licence", "literal_error"): lambda x: (
        _licence_problem(x),
        f"use one of {', '.join(ACCEPTED_LICENCES)}",
    ),
}


def _unknown_column(name: str) -> tuple[str, str]:
    close = difflib.get_close_matches(name, COLUMN_NAMES, n=1)
    return (
        "is not a column of the submission schema",
        f"rename it to '{close[0]}'" if close else "remove it (see docs/benchmark_submissions.md)",
    )


def _row_errors(exc: ValidationError, row: int) -> list[RowError]:
    """pydantic's errors as RowErrors (row, column, problem, fix), one per column and kind:
    the values of a list that fail the same rule are one error."""
    out: list[RowError] = []
    seen: set[tuple[str, str]] = set()
    for e in exc.errors(include_url=False):
        column = str(e["loc"][0]) if e["loc"] else None
        ctx = e.get("ctx") or {}
        column = str(ctx.get("column", column)) if column or "column" in ctx else None
        key = (column or "", e["type"])
        if key in seen and len(e["loc"]) > 1:
            continue
        seen.add(key)
        for problem, fix in _problems(e, column or ""):
            out.append(RowError(row, column, problem, fix))
    return out


def _problems(e: ErrorDetails, column: str) -> list[tuple[str, str]]:
    ctx, typ, got = e.get("ctx") or {}, e["type"], e.get("input")
    if "problems" in ctx:
        return [(str(p), str(f)) for p, f in ctx["problems"]]
    if "problem" in ctx:
        return [(str(ctx["problem"]), str(ctx["fix"]))]
    if typ == "missing":
        disclosure = "" if column in _MEASUREMENT else " (a mandatory disclosure)"
        return [(f"is missing{disclosure}", _MISSING_FIX.get(column, "give a value"))]
    if typ == "extra_forbidden":
        return [_unknown_column(column)]
    if typ == "too_short":
        return [("is empty", "give at least one value")]
    msg = _MESSAGES.get((column, typ))
    if msg is not None:
        return [msg(got)]
    return [(str(e["msg"]), "see docs/benchmark_submissions.md")]  # pragma: no cover


def _validate(raw: Mapping[str, str], row: int, now_utc: datetime) -> ValidRow | list[RowError]:
    """One row: a ValidRow, or every RowError it has."""
    try:
        m = SubmissionRow.model_validate(raw, context={"now_utc": now_utc})
    except ValidationError as exc:
        return _row_errors(exc, row)
    return _valid_row(m, row)


def _valid_row(m: SubmissionRow, row: int) -> ValidRow:
    from infercarbon.reference.regions import resolve_region

    values = m.canonical_values()
    if m.hourly_energy_j is not None:
        w, weighting = np.asarray(m.hourly_energy_j, dtype=np.float64), "hourly energy"
    else:
        w = hour_weights_s(m.window_start_utc, m.window_end_utc)
        weighting = "time overlap (constant power assumed)"
    return ValidRow(
        row=row,
        values=values,
        fingerprint=fingerprint(values),
        region_id=m.region,
        region_name=resolve_region(m.region).name,
        energy_j=m.energy_j,
        n_inferences=m.n_inferences,
        window_start_utc=m.window_start_utc,
        window_end_utc=m.window_end_utc,
        hourly_intensity_g_per_kwh=tuple(m.hourly_intensity_g_per_kwh),
        weights=tuple(float(x) for x in w),
        weighting=weighting,
        pue=m.pue,
        embodied_g=m.embodied_g,
        training_g=m.training_g,
    )


def _typed_example(prop: dict[str, Any], text: str) -> Any:
    """A column's example (CSV text) as the JSON value its schema describes."""
    kinds = {prop.get("type")} | {x.get("type") for x in prop.get("anyOf", [])}
    if "array" in kinds:
        return [float(x) for x in text.split(";")]
    if "integer" in kinds:
        return int(text)
    if "number" in kinds:
        return float(text)
    return text


def submission_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one submission row, as published in
    ``docs/schemas/benchmark-submission.schema.json``: the columns in CSV order."""
    schema = SubmissionRow.model_json_schema()
    props = {c: schema["properties"][c] for c in COLUMN_NAMES}
    for prop in props.values():
        if "examples" in prop:
            prop["examples"] = [_typed_example(prop, x) for x in prop["examples"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": (
            "One row of a living-benchmark submission (docs/benchmark_submissions.md), "
            "with the values typed. In the CSV every cell is text: numbers are plain "
            "numbers, lists are ';'-separated, times are ISO 8601 UTC (Z or +00:00) and an "
            "empty cell is an absent value. Cross-column rules (checked by infercarbon "
            "benchmark submit): workload_id or workload_description; window_end_utc after "
            "window_start_utc, within 366 days and not in the future; "
            "energy_method_version >= 3.0 for codecarbon; one hourly value per UTC clock "
            "hour the window overlaps; hourly_energy_j adds up to energy_j x n_inferences; "
            "embodied_g unless embodied_method is none; training_g if and only if "
            "training_included is yes."
        ),
        "properties": props,
        "required": [c for c in COLUMN_NAMES if c in schema["required"]],
    }


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
        vr = _validate(raw, row, now_utc)
        if isinstance(vr, list):
            outcomes.append(RowOutcome(row, "rejected", tuple(vr)))
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
                acc = _utc(r["accepted_utc"])
            except PydanticCustomError as exc:
                raise DataError(f"{self.path} row {i}: {exc.message()}") from None
            vr = _validate({c: r[c] for c in COLUMN_NAMES}, i, acc)
            if isinstance(vr, list):
                raise DataError(
                    f"{self.path} row {i} no longer validates: " + "; ".join(str(e) for e in vr)
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
