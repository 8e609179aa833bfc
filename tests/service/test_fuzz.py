"""API fuzzing from the OpenAPI spec (schemathesis + hypothesis): no 5xx, no partial writes.

Every operation is called with generated (valid and invalid) inputs, with a tenant key; a
request answered with an error must leave the ledger's event and footprint counts unchanged,
and a 2xx ingest must leave exactly one footprint per stored event.  Bounded examples keep it
fast.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis
    from schemathesis.core.result import Ok

pytestmark = pytest.mark.slow  # API fuzzing: many requests per test


def _strategy(operation):
    """Valid and invalid inputs for one operation."""
    from schemathesis import GenerationMode

    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )


def test_no_5xx_and_no_partial_writes(h):
    """Every operation of the OpenAPI spec, 25 generated cases each.

    Driven through schemathesis's Python API with hypothesis directly (not its pytest plugin,
    whose lazy fixture reads pytest internals that pytest 9.2 removed)."""
    gen = h.make_env()
    env = next(gen)
    try:
        env.client.post("/v1/events", json=[h.event(i) for i in range(6)], headers=env.acme)
        api = schemathesis.openapi.from_asgi("/openapi.json", env.app)
        operations = []
        for result in api.get_all_operations():
            assert isinstance(result, Ok), result
            operations.append(result.ok())
        assert len(operations) >= 10
        calls: list[str] = []
        for operation in operations:

            @given(case=_strategy(operation))
            @settings(
                max_examples=25,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case):
                before = (env.store.count("events"), env.store.count("footprints"))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    response = case.call(headers=env.acme)
                calls.append(f"{case.method} {case.path} {response.status_code}")
                assert response.status_code < 500, (case.method, case.path, response.text[:500])
                after = (env.store.count("events"), env.store.count("footprints"))
                if response.status_code >= 400:
                    assert after == before, (case.method, case.path, response.status_code)
                assert after[0] == after[1]  # every stored event has exactly one footprint

            check()
        assert len(calls) >= 10 * len(operations)  # every operation was exercised
        assert any(c.endswith((" 401", " 403", " 404", " 405", " 413", " 422")) for c in calls)
    finally:
        gen.close()


_OFFSETS = st.sampled_from(["Z", "+00:00", "-14:00", "+14:00", "+05:30"])


def test_extreme_times_nesting_and_energy_never_5xx(h):
    """Any year 0000..9999 with any offset, any nesting depth, any finite energy: a 2xx or
    a 4xx, and nothing written on a 4xx (one service for every example)."""
    gen = h.make_env()
    env = next(gen)
    seq = iter(range(10**6))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        year=st.integers(0, 9999),
        offset=_OFFSETS,
        depth=st.integers(0, 3000),
        energy=st.floats(0.0, 1.7e308, allow_nan=False, allow_infinity=False),
    )
    def check(year, offset, depth, energy):
        before = env.store.count("events")
        t = f"{year:04d}-12-31T23:59:59{offset}"
        ev = h.event(next(seq), start_utc=t, end_utc=t, energy_j=energy)
        r = env.client.post("/v1/events", json=[ev], headers=env.acme)
        assert r.status_code < 500, r.text[:300]
        if r.status_code >= 400:
            assert env.store.count("events") == before
        body = "[" * depth + "]" * depth
        r = env.client.post("/v1/events", content=body, headers=env.acme)
        assert r.status_code < 500, r.text[:300]

    try:
        check()
    finally:
        gen.close()
