"""The instruments file as pydantic models: its field rules in one place, and its JSON Schema.

:mod:`infercarbon.grid.instruments` reads a file, validates it here and turns the models
into its own types (regions resolved, profiles read, energies in kWh).  The models state
the rules declaratively: types, ranges (``ge=0``), choices (``Literal``), required fields,
unknown fields (``extra="forbid"``) and the cross-field rules as validators (``energy_kwh``
or ``energy_mwh``, not both; ``low <= factor <= high``; ``to_utc`` after ``from_utc``).
:func:`validate_document` and :func:`validate_row` map pydantic's errors onto
:class:`~infercarbon.errors.InstrumentsFileError`, which names the file, the entry (JSON)
or row (CSV), the field and the fix, as before.

:func:`instruments_json_schema` is the published JSON Schema
(``docs/schemas/instruments.schema.json``; ``infercarbon schema instruments``).

This module imports pydantic: it is imported lazily, so ``import infercarbon`` and the
CLI's start stay light.

>>> doc = {"format": "infercarbon-instruments", "version": 1, "region": "ERCOT",
...        "ppas": [{"id": "p", "energy_mwh": "1,000", "region": "ERCOT", "vintage": 2021,
...                  "factor_g_per_kwh": 0, "source": "settlement"}]}
>>> validate_document(doc, path="x.json").ppas[0].energy_mwh
1000.0
>>> try:
...     validate_document({**doc, "matching": "daily"}, path="x.json")
... except InstrumentsFileError as exc:
...     print(exc)
file x.json, field 'matching': must be annual or hourly, got 'daily'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from infercarbon.errors import InputError, InstrumentsFileError
from infercarbon.provenance import LABELS, Label

__all__ = [
    "CSV_ENTRIES",
    "EAC_TYPES",
    "FORMAT",
    "ConsumptionEntry",
    "EACEntry",
    "FactorEntry",
    "InstrumentsDocument",
    "Matching",
    "PPAEntry",
    "ReportingPeriod",
    "instruments_json_schema",
    "validate_document",
    "validate_row",
]

#: The ``format`` value a JSON instruments file declares; ``version`` is 1.
FORMAT = "infercarbon-instruments"
#: Certificate types: US Renewable Energy Certificate, EU Guarantee of Origin, International
#: REC, UK Renewable Energy Guarantee of Origin.
EACType = Literal["REC", "GO", "I-REC", "REGO"]
EAC_TYPES: tuple[str, ...] = get_args(EACType)
#: Annual volumetric matching, or hourly (24/7 CFE) matching.
Matching = Literal["annual", "hourly"]
#: Where the published schema lives (its ``$id``).
SCHEMA_ID = (
    "https://github.com/infercarbon/infercarbon/blob/main/docs/schemas/instruments.schema.json"
)

Model = TypeVar("Model", bound=BaseModel)


# ---------------------------------------------------------------------------- value types
def _present(d: Any) -> Any:
    """A value that is null or blank text is absent (a CSV cell, or ``""`` in JSON)."""
    if not isinstance(d, dict):
        return d
    return {
        k: v for k, v in d.items() if v is not None and not (isinstance(v, str) and not v.strip())
    }


class _Section(BaseModel):
    """An object of the file: unknown fields are errors; null or blank values are absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_blank(cls, data: Any) -> Any:
        return _present(data)


def _number(v: Any) -> Any:
    """Numbers, and numbers written as text with thousands separators (``"1,000"``)."""
    if isinstance(v, bool):
        raise PydanticCustomError("number_type", "must be a number, got {got}", {"got": repr(v)})
    if isinstance(v, str):
        try:
            return float(v.strip().replace(",", ""))
        except ValueError:
            raise PydanticCustomError(
                "number_parsing", "{got} is not a number", {"got": repr(v)}
            ) from None
    if not isinstance(v, int | float) or not math.isfinite(v):
        raise PydanticCustomError(
            "finite_number", "must be a finite number, got {got}", {"got": repr(v)}
        )
    return v


def _text(v: Any) -> Any:
    if v is not None and not isinstance(v, str):
        raise PydanticCustomError("string_type", "must be a string, got {got}", {"got": repr(v)})
    return v.strip() if isinstance(v, str) else v


def _year(v: Any) -> Any:
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise PydanticCustomError(
            "year", "must be a generation year such as 2022, got {got}", {"got": repr(v)}
        )
    return v


def _upper(v: Any) -> Any:
    return v.strip().upper() if isinstance(v, str) else v


def _utc(v: str, field: str) -> datetime:
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PydanticCustomError(
            "utc_time", "{got} " + _NOT_UTC, {"got": repr(v), "field": field}
        ) from None
    return t.replace(tzinfo=None)


