"""Contractual-instrument files: load, validate, and turn into a market-based intensity.

An *instruments file* (JSON, or a CSV list of instruments) describes what one organisation
holds for one region's consumption over one reporting period: power purchase agreements
(PPAs), energy attribute certificates (EACs: RECs, GOs, I-RECs, REGOs) with vintage,
region and tracking id, a supplier-specific emission factor and a residual-mix figure, each
with its source.  The format is documented in ``docs/instruments.md``.

:func:`load_instruments` validates a file and raises
:class:`InstrumentsFileError` (a :class:`~infercarbon.errors.ParseError`) naming the file,
the entry (JSON) or row (CSV) and the field of the first problem.
:func:`market_from_instruments` applies the file to a consumption profile through
:func:`infercarbon.grid.market.market_based` and returns its
:class:`~infercarbon.grid.market.MarketResult`: the result is always the *market-based*
figure; the location-based figure is only ever a labelled, warned fallback for consumption
that neither instruments, a supplier factor nor a residual mix cover.

Energies are read in kWh or MWh (``energy_kwh`` / ``energy_mwh``; one certificate is 1 MWh)
and converted once, here, to kWh; factors are g CO2e/kWh.  Times are UTC.

>>> import json, pathlib, tempfile
>>> doc = {"format": "infercarbon-instruments", "version": 1, "region": "ERCOT",
...        "reporting_period": {"from_utc": "2021-01-01", "to_utc": "2022-01-01"},
...        "consumption": {"energy_mwh": 1000},
...        "eacs": [{"id": "rec-1", "type": "REC", "energy_mwh": 600, "region": "ERCOT",
...                  "vintage": 2021, "tracking_id": "M-RETS 1-600",
...                  "factor_g_per_kwh": 0, "source": "retirement report"}],
...        "residual_mix": {"factor_g_per_kwh": 450, "source": "Green-e 2021 residual mix"}}
>>> p = pathlib.Path(tempfile.mkdtemp()) / "inst.json"
>>> _ = p.write_text(json.dumps(doc))
>>> r = market_from_instruments(load_instruments(p))
>>> round(r.figure.value, 6), r.coverage_kwh["eac"], r.coverage_kwh["residual_mix"]
(180.0, 600000.0, 400000.0)
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from infercarbon.arrays import FloatArray, TimeArray
from infercarbon.errors import (
    DataQualityWarning,
    InputError,
    ParseError,
    UnknownRegionError,
)
from infercarbon.grid.market import EAC, PPA, MarketResult, market_based
from infercarbon.grid.signal import IntensitySeries
from infercarbon.provenance import LABELS, Figure
from infercarbon.units import J_PER_KWH, J_PER_MWH

__all__ = [
    "EAC_TYPES",
    "FORMAT",
    "Consumption",
    "Instrument",
    "InstrumentsFile",
    "InstrumentsFileError",
    "Profile",
    "load_instruments",
    "location_over",
    "market_from_instruments",
    "parse_time_utc",
    "read_consumption_csv",
]

#: The ``format`` value a JSON instruments file declares; ``version`` is 1.
FORMAT = "infercarbon-instruments"
#: Certificate types: US Renewable Energy Certificate, EU Guarantee of Origin, International
#: REC, UK Renewable Energy Guarantee of Origin.
EAC_TYPES: tuple[str, ...] = ("REC", "GO", "I-REC", "REGO")
#: kWh per MWh, from the exact joule constants.
KWH_PER_MWH = J_PER_MWH // J_PER_KWH

Matching = Literal["annual", "hourly"]
Kind = Literal["ppa", "eac"]

_TOP_KEYS = {
    "format",
    "version",
    "region",
    "reporting_period",
    "matching",
    "consumption",
    "ppas",
    "eacs",
    "supplier_factor",
    "residual_mix",
    "notes",
}
_INSTRUMENT_KEYS = {
    "id",
    "type",
    "energy_kwh",
    "energy_mwh",
    "region",
    "vintage",
    "factor_g_per_kwh",
    "tracking_id",
    "source",
    "profile_csv",
    "note",
}
_FACTOR_KEYS = {
    "factor_g_per_kwh",
    "low_g_per_kwh",
    "high_g_per_kwh",
    "source",
    "vintage",
    "licence",
    "supplier",
    "label",
    "note",
}
_CSV_COLUMNS = (
    "entry",
    "id",
    "type",
    "energy_kwh",
    "energy_mwh",
    "region",
    "vintage",
    "factor_g_per_kwh",
    "low_g_per_kwh",
    "high_g_per_kwh",
    "tracking_id",
    "source",
    "licence",
    "supplier",
    "label",
    "profile_csv",
    "note",
)


class InstrumentsFileError(ParseError):
    """A malformed instruments, consumption or profile file.

    Names the file, the JSON entry (``eacs[1] (id 'rec-7')``) or CSV row, and the field.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path,
        entry: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path, self.row, self.column, self.entry = str(path), row, field, entry
        where = ", ".join(
            p
            for p in (
                f"file {path}",
                f"row {row}" if row is not None else "",
                f"entry {entry}" if entry else "",
                f"field {field!r}" if field else "",
            )
            if p
        )
        InputError.__init__(self, f"{where}: {message}")


