"""Compact storage of per-event footprints: shared context once, per-event numbers as columns.

A footprint that the service computes for each ingested event differs from its neighbours
only in a few numbers: the event's id, times, energy and attribution method, and the grid
intensity (value, low, high) on each basis.  Everything else - the calculator, the factor
versions, PUE, T&D losses, operating model, region, the signals' sources and labels, the line
items' names, labels and scopes - is shared by every event of a region under one accounting
configuration.  Writing all of it with every event (a ~2.4 KB JSON text, three line items and
up to three totals per event) dominated the cost of ingest.  This layout stores it once:

``footprint_contexts``
    ``context_id`` (``ctx_`` + 32 hex digits of the SHA-256 of the context's canonical JSON,
    so the same context is stored once however often it is sent), ``calculator``,
    ``factor_versions_json``, and ``inputs_template``: the canonical JSON of the footprint's
    inputs in which every per-event value is a *slot* (a string made of ``\\x01`` and the
    slot's name, written ``"\\u0001energy_j"`` in canonical JSON, which no other text of the
    template can contain: :func:`make_template` refuses control characters).
``footprint_context_items``
    the line items of a context, in order: ``name``, ``basis`` (location, market or
    marginal: a compact footprint has at most one line per basis, and its total on that
    basis is that line), ``label``, ``scope``, ``in_total``, ``present`` (false: the line is
    excluded, zero, e.g. no marginal signal), and the line's source text as
    ``source_prefix`` + the event's attribution method + ``source_suffix`` (no suffix: the
    prefix alone).
``event_footprints``
    one row per footprint: ``footprint_id``, ``tenant``, ``event_id``, ``context_id``,
    period and computation times, ``energy_j`` and ``facility_j`` (energy x PUE x (1 + T&D
    losses), the energy of each present line), ``attribution_method``, per basis the
    intensity (``<basis>_g_per_kwh``, ``_low_``, ``_high_``) and the emissions
    (``<basis>_g``, ``_low_g``, ``_high_g``), null where the basis is absent, and
    ``inputs_hash``.

Nothing about the audit trail changes: a compact footprint has the same inputs, factor
versions, ``inputs_hash`` (SHA-256 of the canonical JSON ``{"factor_versions": ...,
"inputs": ...}``), ``footprint_id`` and figures as the same footprint stored in the general
layout (``footprints`` + ``footprint_items`` + ``footprint_totals``).  The inputs are the
template with each slot replaced by the row's value in canonical JSON (:func:`render_inputs`,
the same code at ingest, where it feeds the hash, and on every read), and the store's views
``all_footprints``, ``all_footprint_items`` and ``all_footprint_totals`` (:func:`view_sql`)
show both layouts as one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import EventValidationError, InputError, LedgerError, Problem
from infercarbon.ledger.canonical import (
    _array,
    _sha256_hex,
    canonical_json,
    json_number,
    json_string,
    json_time,
)
from infercarbon.ledger.records import (
    FootprintFigures,
    FootprintRecord,
    LineItemRecord,
    TotalRecord,
)
from infercarbon.ledger.schema import FOOTPRINTS, TS, Column, TableSpec, _s, conform_tables
from infercarbon.ledger.validation import _bad_indices, validate_rows

__all__ = [
    "BASES",
    "CONTEXT_ITEMS",
    "EVENT_FOOTPRINTS",
    "FOOTPRINT_CONTEXTS",
    "STORAGE_TABLES",
    "ContextItem",
    "EventFootprintBatch",
    "FootprintContext",
    "build_event_footprints",
    "inputs_sql",
    "make_template",
    "record_from_compact",
    "records_from_compact",
    "render_inputs",
    "slot",
    "view_sql",
]

#: The bases a compact footprint can have, one line each.
BASES: tuple[str, ...] = ("location", "market", "marginal")
_F = pa.float64()

FOOTPRINT_CONTEXTS = TableSpec(
    "footprint_contexts",
    "footprint_contexts",
    (_s("context_id"), _s("calculator"), _s("factor_versions_json"), _s("inputs_template")),
    key=("context_id",),
)

CONTEXT_ITEMS = TableSpec(
    "footprint_context_items",
    "footprint_context_items",
    (
        _s("context_id"),
        Column("position", pa.int64()),
        _s("name"),
        _s("basis"),
        _s("label"),
        _s("scope"),
        Column("in_total", pa.bool_()),
        Column("present", pa.bool_()),
        _s("source_prefix"),
        _s("source_suffix", False),
        # version 3: the line's columns in event_footprints (<line_column>_g, _low_g,
        # _high_g); null: the basis's columns (the operational line of version 2)
        _s("line_column", False),
    ),
    key=("context_id", "position"),
    ingested=False,
)

_PER_BASIS = [
    (f"{b}_{suffix}", b)
    for b in BASES
    for suffix in ("g_per_kwh", "low_g_per_kwh", "high_g_per_kwh", "g", "low_g", "high_g")
]
#: Line columns besides the operational line of each basis (which uses the basis's columns).
LINE_COLUMNS: tuple[str, ...] = (
    "idle_location",
    "idle_market",
    "idle_marginal",
    "embodied",
    "network",
)
#: The energy each line's ``energy_j`` shows: facility energy of the operational lines, the
#: attributed idle energy at the facility, the network's energy.
LINE_ENERGY: dict[str, str] = {
    **{b: "facility_j" for b in BASES},
    **{f"idle_{b}": "idle_facility_j" for b in BASES},
    "network": "network_j",
}
#: Per-event numbers of schema version 3 (null in rows written before it).
V3_NUMBERS: tuple[str, ...] = (
    "energy_low_j",
    "energy_high_j",
    "payload_bytes",
    "price_per_kwh",
    "idle_attributed_j",
    "idle_unattributed_j",
    "idle_facility_j",
    "network_j",
    *(f"{c}_{s}" for c in LINE_COLUMNS for s in ("g", "low_g", "high_g")),
    *(f"total_{b}_{s}" for b in BASES for s in ("g", "low_g", "high_g")),
    "energy_cost",
)

EVENT_FOOTPRINTS = TableSpec(
    "event_footprints",
    "event_footprints",
    (
        _s("footprint_id"),
        _s("tenant"),
        _s("event_id"),
        _s("context_id"),
        Column("period_start_utc", TS),
        Column("period_end_utc", TS),
        Column("computed_utc", TS),
        Column("energy_j", _F, check="nonneg"),
        Column("facility_j", _F, check="nonneg"),
        _s("attribution_method"),
        *(Column(name, _F, False, "nonneg") for name, _ in _PER_BASIS),
        _s("inputs_hash"),
        *(Column(name, _F, False, "nonneg") for name in V3_NUMBERS),
        _s("supersedes", False),
        # the currency of energy_cost (the profile's; null where no price is configured)
        _s("currency", False),
    ),
    key=("footprint_id",),
)


def same_event(a: str, b: str) -> str:
    """SQL join condition: rows ``a`` and ``b`` (each with ``tenant`` and ``event_id``) are of
    the same event; an event id names an event within its tenant (schema version 6).

    >>> same_event("f", "e")
    'f.event_id = e.event_id AND f.tenant = e.tenant'
    """
    return f"{a}.event_id = {b}.event_id AND {a}.tenant = {b}.tenant"


def live_event(alias: str = "events") -> str:
    """SQL condition: the event of row ``alias`` (a row with ``tenant`` and ``event_id``) has
    not been corrected by a later event of its tenant (event ids are per tenant)."""
    return (
        f"NOT EXISTS (SELECT 1 FROM events c_ WHERE c_.supersedes IS NOT NULL "
        f"AND c_.supersedes = {alias}.event_id AND c_.tenant = {alias}.tenant)"
    )  # a correction names an id of its tenant; the explicit IS NOT NULL lets DuckDB skip
    # the row groups that hold no correction by their null counts (10.9M events, the newest
    # 200: 73 -> 41 ms)


#: SQL subquery: every footprint a later one supersedes, in either layout (a footprint is live
#: when its id is ``NOT IN`` it).
SUPERSEDED_FOOTPRINTS = (
    "(SELECT supersedes FROM footprints WHERE supersedes IS NOT NULL "
    "UNION ALL SELECT supersedes FROM event_footprints "
    "WHERE supersedes IS NOT NULL)"
)


#: The physical tables of this layout, created with the ledger's other tables.
STORAGE_TABLES: tuple[TableSpec, ...] = (FOOTPRINT_CONTEXTS, CONTEXT_ITEMS, EVENT_FOOTPRINTS)

# ------------------------------------------------------------------------------- slots
_MARK = "\x01"
#: slot name -> (column of event_footprints, how its value is written in JSON)
SLOTS: dict[str, tuple[str, str]] = {
    "event_id": ("event_id", "string"),
    "energy_j": ("energy_j", "number"),
    "attribution_method": ("attribution_method", "string"),
    "start_utc": ("period_start_utc", "time"),
    "end_utc": ("period_end_utc", "time"),
    "energy_low_j": ("energy_low_j", "number"),
    "energy_high_j": ("energy_high_j", "number"),
    "payload_bytes": ("payload_bytes", "number"),
    "price_per_kwh": ("price_per_kwh", "number"),
    "idle_measured.attributed_j": ("idle_attributed_j", "number"),
    "idle_measured.unattributed_j": ("idle_unattributed_j", "number"),
    **{
        f"{b}.{w}": (f"{b}_{col}", "number")
        for b in BASES
        for w, col in (("value", "g_per_kwh"), ("low", "low_g_per_kwh"), ("high", "high_g_per_kwh"))
    },
}
_SLOT_RE = re.compile(r'"\\u0001([a-z_.]+)"')
_CONTROL = re.compile(r"\\u00[01][0-9a-f]")


def slot(name: str) -> str:
    """The placeholder to put in a context's inputs where each event has its own value."""
    if name not in SLOTS:
        raise InputError(f"unknown slot {name!r}; slots: {', '.join(SLOTS)}", field="slot")
    return _MARK + name


