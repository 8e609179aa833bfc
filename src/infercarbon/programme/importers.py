"""Importers of what users already have, into ``runs`` rows and provider carbon figures.

Runs:

- :func:`read_codecarbon`: CodeCarbon's ``emissions.csv`` (one row per tracked run:
  ``timestamp`` = end, ``duration`` [s], ``emissions`` [kg], ``energy_consumed`` [kWh],
  ``run_id``, ``project_name``, ``country_iso_code``, ``gpu_count`` ...); CodeCarbon writes
  local time without an offset, so ``tz`` names the zone it ran in;
- :func:`read_sacct`: Slurm ``sacct --parsable2 --format=JobID,JobName,State,ExitCode,
  Start,End,AllocTRES,ConsumedEnergyRaw`` (``|``-separated, header line; the job row, not
  its steps; ``ConsumedEnergyRaw`` [J]; ``gres/gpu=N`` in AllocTRES gives GPU-hours);
- :func:`read_runs_csv`: a plain CSV with the ``runs`` table's own columns.

Provider exports (the first-cut estimate): :func:`read_cloud_export` reads the AWS Customer
Carbon Footprint Tool data export (``CARBON_EMISSIONS``: ``usage_period_start``,
``total_lbm_emissions_value``, ``total_mbm_emissions_value`` [MTCO2e], ...), the Google Cloud
Carbon Footprint BigQuery export (``usage_month``,
``carbon_footprint_total_kgCO2e.location_based`` [kg], ...) and the Microsoft Emissions
Impact Dashboard / Cloud for Sustainability ``EnrollmentEmission`` rows (``dateKey``,
``scope``, ``totalEmissions`` [mtCO2e], ...).  Units are converted once, here, to grams.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from infercarbon.errors import ParseError
from infercarbon.ledger.schema import RUNS
from infercarbon.programme.runs import make_run
from infercarbon.units import G_PER_KG, G_PER_T, J_PER_KWH

__all__ = [
    "CLOUD_FORMATS",
    "RUN_FORMATS",
    "read_cloud_export",
    "read_codecarbon",
    "read_runs",
    "read_runs_csv",
    "read_sacct",
]

RUN_FORMATS = ("codecarbon", "sacct", "csv")
CLOUD_FORMATS = ("aws-ccft", "gcp-carbon-footprint", "azure-emissions-impact")


def _rows(
    text: str, path: str, required: Sequence[str], delimiter: str = ","
) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(
            f"missing column(s) {', '.join(missing)}; is this the right format?",
            path=path,
            row=1,
            column=missing[0],
        )
    return list(reader)


def _float(
    row: dict[str, str], col: str, path: str, i: int, *, blank_ok: bool = False
) -> float | None:
    v = (row.get(col) or "").strip()
    if not v:
        if blank_ok:
            return None
        raise ParseError("is empty", path=path, row=i, column=col)
    try:
        x = float(v)
    except ValueError:
        raise ParseError(f"{v!r} is not a number", path=path, row=i, column=col) from None
    if not math.isfinite(x) or x < 0:
        raise ParseError(f"{v!r} is not a non-negative number", path=path, row=i, column=col)
    return x


def _time(v: str, path: str, i: int, col: str, tz: ZoneInfo | None) -> datetime:
    try:
        t = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(f"{v!r} is not an ISO 8601 time", path=path, row=i, column=col) from None
    if t.tzinfo is None:
        if tz is None:
            raise ParseError(
                f"{v!r} has no UTC offset; give the zone it was written in "
                "(--tz, e.g. --tz Europe/Berlin or --tz UTC)",
                path=path,
                row=i,
                column=col,
            )
        t = t.replace(tzinfo=tz)
    return t.astimezone(UTC)


def _zone(tz: str | None) -> ZoneInfo | None:
    if tz is None:
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParseError(
            f"unknown time zone {tz!r} (an IANA name, e.g. Europe/Berlin)", column="tz"
        ) from None


def read_codecarbon(
    text: str,
    *,
    tenant: str,
    model: str,
    kind: str = "train",
    system: str | None = None,
    tz: str | None = None,
    path: str = "emissions.csv",
) -> list[dict[str, Any]]:
    """Runs from CodeCarbon's ``emissions.csv`` (each row a finished run, ``succeeded``:
    CodeCarbon does not record the exit status; the method says so)."""
    zone = _zone(tz)
    out = []
    for i, r in enumerate(
        _rows(text, path, ("timestamp", "duration", "emissions", "energy_consumed")), start=2
    ):
        end = _time(r["timestamp"], path, i, "timestamp", zone)
        dur = _float(r, "duration", path, i) or 0.0
        kwh = _float(r, "energy_consumed", path, i) or 0.0
        kg = _float(r, "emissions", path, i) or 0.0
        gpus = _float(r, "gpu_count", path, i, blank_ok=True) if "gpu_count" in r else None
        region = (r.get("country_iso_code") or "").strip() or None
        out.append(
            make_run(
                tenant=tenant,
                kind=kind,
                model=model,
                system=system or (r.get("project_name") or None),
                status="succeeded",
                start_utc=end - timedelta(seconds=dur),
                end_utc=end,
                energy_j=kwh * J_PER_KWH,
                method="codecarbon (RAPL/NVML or TDP model; exit status not recorded)",
                label="measured",
                source="import:codecarbon",
                region=region,
                gpu_hours=None if not gpus else gpus * dur / 3600.0,
                emissions_g=kg * G_PER_KG,
                intensity_g_per_kwh=(kg * G_PER_KG / kwh) if kwh > 0 else None,
                command=(r.get("run_id") or "").strip() or None,
            )
        )
    return out


_SACCT_OK = {"COMPLETED"}
_SACCT_KILLED = {"CANCELLED", "TIMEOUT", "PREEMPTED", "DEADLINE"}


def _tres_gpus(tres: str) -> float | None:
    for part in tres.split(","):
        k, _, v = part.partition("=")
        if k.strip() in ("gres/gpu", "gpu"):
            try:
                return float(v)
            except ValueError:
                return None
    return None


def read_sacct(
    text: str,
    *,
    tenant: str,
    model: str,
    kind: str = "train",
    system: str | None = None,
    tz: str | None = None,
    region: str | None = None,
    path: str = "sacct.txt",
) -> list[dict[str, Any]]:
    """Runs from ``sacct --parsable2`` output (see the module docstring).  Slurm prints
    local times without an offset: ``tz`` names the cluster's zone.  State COMPLETED is
    succeeded; CANCELLED, TIMEOUT, PREEMPTED, DEADLINE are killed; the rest (FAILED,
    OUT_OF_MEMORY, NODE_FAIL, ...) failed; jobs still PENDING or RUNNING are skipped."""
    zone = _zone(tz)
    out = []
    rows = _rows(
        text,
        path,
        ("JobID", "State", "ExitCode", "Start", "End", "ConsumedEnergyRaw"),
        delimiter="|",
    )
    for i, r in enumerate(rows, start=2):
        if "." in r["JobID"]:
            continue  # a step (batch, extern, 0, ...): the job row carries the total
        state = r["State"].split()[0] if r["State"].strip() else ""
        if state in ("PENDING", "RUNNING", "REQUEUED", "SUSPENDED"):
            continue
        status = (
            "succeeded" if state in _SACCT_OK else "killed" if state in _SACCT_KILLED else "failed"
        )
        code, _, sig = r["ExitCode"].partition(":")
        start = _time(r["Start"], path, i, "Start", zone)
        end = _time(r["End"], path, i, "End", zone)
        energy = _float(r, "ConsumedEnergyRaw", path, i)
        gpus = _tres_gpus(r.get("AllocTRES", ""))
        hours = (end - start).total_seconds() / 3600.0
        out.append(
            make_run(
                tenant=tenant,
                kind=kind,
                model=model,
                system=system,
                status=status,
                exit_code=int(code) if code.strip().isdigit() else None,
                signal=(f"signal {sig}" if sig.strip() not in ("", "0") else None),
                start_utc=start,
                end_utc=end,
                energy_j=energy or 0.0,
                method="slurm acct_gather_energy (ConsumedEnergyRaw, node energy counters)",
                label="measured",
                source="import:sacct",
                region=region,
                gpu_hours=None if gpus is None else gpus * hours,
                command=f"slurm job {r['JobID']} {r.get('JobName', '')}".strip(),
            )
        )
    return out


def read_runs_csv(text: str, *, tenant: str, path: str = "runs.csv") -> list[dict[str, Any]]:
    """Runs from a plain CSV with the ``runs`` table's columns (``tenant`` optional: the
    given one; ``run_id`` optional: derived).  Empty cells are absent values."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in RUNS.names]
    if unknown:
        raise ParseError(
            f"unknown column {unknown[0]!r}; columns: {', '.join(RUNS.names)}",
            path=path,
            row=1,
            column=unknown[0],
        )
    out = []
    nums = {
        "energy_j",
        "energy_low_j",
        "energy_high_j",
        "gpu_hours",
        "emissions_g",
        "intensity_g_per_kwh",
    }
    for i, r in enumerate(reader, start=2):
        row: dict[str, Any] = {}
        for k, v in r.items():
            v = (v or "").strip()
            if not v:
                continue
            if k in nums:
                row[k] = _float(r, k, path, i)
            elif k == "exit_code":
                try:
                    row[k] = int(v)
                except ValueError:
                    raise ParseError(
                        f"{v!r} is not a whole number", path=path, row=i, column=k
                    ) from None
            elif k in ("start_utc", "end_utc"):
                row[k] = _time(v, path, i, k, None)
            else:
                row[k] = v
        row.setdefault("tenant", tenant)
        for need in (
            "kind",
            "model",
            "status",
            "start_utc",
            "end_utc",
            "energy_j",
            "method",
            "label",
            "source",
        ):
            if need not in row:
                raise ParseError("is required", path=path, row=i, column=need)
        out.append(make_run(**row))
    return out


