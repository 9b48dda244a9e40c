"""Every CaloClouds3 claim comes out "not reproduced" on bad synthetic numbers and can hold;
equal models that differ only by seed do not read "reproduced" for a claim that one beats the
other, and a model equal to the truth up to noise reads "reproduced" for a closeness claim."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from calopaper.claims.caloclouds3 import (
    CELL_MM,
    PAPER_TABLE2,
    Measured,
    budget_curves,
    claims,
    speed_ratio,
)
from calopaper.models.caloclouds.evaluation import half_separation, two_photon_fraction

ENERGIES = [10.0, 30.0, 50.0, 70.0, 90.0]
DIPHOTON_E = (5.0, 20.0, 100.0)
#: The truth's 50 % separations (mm, error) at 5, 20, 100 GeV: what the reference simulator
#: gives with 100 pairs per energy.
TRUTH_D50 = {5.0: (9.7, 0.3), 20.0: (10.3, 0.35), 100.0: (10.8, 0.35)}
FLOOR = {"energy per cell": [0.5, 0.4, 0.3, 0.2, 0.1], "total occupancy": [0.5, 0.4, 0.3, 0.2, 0.1]}


def _table(cc3_over_cc2: dict[str, float]) -> pd.DataFrame:
    cc2 = {k: 1e-3 for k in PAPER_TABLE2}
    cc3 = {k: 1e-3 * cc3_over_cc2.get(k, 1.0) for k in PAPER_TABLE2}
    return pd.DataFrame({"CaloClouds3": cc3, "CaloClouds2": cc2, "floor": 1e-5})


def _verdicts(m: Measured) -> dict[str, str]:
    return {c.id: c.verdict for c in claims(m)}


def _diphoton(shift: float = 0.0, error: float = 0.3) -> dict[float, tuple[float, float]]:
    """CC3's 50 % separations: the truth's moved by ``shift`` mm."""
    return {e: (d + shift, error) for e, (d, _) in TRUTH_D50.items()}


GOOD = Measured(
    table2=_table(
        {
            "energy per layer": 0.5,
            "occupancy per layer": 0.5,
            "center of gravity in X": 2.0,
            "center of gravity in Y": 3.0,
        }
    ),
    cc2_ms=(80.0, 150.0, 220.0),
    cc3_ms=(10.0, 20.0, 30.0),
    fixed={"energy per cell": [5, 4, 3, 2, 1], "total occupancy": [9, 7, 5, 3, 1]},
    energies=ENERGIES,
    fixed_floor=FLOOR,
    pca={"4%": 1e-3, "100%": 1e-2},
    pca_median={"4%": 0.012, "100%": 0.06},
    pca_truth_median={"4%": 0.01, "100%": 0.05},
    diphoton=_diphoton(0.1),
    diphoton_truth=TRUTH_D50,
)
BAD = Measured(
    table2=_table(
        {
            k: 20.0 if "gravity in" not in k else 0.1
            for k in PAPER_TABLE2  # CC3 far worse overall, yet better on CoG x, y
        }
    ),
    cc2_ms=(80.0, 150.0, 220.0),
    cc3_ms=(90.0, 160.0, 250.0),  # CC3 slower than CC2
    fixed={"energy per cell": [1, 2, 3, 4, 5], "total occupancy": [1, 3, 5, 7, 9]},
    energies=ENERGIES,
    fixed_floor=FLOOR,
    pca={"4%": 1e-2, "100%": 1e-3},
    pca_median={"4%": 0.2, "100%": 0.3},
    pca_truth_median={"4%": 0.01, "100%": 0.05},
    diphoton=_diphoton(15.0),
    diphoton_truth=TRUTH_D50,
)


def test_good_numbers_reproduce():
    assert set(_verdicts(GOOD).values()) == {"reproduced"}


@pytest.mark.parametrize(
    "claim", ["cc3-comparable", "cc3-layer-profiles", "cc3-cog-xy", "cc3-energy-trend",
              "pca-top4", "cc3-speed", "diphoton"]
)  # fmt: skip
def test_bad_numbers_do_not_reproduce(claim):
    assert _verdicts(BAD)[claim] == "not reproduced"


def test_unmeasured_claims_are_not_yet_run():
    verdicts = _verdicts(Measured(table2=GOOD.table2))
    for claim in ("cc3-energy-trend", "pca-top4", "cc3-speed", "diphoton"):
        assert verdicts[claim] == "not yet run"


# --- over training seeds: three trainings of each model, judged on the seed band -----------


def _seeds(ratios: list[dict[str, float]], **fields) -> Measured:
    """A measurement of three (or more) seeds, seed i's CC3/CC2 JSD ratios ``ratios[i]``."""
    return Measured(table2=[_table(r) for r in ratios], **fields)


