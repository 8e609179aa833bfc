"""Where grid updates come from: provider APIs, the bundled operator data, an operator CSV.

:func:`fetch_update` reads one :class:`~infercarbon.grid.updates.UpdateSpec` into ledger
``intensity`` rows (:func:`~infercarbon.grid.updates.intensity_table`).  It fetches
everything before it returns, so a caller appends once or not at all: a missing key or an
unreachable host raises (:class:`~infercarbon.errors.MissingCredentialsError` naming the
environment variable, :class:`~infercarbon.errors.ProviderTransportError` naming
the URL) and nothing is written.

Sources and what ``--kind`` asks of each:

=================  =======================================  ==========================
source             location / marginal                      forecast
=================  =======================================  ==========================
operator-csv       bundled ERCOT fuel mix (location) or     --
                   fuel-share regression (marginal); or a
                   CSV (``--csv``)
electricitymaps    history (last 24 h) or past-range        -- (no endpoint here)
watttime           historical co2_aoer / co2_moer           forecast co2_moer
ukci               national (GB) or regional (1..18)        fw48h, national/regional
entsoe             A75 generation -> intensity              --
=================  =======================================  ==========================

A provider asked without ``start``/``end`` reads the last 24 hours up to the current hour
(Electricity Maps: its ``history`` endpoint).  Credentials are a mapping from the
environment-variable names (:data:`CREDENTIAL_ENV`) to values; only the CLI fills it from
the environment.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa

from infercarbon.errors import InputError, ParseError
from infercarbon.grid.providers._http import HttpTransport
from infercarbon.grid.providers._payload import TimeLike, to_utc64
from infercarbon.grid.providers.ukci import ukci_region_id
from infercarbon.grid.signal import BASES, Basis, IntensitySeries, SignalProvenance
from infercarbon.grid.updates import STATUSES, Status, UpdateSpec, intensity_table

__all__ = [
    "BUNDLED_REGIONS",
    "CREDENTIAL_ENV",
    "DEFAULT_WINDOW_S",
    "Credentials",
    "TransportFactory",
    "UpdateRequest",
    "bundled_series",
    "fetch_update",
    "read_intensity_csv",
]

#: Environment variables holding provider credentials (read by the CLI, nowhere else).
CREDENTIAL_ENV: Final = (
    "ELECTRICITYMAPS_API_KEY",
    "WATTTIME_USERNAME",
    "WATTTIME_PASSWORD",
    "ENTSOE_API_KEY",
)
Credentials = Mapping[str, str | None]
#: Makes the HTTP transport for a provider (its name in); the caller's clock, sleep, client.
TransportFactory = Callable[[str], HttpTransport]
#: Window read from a provider when no start/end is given [s].
DEFAULT_WINDOW_S: Final = 86_400
#: Regions with bundled operator data (``operator-csv`` without ``--csv``).
BUNDLED_REGIONS: Final = ("ERCOT",)
#: ERCOT's bundled months 2022-04 and 2022-05 are INITIAL settlement (see
#: ``infercarbon.grid.series.ERCOT_PROVENANCE``): intervals from 2022-04-01 00:00
#: America/Chicago (CDT, UTC-5) on are stored ``provisional``.
ERCOT_INITIAL_FROM_UTC: Final = np.datetime64("2022-04-01T05:00:00", "ns")


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    """One update: the spec plus this run's options.

    ``start``/``end``: the window ``[start, end)`` (both or neither); ``basis``: ``direct`` or
    ``lifecycle`` (default: lifecycle, direct for watttime and ukci, which publish nothing
    else; a CSV must say); ``status``: one status for every interval (default: what the
    source says, see :func:`~infercarbon.grid.updates.default_status`); ``csv``: an operator
    CSV for ``operator-csv``; ``factor_set``: the per-fuel lifecycle factors
    (:mod:`infercarbon.grid.factor_sets`) where intervals are computed from a fuel mix (the
    bundled operator data of ``operator-csv``); elsewhere only the default is accepted.
    """

    spec: UpdateSpec
    start: TimeLike | None = None
    end: TimeLike | None = None
    basis: Basis | None = None
    status: Status | None = None
    csv: Path | None = None
    factor_set: str = "infercarbon"

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise InputError(
                "give both --from and --to, or neither (the last 24 hours)", field="--from/--to"
            )
        if self.basis is not None and self.basis not in BASES:
            raise InputError(f"must be one of {', '.join(BASES)}", field="--basis")
        if self.status is not None and self.status not in STATUSES:
            raise InputError(f"must be one of {', '.join(STATUSES)}", field="--status")
        if self.spec.kind == "forecast" and self.status not in (None, "forecast"):
            raise InputError("--kind forecast stores status forecast", field="--status")
        if self.csv is not None and self.spec.source != "operator-csv":
            raise InputError("--csv goes with --source operator-csv", field="--csv")
        if self.csv is not None and self.basis is None:
            raise InputError(
                "an operator CSV does not say its basis: add --basis direct or --basis lifecycle",
                field="--basis",
            )
        from infercarbon.grid.factors import DEFAULT_FACTOR_SET, check_factor_set

        try:
            check_factor_set(self.factor_set)
        except InputError as exc:
            raise InputError(str(exc).split(": ", 1)[-1], field="--factors") from exc
        if self.factor_set != DEFAULT_FACTOR_SET:
            if self.spec.source != "operator-csv" or self.csv is not None:
                raise InputError(
                    "a factor set applies where intervals are computed from a "
                    "fuel mix: --source operator-csv without --csv (a provider "
                    "or an intensity CSV gives intensities as published)",
                    field="--factors",
                )
            if self.basis not in (None, "lifecycle"):
                raise InputError(
                    f"{self.factor_set!r} is a lifecycle factor set; use --basis lifecycle",
                    field="--factors",
                )


# ------------------------------------------------------------------------ dispatch
def _window(req: UpdateRequest, now_utc: datetime) -> tuple[np.datetime64, np.datetime64]:
    if req.start is not None and req.end is not None:
        a, b = to_utc64(req.start, field="--from"), to_utc64(req.end, field="--to")
        if not a < b:
            raise InputError(f"must be after --from ({a})", field="--to")
        return a, b
    end = np.datetime64(now_utc.astimezone(UTC).replace(tzinfo=None), "h").astype("datetime64[s]")
    return end - np.timedelta64(DEFAULT_WINDOW_S, "s"), end


def _basis(req: UpdateRequest) -> Basis:
    if req.spec.source in ("watttime", "ukci"):
        if req.basis not in (None, "direct"):
            raise InputError(
                f"{req.spec.source} publishes direct (combustion) CO2 only", field="--basis"
            )
        return "direct"
    return req.basis or "lifecycle"


def _provider_series(
    req: UpdateRequest, now_utc: datetime, transport: HttpTransport, credentials: Credentials
) -> IntensitySeries:
    spec, basis = req.spec, _basis(req)
    if spec.source == "electricitymaps":
        from infercarbon.grid.providers.electricitymaps import ElectricityMapsClient

        em = ElectricityMapsClient(credentials.get("ELECTRICITYMAPS_API_KEY"), transport=transport)
        if req.start is None:
            return em.history(spec.region, basis=basis)
        a, b = _window(req, now_utc)
        return em.past_range(spec.region, a, b, basis=basis)
    if spec.source == "watttime":
        from infercarbon.grid.providers.watttime import WattTimeClient

        wt = WattTimeClient(
            credentials.get("WATTTIME_USERNAME"),
            credentials.get("WATTTIME_PASSWORD"),
            transport=transport,
        )
        if spec.kind == "forecast":
            return wt.forecast(spec.region, signal_type="co2_moer")
        a, b = _window(req, now_utc)
        signal = "co2_moer" if spec.kind == "marginal" else "co2_aoer"
        return wt.historical(spec.region, a, b, signal_type=signal)
    if spec.source == "ukci":
        from infercarbon.grid.providers.ukci import UKCarbonIntensityClient

        uk = UKCarbonIntensityClient(transport=transport)
        rid = ukci_region_id(spec.region)
        if spec.kind == "forecast":
            at = (
                to_utc64(req.start, field="--from")
                if req.start is not None
                else np.datetime64(now_utc.astimezone(UTC).replace(tzinfo=None), "s")
            )
            return uk.national_forecast(at) if rid is None else uk.regional_forecast(rid, at)
        a, b = _window(req, now_utc)
        return uk.national(a, b) if rid is None else uk.regional(rid, a, b)
    if spec.source == "entsoe":
        from infercarbon.grid.providers.entsoe import EntsoeClient

        en = EntsoeClient(credentials.get("ENTSOE_API_KEY"), transport=transport)
        a, b = _window(req, now_utc)
        return en.intensity(spec.region, a, b, basis=basis)
    raise AssertionError(spec.source)  # pragma: no cover - UpdateSpec checks the source


def fetch_update(
    req: UpdateRequest,
    *,
    now_utc: datetime,
    transport_factory: TransportFactory | None = None,
    credentials: Credentials | None = None,
) -> pa.Table:
    """Read ``req`` into ``intensity`` rows (all of them, or raise): nothing is written here.

    ``now_utc`` (timezone-aware) is the run's clock: the default window ends at its hour and
    every row's ``retrieved_utc`` is it.  ``transport_factory`` is needed for the provider
    sources (its client is closed afterwards); ``credentials`` maps
    :data:`CREDENTIAL_ENV` names to values (missing = absent).
    """
    spec = req.spec
    if spec.source == "operator-csv":
        if req.csv is not None:
            series = read_intensity_csv(
                req.csv, region=spec.region, kind=spec.kind, basis=_basis(req)
            )
            level = None
        else:
            series, level = bundled_series(
                spec.region, spec.kind, _basis(req), factor_set=req.factor_set
            )
        if req.start is not None:
            a, b = _window(req, now_utc)
            series = series.slice(a, b)
        return intensity_table(
            series, retrieved_utc=now_utc, status=req.status, confidence_level=level
        )
    if transport_factory is None:
        raise InputError(f"{spec.source} needs an HTTP transport", field="transport_factory")
    transport = transport_factory(spec.source)
    try:
        series = _provider_series(req, now_utc, transport, credentials or {})
    finally:
        transport.client.close()
    status: Status | None = "forecast" if spec.kind == "forecast" else req.status
    return intensity_table(series, retrieved_utc=now_utc, status=status)


# ------------------------------------------------------------------ bundled operator data
def _bundled_key(region: str) -> str:
    match = [r for r in BUNDLED_REGIONS if r.lower() == region.strip().lower()]
    if not match:
        raise InputError(
            f"operator-csv has bundled data for {', '.join(BUNDLED_REGIONS)} "
            f"only; for {region!r} pass --csv FILE (an intensity series)",
            field="--region",
        )
    return match[0]


def bundled_series(
    region: str, kind: str, basis: Basis, *, factor_set: str = "infercarbon"
) -> tuple[IntensitySeries, float | None]:
    """The bundled operator series of ``region`` (ERCOT, hourly, 2019-01 .. 2022-05) and the
    confidence level of its range (None: an envelope of unstated coverage).

    ``factor_set`` names the per-fuel lifecycle rates (:mod:`infercarbon.grid.factor_sets`);
    every interval's ``version`` and ``method`` name it.

    ``location``: the production-based average of the fuel mix with per-fuel rates
    (:func:`infercarbon.grid.series.ercot_intensity`); the range puts every fuel at its
    low/high rate at once.  ``marginal``: the fuel-share regression by local hour x season
    (the signal :func:`infercarbon.grid.catalogue.hourly_marginal` gives the service), with
    its confidence interval as the range and each interval's marginal fuel.  Intervals of
    the initial-settlement months are ``provisional`` (``extra["status"]``).
    """
    from infercarbon.grid.series import ERCOT_PROVENANCE

    key = _bundled_key(region)
    if kind == "location":
        from infercarbon.grid.series import ercot_intensity

        s = ercot_intensity(basis, "1h", factor_set)
        prov = SignalProvenance(
            source=f"{ERCOT_PROVENANCE.source} (bundled)",
            version=f"{ERCOT_PROVENANCE.version}; factors {factor_set}",
            method=f"production-based fuel mix x per-fuel {basis} rates "
            f"(infercarbon.grid.factors, {key} heat rates, factor set {factor_set}); "
            "range: every fuel at its low/high rate at once",
            licence=ERCOT_PROVENANCE.licence,
            label="derived",
            notes=s.provenance.notes,
        )
        return _with_status(dataclasses.replace(s, provenance=prov)), None
    if kind != "marginal":
        raise InputError(
            "the bundled operator data give location or marginal intervals", field="--kind"
        )
    from infercarbon.grid.catalogue import marginal_regression
    from infercarbon.grid.marginal.ercot_compare import TZ
    from infercarbon.grid.marginal.regression import METHOD_VERSION

    res, led = marginal_regression(key, basis, factor_set)
    s = led.to_series(basis=basis)
    prov = SignalProvenance(
        source=f"infercarbon {res.method} on the {ERCOT_PROVENANCE.source} (bundled)",
        version=f"{METHOD_VERSION}; data {ERCOT_PROVENANCE.version}; factors {factor_set}",
        method=f"regression dE/dL, fuel shares, local hour x season bins ({TZ}), "
        f"{res.ci_method.upper()} {res.level:.0%} interval; {basis} rates, factor set "
        f"{factor_set}",
        licence=ERCOT_PROVENANCE.licence,
        label="modelled",
        notes=s.provenance.notes + tuple(res.notes),
    )
    s = dataclasses.replace(
        s, provenance=prov, extra={"marginal_unit": np.asarray(led.marginal, dtype=object)}
    )
    return _with_status(s), float(res.level)


def _with_status(s: IntensitySeries) -> IntensitySeries:
    status = np.where(s.start_utc >= ERCOT_INITIAL_FROM_UTC, "provisional", "final")
    return dataclasses.replace(s, extra={**s.extra, "status": status.astype(object)})


# --------------------------------------------------------------------------- CSV files
_TIME_COLS: Final = ("time_utc", "interval_start_utc", "time", "datetime")
_VALUE_COLS: Final = ("intensity_g_per_kwh", "value_g_per_kwh", "mef_g_per_kwh")
_LOW_COLS: Final = ("low_g_per_kwh", "low", "ci_low")
_HIGH_COLS: Final = ("high_g_per_kwh", "high", "ci_high")
_UNIT_COLS: Final = ("marginal_unit", "marginal")


def _first(header: list[str], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in header), None)


def read_intensity_csv(
    path: Path | str, *, region: str, kind: str, basis: Basis
) -> IntensitySeries:
    """An intensity series from an operator CSV (header row; one row per interval).

    Columns: a time (``time_utc``, ``interval_start_utc``, ``time`` or ``datetime``; with
    ``Z`` or an offset), a value [g/kWh] (``intensity_g_per_kwh``, ``value_g_per_kwh`` or
    ``mef_g_per_kwh``), optionally ``low``/``high`` (also ``low_g_per_kwh``, ``ci_low``, ...),
    ``marginal`` (the marginal unit or fuel) and ``method``.  The outputs of ``infercarbon
    grid intensity`` and ``infercarbon grid marginal`` read as they are.  The interval length
    is the most common step; ``version`` is the file's SHA-256.
    """
    from infercarbon.grid.marginal.table import infer_interval_s, read_table

    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror}", path=str(p)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("is not UTF-8 text", path=str(p)) from exc
    first = text.splitlines()[0] if text.strip() else ""
    delim = max((",", ";", "\t"), key=first.count) if first else ","
    records = [
        r for r in csv.reader(io.StringIO(text), delimiter=delim) if any(c.strip() for c in r)
    ]
    if not records:
        raise ParseError("the file is empty (no header row)", path=str(p), row=1)
    header = [h.strip() for h in records[0]]
    tcol, vcol = _first(header, _TIME_COLS), _first(header, _VALUE_COLS)
    lcol, hcol = _first(header, _LOW_COLS), _first(header, _HIGH_COLS)
    if tcol is None or vcol is None:
        need = (
            "a time column (" + ", ".join(_TIME_COLS) + ")"
            if tcol is None
            else ("a value column (" + ", ".join(_VALUE_COLS) + ")")
        )
        raise ParseError(f"needs {need}; the header has: {', '.join(header)}", path=str(p), row=1)
    if (lcol is None) != (hcol is None):
        raise ParseError("give both low and high columns, or neither", path=str(p), row=1)
    numeric = [vcol, *([lcol, hcol] if lcol and hcol else [])]
    tab = read_table(io.StringIO(text), numeric, time_col=tcol)
    if not tab.has_offset:
        raise ParseError(
            "times need Z or a UTC offset (e.g. 2024-01-01T00:00Z): the file "
            "does not say which zone they are in",
            path=str(p),
            column=tcol,
        )
    res = infer_interval_s(tab.time, column=tcol, path=str(p), rows=tab.rows)
    body = records[1:]
    extra: dict[str, np.ndarray] = {}
    ucol = _first(header, _UNIT_COLS)
    if ucol is not None:
        i = header.index(ucol)
        extra["marginal_unit"] = np.array([r[i].strip() or None for r in body], dtype=object)
    method = None
    if "method" in header:
        i = header.index("method")
        methods = sorted({r[i].strip() for r in body if r[i].strip()})
        method = "; ".join(methods) or None
    v = tab.columns[vcol]
    lo = tab.columns[lcol] if lcol else None
    hi = tab.columns[hcol] if hcol else None
    prov = SignalProvenance(
        source=f"operator CSV {p.name}",
        version="sha256:" + hashlib.sha256(raw).hexdigest()[:16],
        method=method or f"as published in {p.name} (derivation not stated in the file)",
        label="cited",
    )
    return IntensitySeries.from_arrays(
        region=region,
        kind="marginal" if kind == "marginal" else "location-average",
        basis=basis,
        resolution_s=res,
        start_utc=tab.time,
        intensity_g_per_kwh=v,
        low_g_per_kwh=lo,
        high_g_per_kwh=hi,
        provenance=prov,
        extra=extra,
    )