def read_runs(fmt: str, path: str | Path, **kw: Any) -> list[dict[str, Any]]:
    """Read ``path`` in ``fmt`` (one of :data:`RUN_FORMATS`)."""
    readers: dict[str, Callable[..., list[dict[str, Any]]]] = {
        "codecarbon": read_codecarbon,
        "sacct": read_sacct,
        "csv": read_runs_csv,
    }
    if fmt not in readers:
        raise ParseError(
            f"unknown format {fmt!r}; one of {', '.join(RUN_FORMATS)}", column="format"
        )
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror}", path=str(p)) from exc
    if fmt == "csv":
        kw = {k: v for k, v in kw.items() if k == "tenant"}
    return readers[fmt](text, path=str(p), **kw)


# --------------------------------------------------------------------- cloud exports
def _unit_to_g(unit: str, path: str, i: int, col: str) -> float:
    u = unit.strip().lower().replace(" ", "")
    if u in ("mtco2e", "tco2e", "metrictons", "t"):
        return G_PER_T
    if u in ("kgco2e", "kg"):
        return G_PER_KG
    raise ParseError(f"unknown unit {unit!r} (expected MTCO2e)", path=path, row=i, column=col)


def read_cloud_export(fmt: str, text: str, *, path: str = "export.csv") -> list[dict[str, Any]]:
    """Rows ``{provider, period_start, service, region, scope, location_g, market_g}`` from a
    provider's carbon export (see the module docstring); grams, converted here."""
    out: list[dict[str, Any]] = []
    if fmt == "aws-ccft":
        for i, r in enumerate(
            _rows(
                text,
                path,
                (
                    "usage_period_start",
                    "product_code",
                    "region_code",
                    "total_lbm_emissions_value",
                    "total_lbm_emissions_unit",
                    "total_mbm_emissions_value",
                    "total_mbm_emissions_unit",
                ),
            ),
            start=2,
        ):
            lbm = _float(r, "total_lbm_emissions_value", path, i, blank_ok=True)
            mbm = _float(r, "total_mbm_emissions_value", path, i, blank_ok=True)
            out.append(
                {
                    "provider": "aws",
                    "period_start": r["usage_period_start"][:10],
                    "service": r["product_code"] or None,
                    "region": r["region_code"] or None,
                    "scope": "scope 1+2 (+3 where the model version includes it)",
                    "location_g": None
                    if lbm is None
                    else lbm
                    * _unit_to_g(
                        r["total_lbm_emissions_unit"], path, i, "total_lbm_emissions_unit"
                    ),
                    "market_g": None
                    if mbm is None
                    else mbm
                    * _unit_to_g(
                        r["total_mbm_emissions_unit"], path, i, "total_mbm_emissions_unit"
                    ),
                }
            )
    elif fmt == "gcp-carbon-footprint":
        loc = "carbon_footprint_total_kgCO2e.location_based"
        for i, r in enumerate(
            _rows(text, path, ("usage_month", "service.description", "location.region", loc)),
            start=2,
        ):
            lb = _float(r, loc, path, i, blank_ok=True)
            mb = (
                _float(r, "carbon_footprint_total_kgCO2e.market_based", path, i, blank_ok=True)
                if "carbon_footprint_total_kgCO2e.market_based" in r
                else None
            )
            out.append(
                {
                    "provider": "gcp",
                    "period_start": r["usage_month"][:10],
                    "service": r["service.description"] or None,
                    "region": r["location.region"] or None,
                    "scope": "scope 1+2+3",
                    "location_g": None if lb is None else lb * G_PER_KG,
                    "market_g": None if mb is None else mb * G_PER_KG,
                }
            )
    elif fmt == "azure-emissions-impact":
        for i, r in enumerate(
            _rows(
                text,
                path,
                ("dateKey", "azureServiceName", "azureRegionName", "scope", "totalEmissions"),
            ),
            start=2,
        ):
            dk = r["dateKey"].strip()
            if len(dk) != 8 or not dk.isdigit():
                raise ParseError(
                    f"{dk!r} is not a yyyymmdd date key", path=path, row=i, column="dateKey"
                )
            v = _float(r, "totalEmissions", path, i)
            out.append(
                {
                    "provider": "azure",
                    "period_start": f"{dk[:4]}-{dk[4:6]}-{dk[6:]}",
                    "service": r["azureServiceName"] or None,
                    "region": r["azureRegionName"] or None,
                    "scope": r["scope"] or None,
                    # the dashboard's Scope 2 is market-based (Microsoft's methodology)
                    "location_g": None,
                    "market_g": None if v is None else v * G_PER_T,
                }
            )
    else:
        raise ParseError(
            f"unknown export format {fmt!r}; one of {', '.join(CLOUD_FORMATS)}", column="format"
        )
    return out


def read_table_csv(table: str, path: str | Path, *, tenant: str) -> list[dict[str, Any]]:
    """Storage or transfer records from a CSV with the table's own columns (``tenant``
    optional: the given one; ``record_id`` required).  The store validates the rows."""
    from infercarbon.ledger.schema import STORAGE, TRANSFERS

    spec = {"storage": STORAGE, "transfers": TRANSFERS}.get(table)
    if spec is None:
        raise ParseError(f"unknown table {table!r}; storage or transfers", column="format")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror}", path=str(p)) from exc
    reader = csv.DictReader(io.StringIO(text))
    unknown = [c for c in (reader.fieldnames or []) if c not in spec.names]
    if unknown:
        raise ParseError(
            f"unknown column {unknown[0]!r}; columns: {', '.join(spec.names)}",
            path=str(p),
            row=1,
            column=unknown[0],
        )
    out = []
    for i, r in enumerate(reader, start=2):
        row: dict[str, Any] = {}
        for k, v in r.items():
            v = (v or "").strip()
            if not v:
                continue
            row[k] = _float(r, k, str(p), i) if k in ("gb", "gb_months") else v
        row.setdefault("tenant", tenant)
        out.append(row)
    return out
