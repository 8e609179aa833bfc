"""The submission row model (SubmissionRow) and its published JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from infercarbon.benchmark.submissions import (
    ACCEPTED_LICENCES,
    COLUMN_NAMES,
    ENERGY_METHODS,
    SCHEMA,
    SubmissionRow,
    read_submission_csv,
    submission_json_schema,
    validate_rows,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark"
PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "schemas"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _typed(m: SubmissionRow) -> dict[str, Any]:
    """A validated row as typed JSON values (what the schema describes)."""
    return {
        c: v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
        for c in COLUMN_NAMES
        if (v := getattr(m, c)) is not None
    }


def _rows() -> list[dict[str, str]]:
    rows, errors = read_submission_csv((DATA / "valid_submissions.csv").read_text())
    assert not errors
    return [r for _, r in rows]


def test_valid_rows_follow_the_published_schema() -> None:
    schema = json.loads((PUBLISHED / "benchmark-submission.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for raw in _rows():
        v.validate(_typed(SubmissionRow.model_validate(raw, context={"now_utc": NOW})))


def test_schema_documents_every_column_in_csv_order() -> None:
    schema = submission_json_schema()
    assert list(schema["properties"]) == list(COLUMN_NAMES)
    assert schema["additionalProperties"] is False
    for c in SCHEMA:
        assert schema["properties"][c.name]["description"].startswith(c.description)
    required = {c.name for c in SCHEMA if c.required == "yes"}
    assert required == set(schema["required"])


@pytest.mark.parametrize(
    ("column", "value"),
    [("pue", 0.5), ("pue_source", "guessed"), ("licence", "GPL-3.0"), ("n_inferences", 0)],
)
def test_schema_and_model_refuse_the_same_values(column: str, value: Any) -> None:
    raw = _rows()[0]
    typed = _typed(SubmissionRow.model_validate(raw, context={"now_utc": NOW}))
    errors = jsonschema.Draft202012Validator(submission_json_schema()).iter_errors(
        {**typed, column: value}
    )
    assert [list(e.absolute_path) for e in errors] == [[column]]
    outcomes, _ = validate_rows([(2, {**raw, column: str(value)})], now_utc=NOW)
    assert [e.column for e in outcomes[0].errors] == [column]


def test_choices_come_from_one_place() -> None:
    props = submission_json_schema()["properties"]
    assert tuple(props["licence"]["enum"]) == ACCEPTED_LICENCES
    assert set(props["energy_method"]["enum"]) == set(ENERGY_METHODS)


def test_canonical_values_are_the_stored_text() -> None:
    raw = {**_rows()[0], "pue_source": "Vendor", "licence": "cc-by-4.0", "pue": " 1.050 "}
    m = SubmissionRow.model_validate(raw, context={"now_utc": NOW})
    v = m.canonical_values()
    assert v["pue_source"] == "vendor-published" and v["licence"] == "CC-BY-4.0"
    assert v["pue"] == "1.05" and v["window_start_utc"].endswith("Z")
    assert set(v) == set(COLUMN_NAMES)
