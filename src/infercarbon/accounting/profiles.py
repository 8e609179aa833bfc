"""Deployment profiles: what the ingest path needs to know about the devices behind events.

An event carries its energy; the rest of its footprint depends on the deployment: the
facility's PUE and the grid's T&D losses, the device's idle power and utilisation (for the
idle line), its embodied carbon and lifetime (for the embodied line), the network's energy per
GB, who runs it (``operating_model``: the GHG Protocol scope of each line) and the price of
its electricity.  A :class:`DeploymentProfile` holds these for the devices it names (exact
ids or shell-style globs, ``fnmatch``); :class:`ProfileSet` picks the first profile that
matches each event's device.  Every number is a :class:`~infercarbon.provenance.Figure`:
value, p5..p95 range and source.  A device no profile matches gets the set's default, whose
lines without a figure are excluded with the reason (never a silent zero).

Profiles are read from TOML (``infercarbon serve --profiles FILE.toml``) or the same structure
as JSON (``PUT /v1/profiles``)::

    [[profile]]
    name = "gpu-pool"
    devices = ["gpu-*"]
    operating_model = "owned"          # owned | cloud | sold
    idle_policy = "30-70"              # tenancy | 30-70 | none
    currency = "EUR"
    idle_power_w     = { value = 60, low = 50, high = 75, source = "nvidia-smi idle, 2026-11" }
    utilisation_frac = { value = 0.4, low = 0.25, high = 0.6, source = "pool dashboard" }
    embodied_kg      = { value = 1500, low = 750, high = 3000, source = "vendor LCA" }
    lifetime_years   = { value = 5, low = 4, high = 6, source = "refresh policy" }
    pue              = { value = 1.2, low = 1.1, high = 1.35, source = "site metering" }
    td_loss_frac     = { value = 0.05, low = 0.04, high = 0.07, source = "national grid" }
    network_kwh_per_gb = { value = 0.06, low = 0.03, high = 0.12, source = "Aslan et al." }
    price_per_kwh    = { value = 0.21, source = "supply contract 2026" }
    # or a time-of-use tariff (UTC hours [from, to)) instead of price_per_kwh:
    # tariff = [ { from_hour = 0, to_hour = 7, price_per_kwh = 0.12 },
    #            { from_hour = 7, to_hour = 24, price_per_kwh = 0.25 } ]
    # tariff_source = "supplier time-of-use tariff 2026"

A figure may be a bare number only where the field allows a stated default; every figure of
a profile needs a ``source``.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from infercarbon.attribution.idle import IDLE_POLICIES, IdlePolicy
from infercarbon.errors import InputError
from infercarbon.provenance import Figure

__all__ = [
    "FIGURE_FIELDS",
    "DeploymentProfile",
    "ProfileSet",
    "Tariff",
    "load_profiles",
    "machine_profile",
    "profiles_from_data",
]

#: Profile fields that are figures, with their unit and the bounds a value must lie in.
FIGURE_FIELDS: dict[str, tuple[str, float, float]] = {
    "idle_power_w": ("W", 0.0, 1e6),
    "utilisation_frac": ("frac", 1e-6, 1.0),
    "embodied_kg": ("kg", 0.0, 1e9),
    "lifetime_years": ("years", 1e-3, 100.0),
    "pue": ("ratio", 1.0, 10.0),
    "td_loss_frac": ("frac", 0.0, 0.5),
    "network_kwh_per_gb": ("kwh_per_gb", 0.0, 100.0),
    "price_per_kwh": ("currency_per_kwh", 0.0, 1e6),
}
_OTHER = {
    "name",
    "devices",
    "operating_model",
    "idle_policy",
    "currency",
    "tariff",
    "tariff_source",
}

#: PUE 1 and no T&D losses: what a device with no profile (or a profile without them) gets.
IT_ONLY_PUE = Figure(
    1.0,
    "ratio",
    source="not configured: IT energy only (PUE 1.0); set a profile's pue for facility overhead",
    label="user",
)
NO_TD_LOSS = Figure(0.0, "frac", source="not configured: no T&D losses", label="user")


@dataclass(frozen=True)
class Tariff:
    """A time-of-use tariff: price per kWh by UTC hour of day (24 prices)."""

    price_per_kwh_by_hour: tuple[float, ...]
    source: str

    def __post_init__(self) -> None:
        if len(self.price_per_kwh_by_hour) != 24:
            raise InputError("a tariff needs a price for each of the 24 hours", field="tariff")

    def price(self, hour_utc: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.asarray(self.price_per_kwh_by_hour, dtype=np.float64)[hour_utc]


@dataclass(frozen=True)
class DeploymentProfile:
    """One deployment's figures (see the module docstring).  ``None``: not known, the line
    that needs it is excluded with the reason."""

    name: str
    devices: tuple[str, ...] = ("*",)
    operating_model: str = "owned"
    idle_policy: IdlePolicy = "30-70"
    idle_power_w: Figure | None = None
    utilisation_frac: Figure | None = None
    embodied_kg: Figure | None = None
    lifetime_years: Figure | None = None
    pue: Figure = IT_ONLY_PUE
    td_loss_frac: Figure = NO_TD_LOSS
    network_kwh_per_gb: Figure | None = None
    price_per_kwh: Figure | None = None
    tariff: Tariff | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        from infercarbon.accounting.footprint import check_operating_model

        if not self.name or not isinstance(self.name, str):
            raise InputError("a profile needs a non-empty name", field="name")
        check_operating_model(self.operating_model, f"profile {self.name}: operating_model")
        if self.idle_policy not in IDLE_POLICIES:
            raise InputError(
                f"profile {self.name}: idle_policy must be one of {', '.join(IDLE_POLICIES)}",
                field="idle_policy",
            )
        for fname, (_, lo, hi) in FIGURE_FIELDS.items():
            f = getattr(self, fname)
            if f is None:
                continue
            for what, x in (("value", f.value), *zip(("low", "high"), f.range, strict=True)):
                if not (np.isfinite(x) and lo <= x <= hi):
                    raise InputError(
                        f"profile {self.name}: {fname} {what} {x!r} must be in [{lo:g}, {hi:g}]",
                        field=fname,
                    )
        if (self.price_per_kwh is not None or self.tariff is not None) and not self.currency:
            raise InputError(
                f"profile {self.name}: a price needs a currency (e.g. 'EUR')", field="currency"
            )
        if self.price_per_kwh is not None and self.tariff is not None:
            raise InputError(
                f"profile {self.name}: give price_per_kwh or tariff, not both", field="tariff"
            )

    def matches(self, device: str) -> bool:
        return any(fnmatch.fnmatchcase(device, g) for g in self.devices)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "devices": list(self.devices),
            "operating_model": self.operating_model,
            "idle_policy": self.idle_policy,
            "currency": self.currency,
        }
        for fname in FIGURE_FIELDS:
            f = getattr(self, fname)
            if f is not None:
                lo, hi = f.range
                out[fname] = {
                    "value": f.value,
                    "low": lo,
                    "high": hi,
                    "source": f.source,
                    "label": f.label,
                }
        if self.tariff is not None:
            out["tariff_price_per_kwh_by_hour"] = list(self.tariff.price_per_kwh_by_hour)
            out["tariff_source"] = self.tariff.source
        return out


@dataclass(frozen=True)
class ProfileSet:
    """Profiles in order of precedence, and the default for devices none of them matches
    (None: a profile with no figures, IT energy only; the service puts its own in)."""

    profiles: tuple[DeploymentProfile, ...] = ()
    default: DeploymentProfile | None = None

    def __post_init__(self) -> None:
        names = [p.name for p in self.profiles]
        if len(set(names)) != len(names):
            raise InputError("profile names must be unique", field="profiles")

    def index(
        self, devices: Sequence[str] | pa.Array | pa.ChunkedArray
    ) -> tuple[list[DeploymentProfile], npt.NDArray[np.intp]]:
        """(profiles used, index per device): the first matching profile, else the default;
        each distinct device string is matched once (Arrow's dictionary encoding)."""
        arr = (
            devices
            if isinstance(devices, pa.Array | pa.ChunkedArray)
            else pa.array(list(devices), pa.string())
        )
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        enc = arr.dictionary_encode()
        uniq = enc.dictionary.to_pylist()
        inv = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
        chosen: list[DeploymentProfile] = []
        pos: dict[str, int] = {}
        code = np.empty(len(uniq), dtype=np.intp)
        for j, dev in enumerate(uniq):
            p = (
                next((q for q in self.profiles if q.matches(str(dev))), None)
                or self.default
                or _BARE
            )
            if p.name not in pos:
                pos[p.name] = len(chosen)
                chosen.append(p)
            code[j] = pos[p.name]
        return chosen, code[inv] if len(uniq) else np.zeros(0, dtype=np.intp)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profiles": [p.to_dict() for p in self.profiles],
            "default": (self.default or _BARE).to_dict(),
        }