# ---------------------------------------------------------------------------- data types
def _sec(t: Any) -> np.datetime64:
    out: np.datetime64 = np.datetime64(str(np.asarray(t, dtype="datetime64[s]")), "s")
    return out


@dataclass(frozen=True, eq=False)
class Profile:
    """An hourly (or sub-hourly) energy profile read from a CSV with ``time_utc,kwh``."""

    start_utc: TimeArray
    kwh: FloatArray
    resolution_s: int
    path: str

    def aligned(self, start_utc: TimeArray, resolution_s: int, *, what: str) -> FloatArray:
        """The profile's energy in each of the given intervals [kWh] (exact timestamps)."""
        if resolution_s != self.resolution_s:
            raise InstrumentsFileError(
                f"{what} profile has {self.resolution_s} s intervals, the consumption has "
                f"{resolution_s} s; give both at the same resolution",
                path=self.path,
                field="time_utc",
            )
        idx = np.searchsorted(self.start_utc, start_utc)
        ok = idx < len(self.start_utc)
        ok[ok] = self.start_utc[idx[ok]] == start_utc[ok]
        if not ok.all():
            missing = start_utc[np.argmin(ok)]
            raise InstrumentsFileError(
                f"{what} profile has no value for the consumption interval starting "
                f"{missing}Z ({int((~ok).sum())} intervals missing); the profile must cover "
                "every consumption interval",
                path=self.path,
                field="time_utc",
            )
        return np.asarray(self.kwh[idx], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Instrument:
    """One PPA or certificate from a file, validated and in kWh."""

    kind: Kind
    id: str
    type: str
    energy_kwh: float
    region_id: str
    region: str
    vintage_year: int
    factor_g_per_kwh: float
    source: str
    entry: str
    tracking_id: str | None = None
    profile: Profile | None = None
    note: str | None = None


@dataclass(frozen=True, eq=False)
class Consumption:
    """Metered consumption [kWh] per interval; ``start_utc[i]`` + ``resolution_s``."""

    start_utc: TimeArray
    kwh: FloatArray
    resolution_s: int
    source: str

    @classmethod
    def total(
        cls,
        kwh: float,
        from_utc: np.datetime64,
        to_utc: np.datetime64,
        *,
        source: str = "user input",
    ) -> Consumption:
        """One interval ``[from_utc, to_utc)`` holding ``kwh``."""
        if not (isinstance(kwh, int | float) and math.isfinite(kwh) and kwh > 0):
            raise InputError(f"{kwh!r} must be a positive number of kWh", field="consumption_kwh")
        a, b = _sec(from_utc), _sec(to_utc)
        if b <= a:
            raise InputError(f"period end {b}Z must be after its start {a}Z", field="to_utc")
        return cls(
            np.array([a]), np.array([float(kwh)]), int((b - a) / np.timedelta64(1, "s")), source
        )

    @property
    def from_utc(self) -> np.datetime64:
        return _sec(self.start_utc[0])

    @property
    def to_utc(self) -> np.datetime64:
        return _sec(self.start_utc[-1] + np.timedelta64(self.resolution_s, "s"))

    @property
    def total_kwh(self) -> float:
        return float(self.kwh.sum())


@dataclass(frozen=True, eq=False)
class InstrumentsFile:
    """A validated instruments file (see the module docstring and ``docs/instruments.md``)."""

    path: str
    region_id: str | None
    region: str | None
    reporting_period: tuple[np.datetime64, np.datetime64] | None
    matching: Matching
    instruments: tuple[Instrument, ...]
    supplier_factor: Figure | None = None
    residual_mix: Figure | None = None
    consumption: Consumption | None = None

    @property
    def ppas(self) -> tuple[Instrument, ...]:
        return tuple(i for i in self.instruments if i.kind == "ppa")

    @property
    def eacs(self) -> tuple[Instrument, ...]:
        return tuple(i for i in self.instruments if i.kind == "eac")


# ---------------------------------------------------------------------------- parsing
def parse_time_utc(text: str, *, field: str) -> np.datetime64:
    """``2022-01-01``, ``2022-01-01T05:00``, ``...Z`` or ``...+00:00`` -> datetime64[s] UTC.

    >>> parse_time_utc("2022-03-01T05:00Z", field="t")
    np.datetime64('2022-03-01T05:00:00')
    """
    t = str(text).strip()
    for suffix in ("Z", "z", "+00:00"):
        t = t.removesuffix(suffix)
    if len(t) > 10 and ("+" in t[10:] or "-" in t[10:]):
        raise InputError(f"{text!r}: give UTC times (no offset, or Z)", field=field)
    try:
        out = np.datetime64(t, "s")
    except ValueError:
        raise InputError(
            f"{text!r} is not an ISO 8601 UTC date or time (e.g. 2022-01-01 or 2022-01-01T05:00Z)",
            field=field,
        ) from None
    if np.isnat(out):
        raise InputError(f"{text!r} is not a time", field=field)
    return out


class _Where:
    """Error context for one entry or row."""

    def __init__(self, path: str, entry: str | None = None, row: int | None = None) -> None:
        self.path, self.entry, self.row = path, entry, row

    def err(self, message: str, field: str | None = None) -> InstrumentsFileError:
        return InstrumentsFileError(
            message, path=self.path, entry=self.entry, row=self.row, field=field
        )


def _present(d: Mapping[str, Any], key: str) -> bool:
    v = d.get(key)
    return v is not None and not (isinstance(v, str) and v.strip() == "")


def _str(d: Mapping[str, Any], key: str, w: _Where, *, required: bool = True) -> str | None:
    if not _present(d, key):
        if required:
            raise w.err("is required", key)
        return None
    v = d[key]
    if not isinstance(v, str):
        raise w.err(f"must be a string, got {v!r}", key)
    return v.strip()


def _num(
    d: Mapping[str, Any],
    key: str,
    w: _Where,
    *,
    required: bool = True,
    minimum: float | None = 0.0,
    positive: bool = False,
) -> float | None:
    if not _present(d, key):
        if required:
            raise w.err("is required", key)
        return None
    v = d[key]
    if isinstance(v, bool):
        raise w.err(f"must be a number, got {v!r}", key)
    if isinstance(v, str):
        try:
            v = float(v.strip().replace(",", ""))
        except ValueError:
            raise w.err(f"{d[key]!r} is not a number", key) from None
    if not isinstance(v, int | float) or not math.isfinite(v):
        raise w.err(f"must be a finite number, got {d[key]!r}", key)
    if positive and v <= 0:
        raise w.err(f"must be > 0, got {v!r}", key)
    if minimum is not None and v < minimum:
        raise w.err(f"must be >= {minimum:g}, got {v!r}", key)
    return float(v)


def _year(d: Mapping[str, Any], key: str, w: _Where) -> int:
    v = d.get(key)
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v.strip())
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not _present(d, key):
        raise w.err("is required (the generation year, e.g. 2022)", key)
    if isinstance(v, bool) or not isinstance(v, int) or not 1900 <= v <= 2200:
        raise w.err(f"must be a generation year such as 2022, got {d[key]!r}", key)
    return v


