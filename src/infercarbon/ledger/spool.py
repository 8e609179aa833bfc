"""The ingest spool: stateless replicas write Arrow IPC batches, one committer loads them.

Several ``serve``-like replicas accept events; none of them holds state a crash could lose.
A replica validates a batch, writes it as an Arrow IPC file under ``incoming/``, fsyncs
the file, renames it into ``ready/`` and fsyncs the directory, and only then acknowledges
(:meth:`SpoolWriter.write` returns the batch id).  A batch is either wholly in ``ready/`` or
not there at all: a replica killed before the rename leaves a ``.tmp`` file that nobody
reads (and that :func:`sweep_incoming` removes once it is an hour old), and the client,
with no acknowledgement, sends again.

One committer (:func:`commit_spool`; ``infercarbon lake commit``) holds ``commit.lock``
(an ``flock``, released by the kernel if the committer dies), reads the ready batches, drops
the ones whose id is already in the lake's ``events`` table (``spool_batch_id``), anti-joins
the rest on ``event_id`` and appends them in one Iceberg commit, and only then moves the
files to ``committed/``.  Killed anywhere, it leaves either no new snapshot (the batches
are still ready; the next run commits them) or the snapshot with the batches' ids (the next
run finds them and only moves the files): never a lost acknowledged event, never a
duplicate.  The batch id is the SHA-256 of the batch's bytes, so a batch sent twice is one
batch.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InputError, LedgerError
from infercarbon.ledger.lake import EVENTS, Lake, conform
from infercarbon.timeutil import WallClockUtc

__all__ = ["CommitReport", "SpoolWriter", "commit_spool", "sweep_incoming"]

_SUFFIX: Final = ".arrow"
#: Event columns a replica takes from the sender (the rest are the committer's).
_SENT: Final = tuple(c for c in EVENTS.names if c not in ("spool_batch_id", "ingested_utc"))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _dirs(root: Path) -> tuple[Path, Path, Path]:
    dirs = (root / "incoming", root / "ready", root / "committed")
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


class SpoolWriter:
    """A replica's side of the spool: durable Arrow IPC batches."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.incoming, self.ready, _ = _dirs(self.root)

    def write(self, events: pa.Table) -> str:
        """Validate ``events`` (the ledger's event columns; ``event_id``, ``start_utc``,
        ``end_utc``, ``device`` required), make them durable, and return the batch id:
        the acknowledgement.  Nothing is acknowledged before the fsyncs."""
        for c in ("event_id", "start_utc", "end_utc", "device"):
            if c not in events.column_names:
                raise InputError("is required in every event", field=f"events.{c}")
        data = conform(events.select([c for c in events.column_names if c in _SENT]), EVENTS)
        for c in ("start_utc", "end_utc", "device"):
            if data.column(c).null_count:
                raise InputError("has null values; every event needs one", field=f"events.{c}")
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, data.schema) as w:
            w.write_table(data)
        buf = sink.getvalue()
        batch_id = "sb_" + hashlib.sha256(buf.to_pybytes()).hexdigest()[:32]
        final = self.ready / f"{batch_id}{_SUFFIX}"
        if final.exists():
            return batch_id  # the same batch again: already durable
        tmp = self.incoming / f"{batch_id}.{os.getpid()}.tmp"
        with tmp.open("wb") as fh:
            fh.write(buf.to_pybytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, final)
        _fsync_dir(self.ready)
        return batch_id


def sweep_incoming(root: str | Path, *, now_s: float, older_than_s: float = 3600.0) -> int:
    """Remove the ``.tmp`` files of replicas that died before acknowledging, once they are
    ``older_than_s`` old (by their modification time against ``now_s``, epoch seconds: a
    live replica's file is seconds old and never swept); the count."""
    incoming, _, _ = _dirs(Path(root))
    n = 0
    for f in incoming.glob("*.tmp"):
        try:
            if now_s - f.stat().st_mtime >= older_than_s:
                f.unlink()
                n += 1
        except FileNotFoundError:
            continue  # renamed into ready/ or removed meanwhile
    return n


@dataclass(frozen=True)
class CommitReport:
    """What a commit did: ready batches seen, batches already in the lake (files only
    moved), events appended and skipped as already stored, the snapshot created."""

    batches: int
    already_committed: int
    events_received: int
    events_appended: int
    events_skipped: int
    snapshot_id: int | None


def _read(path: Path) -> pa.Table:
    try:
        with pa.memory_map(str(path)) as src:
            return pa.ipc.open_file(src).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise LedgerError(
            f"spool batch {path.name} is unreadable ({exc}); move it aside and resend its events"
        ) from exc


def commit_spool(
    lake: Lake, root: str | Path, *, now: WallClockUtc, max_batches: int = 1000
) -> CommitReport:
    """Commit up to ``max_batches`` ready batches into the lake's ``events`` table in one
    Iceberg commit (see the module docstring for why this is exactly once)."""
    root = Path(root)
    _, ready, committed = _dirs(root)
    lock = (root / "commit.lock").open("a")
    try:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LedgerError(f"another committer holds {root / 'commit.lock'}") from exc
        files = sorted(ready.glob(f"*{_SUFFIX}"))[:max_batches]
        ids = [f.name.removesuffix(_SUFFIX) for f in files]
        if not files:
            return CommitReport(0, 0, 0, 0, 0, None)
        batches = {i: _read(f) for f, i in zip(files, ids, strict=True)}
        # which batches a previous commit already loaded: their ids in the events of the
        # days the batches cover (Iceberg prunes the other days' files)
        starts = [t.column("start_utc") for t in batches.values() if t.num_rows]
        lo = min((pc.min(c).as_py() for c in starts), default=None)
        hi = max((pc.max(c).as_py() for c in starts), default=None)
        stored = lake.read(
            "events",
            columns=["spool_batch_id"],
            equals={"spool_batch_id": ids},
            start_utc=None if lo is None else lo.replace(hour=0, minute=0, second=0, microsecond=0),
            end_utc=None if hi is None else hi + timedelta(microseconds=1),
        )
        done = set(pc.unique(stored.column("spool_batch_id")).to_pylist())
        todo = [(f, i) for f, i in zip(files, ids, strict=True) if i not in done]
        tables = []
        stamp = now()
        for _, i in todo:
            t = batches[i]
            t = t.set_column(
                t.schema.get_field_index("spool_batch_id"),
                "spool_batch_id",
                pa.array([i] * t.num_rows, pa.string()),
            )
            t = t.set_column(
                t.schema.get_field_index("ingested_utc"),
                "ingested_utc",
                pa.array([stamp] * t.num_rows, EVENTS.schema.field("ingested_utc").type),
            )
            tables.append(t)
        received = sum(t.num_rows for t in tables)
        snap = None
        appended = 0
        if tables:
            rep = lake.append_new(
                "events",
                pa.concat_tables(tables),
                properties={"infercarbon.spool-batches": ",".join(i for _, i in todo)},
            )
            snap, appended = rep.snapshot_id, rep.appended
        for f in files:
            os.rename(f, committed / f.name)
        _fsync_dir(committed)
        _fsync_dir(ready)
        return CommitReport(
            len(files), len(files) - len(todo), received, appended, received - appended, snap
        )
    finally:
        lock.close()
