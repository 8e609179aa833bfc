"""Accounting: pure footprint composition (operational, idle, embodied, training, network,
outcomes, scopes, uncertainty) -> Footprint."""

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
