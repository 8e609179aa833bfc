"""The system inventory (artefact 1): every production AI system, training pipeline and
fine-tuning workflow, the denominator of the programme.

A TOML file, one ``[[system]]`` table per system::

    [[system]]
    id = "support-chat"                 # required, unique
    kind = "inference"                  # inference | training-pipeline | fine-tuning-workflow
    owner = "ml-platform"
    region = "DEU"                      # grid region (infercarbon regions)
    hardware = "H100"                   # accelerator model
    operating_model = "cloud"           # cloud | colocation | on-premises | edge | api
    production = true                   # default true
    services = ["support-chat"]         # ledger services that are this system (inference)
    models = ["llama-3-8b"]             # models it serves or trains
    # volume, for the first-cut estimate
    inferences_per_day = 2_000_000      # inference
    energy_wh_per_inference = 0.3       # inference (else the system is not modelled)
    accelerators = 8                    # provisioned accelerators (idle / warm pool)
    runs_per_year = 12                  # training pipeline / fine-tuning workflow
    gpu_hours_per_run = 5000            # training pipeline / fine-tuning workflow
    pue = 1.2                           # facility PUE (else the operating model's preset)

:func:`template` writes such a file with the systems the ledger has seen pre-filled.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from infercarbon.errors import InputError, ParseError
from infercarbon.programme.facts import LedgerFacts
from infercarbon.programme.runs import lineage_of

__all__ = [
    "KINDS",
    "OPERATING_MODELS",
    "Inventory",
    "System",
    "load_inventory",
    "parse_inventory",
    "systems_from_ledger",
    "template",
]

KINDS = ("inference", "training-pipeline", "fine-tuning-workflow")
OPERATING_MODELS = ("cloud", "colocation", "on-premises", "edge", "api")
_STR = ("owner", "region", "hardware", "operating_model")
_NUM = (
    "inferences_per_day",
    "energy_wh_per_inference",
    "accelerators",
    "runs_per_year",
    "gpu_hours_per_run",
    "pue",
)


@dataclass(frozen=True)
class System:
    """One inventory row (see the module docstring for the fields and units)."""

    id: str
    kind: str
    owner: str | None = None
    region: str | None = None
    hardware: str | None = None
    operating_model: str | None = None
    production: bool = True
    services: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    inferences_per_day: float | None = None
    energy_wh_per_inference: float | None = None
    accelerators: float | None = None
    runs_per_year: float | None = None
    gpu_hours_per_run: float | None = None
    pue: float | None = None
    #: where the row came from: "inventory" (the file) or "ledger" (seen, not listed)
    origin: str = "inventory"

    @property
    def ledger_services(self) -> tuple[str, ...]:
        return self.services or ((self.id,) if self.kind == "inference" else ())

    def volume(self) -> str | None:
        if self.kind == "inference" and self.inferences_per_day is not None:
            return f"{self.inferences_per_day:g} inferences/day"
        if self.runs_per_year is not None:
            per = (
                f" x {self.gpu_hours_per_run:g} GPU-h" if self.gpu_hours_per_run is not None else ""
            )
            return f"{self.runs_per_year:g} runs/year{per}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Inventory:
    """The systems, in file order; ``source`` names the file."""

    systems: tuple[System, ...] = ()
    source: str = "(none)"
    organisation: str | None = None
    notes: tuple[str, ...] = field(default=())

    def with_ledger(self, facts: LedgerFacts) -> Inventory:
        """This inventory plus every system the ledger has seen that it does not list
        (``origin="ledger"``): nothing measured stays out of the denominator."""
        listed_services = {s for x in self.systems for s in x.ledger_services}
        listed_models = {m for x in self.systems for m in x.models}
        listed_ids = {x.id for x in self.systems}
        extra = [
            s
            for s in systems_from_ledger(facts)
            if s.id not in listed_ids
            and not (set(s.services) & listed_services)
            and not (s.kind != "inference" and set(s.models) & listed_models)
        ]
        return Inventory((*self.systems, *extra), self.source, self.organisation, self.notes)


def _opt_str(d: Mapping[str, Any], k: str, where: str) -> str | None:
    v = d.get(k)
    if v is None:
        return None
    if not isinstance(v, str) or not v:
        raise InputError("must be a non-empty string", field=f"{where}.{k}")
    return v


def _opt_num(d: Mapping[str, Any], k: str, where: str) -> float | None:
    v = d.get(k)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise InputError("must be a non-negative number", field=f"{where}.{k}")
    return float(v)


def _str_list(d: Mapping[str, Any], k: str, where: str) -> tuple[str, ...]:
    v = d.get(k, [])
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise InputError("must be a list of non-empty strings", field=f"{where}.{k}")
    return tuple(v)


def parse_inventory(doc: Mapping[str, Any], *, source: str = "(inline)") -> Inventory:
    """An :class:`Inventory` from parsed TOML; errors name the system and field."""
    known = {"id", "kind", "production", "services", "models", *_STR, *_NUM}
    raw = doc.get("system", [])
    if not isinstance(raw, list):
        raise InputError("give each system as a [[system]] table", field="system")
    out: list[System] = []
    seen: set[str] = set()
    for i, d in enumerate(raw):
        where = f"system[{i}]"
        if not isinstance(d, dict):
            raise InputError("must be a table", field=where)
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(
                f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                field=f"{where}.{unknown[0]}",
            )
        sid = _opt_str(d, "id", where)
        if sid is None:
            raise InputError("every system needs an id", field=f"{where}.id")
        if sid in seen:
            raise InputError(f"duplicate system id {sid!r}", field=f"{where}.id")
        seen.add(sid)
        kind = d.get("kind")
        if kind not in KINDS:
            raise InputError(f"must be one of {', '.join(KINDS)}", field=f"{where}.kind")
        om = _opt_str(d, "operating_model", where)
        if om is not None and om not in OPERATING_MODELS:
            raise InputError(
                f"must be one of {', '.join(OPERATING_MODELS)}", field=f"{where}.operating_model"
            )
        prod = d.get("production", True)
        if not isinstance(prod, bool):
            raise InputError("must be true or false", field=f"{where}.production")
        pue = _opt_num(d, "pue", where)
        if pue is not None and pue < 1:
            raise InputError("a PUE is at least 1", field=f"{where}.pue")
        num = {k: _opt_num(d, k, where) for k in _NUM}
        out.append(
            System(
                id=sid,
                kind=kind,
                production=prod,
                services=_str_list(d, "services", where),
                models=_str_list(d, "models", where),
                owner=_opt_str(d, "owner", where),
                region=_opt_str(d, "region", where),
                hardware=_opt_str(d, "hardware", where),
                operating_model=om,
                inferences_per_day=num["inferences_per_day"],
                energy_wh_per_inference=num["energy_wh_per_inference"],
                accelerators=num["accelerators"],
                runs_per_year=num["runs_per_year"],
                gpu_hours_per_run=num["gpu_hours_per_run"],
                pue=pue,
            )
        )
    prog = doc.get("programme", {})
    org = prog.get("organisation") if isinstance(prog, dict) else None
    return Inventory(tuple(out), source, org if isinstance(org, str) else None)


def load_inventory(path: str | Path) -> Inventory:
    """Read an inventory TOML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read the inventory {p}: {exc.strerror}", field="inventory"
        ) from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(f"not valid TOML: {exc}", path=str(p)) from exc
    return parse_inventory(doc, source=str(p))


