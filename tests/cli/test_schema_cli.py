"""``infercarbon schema``: the published JSON Schemas under docs/schemas/ are up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infercarbon.cli.main import main
from infercarbon.cli.schema import SCHEMAS, schema_text
from infercarbon.errors import InputError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_is_up_to_date(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Regenerate with ``infercarbon schema NAME --out docs/schemas/FILE`` when it fails."""
    committed = (DOCS / SCHEMAS[name][1]).read_text(encoding="utf-8")
    assert main(["schema", name]) == 0
    assert capsys.readouterr().out == committed, (
        f"docs/schemas/{SCHEMAS[name][1]} is stale: run "
        f"infercarbon schema {name} --out docs/schemas/{SCHEMAS[name][1]}"
    )
    doc = json.loads(committed)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"].endswith(f"docs/schemas/{SCHEMAS[name][1]}")


def test_out_writes_the_same_text(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert main(["schema", "submission", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == schema_text("submission")


def test_unknown_schema_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "ledger"]) == 2
    assert "instruments" in capsys.readouterr().err
    with pytest.raises(InputError, match="unknown schema"):
        schema_text("ledger")


def test_schemas_are_documented() -> None:
    text = (DOCS.parent / "instruments.md").read_text() + (
        DOCS.parent / "benchmark_submissions.md"
    ).read_text()
    for _, file in SCHEMAS.values():
        assert f"schemas/{file}" in text