def _energy_kwh(d: Mapping[str, Any], w: _Where, *, required: bool) -> float | None:
    kwh = _num(d, "energy_kwh", w, required=False)
    mwh = _num(d, "energy_mwh", w, required=False)
    if kwh is not None and mwh is not None:
        raise w.err("give energy_kwh or energy_mwh, not both", "energy_mwh")
    if mwh is not None:
        return mwh * KWH_PER_MWH
    if kwh is None and required:
        raise w.err("is required (or energy_kwh)", "energy_mwh")
    return kwh


def _resolve(text: str, w: _Where, field: str) -> str:
    from infercarbon.reference.regions import resolve_region  # lazy: loads the region table

    try:
        return resolve_region(text).region_id
    except UnknownRegionError as exc:
        raise w.err(str(exc).removeprefix("region: "), field) from exc


def _check_keys(d: Mapping[str, Any], allowed: set[str], w: _Where) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise w.err(
            f"unknown field(s) {', '.join(map(repr, extra))}; allowed: "
            f"{', '.join(sorted(allowed))}",
            extra[0],
        )


def _instrument(d: Mapping[str, Any], kind: Kind, w: _Where, base: Path) -> Instrument:
    ident = _str(d, "id", w)
    assert ident is not None
    if kind == "eac":
        typ = _str(d, "type", w)
        assert typ is not None
        if typ.upper() not in EAC_TYPES:
            raise w.err(
                f"{typ!r} is not a certificate type; use one of {', '.join(EAC_TYPES)}", "type"
            )
        typ = typ.upper()
        tracking = _str(d, "tracking_id", w)  # a certificate must be tracked and retired
    else:
        typ = "PPA"
        if _present(d, "type") and str(d["type"]).upper() != "PPA":
            raise w.err(f"a PPA entry has type PPA (or none), got {d['type']!r}", "type")
        tracking = _str(d, "tracking_id", w, required=False)
    region = _str(d, "region", w)
    assert region is not None
    factor = _num(d, "factor_g_per_kwh", w)
    assert factor is not None
    source = _str(d, "source", w)
    assert source is not None
    profile = None
    prof_name = _str(d, "profile_csv", w, required=False)
    if prof_name is not None:
        prof_path = Path(prof_name) if Path(prof_name).is_absolute() else base / prof_name
        try:
            profile = _read_series_csv(prof_path, value_column="kwh", allow_zero_total=True)
        except FileNotFoundError:
            raise w.err(f"profile file {prof_path} does not exist", "profile_csv") from None
    energy = _energy_kwh(d, w, required=profile is None)
    if profile is not None:
        total = float(profile.kwh.sum())
        if energy is None:
            energy = total
        elif not math.isclose(energy, total, rel_tol=1e-3, abs_tol=1e-6):
            raise w.err(
                f"energy {energy:.6g} kWh differs from its profile's total "
                f"{total:.6g} kWh ({profile.path}); give one, or make them agree",
                "energy_kwh",
            )
    assert energy is not None
    return Instrument(
        kind,
        ident,
        typ,
        energy,
        _resolve(region, w, "region"),
        region,
        _year(d, "vintage", w),
        factor,
        source,
        w.entry or f"row {w.row}",
        tracking,
        profile,
        _str(d, "note", w, required=False),
    )


