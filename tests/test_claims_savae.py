"""Chapter 02's claims: "not reproduced" on wrong measurements, "reproduced" on right ones."""

from dataclasses import replace

import pytest

from calopaper.claims.savae import BetaSummary, Measured, claims, table2_numbers, table3_numbers

#: β sweep trends as the paper describes them: less diversity and worse interpolation with β.
PAPER_SWEEP = BetaSummary(
    rho_spread=-1.0,
    rho_unseen=1.0,
    best_beta=1e-4,
    beta_lo=1e-6,
    beta_hi=1e-3,
    spread_lo=0.9,
    spread_hi=0.4,
    unseen_lo=0.2,
    unseen_hi=0.8,
)
GOOD = Measured(
    savae_over_gaam=[0.2] * 16,
    savae_over_specific=[1.1] * 16,
    widths_ratio=0.9,
    betas=[1e-6, 1e-5, 1e-4, 1e-3],
    sweep=PAPER_SWEEP,
    ms_savae=0.5,
    ms_gaam=100.0,
    unseen_w1=[0.5, 0.3, 0.2, 0.8],
    n_timing=1000,
)
#: Per claim, a measurement that contradicts it.
BAD = {
    "savae-beats-gaam": replace(GOOD, savae_over_gaam=[2.0] * 16),
    "savae-70-percent": replace(GOOD, savae_over_gaam=[1.5] * 16),
    "geometry-specific": replace(GOOD, savae_over_specific=[10.0] * 16),
    "narrower-widths": replace(GOOD, widths_ratio=1.3),
    "beta-diversity": replace(
        GOOD, sweep=replace(PAPER_SWEEP, rho_spread=1.0, spread_lo=0.4, spread_hi=0.9)
    ),
    "beta-interpolation": replace(
        GOOD, sweep=replace(PAPER_SWEEP, rho_unseen=-1.0, unseen_lo=0.8, unseen_hi=0.2)
    ),
    "beta-optimum": replace(GOOD, unseen_w1=[0.2, 0.3, 0.5, 0.8]),
    "speed": replace(GOOD, ms_savae=2.0, ms_gaam=1.0),
}


def verdicts(measured: Measured) -> dict[str, str]:
    return {c.id: c.verdict for c in claims(measured)}


def test_matching_measurements_reproduce_every_claim():
    assert verdicts(GOOD) == dict.fromkeys(BAD, "reproduced")


@pytest.mark.parametrize("claim", list(BAD))
def test_contradicting_measurement_is_not_reproduced(claim):
    assert verdicts(BAD[claim])[claim] == "not reproduced"


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [(1.0, "reproduced"), (3.0, "partly"), (0.1, "partly"), (5.0, "not reproduced")],
)
def test_geometry_specific_is_about_closeness(ratio, expected):
    measured = replace(GOOD, savae_over_specific=[ratio] * 16)
    assert verdicts(measured)["geometry-specific"] == expected


def test_beating_gaam_in_half_the_entries_is_partly():
    measured = replace(GOOD, savae_over_gaam=[0.5] * 8 + [2.0] * 8)
    assert verdicts(measured)["savae-beats-gaam"] == "partly"


def test_table_numbers_count_training_and_unseen_entries():
    numbers = table2_numbers([0.5] * 8 + [2.0] * 8)
    assert (numbers["n_better_seen"], numbers["n_better_unseen"]) == (8, 0)
    assert table3_numbers([0.5] * 4 + [2.0] * 12)["n_specific_better"] == 12


@pytest.mark.parametrize(
    ("betas", "unseen_w1", "expected"),
    [
        # a neighbouring β is best and 1e-4 is far worse: no longer "partly"
        ([1e-6, 1e-5, 1e-4, 1e-3], [0.5, 0.2, 0.4, 0.8], "not reproduced"),
        ([1e-6, 1e-5, 1e-4, 1e-3], [0.5, 0.4, 0.6, 0.3], "not reproduced"),
        # 1e-4 within 10 % of the best
        ([1e-6, 1e-5, 1e-4, 1e-3], [0.5, 0.30, 0.32, 0.8], "partly"),
        # lowest at 1e-4, but 1e-4 ends the grid: no optimum shown
        ([1e-6, 1e-5, 1e-4], [0.5, 0.3, 0.2], "partly"),
        ([1e-6, 1e-5], [0.5, 0.3], "not yet run"),
        ([1e-6, 1e-5, 1e-4, 1e-3], [], "not yet run"),
    ],
)
def test_beta_optimum_needs_1e4_lowest_inside_the_grid(betas, unseen_w1, expected):
    measured = replace(GOOD, betas=betas, unseen_w1=unseen_w1)
    assert verdicts(measured)["beta-optimum"] == expected


@pytest.mark.parametrize(
    ("widths", "expected"),
    [(0.9, "reproduced"), (0.5, "partly"), (0.1, "not reproduced"), (1.3, "not reproduced")],
)
def test_narrower_widths_means_slightly_narrower_not_collapsed(widths, expected):
    assert verdicts(replace(GOOD, widths_ratio=widths))["narrower-widths"] == expected
