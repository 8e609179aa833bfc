"""Accounting: pure footprint composition (operational, idle, embodied, training, network,
outcomes, scopes, uncertainty) -> Footprint.

The same lines for a batch of ledger events (ingest, backfill, what-if, audit recompute) are
:mod:`infercarbon.accounting.batch`, with :mod:`infercarbon.accounting.signals` deciding which
grid signal prices each event; they write the ledger's records, so import them by module
(importing them here would load the ledger, and its database driver, with every estimate).
"""

from infercarbon.accounting.footprint import (
    BasisTotal,
    Footprint,
    FootprintRequest,
    Input,
    LineItem,
    footprint,
)
from infercarbon.accounting.scenario import EstimateOptions, build_request, estimate
from infercarbon.accounting.serialize import (
    ENGINE_VERSION,
    request_from_inputs,
    request_to_inputs,
)

__all__ = [
    "ENGINE_VERSION",
    "BasisTotal",
    "EstimateOptions",
    "Footprint",
    "FootprintRequest",
    "Input",
    "LineItem",
    "build_request",
    "estimate",
    "footprint",
    "request_from_inputs",
    "request_to_inputs",
]
