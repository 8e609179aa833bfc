"""OpenTelemetry: put an inference's energy and emissions on the current span.

Uses only ``opentelemetry-api``.  Without an SDK configured by the application, the current
span is the API's non-recording span and these calls do nothing (the API's own no-op); the
library never installs a tracer provider.

Attributes (units in the names, as everywhere in infercarbon)::

    infercarbon.energy_j          IT energy of the inference [J]
    infercarbon.co2e_g            gCO2e, location-based (the default accounting kind)
    infercarbon.co2e_market_g     gCO2e, market-based, when known
    infercarbon.co2e_marginal_g   gCO2e, marginal, when a marginal signal is known
    infercarbon.region            region id used for the intensity
"""

from __future__ import annotations

import math

from opentelemetry import trace

__all__ = ["ATTR_CO2E_G", "ATTR_ENERGY_J", "annotate_span"]

ATTR_ENERGY_J = "infercarbon.energy_j"
ATTR_CO2E_G = "infercarbon.co2e_g"


def annotate_span(
    *,
    energy_j: float,
    co2e_g: float | None = None,
    co2e_market_g: float | None = None,
    co2e_marginal_g: float | None = None,
    region: str | None = None,
) -> bool:
    """Set the attributes on the current span; return whether it was recording.

    A value that is ``None`` or not finite is left off (never written as 0)."""
    span = trace.get_current_span()
    if not span.is_recording():
        return False
    for key, value in (
        (ATTR_ENERGY_J, energy_j),
        (ATTR_CO2E_G, co2e_g),
        ("infercarbon.co2e_market_g", co2e_market_g),
        ("infercarbon.co2e_marginal_g", co2e_marginal_g),
    ):
        if value is not None and math.isfinite(value):
            span.set_attribute(key, float(value))
    if region:
        span.set_attribute("infercarbon.region", region)
    return True
