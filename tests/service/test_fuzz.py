"""API fuzzing from the OpenAPI spec (schemathesis + hypothesis): no 5xx, no partial writes.

Every operation is called with generated (valid and invalid) inputs, with a tenant key; a
request answered with an error must leave the ledger's event and footprint counts unchanged,
and a 2xx ingest must leave exactly one footprint per stored event.  Bounded examples keep it
fast.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis


@pytest.fixture
def fuzz_env(h):
    gen = h.make_env()
    env = next(gen)
    env.client.post("/v1/events", json=[h.event(i) for i in range(6)], headers=env.acme)
    yield env
    gen.close()


@pytest.fixture
def api_schema(fuzz_env):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_env.app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_no_partial_writes(case, fuzz_env):
    env = fuzz_env
    before = (env.store.count("events"), env.store.count("footprints"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        response = case.call(headers=env.acme)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    after = (env.store.count("events"), env.store.count("footprints"))
    if response.status_code >= 400:
        assert after == before, (case.method, case.path, response.status_code)
    assert after[0] == after[1]  # every stored event has exactly one footprint