def _factor(d: Mapping[str, Any], w: _Where, what: str) -> Figure:
    value = _num(d, "factor_g_per_kwh", w)
    low = _num(d, "low_g_per_kwh", w, required=False)
    high = _num(d, "high_g_per_kwh", w, required=False)
    source = _str(d, "source", w)
    assert value is not None and source is not None
    if low is not None and low > value:
        raise w.err(f"low {low:g} is above the factor {value:g}", "low_g_per_kwh")
    if high is not None and high < value:
        raise w.err(f"high {high:g} is below the factor {value:g}", "high_g_per_kwh")
    vintage = d.get("vintage")
    label = _str(d, "label", w, required=False) or "cited"
    if label not in LABELS:
        raise w.err(f"{label!r} is not one of {', '.join(LABELS)}", "label")
    supplier = _str(d, "supplier", w, required=False)
    note = _str(d, "note", w, required=False)
    src = f"{source} ({what}" + (f", supplier {supplier}" if supplier else "") + ")"
    return Figure(
        value,
        "g_per_kwh",
        source=src,
        label=label,
        vintage=None if vintage is None else str(vintage),
        licence=_str(d, "licence", w, required=False),
        low=low,
        high=high,
        note=f"from instruments file {w.path}" + (f"; {note}" if note else ""),
    )


def _check_unique(items: list[Instrument], path: str) -> None:
    seen: dict[str, str] = {}
    tracked: dict[str, str] = {}
    for inst in items:
        if inst.id in seen:
            raise InstrumentsFileError(
                f"id {inst.id!r} is also used by {seen[inst.id]}",
                path=path,
                entry=inst.entry,
                field="id",
            )
        seen[inst.id] = inst.entry
        if inst.tracking_id is not None:
            if inst.tracking_id in tracked:
                raise InstrumentsFileError(
                    f"tracking id {inst.tracking_id!r} is also claimed by "
                    f"{tracked[inst.tracking_id]} (a certificate can be retired only once)",
                    path=path,
                    entry=inst.entry,
                    field="tracking_id",
                )
            tracked[inst.tracking_id] = inst.entry