def make_template(inputs: Mapping[str, Any]) -> str:
    """The canonical JSON of ``inputs`` (with :func:`slot` placeholders); refuses any other
    control character, so a slot's text cannot occur by accident, and a slot used twice."""
    text = canonical_json(inputs)
    names = _SLOT_RE.findall(text)
    if len(set(names)) != len(names):
        raise InputError("a slot appears twice in the inputs", field="inputs")
    unknown = sorted(set(names) - set(SLOTS))
    if unknown:
        raise InputError(f"unknown slot(s) {', '.join(unknown)}", field="inputs")
    if _CONTROL.search(_SLOT_RE.sub("", text)):
        raise InputError("inputs must not contain control characters", field="inputs")
    return text


def _pieces(template: str) -> tuple[list[str], list[str]]:
    """(texts between slots, slot names): template = t0 s0 t1 s1 ... tn."""
    parts = _SLOT_RE.split(template)
    return parts[0::2], parts[1::2]


@dataclass(frozen=True, slots=True)
class ContextItem:
    """One line of a compact footprint (see the module docstring)."""

    name: str
    basis: str
    label: str
    scope: str
    in_total: bool
    present: bool
    source_prefix: str
    source_suffix: str | None = None
    #: the line's columns (``<column>_g`` ...); None: the basis's (the operational line)
    column: str | None = None

    @property
    def line_column(self) -> str:
        return self.column or self.basis

    def source(self, attribution_method: str) -> str:
        if self.source_suffix is None:
            return self.source_prefix
        return self.source_prefix + attribution_method + self.source_suffix


@dataclass(frozen=True)
class FootprintContext:
    """What the footprints of many events share: calculator, versions, inputs template and
    line items.  ``inputs`` holds :func:`slot` placeholders where each event differs."""

    calculator: str
    factor_versions: Mapping[str, str]
    inputs: Mapping[str, Any]
    items: tuple[ContextItem, ...]
    template: str = field(init=False)
    versions_json: str = field(init=False)
    context_id: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.calculator:
            raise InputError("must be a non-empty string", field="calculator")
        cols = [it.line_column for it in self.items]
        known = {*BASES, *LINE_COLUMNS}
        if (
            len(set(cols)) != len(cols)
            or not {it.line_column for it in self.items if it.present} <= known
        ):
            raise InputError(
                f"items need distinct columns among {', '.join(sorted(known))}, got {cols}",
                field="items",
            )
        if not {it.basis for it in self.items} <= {*BASES, "both"}:
            raise InputError(f"item bases must be among {', '.join(BASES)} or both", field="items")
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "template", make_template(self.inputs))
        versions = {str(k): str(v) for k, v in self.factor_versions.items()}
        object.__setattr__(self, "versions_json", canonical_json(versions))
        object.__setattr__(
            self,
            "context_id",
            _context_id(
                self.calculator,
                self.versions_json,
                self.template,
                [_item_dict(it) for it in self.items],
            ),
        )


