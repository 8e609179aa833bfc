"""Contractual-instrument files: load, validate, and turn into a market-based intensity.

An *instruments file* (JSON, or a CSV list of instruments) describes what one organisation
holds for one region's consumption over one reporting period: power purchase agreements
(PPAs), energy attribute certificates (EACs: RECs, GOs, I-RECs, REGOs) with vintage,
region and tracking id, a supplier-specific emission factor and a residual-mix figure, each
with its source.  The format is documented in ``docs/instruments.md``.

:func:`load_instruments` validates a file against the pydantic models of
:mod:`infercarbon.grid.instruments_schema` (the field rules in one place, and the published
JSON Schema ``docs/schemas/instruments.schema.json``) and raises
:class:`~infercarbon.errors.InstrumentsFileError` (a :class:`~infercarbon.errors.ParseError`)
naming the file, the entry (JSON) or row (CSV) and the field of the first problem.
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from infercarbon.arrays import FloatArray, TimeArray
from infercarbon.errors import (
    DataQualityWarning,
    InputError,
    InstrumentsFileError,
    UnknownRegionError,
)
from infercarbon.grid.market import EAC, PPA, MarketResult, market_based
from infercarbon.grid.signal import IntensitySeries
from infercarbon.provenance import LABELS, Figure
from infercarbon.units import J_PER_KWH, J_PER_MWH

if TYPE_CHECKING:  # the pydantic models are imported where a file is read
    from infercarbon.grid.instruments_schema import (
        ConsumptionEntry,
        EACEntry,
        FactorEntry,
        InstrumentsDocument,
        Matching,
        PPAEntry,
    )

    InstrumentModel = PPAEntry | EACEntry

__all__ = [
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

#: kWh per MWh, from the exact joule constants.
KWH_PER_MWH = J_PER_MWH // J_PER_KWH

Kind = Literal["ppa", "eac"]


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


def _resolve(text: str, w: _Where, field: str) -> str:
    from infercarbon.reference.regions import resolve_region  # lazy: loads the region table

    try:
        return resolve_region(text).region_id
    except UnknownRegionError as exc:
        raise w.err(str(exc).removeprefix("region: "), field) from exc


def _kwh(m: InstrumentModel | ConsumptionEntry) -> float | None:
    """The energy of a validated entry in kWh (``energy_mwh`` converted once, here)."""
    if m.energy_mwh is not None:
        return m.energy_mwh * KWH_PER_MWH
    return m.energy_kwh


def _profile(name: str, w: _Where, base: Path) -> Profile:
    path = Path(name) if Path(name).is_absolute() else base / name
    try:
        return _read_series_csv(path, value_column="kwh", allow_zero_total=True)
    except FileNotFoundError:
        raise w.err(f"profile file {path} does not exist", "profile_csv") from None


def _instrument(m: InstrumentModel, kind: Kind, w: _Where, base: Path) -> Instrument:
    """A validated PPA or certificate entry: region resolved, profile read, energy in kWh."""
    profile = None if m.profile_csv is None else _profile(m.profile_csv, w, base)
    energy = _kwh(m)
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
    if energy is None:  # pragma: no cover - the model requires an energy without a profile
        raise w.err("is required (or energy_kwh)", "energy_mwh")
    return Instrument(
        kind,
        m.id,
        m.type or "PPA",
        energy,
        _resolve(m.region, w, "region"),
        m.region,
        m.vintage,
        m.factor_g_per_kwh,
        m.source,
        w.entry or f"row {w.row}",
        m.tracking_id,
        profile,
        m.note,
    )


def _factor(m: FactorEntry, w: _Where, what: str) -> Figure:
    """A validated supplier factor or residual mix as a Figure [g/kWh] with its source."""
    src = f"{m.source} ({what}" + (f", supplier {m.supplier}" if m.supplier else "") + ")"
    return Figure(
        m.factor_g_per_kwh,
        "g_per_kwh",
        source=src,
        label=m.label,
        vintage=None if m.vintage is None else str(m.vintage),
        licence=m.licence,
        low=m.low_g_per_kwh,
        high=m.high_g_per_kwh,
        note=f"from instruments file {w.path}" + (f"; {m.note}" if m.note else ""),
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


def _period(m: InstrumentsDocument, path: str) -> tuple[np.datetime64, np.datetime64] | None:
    if m.reporting_period is None:
        return None
    w = _Where(path, "reporting_period")
    ends = []
    for key in ("from_utc", "to_utc"):
        try:
            ends.append(parse_time_utc(getattr(m.reporting_period, key), field=key))
        except InputError as exc:
            raise w.err(str(exc).removeprefix(f"{key}: "), key) from None
    return ends[0], ends[1]


def _entry(key: str, i: int, ident: str) -> str:
    return f"{key}[{i}] (id {ident!r})"


def _load_json(path: Path) -> InstrumentsFile:
    from infercarbon.grid.instruments_schema import validate_document  # lazy: pydantic

    ps = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InstrumentsFileError(
            f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=ps
        ) from exc
    m = validate_document(doc, path=ps)
    region_id = _resolve(m.region, _Where(ps), "region")
    period = _period(m, ps)
    base = path.parent
    items = [
        _instrument(e, "ppa", _Where(ps, _entry("ppas", i, e.id)), base)
        for i, e in enumerate(m.ppas)
    ] + [
        _instrument(e, "eac", _Where(ps, _entry("eacs", i, e.id)), base)
        for i, e in enumerate(m.eacs)
    ]
    _check_unique(items, ps)
    supplier, residual = (
        None if f is None else _factor(f, _Where(ps, key), what)
        for f, key, what in (
            (m.supplier_factor, "supplier_factor", "supplier-specific factor"),
            (m.residual_mix, "residual_mix", "residual mix"),
        )
    )
    consumption = None
    if m.consumption is not None:
        consumption = _json_consumption(m.consumption, period, _Where(ps, "consumption"), base)
    return InstrumentsFile(
        ps, region_id, m.region, period, m.matching, tuple(items), supplier, residual, consumption
    )


def _json_consumption(
    c: ConsumptionEntry,
    period: tuple[np.datetime64, np.datetime64] | None,
    w: _Where,
    base: Path,
) -> Consumption:
    src = c.source or f"consumption in {w.path}"
    if c.csv is not None:
        p = Path(c.csv) if Path(c.csv).is_absolute() else base / c.csv
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
    kwh = _kwh(c)
    if kwh is None or period is None:  # pragma: no cover - InstrumentsDocument's rules
        raise w.err("an energy total needs a reporting_period (or give a csv)", "energy_mwh")
    return Consumption.total(kwh, period[0], period[1], source=src)


def _csv_columns() -> tuple[str, ...]:
    from infercarbon.grid.instruments_schema import CSV_ENTRIES

    return ("entry", *dict.fromkeys(f for m in CSV_ENTRIES.values() for f in m.model_fields))


def _csv_header(rows: list[list[str]], ps: str) -> list[str]:
    if not rows:
        raise InstrumentsFileError("is empty", path=ps)
    cols = [h.strip() for h in rows[0]]
    allowed = _csv_columns()
    unknown = [c for c in cols if c not in allowed]
    if unknown:
        raise InstrumentsFileError(
            f"unknown column {unknown[0]!r}; allowed: {', '.join(allowed)}",
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
    return cols


def _load_csv(path: Path) -> InstrumentsFile:
    from infercarbon.grid.instruments_schema import (  # lazy: pydantic
        CSV_ENTRIES,
        EACEntry,
        FactorEntry,
        PPAEntry,
        validate_row,
    )

    ps = str(path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    cols = _csv_header(rows, ps)
    items: list[Instrument] = []
    figs: dict[str, Figure | None] = {"supplier_factor": None, "residual_mix": None}
    for n, rec in enumerate(rows[1:], start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) != len(cols):
            raise InstrumentsFileError(
                f"has {len(rec)} fields, the header {len(cols)}", path=ps, row=n
            )
        d = dict(zip(cols, rec, strict=True))
        w = _Where(ps, row=n)
        entry = d.pop("entry", "").strip().lower()
        if entry not in CSV_ENTRIES:
            raise w.err(f"{entry!r} is not one of ppa, eac, supplier_factor, residual_mix", "entry")
        m = validate_row(CSV_ENTRIES[entry], d, path=ps, row_no=n, kind=entry)
        if isinstance(m, PPAEntry | EACEntry):
            items.append(_instrument(m, "ppa" if entry == "ppa" else "eac", w, path.parent))
        elif isinstance(m, FactorEntry):
            if figs[entry] is not None:
                raise w.err(f"a second {entry} row; give one per file", "entry")
            what = "supplier-specific factor" if entry == "supplier_factor" else "residual mix"
            figs[entry] = _factor(m, w, what)
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
    region_id = _file_region(f, region)
    cons = consumption if consumption is not None else f.consumption
    if cons is None:
        raise InputError(
            f"{f.path} has no consumption section: give the consumption the "
            "instruments are matched against",
            field="consumption",
        )
    if len(cons.kwh) != len(cons.start_utc) or cons.resolution_s <= 0:
        raise InputError("malformed consumption", field="consumption")
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
    sel, notes = _selection(f, cons, start, at_utc, use_hourly)
    ppas, eacs = _market_instruments(f, start, cons.resolution_s, sel, use_hourly)
    try:
        res = market_based(
            cons.kwh[sel],
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
        rejected = _rejection(f, exc)
        if rejected is None:
            raise
        raise rejected from exc
    fig = replace(res.figure, source=f"{res.figure.source} (instruments file {f.path})")
    return replace(res, figure=fig, notes=res.notes + tuple(notes))


def _file_region(f: InstrumentsFile, region: str | None) -> str:
    """The consumption's region id: the file's, or ``region`` (which must agree with it)."""
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
    return region_id


def _selection(
    f: InstrumentsFile,
    cons: Consumption,
    start: TimeArray,
    at_utc: np.datetime64 | None,
    use_hourly: bool,
) -> tuple[slice, list[str]]:
    """The consumption intervals matched (all, or the one containing ``at_utc``) and the
    notes that say how."""
    notes: list[str] = []
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
            notes.append(f"hourly CFE match of the interval starting {start[i]}Z")
            return slice(i, i + 1), notes
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
            warnings.warn(msg, DataQualityWarning, stacklevel=3)
            notes.append(msg)
    return slice(None), notes


def _market_instruments(
    f: InstrumentsFile, start: TimeArray, resolution_s: int, sel: slice, use_hourly: bool
) -> tuple[list[PPA], list[EAC]]:
    """The file's instruments as :mod:`infercarbon.grid.market` inputs (hourly: with their
    profiles aligned to the consumption intervals)."""
    ppas: list[PPA] = []
    eacs: list[EAC] = []
    for inst in f.instruments:
        prof = None
        if use_hourly and inst.profile is not None:
            prof = inst.profile.aligned(start, resolution_s, what=f"{inst.entry}")[sel]
        args = (inst.id, inst.energy_kwh, inst.region_id, inst.vintage_year, inst.factor_g_per_kwh)
        if inst.kind == "ppa":
            ppas.append(PPA(*args, prof))
        else:
            eacs.append(EAC(*args, inst.type, prof))
    return ppas, eacs


def _rejection(f: InstrumentsFile, exc: InputError) -> InstrumentsFileError | None:
    """A strict-mode rejection by :func:`market_based` as an error naming the file's entry."""
    kind, _, ident = (exc.field or "").partition(".")
    bad = next((i for i in f.instruments if i.kind == kind and i.id == ident), None)
    if bad is None:
        return None
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
    return InstrumentsFileError(
        msg + " (rejected by the quality criteria; strict mode)",
        path=f.path,
        entry=bad.entry,
        field=field,
    )


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
