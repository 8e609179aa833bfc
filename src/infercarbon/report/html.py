"""A self-contained HTML rendering of a :class:`~infercarbon.report.tables.Report`.

One file: the stylesheet is inline, the charts are inline SVG, and there is no script, web
font, image or link to fetch, so the report opens offline and prints as it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from infercarbon.charts import fmt, grouped_bars, hbars
from infercarbon.report.tables import Report, Table
from infercarbon.units import G_PER_T

__all__ = ["SECTIONS", "render_html"]

#: Section heading -> tables in it, in reading order.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("1. Energy and activity", ("energy", "idle_share", "energy_cost")),
    ("2. Scope 2: location-based and market-based", ("scope2", "market_instruments")),
    ("3. Scope 3", ("scope3",)),
    ("4. Memo: consequential emissions", ("memo_consequential",)),
    ("5. ESRS E1 disclosure and intensity", ("esrs_e1", "intensity_per_outcome")),
    ("6. System inventory", ("inventory", "by_month", "breakdown")),
    (
        "7. Methodology and assumptions",
        ("methods", "factors", "versions", "line_item_sources", "exclusions", "reconciliation"),
    ),
    ("Status", ("status",)),
)

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;color:#222;margin:0;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:24px 32px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;border-bottom:2px solid #0072B2;
padding-bottom:4px;margin-top:32px}h3{font-size:14px;margin:18px 0 6px}
.meta{font-size:12px;color:#555}.meta td{padding:1px 10px 1px 0}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:200px}
.card .v{font-size:22px;font-weight:bold}.card .l{font-size:12px;color:#555}
.card .r{font-size:11px;color:#777}
.loc{border-top:4px solid #0072B2}.mkt{border-top:4px solid #E69F00}
table.t{border-collapse:collapse;font-size:12px;width:100%;margin:4px 0}
table.t th{background:#eef3f8;text-align:left;padding:4px 6px;border:1px solid #d6dde5;
vertical-align:bottom}
table.t td{padding:3px 6px;border:1px solid #e3e3e3;vertical-align:top}
table.t td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.t td.na{color:#999;font-style:italic;text-align:center}
table.t tr.sub td{font-weight:bold;background:#f6f6f6}
th .u{font-weight:normal;color:#666;font-size:10px;display:block}
.notes{font-size:11px;color:#555;margin:2px 0 10px}.notes p{margin:2px 0}
.charts{display:flex;flex-wrap:wrap;gap:16px}.empty{font-size:20px;padding:24px;
border:2px dashed #bbb;text-align:center;color:#555}
td.src{max-width:330px;word-break:break-word}
"""

_TEXTY = {
    "note",
    "source",
    "description",
    "method",
    "instrument",
    "reason",
    "category",
    "price_source",
    "profile",
}


def _cell(key: str, v: Any) -> str:
    if v is None:
        return "<td class='na'>n/a</td>"
    if isinstance(v, bool):
        return f"<td>{'yes' if v else 'no'}</td>"
    if isinstance(v, int):
        return f"<td class='n'>{v:,}</td>"
    if isinstance(v, float):
        if key.endswith("_frac"):
            return f"<td class='n'>{v:.1%}</td>"
        return f"<td class='n'>{escape(fmt(v))}</td>"
    cls = " class='src'" if key in _TEXTY else ""
    return f"<td{cls}>{escape(str(v))}</td>"


def _table(t: Table) -> str:
    head = "".join(
        f"<th>{escape(c.title)}"
        + (f"<span class='u'>{escape(c.unit)}</span>" if c.unit else "")
        + "</th>"
        for c in t.columns
    )
    body = []
    for r in t.rows:
        sub = " class='sub'" if r.get("line_item") == "subtotal" else ""
        body.append(f"<tr{sub}>" + "".join(_cell(c.key, r.get(c.key)) for c in t.columns) + "</tr>")
    if not body:
        body.append(f"<tr><td class='na' colspan='{len(t.columns)}'>none in the period</td></tr>")
    notes = "".join(f"<p>{escape(n)}</p>" for n in t.notes)
    return (
        f"<h3 id='{escape(t.name)}'>{escape(t.title)}</h3><table class='t'><thead><tr>"
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        + (f"<div class='notes'>{notes}</div>" if notes else "")
    )


def _auto(v_t: float | None) -> str:
    """A tonnes figure in the unit that reads best (t, kg or g)."""
    if v_t is None:
        return "n/a"
    if abs(v_t) >= 1:
        return f"{fmt(v_t)} tCO2e"
    if abs(v_t) >= 1e-3:
        return f"{fmt(v_t * 1e3)} kgCO2e"
    return f"{fmt(v_t * G_PER_T)} gCO2e"