def _item_dict(it: ContextItem | Mapping[str, Any]) -> dict[str, Any]:
    """An item as hashed into its context id (``column`` only where set, so version-2
    contexts keep their ids)."""
    if isinstance(it, Mapping):
        out = {k: it.get(k) for k in _ITEM_KEYS}
        col = it.get("line_column", it.get("column"))
    else:
        out = {k: getattr(it, k) for k in _ITEM_KEYS}
        col = it.column
    if col is not None:
        out["column"] = col
    return out


_ITEM_KEYS = (
    "name",
    "basis",
    "label",
    "scope",
    "in_total",
    "present",
    "source_prefix",
    "source_suffix",
)


def _item_row(it: ContextItem) -> dict[str, Any]:
    """An item as a ``footprint_context_items`` row (without context id and position)."""
    return {**{k: getattr(it, k) for k in _ITEM_KEYS}, "line_column": it.column}


def _context_item(row: Mapping[str, Any]) -> ContextItem:
    return ContextItem(**{k: row[k] for k in _ITEM_KEYS}, column=row.get("line_column"))


def _context_id(
    calculator: str, versions_json: str, template: str, items: list[dict[str, Any]]
) -> str:
    doc = canonical_json(
        {
            "calculator": calculator,
            "factor_versions": json.loads(versions_json),
            "inputs_template": template,
            "items": items,
        }
    )
    return "ctx_" + hashlib.sha256(doc.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------- render
def _number_texts(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """:func:`json_number` of a column; a column of few distinct values (a grid intensity is
    shared by the events of a region and hour) is encoded once per distinct value."""
    arr = _array(values)
    codes = arr.dictionary_encode()
    if len(codes.dictionary) * 4 > len(arr):
        return json_number(arr)
    return json_number(codes.dictionary).take(codes.indices)


def _slot_texts(rows: pa.Table, names: Sequence[str]) -> dict[str, pa.Array]:
    enc = {"string": json_string, "number": _number_texts, "time": json_time}
    out = {}
    for name in names:
        col, how = SLOTS[name]
        out[name] = enc[how](rows.column(col))
    return out


def _comparable(values: pa.ChunkedArray | pa.Array, how: str) -> npt.NDArray[Any]:
    """A numpy array whose equal entries are equal values (nulls equal to each other)."""
    arr = _array(values)
    if how == "number":
        return np.asarray(
            pc.fill_null(arr.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False), dtype=float
        ).view(np.int64)
    if how == "time":
        return np.asarray(
            pc.fill_null(arr.cast(pa.int64()), -(2**63)).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
    return np.asarray(
        pc.fill_null(arr.dictionary_encode().indices, -1).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )


def _encode_few(values: pa.Array | pa.ChunkedArray, how: str, name: str) -> list[str]:
    """The JSON texts of a few values (one per context), as :func:`json_number`,
    :func:`json_string` and :func:`json_time` write them (cheaper than their vectorised
    path for a handful of values)."""
    try:
        return [
            "null" if v is None else canonical_json(float(v) if how == "number" else v)
            for v in values.to_pylist()
        ]
    except InputError as exc:
        raise InputError(str(exc), field=f"inputs.{name}") from None


def _bake(
    pieces: tuple[list[str], list[str]], fixed: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """A template's pieces with the slots of ``fixed`` (slot -> text) written in."""
    texts, names = pieces
    out_t, out_n = [texts[0]], []
    for name, after in zip(names, texts[1:], strict=True):
        if name in fixed:
            out_t[-1] += fixed[name] + after
        else:
            out_n.append(name)
            out_t.append(after)
    return out_t, out_n


def render_inputs(rows: pa.Table, templates: Mapping[str, str]) -> pa.Array:
    """The canonical inputs text of each row of ``rows`` (``event_footprints`` columns):
    its context's template (``templates``: context_id -> template) with every slot filled.

    Vectorised: a slot whose value is the same in every row of each context using it (a
    grid intensity, price or attribution method shared by a context's events, as is usual)
    is encoded once per context and written into its text; the other slots are encoded per
    row and joined with one string join per set of contexts with the same slots.  Raises
    LedgerError when a row's context is unknown or a slot's value is null."""
    n = rows.num_rows
    if n == 0:
        return pa.array([], pa.string())
    ctx = _array(rows.column("context_id")).dictionary_encode()
    keys = ctx.dictionary.to_pylist()
    missing = [k for k in keys if k not in templates]
    if missing:
        raise LedgerError(f"event_footprints name unknown context(s) {missing[:3]}")
    index = np.asarray(ctx.indices.to_numpy(zero_copy_only=False))
    parsed = {k: _pieces(templates[k]) for k in keys}
    names = {s for k in keys for s in parsed[k][1]}
    first = np.zeros(len(keys), dtype=np.intp)
    first[index[::-1]] = np.arange(n - 1, -1, -1)
    fixed: dict[str, dict[str, str]] = {k: {} for k in keys}
    for name in sorted(names):
        col_name, how = SLOTS[name]
        col = rows.column(col_name)
        used = np.asarray([name in parsed[k][1] for k in keys])
        in_use = used[index]
        if col.null_count and pc.any(pc.is_null(col.filter(pa.array(in_use)))).as_py():
            raise LedgerError(
                f"event_footprints: slot {name!r} has no value in a row whose context uses it"
            )
        values = _comparable(col, how)
        if np.array_equal(values[in_use], values[first[index]][in_use]):
            texts_ = _encode_few(col.take(pa.array(first)), how, name)
            for j in np.flatnonzero(used).tolist():
                fixed[keys[j]][name] = texts_[j]
    parsed = {k: _bake(parsed[k], fixed[k]) for k in keys}
    names = {s for k in keys for s in parsed[k][1]}
    texts = _slot_texts(rows, sorted(names))
    # contexts whose templates have the same slots in the same order (usually all of a
    # batch's) are joined together: the texts between slots are taken per row by context
    groups: dict[tuple[str, ...], list[int]] = {}
    for j, k in enumerate(keys):
        groups.setdefault(tuple(parsed[k][1]), []).append(j)
    parts: list[pa.Array] = []
    order: list[npt.NDArray[np.intp]] = []
    for slots_, members in groups.items():
        if len(groups) == 1:
            idx, local = np.arange(n), index
        else:
            idx = np.flatnonzero(np.isin(index, members))
            local = index[idx]
        code = np.full(len(keys), -1, dtype=np.intp)
        code[members] = np.arange(len(members))
        pick = pa.array(code[local])
        between = [
            pa.array([parsed[keys[j]][0][i] for j in members], pa.string()).take(pick)
            for i in range(len(slots_) + 1)
        ]
        if not slots_:
            parts.append(between[0])
        else:
            rows_ = None if len(groups) == 1 else pa.array(idx)
            args: list[Any] = [between[0]]
            for i, s_ in enumerate(slots_):
                args += [texts[s_] if rows_ is None else texts[s_].take(rows_), between[i + 1]]
            parts.append(pc.binary_join_element_wise(*args, ""))
        order.append(idx)
    if len(parts) == 1:
        return parts[0]
    joined = pa.concat_arrays(parts)
    inverse = np.empty(n, dtype=np.intp)
    inverse[np.concatenate(order)] = np.arange(n)
    return joined.take(pa.array(inverse))


# ------------------------------------------------------------------------------ batch
@dataclass(frozen=True)
class EventFootprintBatch:
    """Compact footprints of a batch of events: ``contexts``, their ``context_items`` and the
    ``footprints`` rows (the three tables of this layout).  Build one with
    :func:`build_event_footprints`."""

    contexts: pa.Table
    context_items: pa.Table
    footprints: pa.Table
    #: True when the builder computed every id and hash itself (check() skips them)
    checked: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        conform_tables(
            self,
            (
                ("contexts", FOOTPRINT_CONTEXTS),
                ("context_items", CONTEXT_ITEMS),
                ("footprints", EVENT_FOOTPRINTS),
            ),
        )

    @property
    def num_rows(self) -> int:
        return int(self.footprints.num_rows)

    def calculators(self) -> pa.Array:
        """The calculator of each footprint row."""
        ctx = self.contexts
        pos = pc.index_in(self.footprints.column("context_id"), value_set=ctx.column("context_id"))
        return ctx.column("calculator").combine_chunks().take(pos)

    def filter(self, keep: npt.ArrayLike) -> EventFootprintBatch:
        """The footprint rows where ``keep``, with the contexts they use."""
        mask = np.asarray(keep, dtype=bool)
        if mask.all():
            return self
        fp = self.footprints.filter(pa.array(mask))
        used = pc.unique(fp.column("context_id"))
        return EventFootprintBatch(
            self.contexts.filter(pc.is_in(self.contexts.column("context_id"), value_set=used)),
            self.context_items.filter(
                pc.is_in(self.context_items.column("context_id"), value_set=used)
            ),
            fp,
            checked=self.checked,
        )

    def templates(self) -> dict[str, str]:
        return _templates(self.contexts)

    def check(self) -> None:
        """Vectorised checks; raise EventValidationError naming row and field.

        Column types and constraints, every footprint's context in the batch, every context
        id, ``inputs_hash`` and ``footprint_id`` recomputed from the content.  A batch made by
        :func:`build_event_footprints` (``checked``) passes as it is: the builder computed
        the ids and hashes from the content, from validated events."""
        if self.checked:
            return
        fp = validate_rows(EVENT_FOOTPRINTS, self.footprints)
        ctx = validate_rows(FOOTPRINT_CONTEXTS, self.contexts)
        items = validate_rows(CONTEXT_ITEMS, self.context_items)
        problems: list[Problem] = []
        unknown = pc.invert(pc.is_in(fp.column("context_id"), value_set=ctx.column("context_id")))
        problems.extend(
            Problem(i, "context_id", "is not a context of this batch")
            for i in _bad_indices(unknown)
        )
        bad_end = pc.less(fp.column("period_end_utc"), fp.column("period_start_utc"))
        problems.extend(
            Problem(i, "period_end_utc", "must not be before period_start_utc")
            for i in _bad_indices(bad_end)
        )
        if problems:
            raise EventValidationError("event_footprints", problems[:200])
        by_ctx = _items_by_context(items)
        for i, c in enumerate(ctx.to_pylist()):
            try:
                make_template(json.loads(c["inputs_template"]))
                want = _context_id(
                    c["calculator"],
                    c["factor_versions_json"],
                    c["inputs_template"],
                    [_item_dict(it) for it in by_ctx.get(c["context_id"], [])],
                )
            except (InputError, ValueError) as exc:
                raise EventValidationError(
                    "footprint_contexts", [Problem(i, "inputs_template", str(exc))]
                ) from None
            if want != c["context_id"]:
                raise EventValidationError(
                    "footprint_contexts",
                    [Problem(i, "context_id", "does not match the context's content")],
                )
        h, fid = _hashes(
            fp,
            self.templates(),
            dict(
                zip(
                    ctx.column("context_id").to_pylist(),
                    ctx.column("factor_versions_json").to_pylist(),
                    strict=True,
                )
            ),
        )
        for name, got in (("inputs_hash", h), ("footprint_id", fid)):
            problems.extend(
                Problem(i, name, "does not match the inputs and factor versions")
                for i in _bad_indices(pc.not_equal(got, fp.column(name)))
            )
        if problems:
            raise EventValidationError("event_footprints", problems[:200])


def _templates(contexts: pa.Table) -> dict[str, str]:
    """context_id -> inputs template, from a ``footprint_contexts`` table."""
    return dict(
        zip(
            contexts.column("context_id").to_pylist(),
            contexts.column("inputs_template").to_pylist(),
            strict=True,
        )
    )


def _items_by_context(items: pa.Table) -> dict[str, list[dict[str, Any]]]:
    """context_id -> its line items (``footprint_context_items`` rows) in position order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for it in items.sort_by([("context_id", "ascending"), ("position", "ascending")]).to_pylist():
        out.setdefault(it["context_id"], []).append(it)
    return out


def _sha256_continued(
    states: Sequence[Any], index: npt.NDArray[np.intp], texts: pa.Array
) -> list[str]:
    """Hex SHA-256 of ``prefix[index[i]] + texts[i]`` per row, continuing each row from a
    copy of its prefix's hash state (read straight from the Arrow buffers)."""
    arr = _array(texts).cast(pa.large_string())
    n = len(arr)
    if n == 0:
        return []
    offsets = np.frombuffer(
        arr.buffers()[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8
    ).tolist()
    data = memoryview(arr.buffers()[2] or b"")
    out = []
    for j, a, b in zip(index.tolist(), offsets[:-1], offsets[1:], strict=True):
        h = states[j].copy()
        h.update(data[a:b])
        out.append(h.hexdigest())
    return out


def _hashes(
    rows: pa.Table, templates: Mapping[str, str], versions: Mapping[str, str]
) -> tuple[pa.Array, pa.Array]:
    """(inputs_hash, footprint_id) of each row, as FootprintRecord.create computes them.

    The hashed text is ``{"factor_versions":<versions>,"inputs":<inputs>}``.  Everything
    before a context's first slot is the same for all its rows: it is hashed once per
    context and each row's hash continues from a copy of that state with the rest of its
    text (the same digest as hashing the whole text; a template whose shared part sorts
    first, as the service's ``assumptions`` does, leaves little per row to render and
    hash)."""
    prefix: dict[str, str] = {}
    rest: dict[str, str] = {}
    for k, t in templates.items():
        m = _SLOT_RE.search(t)
        cut = m.start() if m else len(t)
        prefix[k] = '{"factor_versions":' + versions[k] + ',"inputs":' + t[:cut]
        rest[k] = t[cut:]
    tails = render_inputs(rows, rest)
    ctx = _array(rows.column("context_id")).dictionary_encode()
    keys = ctx.dictionary.to_pylist()
    states = [hashlib.sha256(prefix[k].encode()) for k in keys]
    h = pa.array(
        _sha256_continued(
            states,
            np.asarray(ctx.indices.to_numpy(zero_copy_only=False), dtype=np.intp),
            pc.binary_join_element_wise(tails, "}", ""),
        ),
        pa.string(),
    )
    sup = (
        json_string(rows.column("supersedes"))
        if "supersedes" in rows.column_names
        else pa.repeat(pa.scalar("null"), rows.num_rows)
    )
    subject = pc.binary_join_element_wise(
        "[",
        json_string(rows.column("event_id")),
        ",null,",
        json_string(rows.column("tenant")),
        ',"',
        h,
        '",',
        sup,
        "]",
        "",
    )
    fid = pc.binary_join_element_wise(
        "fp_", pc.utf8_slice_codeunits(pa.array(_sha256_hex(subject), pa.string()), 0, 32), ""
    )
    return h, fid


def build_event_footprints(
    contexts: Sequence[FootprintContext],
    context_index: npt.ArrayLike,
    *,
    tenant: pa.Array | pa.ChunkedArray,
    event_id: pa.Array | pa.ChunkedArray,
    period_start_utc: pa.Array | pa.ChunkedArray,
    period_end_utc: pa.Array | pa.ChunkedArray,
    computed_utc: datetime,
    energy_j: npt.ArrayLike | pa.Array | pa.ChunkedArray,
    facility_j: npt.ArrayLike,
    attribution_method: pa.Array | pa.ChunkedArray,
    intensity: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]],
    grams: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]],
    lines: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]] | None = None,
    numbers: Mapping[str, npt.ArrayLike] | None = None,
    supersedes: pa.Array | pa.ChunkedArray | None = None,
    currency: Sequence[str | None] | None = None,
) -> EventFootprintBatch:
    """Compact footprints of a batch (row ``i`` uses ``contexts[context_index[i]]``).

    ``intensity[basis]`` = (value, low, high) [g/kWh] and ``grams[basis]`` = (central, low,
    high) [g] of the operational line, arrays over the rows; a basis a row's context marks
    absent is stored as null.  ``lines[column]`` = (central, low, high) [g] of the other
    lines (:data:`LINE_COLUMNS`), null where the row's context has no such present line;
    ``numbers`` the other per-event numbers (:data:`V3_NUMBERS`: energy band, idle energy,
    totals, cost...; NaN is stored as null); ``supersedes`` the footprint each row corrects.
    Computes each row's inputs text (:func:`render_inputs`), ``inputs_hash`` and
    ``footprint_id`` exactly as :meth:`FootprintRecord.create` would for the same inputs."""
    n = len(tenant)
    if computed_utc.utcoffset() is None:
        raise InputError("must be a timezone-aware datetime", field="computed_utc")
    cidx = np.asarray(context_index, dtype=np.intp)
    if cidx.shape != (n,) or (n and (cidx.min() < 0 or cidx.max() >= len(contexts))):
        raise InputError("one context index per row, each naming a context", field="contexts")
    ids = [c.context_id for c in contexts]
    take = pa.array(cidx)
    cols: dict[str, Any] = {
        "footprint_id": pa.nulls(n, pa.string()),
        "tenant": _array(tenant),
        "event_id": _array(event_id),
        "context_id": pa.array(ids, pa.string()).take(take),
        "period_start_utc": _array(period_start_utc).cast(TS),
        "period_end_utc": _array(period_end_utc).cast(TS),
        "computed_utc": pa.repeat(pa.scalar(computed_utc.astimezone(UTC), TS), n),
        "energy_j": pa.array(np.asarray(energy_j, dtype=float), _F)
        if not isinstance(energy_j, pa.Array | pa.ChunkedArray)
        else _array(energy_j).cast(_F),
        "facility_j": pa.array(np.asarray(facility_j, dtype=float), _F),
        "attribution_method": _array(attribution_method),
    }
    for b in BASES:
        present = (
            np.asarray(
                [any(it.basis == b and it.present for it in c.items) for c in contexts], dtype=bool
            )[cidx]
            if n
            else np.zeros(0, bool)
        )
        for given, suffixes in (
            (intensity.get(b), ("g_per_kwh", "low_g_per_kwh", "high_g_per_kwh")),
            (grams.get(b), ("g", "low_g", "high_g")),
        ):
            if given is None and present.any():
                raise InputError(f"a context has a {b} line but no {b} values were given", field=b)
            for suffix, values in zip(suffixes, given or (None, None, None), strict=True):
                cols[f"{b}_{suffix}"] = (
                    pa.nulls(n, _F)
                    if values is None
                    else pa.array(np.asarray(values, dtype=float), _F, mask=~present)
                )
    cols["inputs_hash"] = pa.nulls(n, pa.string())
    extra: dict[str, Any] = dict(numbers or {})
    for c in LINE_COLUMNS:
        present = (
            np.asarray(
                [any(it.line_column == c and it.present for it in ctx.items) for ctx in contexts],
                dtype=bool,
            )[cidx]
            if n
            else np.zeros(0, bool)
        )
        vals = (lines or {}).get(c)
        if vals is None and present.any():
            raise InputError(f"a context has a {c} line but no {c} values were given", field=c)
        for suffix, v in zip(("g", "low_g", "high_g"), vals or (None, None, None), strict=True):
            extra[f"{c}_{suffix}"] = v if v is None else np.where(present, v, np.nan)
    for name in V3_NUMBERS:
        x = extra.get(name)
        if x is None:
            cols[name] = pa.nulls(n, _F)
        else:
            a = np.asarray(x, dtype=float)
            cols[name] = pa.array(a, _F, mask=~np.isfinite(a))
    cols["supersedes"] = (
        pa.nulls(n, pa.string()) if supersedes is None else _array(supersedes).cast(pa.string())
    )
    # currency per context (``currency[k]`` for ``contexts[k]``), null where no cost
    cur = pa.array(list(currency) if currency is not None else [None] * len(contexts), pa.string())
    cols["currency"] = cur.take(take) if n else pa.nulls(0, pa.string())
    if "energy_cost" in cols:
        cols["currency"] = pc.if_else(
            pc.is_valid(cols["energy_cost"]), cols["currency"], pa.scalar(None, pa.string())
        )
    rows = pa.table(cols, schema=EVENT_FOOTPRINTS.arrow_schema)
    templates = {c.context_id: c.template for c in contexts}
    h, fid = _hashes(rows, templates, {c.context_id: c.versions_json for c in contexts})
    rows = rows.set_column(0, "footprint_id", fid).set_column(
        rows.schema.get_field_index("inputs_hash"), "inputs_hash", h
    )
    uniq = list(dict.fromkeys(ids))
    by_id = {c.context_id: c for c in contexts}
    ctx = pa.table(
        {
            "context_id": uniq,
            "calculator": [by_id[k].calculator for k in uniq],
            "factor_versions_json": [by_id[k].versions_json for k in uniq],
            "inputs_template": [by_id[k].template for k in uniq],
        },
        schema=FOOTPRINT_CONTEXTS.arrow_schema,
    )
    items = pa.Table.from_pylist(
        [
            {"context_id": k, "position": p, **_item_row(it)}
            for k in uniq
            for p, it in enumerate(by_id[k].items)
        ],
        schema=CONTEXT_ITEMS.arrow_schema,
    )
    return EventFootprintBatch(ctx, items, rows, checked=True)


