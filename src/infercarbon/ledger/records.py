"""Footprint records: a computed footprint with its line items, totals, inputs and hash.

A :class:`FootprintRecord` is one footprint as the ledger stores it: its subject (an
``event_id`` or an ``aggregate_key``), its period, the calculator that computed it, the inputs
it was computed from and the versions of the factors used (hashed together by
:func:`~infercarbon.ledger.canonical.inputs_hash`), its :class:`FootprintFigures` (energy,
:class:`LineItemRecord` line items and :class:`TotalRecord` totals per basis, each with its
p5..p95 range), and the footprint it ``supersedes``.  A :class:`FootprintBatch` holds many as
the three Arrow tables of the general layout (``footprints``, ``footprint_items``,
``footprint_totals``); :func:`build_footprints` is its columnar builder (the same ids and
hashes as :meth:`FootprintRecord.create` for the same content).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import EventValidationError, InputError, Problem
from infercarbon.ledger.canonical import (
    _array,
    _hash_texts,
    _per_row_join,
    _sha256_hex,
    canonical_json,
    inputs_hash,
    json_bool,
    json_number,
    json_object,
    json_string,
    json_time,
)
from infercarbon.ledger.schema import (
    FOOTPRINT_ITEMS,
    FOOTPRINT_TOTALS,
    FOOTPRINTS,
    TS,
    conform_tables,
)
from infercarbon.ledger.validation import _MAX_PROBLEMS, _bad_indices, validate_rows
from infercarbon.timeutil import format_utc


class _TotalLike(Protocol):
    @property
    def point_g(self) -> float: ...
    @property
    def p5_g(self) -> float: ...
    @property
    def p50_g(self) -> float: ...
    @property
    def p95_g(self) -> float: ...


class FootprintLike(Protocol):
    """What :meth:`FootprintFigures.from_footprint` reads of an
    :class:`infercarbon.accounting.Footprint` (the accounting layer sits above the ledger,
    so the ledger names the shape, not the class)."""

    @property
    def energy_j(self) -> float: ...
    @property
    def line_items(self) -> Sequence[Any]: ...
    @property
    def totals_g(self) -> Mapping[str, _TotalLike]: ...


__all__ = [
    "EVENT_CALCULATOR",
    "EVENT_CALCULATORS",
    "EVENT_CALCULATOR_V1",
    "FootprintBatch",
    "FootprintFigures",
    "FootprintRecord",
    "LineItemRecord",
    "TotalRecord",
    "build_footprints",
]


#: The calculator of the per-event footprints that ingest stores in the compact layout
#: (:mod:`infercarbon.accounting.batch` computes them).  The name is stored with every such
#: footprint, so it keeps the module path it was first written under.
EVENT_CALCULATOR = "infercarbon.service.footprints:full/v2"
#: The first per-event calculator (operational lines only, the signal's range only).
EVENT_CALCULATOR_V1 = "infercarbon.service.footprints:operational/v1"
#: Every per-event calculator: the footprints the ledger's event rollups count.
EVENT_CALCULATORS: tuple[str, ...] = (EVENT_CALCULATOR, EVENT_CALCULATOR_V1)


def _finite(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise InputError(f"{value!r} is not a number", field=what)
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{v!r} is not a finite number", field=what)
    return v


@dataclass(frozen=True, slots=True)
class LineItemRecord:
    """One stored line item [g CO2e]: central value, p5..p95 range, provenance and scope."""

    name: str
    emissions_g: float
    low_g: float
    high_g: float
    label: str
    source: str
    scope: str
    in_total: bool
    basis: str | None = None
    p50_g: float | None = None
    energy_j: float | None = None

    def __post_init__(self) -> None:
        for f in ("emissions_g", "low_g", "high_g", "p50_g", "energy_j"):
            v = getattr(self, f)
            if v is not None:
                object.__setattr__(self, f, _finite(v, f"line_items.{self.name}.{f}"))
        for f in ("name", "label", "source", "scope"):
            if not isinstance(getattr(self, f), str) or not getattr(self, f):
                raise InputError("must be a non-empty string", field=f"line_items.{f}")

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class TotalRecord:
    """A footprint total for one basis [g CO2e]: central value and p5..p95 (p50) range."""

    value_g: float
    low_g: float
    high_g: float
    p50_g: float | None = None

    def __post_init__(self) -> None:
        for f in ("value_g", "low_g", "high_g", "p50_g"):
            v = getattr(self, f)
            if v is not None:
                object.__setattr__(self, f, _finite(v, f"totals.{f}"))

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True)
class FootprintFigures:
    """The numbers of a footprint: what is stored, and what a recompute must reproduce."""

    energy_j: float
    line_items: tuple[LineItemRecord, ...]
    totals: Mapping[str, TotalRecord]  # basis ("location", "market", ...) -> total

    def __post_init__(self) -> None:
        object.__setattr__(self, "energy_j", _finite(self.energy_j, "energy_j"))
        object.__setattr__(self, "line_items", tuple(self.line_items))
        object.__setattr__(self, "totals", dict(self.totals))
        names = [li.name for li in self.line_items]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise InputError(f"duplicate line item name(s): {', '.join(dup)}", field="line_items")

    def to_dict(self) -> dict[str, Any]:
        return {
            "energy_j": self.energy_j,
            "line_items": [li.to_dict() for li in self.line_items],
            "totals": {k: v.to_dict() for k, v in sorted(self.totals.items())},
        }

    @classmethod
    def from_footprint(cls, fp: FootprintLike) -> FootprintFigures:
        """From an :class:`infercarbon.accounting.Footprint` (read by attribute).

        Uses ``fp.energy_j``, ``fp.line_items`` (name, emissions_g, low_g, high_g, p50_g,
        label, source, scope, basis, in_total, energy_j) and ``fp.totals_g`` (basis ->
        (point, p5, p50, p95)).
        """
        items = tuple(
            LineItemRecord(
                name=li.name,
                emissions_g=li.emissions_g,
                low_g=li.low_g,
                high_g=li.high_g,
                label=li.label,
                source=li.source,
                scope=li.scope,
                in_total=bool(li.in_total),
                basis=getattr(li, "basis", None),
                p50_g=getattr(li, "p50_g", None),
                energy_j=getattr(li, "energy_j", None),
            )
            for li in fp.line_items
        )
        totals = {
            basis: TotalRecord(value_g=t.point_g, low_g=t.p5_g, p50_g=t.p50_g, high_g=t.p95_g)
            for basis, t in fp.totals_g.items()
        }
        return cls(energy_j=fp.energy_j, line_items=items, totals=totals)


@dataclass(frozen=True)
class FootprintRecord:
    """A stored footprint and its whole derivation.

    Build one with :meth:`create`, which canonicalises the inputs and computes the hash.
    Exactly one of ``event_id`` / ``aggregate_key`` names the subject.  ``supersedes`` names
    a footprint of the same subject that this one replaces (e.g. after a factor update).
    """

    footprint_id: str
    tenant: str
    event_id: str | None
    aggregate_key: str | None
    period_start_utc: datetime
    period_end_utc: datetime
    computed_utc: datetime
    calculator: str
    factor_versions: Mapping[str, str]
    inputs: Mapping[str, Any]
    inputs_hash: str
    figures: FootprintFigures
    supersedes: str | None = None
    ingested_utc: datetime | None = field(default=None, compare=False)

    @classmethod
    def create(
        cls,
        *,
        tenant: str,
        inputs: Mapping[str, Any],
        factor_versions: Mapping[str, str],
        figures: FootprintFigures,
        period_start_utc: datetime,
        period_end_utc: datetime,
        computed_utc: datetime,
        calculator: str,
        event_id: str | None = None,
        aggregate_key: str | None = None,
        footprint_id: str | None = None,
        supersedes: str | None = None,
    ) -> FootprintRecord:
        """Canonicalise ``inputs`` (JSON data), hash them with the versions, and validate.

        ``footprint_id`` defaults to ``fp_`` + the first 32 hex digits of the SHA-256 of
        the subject, the inputs hash and ``supersedes``: the same computation gets the same id,
        so re-sending it is a no-op.
        """
        text = canonical_json(inputs)
        canon_inputs = json.loads(text)
        versions = {str(k): str(v) for k, v in factor_versions.items()}
        h = _hash_texts(canonical_json(versions), text)
        if footprint_id is None:
            subject = canonical_json([event_id, aggregate_key, tenant, h, supersedes])
            footprint_id = "fp_" + hashlib.sha256(subject.encode()).hexdigest()[:32]
        rec = cls(
            footprint_id,
            tenant,
            event_id,
            aggregate_key,
            period_start_utc,
            period_end_utc,
            computed_utc,
            calculator,
            versions,
            canon_inputs,
            h,
            figures,
            supersedes,
        )
        rec.check(inputs_checked=True)
        return rec

    def check(self, *, inputs_checked: bool = False) -> None:
        """Raise :class:`~infercarbon.errors.InputError` naming the first bad field.

        ``inputs_checked`` skips recomputing ``inputs_hash`` (the caller just computed it).
        """
        for f in ("footprint_id", "tenant", "calculator"):
            if not isinstance(getattr(self, f), str) or not getattr(self, f):
                raise InputError("must be a non-empty string", field=f)
        if (self.event_id is None) == (self.aggregate_key is None):
            raise InputError(
                "give exactly one of event_id (an inference) or aggregate_key", field="event_id"
            )
        for f in ("period_start_utc", "period_end_utc", "computed_utc"):
            v = getattr(self, f)
            if not isinstance(v, datetime) or v.utcoffset() is None:
                raise InputError("must be a timezone-aware datetime", field=f)
        if self.period_end_utc < self.period_start_utc:
            raise InputError("must not be before period_start_utc", field="period_end_utc")
        if self.supersedes == self.footprint_id:
            raise InputError("a footprint cannot supersede itself", field="supersedes")
        if not inputs_checked and (
            inputs_hash(self.inputs, self.factor_versions) != self.inputs_hash
        ):
            raise InputError("does not match the inputs and factor versions", field="inputs_hash")
        if self.figures.energy_j < 0:
            raise InputError("must not be negative", field="energy_j")

    def record_hash(self) -> str:
        """SHA-256 of the record's content: everything but when it was computed and ingested.

        A pure function of the subject, inputs hash, calculator and figures, so the same
        footprint sent again later (another ``computed_utc``) is a duplicate, not a conflict.
        """
        doc = canonical_json(
            {
                "footprint_id": self.footprint_id,
                "tenant": self.tenant,
                "event_id": self.event_id,
                "aggregate_key": self.aggregate_key,
                "period_start_utc": self.period_start_utc,
                "period_end_utc": self.period_end_utc,
                "calculator": self.calculator,
                "inputs_hash": self.inputs_hash,
                "figures": self.figures.to_dict(),
                "supersedes": self.supersedes,
            }
        )
        return hashlib.sha256(doc.encode()).hexdigest()

    def derivation(self) -> dict[str, Any]:
        """The whole derivation as JSON data (what ``audit show`` prints)."""
        return {
            "footprint_id": self.footprint_id,
            "tenant": self.tenant,
            "subject": (
                {"event_id": self.event_id}
                if self.event_id is not None
                else {"aggregate_key": self.aggregate_key}
            ),
            "period_start_utc": _iso(self.period_start_utc),
            "period_end_utc": _iso(self.period_end_utc),
            "computed_utc": _iso(self.computed_utc),
            "ingested_utc": None if self.ingested_utc is None else _iso(self.ingested_utc),
            "calculator": self.calculator,
            "factor_versions": dict(self.factor_versions),
            "inputs": dict(self.inputs),
            "inputs_hash": self.inputs_hash,
            "inputs_hash_algorithm": "sha256 of canonical JSON "
            '{"factor_versions": ..., "inputs": ...}',
            "supersedes": self.supersedes,
            **self.figures.to_dict(),
        }


_iso = format_utc


@dataclass(frozen=True)
class FootprintBatch:
    """Footprints of a batch as three Arrow tables: ``footprints``, their line ``items`` and
    ``totals`` (the ledger's table layouts).  Build one with :func:`build_footprints`
    (columnar, the ingest hot path) or :meth:`from_records`.
    """

    footprints: pa.Table
    items: pa.Table
    totals: pa.Table
    #: True when the builder computed (or verified) every ``inputs_hash`` from the texts
    #: itself, so :meth:`check` need not hash them again.
    hashes_checked: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        conform_tables(
            self,
            (("footprints", FOOTPRINTS), ("items", FOOTPRINT_ITEMS), ("totals", FOOTPRINT_TOTALS)),
        )

    @property
    def num_rows(self) -> int:
        return int(self.footprints.num_rows)

    @classmethod
    def from_records(cls, records: Sequence[FootprintRecord]) -> FootprintBatch:
        """The tables of ``records`` (each checked; canonical JSON computed once per record)."""
        fp_rows: list[dict[str, Any]] = []
        item_rows: list[dict[str, Any]] = []
        total_rows: list[dict[str, Any]] = []
        for i, r in enumerate(records):
            if not isinstance(r, FootprintRecord):
                raise InputError(
                    f"expected a FootprintRecord, got {type(r).__name__}", field=f"footprints[{i}]"
                )
            versions_json = canonical_json(dict(r.factor_versions))
            inputs_json = canonical_json(dict(r.inputs))
            try:
                r.check(inputs_checked=True)
                if _hash_texts(versions_json, inputs_json) != r.inputs_hash:
                    raise InputError(
                        "does not match the inputs and factor versions", field="inputs_hash"
                    )
            except InputError as exc:
                raise InputError(str(exc), field=f"footprints[{i}].{exc.field}") from exc
            fid = r.footprint_id
            fp_rows.append(
                {
                    "footprint_id": fid,
                    "tenant": r.tenant,
                    "event_id": r.event_id,
                    "aggregate_key": r.aggregate_key,
                    "period_start_utc": r.period_start_utc.astimezone(UTC),
                    "period_end_utc": r.period_end_utc.astimezone(UTC),
                    "computed_utc": r.computed_utc.astimezone(UTC),
                    "calculator": r.calculator,
                    "energy_j": r.figures.energy_j,
                    "factor_versions_json": versions_json,
                    "inputs_json": inputs_json,
                    "inputs_hash": r.inputs_hash,
                    "record_hash": r.record_hash(),
                    "supersedes": r.supersedes,
                }
            )
            item_rows.extend(
                {"footprint_id": fid, "position": j, **li.to_dict()}
                for j, li in enumerate(r.figures.line_items)
            )
            total_rows.extend(
                {"footprint_id": fid, "basis": b, **t.to_dict()}
                for b, t in sorted(r.figures.totals.items())
            )
        return cls(
            pa.Table.from_pylist(fp_rows, schema=FOOTPRINTS.arrow_schema),
            pa.Table.from_pylist(item_rows, schema=FOOTPRINT_ITEMS.arrow_schema),
            pa.Table.from_pylist(total_rows, schema=FOOTPRINT_TOTALS.arrow_schema),
            hashes_checked=True,
        )

    def filter(self, keep: npt.ArrayLike) -> FootprintBatch:
        """The footprints where ``keep`` (a boolean per footprint row), with their items."""
        mask = pa.array(np.asarray(keep, dtype=bool))
        fp = self.footprints.filter(mask)
        ids = fp.column("footprint_id")
        return FootprintBatch(
            fp,
            self.items.filter(pc.is_in(self.items.column("footprint_id"), value_set=ids)),
            self.totals.filter(pc.is_in(self.totals.column("footprint_id"), value_set=ids)),
            hashes_checked=self.hashes_checked,
        )

    def check(self) -> None:
        """Vectorised checks of every row; raise EventValidationError naming row and field.

        Column types and constraints (:func:`validate_rows`), exactly one subject,
        ``period_end_utc >= period_start_utc``, no self-supersession, ``inputs_hash`` =
        SHA-256 of the stored texts, and items/totals that belong to a footprint here.
        """
        fp = validate_rows(FOOTPRINTS, self.footprints)
        validate_rows(FOOTPRINT_ITEMS, self.items)
        validate_rows(FOOTPRINT_TOTALS, self.totals)
        problems: list[Problem] = []
        both = pc.equal(pc.is_null(fp.column("event_id")), pc.is_null(fp.column("aggregate_key")))
        problems.extend(
            Problem(i, "event_id", "give exactly one of event_id (an inference) or aggregate_key")
            for i in _bad_indices(both)
        )
        if not self.hashes_checked:
            doc = pc.binary_join_element_wise(
                '{"factor_versions":',
                fp.column("factor_versions_json"),
                ',"inputs":',
                fp.column("inputs_json"),
                "}",
                "",
            )
            h = pa.array(_sha256_hex(_array(doc)), pa.string())
            problems.extend(
                Problem(i, "inputs_hash", "does not match the inputs and factor versions")
                for i in _bad_indices(pc.not_equal(h, fp.column("inputs_hash")))
            )
        for name, t in (("items", self.items), ("totals", self.totals)):
            orphan = pc.invert(
                pc.is_in(t.column("footprint_id"), value_set=fp.column("footprint_id"))
            )
            problems.extend(
                Problem(i, f"{name}.footprint_id", "is not a footprint of this batch")
                for i in _bad_indices(orphan)
            )
        if problems:
            problems.sort(key=lambda p: (p.index, p.field))
            raise EventValidationError(
                "footprints", problems[:_MAX_PROBLEMS], more=max(0, len(problems) - _MAX_PROBLEMS)
            )


def build_footprints(
    *,
    tenant: pa.Array | pa.ChunkedArray,
    period_start_utc: pa.Array | pa.ChunkedArray,
    period_end_utc: pa.Array | pa.ChunkedArray,
    computed_utc: datetime,
    calculator: str,
    energy_j: pa.Array | pa.ChunkedArray,
    inputs_json: pa.Array,
    factor_versions_json: pa.Array,
    items: pa.Table,
    totals: pa.Table,
    event_id: pa.Array | pa.ChunkedArray | None = None,
    aggregate_key: pa.Array | pa.ChunkedArray | None = None,
    supersedes: pa.Array | pa.ChunkedArray | None = None,
) -> FootprintBatch:
    """Footprint records for a whole batch, as Arrow tables (the columnar form of
    :meth:`FootprintRecord.create`; the same ids and hashes for the same content).

    ``inputs_json`` and ``factor_versions_json`` hold each row's canonical JSON text (built
    with :func:`json_object` and friends: it must equal ``canonical_json`` of the parsed
    value, or ``audit verify`` reports the hash as tampered).  ``items`` has a ``row`` column
    (the footprint's row, ascending; line items in order within a row) and the line-item
    columns of ``footprint_items`` but ``footprint_id`` and ``position``; ``totals`` has
    ``row`` and the columns of ``footprint_totals`` but ``footprint_id``.  Computes, once per
    row, ``inputs_hash``, ``footprint_id`` (``fp_`` + 32 hex digits of the SHA-256 of
    ``[event_id, aggregate_key, tenant, inputs_hash, supersedes]``) and ``record_hash``
    (:meth:`FootprintRecord.record_hash`).
    """
    n = len(tenant)
    nulls = pa.nulls(n, pa.string())
    ev = _array(event_id) if event_id is not None else nulls
    agg = _array(aggregate_key) if aggregate_key is not None else nulls
    sup = _array(supersedes) if supersedes is not None else nulls
    ten = _array(tenant)
    start, end = _array(period_start_utc).cast(TS), _array(period_end_utc).cast(TS)
    energy = _array(energy_j).cast(pa.float64())
    if len(inputs_json) != n or len(factor_versions_json) != n:
        raise InputError(
            "inputs_json and factor_versions_json need one text per row", field="footprints"
        )
    if computed_utc.utcoffset() is None:
        raise InputError("must be a timezone-aware datetime", field="computed_utc")
    doc = pc.binary_join_element_wise(
        '{"factor_versions":',
        _array(factor_versions_json),
        ',"inputs":',
        _array(inputs_json),
        "}",
        "",
    )
    h = pa.array(_sha256_hex(doc), pa.string())
    j_ev, j_agg, j_sup, j_ten = (json_string(a) for a in (ev, agg, sup, ten))
    quoted_h = pc.binary_join_element_wise('"', h, '"', "")
    subject = pc.binary_join_element_wise(
        "[", j_ev, ",", j_agg, ",", j_ten, ",", quoted_h, ",", j_sup, "]", ""
    )
    fid = pc.binary_join_element_wise(
        "fp_", pc.utf8_slice_codeunits(pa.array(_sha256_hex(subject), pa.string()), 0, 32), ""
    )
    # line items and totals, keyed by footprint id
    row_i = np.asarray(items.column("row").to_numpy(zero_copy_only=False), dtype=np.intp)
    row_t = np.asarray(totals.column("row").to_numpy(zero_copy_only=False), dtype=np.intp)
    if (np.diff(row_i) < 0).any() or (np.diff(row_t) < 0).any():
        raise InputError("items and totals must be ordered by row", field="footprints")
    outside = [r for r in (row_i, row_t) if len(r) and (r[0] < 0 or r[-1] >= n)]
    if outside:
        raise InputError("an item or total names a row outside the batch", field="footprints")
    starts = np.searchsorted(row_i, row_i, side="left")
    position = np.arange(len(row_i), dtype=np.int64) - starts
    idx_i, idx_t = pa.array(row_i), pa.array(row_t)
    it = pa.table(
        {
            "footprint_id": fid.take(idx_i),
            "position": pa.array(position, pa.int64()),
            **{c: items.column(c) for c in FOOTPRINT_ITEMS.names[2:]},
        }
    )
    it = it.select(list(FOOTPRINT_ITEMS.names)).cast(FOOTPRINT_ITEMS.arrow_schema)
    tt = pa.table(
        {
            "footprint_id": fid.take(idx_t),
            **{c: totals.column(c) for c in FOOTPRINT_TOTALS.names[1:]},
        }
    )
    tt = tt.select(list(FOOTPRINT_TOTALS.names)).cast(FOOTPRINT_TOTALS.arrow_schema)
    # record hash: canonical JSON of the record but its computation and ingest times
    num = json_number
    item_text = json_object(
        {
            "basis": json_string(it.column("basis")),
            "emissions_g": num(it.column("emissions_g")),
            "energy_j": num(it.column("energy_j")),
            "high_g": num(it.column("high_g")),
            "in_total": json_bool(it.column("in_total")),
            "label": json_string(it.column("label")),
            "low_g": num(it.column("low_g")),
            "name": json_string(it.column("name")),
            "p50_g": num(it.column("p50_g")),
            "scope": json_string(it.column("scope")),
            "source": json_string(it.column("source")),
        },
        it.num_rows,
    )
    total_text = pc.binary_join_element_wise(
        json_string(tt.column("basis")),
        ":",
        json_object(
            {
                "high_g": num(tt.column("high_g")),
                "low_g": num(tt.column("low_g")),
                "p50_g": num(tt.column("p50_g")),
                "value_g": num(tt.column("value_g")),
            },
            tt.num_rows,
        ),
        "",
    )
    order_t = (
        np.lexsort((np.asarray(tt.column("basis").to_pylist(), dtype=object).astype(str), row_t))
        if tt.num_rows
        else np.zeros(0, np.intp)
    )
    figures = json_object(
        {
            "energy_j": num(energy),
            "line_items": pc.binary_join_element_wise(
                "[", _per_row_join(row_i, item_text, n, ","), "]", ""
            ),
            "totals": pc.binary_join_element_wise(
                "{",
                _per_row_join(row_t[order_t], total_text.take(pa.array(order_t)), n, ","),
                "}",
                "",
            ),
        },
        n,
    )
    record = json_object(
        {
            "aggregate_key": j_agg,
            "calculator": json.dumps(calculator, ensure_ascii=False),
            "event_id": j_ev,
            "figures": figures,
            "footprint_id": pc.binary_join_element_wise('"', fid, '"', ""),
            "inputs_hash": quoted_h,
            "period_end_utc": json_time(end),
            "period_start_utc": json_time(start),
            "supersedes": j_sup,
            "tenant": j_ten,
        },
        n,
    )
    fp = pa.table(
        {
            "footprint_id": fid,
            "tenant": ten,
            "event_id": ev,
            "aggregate_key": agg,
            "period_start_utc": start,
            "period_end_utc": end,
            "computed_utc": pa.repeat(pa.scalar(computed_utc.astimezone(UTC), TS), n),
            "calculator": pa.repeat(pa.scalar(calculator, pa.string()), n),
            "energy_j": energy,
            "factor_versions_json": _array(factor_versions_json),
            "inputs_json": _array(inputs_json),
            "inputs_hash": h,
            "record_hash": pa.array(_sha256_hex(record), pa.string()),
            "supersedes": sup,
        }
    ).cast(FOOTPRINTS.arrow_schema)
    return FootprintBatch(fp, it, tt, hashes_checked=True)
