"""`estimate --crossover`: the utilisation fed back to `estimate` makes embodied = operational."""

from __future__ import annotations

import json

import pytest

from infercarbon.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_fed_back_to_estimate_lines_are_equal(capsys: pytest.CaptureFixture[str]) -> None:
    d = run(
        capsys,
        "estimate",
        "--crossover",
        "--workload",
        "WL-02",
        "--tier",
        "T1,T2,T4",
        "--region",
        "GB,PL",
        "--json",
        "--samples",
        "500",
    )
    rows = d["crossover"]
    assert [(r["tier"], r["region"]) for r in rows] == [
        ("T1", "GBR"),
        ("T1", "POL"),
        ("T2", "GBR"),
        ("T2", "POL"),
        ("T4", "GBR"),
        ("T4", "POL"),
    ]
    checked = 0
    for r in rows:
        u = r["crossover_utilisation_frac"]
        assert r["low_frac"] <= u <= r["high_frac"]
        if u > 1:
            assert "even at full use" in r["advice"]
            continue
        e = run(
            capsys,
            "estimate",
            "--workload",
            "WL-02",
            "--tier",
            r["tier"],
            "--region",
            r["region"],
            "--utilisation",
            repr(u),
            "--json",
            "--samples",
            "500",
        )
        li = {x["name"]: x["emissions_g"] for x in e["line_items"]}
        assert li["embodied"] == pytest.approx(li["operational_location"], rel=0.01)
        checked += 1
    assert checked >= 3
    one = run(
        capsys,
        "estimate",
        "--crossover",
        "--workload",
        "WL-02",
        "--tier",
        "T2",
        "--region",
        "GB",
        "--json",
    )
    assert one["crossover_utilisation_frac"] == one["crossover"][0]["crossover_utilisation_frac"]


def test_crossover_refuses_a_given_utilisation(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "estimate",
            "--crossover",
            "--workload",
            "WL-02",
            "--tier",
            "T1",
            "--region",
            "GB",
            "--utilisation",
            "0.3",
        ]
    )
    assert code == 2 and "error: utilisation" in capsys.readouterr().err
    code = main(["estimate", "--crossover", "--energy-j", "5", "--region", "GB"])
    assert code == 2 and "error: tier" in capsys.readouterr().err