# ------------------------------------------------------------------------------- read
def record_from_compact(
    row: Mapping[str, Any],
    context: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    *,
    inputs_text: str | None = None,
) -> FootprintRecord:
    """The :class:`FootprintRecord` of one ``event_footprints`` row (with ``ingested_utc``),
    its context row and its context's items (in position order).  ``inputs_text``: the row's
    rendered inputs when the caller rendered a whole page at once (:func:`records_from_compact`)."""
    text = inputs_text
    if text is None:
        one = pa.Table.from_pylist(
            [{k: row[k] for k in EVENT_FOOTPRINTS.names}], schema=EVENT_FOOTPRINTS.arrow_schema
        )
        text = render_inputs(one, {context["context_id"]: context["inputs_template"]})[0].as_py()
    lines: list[LineItemRecord] = []
    totals: dict[str, TotalRecord] = {}
    for it in items:
        ci = _context_item(it)
        col = ci.line_column
        g, lo, hi = ((row[f"{col}_{s}"] if ci.present else 0.0) for s in ("g", "low_g", "high_g"))
        energy = row.get(LINE_ENERGY.get(col, ""), None) if ci.present else None
        lines.append(
            LineItemRecord(
                name=ci.name,
                emissions_g=g,
                low_g=lo,
                high_g=hi,
                label=ci.label,
                source=ci.source(row["attribution_method"]),
                scope=ci.scope,
                in_total=ci.in_total,
                basis=ci.basis,
                p50_g=None,
                energy_j=energy,
            )
        )
        if ci.present and col in BASES:
            b = col
            if row.get(f"total_{b}_g") is not None:
                totals[b] = TotalRecord(
                    value_g=row[f"total_{b}_g"],
                    low_g=row[f"total_{b}_low_g"],
                    high_g=row[f"total_{b}_high_g"],
                )
            else:  # version 2: the operational line is the total
                totals[b] = TotalRecord(value_g=g, low_g=lo, high_g=hi)
    return FootprintRecord(
        footprint_id=row["footprint_id"],
        tenant=row["tenant"],
        event_id=row["event_id"],
        aggregate_key=None,
        period_start_utc=row["period_start_utc"],
        period_end_utc=row["period_end_utc"],
        computed_utc=row["computed_utc"],
        calculator=context["calculator"],
        factor_versions=json.loads(context["factor_versions_json"]),
        inputs=json.loads(text),
        inputs_hash=row["inputs_hash"],
        figures=FootprintFigures(energy_j=row["energy_j"], line_items=tuple(lines), totals=totals),
        supersedes=row.get("supersedes"),
        ingested_utc=row.get("ingested_utc"),
    )


