"""Reports for a CSRD assurer: GHG Protocol Scope 2 dual reporting, Scope 3 categories, an
ESRS E1-aligned disclosure, the idle share of active energy and the energy cost, the system
inventory and the methodology, from the ledger.  Every emissions figure has one p5..p95 range
(``low_t``/``high_t``: the aggregate range of
:data:`~infercarbon.ledger.rollup.AGGREGATE_RANGE_METHOD`), its correlation assumption stated
beside it.

:func:`build_report` reads one period (and optionally one tenant) of a ledger
:class:`~infercarbon.ledger.Store` with set-based SQL and returns a
:class:`~infercarbon.report.tables.Report`: named tables rendered alike as HTML
(self-contained, inline SVG charts), CSV and JSON by :func:`render`.

>>> from datetime import UTC, datetime
>>> from infercarbon.ledger import open_store
>>> store = open_store(":memory:")
>>> r = build_report(store, parse_period("2026-Q3"),
...                  generated_utc=datetime(2026, 10, 1, tzinfo=UTC))
>>> r.meta["status"]
'no inferences in period'
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

from infercarbon.errors import InputError
from infercarbon.ledger import Store
from infercarbon.report.data import LedgerSlice, read_slice
from infercarbon.report.esrs import esrs_e1_table, intensity_table
from infercarbon.report.html import render_html
from infercarbon.report.inventory import breakdown_table, inventory_table, monthly_table
from infercarbon.report.methodology import (
    factors_table,
    methods_table,
    sources_table,
    versions_table,
)
from infercarbon.report.period import Period, parse_period
from infercarbon.report.programme import (
    has_programme_data,
    hidden_drivers_table,
    programme_facts,
    training_runs_table,
)
from infercarbon.report.running import energy_cost_table, idle_share_table
from infercarbon.report.scope2 import (
    UNCERTAINTY_METHOD,
    energy_table,
    exclusions_table,
    market_instruments_table,
    memo_table,
    reconciliation_table,
    scope2_table,
    scope3_table,
)
from infercarbon.report.tables import Col, Report, Table, read_csv_tables
from infercarbon.report.traces import traces_table
from infercarbon.timeutil import format_utc

if TYPE_CHECKING:
    from infercarbon.decisions.accuracy import TaskMetric

__all__ = [
    "FORMATS",
    "NO_INFERENCES",
    "UNCERTAINTY_METHOD",
    "LedgerSlice",
    "Period",
    "Report",
    "Table",
    "build_report",
    "parse_period",
    "read_csv_tables",
    "read_slice",
    "redact_url",
    "render",
]

FORMATS = ("html", "csv", "json")
Format = Literal["html", "csv", "json"]
NO_INFERENCES = "no inferences in period"
TITLE = "AI inference energy and GHG emissions report"


def redact_url(url: str) -> str:
    """A ledger URL without its password (``postgresql://u:***@host/db``)."""
    parts = urlsplit(url)
    if not parts.scheme or parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def build_report(
    store: Store,
    period: Period,
    *,
    generated_utc: datetime,
    tenant: str | None = None,
    ledger_label: str | None = None,
    task_metrics: Sequence[TaskMetric] | None = None,
    extra_tables: Sequence[Table] = (),
) -> Report:
    """Build the report of ``period`` (and ``tenant``, else every tenant) from ``store``.

    ``task_metrics`` (a score per model, :mod:`infercarbon.decisions.accuracy`) adds the
    accuracy-per-watt table.  ``extra_tables`` go last, as given (``report --catalog``: the
    lake's account-job footprints, a source beside the ledger's).

    ``generated_utc`` is stamped in the metadata (passed in: no ambient clock).  A period
    without inferences gives a report whose status says so, with no figures.
    """
    if not isinstance(generated_utc, datetime) or generated_utc.utcoffset() is None:
        raise InputError("must be a timezone-aware datetime", field="generated_utc")
    if tenant is not None and (not isinstance(tenant, str) or not tenant):
        raise InputError("must be a non-empty tenant name", field="tenant")
    sl = read_slice(store, period, tenant=tenant)
    meta = {
        "title": TITLE,
        "status": NO_INFERENCES if sl.empty else "ok",
        "period": period.to_dict(),
        "tenant": tenant if tenant is not None else "all tenants",
        "ledger": redact_url(ledger_label if ledger_label is not None else store.url),
        "generated_utc": format_utc(generated_utc),
        "infercarbon_version": _version(),
        "units": "energy MWh, emissions tCO2e, intensity gCO2e per outcome",
    }
    pf = programme_facts(store, period, tenant, sl)
    programme = (
        (training_runs_table(pf, period), hidden_drivers_table(pf))
        if has_programme_data(pf) or not sl.empty
        else ()
    )
    if sl.empty:
        status = Table(
            "status",
            "Status",
            (Col("status", "Status"), Col("period", "Period"), Col("tenant", "Tenant")),
            ({"status": NO_INFERENCES, "period": period.label, "tenant": meta["tenant"]},),
            notes=(
                "The ledger holds no inference that started in this period"
                + ("" if tenant is None else " for this tenant")
                + "; no figure is reported (none is zero by assumption).",
            ),
        )
        return Report(meta, (status, *programme, *extra_tables))
    tables: tuple[Table, ...] = (
        energy_table(sl),
        idle_share_table(sl),
        energy_cost_table(sl),
        scope2_table(sl),
        market_instruments_table(sl),
        scope3_table(sl),
        memo_table(sl),
        esrs_e1_table(sl),
        intensity_table(sl),
        inventory_table(sl),
        monthly_table(sl),
        breakdown_table(sl),
        methods_table(),
        factors_table(sl),
        versions_table(sl),
        sources_table(sl),
        exclusions_table(sl),
        reconciliation_table(sl),
        traces_table(store, period, tenant=tenant),
        *programme,
    )
    tables += _decision_tables(store, period, tenant, task_metrics)
    return Report(meta, (*tables, *extra_tables))


def _decision_tables(
    store: Store, period: Period, tenant: str | None, task_metrics: Sequence[TaskMetric] | None
) -> tuple[Table, ...]:
    """The decision-support sections: rebound, and accuracy per watt when metrics are given."""
    from infercarbon.report.decisions import accuracy_table, rebound_table

    out: tuple[Table, ...] = (rebound_table(store, period, tenant),)
    if task_metrics:
        out += (accuracy_table(store, period, tenant, task_metrics),)
    return out


def _version() -> str:
    from infercarbon._version import __version__

    return __version__


def render(report: Report, fmt: str) -> str:
    """The report as ``html``, ``csv`` or ``json`` text."""
    if fmt == "html":
        return render_html(report)
    if fmt == "csv":
        return report.to_csv()
    if fmt == "json":
        return report.to_json()
    raise InputError(f"must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")
