"""The report's data model: named tables of rows, rendered alike to HTML, CSV and JSON.

Every number in a table keeps its unit in the column key (``_t`` tonnes CO2e, ``_g`` grams,
``_mwh`` megawatt-hours, the reporting unit ESRS E1-5 asks for); a cell that is not available
is ``None`` and its row says why in ``note``; it is never a zero standing in for data.

>>> t = Table("x", "X", (Col("a", "A"), Col("v_t", "V", "tCO2e")), ({"a": "k", "v_t": 1.5},))
>>> to_csv(Report({"title": "t"}, (t,)).tables).splitlines()[:2]
['table,a,v_t', 'x,k,1.5']
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infercarbon.errors import InputError
from infercarbon.units import G_PER_T, J_PER_MWH

__all__ = ["Col", "Report", "Table", "mwh", "read_csv_tables", "to_csv", "tonnes"]


def tonnes(grams: float | None) -> float | None:
    """[g] -> [t] (None stays None)."""
    return None if grams is None else grams / G_PER_T


def mwh(joules: float | None) -> float | None:
    """[J] -> [MWh] (None stays None)."""
    return None if joules is None else joules / J_PER_MWH


@dataclass(frozen=True, slots=True)
class Col:
    """A column: its key in each row, its heading, and its unit (None: text or a count)."""

    key: str
    title: str
    unit: str | None = None


@dataclass(frozen=True)
class Table:
    """One table of the report."""

    name: str
    title: str
    columns: tuple[Col, ...]
    rows: tuple[Mapping[str, Any], ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        keys = {c.key for c in self.columns}
        for i, r in enumerate(self.rows):
            extra = set(r) - keys
            if extra:
                raise InputError(
                    f"unknown column(s) {sorted(extra)}", field=f"{self.name}.rows[{i}]"
                )

    def column(self, key: str) -> list[Any]:
        return [r.get(key) for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": [
                {"key": c.key, "title": c.title, **({"unit": c.unit} if c.unit else {})}
                for c in self.columns
            ],
            "rows": [{c.key: _json_safe(r.get(c.key)) for c in self.columns} for r in self.rows],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Report:
    """A whole report: metadata and its tables in reading order."""

    meta: Mapping[str, Any]
    tables: tuple[Table, ...]
    charts: Mapping[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]

    def tables_dict(self) -> dict[str, Any]:
        return {t.name: t.to_dict() for t in self.tables}

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the tables (not of the generation time)."""
        blob = json.dumps(
            self.tables_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": {**dict(self.meta), "tables_sha256": self.content_hash()},
            "tables": self.tables_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def to_csv(self) -> str:
        meta = Table(
            "report",
            "Report",
            (Col("key", "Key"), Col("value", "Value")),
            tuple(
                {"key": k, "value": _cell(v)}
                for k, v in {**dict(self.meta), "tables_sha256": self.content_hash()}.items()
            ),
        )
        notes = Table(
            "notes",
            "Notes",
            (Col("table", "Table"), Col("note", "Note")),
            tuple({"table": t.name, "note": n} for t in self.tables for n in t.notes),
        )
        return to_csv((meta, *self.tables, notes))


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        raise InputError(f"{v!r} is not a finite number", field="report")
    return v


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, Mapping | list | tuple):
        return json.dumps(v, sort_keys=True)
    return " ".join(str(v).split("\n"))


def to_csv(tables: Sequence[Table]) -> str:
    """Tables as one CSV text: each table is a block whose header row starts with ``table``
    and whose rows start with the table's name; blocks are separated by an empty line.
    An empty cell is a value that is not available (its row's ``note`` says why)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, t in enumerate(tables):
        if i:
            buf.write("\n")
        w.writerow(["table", *(c.key for c in t.columns)])
        for r in t.rows:
            w.writerow([t.name, *(_cell(r.get(c.key)) for c in t.columns)])
    return buf.getvalue()


def read_csv_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Read :func:`to_csv` output back: table name -> rows (cells as text)."""
    out: dict[str, list[dict[str, str]]] = {}
    blocks: Iterable[str] = (b for b in text.split("\n\n") if b.strip())
    for b in blocks:
        rows = list(csv.reader(io.StringIO(b)))
        header = rows[0][1:]
        if rows[0][0] != "table":
            raise InputError("a block must start with a header row beginning 'table'", field="csv")
        for r in rows[1:]:
            out.setdefault(r[0], []).append(dict(zip(header, r[1:], strict=True)))
    return out
