"""Footprints of the accounting engine as ledger records, and their audit recompute.

:func:`accounting_record` stores an inference's :class:`~infercarbon.accounting.Footprint` with
its canonical inputs (:func:`~infercarbon.accounting.request_to_inputs`) and the versions of
every factor it used; :func:`recompute_accounting` is the
:class:`~infercarbon.ledger.Recompute` callback that rebuilds the figures with
``footprint(request_from_inputs(inputs))`` (seeded Monte Carlo: ranges reproduce exactly).

:func:`dispatch` routes each stored footprint to the recompute of the calculator that wrote it
(``factor_versions["calculator"]``, else ``inputs["engine_version"]``); an unknown calculator
is an error that ``audit verify`` reports for that footprint, never a pass.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

from infercarbon.accounting import (
    ENGINE_VERSION,
    FootprintRequest,
    Input,
    footprint,
    request_from_inputs,
    request_to_inputs,
)
from infercarbon.errors import DataError, FallbackWarning, InputError
from infercarbon.ledger import FootprintFigures, FootprintRecord, Recompute

__all__ = ["CALCULATOR", "accounting_record", "dispatch", "recompute_accounting"]

#: The calculator name stored with footprints of the accounting engine.
CALCULATOR = ENGINE_VERSION


def _factor_versions(request: FootprintRequest) -> dict[str, str]:
    """The calculator and the source (vintage) of every factor; per-inference energy is an
    input, not a factor."""
    out = {"calculator": CALCULATOR}
    for f in fields(request):
        v = getattr(request, f.name)
        if isinstance(v, Input) and f.name != "energy_j":
            out[f.name] = v.source + (f" ({v.vintage})" if v.vintage else "")
    return out


def accounting_record(
    request: FootprintRequest,
    *,
    tenant: str,
    event_id: str,
    period_start_utc: datetime,
    period_end_utc: datetime,
    computed_utc: datetime,
) -> FootprintRecord:
    """The ledger record of one inference's footprint computed by the accounting engine.

    The market-based fallback (no instrument given) is recorded in the line item's label and
    the footprint's warnings; it is not re-warned here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)  # recorded in the label (see above)
        fp = footprint(request)
    return FootprintRecord.create(
        tenant=tenant,
        inputs=request_to_inputs(request),
        factor_versions=_factor_versions(request),
        figures=FootprintFigures.from_footprint(fp),
        period_start_utc=period_start_utc,
        period_end_utc=period_end_utc,
        computed_utc=computed_utc,
        calculator=CALCULATOR,
        event_id=event_id,
    )


def recompute_accounting(
    inputs: Mapping[str, Any], factor_versions: Mapping[str, str]
) -> FootprintFigures:
    """Recompute stored accounting-engine figures from their stored inputs."""
    version = inputs.get("engine_version")
    if version != ENGINE_VERSION:
        raise DataError(
            f"inputs were written by accounting engine {version!r}; this build "
            f"recomputes {ENGINE_VERSION!r} only"
        )
    request = request_from_inputs(dict(inputs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)  # the stored label records it
        fp = footprint(request)
    return FootprintFigures.from_footprint(fp)


def dispatch(recomputers: Mapping[str, Recompute]) -> Recompute:
    """One recompute that routes each footprint to its calculator's recompute."""

    def recompute(
        inputs: Mapping[str, Any], factor_versions: Mapping[str, str]
    ) -> FootprintFigures:
        calc = factor_versions.get("calculator") or inputs.get("engine_version")
        if not isinstance(calc, str):
            raise InputError(
                "the footprint names no calculator (factor_versions.calculator "
                "or inputs.engine_version)",
                field="calculator",
            )
        fn = recomputers.get(calc)
        if fn is None:
            raise DataError(
                f"no recompute known for calculator {calc!r}; known: "
                f"{', '.join(sorted(recomputers))}"
            )
        return fn(inputs, factor_versions)

    return recompute
