"""Simulated dispatch years with a known marginal unit: the truth of the back-test harness.

A year (or a shorter period) is dispatched with the merit-order engine
(:mod:`.merit_order`) on the bundled ERCOT or German fleet (:mod:`.inventory`), while the
things that make real marginal emissions hard to read from aggregate data are varied:

* **fuel prices**: a monthly (or weekly, ``price_period``) multiplicative random walk per
  fuel class (coal, lignite, gas, oil; ``price_volatility_frac`` = standard deviation of the
  log step) on each unit's
  short-run cost, so coal and gas swap places in the stack from month to month.  The whole
  cost (fuel, VOM, carbon) is scaled: a simplification, recorded in the notes;
* **outages**: every week each thermal unit is out with probability ``forced_outage_frac``,
  plus ``planned_outage_frac`` more in spring and fall; nuclear units take one four-week
  refuelling outage each;
* **must-run units**: a ``must_run_frac`` share (by capacity) of coal/lignite units runs at
  least ``min_load_frac`` of capacity whatever the price (that block leaves the stack, its
  emissions stay);
* **imports**: net imports follow an AR(1) process (negative = exports) and shift the
  residual load;
* **wind and solar**: synthetic hourly profiles (AR(1) weather for wind, day length and
  daily clearness for solar) on capacities given as multiples of mean load; when they exceed
  the load they are curtailed and the margin is zero-carbon.

Load is synthetic (seasonal, daily and weekly cycles and autocorrelated weather) and scaled
so that the 99.9th percentile of the residual load reaches ``peak_reserve_frac`` of the
fleet's mean available capacity.  Times are naive local wall-clock hours.

The truth of each interval is the rate of the marginal unit -- the derivative of the
simulated emissions with respect to load, 0 when wind and solar are curtailed -- and the
marginal unit.  (The engine's ramp-blended MEF is kept beside it but not scored: the
simulated emissions follow the stack position, so aggregate data cannot show the blend.)  What an
estimator may see (:class:`SimulatedYear` ``load_mw``, ``emissions_g``, ``generation_mw``) is
what an operator table carries.  Everything is vectorised over intervals; loops run over
weeks (stacks) and fuel classes only.

>>> sim = simulate_year(Scenario(region="ERCOT", year=2022, seed=1, n_days=14))
>>> len(sim.time), sorted(sim.generation_mw)[:3]
(336, ['coal', 'gas', 'hydro_bio'])
>>> bool(np.allclose(sim.total_generation_mw(), sim.load_mw, rtol=1e-9, atol=1e-6)
...      or sim.scarcity.any())
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, IntArray
from infercarbon.errors import InputError
from infercarbon.grid.marginal.calendar import SEASONS, season_index
from infercarbon.grid.marginal.inventory import (
    REGIONS,
    FuelCo2,
    Inventory,
    build_region_stack,
    default_fuel_co2,
    load_inventory,
)
from infercarbon.grid.marginal.merit_order import SupplyStack, build_stack, dispatch_groups

__all__ = ["STACK_CLASSES", "Scenario", "SimulatedYear", "fuel_class", "simulate_year"]

ObjArray = npt.NDArray[np.object_]

#: Fuel classes of the simulated generation table met by the stack.
STACK_CLASSES: tuple[str, ...] = ("coal", "lignite", "gas", "oil")


def fuel_class(label: str) -> str:
    """Generation-table class of a stack fuel label (``gas-CC`` -> ``gas``).

    >>> [fuel_class(x) for x in ("gas-CC", "hard_coal-ST", "lignite-ST", "oil-GT")]
    ['gas', 'coal', 'lignite', 'oil']
    """
    f = label.split("-")[0]
    return "coal" if f in ("coal", "hard_coal") else f


@dataclass(frozen=True)
class Scenario:
    """Settings of one simulated period (defaults: a plausible year of each region)."""

    region: str
    year: int
    seed: int
    n_days: int = 364
    interval_s: int = 3600
    price_volatility_frac: float = 0.12
    forced_outage_frac: float = 0.06
    planned_outage_frac: float = 0.08
    must_run_frac: float = 0.3
    min_load_frac: float = 0.4
    import_mean_frac: float = 0.02
    import_sd_frac: float = 0.03
    wind_capacity_frac: float | None = None
    solar_capacity_frac: float | None = None
    peak_reserve_frac: float = 0.93
    #: how often fuel prices step: "month" or "week" (the random walk's step)
    price_period: str = "month"
    label: str = ""

    def name(self) -> str:
        return self.label or f"{self.region} {self.year} seed {self.seed}"


# region defaults: wind/solar capacity as multiples of mean load, load shape parameters
_REGION = {
    "ERCOT": {
        "wind": 0.75,
        "solar": 0.35,
        "season_peak_doy": 205,
        "season_amp": 0.16,
        "second_amp": 0.07,
        "diurnal_peak_h": 17.0,
        "diurnal_amp": 0.13,
        "weekend": 0.04,
        "day_len_amp": 1.8,
        "clear_a": 5.0,
        "clear_b": 1.8,
    },
    "DE": {
        "wind": 0.7,
        "solar": 0.55,
        "season_peak_doy": 15,
        "season_amp": 0.08,
        "second_amp": 0.0,
        "diurnal_peak_h": 13.0,
        "diurnal_amp": 0.11,
        "weekend": 0.10,
        "day_len_amp": 4.0,
        "clear_a": 2.0,
        "clear_b": 2.0,
    },
}


@dataclass(frozen=True)
class SimulatedYear:
    """Aggregate outputs of a simulated period and its true marginal emissions."""

    scenario: Scenario
    time: npt.NDArray[np.datetime64]
    interval_s: int
    #: demand [MW], mean over each interval
    load_mw: FloatArray
    #: emissions of the whole system in each interval [g]
    emissions_g: FloatArray
    #: generation by fuel class [MW]; ``imports`` is net imports (negative = exports)
    generation_mw: dict[str, FloatArray]
    #: true marginal emission rate [g/kWh]: the rate of the marginal unit, i.e. the
    #: derivative of the simulated emissions with respect to load (0 when curtailing)
    true_mef_g_per_kwh: FloatArray
    #: the engine's MEF with ramp limits (blended with the next fast unit where the margin
    #: could not follow); not scored: the simulated emissions follow the stack position, so
    #: no estimator could see the blend in aggregate data
    ramp_blended_mef_g_per_kwh: FloatArray
    true_unit: ObjArray
    true_fuel: ObjArray
    curtailed: npt.NDArray[np.bool_]
    scarcity: npt.NDArray[np.bool_]
    notes: list[str] = field(default_factory=list)
    #: heat input of each stack fuel class in each interval [MMBtu, higher heating value],
    #: as an EPA-CEMS-style table reports it: each unit's direct rate / the fuel's EPA
    #: factor (:func:`infercarbon.grid.marginal.inventory.default_fuel_co2`) x its output
    heat_input_mmbtu: dict[str, FloatArray] = field(default_factory=dict)
    #: emissions of each stack fuel class in each interval [g]; they sum to ``emissions_g``
    emissions_by_fuel_g: dict[str, FloatArray] = field(default_factory=dict)

    def total_generation_mw(self) -> FloatArray:
        total: FloatArray = np.sum(np.column_stack(list(self.generation_mw.values())), axis=1)
        return total

    def fuels(self) -> list[str]:
        return list(self.generation_mw)

    def generation_matrix_mw(self) -> FloatArray:
        return np.column_stack([self.generation_mw[f] for f in self.generation_mw])


def _co2_fuel(label: str) -> str:
    """Fuel name of :class:`~.inventory.FuelCo2` for a stack label (``gas-CC`` -> ``gas``)."""
    cls = fuel_class(label)
    return cls if cls in STACK_CLASSES else label.split("-")[0]


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> FloatArray:
    """Stationary AR(1) ``y_t = phi y_(t-1) + e_t`` with marginal standard deviation ``sd``.

    Computed in blocks of 256: within a block one matrix product of the innovations with
    the powers of ``phi``; the block's last value carries into the next.
    """
    e = rng.normal(0.0, sd * np.sqrt(1.0 - phi * phi), n)
    # y = lfilter([1], [1, -phi], e) without scipy: powers of phi over blocks of 256
    out = np.empty(n)
    block = 256
    powers = phi ** np.arange(block)
    carry = rng.normal(0.0, sd)
    for s in range(0, n, block):  # n/256 block steps; each block is one matrix product
        eb = e[s : s + block]
        m = len(eb)
        k = np.arange(m)
        lag = k[:, None] - k[None, :]
        w = np.where(lag >= 0, powers[np.clip(lag, 0, block - 1)], 0.0)
        out[s : s + m] = w @ eb + carry * phi ** (k + 1)
        carry = out[s + m - 1]
    return out


def _week_stack(
    base: SupplyStack,
    *,
    cost_mult: FloatArray,
    avail: npt.NDArray[np.bool_],
    must_run: npt.NDArray[np.bool_],
    min_load_frac: float,
) -> SupplyStack:
    cap = np.where(avail, base.capacity_mw, 0.0) * np.where(must_run, 1.0 - min_load_frac, 1.0)
    if not (cap > 0).any():
        cap = base.capacity_mw * 0.01  # never an empty stack (a week with every unit out)
    return build_stack(
        unit_id=list(base.unit_id),
        fuel=list(base.fuel),
        technology=list(base.technology),
        capacity_mw=cap,
        rate_g_per_kwh=base.rate_g_per_kwh,
        rate_low_g_per_kwh=base.rate_low_g_per_kwh,
        rate_high_g_per_kwh=base.rate_high_g_per_kwh,
        heat_rate_mmbtu_per_mwh=np.ones(len(base)),
        fuel_price_per_mmbtu=base.cost_per_mwh * cost_mult,
        vom_per_mwh=0.0,
        ramp_frac_per_min=base.ramp_frac_per_min,
    )


def _units_of(inv: Inventory, names: tuple[str, ...], year: int) -> FloatArray:
    f = np.char.lower(inv.fuel.astype(str))
    tech = np.char.lower(inv.technology.astype(str))
    ok = np.isin(f, names) & ~(inv.in_service_year > year) & ~(inv.retired_year <= year)
    ok &= (np.char.find(tech, "pumped") < 0) & (np.char.find(tech, "storage") < 0)
    if inv.region == "DE":
        ok &= ~np.isin(inv.status.astype(str), ["shutdown"])
    cap = np.nan_to_num(inv.capacity_mw[ok], nan=0.0)
    return cap[cap > 0]


def simulate_year(sc: Scenario) -> SimulatedYear:
    """Dispatch one simulated period of ``sc`` and record its true marginal rates."""
    region = _checked_region(sc)
    p = _REGION[region]
    rng = np.random.default_rng(sc.seed)
    notes = [
        f"simulated {region} {sc.year}, seed {sc.seed}, {sc.n_days} days; unit costs "
        "scaled by a monthly random walk per fuel class (fuel, VOM and carbon together)"
    ]
    cal = _Calendar.of(sc)

    # ---- fleet: one stack per season (documented assumptions), warnings kept as notes
    inv = load_inventory(region)
    co2 = default_fuel_co2(region)
    built = [build_region_stack(inv, year=sc.year, season=s, co2=co2, warn=False) for s in SEASONS]
    base = [b for b, _ in built]
    notes.extend(dict.fromkeys(n for _, info in built for n in info.notes))
    classes = sorted({fuel_class(str(f)) for b in base for f in b.fuel})
    fleet = _weekly_fleet(sc, base, classes, cal, co2, rng)
    nuclear_wk = _nuclear_weekly(inv, sc.year, cal.n_weeks, rng)
    other_cap = _units_of(
        inv, ("hydro", "biomass", "biomass and biogas", "waste", "other fuels"), sc.year
    ).sum()

    # ---- load, wind, solar, imports (shapes; load scaled below)
    shapes = _Shapes.draw(sc, p, cal, rng)
    stack_group = cal.week
    other_mw = np.full(cal.n, 0.5 * other_cap)
    fixed = nuclear_wk[stack_group] + other_mw + fleet.must_mw[stack_group].sum(axis=1)
    target = sc.peak_reserve_frac * float(np.mean(fleet.avail_mw))
    load, wind, solar, imports, residual = shapes.scaled_to(target, fixed)
    res = dispatch_groups(fleet.stacks, stack_group, residual, interval_s=sc.interval_s)
    gen, e_c, hi_c, true_rate = _generation_by_class(fleet, stack_group, residual, sc, co2)
    emissions = res.emissions_g + fleet.must_g_per_h[stack_group] * sc.interval_s / 3600.0
    # curtailment: wind and solar give up what the residual load cannot absorb
    spill = np.clip(-residual, 0.0, None)
    vre = wind + solar
    keep = np.where(vre > 0, np.clip(1.0 - spill / np.where(vre > 0, vre, 1.0), 0.0, 1.0), 1.0)
    generation = {
        **{c: gen[c] for c in STACK_CLASSES if c in classes or gen[c].any()},
        "nuclear": nuclear_wk[stack_group],
        "hydro_bio": other_mw,
        "wind": wind * keep,
        "solar": solar * keep,
        "imports": imports,
    }
    scarcity = res.scarcity
    if scarcity.any():
        notes.append(
            f"{int(scarcity.sum())} intervals with residual load above the available "
            "stack (unserved energy; the last unit is marginal)"
        )
    if res.curtailed.any():
        notes.append(f"{int(res.curtailed.sum())} intervals curtail wind/solar (margin 0)")
    return SimulatedYear(
        scenario=sc,
        time=cal.time,
        interval_s=sc.interval_s,
        load_mw=load,
        emissions_g=emissions,
        generation_mw=generation,
        true_mef_g_per_kwh=true_rate,
        ramp_blended_mef_g_per_kwh=res.mef_g_per_kwh,
        true_unit=res.unit_id,
        true_fuel=res.fuel,
        curtailed=res.curtailed,
        scarcity=scarcity,
        notes=notes,
        heat_input_mmbtu={c: hi_c[c] for c in STACK_CLASSES if c in generation},
        emissions_by_fuel_g={c: e_c[c] for c in STACK_CLASSES if c in generation},
    )


def _checked_region(sc: Scenario) -> str:
    """The scenario's region (upper case), once its options check out."""
    region = sc.region.upper()
    if region not in REGIONS:
        raise InputError(
            f"no bundled fleet for {sc.region!r}; known: {', '.join(REGIONS)}", field="region"
        )
    if not 7 <= sc.n_days <= 366:
        raise InputError("n_days must be 7..366", field="n_days")
    if sc.price_period not in ("month", "week"):
        raise InputError("price_period must be month or week", field="price_period")
    if sc.interval_s not in (900, 1800, 3600):
        raise InputError("interval_s must be 900, 1800 or 3600", field="interval_s")
    for name in (
        "price_volatility_frac",
        "forced_outage_frac",
        "planned_outage_frac",
        "must_run_frac",
        "min_load_frac",
        "import_sd_frac",
    ):
        v = getattr(sc, name)
        if not 0.0 <= v < 1.0:
            raise InputError(f"{v!r} must be in [0, 1)", field=name)
    return region