def _equal(rng: np.random.Generator, spread: float = 0.2) -> dict[str, float]:
    """CC3/CC2 of two equal models whose samples differ only by seed: log-normal about 1."""
    return {k: float(np.exp(rng.normal(0, spread))) for k in PAPER_TABLE2}


def _cog(x: float, y: float) -> dict[str, float]:
    return {"center of gravity in X": x, "center of gravity in Y": y}


def test_clearly_better_models_still_reproduce_over_seeds():
    ratios = [
        {"energy per layer": r, "occupancy per layer": r, **_cog(1 / r, 5 / r)}
        for r in (0.45, 0.5, 0.55)
    ]  # fmt: skip
    m = _seeds(
        ratios,
        fixed=[{"energy per cell": [5, 4, 3, 2, 1 + d]} for d in (0.0, 0.1, -0.1)],
        energies=ENERGIES,
        fixed_floor=FLOOR,
        pca=[{"4%": x, "100%": 1e-2} for x in (1e-3, 1.5e-3, 2e-3)],
        pca_median=[{"4%": x, "100%": 0.05} for x in (0.011, 0.013, 0.012)],
        pca_truth_median={"4%": 0.01, "100%": 0.05},
        diphoton=[_diphoton(s) for s in (-0.2, 0.1, 0.3)],
        diphoton_truth=TRUTH_D50,
        cc2_ms=GOOD.cc2_ms,
        cc3_ms=GOOD.cc3_ms,
    )
    verdicts = _verdicts(m)
    assert set(verdicts.values()) == {"reproduced"}
    assert all(c.seeds["n_seeds"] == 3 for c in claims(m) if c.id != "cc3-speed")


@pytest.mark.parametrize("claim", ["cc3-layer-profiles", "cc3-cog-xy"])
def test_equal_models_differing_by_seed_do_not_beat_one_another(claim):
    """CC3 and CC2 equal up to seed noise: "one beats the other" must (almost) never read
    reproduced (with 3 seeds the band covers about 82 %; both halves must clear it)."""
    rng = np.random.default_rng(1)
    verdicts = [_verdicts(_seeds([_equal(rng) for _ in range(3)]))[claim] for _ in range(300)]
    assert verdicts.count("reproduced") / len(verdicts) < 0.05
    assert verdicts.count("partly") > verdicts.count("reproduced")


def test_numbers_straddling_a_threshold_are_partly():
    m = _seeds(
        [{k: 2.0 * f for k in PAPER_TABLE2} for f in (0.8, 1.0, 1.25)],
        fixed=[{"energy per cell": v} for v in ([5, 4, 3, 2, 1], [1, 2, 3, 4, 5], [5, 4, 3, 1, 2])],
        energies=ENERGIES,
        pca_median=[{"4%": x, "100%": 0.05} for x in (0.02, 0.03, 0.045)],  # about 3x
        pca_truth_median={"4%": 0.01, "100%": 0.05},
        diphoton=[_diphoton(s) for s in (1.0, 2.0, 3.5)],  # off, but by less than a cell
        diphoton_truth=TRUTH_D50,
    )
    verdicts = _verdicts(m)
    for claim in ("cc3-comparable", "cc3-energy-trend", "pca-top4", "diphoton"):
        assert verdicts[claim] == "partly", claim