def records_from_compact(
    rows: pa.Table, contexts: pa.Table, items: pa.Table
) -> list[FootprintRecord]:
    """The records of a page of ``event_footprints`` rows (with ``ingested_utc``), given every
    context they use and those contexts' items: inputs rendered for the page at once."""
    by_ctx = {r["context_id"]: r for r in contexts.to_pylist()}
    lines = _items_by_context(items)
    texts = render_inputs(rows, _templates(contexts)).to_pylist()
    return [
        record_from_compact(
            r, by_ctx[r["context_id"]], lines.get(r["context_id"], []), inputs_text=t
        )
        for r, t in zip(rows.to_pylist(), texts, strict=True)
    ]


def compact_footprint_rows(rows: pa.Table, contexts: pa.Table) -> pa.Table:
    """``rows`` (``event_footprints`` with ``ingested_utc``) in the ``footprints`` layout,
    given the contexts they use: the canonical inputs text rendered, no record hash (a
    compact row has none)."""
    pos = pc.index_in(rows.column("context_id"), value_set=contexts.column("context_id"))
    n = rows.num_rows
    return pa.table(
        {
            "footprint_id": rows.column("footprint_id"),
            "tenant": rows.column("tenant"),
            "event_id": rows.column("event_id"),
            "aggregate_key": pa.nulls(n, pa.string()),
            "period_start_utc": rows.column("period_start_utc"),
            "period_end_utc": rows.column("period_end_utc"),
            "computed_utc": rows.column("computed_utc"),
            "calculator": contexts.column("calculator").combine_chunks().take(pos),
            "energy_j": rows.column("energy_j"),
            "factor_versions_json": contexts.column("factor_versions_json")
            .combine_chunks()
            .take(pos),
            "inputs_json": render_inputs(rows, _templates(contexts)),
            "inputs_hash": rows.column("inputs_hash"),
            "record_hash": pa.nulls(n, pa.string()),
            "supersedes": rows.column("supersedes"),
            "ingested_utc": rows.column("ingested_utc"),
        },
        schema=FOOTPRINTS.read_schema,
    )


