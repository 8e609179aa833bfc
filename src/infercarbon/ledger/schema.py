"""The ledger's tables: their columns, types, keys and constraints (:class:`TableSpec`).

Four append-only tables hold what the ledger knows (every timestamp is UTC, every quantity in
joules, watts, grams or g/kWh as its name says):

``events``
    one row per inference: ``event_id`` (the key, with ``tenant``: ids are per tenant),
    ``start_utc``, ``end_utc``, ``service``, ``tenant``, ``model``, ``region``, ``device``,
    ``energy_j``, ``attribution_method``, optional ``batch_id``, ``tokens_in``,
    ``tokens_out``, ``payload_bytes``, ``outcome``, and
    ``supersedes`` (the id of the event this row corrects).  The store adds ``ingested_utc``.
``readings``
    device energy readings: ``device``, ``t_utc``, ``cumulative_j`` and/or ``power_w``,
    ``source``, ``method``; key (device, t_utc, source).
``intensity``
    grid-intensity snapshots: ``region``, ``kind``, ``basis``, ``interval_start_utc``,
    ``resolution_s``, ``value_g_per_kwh`` with optional ``low_g_per_kwh``/``high_g_per_kwh``,
    ``source``, ``version``, ``retrieved_utc``; the key is all of these but the values, so a
    re-fetch is a new snapshot and re-sending the same snapshot is a no-op.  Optional
    provenance per interval: ``method``, ``status`` (forecast, provisional, final; null =
    final), ``marginal_unit`` and ``confidence_level`` (see docs/grid_signals.md).
``footprints`` (+ ``footprint_items``, ``footprint_totals``)
    a computed footprint: its subject (an ``event_id`` or an ``aggregate_key``), the inputs it
    was computed from as canonical JSON, the versions of the factors and data used, the SHA-256
    of both (:func:`~infercarbon.ledger.canonical.inputs_hash`), its line items and totals,
    and ``supersedes``.  The service's per-event footprints are stored in a compact layout
    instead (shared context once, numbers per event: :mod:`infercarbon.ledger.compact`); the
    store's ``all_*`` views and read methods show both layouts as this one.

The rest of the ledger's data shapes live beside this module, one concern each:
:mod:`~infercarbon.ledger.validation` (checking a batch against its spec),
:mod:`~infercarbon.ledger.canonical` (canonical JSON and the input hash),
:mod:`~infercarbon.ledger.records` (the footprint record and its columnar batch); the
ledger's exceptions are in :mod:`infercarbon.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from infercarbon.errors import InputError
from infercarbon.grid.signal import BASES, KINDS
from infercarbon.grid.updates import STATUSES

__all__ = [
    "EVENTS",
    "FOOTPRINTS",
    "FOOTPRINT_ITEMS",
    "FOOTPRINT_TOTALS",
    "INTENSITY",
    "READINGS",
    "RUNS",
    "RUN_KINDS",
    "RUN_STATUSES",
    "STORAGE",
    "TABLES",
    "TRANSFERS",
    "TS",
    "Column",
    "TableSpec",
    "conform_tables",
]

TS = pa.timestamp("us", tz="UTC")
Check = Literal["nonneg", "positive"]


# ---------------------------------------------------------------------------- columns
@dataclass(frozen=True, slots=True)
class Column:
    """One column: name, Arrow type, SQL types, and its constraints."""

    name: str
    arrow: pa.DataType
    required: bool = True
    check: Check | None = None
    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        if pa.types.is_timestamp(self.arrow):
            return "timestamp"
        if pa.types.is_floating(self.arrow):
            return "float"
        if pa.types.is_integer(self.arrow):
            return "int"
        if pa.types.is_boolean(self.arrow):
            return "bool"
        return "string"

    def sql_type(self, dialect: str) -> str:
        k = self.kind
        if k == "timestamp":
            return "TIMESTAMPTZ"
        if k == "float":
            return "DOUBLE" if dialect == "duckdb" else "DOUBLE PRECISION"
        if k == "int":
            return "BIGINT"
        if k == "bool":
            return "BOOLEAN"
        return "VARCHAR" if dialect == "duckdb" else "TEXT"


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An append-only table: columns given by the writer, its key, and the row label."""

    name: str
    row: str  # how one row is named in errors ("events")
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    ingested: bool = True  # the store adds ingested_utc
    #: columns a write requires but a read may find empty (a compact footprint, read in
    #: this table's layout, has no record hash)
    null_on_read: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow, nullable=not c.required) for c in self.columns])

    @property
    def stored_schema(self) -> pa.Schema:
        s = self.arrow_schema
        return s.append(pa.field("ingested_utc", TS, nullable=False)) if self.ingested else s

    @property
    def read_schema(self) -> pa.Schema:
        """What reads of this table (scans, exports) return: ``stored_schema`` with the
        ``null_on_read`` columns nullable."""
        s = self.stored_schema
        for name in self.null_on_read:
            i = s.get_field_index(name)
            s = s.set(i, s.field(i).with_nullable(True))
        return s

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _s(name: str, required: bool = True, choices: tuple[str, ...] = ()) -> Column:
    return Column(name, pa.string(), required, None, choices)


