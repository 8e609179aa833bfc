"""Markdown and HTML renderings of the programme's artefacts (the JSON data is the
contract; these are views of it).  A document is ``{"title", "summary": [lines],
"tables": [{"title", "columns": [[key, heading]], "rows": [...]}], "notes": [...]}``."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["to_html", "to_markdown"]


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(_cell(x) for x in v)
    return str(v)


def to_markdown(doc: Mapping[str, Any]) -> str:
    out = [f"# {doc['title']}", ""]
    out += [f"{line}  " for line in doc.get("summary", [])]
    for t in doc.get("tables", []):
        cols = t["columns"]
        out += [
            "",
            f"## {t['title']}",
            "",
            "| " + " | ".join(h for _, h in cols) + " |",
            "|" + "---|" * len(cols),
        ]
        out += [
            "| " + " | ".join(_cell(r.get(k)).replace("|", "\\|") for k, _ in cols) + " |"
            for r in t["rows"]
        ]
    if doc.get("notes"):
        out += ["", "## Notes", ""] + [f"- {n}" for n in doc["notes"]]
    return "\n".join(out) + "\n"


def to_html(doc: Mapping[str, Any]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(doc['title'])}</title><style>body{{font-family:sans-serif;"
        "max-width:70em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;"
        "vertical-align:top}</style></head><body>",
        f"<h1>{e(doc['title'])}</h1>",
    ]
    parts += [f"<p>{e(line)}</p>" for line in doc.get("summary", [])]
    for t in doc.get("tables", []):
        parts.append(
            f"<h2>{e(t['title'])}</h2><table><tr>"
            + "".join(f"<th>{e(h)}</th>" for _, h in t["columns"])
            + "</tr>"
        )
        parts += [
            "<tr>" + "".join(f"<td>{e(_cell(r.get(k)))}</td>" for k, _ in t["columns"]) + "</tr>"
            for r in t["rows"]
        ]
        parts.append("</table>")
    if doc.get("notes"):
        parts.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in doc["notes"]) + "</ul>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