_BARE = DeploymentProfile("default", ("*",))


def _figure(pname: str, fname: str, raw: Any) -> Figure:
    unit = FIGURE_FIELDS[fname][0]
    if not isinstance(raw, Mapping):
        raise InputError(
            f"profile {pname}: {fname} must be a table {{ value = ..., low = ..., "
            'high = ..., source = "..." }',
            field=fname,
        )
    unknown = sorted(set(raw) - {"value", "low", "high", "source", "label"})
    if unknown:
        raise InputError(
            f"profile {pname}: {fname} has unknown key(s) {', '.join(unknown)}", field=fname
        )
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        raise InputError(
            f"profile {pname}: {fname} needs a source (where the figure comes from)", field=fname
        )
    try:
        value = float(raw["value"])
        low = float(raw.get("low", value))
        high = float(raw.get("high", value))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"profile {pname}: {fname} needs a numeric value (and optional low/high): {exc}",
            field=fname,
        ) from None
    if not low <= value <= high:
        raise InputError(
            f"profile {pname}: {fname} needs low <= value <= high, got "
            f"{low:g} <= {value:g} <= {high:g}",
            field=fname,
        )
    return Figure(
        value,
        unit,
        source=raw["source"].strip(),
        label=str(raw.get("label", "user")),  # type: ignore[arg-type]
        low=low,
        high=high,
    )