EVENTS = TableSpec(
    "events",
    "events",
    (
        _s("event_id"),
        Column("start_utc", TS),
        Column("end_utc", TS),
        _s("service"),
        _s("tenant"),
        _s("model"),
        _s("region"),
        _s("device"),
        Column("energy_j", pa.float64(), check="nonneg"),
        _s("attribution_method"),
        _s("batch_id", False),
        Column("tokens_in", pa.int64(), False, "nonneg"),
        Column("tokens_out", pa.int64(), False, "nonneg"),
        Column("payload_bytes", pa.int64(), False, "nonneg"),
        _s("outcome", False),
        _s("supersedes", False),
        # the event's own p5..p95 energy band (schema version 3); absent: the band of its
        # attribution method's accuracy class (infercarbon.telemetry.base.ENERGY_BANDS)
        Column("energy_low_j", pa.float64(), False, "nonneg"),
        Column("energy_high_j", pa.float64(), False, "nonneg"),
        # W3C trace context of the request (schema version 4): the trace of the user action
        # the inference served and the span that called it (lowercase hex, 32 and 16 digits)
        _s("trace_id", False),
        _s("parent_span_id", False),
    ),
    # event ids are per tenant (schema version 6): two tenants may use the same id
    key=("tenant", "event_id"),
)

READINGS = TableSpec(
    "readings",
    "readings",
    (
        _s("device"),
        Column("t_utc", TS),
        Column("cumulative_j", pa.float64(), False, "nonneg"),
        Column("power_w", pa.float64(), False, "nonneg"),
        _s("source"),
        _s("method"),
    ),
    key=("device", "t_utc", "source"),
)

INTENSITY = TableSpec(
    "intensity",
    "intensity",
    (
        _s("region"),
        _s("kind", choices=KINDS),
        _s("basis", choices=BASES),
        Column("interval_start_utc", TS),
        Column("resolution_s", pa.int64(), check="positive"),
        Column("value_g_per_kwh", pa.float64(), check="nonneg"),
        Column("low_g_per_kwh", pa.float64(), False, "nonneg"),
        Column("high_g_per_kwh", pa.float64(), False, "nonneg"),
        _s("source"),
        _s("version"),
        Column("retrieved_utc", TS),
        # each interval's provenance (schema version 3; null in older rows): how the figure
        # was derived, its status (null = final), the marginal unit or fuel of a marginal
        # interval, and the coverage of low..high (0.9 = p5..p95; null: unstated or no range)
        _s("method", False),
        _s("status", False, choices=STATUSES),
        _s("marginal_unit", False),
        Column("confidence_level", pa.float64(), False, "positive"),
    ),
    key=(
        "region",
        "kind",
        "basis",
        "interval_start_utc",
        "resolution_s",
        "source",
        "version",
        "retrieved_utc",
    ),
)

FOOTPRINTS = TableSpec(
    "footprints",
    "footprints",
    (
        _s("footprint_id"),
        _s("tenant"),
        _s("event_id", False),
        _s("aggregate_key", False),
        Column("period_start_utc", TS),
        Column("period_end_utc", TS),
        Column("computed_utc", TS),
        _s("calculator"),
        Column("energy_j", pa.float64(), check="nonneg"),
        _s("factor_versions_json"),
        _s("inputs_json"),
        _s("inputs_hash"),
        _s("record_hash"),
        _s("supersedes", False),
    ),
    key=("footprint_id",),
    null_on_read=("record_hash",),
)

