"""Helpers shared by the CLI command modules: output and error conventions."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

# soft_wrap: a line of text is never broken by rich (a redirected stdout is 80 columns to
# rich, which would cut figures and paths); a terminal wraps long lines itself
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _clean(obj: Any) -> Any:
    """Make a structure JSON-safe: NaN/inf become null (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    """Print a stable, indented JSON document on stdout (no rich markup)."""
    sys.stdout.write(json.dumps(_clean(obj), indent=2, sort_keys=False) + "\n")


# ------------------------------------------------------------------ human units

_MASS_UNITS = ((1e6, "t"), (1e3, "kg"), (1.0, "g"), (1e-3, "mg"), (1e-6, "µg"), (1e-9, "ng"))
_ENERGY_UNITS_WH = (
    (1e6, "MWh"),
    (1e3, "kWh"),
    (1.0, "Wh"),
    (1e-3, "mWh"),
    (1e-6, "µWh"),
    (1e-9, "nWh"),
)


def _scaled(x: float, units: tuple[tuple[float, str], ...], digits: int) -> str:
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return f"0 {units[2][1]}"
    a = abs(x)
    # the largest unit the value reaches (rounding included); below the smallest, the smallest
    scale, unit = next(
        ((s, u) for s, u in units if a >= s * (1 - 0.5 * 10.0 ** (1 - digits))), units[-1]
    )
    return f"{x / scale:.{digits}g} {unit}"


def human_mass_g(x_g: float, digits: int = 4) -> str:
    """A mass [g] in the unit a reader takes in at a glance (t, kg, g, mg, µg, ng).

    >>> human_mass_g(6.017e-5)
    '60.17 µg'
    >>> human_mass_g(0.0123)
    '12.3 mg'
    >>> human_mass_g(1520.0)
    '1.52 kg'
    >>> human_mass_g(0.0)
    '0 g'
    """
    return _scaled(float(x_g), _MASS_UNITS, digits)


def human_energy_j(x_j: float, digits: int = 4) -> str:
    """An energy [J] in watt-hours scaled for reading (MWh, kWh, Wh, mWh, µWh, nWh).

    >>> human_energy_j(216.6)   # 6.017e-5 kWh
    '60.17 mWh'
    >>> human_energy_j(3.6e6)
    '1 kWh'
    >>> human_energy_j(1.8)
    '500 µWh'
    """
    return _scaled(float(x_j) / 3600.0, _ENERGY_UNITS_WH, digits)


# ------------------------------------------------------------------ tables

#: ``--format`` values of commands that print tables; "auto" = a rich table on a terminal,
#: plain aligned text when stdout is redirected (numbers are never broken across lines).
TABLE_FORMATS = ("table", "tsv", "json")
FORMAT_HELP = (
    "table | tsv | json. Default: a table on a terminal, plain aligned text when "
    "stdout is redirected."
)


def check_table_format(fmt: str | None, *, extra: tuple[str, ...] = ()) -> str:
    """Validate a ``--format`` value; ``None`` becomes ``"auto"``."""
    if fmt is None:
        return "auto"
    allowed = (*TABLE_FORMATS, *extra)
    if fmt not in allowed:
        from infercarbon.errors import InputError

        raise InputError(f"must be one of {' | '.join(allowed)}, got {fmt!r}", field="--format")
    return fmt


@dataclass
class TextTable:
    """A table of plain strings, printed as a rich table, aligned text, TSV or JSON.

    ``numeric`` columns are right-aligned and never wrapped, so a number is always printed
    whole (nor is the first column, the row's name); ``bold`` rows (totals) are emphasised in the
    rich table only.
    """

    title: str
    columns: list[str]
    numeric: frozenset[str] = frozenset()
    rows: list[list[str]] = field(default_factory=list)
    bold: set[int] = field(default_factory=set)

    def add_row(self, *cells: object, bold: bool = False) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        if bold:
            self.bold.add(len(self.rows))
        self.rows.append(["" if c is None else str(c) for c in cells])

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]

    def plain(self) -> str:
        """Aligned text: the title, a header, and one line per row (nothing wrapped)."""
        cells = [self.columns, *self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]

        def line(r: list[str]) -> str:
            out = [
                c.rjust(w) if name in self.numeric else c.ljust(w)
                for c, w, name in zip(r, widths, self.columns, strict=True)
            ]
            return "  ".join(out).rstrip()

        rule = "  ".join("-" * w for w in widths)
        return "\n".join([self.title, line(self.columns), rule, *map(line, self.rows)]) + "\n"

    def tsv(self) -> str:
        def clean(c: str) -> str:
            return c.replace("\t", " ").replace("\n", " ")

        return "".join("\t".join(map(clean, r)) + "\n" for r in [self.columns, *self.rows])

    def rich(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        t = Table(title=self.title)
        for i, name in enumerate(self.columns):
            if name in self.numeric:
                t.add_column(name, justify="right", no_wrap=True)
            elif i == 0:  # the row's name: whole words, never folded mid-identifier
                t.add_column(name, no_wrap=True)
            else:
                t.add_column(name, overflow="fold")
        for i, r in enumerate(self.rows):
            t.add_row(*(Text(c) for c in r), style="bold" if i in self.bold else None)
        return t


def print_table(table: TextTable, fmt: str = "auto") -> None:
    """Print ``table`` in ``fmt`` (auto | table | tsv | json) on stdout."""
    if fmt == "auto":
        fmt = "table" if console.is_terminal else "plain"
    if fmt == "json":
        print_json(table.records())
    elif fmt == "tsv":
        sys.stdout.write(table.tsv())
    elif fmt == "plain":
        sys.stdout.write(table.plain())
    else:
        console.print(table.rich())


def say(text: str) -> None:
    """Print a line of text as is: no markup, no highlighting, no wrapping inside words
    when stdout is redirected."""
    if console.is_terminal:
        console.print(text, markup=False, highlight=False)
    else:
        sys.stdout.write(text + "\n")