def _tariff(pname: str, raw: Any, source: Any) -> Tariff:
    if not isinstance(raw, list) or not raw:
        raise InputError(
            f"profile {pname}: tariff must be a list of {{ from_hour, to_hour, price_per_kwh }}",
            field="tariff",
        )
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"profile {pname}: a tariff needs tariff_source", field="tariff_source")
    prices: list[float | None] = [None] * 24
    for k, band in enumerate(raw):
        try:
            a, b, p = int(band["from_hour"]), int(band["to_hour"]), float(band["price_per_kwh"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"profile {pname}: tariff[{k}] needs from_hour, to_hour and price_per_kwh: {exc}",
                field="tariff",
            ) from None
        if not (0 <= a < b <= 24) or not (np.isfinite(p) and p >= 0):
            raise InputError(
                f"profile {pname}: tariff[{k}]: need 0 <= from_hour < to_hour <= "
                "24 and a price >= 0",
                field="tariff",
            )
        for h in range(a, b):
            if prices[h] is not None:
                raise InputError(
                    f"profile {pname}: tariff hour {h} is priced twice", field="tariff"
                )
            prices[h] = p
    gaps = [h for h, p in enumerate(prices) if p is None]
    if gaps:
        raise InputError(f"profile {pname}: tariff leaves hour(s) {gaps} unpriced", field="tariff")
    return Tariff(tuple(float(p) for p in prices if p is not None), source.strip())


def _profile(raw: Any, k: int) -> DeploymentProfile:
    if not isinstance(raw, Mapping):
        raise InputError(f"profile[{k}] must be a table", field="profile")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"profile[{k}] needs a name", field="name")
    unknown = sorted(set(raw) - _OTHER - set(FIGURE_FIELDS))
    if unknown:
        raise InputError(
            f"profile {name}: unknown field(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(_OTHER | set(FIGURE_FIELDS)))}",
            field=unknown[0],
        )
    devices = raw.get("devices", ["*"])
    if isinstance(devices, str):
        devices = [devices]
    if (
        not isinstance(devices, list)
        or not devices
        or not all(isinstance(d, str) and d for d in devices)
    ):
        raise InputError(f"profile {name}: devices must be a list of ids or globs", field="devices")
    kw: dict[str, Any] = {f: _figure(name, f, raw[f]) for f in FIGURE_FIELDS if f in raw}
    if "tariff" in raw:
        kw["tariff"] = _tariff(name, raw["tariff"], raw.get("tariff_source"))
    for f in ("operating_model", "idle_policy", "currency"):
        if f in raw:
            kw[f] = raw[f]
    return DeploymentProfile(name=name, devices=tuple(devices), **kw)


