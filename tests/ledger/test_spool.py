"""Crash test of the spool ingest: kill -9 replicas and the committer at random points;
no acknowledged event is lost and none is duplicated in the lake."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pyarrow as pa
import pytest

from infercarbon.ledger.lake import open_lake
from infercarbon.ledger.spool import commit_spool

pytest.importorskip("pyiceberg")
TS = pa.timestamp("us", tz="UTC")
SRC = str(Path(__file__).resolve().parents[2] / "src")
REPLICA = str(Path(__file__).with_name("spool_replica.py"))


def _stdout(p: subprocess.Popen[bytes]) -> IO[bytes]:
    """The replica's stdout pipe (opened with stdout=PIPE)."""
    assert p.stdout is not None
    return p.stdout


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _acked(out: bytes) -> list[str]:
    ids = []
    for line in out.decode().splitlines():
        parts = line.split()
        if parts and parts[0] == "ack":
            ids.extend(parts[2:])
    return ids


@pytest.mark.slow
def test_kill_9_of_replicas_and_committer_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(20261207)
    spool = tmp_path / "spool"
    target = str(tmp_path / "lake")
    open_lake(target).close()
    acked: list[str] = []
    committer = [
        sys.executable,
        "-m",
        "infercarbon.cli.main",
        "lake",
        "commit",
        "--spool",
        str(spool),
        "--catalog",
        target,
        "--max-batches",
        "4",
        "--until-empty",
    ]
    kills: Counter[str] = Counter()
    for trial in range(10):
        # replicas and the committer start together; the committer commits in a loop
        # while the replicas write, so the kills land in the middle of the work
        reps = [
            subprocess.Popen(
                [sys.executable, REPLICA, str(spool), f"t{trial}r{k}", "2000", "25"],
                stdout=subprocess.PIPE,
                env=_env(),
            )
            for k in range(2)
        ]
        com = subprocess.Popen(
            committer, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()
        )
        first = [_stdout(p).readline() for p in reps]  # each replica is up and acknowledging
        for line in first:
            acked.extend(_acked(line))
        # wait for the committer's first commit of this trial (its files moved), so that
        # the kills land while it commits, not while Python starts
        done = spool / "committed"
        before = len(list(done.iterdir())) if done.is_dir() else 0
        deadline = time.monotonic() + 30.0
        while (
            (not done.is_dir() or len(list(done.iterdir())) == before)
            and com.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        victim = reps[0]
        victim.send_signal(signal.SIGKILL)
        kills["replica"] += 1
        time.sleep(rng.uniform(0.0, 0.4))
        if com.poll() is None:
            com.send_signal(signal.SIGKILL)
            kills["committer"] += 1
        com.wait()
        for p in reps:
            if p is not victim:
                p.send_signal(signal.SIGKILL)
            out, _ = p.communicate()
            _stdout(p).close()
            acked.extend(_acked(out))
    commits_during_trials = len(open_lake(target).table("events").snapshots())
    assert kills["replica"] >= 10 and kills["committer"] >= 5
    # a final committer run (as after a restart) drains the spool
    lake = open_lake(target)
    while commit_spool(lake, spool, now=lambda: datetime.now(UTC)).batches:
        pass
    stored = lake.read("events", columns=["event_id"])["event_id"].to_pylist()
    counts = Counter(stored)
    assert not [k for k, c in counts.items() if c > 1], "duplicated events"
    missing = set(acked) - set(counts)
    assert not missing, f"{len(missing)} acknowledged event(s) lost"
    print(
        f"acked {len(acked)}, stored {len(stored)}, kills {dict(kills)}, "
        f"commits during the trials {commits_during_trials}"
    )
    assert len(acked) > 500
    assert commits_during_trials >= 10  # the committers did commit between the kills


def test_a_commit_cut_before_the_files_move_is_not_loaded_twice(tmp_path):
    from infercarbon.ledger.spool import SpoolWriter

    spool = tmp_path / "spool"
    t = datetime(2026, 7, 1, 12, tzinfo=UTC)
    w = SpoolWriter(spool)
    for b in range(3):
        ids = [f"e{b}-{i}" for i in range(4)]
        w.write(
            pa.table(
                {
                    "event_id": ids,
                    "start_utc": pa.array([t] * 4, TS),
                    "end_utc": pa.array([t] * 4, TS),
                    "device": ["g0"] * 4,
                }
            )
        )
    # the same events in a new batch (a client resending to another replica)
    w.write(
        pa.table(
            {
                "event_id": ["e0-0", "e9-9"],
                "start_utc": pa.array([t] * 2, TS),
                "end_utc": pa.array([t] * 2, TS),
                "device": ["g0"] * 2,
            }
        )
    )
    lake = open_lake(tmp_path / "lake")
    rep = commit_spool(lake, spool, now=lambda: t)
    assert (rep.batches, rep.events_received, rep.events_appended) == (4, 14, 13)
    # the committer died after the Iceberg commit, before moving the files: they are back
    for f in (spool / "committed").iterdir():
        f.rename(spool / "ready" / f.name)
    rep = commit_spool(lake, spool, now=lambda: t)
    # every batch put at least one new event in, so every batch id is in the table
    assert (rep.batches, rep.already_committed, rep.events_appended) == (4, 4, 0)
    assert rep.snapshot_id is None
    ids = lake.read("events", columns=["event_id"])["event_id"].to_pylist()
    assert len(ids) == len(set(ids)) == 13


def test_only_old_tmp_files_are_swept(tmp_path):
    from infercarbon.ledger.spool import sweep_incoming

    inc = tmp_path / "spool" / "incoming"
    inc.mkdir(parents=True)
    (inc / "old.1.tmp").write_bytes(b"x")
    (inc / "new.2.tmp").write_bytes(b"x")
    os.utime(inc / "old.1.tmp", (1000.0, 1000.0))
    now = (inc / "new.2.tmp").stat().st_mtime + 5.0
    assert sweep_incoming(tmp_path / "spool", now_s=now) == 1
    assert [f.name for f in inc.iterdir()] == ["new.2.tmp"]
