"""`infercarbon keys` and the key stores: secrets shown once, stored hashed, file re-read."""

from __future__ import annotations

import hashlib
import json

import pytest

from infercarbon.cli.main import main
from infercarbon.errors import AuthError
from infercarbon.service.auth import FileKeyStore, authenticate


def test_keys_create_list_revoke(tmp_path, capsys):
    ledger = str(tmp_path / "l.duckdb")
    assert main(["keys", "create", "--tenant", "acme", "--ledger", ledger]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("ic_")
    _, key_id, raw = secret.split("_", 2)
    doc = json.loads((tmp_path / "l.duckdb.keys.json").read_text())
    assert raw not in json.dumps(doc)  # only the hash is stored
    assert doc["keys"][0]["secret_sha256"] == hashlib.sha256(f"{key_id}:{raw}".encode()).hexdigest()
    assert (tmp_path / "l.duckdb.keys.json").stat().st_mode & 0o777 == 0o600
    store = FileKeyStore(tmp_path / "l.duckdb.keys.json")
    assert authenticate(store, f"Bearer {secret}").tenant == "acme"
    assert main(["keys", "list", "--ledger", ledger, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["tenant"] == "acme" and "secret_sha256" not in listed[0]
    assert main(["keys", "revoke", key_id, "--ledger", ledger]) == 0
    with pytest.raises(AuthError, match="revoked"):  # the server's store sees the change
        authenticate(store, f"Bearer {secret}")


def test_bad_tenant_name_is_refused(tmp_path, capsys):
    assert (
        main(["keys", "create", "--tenant", "a b/c", "--ledger", str(tmp_path / "l.duckdb")]) == 2
    )
    assert "tenant" in capsys.readouterr().err
