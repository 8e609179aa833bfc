"""Footprint inputs as plain JSON, for storage and audit.

A stored footprint keeps ``request_to_inputs(request)`` and its hash
(:func:`infercarbon.ledger.canonical.inputs_hash`, the one canonical encoding); audit
recomputes with ``footprint(request_from_inputs(inputs))`` and must get the same numbers (the
Monte Carlo is seeded, so ranges reproduce too).

>>> from infercarbon.accounting.footprint import FootprintRequest, Input
>>> r = FootprintRequest(region_id="FRA", energy_j=Input.user("energy_j", 1.8, "j"),
...     intensity_location_g_per_kwh=Input.user("intensity_location_g_per_kwh", 55.0,
...     "g_per_kwh"), pue=Input.user("pue", 1.2, "ratio"), samples=200)
>>> request_from_inputs(request_to_inputs(r)) == r
True
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from infercarbon.accounting.footprint import FootprintRequest, Input
from infercarbon.accounting.uncertainty import Dist, Fixed, LogNormal, Triangular, Uniform
from infercarbon.errors import InputError

__all__ = [
    "ENGINE_VERSION",
    "request_from_inputs",
    "request_to_inputs",
]

#: Version of the footprint arithmetic; bump when a formula changes.
ENGINE_VERSION = "infercarbon-accounting-1"


def _dist_to_dict(d: Dist) -> dict[str, Any]:
    if isinstance(d, Fixed):
        return {"type": "fixed", "value": d.value}
    if isinstance(d, Uniform):
        return {"type": "uniform", "low": d.low, "high": d.high}
    if isinstance(d, Triangular):
        return {"type": "triangular", "low": d.low, "mode": d.mode, "high": d.high}
    if isinstance(d, LogNormal):
        return {"type": "lognormal", "median": d.median, "factor95": d.factor95, "shift": d.shift}
    raise InputError(f"cannot serialise distribution {d!r}", field="dist")


def _dist_from_dict(d: dict[str, Any]) -> Dist:
    kind = d.get("type")
    try:
        if kind == "fixed":
            return Fixed(float(d["value"]))
        if kind == "uniform":
            return Uniform(float(d["low"]), float(d["high"]))
        if kind == "triangular":
            return Triangular(float(d["low"]), float(d["mode"]), float(d["high"]))
        if kind == "lognormal":
            return LogNormal(float(d["median"]), float(d["factor95"]), float(d["shift"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed distribution {d!r}: {exc}", field="dist") from exc
    raise InputError(f"unknown distribution type {kind!r}", field="dist")


def request_to_inputs(r: FootprintRequest) -> dict[str, Any]:
    """Every field of the request as JSON-safe values (Inputs with their provenance)."""
    out: dict[str, Any] = {"engine_version": ENGINE_VERSION}
    for f in fields(r):
        v = getattr(r, f.name)
        if isinstance(v, Input):
            out[f.name] = {
                "name": v.name,
                "dist": _dist_to_dict(v.dist),
                "unit": v.unit,
                "source": v.source,
                "label": v.label,
                "note": v.note,
                "vintage": v.vintage,
            }
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out


def request_from_inputs(d: dict[str, Any]) -> FootprintRequest:
    """Rebuild the request stored by :func:`request_to_inputs`."""
    kwargs: dict[str, Any] = {}
    names = {f.name for f in fields(FootprintRequest)}
    unknown = set(d) - names - {"engine_version"}
    if unknown:
        raise InputError(
            f"unknown footprint input(s): {', '.join(sorted(unknown))}", field="inputs"
        )
    for name in names & set(d):
        v = d[name]
        if isinstance(v, dict) and "dist" in v:
            kwargs[name] = Input(
                v["name"],
                _dist_from_dict(v["dist"]),
                v["unit"],
                v["source"],
                v["label"],
                v.get("note"),
                v.get("vintage"),
            )
        elif name == "notes":
            kwargs[name] = tuple(v)
        else:
            kwargs[name] = v
    try:
        return FootprintRequest(**kwargs)
    except TypeError as exc:
        raise InputError(f"incomplete footprint inputs: {exc}", field="inputs") from exc
