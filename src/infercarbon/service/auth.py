"""Per-tenant API keys: creation, hashed storage and constant-time verification.

A key is shown once, at creation, as ``ic_<key_id>_<secret>``:

- ``key_id`` (12 hex digits) is public: it names the key in logs and in the key store;
- ``secret`` (32 random bytes, URL-safe base64) is never stored.  The store keeps
  ``sha256(key_id + ":" + secret)`` and a request's secret is checked with
  :func:`hmac.compare_digest` against it, so a timing difference reveals nothing of the hash.

Scopes: ``tenant`` keys read and write only their own tenant's data; ``admin`` keys see all
tenants.  A revoked key is refused.

Key stores (one interface, :class:`KeyStore`):

- :class:`FileKeyStore`: a JSON file beside a DuckDB ledger (``ledger.duckdb.keys.json``).  The
  embedded DuckDB file admits one writing process, so keys live beside it rather than in it:
  ``infercarbon keys create`` then works while ``infercarbon serve`` holds the ledger open, and
  the server re-reads the file when it changes.  Written atomically (temp file + rename),
  mode 0600.
- :class:`PostgresKeyStore`: an ``infercarbon_api_keys`` table in the ledger's PostgreSQL
  database.
- :class:`MemoryKeyStore`: for tests and embedding.

>>> store = MemoryKeyStore()
>>> secret, rec = create_key(store, tenant="acme", clock=lambda: 0.0, token=lambda n: b"k" * n)
>>> secret.startswith("ic_" + rec.key_id + "_")
True
>>> authenticate(store, "Bearer " + secret).tenant
'acme'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from infercarbon.errors import AuthError, ConfigurationError, InputError, LedgerError
from infercarbon.timeutil import EpochClockS

__all__ = [
    "SCOPES",
    "FileKeyStore",
    "KeyRecord",
    "KeyStore",
    "MemoryKeyStore",
    "PostgresKeyStore",
    "Principal",
    "authenticate",
    "create_key",
    "hash_secret",
    "key_store_for",
]

Scope = Literal["tenant", "admin"]
SCOPES: tuple[str, ...] = ("tenant", "admin")
_TOKEN_RE = re.compile(r"^ic_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
#: Tenant names: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_TENANT_RE = re.compile(TENANT_PATTERN)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One stored key: never the secret, only its hash."""

    key_id: str
    tenant: str
    scope: Scope
    secret_sha256: str
    created_utc: str
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a tenant, or an admin (who may act for any tenant)."""

    key_id: str
    tenant: str
    scope: Scope

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"


class KeyStore(Protocol):
    """Where key records live."""

    def put(self, record: KeyRecord) -> None: ...

    def get(self, key_id: str) -> KeyRecord | None: ...

    def all(self) -> list[KeyRecord]: ...

    def revoke(self, key_id: str) -> None: ...


def hash_secret(key_id: str, secret: str) -> str:
    """Hex sha256 of ``key_id:secret`` (the key id salts the hash)."""
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def check_tenant(tenant: str) -> str:
    if not _TENANT_RE.match(tenant):
        raise InputError(
            f"{tenant!r} is not a tenant name: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field="tenant",
        )
    return tenant


def create_key(
    store: KeyStore,
    *,
    tenant: str,
    admin: bool = False,
    clock: EpochClockS,
    token: Callable[[int], bytes] = secrets.token_bytes,
) -> tuple[str, KeyRecord]:
    """Create a key; return ``(secret_token, record)``.  The token is shown once."""
    check_tenant(tenant)
    key_id = token(6).hex()
    if store.get(key_id) is not None:  # 2^-48 per key; refuse rather than overwrite
        raise LedgerError(f"key id {key_id} already exists; create the key again")
    secret = urlsafe_b64encode(token(32)).decode().rstrip("=")
    created = datetime.fromtimestamp(clock(), tz=UTC).isoformat()
    rec = KeyRecord(
        key_id, tenant, "admin" if admin else "tenant", hash_secret(key_id, secret), created
    )
    store.put(rec)
    return f"ic_{key_id}_{secret}", rec


def authenticate(store: KeyStore, authorization: str | None) -> Principal:
    """Check an ``Authorization`` header value; raise :class:`AuthError` unless valid."""
    if not authorization:
        raise AuthError("missing Authorization header (use 'Authorization: Bearer <key>')")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("Authorization must be 'Bearer <key>'")
    m = _TOKEN_RE.match(token.strip())
    if m is None:
        raise AuthError("malformed API key (expected ic_<key id>_<secret>)")
    key_id, secret = m.group(1), m.group(2)
    rec = store.get(key_id)
    # compare against a dummy hash when the id is unknown so both paths cost the same
    expected = rec.secret_sha256 if rec is not None else "0" * 64
    ok = hmac.compare_digest(hash_secret(key_id, secret), expected)
    if rec is None or not ok:
        raise AuthError("unknown API key")
    if rec.revoked:
        raise AuthError(f"API key {key_id} is revoked")
    return Principal(rec.key_id, rec.tenant, rec.scope)


# ----------------------------------------------------------------------------- stores
class MemoryKeyStore:
    """Keys in a dict (tests, embedding)."""

    def __init__(self) -> None:
        self._keys: dict[str, KeyRecord] = {}
        self._lock = threading.Lock()

    def put(self, record: KeyRecord) -> None:
        with self._lock:
            self._keys[record.key_id] = record

    def get(self, key_id: str) -> KeyRecord | None:
        return self._keys.get(key_id)

    def all(self) -> list[KeyRecord]:
        return sorted(self._keys.values(), key=lambda r: r.created_utc)

    def revoke(self, key_id: str) -> None:
        with self._lock:
            rec = self._keys.get(key_id)
            if rec is None:
                raise InputError(f"no key {key_id!r}", field="key_id")
            self._keys[key_id] = KeyRecord(
                rec.key_id, rec.tenant, rec.scope, rec.secret_sha256, rec.created_utc, True
            )


def _record(d: dict[str, Any], where: str) -> KeyRecord:
    try:
        scope = d["scope"]
        if scope not in SCOPES:
            raise ValueError(f"scope {scope!r}")
        return KeyRecord(
            str(d["key_id"]),
            str(d["tenant"]),
            scope,
            str(d["secret_sha256"]),
            str(d["created_utc"]),
            bool(d.get("revoked", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LedgerError(f"{where}: malformed key record ({exc})") from exc


class FileKeyStore:
    """Keys in a JSON file, re-read whenever its modification time changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, KeyRecord] = {}

    def _load(self) -> dict[str, KeyRecord]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._keys = None, {}
            return self._keys
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise LedgerError(f"cannot read key file {self.path}: {exc}") from exc
            if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
                raise LedgerError(f"key file {self.path}: expected {{'keys': [...]}}")
            keys = [_record(d, str(self.path)) for d in doc["keys"]]
            self._keys = {k.key_id: k for k in keys}
            self._stamp = stamp
        return self._keys

    def _write(self, keys: dict[str, KeyRecord]) -> None:
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
        data = json.dumps({"keys": [asdict(k) for k in keys.values()]}, indent=1)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise LedgerError(f"cannot write key file {self.path}: {exc}") from exc
        self._stamp = None

    def put(self, record: KeyRecord) -> None:
        with self._lock:
            keys = dict(self._load())
            keys[record.key_id] = record
            self._write(keys)

    def get(self, key_id: str) -> KeyRecord | None:
        with self._lock:
            return self._load().get(key_id)

    def all(self) -> list[KeyRecord]:
        with self._lock:
            return sorted(self._load().values(), key=lambda r: r.created_utc)

    def revoke(self, key_id: str) -> None:
        with self._lock:
            keys = dict(self._load())
            rec = keys.get(key_id)
            if rec is None:
                raise InputError(f"no key {key_id!r}", field="key_id")
            keys[key_id] = KeyRecord(
                rec.key_id, rec.tenant, rec.scope, rec.secret_sha256, rec.created_utc, True
            )
            self._write(keys)