def test_bad_numbers_over_seeds_do_not_reproduce():
    rng = np.random.default_rng(2)
    bad = [{k: v * float(np.exp(rng.normal(0, 0.1))) for k, v in BAD.table2["CaloClouds3"].items()}
           for _ in range(3)]  # fmt: skip
    m = _seeds(
        [{k: v / 1e-3 for k, v in b.items()} for b in bad],
        fixed=[BAD.fixed] * 3,
        energies=ENERGIES,
        pca_median=[{"4%": x, "100%": 0.3} for x in (0.09, 0.1, 0.11)],
        pca_truth_median=BAD.pca_truth_median,
        diphoton=[_diphoton(s) for s in (14.0, 15.0, 16.0)],
        diphoton_truth=TRUTH_D50,
    )
    verdicts = _verdicts(m)
    for claim in ("cc3-comparable", "cc3-layer-profiles", "cc3-cog-xy", "cc3-energy-trend",
                  "pca-top4", "diphoton"):  # fmt: skip
        assert verdicts[claim] == "not reproduced", claim


# --- cc3-cog-xy: worse than CC2, but within twice the paper's 2.2x and 14x --------------------


def _cog_seeds(x: float, y: float, spread: float = 0.1, seed: int = 3) -> Measured:
    rng = np.random.default_rng(seed)
    noise = lambda: float(np.exp(rng.normal(0, spread)))  # noqa: E731
    return _seeds([_cog(x * noise(), y * noise()) for _ in range(3)])


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (2.2, 14.0, "reproduced"),  # the paper's own ratios
        (43.0, 35.0, "not reproduced"),  # far worse than "only marginally": this chapter's old
        (2.0, 43.0, "not reproduced"),  # one axis beyond twice the paper's is enough
        (0.3, 10.0, "not reproduced"),  # CC3 better than CC2 in x
        (4.4, 10.0, "partly"),  # x on the bound
    ],
)
def test_cog_is_worse_than_cc2_but_only_marginally(x, y, expected):
    c = {c.id: c for c in claims(_cog_seeds(x, y))}["cc3-cog-xy"]
    assert c.verdict == expected
    assert "only marginally" in c.claim


# --- pca-top4: CC3's median angular error at 4 % against the truth's -------------------------


def _pca(ratios: list[float], truth: float = 0.01) -> Measured:
    return _seeds(
        [{}] * len(ratios),
        pca_median=[{"4%": r * truth, "100%": 0.05} for r in ratios],
        pca_truth_median={"4%": truth, "100%": 0.05},
    )


def test_pca_judges_cc3_against_the_truth():
    assert _verdicts(_pca([1.1, 1.3, 1.2]))["pca-top4"] == "reproduced"
    assert _verdicts(_pca([9.0, 10.0, 11.0]))["pca-top4"] == "not reproduced"  # today's 10x
    assert _verdicts(_pca([10.0]))["pca-top4"] == "not reproduced"


def test_pca_of_a_model_equal_to_the_truth_up_to_noise_reads_reproduced():
    rng = np.random.default_rng(4)
    verdicts = [
        _verdicts(_pca(list(np.exp(rng.normal(0, 0.15, 3)))))["pca-top4"] for _ in range(200)
    ]
    assert verdicts.count("reproduced") / len(verdicts) > 0.95
    assert "not reproduced" not in verdicts


def test_pca_depends_on_cc3_not_only_on_the_truth():
    """The old condition depended on the truth alone: the same truth must give different
    verdicts for different CC3s."""
    good, bad = _pca([1.2, 1.2, 1.2]), _pca([12.0, 12.0, 12.0])
    assert good.pca_truth_median == bad.pca_truth_median
    assert _verdicts(good)["pca-top4"] != _verdicts(bad)["pca-top4"]


# --- di-photons: the separation resolved in half the pairs, truth against CC3 -----------------


def _diphoton_seeds(shifts: list[float], error: float = 0.3) -> Measured:
    return _seeds(
        [{}] * len(shifts),
        diphoton=[_diphoton(s, error) for s in shifts],
        diphoton_truth=TRUTH_D50,
    )


