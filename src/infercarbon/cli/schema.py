"""``infercarbon schema``: print the published JSON Schema of an input file format.

::

    infercarbon schema instruments   # the instruments file (estimate/serve --instruments)
    infercarbon schema submission    # one row of a living-benchmark submission
    infercarbon schema instruments --out docs/schemas/instruments.schema.json

The schemas are generated from the pydantic models that validate the files
(:mod:`infercarbon.grid.instruments_schema`, :class:`infercarbon.benchmark.submissions.
SubmissionRow`); the copies under ``docs/schemas/`` are checked against them by a test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from infercarbon.errors import InputError


class SchemaName(StrEnum):
    instruments = "instruments"
    submission = "submission"


def _instruments() -> dict[str, Any]:
    from infercarbon.grid.instruments_schema import instruments_json_schema

    return instruments_json_schema()


def _submission() -> dict[str, Any]:
    from infercarbon.benchmark.submissions import submission_json_schema

    return submission_json_schema()


#: Schema name -> (generator, file name under docs/schemas/).
SCHEMAS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "instruments": (_instruments, "instruments.schema.json"),
    "submission": (_submission, "benchmark-submission.schema.json"),
}


def schema_text(name: str) -> str:
    """The JSON Schema ``name`` as the text published under ``docs/schemas/``."""
    if name not in SCHEMAS:
        raise InputError(f"unknown schema {name!r}; use one of {', '.join(SCHEMAS)}", field="name")
    return json.dumps(SCHEMAS[name][0](), indent=2, ensure_ascii=False) + "\n"


def schema(
    name: Annotated[SchemaName, typer.Argument(help="instruments | submission")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the schema to this file instead of stdout."),
    ] = None,
) -> None:
    """Print the JSON Schema (draft 2020-12) of an input file: the instruments file or a
    benchmark submission row."""
    text = schema_text(name.value)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc}", field="out") from exc


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
