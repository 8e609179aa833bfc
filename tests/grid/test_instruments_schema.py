"""The instruments file's pydantic models and its published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from infercarbon.errors import InstrumentsFileError, ParseError
from infercarbon.grid.instruments_schema import (
    CSV_ENTRIES,
    EAC_TYPES,
    InstrumentsDocument,
    instruments_json_schema,
    validate_document,
    validate_row,
)

DATA = Path(__file__).parents[1] / "data" / "instruments"
PUBLISHED = Path(__file__).parents[2] / "docs" / "schemas" / "instruments.schema.json"


@pytest.mark.parametrize("name", ["ercot_2021.json", "ercot_week_hourly.json"])
def test_example_files_follow_the_published_schema(name: str) -> None:
    schema = json.loads(PUBLISHED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads((DATA / name).read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert isinstance(validate_document(doc, path=name), InstrumentsDocument)


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        ({"matching": "daily"}, ["matching"]),
        ({"version": 2}, ["version"]),
        ({"colour": "green"}, []),
        ({"eacs": [{"id": "e", "type": "TREC"}]}, ["eacs", 0]),
        ({"residual_mix": {"factor_g_per_kwh": -1, "source": "s"}}, ["residual_mix"]),
    ],
)
def test_the_schema_and_the_models_refuse_the_same_documents(
    edit: dict[str, Any], path: list[Any]
) -> None:
    doc = {**json.loads((DATA / "ercot_2021.json").read_text()), **edit}
    errors = list(jsonschema.Draft202012Validator(instruments_json_schema()).iter_errors(doc))
    assert errors and any(list(e.absolute_path)[: len(path)] == path for e in errors)
    with pytest.raises(InstrumentsFileError):
        validate_document(doc, path="x.json")


def test_errors_are_parse_errors_with_entry_and_field() -> None:
    doc = json.loads((DATA / "ercot_2021.json").read_text())
    doc["eacs"][0]["energy_mwh"] = "lots"
    with pytest.raises(InstrumentsFileError) as ei:
        validate_document(doc, path="f.json")
    e = ei.value
    assert isinstance(e, ParseError) and e.entry == "eacs[0] (id 'rec-2021')"
    assert e.column == "energy_mwh" and "'lots' is not a number" in str(e)
    with pytest.raises(InstrumentsFileError, match="top level"):
        validate_document([1], path="f.json")


def test_csv_rows_use_the_same_models() -> None:
    row = {"id": "a", "type": "rec", "energy_mwh": "1,000", "region": "ERCOT"}
    row |= {"vintage": "2021", "factor_g_per_kwh": "0", "tracking_id": "T", "source": "s"}
    m: Any = validate_row(CSV_ENTRIES["eac"], row, path="i.csv", row_no=2, kind="eac")
    assert m.type == "REC" and m.energy_mwh == 1000.0 and m.vintage == 2021
    with pytest.raises(InstrumentsFileError, match=r"row 3, field 'licence'.*not a field of a eac"):
        validate_row(
            CSV_ENTRIES["eac"], {**row, "licence": "x"}, path="i.csv", row_no=3, kind="eac"
        )
    blank = {**row, "tracking_id": " "}
    with pytest.raises(InstrumentsFileError, match="'tracking_id': is required"):
        validate_row(CSV_ENTRIES["eac"], blank, path="i.csv", row_no=2, kind="eac")


def test_choices_come_from_one_place() -> None:
    props = instruments_json_schema()["$defs"]["EACEntry"]["properties"]
    assert tuple(props["type"]["enum"]) == EAC_TYPES