def test_diphoton_two_cells_off_is_not_reproduced():
    assert _verdicts(_diphoton_seeds([2 * CELL_MM] * 3))["diphoton"] == "not reproduced"
    assert _verdicts(_diphoton_seeds([-2 * CELL_MM]))["diphoton"] == "not reproduced"


def test_diphoton_with_useless_errors_is_not_reproduced_by_its_errors():
    """A band wider than a cell cannot reproduce, however close the mean."""
    assert _verdicts(_diphoton_seeds([0.0], error=4.0))["diphoton"] == "partly"


def test_diphoton_one_energy_off_by_two_cells_is_enough():
    m = _diphoton_seeds([0.0])
    shifted = [{**m.diphoton[0], 100.0: (TRUTH_D50[100.0][0] + 2 * CELL_MM, 0.3)}]
    assert _verdicts(replace(m, diphoton=shifted))["diphoton"] == "not reproduced"


def test_diphoton_of_a_model_equal_to_the_truth_up_to_noise_reads_reproduced():
    """CC3 drawn from the truth's own distribution: its 50 % separations scatter by their fit
    errors about the truth's; the claim must read reproduced nearly always, never not."""
    rng = np.random.default_rng(5)
    verdicts = [
        _verdicts(_diphoton_seeds(list(rng.normal(0, 0.35, 3))))["diphoton"] for _ in range(200)
    ]
    assert verdicts.count("reproduced") / len(verdicts) > 0.9
    assert "not reproduced" not in verdicts


def test_wilson_fractions_and_the_50_percent_crossing_of_a_logistic_curve():
    """Pairs drawn from a logistic curve with a known crossing (12 mm): the fit finds it within
    its error, and the error matches the spread over samples; the Wilson band of a bin of a
    few pairs at fraction 0 or 1 is not zero wide."""
    rng = np.random.default_rng(6)
    found = []
    for _ in range(200):
        d = rng.uniform(0, 30, 100)
        two = rng.random(100) < 1 / (1 + np.exp(-(d - 12.0) / 2.0))
        found.append(half_separation(d, np.where(two, 2, 1), 30.0))
    d50, err = np.array(found).T
    assert abs(d50.mean() - 12.0) < 0.2
    assert 0.7 < err.mean() / d50.std() < 1.4
    assert np.mean(np.abs(d50 - 12.0) < 2 * err) > 0.9
    f, lo, hi = two_photon_fraction(
        np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1]), np.array([0.0, 5.0])
    )
    assert f[0] == 0.0 and lo[0] == 0.0 and 0.2 < hi[0] < 0.4


def test_the_50_percent_crossing_of_a_step_and_beyond_the_range():
    d = np.linspace(0.1, 30, 100)
    d50, err = half_separation(d, np.where(d > 8.0, 2, 1), 30.0)
    assert abs(d50 - 8.0) < 0.3 and 0 < err < 0.5  # located by the pairs next to the step
    assert half_separation(d, np.ones(100, int), 30.0)[0] == 30.0  # never resolved
    assert half_separation(d, np.full(100, 2), 30.0)[0] == 0.0  # always resolved


# --- cc3-energy-trend: JSD minus the floor against the energy --------------------------------


def _trend(jsd: list[list[float]], floor=FLOOR) -> Measured:
    return _seeds(
        [{}] * len(jsd),
        fixed=[{"energy per cell": v, "total occupancy": v} for v in jsd],
        energies=ENERGIES,
        fixed_floor=floor,
    )


def test_energy_trend_that_is_only_the_floor_does_not_reproduce():
    """JSDs that fall with the energy only as much as the floor does: no trend beyond it."""
    above = 0.05
    jsd = [[f + above for f in FLOOR["energy per cell"]]] * 3
    assert _verdicts(_trend(jsd))["cc3-energy-trend"] == "not reproduced"
    assert _verdicts(_trend(jsd, floor={}))["cc3-energy-trend"] == "reproduced"  # without it