@dataclass(frozen=True)
class _Calendar:
    """The simulated intervals: start times, hour of day (mid-interval), day index, day of
    year, day of week (0 = Monday), week index; per week its first interval's month (0..11)
    and season index."""

    time: npt.NDArray[np.datetime64]
    per_h: int
    hour: FloatArray
    day: IntArray
    doy: IntArray
    dow: IntArray
    week: IntArray
    n_weeks: int
    wk_month: IntArray
    wk_season: IntArray

    @property
    def n(self) -> int:
        return len(self.time)

    @classmethod
    def of(cls, sc: Scenario) -> _Calendar:
        per_h = 3600 // sc.interval_s
        n = sc.n_days * 24 * per_h
        t0 = np.datetime64(f"{sc.year}-01-01T00:00", "s")
        time = t0 + np.arange(n, dtype=np.int64) * np.timedelta64(sc.interval_s, "s")
        day = np.arange(n) // (24 * per_h)
        week = (day // 7).astype(np.int64)
        n_weeks = int(week.max()) + 1
        wk_first = np.searchsorted(week, np.arange(n_weeks))
        return cls(
            time=time,
            per_h=per_h,
            hour=(np.arange(n) // per_h % 24).astype(np.float64) + 0.5 / per_h,
            day=day,
            doy=(time.astype("datetime64[D]") - time.astype("datetime64[Y]")).astype(np.int64),
            dow=(time.astype("datetime64[D]").astype(np.int64) + 3) % 7,
            week=week,
            n_weeks=n_weeks,
            wk_month=(time[wk_first].astype("datetime64[M]").astype(np.int64) % 12).astype(
                np.int64
            ),
            wk_season=season_index(time[wk_first]),
        )


def _mmbtu_per_kwh(co2: FuelCo2, fuels: ObjArray, rate: FloatArray) -> FloatArray:
    """Heat input per kWh of each unit's output [MMBtu/kWh] = rate / fuel factor."""
    k = np.array([co2.per_heat_rate(_co2_fuel(str(f))) for f in fuels])
    return np.asarray(rate / (1000.0 * k), dtype=np.float64)


@dataclass(frozen=True)
class _WeeklyFleet:
    """One stack per week (outages and prices drawn), with the must-run units' output [MW]
    and its emissions [g/h] and heat input [MMBtu/h] by class, and the available capacity
    [MW] of each week."""

    stacks: list[SupplyStack]
    must_mw: FloatArray
    must_g_per_h: FloatArray
    must_g_per_h_c: FloatArray
    must_mmbtu_per_h_c: FloatArray
    avail_mw: FloatArray


def _weekly_fleet(
    sc: Scenario,
    base: list[SupplyStack],
    classes: list[str],
    cal: _Calendar,
    co2: FuelCo2,
    rng: np.random.Generator,
) -> _WeeklyFleet:
    """Weekly stacks from the seasonal ones: a cost random walk per fuel class (monthly or
    weekly) x a fixed noise per unit, forced and planned outages, must-run coal units."""
    n_weeks = cal.n_weeks
    # unit-level attributes are shared across seasons by unit id
    n_steps = 12 if sc.price_period == "month" else n_weeks
    price_walk = {
        c: np.exp(np.cumsum(rng.normal(0.0, sc.price_volatility_frac, n_steps))) for c in classes
    }
    price_step = cal.wk_month if sc.price_period == "month" else np.arange(n_weeks)
    all_ids = np.unique(np.concatenate([b.unit_id.astype(str) for b in base]))
    cost_noise = dict(
        zip(all_ids.tolist(), np.exp(rng.normal(0.0, 0.03, len(all_ids))), strict=True)
    )
    b0 = base[0]
    coalish = np.flatnonzero([fuel_class(str(f)) in ("coal", "lignite") for f in b0.fuel])
    order = rng.permutation(coalish)
    cum = np.cumsum(b0.capacity_mw[order])
    must_ids: set[str] = set()
    if sc.must_run_frac > 0 and len(cum):
        k = int(np.searchsorted(cum, sc.must_run_frac * cum[-1])) + 1
        must_ids = {str(u) for u in b0.unit_id[order[:k]]}

    # ---- weekly stacks with outages and monthly prices
    stacks: list[SupplyStack] = []
    must_mw = np.zeros((n_weeks, len(STACK_CLASSES)))
    must_g_per_h = np.zeros(n_weeks)
    must_g_per_h_c = np.zeros((n_weeks, len(STACK_CLASSES)))
    must_mmbtu_per_h_c = np.zeros((n_weeks, len(STACK_CLASSES)))
    avail_mw = np.zeros(n_weeks)
    for w in range(n_weeks):  # one stack per week (52), vectorised over units
        b = base[int(cal.wk_season[w])]
        cls = np.array([fuel_class(str(f)) for f in b.fuel], dtype=object)
        mult = np.array([price_walk[c][price_step[w]] for c in cls]) * np.array(
            [cost_noise[str(u)] for u in b.unit_id]
        )
        out_p = sc.forced_outage_frac + (
            sc.planned_outage_frac if SEASONS[int(cal.wk_season[w])] in ("spring", "fall") else 0.0
        )
        avail = rng.random(len(b)) >= out_p
        must = np.array([str(u) in must_ids for u in b.unit_id]) & avail
        st = _week_stack(
            b, cost_mult=mult, avail=avail, must_run=must, min_load_frac=sc.min_load_frac
        )
        stacks.append(st)
        mr = b.capacity_mw * sc.min_load_frac * must
        hi_b = _mmbtu_per_kwh(co2, b.fuel, b.rate_g_per_kwh)
        for j, c in enumerate(STACK_CLASSES):
            must_mw[w, j] = mr[cls == c].sum()
            must_g_per_h_c[w, j] = float(np.sum((mr * 1000.0 * b.rate_g_per_kwh)[cls == c]))
            must_mmbtu_per_h_c[w, j] = float(np.sum((mr * 1000.0 * hi_b)[cls == c]))
        must_g_per_h[w] = float(np.sum(mr * 1000.0 * b.rate_g_per_kwh))
        avail_mw[w] = st.total_mw
    return _WeeklyFleet(stacks, must_mw, must_g_per_h, must_g_per_h_c, must_mmbtu_per_h_c, avail_mw)


def _nuclear_weekly(
    inv: Inventory, year: int, n_weeks: int, rng: np.random.Generator
) -> FloatArray:
    """Nuclear output per week [MW]: 95 % of capacity, each unit off for a random 4-week
    refuelling."""
    nuc = _units_of(inv, ("nuclear",), year)
    refuel = rng.integers(0, max(n_weeks - 4, 1), len(nuc))
    wk = np.arange(n_weeks)
    nuc_on = ~((wk[None, :] >= refuel[:, None]) & (wk[None, :] < refuel[:, None] + 4))
    out: FloatArray = (nuc[:, None] * 0.95 * nuc_on).sum(axis=0) if len(nuc) else np.zeros(n_weeks)
    return out


@dataclass(frozen=True)
class _Shapes:
    """Per interval: the load shape (x the mean load), wind and solar capacity factors and
    the imports' AR(1) process; wind and solar capacity as multiples of mean load."""

    load_shape: FloatArray
    wind_cf: FloatArray
    solar_cf: FloatArray
    imp_z: FloatArray
    wind_cap: float
    solar_cap: float
    import_mean_frac: float
    import_sd_frac: float

    @classmethod
    def draw(
        cls, sc: Scenario, p: dict[str, float], cal: _Calendar, rng: np.random.Generator
    ) -> _Shapes:
        hour, doy, day, n, per_h = cal.hour, cal.doy, cal.day, cal.n, cal.per_h
        ang = 2 * np.pi * (doy - p["season_peak_doy"]) / 365.0
        seasonal = p["season_amp"] * np.cos(ang) + p["second_amp"] * np.cos(2 * ang)
        diurnal = p["diurnal_amp"] * (
            np.cos(2 * np.pi * (hour - p["diurnal_peak_h"]) / 24.0)
            + 0.35 * np.cos(4 * np.pi * (hour - 8.0) / 24.0)
        )
        weekend = np.where(cal.dow >= 5, -p["weekend"], 0.0)
        weather_day = _ar1(rng, sc.n_days, 0.8, 0.05)[day]
        shape = (
            1.0
            + seasonal
            + diurnal * (1.0 + 2.0 * np.maximum(seasonal, 0.0))
            + weekend
            + weather_day
            + _ar1(rng, n, 0.9, 0.015)
        )
        shape = np.maximum(shape, 0.3)
        wind_cap = p["wind"] if sc.wind_capacity_frac is None else sc.wind_capacity_frac
        solar_cap = p["solar"] if sc.solar_capacity_frac is None else sc.solar_capacity_frac
        z = _ar1(rng, n, 0.985 ** (1 / per_h), 1.3) + 0.35 * np.cos(2 * np.pi * (hour - 2) / 24)
        wind_cf = 0.9 / (1.0 + np.exp(-(z - 0.6)))
        day_len = 12.0 + p["day_len_amp"] * np.cos(2 * np.pi * (doy - 172) / 365.0)
        rise = 13.0 - day_len / 2
        elev = np.clip(np.sin(np.pi * (hour - rise) / day_len), 0.0, None)
        clear = rng.beta(p["clear_a"], p["clear_b"], sc.n_days)[day]
        solar_cf = 0.85 * elev**1.2 * clear
        imp_z = _ar1(rng, n, 0.99 ** (1 / per_h), 1.0)
        return cls(
            shape,
            wind_cf,
            solar_cf,
            imp_z,
            wind_cap,
            solar_cap,
            sc.import_mean_frac,
            sc.import_sd_frac,
        )

    def parts(self, lbar: float, fixed: FloatArray) -> tuple[FloatArray, ...]:
        """(load, wind, solar, imports, residual load) [MW] at mean load ``lbar``; ``fixed``
        is the must-take output (nuclear, hydro/bio, must-run)."""
        load = lbar * self.load_shape
        wind = self.wind_cap * lbar * self.wind_cf
        solar = self.solar_cap * lbar * self.solar_cf
        imports = lbar * (self.import_mean_frac + self.import_sd_frac * self.imp_z)
        return load, wind, solar, imports, load - wind - solar - imports - fixed

    def scaled_to(self, target: float, fixed: FloatArray) -> tuple[FloatArray, ...]:
        """:meth:`parts` at the mean load whose 99.9th-percentile residual load meets
        ``target`` (the available capacity x the peak reserve), by bisection."""
        lo, hi = 1.0, 1e6
        for _ in range(60):  # bisection on the mean-load scale (each step vectorised)
            mid = 0.5 * (lo + hi)
            if np.quantile(self.parts(mid, fixed)[4], 0.999) > target:
                hi = mid
            else:
                lo = mid
        return self.parts(lo, fixed)


def _generation_by_class(
    fleet: _WeeklyFleet,
    stack_group: IntArray,
    residual: FloatArray,
    sc: Scenario,
    co2: FuelCo2,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray], FloatArray]:
    """(generation [MW], emissions [g], heat input [MMBtu]) by stack class, and the true
    marginal rate [g/kWh] of each interval, from the position of the residual load in its
    week's stack (vectorised per week)."""
    n = len(residual)
    must_mw = fleet.must_mw
    gen = {c: must_mw[stack_group, j].copy() for j, c in enumerate(STACK_CLASSES)}
    hours = sc.interval_s / 3600.0
    e_c = {c: fleet.must_g_per_h_c[stack_group, j] * hours for j, c in enumerate(STACK_CLASSES)}
    hi_c = {
        c: fleet.must_mmbtu_per_h_c[stack_group, j] * hours for j, c in enumerate(STACK_CLASSES)
    }
    pos = np.clip(residual, 0.0, None)
    true_rate = np.zeros(n)
    for w, st in enumerate(fleet.stacks):
        m = stack_group == w
        cls = np.array([fuel_class(str(f)) for f in st.fuel], dtype=object)
        i = np.clip(
            np.searchsorted(st.cum_mw, np.minimum(pos[m], st.total_mw), side="left"), 0, len(st) - 1
        )
        before = st.cum_mw[i] - st.capacity_mw[i]
        part = np.minimum(pos[m], st.total_mw) - before
        true_rate[m] = np.where(residual[m] > 0, st.rate_g_per_kwh[i], 0.0)
        hi_u = _mmbtu_per_kwh(co2, st.fuel, st.rate_g_per_kwh)
        for c in STACK_CLASSES:
            cap_c = np.where(cls == c, st.capacity_mw, 0.0)
            cum_c = np.cumsum(cap_c)
            mw_below = cum_c[i] - cap_c[i]
            gen[c][m] += mw_below + np.where(cls[i] == c, part, 0.0)
            # the same positions weighted by each unit's rate and heat input per kWh
            for per_kwh, acc in ((st.rate_g_per_kwh, e_c), (hi_u, hi_c)):
                w_c = np.cumsum(cap_c * per_kwh)
                acc[c][m] += (
                    1000.0
                    * hours
                    * (
                        w_c[i]
                        - cap_c[i] * per_kwh[i]
                        + np.where(cls[i] == c, part * per_kwh[i], 0.0)
                    )
                )
    return gen, e_c, hi_c, true_rate