# ------------------------------------------------------------------------------- views
#: The slots that hold one event's own values, no factor: written as null by
#: ``inputs_sql(per_event=False)``, so a reader grouping rows by their factors gets one
#: group per configuration and signal, not one per event (the energy band, the payload and
#: the measured idle differ per event: left in, a month of 1M events made 1M groups).
_PER_EVENT_SLOTS = (
    "event_id",
    "energy_j",
    "attribution_method",
    "start_utc",
    "end_utc",
    "energy_low_j",
    "energy_high_j",
    "payload_bytes",
    "idle_measured.attributed_j",
    "idle_measured.unattributed_j",
)


def _sql_encoders(dialect: str) -> tuple[dict[str, Any], str]:
    """SQL expressions writing a column as JSON text (number, string, time), and the
    dialect's text type."""
    duck = dialect == "duckdb"
    text = "VARCHAR" if duck else "TEXT"

    def num(x: str) -> str:
        return f"coalesce(CAST({x} AS {text}), 'null')"

    def txt(x: str) -> str:
        return f"coalesce(CAST(to_json({x}) AS {text}), 'null')"

    def tim(x: str) -> str:
        utc = f"{x} AT TIME ZONE 'UTC'"
        fmt = (
            f"strftime({utc}, '%Y-%m-%dT%H:%M:%S.%f')"
            if duck
            else f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        )
        return f"coalesce('\"' || replace({fmt}, '.000000', '') || 'Z\"', 'null')"

    return {"number": num, "string": txt, "time": tim}, text


