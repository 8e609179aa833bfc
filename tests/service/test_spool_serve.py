"""``serve --spool``: each accepted batch is also a durable spool batch, which the lake's
committer loads exactly once (a resent batch is one batch)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infercarbon.ledger.lake import open_lake
from infercarbon.ledger.spool import commit_spool

pytest.importorskip("pyiceberg")


def test_accepted_batches_reach_the_lake_once(h, tmp_path):
    spool = tmp_path / "spool"
    for env in h.make_env(spool=spool):
        evs = [h.event(i) for i in range(8)]
        assert env.client.post("/v1/events", json=evs, headers=env.acme).status_code == 200
        # the client resends (no reply seen): the ledger says duplicates, the spool batch is
        # the same bytes, so the same batch
        r = env.client.post("/v1/events", json=evs, headers=env.acme)
        assert r.status_code == 200 and r.json()["duplicates"] == 8
        assert env.client.post("/v1/events", json=[h.event(8)], headers=env.acme).status_code == 200
        # a refused batch is not spooled
        bad = env.client.post(
            "/v1/events", json=[h.event(9, end_utc="2026-06-01T00:00:00Z")], headers=env.acme
        )
        assert bad.status_code == 422
    assert len(list((spool / "ready").glob("*.arrow"))) == 2
    lake = open_lake(tmp_path / "lake")
    rep = commit_spool(lake, spool, now=lambda: datetime(2026, 7, 2, tzinfo=UTC))
    assert (rep.batches, rep.events_appended) == (2, 9)
    ev = lake.read("events")
    assert sorted(ev["event_id"].to_pylist()) == sorted(f"e{i}" for i in range(9))
    assert set(ev["tenant"].to_pylist()) == {"acme"}
    assert set(ev["batch_id"].to_pylist()) >= {"b0", "b1"}
