"""Stored footprint inputs recompute to the same figures (the basis of audit verify)."""

from __future__ import annotations

import json
import warnings

import pytest

from infercarbon.accounting import (
    EstimateOptions,
    build_request,
    footprint,
    request_from_inputs,
    request_to_inputs,
)
from infercarbon.errors import InputError
from infercarbon.ledger.canonical import inputs_hash


@pytest.mark.parametrize(
    "opts",
    [
        EstimateOptions(region="GB", workload="WL-02", tier="T1", samples=500),
        EstimateOptions(
            region="US",
            workload="WL-06",
            tier="T5",
            payload_bytes=16_000,
            training_t="502",
            lifetime_inferences=1e10,
            samples=500,
        ),
        EstimateOptions(
            region="ERCOT",
            energy_j="1.5..2.5",
            pue="1.2[1.1,1.4]",
            time_utc="2021-07-15T22:00Z",
            market_intensity_g_per_kwh=100,
            samples=500,
        ),
    ],
)
def test_round_trip_through_json_recomputes_exactly(opts: EstimateOptions) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = build_request(opts)
        stored = json.loads(json.dumps(request_to_inputs(r)))
        again = request_from_inputs(stored)
        assert again == r
        a, b = footprint(r), footprint(again)
    assert a.to_dict() == b.to_dict()
    assert inputs_hash(stored, {}) == inputs_hash(request_to_inputs(r), {})


def test_hash_changes_with_any_input() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = build_request(EstimateOptions(region="GB", energy_j=1.8, samples=500))
    h = inputs_hash(request_to_inputs(r), {})  # the ledger's hash, the one audit checks
    assert h != inputs_hash(request_to_inputs(r.with_(seed=1)), {})


def test_malformed_inputs_are_clear_errors() -> None:
    with pytest.raises(InputError, match="unknown footprint input"):
        request_from_inputs({"bogus": 1})
    with pytest.raises(InputError, match="distribution"):
        request_from_inputs(
            {
                "energy_j": {
                    "name": "energy_j",
                    "dist": {"type": "weird"},
                    "unit": "j",
                    "source": "x",
                    "label": "user",
                }
            }
        )