def _cards(r: Report) -> str:
    try:
        s2 = {row["method"]: row for row in r.table("scope2").rows}
        energy = {row["quantity"]: row for row in r.table("energy").rows}
    except KeyError:
        return ""
    out = []
    for method, cls in (("location-based", "loc"), ("market-based", "mkt")):
        row = s2.get(method, {})
        rng = (
            f"p5..p95 {_auto(row.get('low_t'))} – {_auto(row.get('high_t'))}"
            if row.get("value_t") is not None
            else str(row.get("note", ""))
        )
        out.append(
            f"<div class='card {cls}'><div class='l'>Scope 2 {method}</div>"
            f"<div class='v'>{escape(_auto(row.get('value_t')))}</div>"
            f"<div class='r'>{escape(rng)}</div></div>"
        )
    for tc, key in (("total_location", "E1-6 §52(a)"), ("total_market", "E1-6 §52(b)")):
        try:
            row = next(x for x in r.table("esrs_e1").rows if x["datapoint"] == key)
        except (KeyError, StopIteration):
            continue
        out.append(
            f"<div class='card {'loc' if 'location' in tc else 'mkt'}'>"
            f"<div class='l'>{escape(str(row['description']))}</div>"
            f"<div class='v'>{escape(_auto(row['value']))}</div>"
            f"<div class='r'>Scope 2 + Scope 3, inference boundary</div></div>"
        )
    n = energy.get("inferences in period", {}).get("value")
    e = energy.get("IT energy of inferences (as recorded on the events)", {}).get("value")
    out.append(
        f"<div class='card'><div class='l'>Inferences</div><div class='v'>"
        f"{n:,}</div><div class='r'>IT energy {escape(fmt(e))} MWh</div></div>"
        if isinstance(n, int)
        else ""
    )
    return f"<div class='cards'>{''.join(out)}</div>"


def _scale(series: Mapping[str, list[float | None]]) -> tuple[dict[str, list[float | None]], str]:
    """Tonnes re-expressed in t, kg or g CO2e so that the axis reads in plain numbers."""
    vmax = max((abs(v) for vs in series.values() for v in vs if v is not None), default=0.0)
    factor, unit = (
        (1.0, "tCO2e") if vmax >= 1 else (1e3, "kgCO2e") if vmax >= 1e-3 else (1e6, "gCO2e")
    )
    return ({k: [None if v is None else v * factor for v in vs] for k, vs in series.items()}, unit)


def _charts(r: Report) -> str:
    svgs = []
    names = set(r.names)
    if "by_month" in names:
        rows = r.table("by_month").rows
        data, unit = _scale(
            {"location": [x["location_t"] for x in rows], "market": [x["market_t"] for x in rows]}
        )
        svgs.append(
            grouped_bars(
                "Total emissions by month (location vs market)",
                [str(x["month"]) for x in rows],
                data,
                unit=unit,
            )
        )
    if "breakdown" in names:
        svc = [x for x in r.table("breakdown").rows if x["dimension"] == "service"]
        data, unit = _scale(
            {"location": [x["location_t"] for x in svc], "market": [x["market_t"] for x in svc]}
        )
        svgs.append(
            hbars("Total emissions by service", [str(x["name"]) for x in svc], data, unit=unit)
        )
    if "scope2" in names and "scope3" in names:
        cats = ["Scope 2"]
        s2 = {x["method"]: x["value_t"] for x in r.table("scope2").rows}
        loc: list[float | None] = [s2.get("location-based")]
        mkt: list[float | None] = [s2.get("market-based")]
        for x in r.table("scope3").rows:
            if x["line_item"] == "subtotal":
                cats.append(str(x["scope"]).replace("scope3_cat", "Scope 3 cat. "))
                loc.append(x["location_basis_t"])
                mkt.append(x["market_basis_t"])
        if "memo_consequential" in names:
            memo = r.table("memo_consequential").rows[0]["value_t"]
            if memo is not None:
                cats.append("Memo: marginal")
                loc.append(memo)
                mkt.append(None)
        data, unit = _scale({"location": loc, "market": mkt})
        svgs.append(
            grouped_bars("Emissions by scope (location vs market basis)", cats, data, unit=unit)
        )
    if not svgs:
        return ""
    return "<h2>Charts</h2><div class='charts'>" + "".join(svgs) + "</div>"


def _meta(meta: Mapping[str, Any], tables_hash: str) -> str:
    period = meta.get("period", {})
    rows = [
        (
            "Period",
            f"{period.get('label')} = [{period.get('start_utc')}, "
            f"{period.get('end_utc_exclusive')})",
        ),
        ("Tenant", meta.get("tenant")),
        ("Ledger", meta.get("ledger")),
        ("Generated (UTC)", meta.get("generated_utc")),
        ("Generator", f"infercarbon {meta.get('infercarbon_version')}"),
        ("Tables SHA-256", tables_hash),
    ]
    return (
        "<table class='meta'>"
        + "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in rows)
        + "</table>"
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    meta = report.meta
    title = str(meta.get("title", "Report"))
    by_name = {t.name: t for t in report.tables}
    body = [f"<h1>{escape(title)}</h1>", _meta(meta, report.content_hash())]
    if meta.get("status") != "ok":
        body.append(f"<div class='empty'>{escape(str(meta.get('status')))}</div>")
    body.append(_cards(report))
    body.append(_charts(report))
    placed: set[str] = set()
    for heading, names in SECTIONS:
        ts = [by_name[n] for n in names if n in by_name]
        if not ts:
            continue
        body.append(f"<h2>{escape(heading)}</h2>" + "".join(_table(t) for t in ts))
        placed.update(t.name for t in ts)
    rest = [t for t in report.tables if t.name not in placed]
    if rest:
        body.append("<h2>Other tables</h2>" + "".join(_table(t) for t in rest))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        + "".join(body)
        + "</main></body></html>\n"
    )
