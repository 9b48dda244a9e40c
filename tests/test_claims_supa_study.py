"""SUPA study claims: rankings and resolutions contradicting the paper are not reproduced."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calopaper.claims.supa_study import PAPER_TABLE_2, Measured, claims
from calopaper.models.caloflow.chapter import marginal_keys, score, spearman

RESOLUTIONS = ["1x", "2x", "3x"]


def table(diagonal, top):
    values = np.full((3, 3), np.nan)
    values[0] = top
    values[[1, 2], [1, 2]] = diagonal[1:]
    values[0, 0] = diagonal[0]
    return pd.DataFrame(values, index=RESOLUTIONS, columns=RESOLUTIONS)


def synthetic_scores(shifts, seed, n=600):
    """One truth and models shifted by ``shifts`` (in units of the truth's spread)."""
    rng = np.random.default_rng(seed)
    truth = {"E_0": rng.normal(size=n), "s_d": rng.exponential(size=n)}
    models = {
        str(k): {"E_0": rng.normal(s, 1, n), "s_d": rng.exponential(size=n) + s}
        for k, s in enumerate(shifts)
    }
    nll = {str(k): rng.normal(1 + s, 0.1, n) for k, s in enumerate(shifts)}
    return score(truth, models, marginal_keys(truth), nll, n_boot=30, seed=seed)


def measured(correlations, diagonal=(3.57, 6.78, 8.29), top=(3.57, 6.35, 7.20), error=0.1):
    value = table(diagonal, top)
    return Measured(correlations, 0.9, value, value * 0 + error)


def verdicts(m):
    return {c.id: c.verdict for c in claims(m)}


def correlations(a, b):
    return {name: tuple(vars(spearman(a, b, name))[k] for k in ("rho", "low", "high"))
            for name in ("nll", "mean_discrepancy", "average_rank")}  # fmt: skip


def test_paper_numbers_reproduce_the_resolution_claims():
    m = Measured({n: (1.0, 0.9, 1.0) for n in ("nll", "mean_discrepancy", "average_rank")},
                 0.9, PAPER_TABLE_2, PAPER_TABLE_2 * 0 + 0.1)  # fmt: skip
    assert set(verdicts(m).values()) == {"reproduced"}


def test_same_ordering_on_both_simulators_reproduces_the_rankings():
    a = synthetic_scores([0.1, 0.4, 0.8, 1.2, 1.6], seed=1)
    b = synthetic_scores([0.2, 0.5, 0.9, 1.4, 2.0], seed=2)
    result = verdicts(measured(correlations(a, b)))
    assert [result[f"supa-ranking-{n}"] for n in ("nll", "mean-discrepancy", "average-rank")] == [
        "reproduced"
    ] * 3


def test_reversed_ordering_is_not_reproduced():
    a = synthetic_scores([0.1, 0.4, 0.8, 1.2, 1.6], seed=1)
    b = synthetic_scores([2.0, 1.4, 0.9, 0.5, 0.2], seed=2)
    result = verdicts(measured(correlations(a, b)))
    assert result["supa-ranking-mean-discrepancy"] == "not reproduced"
    assert result["supa-ranking-nll"] == "not reproduced"
    assert result["supa-ranking-average-rank"] == "not reproduced"


def test_models_indistinguishable_within_noise_do_not_reproduce():
    """Equal models: ρ is noise, its interval reaches below 0."""
    a = synthetic_scores([0.5] * 5, seed=3)
    b = synthetic_scores([0.5] * 5, seed=4)
    rho = spearman(a, b, "mean_discrepancy")
    assert rho.low < 0
    result = verdicts(measured(correlations(a, b)))
    assert result["supa-ranking-mean-discrepancy"] != "reproduced"


@pytest.mark.parametrize(
    ("diagonal", "expected"),
    [
        ((3.0, 6.0, 9.0), "reproduced"),
        ((3.0, 2.0, 3.5), "partly"),
        ((3.0, 3.0, 3.0), "not reproduced"),
        ((9.0, 6.0, 3.0), "not reproduced"),
    ],
)
def test_resolution_diagonal(diagonal, expected):
    m = measured({n: (1.0, 0.9, 1.0) for n in ("nll", "mean_discrepancy", "average_rank")},
                 diagonal=diagonal, top=(diagonal[0], 7.0, 8.0))  # fmt: skip
    assert verdicts(m)["supa-resolution-diagonal"] == expected


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        ((3.0, 6.0, 7.0), "reproduced"),
        ((3.0, 3.1, 3.1), "partly"),
        ((3.0, 3.0, 2.5), "not reproduced"),
        ((3.0, 1.0, 1.0), "not reproduced"),
    ],
)
def test_resolution_downsampled_top_row(top, expected):
    m = measured({n: (1.0, 0.9, 1.0) for n in ("nll", "mean_discrepancy", "average_rank")},
                 diagonal=(top[0], 6.0, 8.0), top=top)  # fmt: skip
    assert verdicts(m)["supa-resolution-downsampled"] == expected


def test_discrepancy_is_scipy_w1_in_units_of_the_truth_spread():
    rng = np.random.default_rng(0)
    truth = {"E_0": rng.normal(0, 2, 300), "s_d": rng.exponential(size=300)}
    model = {"E_0": rng.normal(1, 2, 300), "s_d": np.r_[rng.exponential(size=299), np.nan]}
    scores = score(truth, {"m": model}, ["E_0", "s_d"], n_boot=2)
    for key in ("E_0", "s_d"):
        finite = model[key][np.isfinite(model[key])]
        expected = stats.wasserstein_distance(truth[key], finite) / np.std(truth[key])
        assert scores.distances.loc[key, "m"] == pytest.approx(expected, rel=1e-9)