#: A UTC date or time: no offset, ``Z`` or ``+00:00``.
_UTC_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?([Zz]|\+00:00)?$"

_NOT_UTC = (
    "is not an ISO 8601 UTC date or time (e.g. 2022-01-01 or 2022-01-01T05:00Z; "
    "no offset other than Z or +00:00)"
)

#: Kilowatt-hours or megawatt-hours, >= 0 (text may use thousands separators).
EnergyNumber = Annotated[float, Field(ge=0), BeforeValidator(_number)]
#: An emission factor [g CO2e/kWh], >= 0.
FactorNumber = Annotated[float, Field(ge=0), BeforeValidator(_number)]
Text = Annotated[str, Field(min_length=1), BeforeValidator(_text)]
Year = Annotated[int, Field(ge=1900, le=2200), BeforeValidator(_year)]
UtcText = Annotated[
    str,
    Field(
        pattern=_UTC_PATTERN,
        description="UTC date or time, ISO 8601: 2022-01-01, 2022-01-01T05:00, ...Z or ...+00:00",
        examples=["2021-01-01", "2021-07-15T18:00Z"],
    ),
    BeforeValidator(_text),
]


def _one_energy(m: _Instrument | ConsumptionEntry, *, required: bool) -> None:
    if m.energy_kwh is not None and m.energy_mwh is not None:
        raise PydanticCustomError(
            "energy_both", "give energy_kwh or energy_mwh, not both", {"field": "energy_mwh"}
        )
    if required and m.energy_kwh is None and m.energy_mwh is None:
        raise PydanticCustomError(
            "energy_missing", "is required (or energy_kwh)", {"field": "energy_mwh"}
        )


# ---------------------------------------------------------------------------- entries
class _Instrument(_Section):
    """Fields shared by a PPA and a certificate."""

    id: Text = Field(description="unique within the file")
    energy_kwh: EnergyNumber | None = Field(None, description="contracted energy [kWh]")
    energy_mwh: EnergyNumber | None = Field(
        None, description="contracted energy [MWh]; one certificate is 1 MWh"
    )
    region: Text = Field(
        description="market boundary: any region name or id `infercarbon regions` resolves"
    )
    vintage: Year = Field(description="generation year, e.g. 2022")
    factor_g_per_kwh: FactorNumber = Field(
        description="emission factor of the contracted generation [g CO2e/kWh] (0 for wind)"
    )
    tracking_id: Text | None = Field(None, description="registry id of the retired certificates")
    source: Text = Field(description="the document the figures come from")
    profile_csv: Text | None = Field(
        None,
        description="CSV (time_utc,kwh) of the hourly generation, relative to the file; "
        "needed for hourly matching; its total is the energy when none is given",
    )
    note: Text | None = None

    @model_validator(mode="after")
    def _energy(self) -> _Instrument:
        _one_energy(self, required=self.profile_csv is None)
        return self


class PPAEntry(_Instrument):
    """A power purchase agreement: an entry of ppas (CSV: a row with entry ppa)."""

    type: Annotated[Literal["PPA"] | None, BeforeValidator(_upper)] = Field(
        None, description="PPA, or leave it out"
    )


class EACEntry(_Instrument):
    """An energy attribute certificate, tracked and retired: an entry of eacs (CSV: a row with
    entry eac)."""

    type: Annotated[EACType, BeforeValidator(_upper)] = Field(
        description="REC (US), GO (EU), I-REC (international), REGO (UK)"
    )
    tracking_id: Text = Field(description="registry id of the retired certificates")


class FactorEntry(_Section):
    """A supplier-specific emission factor or a residual mix, with its source."""

    factor_g_per_kwh: FactorNumber = Field(description="[g CO2e/kWh]")
    low_g_per_kwh: FactorNumber | None = Field(None, description="low end of the range")
    high_g_per_kwh: FactorNumber | None = Field(None, description="high end of the range")
    source: Text
    vintage: str | int | None = Field(None, description="year or period of the figure")
    licence: Text | None = None
    supplier: Text | None = None
    label: Annotated[Label, BeforeValidator(_text)] = Field(
        "cited", description="provenance label of the figure"
    )
    note: Text | None = None

    @model_validator(mode="after")
    def _range(self) -> FactorEntry:
        v = self.factor_g_per_kwh
        if self.low_g_per_kwh is not None and self.low_g_per_kwh > v:
            raise PydanticCustomError(
                "range",
                "low {low} is above the factor {v}",
                {"low": f"{self.low_g_per_kwh:g}", "v": f"{v:g}", "field": "low_g_per_kwh"},
            )
        if self.high_g_per_kwh is not None and self.high_g_per_kwh < v:
            raise PydanticCustomError(
                "range",
                "high {high} is below the factor {v}",
                {"high": f"{self.high_g_per_kwh:g}", "v": f"{v:g}", "field": "high_g_per_kwh"},
            )
        return self