def systems_from_ledger(facts: LedgerFacts) -> list[System]:
    """The systems the ledger has seen: each inference service, and each run system (or,
    without one, each lineage) as a training pipeline, or a fine-tuning workflow when all its
    runs are fine-tuning runs."""
    out = [
        System(
            id=s.service,
            kind="inference",
            services=(s.service,),
            models=s.models,
            region=s.regions[0] if len(s.regions) == 1 else None,
            hardware=s.devices[0] if len(s.devices) == 1 else None,
            origin="ledger",
        )
        for s in facts.services
    ]
    runs = facts.runs
    if runs.num_rows:
        key = pc.coalesce(runs.column("system"), lineage_of(runs))
        groups: dict[str, dict[str, set[str]]] = {}
        for k, kind, model, region in zip(
            key.to_pylist(),
            runs.column("kind").to_pylist(),
            runs.column("model").to_pylist(),
            runs.column("region").to_pylist(),
            strict=True,
        ):
            g = groups.setdefault(k, {"kinds": set(), "models": set(), "regions": set()})
            g["kinds"].add(kind)
            g["models"].add(model)
            if region is not None:
                g["regions"].add(region)
        out.extend(
            System(
                id=k,
                kind="fine-tuning-workflow" if g["kinds"] == {"finetune"} else "training-pipeline",
                models=tuple(sorted(g["models"])),
                region=next(iter(g["regions"])) if len(g["regions"]) == 1 else None,
                origin="ledger",
            )
            for k, g in sorted(groups.items())
        )
    return out


def _toml_str(v: str) -> str:
    return json.dumps(v, ensure_ascii=False)


def _toml_list(v: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_str(x) for x in v) + "]"


def template(facts: LedgerFacts, *, organisation: str | None = None) -> str:
    """An inventory TOML template: the systems seen in the ledger pre-filled, the fields the
    ledger cannot know left as comments to fill in, and one commented example of a system
    the ledger has not seen (systems without telemetry belong in the inventory too)."""
    lines = [
        "# infercarbon programme inventory (seed 001, artefact 1): every production AI",
        "# system, training pipeline and fine-tuning workflow.  Systems the ledger has seen",
        "# are pre-filled; add every system it has NOT seen (no telemetry yet) as well.",
        "# Fields and units: docs/programme.md.",
        "",
        "[programme]",
        f"organisation = {_toml_str(organisation or 'FILL IN')}",
        "",
    ]
    for s in systems_from_ledger(facts):
        lines += [
            "[[system]]",
            f"id = {_toml_str(s.id)}",
            f"kind = {_toml_str(s.kind)}",
            '# owner = "FILL IN"',
        ]
        lines.append(
            f"region = {_toml_str(s.region)}" if s.region else '# region = "FILL IN (e.g. DEU)"'
        )
        lines.append(
            f"hardware = {_toml_str(s.hardware)}"
            if s.hardware
            else '# hardware = "FILL IN (e.g. H100)"'
        )
        lines.append('# operating_model = "cloud | colocation | on-premises | edge | api"')
        if s.services:
            lines.append(f"services = {_toml_list(s.services)}")
        if s.models:
            lines.append(f"models = {_toml_list(s.models)}")
        if s.kind == "inference":
            lines += [
                "# inferences_per_day = 0",
                "# energy_wh_per_inference = 0.0",
                "# accelerators = 0",
            ]
        else:
            lines += ["# runs_per_year = 0", "# gpu_hours_per_run = 0"]
        lines.append("")
    lines += [
        "# A system without telemetry, e.g.:",
        "# [[system]]",
        '# id = "fraud-scoring"',
        '# kind = "inference"',
        '# owner = "risk-ml"',
        '# region = "USA"',
        '# operating_model = "on-premises"',
        "# inferences_per_day = 500000",
        "# energy_wh_per_inference = 0.05",
        "",
    ]
    return "\n".join(lines)
