"""The account job's period totals on the lake: DuckDB over the pruned scan of ``footprints``.

``infercarbon lake totals --catalog URI --period P`` reads only the partitions of the period
(the footprints table is partitioned by day: Iceberg prunes the files whose day is outside
``[start, end)`` from the manifest, before reading any), drops the footprints of superseded
events, and sums per region and tenant with DuckDB over the Arrow scan.  Ranges are the sums
of the per-event bounds (their bound when the shared factors move together; see
:mod:`infercarbon.jobs.rollup`).  The same figures as summing the table read with plain
pyiceberg or DuckDB (a test pins it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from infercarbon.accounting.events import BASES
from infercarbon.jobs.rollup import SUMMED
from infercarbon.ledger.lake import Lake
from infercarbon.report.period import Period
from infercarbon.report.tables import Col, Table
from infercarbon.units import J_PER_KWH, J_PER_MWH

__all__ = ["account_job_table", "lake_report"]


def lake_report(
    lake: Lake, period: Period, *, tenant: str | None = None, generated_utc: datetime
) -> dict[str, Any]:
    """Totals of the period's live footprints, overall and per region x tenant."""
    fp = lake.read(
        "footprints",
        start_utc=period.start_utc,
        end_utc=period.end_utc,
        equals={"tenant": tenant} if tenant is not None else None,
    )
    snap = lake.snapshot_id("footprints")
    con = duckdb.connect()
    try:
        con.register("fp", fp)
        live = (
            "SELECT * FROM fp WHERE event_id NOT IN (SELECT supersedes FROM fp "
            "WHERE supersedes IS NOT NULL)"
        )
        sums = ", ".join(f"sum({c}) AS {c}" for c in SUMMED)
        total = con.execute(f"SELECT count(*) AS events, {sums} FROM ({live})").fetchall()
        cols = ["events", *SUMMED]
        by = con.execute(
            f"SELECT region, tenant, count(*) AS events, {sums} FROM ({live}) "
            "GROUP BY region, tenant ORDER BY region, tenant"
        ).fetchall()
    finally:
        con.close()
    t = dict(zip(cols, total[0], strict=True))
    return {
        "period": period.to_dict(),
        "tenant": tenant,
        "source": {
            "lake": lake.uri,
            "table": "footprints",
            "snapshot_id": snap,
            "rows_scanned": fp.num_rows,
        },
        "generated_utc": generated_utc.isoformat(),
        "totals": {**t, "energy_kwh": (t["energy_j"] or 0.0) / J_PER_KWH},
        "by_region_tenant": [dict(zip(["region", "tenant", *cols], r, strict=True)) for r in by],
        "ranges": "sums of per-event p5..p95 bounds (fully correlated: an upper bound on "
        "the spread of each sum)",
    }


def account_job_table(
    lake: Lake, period: Period, *, tenant: str | None = None, generated_utc: datetime
) -> Table | None:
    """The account job's footprints of the period (the lake's ``footprints`` table, written
    by ``infercarbon account``) as a report table: per region x tenant and in all, events,
    energy and each basis's total with its range; None when the table holds none in the
    period.  ``report --catalog`` adds it beside the ledger tables' figures (they are
    separate tables, never added together)."""
    rep = lake_report(lake, period, tenant=tenant, generated_utc=generated_utc)
    if not rep["source"]["rows_scanned"]:
        return None

    def row(region: str, tenant_: str, d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "region": region,
            "tenant": tenant_,
            "events": d["events"],
            "energy_mwh": None if d["energy_j"] is None else d["energy_j"] / J_PER_MWH,
            "idle_mwh": None if d["idle_j"] is None else d["idle_j"] / J_PER_MWH,
        }
        for b in BASES:
            for s_, k in (("g", "t"), ("low_g", "low_t"), ("high_g", "high_t")):
                v = d[f"total_{b}_{s_}"]
                out[f"{b}_{k}"] = None if v is None else v / 1e6
        return out

    rows = [row(r["region"], r["tenant"], r) for r in rep["by_region_tenant"]]
    rows.append(row("(all)", "(all)", rep["totals"]))
    cols = [
        Col("region", "Region"),
        Col("tenant", "Tenant"),
        Col("events", "Events"),
        Col("energy_mwh", "Active energy", "MWh"),
        Col("idle_mwh", "Attributed idle", "MWh"),
    ]
    for b in BASES:
        cols += [
            Col(f"{b}_t", f"{b.capitalize()} total", "tCO2e"),
            Col(f"{b}_low_t", f"{b.capitalize()} low", "tCO2e"),
            Col(f"{b}_high_t", f"{b.capitalize()} high", "tCO2e"),
        ]
    src = rep["source"]
    return Table(
        "lake_account_job",
        "Lake: the account job's footprints (infercarbon attribute + account)",
        tuple(cols),
        tuple(rows),
        notes=(
            f"From the lake's footprints table (snapshot {src['snapshot_id']}, "
            f"{src['rows_scanned']} row(s) of the period's day partitions read), written by "
            "`infercarbon account` from measured device readings; a separate table from the "
            "ledger's footprints above, never added to them. Live footprints only (the "
            "footprints of superseded events left out).",
            "Totals per basis: the operational and attributed idle lines, and embodied where "
            "a deployment profile gives it (the job's contexts say which). Ranges: "
            + rep["ranges"]
            + "; marginal is a memo item.",
        ),
    )