_PG_DDL = """
CREATE TABLE IF NOT EXISTS infercarbon_api_keys (
    key_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('tenant', 'admin')),
    secret_sha256 TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
)
"""


class PostgresKeyStore:
    """Keys in the ``infercarbon_api_keys`` table of the ledger's PostgreSQL database.

    Every request looks its key up here, so the store keeps one connection (autocommit,
    one statement at a time) instead of opening one per call: a connection costs the
    server a process and both sides a SCRAM exchange, ~10 ms of CPU per request on the
    2-vCPU VM, against ~0.3 ms for the look-up itself.  Each look-up still reads the table
    (a revoked key stops at once).  A look-up on a connection that broke (the server
    restarted) is tried once more on a new one; a write is not (it may have been applied)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._lock = threading.Lock()
        self._conn: Any = None
        self._finalizer: Any = None
        self._run(_PG_DDL)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # closes the connection
            self._finalizer = None
        self._conn = None

    def _run(
        self, sql: str, params: tuple[Any, ...] = (), *, retry: bool = True
    ) -> list[tuple[Any, ...]]:
        import weakref

        import psycopg

        with self._lock:
            for attempt in (1, 2):
                fresh = self._conn is None
                try:
                    if fresh:
                        self._conn = psycopg.connect(self.dsn, autocommit=True)
                        # closed when the store is collected or the process exits
                        self._finalizer = weakref.finalize(self, self._conn.close)
                    with self._conn.cursor() as cur:
                        cur.execute(sql, params)
                        return list(cur.fetchall()) if cur.description else []
                except psycopg.OperationalError as exc:
                    self._drop()
                    if fresh or not retry or attempt == 2:
                        raise LedgerError(f"PostgreSQL key store: {exc}") from exc
                except psycopg.Error as exc:
                    raise LedgerError(f"PostgreSQL key store: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def put(self, record: KeyRecord) -> None:
        self._run(
            "INSERT INTO infercarbon_api_keys VALUES (%s, %s, %s, %s, %s, %s)",
            (
                record.key_id,
                record.tenant,
                record.scope,
                record.secret_sha256,
                record.created_utc,
                record.revoked,
            ),
            retry=False,
        )

    def get(self, key_id: str) -> KeyRecord | None:
        rows = self._run(
            "SELECT key_id, tenant, scope, secret_sha256, created_utc, revoked "
            "FROM infercarbon_api_keys WHERE key_id = %s",
            (key_id,),
        )
        return _record(dict(zip(_FIELDS, rows[0], strict=True)), "postgres") if rows else None

    def all(self) -> list[KeyRecord]:
        rows = self._run(
            "SELECT key_id, tenant, scope, secret_sha256, created_utc, revoked "
            "FROM infercarbon_api_keys ORDER BY created_utc"
        )
        return [_record(dict(zip(_FIELDS, r, strict=True)), "postgres") for r in rows]

    def revoke(self, key_id: str) -> None:
        if self.get(key_id) is None:
            raise InputError(f"no key {key_id!r}", field="key_id")
        self._run(
            "UPDATE infercarbon_api_keys SET revoked = TRUE WHERE key_id = %s",
            (key_id,),
            retry=False,
        )


_FIELDS = ("key_id", "tenant", "scope", "secret_sha256", "created_utc", "revoked")


def key_store_for(ledger: str) -> KeyStore:
    """The key store that belongs with a ledger location (a DuckDB path or a PostgreSQL URL)."""
    if ledger.startswith(("postgresql://", "postgres://")):
        return PostgresKeyStore(ledger)
    if ledger in ("", ":memory:"):
        raise ConfigurationError("an in-memory ledger has no key file; pass a key store")
    path = Path(ledger)
    if path.is_dir():
        raise ConfigurationError(
            f"{ledger} is a directory; --ledger names the ledger's DuckDB file (e.g. ledger.duckdb)"
        )
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as f:
            head = f.read(16)
        if head[8:12] != b"DUCK":  # the DuckDB file header's magic bytes
            raise ConfigurationError(
                f"{ledger} is not a DuckDB ledger (no DuckDB file header); "
                "give the ledger's file, or a new path to create one"
            )
    return FileKeyStore(ledger + ".keys.json")