def test_energy_trend_of_noise_above_the_floor_does_not_reproduce():
    rng = np.random.default_rng(7)
    floor = FLOOR["energy per cell"]
    verdicts = [
        _verdicts(_trend([list(np.array(floor) + rng.uniform(0.1, 0.2, 5)) for _ in range(3)]))[
            "cc3-energy-trend"
        ]
        for _ in range(200)
    ]
    assert verdicts.count("reproduced") / len(verdicts) < 0.05


def test_energy_trend_beyond_the_floor_reproduces():
    jsd = [
        [f + a for f, a in zip(FLOOR["energy per cell"], (0.9, 0.7, 0.5, 0.3, 0.1), strict=True)]
    ] * 3
    assert _verdicts(_trend(jsd))["cc3-energy-trend"] == "reproduced"


# --- the speed ratio: one definition --------------------------------------------------------


def test_speed_ratio_is_the_mean_over_energies_and_both_chapters_judge_it_alike():
    from calopaper.claims import speed

    cc2, cc3 = (60.0, 100.0, 140.0), (10.0, 20.0, 25.0)
    ratio = speed_ratio(cc2, cc3)
    assert ratio == pytest.approx(np.mean([6.0, 5.0, 5.6]))
    ch6 = {c.id: c for c in claims(replace(GOOD, cc2_ms=cc2, cc3_ms=cc3))}["cc3-speed"]
    ch7 = {c.id: c for c in speed.claims(speed.Measured(cc2_ms=cc2, cc3_ms=cc3))}["speed-cc3-cc2"]
    assert ch6.verdict == ch7.verdict == "partly"
    assert f"{ratio:.2g}" in ch6.ours and f"{ratio:.2g}" in ch7.ours
    assert np.isnan(speed_ratio((), ()))


# --- budget curves --------------------------------------------------------------------------


def test_budget_curves_say_whether_the_gap_closes():
    closing = {b: _seeds([{k: r * f for k in PAPER_TABLE2} for f in (0.95, 1.0, 1.05)])
               for b, r in ((0.25, 8.0), (0.5, 4.0), (1.0, 2.0))}  # fmt: skip
    curves = budget_curves(closing, unit="epochs")
    assert curves["cc3-comparable"].finding().startswith("converging toward the paper")
    flat = {b: closing[1.0] for b in (0.25, 0.5, 1.0)}
    assert budget_curves(flat)["cc3-comparable"].finding().startswith("flat")
    assert "cc3-energy-trend" not in curves  # not measured at any budget


def test_an_empty_model_histogram_counts_as_the_largest_divergence():
    """A model whose showers all fall outside a histogram (JSD NaN) is judged as JSD 1."""
    table = _table({})
    table.loc["center of gravity in X", "CaloClouds3"] = float("nan")
    c = {c.id: c for c in claims(Measured(table2=table))}
    assert c["cc3-comparable"].seeds["values"][0] > 0  # log10 of a finite ratio above 1
    assert c["cc3-cog-xy"].verdict != "not yet run"


def test_budget_curves_judge_ratios_on_their_log10():
    m = _seeds([{k: 10.0 for k in PAPER_TABLE2}] * 3)
    curve = budget_curves({b: m for b in (0.25, 0.5, 1.0)})["cc3-comparable"]
    assert curve.bands[0].mean == pytest.approx(1.0)
    assert curve.target == pytest.approx(np.log10(0.9941), abs=1e-3)


def test_budget_curves_of_the_pca_and_diphoton_numbers():
    at = {b: _seeds([{}] * 3, pca_median=[{"4%": 0.01 * r, "100%": 0.05}] * 3,
                    pca_truth_median={"4%": 0.01, "100%": 0.05},
                    diphoton=[_diphoton(s)] * 3, diphoton_truth=TRUTH_D50)
          for b, r, s in ((0.25, 10.0, 4.0), (0.5, 5.0, 2.0), (1.0, 2.0, 1.0))}  # fmt: skip
    curves = budget_curves(at)
    assert curves["pca-top4"].target == 0.0  # log10 of CC3 = truth
    assert curves["pca-top4"].bands[-1].mean == pytest.approx(np.log10(2.0))
    assert curves["diphoton"].bands[0].mean == pytest.approx(4.0)
    assert curves["diphoton"].target == 0.0