def profiles_from_data(data: Any) -> ProfileSet:
    """A :class:`ProfileSet` from parsed TOML/JSON: ``{"profile": [...]}`` (TOML's
    ``[[profile]]``) or ``{"profiles": [...]}``; a profile named ``default`` becomes the
    default for unmatched devices."""
    if not isinstance(data, Mapping):
        raise InputError("profiles: expected a table with a 'profile' list", field="profiles")
    unknown = sorted(set(data) - {"profile", "profiles"})
    if unknown:
        raise InputError(f"profiles: unknown key(s) {', '.join(unknown)}", field=unknown[0])
    rows = data.get("profile", data.get("profiles"))
    if not isinstance(rows, list):
        raise InputError("profiles: expected a list of profiles under 'profile'", field="profiles")
    profiles = [_profile(r, k) for k, r in enumerate(rows)]
    default = next((p for p in profiles if p.name == "default"), None)
    rest = tuple(p for p in profiles if p.name != "default")
    return ProfileSet(rest) if default is None else ProfileSet(rest, default)


def load_profiles(path: str | Path) -> ProfileSet:
    """Read a profiles file (``.toml``, or ``.json`` with the same structure)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot read profiles: {exc.strerror}", field="profiles") from exc
    try:
        data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{p}: not valid {'JSON' if p.suffix == '.json' else 'TOML'}: {exc}", field="profiles"
        ) from exc
    return profiles_from_data(data)


def machine_profile(
    device: str, *, idle_power_w: Figure, utilisation_frac: Figure, vcpus: int
) -> DeploymentProfile:
    """A stated default profile for the CPU machine a demo runs on (an assumption, said so in
    every figure's source): idle power from the CPU model, the utilisation measured over the
    run, the embodied carbon of a general-purpose cloud server's share for ``vcpus`` vCPUs
    (Cloud Carbon Footprint coefficients: AWS m5 class, x/2..x2 since CCF gives no range) over
    CCF's 4-year lifespan, and the seed's fixed-network energy per GB.  PUE 1 (a desk or
    laptop has no facility overhead; set a profile for a data centre)."""
    from infercarbon.reference.cloud import EMBODIED_LIFESPAN_S, instance_embodied_kg
    from infercarbon.reference.seed import NETWORK_KWH_PER_GB
    from infercarbon.units import S_PER_YEAR

    per_vcpu = instance_embodied_kg("aws", "m5.large")
    kg = per_vcpu.value / 2.0 * max(1, vcpus)
    assumption = "assumed for the demo machine: "
    return DeploymentProfile(
        name="demo-machine",
        devices=(device,),
        operating_model="owned",
        idle_policy="30-70",
        idle_power_w=Figure(
            idle_power_w.value,
            "W",
            source=assumption + idle_power_w.source,
            label="modelled",
            low=idle_power_w.range[0],
            high=idle_power_w.range[1],
        ),
        utilisation_frac=Figure(
            utilisation_frac.value,
            "frac",
            source=assumption + utilisation_frac.source,
            label="derived",
            low=utilisation_frac.range[0],
            high=utilisation_frac.range[1],
        ),
        embodied_kg=Figure(
            kg,
            "kg",
            source=assumption + f"{per_vcpu.source}; AWS m5 server "
            f"share for {vcpus} vCPU(s), x/2..x2 (no published range)",
            label="illustrative",
            low=kg / 2.0,
            high=kg * 2.0,
        ),
        lifetime_years=Figure(
            EMBODIED_LIFESPAN_S.value / S_PER_YEAR,
            "years",
            source=assumption + EMBODIED_LIFESPAN_S.source,
            label="cited",
            low=3.0,
            high=6.0,
        ),
        network_kwh_per_gb=NETWORK_KWH_PER_GB["fixed"],
    )
