"""The audit trail: recompute stored footprints from their stored inputs, and show them.

:func:`verify` reloads each footprint, checks that its stored inputs still hash to the stored
``inputs_hash``, calls ``recompute(inputs, factor_versions)`` and compares every number
(energy, each line item's central value and range, each total) with what was stored: equal,
or within ``rel_tol`` (default 1e-12) relative.  Labels, sources, scopes and the set of line
items must match exactly.  The recompute function is passed in (the accounting layer
supplies it), so the ledger does no arithmetic of its own.

>>> from infercarbon.ledger.audit import _close
>>> _close(1.0, 1.0 + 1e-13, 1e-12), _close(1.0, 1.001, 1e-12)
(True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from infercarbon.errors import InfercarbonError, InputError, LedgerIntegrityError
from infercarbon.ledger.base import Store
from infercarbon.ledger.canonical import inputs_hash
from infercarbon.ledger.records import FootprintFigures, FootprintRecord
from infercarbon.timeutil import format_utc

__all__ = ["Mismatch", "Recompute", "VerifyReport", "show", "verify"]


class Recompute(Protocol):
    """Recompute a footprint's figures from its stored inputs and factor/data versions.

    Raise an :class:`~infercarbon.errors.InfercarbonError` when the inputs cannot be
    recomputed (e.g. a factor version this build does not ship); verify records it.
    """

    # positional-only: verify calls recompute(inputs, factor_versions), so a callback may name
    # its parameters as it likes
    def __call__(
        self, inputs: Mapping[str, Any], factor_versions: Mapping[str, str], /
    ) -> FootprintFigures: ...


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One stored figure that did not recompute."""

    footprint_id: str
    field: str
    stored: Any
    recomputed: Any

    def __str__(self) -> str:
        return (
            f"{self.footprint_id}: {self.field}: stored {self.stored!r}, "
            f"recomputed {self.recomputed!r}"
        )


@dataclass(frozen=True)
class VerifyReport:
    """The result of :func:`verify`."""

    checked: int
    verified: tuple[str, ...]
    mismatches: tuple[Mismatch, ...]
    errors: tuple[tuple[str, str], ...]  # (footprint_id, why it could not be recomputed)
    rel_tol: float
    failed_ids: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "verified": len(self.verified),
            "rel_tol": self.rel_tol,
            "failed": list(self.failed_ids),
            "mismatches": [
                {
                    "footprint_id": m.footprint_id,
                    "field": m.field,
                    "stored": m.stored,
                    "recomputed": m.recomputed,
                }
                for m in self.mismatches
            ],
            "errors": [{"footprint_id": f, "error": e} for f, e in self.errors],
        }

    def raise_for_failure(self) -> None:
        """Raise :class:`~infercarbon.errors.LedgerIntegrityError` unless every one verified."""
        if self.ok:
            return
        lines = [str(m) for m in self.mismatches[:10]] + [f"{f}: {e}" for f, e in self.errors[:10]]
        raise LedgerIntegrityError(
            f"{len(self.failed_ids)} of {self.checked} footprint(s) did not recompute: "
            + "; ".join(lines)
        )


def _close(stored: float | None, recomputed: float | None, rel_tol: float) -> bool:
    if stored is None or recomputed is None:
        return stored is recomputed
    if stored == recomputed:
        return True
    if not (math.isfinite(stored) and math.isfinite(recomputed)):
        return False
    return abs(stored - recomputed) <= rel_tol * max(abs(stored), abs(recomputed))


def compare_figures(
    footprint_id: str, stored: FootprintFigures, new: FootprintFigures, rel_tol: float
) -> list[Mismatch]:
    """Every difference between stored and recomputed figures (empty when they agree)."""
    out: list[Mismatch] = []

    def num(name: str, a: float | None, b: float | None) -> None:
        if not _close(a, b, rel_tol):
            out.append(Mismatch(footprint_id, name, a, b))

    num("energy_j", stored.energy_j, new.energy_j)
    old_items = {li.name: li for li in stored.line_items}
    new_items = {li.name: li for li in new.line_items}
    if list(old_items) != list(new_items):
        out.append(Mismatch(footprint_id, "line_items", list(old_items), list(new_items)))
    for name in old_items.keys() & new_items.keys():
        a, b = old_items[name], new_items[name]
        for f in ("emissions_g", "low_g", "high_g", "p50_g", "energy_j"):
            num(f"line_items.{name}.{f}", getattr(a, f), getattr(b, f))
        out.extend(
            Mismatch(footprint_id, f"line_items.{name}.{f}", getattr(a, f), getattr(b, f))
            for f in ("label", "source", "scope", "basis", "in_total")
            if getattr(a, f) != getattr(b, f)
        )
    if sorted(stored.totals) != sorted(new.totals):
        out.append(Mismatch(footprint_id, "totals", sorted(stored.totals), sorted(new.totals)))
    for basis in stored.totals.keys() & new.totals.keys():
        a_t, b_t = stored.totals[basis], new.totals[basis]
        for f in ("value_g", "low_g", "high_g", "p50_g"):
            num(f"totals.{basis}.{f}", getattr(a_t, f), getattr(b_t, f))
    return out