FOOTPRINT_ITEMS = TableSpec(
    "footprint_items",
    "footprint_items",
    (
        _s("footprint_id"),
        Column("position", pa.int64()),
        _s("name"),
        Column("emissions_g", pa.float64()),
        Column("low_g", pa.float64()),
        Column("p50_g", pa.float64(), False),
        Column("high_g", pa.float64()),
        _s("label"),
        _s("source"),
        _s("scope"),
        _s("basis", False),
        Column("in_total", pa.bool_()),
        Column("energy_j", pa.float64(), False),
    ),
    key=("footprint_id", "position"),
    ingested=False,
)

FOOTPRINT_TOTALS = TableSpec(
    "footprint_totals",
    "footprint_totals",
    (
        _s("footprint_id"),
        _s("basis"),
        Column("value_g", pa.float64()),
        Column("low_g", pa.float64()),
        Column("p50_g", pa.float64(), False),
        Column("high_g", pa.float64()),
    ),
    key=("footprint_id", "basis"),
    ingested=False,
)

#: The kinds of a run (schema version 7) and how a run ended.
RUN_KINDS = ("train", "finetune", "eval", "retrain", "data-pipeline")
RUN_STATUSES = ("succeeded", "failed", "killed")

RUNS = TableSpec(
    "runs",
    "runs",
    (
        # a training, fine-tuning, evaluation, retraining or data-pipeline run (schema
        # version 7): what ran, how it ended, its energy band and how it was measured
        _s("run_id"),
        _s("tenant"),
        _s("kind", choices=RUN_KINDS),
        _s("model"),
        # the model family whose training line the run counts in (null: the model itself)
        _s("lineage", False),
        _s("system", False),
        _s("status", choices=RUN_STATUSES),
        Column("exit_code", pa.int64(), False),
        _s("signal", False),
        Column("start_utc", TS),
        Column("end_utc", TS),
        Column("energy_j", pa.float64(), check="nonneg"),
        Column("energy_low_j", pa.float64(), False, "nonneg"),
        Column("energy_high_j", pa.float64(), False, "nonneg"),
        _s("method"),
        _s("label", choices=("measured", "modelled", "cited", "illustrative")),
        _s("source"),
        _s("region", False),
        Column("gpu_hours", pa.float64(), False, "nonneg"),
        # emissions the run's own tool reported (CodeCarbon) or measure computed, with the
        # intensity used; null: computed at read time from the region
        Column("emissions_g", pa.float64(), False, "nonneg"),
        Column("intensity_g_per_kwh", pa.float64(), False, "nonneg"),
        _s("command", False),
        _s("supersedes", False),
    ),
    # ids are per tenant, as event ids (schema version 7)
    key=("tenant", "run_id"),
)

STORAGE = TableSpec(
    "storage",
    "storage",
    (
        # stored data (schema version 7): GB-months of a storage class over a period
        _s("record_id"),
        _s("tenant"),
        _s("system", False),
        _s("storage_class"),
        Column("gb_months", pa.float64(), check="nonneg"),
        Column("period_start_utc", TS),
        Column("period_end_utc", TS),
        _s("region", False),
        _s("source"),
    ),
    key=("tenant", "record_id"),
)

TRANSFERS = TableSpec(
    "transfers",
    "transfers",
    (
        # bulk and cross-region data movement (schema version 7): GB over a network type
        _s("record_id"),
        _s("tenant"),
        _s("system", False),
        _s("network_type"),
        Column("gb", pa.float64(), check="nonneg"),
        Column("t_utc", TS),
        _s("from_region", False),
        _s("to_region", False),
        _s("source"),
    ),
    key=("tenant", "record_id"),
)

#: Every table, by name.
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        EVENTS,
        READINGS,
        INTENSITY,
        FOOTPRINTS,
        FOOTPRINT_ITEMS,
        FOOTPRINT_TOTALS,
        RUNS,
        STORAGE,
        TRANSFERS,
    )
}


def conform_tables(batch: Any, specs: Sequence[tuple[str, TableSpec]]) -> None:
    """Check that each table attribute of a frozen batch has its spec's columns, in order,
    and cast it to the spec's types in place; InputError names the attribute."""
    for name, spec in specs:
        t = getattr(batch, name)
        if not isinstance(t, pa.Table) or t.column_names != list(spec.names):
            raise InputError(f"expected a table with columns {', '.join(spec.names)}", field=name)
        if t.schema != spec.arrow_schema:
            try:
                object.__setattr__(batch, name, t.cast(spec.arrow_schema))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(f"{exc}", field=name) from exc