class ReportingPeriod(_Section):
    """The reporting period [from_utc, to_utc), UTC."""

    from_utc: UtcText
    to_utc: UtcText = Field(description="exclusive end")

    @model_validator(mode="after")
    def _order(self) -> ReportingPeriod:
        if _utc(self.to_utc, "to_utc") <= _utc(self.from_utc, "from_utc"):
            raise PydanticCustomError(
                "period_order", "must be after from_utc (to_utc is exclusive)", {"field": "to_utc"}
            )
        return self


class ConsumptionEntry(_Section):
    """The consumption the instruments are matched against: a total, or a CSV per interval."""

    energy_kwh: EnergyNumber | None = Field(None, description="total over the period [kWh]")
    energy_mwh: EnergyNumber | None = Field(None, description="total over the period [MWh]")
    csv: Text | None = Field(None, description="CSV (time_utc,kwh) per interval, relative path")
    source: Text | None = None

    @model_validator(mode="after")
    def _one(self) -> ConsumptionEntry:
        given = self.energy_kwh is not None or self.energy_mwh is not None
        if self.csv is not None:
            if given:
                raise PydanticCustomError(
                    "csv_and_energy", "give csv or an energy total, not both", {"field": "csv"}
                )
            return self
        _one_energy(self, required=True)
        if (self.energy_kwh or self.energy_mwh or 0.0) <= 0:
            field = "energy_kwh" if self.energy_kwh is not None else "energy_mwh"
            raise PydanticCustomError("positive", "must be > 0", {"field": field})
        return self


class InstrumentsDocument(_Section):
    """An infercarbon instruments file (JSON): one organisation's contractual instruments
    for one region's consumption over one reporting period (``docs/instruments.md``)."""

    model_config = ConfigDict(title="infercarbon instruments file")

    format: Literal["infercarbon-instruments"] = Field(description="always this value")
    version: Literal[1]
    region: Text = Field(description="the consumption's region (market boundary)")
    reporting_period: ReportingPeriod | None = None
    matching: Matching = Field(
        "annual", description="annual volumetric matching, or hourly CFE matching"
    )
    consumption: ConsumptionEntry | None = None
    ppas: list[PPAEntry] = Field(default_factory=list)
    eacs: list[EACEntry] = Field(default_factory=list)
    supplier_factor: FactorEntry | None = None
    residual_mix: FactorEntry | None = None
    notes: Any = Field(None, description="free text for the reader; not read")

    @model_validator(mode="after")
    def _total_needs_period(self) -> InstrumentsDocument:
        c = self.consumption
        if c is not None and c.csv is None and self.reporting_period is None:
            raise PydanticCustomError(
                "period_missing",
                "an energy total needs a reporting_period (or give a csv)",
                {"field": "energy_mwh", "entry": "consumption"},
            )
        return self


#: CSV ``entry`` values and the model each row is validated with.
CSV_ENTRIES: dict[str, type[BaseModel]] = {
    "ppa": PPAEntry,
    "eac": EACEntry,
    "supplier_factor": FactorEntry,
    "residual_mix": FactorEntry,
}


# ---------------------------------------------------------------------------- errors
#: Choice fields: how to say what is allowed (pydantic's literal_error, per field name).
_CHOICES: dict[str, str] = {
    "format": f"must be {FORMAT!r}",
    "version": "must be 1",
    "matching": "must be annual or hourly",
    "label": "is not one of " + ", ".join(LABELS),
}
_REQUIRED_HINT: dict[str, str] = {
    "vintage": "is required (the generation year, e.g. 2022)",
    "format": f"is required (must be {FORMAT!r})",
    "version": "is required (must be 1)",
}
_CONTAINERS: dict[str, str] = {
    "reporting_period": "must be an object with from_utc and to_utc",
    "consumption": "must be an object with energy_kwh/energy_mwh, or csv",
    "supplier_factor": "must be an object with factor_g_per_kwh and source",
    "residual_mix": "must be an object with factor_g_per_kwh and source",
}


def _allowed(model: type[BaseModel]) -> str:
    return ", ".join(sorted(model.model_fields))