def verify(
    store: Store,
    recompute: Recompute,
    *,
    tenant: str | None = None,
    footprint_ids: Iterable[str] | None = None,
    rel_tol: float = 1e-12,
    progress: Callable[[int, int], None] | None = None,
    every: int = 10_000,
) -> VerifyReport:
    """Recompute stored footprints (all, of ``tenant``, or ``footprint_ids``) and compare.

    Returns a :class:`VerifyReport`; call ``raise_for_failure()`` to turn a failure into a
    :class:`~infercarbon.errors.LedgerIntegrityError`.  ``progress(checked, failed)`` is
    called every ``every`` footprints (a large ledger's verification streams its progress).  A
    footprint whose inputs no longer
    hash to its ``inputs_hash`` (tampered with) fails without being recomputed.
    """
    if not (0.0 <= rel_tol < 1.0):
        raise InputError(f"must be in [0, 1), got {rel_tol!r}", field="rel_tol")
    records: Iterable[FootprintRecord]
    if footprint_ids is not None:
        ids = list(footprint_ids)
        records = (store.footprint(fid, tenant=tenant) for fid in ids)
    else:  # every footprint: read a page at a time
        records = store.iter_footprints(tenant=tenant)
    checked = 0
    verified: list[str] = []
    mismatches: list[Mismatch] = []
    errors: list[tuple[str, str]] = []
    failed: list[str] = []
    for rec in records:
        checked += 1
        if progress is not None and checked % every == 0:
            progress(checked, len(failed))
        fid = rec.footprint_id
        h = inputs_hash(rec.inputs, rec.factor_versions)
        if h != rec.inputs_hash:
            mismatches.append(Mismatch(fid, "inputs_hash", rec.inputs_hash, h))
            failed.append(fid)
            continue
        try:
            new = recompute(rec.inputs, rec.factor_versions)
        except InfercarbonError as exc:
            errors.append((fid, f"{type(exc).__name__}: {exc}"))
            failed.append(fid)
            continue
        found = compare_figures(fid, rec.figures, new, rel_tol)
        if found:
            mismatches.extend(found)
            failed.append(fid)
        else:
            verified.append(fid)
    return VerifyReport(
        checked, tuple(verified), tuple(mismatches), tuple(errors), rel_tol, tuple(failed)
    )


def show(store: Store, footprint_id: str, *, tenant: str | None = None) -> dict[str, Any]:
    """The whole derivation of one footprint: subject, inputs, versions, hash, line items,
    totals, and whether its inputs still hash to the stored hash."""
    rec = store.footprint(footprint_id, tenant=tenant)
    out = rec.derivation()
    out["inputs_hash_matches"] = inputs_hash(rec.inputs, rec.factor_versions) == rec.inputs_hash
    out["chain"] = chain(store, rec)
    return out


def chain(store: Store, rec: Any) -> list[dict[str, Any]]:
    """Every footprint of the same subject (event or aggregate) and tenant, oldest first:
    id, computed time, what it supersedes, whether it is live (superseded by none), and the
    central totals; a re-priced or corrected figure lists the footprints before it."""
    import pyarrow as pa

    col, key = (
        ("event_id", rec.event_id)
        if rec.event_id is not None
        else ("aggregate_key", rec.aggregate_key)
    )
    t = store.query_arrow(
        "SELECT f.footprint_id, f.computed_utc, f.supersedes, f.calculator, "
        "b.location_g, b.market_g, b.marginal_g FROM all_footprints f "
        "LEFT JOIN all_footprint_bases b ON b.footprint_id = f.footprint_id "
        f"WHERE f.{col} = %s AND f.tenant = %s ORDER BY f.computed_utc, f.footprint_id",
        [key, rec.tenant],
        pa.schema(
            [
                pa.field("footprint_id", pa.string()),
                pa.field("computed_utc", pa.timestamp("us", tz="UTC")),
                pa.field("supersedes", pa.string()),
                pa.field("calculator", pa.string()),
                pa.field("location_g", pa.float64()),
                pa.field("market_g", pa.float64()),
                pa.field("marginal_g", pa.float64()),
            ]
        ),
    )
    rows = t.to_pylist()
    replaced = {r["supersedes"] for r in rows if r["supersedes"]}
    return [
        {
            **r,
            "computed_utc": format_utc(r["computed_utc"]),
            "live": r["footprint_id"] not in replaced,
        }
        for r in rows
    ]