def inputs_sql(dialect: str, *, per_event: bool = True) -> str:
    """SQL rendering a compact row's inputs (``ef`` = event_footprints, ``c`` = its context)
    as JSON for SQL readers: the same values as :func:`render_inputs`, number layout aside.
    With ``per_event=False`` the per-event values (id, energy, times, attribution method)
    are written as null: what is left is the row's factors (configuration and grid signal),
    which many rows share, so a reader can group by it."""
    enc, _ = _sql_encoders(dialect)
    out = "c.inputs_template"
    for name, (col, how) in SLOTS.items():
        value = enc[how]("ef." + col) if per_event or name not in _PER_EVENT_SLOTS else "'null'"
        out = f"replace({out}, '\"\\u0001{name}\"', {value})"
    return out


def view_sql(dialect: str) -> list[str]:
    """``CREATE OR REPLACE VIEW`` statements for ``all_footprints``, ``all_footprint_items``,
    ``all_footprint_totals`` and ``all_footprint_bases`` (one row per footprint, its totals by
    basis as columns): the general tables and the compact rows as one.

    In ``all_footprints`` a compact row's ``inputs_json`` is rendered by SQL from its
    template (the same values; number layout may differ from canonical JSON, so hashes are
    checked on :func:`render_inputs`, never on this text) and its ``record_hash`` is null.
    A compact total is the row's ``total_<basis>`` columns, or (rows written before schema
    version 3) its operational line."""
    _, vc = _sql_encoders(dialect)
    inputs = inputs_sql(dialect)
    fp_cols = (
        "footprint_id, tenant, event_id, aggregate_key, period_start_utc, "
        "period_end_utc, computed_utc, calculator, energy_j, factor_versions_json, "
        "inputs_json, inputs_hash, record_hash, supersedes, ingested_utc"
    )
    col = "coalesce(ci.line_column, ci.basis)"

    def per_column(suffix: str) -> str:
        return (
            f"CASE {col} "
            + " ".join(f"WHEN '{c}' THEN ef.{c}_{suffix}" for c in (*BASES, *LINE_COLUMNS))
            + " END"
        )

    def total(b: str, suffix: str) -> str:
        t = "g" if suffix == "g" else f"{suffix}_g"
        return f"coalesce(ef.total_{b}_{t}, ef.{b}_{t})"

    def per_basis_total(suffix: str) -> str:
        return (
            "CASE ci.basis "
            + " ".join(f"WHEN '{b}' THEN {total(b, suffix)}" for b in BASES)
            + " END"
        )

    def per_basis(suffix: str) -> str:
        return (
            "CASE ci.basis " + " ".join(f"WHEN '{b}' THEN ef.{b}_{suffix}" for b in BASES) + " END"
        )

    def indep(end: str, grams: str, line_cond: str) -> str:
        """The energy band's share of a line's deviation: g x |E - E_end| / E (operational
        lines of rows that record the band; 0 otherwise)."""
        return (
            f"CASE WHEN ci.present AND {line_cond} AND {end} IS NOT NULL AND "
            f"ef.energy_j > 0 THEN {grams} * abs(ef.energy_j - {end}) / ef.energy_j "
            "ELSE 0.0 END"
        )

    energy = (
        f"CASE {col} "
        + " ".join(f"WHEN '{c}' THEN ef.{e}" for c, e in LINE_ENERGY.items())
        + " END"
    )
    item = f"CASE WHEN ci.present THEN {per_column('{s}')} ELSE 0.0 END"
    return [
        f"CREATE OR REPLACE VIEW all_footprints AS SELECT {fp_cols} FROM footprints "
        "UNION ALL SELECT ef.footprint_id, ef.tenant, ef.event_id, "
        f"CAST(NULL AS {vc}), ef.period_start_utc, ef.period_end_utc, ef.computed_utc, "
        f"c.calculator, ef.energy_j, c.factor_versions_json, {inputs}, ef.inputs_hash, "
        f"CAST(NULL AS {vc}), ef.supersedes, ef.ingested_utc "
        "FROM event_footprints ef JOIN footprint_contexts c ON c.context_id = ef.context_id",
        "CREATE OR REPLACE VIEW all_footprint_items AS SELECT footprint_id, position, name, "
        "emissions_g, low_g, p50_g, high_g, label, source, scope, basis, in_total, energy_j "
        "FROM footprint_items UNION ALL SELECT ef.footprint_id, ci.position, ci.name, "
        f"{item.format(s='g')}, {item.format(s='low_g')}, CAST(NULL AS DOUBLE PRECISION), "
        f"{item.format(s='high_g')}, ci.label, CASE WHEN ci.source_suffix IS NULL "
        "THEN ci.source_prefix ELSE ci.source_prefix || ef.attribution_method || "
        "ci.source_suffix END, ci.scope, ci.basis, ci.in_total, "
        f"CASE WHEN ci.present THEN {energy} END FROM event_footprints ef "
        "JOIN footprint_context_items ci ON ci.context_id = ef.context_id",
        # one row per footprint with its totals by basis side by side and the energy of its
        # location line (the facility energy of an operational footprint): what a per-event
        # query needs, without pivoting a compact footprint's items
        "CREATE OR REPLACE VIEW all_footprint_bases AS SELECT f.footprint_id, f.event_id, "
        "f.calculator, f.supersedes, fi.energy_j AS facility_j, "
        + ", ".join(
            f"t_{b}.value_g AS {b}_g, t_{b}.low_g AS {b}_low_g, t_{b}.high_g AS {b}_high_g"
            for b in BASES
        )
        + ", f.tenant FROM footprints f LEFT JOIN footprint_items fi "
        "ON fi.footprint_id = f.footprint_id "
        "AND fi.name = 'operational_location' "
        + " ".join(
            f"LEFT JOIN footprint_totals t_{b} ON t_{b}.footprint_id = "
            f"f.footprint_id AND t_{b}.basis = '{b}'"
            for b in BASES
        )
        + " UNION ALL SELECT ef.footprint_id, ef.event_id, c.calculator, "
        "ef.supersedes, CASE WHEN ci.present THEN ef.facility_j END, "
        + ", ".join(f"{total(b, 'g')}, {total(b, 'low')}, {total(b, 'high')}" for b in BASES)
        + ", ef.tenant FROM event_footprints ef "
        "JOIN footprint_contexts c ON c.context_id = ef.context_id "
        "LEFT JOIN footprint_context_items ci ON ci.context_id = ef.context_id "
        "AND ci.name = 'operational_location'",
        # the deviations behind each range, split into the part independent from event to
        # event (the energy band: operational lines) and the shared part (grid factor,
        # PUE, profile figures), with the group whose shared parts move together (a
        # compact context: one profile x region x signal sources; the calculator for the
        # general layout, whose rows do not record the split)
        "CREATE OR REPLACE VIEW all_footprint_item_deviations AS SELECT fi.footprint_id, "
        "fi.name, fi.scope, fi.basis, fi.in_total, fi.emissions_g AS g, "
        "fi.emissions_g - fi.low_g AS dn_g, fi.high_g - fi.emissions_g AS up_g, "
        "0.0 AS indep_dn_g, 0.0 AS indep_up_g, 'general:' || f.calculator AS corr_group "
        "FROM footprint_items fi JOIN footprints f ON f.footprint_id = fi.footprint_id "
        "UNION ALL SELECT ef.footprint_id, ci.name, ci.scope, ci.basis, ci.in_total, "
        f"{item.format(s='g')}, {item.format(s='g')} - {item.format(s='low_g')}, "
        f"{item.format(s='high_g')} - {item.format(s='g')}, "
        f"{indep('ef.energy_low_j', item.format(s='g'), 'ci.line_column IS NULL')}, "
        f"{indep('ef.energy_high_j', item.format(s='g'), 'ci.line_column IS NULL')}, "
        "ef.context_id FROM event_footprints ef "
        "JOIN footprint_context_items ci ON ci.context_id = ef.context_id",
        "CREATE OR REPLACE VIEW all_footprint_total_deviations AS SELECT t.footprint_id, "
        "t.basis, t.value_g AS g, t.value_g - t.low_g AS dn_g, t.high_g - t.value_g AS up_g, "
        "0.0 AS indep_dn_g, 0.0 AS indep_up_g, 'general:' || f.calculator AS corr_group "
        "FROM footprint_totals t JOIN footprints f ON f.footprint_id = t.footprint_id "
        "UNION ALL SELECT ef.footprint_id, ci.basis, "
        f"{per_basis_total('g')}, {per_basis_total('g')} - {per_basis_total('low')}, "
        f"{per_basis_total('high')} - {per_basis_total('g')}, "
        f"{indep('ef.energy_low_j', per_basis('g'), 'TRUE')}, "
        f"{indep('ef.energy_high_j', per_basis('g'), 'TRUE')}, ef.context_id "
        "FROM event_footprints ef JOIN footprint_context_items ci "
        "ON ci.context_id = ef.context_id WHERE ci.present AND ci.line_column IS NULL "
        "AND ci.basis IN ('location', 'market', 'marginal')",
        "CREATE OR REPLACE VIEW all_footprint_totals AS SELECT footprint_id, basis, value_g, "
        "low_g, p50_g, high_g FROM footprint_totals UNION ALL SELECT ef.footprint_id, "
        f"ci.basis, {per_basis_total('g')}, {per_basis_total('low')}, "
        f"CAST(NULL AS DOUBLE PRECISION), {per_basis_total('high')} FROM event_footprints ef "
        "JOIN footprint_context_items ci ON ci.context_id = ef.context_id WHERE ci.present "
        "AND ci.line_column IS NULL AND ci.basis IN ('location', 'market', 'marginal')",
    ]