def _message(e: ErrorDetails, field: str | None, model: type[BaseModel]) -> str:
    """One pydantic error as the text of an InstrumentsFileError (the field is named apart)."""
    typ, ctx, got = e["type"], e.get("ctx", {}), e.get("input")
    if typ == "missing":
        return _REQUIRED_HINT.get(field or "", "is required")
    if typ == "extra_forbidden":
        return f"unknown field(s) {field!r}; allowed: {_allowed(model)}"
    if typ == "literal_error":
        if field == "type":
            if model is PPAEntry:
                return f"a PPA entry has type PPA (or none), got {got!r}"
            return f"{got!r} is not a certificate type; use one of {', '.join(EAC_TYPES)}"
        hint = _CHOICES.get(field or "", f"must be one of {ctx.get('expected')}")
        return f"{got!r} {hint}" if field == "label" else f"{hint}, got {got!r}"
    if typ == "greater_than_equal":
        if field == "vintage":
            return f"must be a generation year such as 2022, got {got!r}"
        return f"must be >= {ctx['ge']:g}, got {got!r}"
    if typ == "less_than_equal" and field == "vintage":
        return f"must be a generation year such as 2022, got {got!r}"
    if typ in ("model_type", "dict_type"):
        return "must be an object"
    if typ == "list_type":
        return "must be a list of objects"
    if typ == "string_too_short":
        return "is required"
    if typ == "string_pattern_mismatch":  # the UTC times
        return f"{got!r} {_NOT_UTC}"
    return str(e["msg"])


def _entry_label(doc: Mapping[str, Any], loc: tuple[int | str, ...]) -> tuple[str | None, int]:
    """The entry an error location points into (``eacs[1] (id 'rec-7')``,
    ``residual_mix``) and how many location parts name it."""
    head = str(loc[0]) if loc else ""
    if head in ("ppas", "eacs") and len(loc) > 1 and isinstance(loc[1], int):
        label = f"{head}[{loc[1]}]"
        items = doc.get(head)
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            label += f" (id {item['id']!r})"
        return label, 2
    if head in _CONTAINERS:
        return head, 1
    return None, 0


_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "ppas": PPAEntry,
    "eacs": EACEntry,
    "reporting_period": ReportingPeriod,
    "consumption": ConsumptionEntry,
    "supplier_factor": FactorEntry,
    "residual_mix": FactorEntry,
}


def _document_error(exc: ValidationError, doc: Mapping[str, Any], path: str) -> InputError:
    """The first of pydantic's errors as an InstrumentsFileError naming entry and field."""
    e = exc.errors(include_url=False)[0]
    loc, ctx = tuple(e["loc"]), e.get("ctx", {})
    entry, n = _entry_label(doc, loc)
    rest = loc[n:]
    entry = str(ctx.get("entry", entry)) if ctx.get("entry", entry) else None
    if not rest and "field" not in ctx and e["type"] in ("model_type", "dict_type"):
        # a whole section or entry that is not an object
        return InstrumentsFileError(
            _CONTAINERS.get(str(loc[0]), "must be an object"), path=path, entry=entry
        )
    field = str(ctx["field"]) if "field" in ctx else (str(rest[0]) if rest else None)
    model = _SECTION_MODELS[str(loc[0])] if n else InstrumentsDocument
    return InstrumentsFileError(_message(e, field, model), path=path, entry=entry, field=field)


def validate_document(doc: Any, *, path: str) -> InstrumentsDocument:
    """Validate a parsed JSON instruments file; the first problem raises
    :class:`~infercarbon.errors.InstrumentsFileError` (file, entry, field, fix)."""
    if not isinstance(doc, dict):
        raise InstrumentsFileError("must hold a JSON object at the top level", path=path)
    try:
        return InstrumentsDocument.model_validate(doc)
    except ValidationError as exc:
        raise _document_error(exc, doc, path) from None


def validate_row(
    model: type[Model], row: Mapping[str, str], *, path: str, row_no: int, kind: str
) -> Model:
    """Validate one CSV row (blank cells are absent) with ``model``; the first problem
    raises :class:`~infercarbon.errors.InstrumentsFileError` naming the row and field."""
    try:
        return model.model_validate(dict(row))
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        loc, ctx = tuple(e["loc"]), e.get("ctx", {})
        field = str(ctx["field"]) if "field" in ctx else (str(loc[0]) if loc else None)
        msg = _message(e, field, model)
        if e["type"] == "extra_forbidden":
            msg = f"is not a field of a {kind} row"
        raise InstrumentsFileError(msg, path=path, row=row_no, field=field) from None


# ---------------------------------------------------------------------------- JSON Schema
def instruments_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an instruments file, as published in
    ``docs/schemas/instruments.schema.json``."""
    schema = InstrumentsDocument.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": _one_line(InstrumentsDocument.__doc__)
        + " Numbers may also be written as text with thousands separators ('1,000'); "
        "energy_kwh or energy_mwh, not both; low_g_per_kwh <= factor_g_per_kwh <= "
        "high_g_per_kwh; to_utc after from_utc.",
    }


def _one_line(text: str | None) -> str:
    return " ".join((text or "").replace("``", "").split())
