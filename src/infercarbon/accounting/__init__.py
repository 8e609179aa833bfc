"""Accounting: pure footprint composition (operational, idle, embodied, training, network,
outcomes, scopes, uncertainty) -> Footprint."""

from infercarbon.accounting.footprint import (
    Footprint,
    FootprintRequest,
    Input,
    LineItem,
    footprint,
)
from infercarbon.accounting.scenario import EstimateOptions, build_request, estimate

__all__ = [
    "EstimateOptions",
    "Footprint",
    "FootprintRequest",
    "Input",
    "LineItem",
    "build_request",
    "estimate",
    "footprint",
]
