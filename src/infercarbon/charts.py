"""Self-contained SVG charts, the one chart module of the package (no dependency, no script,
no external font or stylesheet).

Every chart infercarbon draws is built here: the report's grouped and horizontal bars
(:mod:`infercarbon.report.html`) and the small-multiple line panels of the average vs
marginal comparison (:func:`infercarbon.grid.marginal.compare.render_svg`).  It sits at the
bottom of the import layers (it imports nothing from infercarbon), so any layer may use it.
Attributes are single-quoted and text is escaped with :func:`html.escape`.

>>> svg = grouped_bars("t", ["2026-07"], {"location": [1.0], "market": [0.5]}, unit="tCO2e")
>>> svg.startswith("<svg") and "2026-07" in svg and "</svg>" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["PALETTE", "fmt", "grouped_bars", "hbars", "line_panels"]

#: Colours per series name (colour-blind-safe Okabe-Ito), with a fallback cycle.
PALETTE: dict[str, str] = {"location": "#0072B2", "market": "#E69F00", "marginal": "#999999"}
_CYCLE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
_FONT = "font-family='Helvetica, Arial, sans-serif'"


def fmt(v: float | None, digits: int = 4) -> str:
    """A number with ``digits`` significant digits, plain or scientific as it reads best."""
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e6:
        decimals = max(0, digits - 1 - math.floor(math.log10(a)))
        return f"{v:,.{decimals}f}"
    return f"{v:.{digits - 1}e}"


def _colour(name: str, i: int) -> str:
    return PALETTE.get(name, _CYCLE[i % len(_CYCLE)])


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if v <= m * e:
            return float(m * e)
    return float(10 * e)


def grouped_bars(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    unit: str,
    width: int = 560,
    height: int = 260,
) -> str:
    """Vertical grouped bars: one group per category, one bar per series (None: no bar)."""
    left, right, top, bottom = 70, 10, 34, 46
    pw, ph = width - left - right, height - top - bottom
    vals = [v for s in series.values() for v in s if v is not None]
    vmax = _nice_max(max(vals, default=0.0))
    n, k = max(len(categories), 1), max(len(series), 1)
    gw = pw / n
    bw = min(40.0, gw * 0.8 / k)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title)}' {_FONT}>",
        f"<title>{escape(title)}</title>",
        f"<text x='{left}' y='18' font-size='13' font-weight='bold'>{escape(title)}</text>",
    ]
    for i in range(5):
        tick = vmax * i / 4
        y = top + ph - ph * i / 4
        parts.append(
            f"<line x1='{left}' x2='{left + pw}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>"
        )
        parts.append(
            f"<text x='{left - 6}' y='{y + 4:.1f}' font-size='10' "
            f"text-anchor='end'>{escape(fmt(tick, 3))}</text>"
        )
    parts.append(
        f"<text x='12' y='{top + ph / 2:.1f}' font-size='10' text-anchor='middle' "
        f"transform='rotate(-90 12 {top + ph / 2:.1f})'>{escape(unit)}</text>"
    )
    for ci, cat in enumerate(categories):
        x0 = left + ci * gw + (gw - bw * k) / 2
        for si, (name, vs) in enumerate(series.items()):
            v = vs[ci] if ci < len(vs) else None
            if v is None:
                continue
            h = ph * v / vmax
            parts.append(
                f"<rect x='{x0 + si * bw:.1f}' y='{top + ph - h:.1f}' "
                f"width='{bw - 2:.1f}' height='{h:.1f}' fill='{_colour(name, si)}'>"
                f"<title>{escape(f'{cat} {name}: {fmt(v)} {unit}')}</title></rect>"
            )
        parts.append(
            f"<text x='{left + ci * gw + gw / 2:.1f}' y='{top + ph + 14}' "
            f"font-size='10' text-anchor='middle'>{escape(cat)}</text>"
        )
    lx = left
    for si, name in enumerate(series):
        parts.append(
            f"<rect x='{lx}' y='{height - 16}' width='10' height='10' "
            f"fill='{_colour(name, si)}'/><text x='{lx + 14}' y='{height - 7}' "
            f"font-size='11'>{escape(name)}</text>"
        )
        lx += 20 + 7 * len(name) + 20
    parts.append("</svg>")
    return "".join(parts)


def hbars(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    unit: str,
    width: int = 560,
) -> str:
    """Horizontal grouped bars, one row per label (for long names: services, regions)."""
    left, right, top = 170, 80, 34
    k = max(len(series), 1)
    row_h = 8 + 12 * k
    height = top + row_h * max(len(labels), 1) + 30
    pw = width - left - right
    vals = [v for s in series.values() for v in s if v is not None]
    vmax = _nice_max(max(vals, default=0.0))
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title)}' {_FONT}>",
        f"<title>{escape(title)}</title>",
        f"<text x='10' y='18' font-size='13' font-weight='bold'>{escape(title)}</text>",
    ]
    for li, lab in enumerate(labels):
        y0 = top + li * row_h
        short = lab if len(lab) <= 26 else lab[:25] + "…"
        parts.append(
            f"<text x='{left - 6}' y='{y0 + row_h / 2 + 4:.1f}' font-size='11' "
            f"text-anchor='end'>{escape(short)}<title>{escape(lab)}</title></text>"
        )
        for si, (name, vs) in enumerate(series.items()):
            v = vs[li] if li < len(vs) else None
            if v is None:
                continue
            w = pw * v / vmax
            y = y0 + 4 + si * 12
            parts.append(
                f"<rect x='{left}' y='{y}' width='{w:.1f}' height='10' "
                f"fill='{_colour(name, si)}'><title>{escape(f'{lab} {name}: {fmt(v)} {unit}')}"
                f"</title></rect><text x='{left + w + 4:.1f}' y='{y + 9}' "
                f"font-size='9'>{escape(fmt(v, 3))}</text>"
            )
    ly = height - 12
    lx = left
    for si, name in enumerate(series):
        parts.append(
            f"<rect x='{lx}' y='{ly - 9}' width='10' height='10' "
            f"fill='{_colour(name, si)}'/><text x='{lx + 14}' y='{ly}' "
            f"font-size='11'>{escape(name)} [{escape(unit)}]</text>"
        )
        lx += 40 + 7 * (len(name) + len(unit))
    parts.append("</svg>")
    return "".join(parts)


def line_panels(
    title: str,
    panels: Sequence[str],
    series: Mapping[str, Sequence[Sequence[tuple[float, float]]]],
    *,
    colours: Mapping[str, str],
    x_max: float,
    x_ticks: Sequence[int],
    caption: str,
    width: int = 960,
    height: int = 300,
) -> str:
    """Small multiples: one panel per name in ``panels``, one line per series in each.

    ``series[name][i]`` holds the ``(x, y)`` points of that series in panel ``i``, with x in
    ``[0, x_max]``; every panel shares the y axis (labelled on the first panel), from
    ``min(0, lowest y)`` to 1.1 x the highest.  ``caption`` is written under the panels.

    >>> svg = line_panels("t", ["a", "b"], {"s": [[(0, 1.0), (1, 2.0)], []]},
    ...                   colours={"s": "#1f77b4"}, x_max=1, x_ticks=[0, 1], caption="x")
    >>> svg.count("<polyline"), svg.count("<rect")
    (1, 3)
    """
    pad, top = 40, 40
    k = max(len(panels), 1)
    pw = (width - pad * (k + 1)) / k
    ph = height - top - pad
    ys = [y for lines in series.values() for pts in lines for _, y in pts]
    vmax = max(ys) * 1.1 if ys else 1.0
    vmin = min(0.0, min(ys)) if ys else 0.0
    span = (vmax - vmin) or 1.0
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title)}' {_FONT} "
        "font-size='11'>",
        f"<title>{escape(title)}</title>",
        "<rect width='100%' height='100%' fill='white'/>",
        f"<text x='{width / 2}' y='18' text-anchor='middle' font-size='14'>{escape(title)}</text>",
    ]
    parts.extend(
        f"<text x='{pad + 80 * i}' y='32' fill='{colours[name]}'>— {escape(name)}</text>"
        for i, name in enumerate(series)
    )
    for p, panel in enumerate(panels):
        x0 = pad + p * (pw + pad)

        def px(x: float, x0: float = x0) -> float:
            return x0 + x / x_max * pw

        def py(y: float) -> float:
            return top + ph - (y - vmin) / span * ph

        parts.append(
            f"<rect x='{x0:.1f}' y='{top}' width='{pw:.1f}' height='{ph}' "
            "fill='none' stroke='#999'/>"
        )
        parts.append(
            f"<text x='{x0 + pw / 2:.1f}' y='{top + 12}' text-anchor='middle'>"
            f"{escape(panel)}</text>"
        )
        parts.extend(
            f"<text x='{px(x):.1f}' y='{top + ph + 14}' text-anchor='middle'>{x}</text>"
            for x in x_ticks
        )
        if p == 0:
            parts.extend(
                f"<text x='{x0 - 4:.1f}' y='{py(v) + 4:.1f}' text-anchor='end'>{v:.0f}</text>"
                for v in (vmin + span * i / 4 for i in range(5))
            )
        for name, lines in series.items():
            pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in lines[p])
            if pts:
                parts.append(
                    f"<polyline points='{pts}' fill='none' stroke='{colours[name]}' "
                    "stroke-width='2'/>"
                )
    parts.append(
        f"<text x='{width / 2}' y='{height - 6}' text-anchor='middle'>{escape(caption)}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