def _read_series_csv(
    path: Path, *, value_column: str = "kwh", allow_zero_total: bool = False
) -> Profile:
    """Read ``time_utc,<value_column>`` rows (a header line first); regular spacing."""
    text = path.read_text(encoding="utf-8-sig")  # FileNotFoundError handled by callers
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise InstrumentsFileError("is empty; expected a header time_utc,kwh", path=path)
    cols = [h.strip() for h in header]
    for need in ("time_utc", value_column):
        if need not in cols:
            raise InstrumentsFileError(
                f"missing column {need!r} (columns: {', '.join(cols)})",
                path=path,
                row=1,
                field=need,
            )
    it, iv = cols.index("time_utc"), cols.index(value_column)
    times: list[np.datetime64] = []
    values: list[float] = []
    for n, rec in enumerate(reader, start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) != len(cols):
            raise InstrumentsFileError(
                f"has {len(rec)} fields, the header {len(cols)}", path=path, row=n
            )
        try:
            times.append(parse_time_utc(rec[it], field="time_utc"))
        except InputError as exc:
            raise InstrumentsFileError(
                str(exc).removeprefix("time_utc: "), path=path, row=n, field="time_utc"
            ) from None
        raw = rec[iv].strip().replace(",", "")
        try:
            v = float(raw)
        except ValueError:
            raise InstrumentsFileError(
                f"{rec[iv]!r} is not a number", path=path, row=n, field=value_column
            ) from None
        if not math.isfinite(v) or v < 0:
            raise InstrumentsFileError(
                f"{rec[iv]!r} must be a finite energy >= 0", path=path, row=n, field=value_column
            )
        values.append(v)
    if len(times) < 2:
        raise InstrumentsFileError(
            "needs at least two rows to know the interval length (for a single total give "
            "an energy with a period instead)",
            path=path,
        )
    t = np.array(times, dtype="datetime64[s]")
    d = np.diff(t).astype(np.int64)
    if (d <= 0).any():
        i = int(np.argmax(d <= 0))
        raise InstrumentsFileError(
            f"time {t[i + 1]}Z does not follow {t[i]}Z (times must increase, no duplicates)",
            path=path,
            row=i + 3,
            field="time_utc",
        )
    res = int(d.min())
    if (d % res).any():
        i = int(np.argmax(d % res != 0))
        raise InstrumentsFileError(
            f"irregular spacing: {int(d[i])} s after {t[i]}Z is not a "
            f"multiple of the {res} s interval",
            path=path,
            row=i + 3,
            field="time_utc",
        )
    kwh = np.array(values, dtype=np.float64)
    if not allow_zero_total and kwh.sum() <= 0:
        raise InstrumentsFileError("total energy is zero", path=path, field=value_column)
    gaps = int((d // res - 1).sum())
    if gaps:
        warnings.warn(
            f"{path}: {gaps} missing {res} s intervals between the rows; they are "
            "left out (not counted as zero consumption)",
            DataQualityWarning,
            stacklevel=3,
        )
    return Profile(t, kwh, res, str(path))


def read_consumption_csv(path: str | Path) -> Consumption:
    """Consumption from a CSV with columns ``time_utc,kwh`` (interval start, UTC) [kWh].

    The interval length is the smallest spacing of the rows; every spacing must be a multiple
    of it.  Missing intervals are left out with a :class:`DataQualityWarning`.
    """
    p = Path(path)
    try:
        prof = _read_series_csv(p)
    except FileNotFoundError:
        raise InputError(f"consumption file {p} does not exist", field="consumption") from None
    return Consumption(prof.start_utc, prof.kwh, prof.resolution_s, f"metered consumption {p}")


def _load_json(path: Path) -> InstrumentsFile:
    ps = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InstrumentsFileError(
            f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=ps
        ) from exc
    top = _Where(ps)
    if not isinstance(doc, dict):
        raise top.err("must hold a JSON object at the top level")
    _check_keys(doc, _TOP_KEYS, top)
    if doc.get("format") != FORMAT:
        raise top.err(f"must be {FORMAT!r}", "format")
    if doc.get("version") != 1:
        raise top.err(f"must be 1, got {doc.get('version')!r}", "version")
    region = _str(doc, "region", top)
    assert region is not None
    region_id = _resolve(region, top, "region")
    matching = doc.get("matching", "annual")
    if matching not in ("annual", "hourly"):
        raise top.err(f"must be annual or hourly, got {matching!r}", "matching")
    period = None
    if "reporting_period" in doc:
        rp = doc["reporting_period"]
        pw = _Where(ps, "reporting_period")
        if not isinstance(rp, dict):
            raise pw.err("must be an object with from_utc and to_utc")
        _check_keys(rp, {"from_utc", "to_utc"}, pw)
        ends = []
        for key in ("from_utc", "to_utc"):
            s = _str(rp, key, pw)
            assert s is not None
            try:
                ends.append(parse_time_utc(s, field=key))
            except InputError as exc:
                raise pw.err(str(exc).removeprefix(f"{key}: "), key) from None
        if ends[1] <= ends[0]:
            raise pw.err("must be after from_utc (to_utc is exclusive)", "to_utc")
        period = (ends[0], ends[1])
    base = path.parent
    items: list[Instrument] = []
    sections: tuple[tuple[str, Kind], ...] = (("ppas", "ppa"), ("eacs", "eac"))
    for key, kind in sections:
        entries = doc.get(key, [])
        if not isinstance(entries, list):
            raise top.err("must be a list of objects", key)
        for i, e in enumerate(entries):
            label = f"{key}[{i}]"
            if isinstance(e, dict) and isinstance(e.get("id"), str):
                label += f" (id {e['id']!r})"
            w = _Where(ps, label)
            if not isinstance(e, dict):
                raise w.err("must be an object")
            _check_keys(e, _INSTRUMENT_KEYS, w)
            items.append(_instrument(e, kind, w, base))
    _check_unique(items, ps)
    figs: dict[str, Figure | None] = {}
    for key, what in (
        ("supplier_factor", "supplier-specific factor"),
        ("residual_mix", "residual mix"),
    ):
        figs[key] = None
        if key in doc:
            w = _Where(ps, key)
            if not isinstance(doc[key], dict):
                raise w.err("must be an object with factor_g_per_kwh and source")
            _check_keys(doc[key], _FACTOR_KEYS, w)
            figs[key] = _factor(doc[key], w, what)
    consumption = None
    if "consumption" in doc:
        consumption = _json_consumption(doc["consumption"], period, _Where(ps, "consumption"), base)
    return InstrumentsFile(
        ps,
        region_id,
        region,
        period,
        matching,
        tuple(items),
        figs["supplier_factor"],
        figs["residual_mix"],
        consumption,
    )


def _json_consumption(
    c: Any, period: tuple[np.datetime64, np.datetime64] | None, w: _Where, base: Path
) -> Consumption:
    if not isinstance(c, dict):
        raise w.err("must be an object with energy_kwh/energy_mwh, or csv")
    _check_keys(c, {"energy_kwh", "energy_mwh", "csv", "source"}, w)
    src = _str(c, "source", w, required=False) or f"consumption in {w.path}"
    name = _str(c, "csv", w, required=False)
    if name is not None:
        if _present(c, "energy_kwh") or _present(c, "energy_mwh"):
            raise w.err("give csv or an energy total, not both", "csv")
        p = Path(name) if Path(name).is_absolute() else base / name
        try:
            prof = _read_series_csv(p)
        except FileNotFoundError:
            raise w.err(f"consumption file {p} does not exist", "csv") from None
        cons = Consumption(prof.start_utc, prof.kwh, prof.resolution_s, src)
        if period is not None and (cons.from_utc < period[0] or cons.to_utc > period[1]):
            raise w.err(
                f"the consumption [{cons.from_utc}Z, {cons.to_utc}Z) is outside the "
                f"reporting period [{period[0]}Z, {period[1]}Z)",
                "csv",
            )
        return cons
    kwh = _energy_kwh(c, w, required=True)
    assert kwh is not None
    if kwh <= 0:
        raise w.err("must be > 0", "energy_kwh" if _present(c, "energy_kwh") else "energy_mwh")
    if period is None:
        raise w.err("an energy total needs a reporting_period (or give a csv)", "energy_mwh")
    return Consumption.total(kwh, period[0], period[1], source=src)


def _load_csv(path: Path) -> InstrumentsFile:
    ps = str(path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    if not rows:
        raise InstrumentsFileError("is empty", path=ps)
    cols = [h.strip() for h in rows[0]]
    unknown = [c for c in cols if c not in _CSV_COLUMNS]
    if unknown:
        raise InstrumentsFileError(
            f"unknown column {unknown[0]!r}; allowed: {', '.join(_CSV_COLUMNS)}",
            path=ps,
            row=1,
            field=unknown[0],
        )
    if "entry" not in cols:
        raise InstrumentsFileError(
            "missing column 'entry' (ppa, eac, supplier_factor or residual_mix)",
            path=ps,
            row=1,
            field="entry",
        )
    items: list[Instrument] = []
    figs: dict[str, Figure | None] = {"supplier_factor": None, "residual_mix": None}
    for n, rec in enumerate(rows[1:], start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) != len(cols):
            raise InstrumentsFileError(
                f"has {len(rec)} fields, the header {len(cols)}", path=ps, row=n
            )
        d = {k: v for k, v in zip(cols, rec, strict=True) if v.strip() != ""}
        w = _Where(ps, row=n)
        entry = d.pop("entry", "").strip().lower()
        if entry in ("ppa", "eac"):
            items.append(_instrument(d, "ppa" if entry == "ppa" else "eac", w, path.parent))
        elif entry in figs:
            extra = sorted(set(d) - _FACTOR_KEYS)
            if extra:
                raise w.err(f"is not a field of a {entry} row", extra[0])
            if figs[entry] is not None:
                raise w.err(f"a second {entry} row; give one per file", "entry")
            figs[entry] = _factor(
                d, w, entry.replace("_", " ").replace("supplier factor", "supplier-specific factor")
            )
        else:
            raise w.err(f"{entry!r} is not one of ppa, eac, supplier_factor, residual_mix", "entry")
    _check_unique(items, ps)
    return InstrumentsFile(
        ps,
        None,
        None,
        None,
        "annual",
        tuple(items),
        figs["supplier_factor"],
        figs["residual_mix"],
        None,
    )


def load_instruments(path: str | Path) -> InstrumentsFile:
    """Read and validate an instruments file (``.json``, or ``.csv`` for a bare list).

    Raises
    ------
    InstrumentsFileError
        The file, entry/row and field of the first problem.
    InputError
        The file does not exist or has another extension.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"instruments file {p} does not exist", field="instruments")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return _load_json(p)
    if suffix == ".csv":
        return _load_csv(p)
    raise InputError(f"{p}: use a .json or .csv instruments file", field="instruments")


# ---------------------------------------------------------------------------- compute
def market_from_instruments(
    f: InstrumentsFile,
    consumption: Consumption | None = None,
    *,
    region: str | None = None,
    hourly: bool | None = None,
    location: Figure | None = None,
    at_utc: np.datetime64 | None = None,
    strict: bool = True,
) -> MarketResult:
    """Market-based intensity of the file's region over a consumption profile.

    Parameters
    ----------
    f : InstrumentsFile
        From :func:`load_instruments`.
    consumption : Consumption, optional
        The consumption the instruments are matched against [kWh]; default: the file's.
    region : str, optional
        The consumption's region (any spelling :func:`resolve_region` knows); must be the
        file's region when the file names one.  Required for a CSV file.
    hourly : bool, optional
        Hourly CFE matching (each instrument needs a ``profile_csv``); default: the file's
        ``matching``.
    location : Figure, optional
        Location-based intensity [g/kWh], used only for uncovered consumption when the file
        has neither a supplier factor nor a residual mix (warned, labelled, ``fallback``).
    at_utc : datetime64, optional
        The figure of the one consumption interval containing this instant.  With hourly
        matching it is that interval's own match; with annual matching volumetric claims are
        spread over the period in proportion to consumption, so every interval's figure is
        the period's (the result's notes say so).
    strict : bool
        Raise on an instrument that fails a quality criterion (else reject it, warn, list it).
    """
    region_id = f.region_id
    if region is not None:
        rid = _resolve(region, _Where(f.path), "region")
        if region_id is not None and rid != region_id:
            raise InputError(
                f"the instruments file {f.path} is for {f.region} ({region_id}), "
                f"not {region} ({rid}); use one file per region",
                field="region",
            )
        region_id = rid
    if region_id is None:
        raise InputError(f"{f.path} names no region: give the consumption's region", field="region")
    cons = consumption if consumption is not None else f.consumption
    if cons is None:
        raise InputError(
            f"{f.path} has no consumption section: give the consumption the "
            "instruments are matched against",
            field="consumption",
        )
    if len(cons.kwh) != len(cons.start_utc) or cons.resolution_s <= 0:
        raise InputError("malformed consumption", field="consumption")
    notes: list[str] = []
    if f.reporting_period is not None:
        a, b = f.reporting_period
        if cons.from_utc < a or cons.to_utc > b:
            raise InputError(
                f"the consumption [{cons.from_utc}Z, {cons.to_utc}Z) is outside "
                f"the instruments' reporting period [{a}Z, {b}Z) in {f.path}",
                field="consumption",
            )
    use_hourly = f.matching == "hourly" if hourly is None else hourly
    if use_hourly and len(cons.kwh) == 1:
        raise InputError(
            "hourly matching needs consumption per interval (a time_utc,kwh CSV), not one total",
            field="consumption",
        )
    start = cons.start_utc.astype("datetime64[s]")
    kwh = cons.kwh
    sel = slice(None)
    if at_utc is not None:
        t = _sec(at_utc)
        step = np.timedelta64(cons.resolution_s, "s")
        i = int(np.searchsorted(start, t, side="right")) - 1
        if i < 0 or t >= start[i] + step:
            raise InputError(
                f"{t}Z is outside the consumption intervals of the instruments "
                f"file [{cons.from_utc}Z, {cons.to_utc}Z)",
                field="time_utc",
            )
        if use_hourly:
            sel = slice(i, i + 1)
            notes.append(f"hourly CFE match of the interval starting {start[i]}Z")
        else:
            notes.append(
                f"annual matching: volumetric claims are spread over the period "
                f"[{cons.from_utc}Z, {cons.to_utc}Z) in proportion to consumption, "
                f"so the interval containing {t}Z has the period's figure"
            )
    elif f.reporting_period is not None and not use_hourly:
        a, b = f.reporting_period
        cover = float((cons.to_utc - cons.from_utc) / (b - a))
        if cover < 1.0:
            msg = (
                f"the consumption spans {cover:.1%} of the reporting period; the file's "
                "full instrument volumes are matched against it"
            )
            warnings.warn(msg, DataQualityWarning, stacklevel=2)
            notes.append(msg)
    ppas: list[PPA] = []
    eacs: list[EAC] = []
    for inst in f.instruments:
        prof = None
        if use_hourly and inst.profile is not None:
            prof = inst.profile.aligned(start, cons.resolution_s, what=f"{inst.entry}")[sel]
        if inst.kind == "ppa":
            ppas.append(
                PPA(
                    inst.id,
                    inst.energy_kwh,
                    inst.region_id,
                    inst.vintage_year,
                    inst.factor_g_per_kwh,
                    prof,
                )
            )
        else:
            eacs.append(
                EAC(
                    inst.id,
                    inst.energy_kwh,
                    inst.region_id,
                    inst.vintage_year,
                    inst.factor_g_per_kwh,
                    inst.type,
                    prof,
                )
            )
    try:
        res = market_based(
            kwh[sel],
            start[sel],
            cons.resolution_s,
            region_id,
            ppas=ppas,
            eacs=eacs,
            supplier=f.supplier_factor,
            residual_mix=f.residual_mix,
            location=location,
            hourly=use_hourly,
            strict=strict,
        )
    except InputError as exc:
        kind, _, ident = (exc.field or "").partition(".")
        bad = next((i for i in f.instruments if i.kind == kind and i.id == ident), None)
        if bad is None:
            raise
        msg = str(exc).removeprefix(f"{exc.field}: ").removeprefix(f"{ident}: ")
        field = (
            "region"
            if "region" in msg
            else "vintage"
            if "vintage" in msg
            else "profile_csv"
            if "hourly" in msg
            else None
        )
        raise InstrumentsFileError(
            msg + " (rejected by the quality criteria; strict mode)",
            path=f.path,
            entry=bad.entry,
            field=field,
        ) from exc
    fig = replace(res.figure, source=f"{res.figure.source} (instruments file {f.path})")
    return replace(res, figure=fig, notes=res.notes + tuple(notes))


def location_over(series: IntensitySeries, consumption: Consumption) -> Figure:
    """Consumption-weighted location-based intensity of a series over the intervals [g/kWh].

    Each interval gets the series' time-weighted mean over it (energy-weighted at constant
    power within the interval); intervals are then weighted by their consumption.  Raises
    :class:`~infercarbon.errors.InputError` where the series does not cover an interval.
    """
    start = consumption.start_utc.astype("datetime64[s]")
    end = start + np.timedelta64(consumption.resolution_s, "s")
    w = consumption.kwh / consumption.kwh.sum()
    v, lo, hi = (
        float(np.dot(w, series.integrate(start, end, which=k))) for k in ("value", "low", "high")
    )
    p = series.provenance
    return Figure(
        v,
        "g_per_kwh",
        source=f"{p.source} ({p.version})",
        label="derived" if p.label not in LABELS else p.label,
        licence=p.licence,
        low=min(lo, v),
        high=max(hi, v),
        note=f"{series.kind} {series.basis} {series.resolution_s} s series, "
        f"consumption-weighted over {len(start)} interval(s) "
        f"[{consumption.from_utc}Z, {consumption.to_utc}Z); {p.method}",
    )
