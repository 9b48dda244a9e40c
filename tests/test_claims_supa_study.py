"""SUPA study claims: rankings and resolutions contradicting the paper are not reproduced, equal
models (and shared random numbers) do not read as rankings that carry over, clearly ordered
models still do."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calopaper import findings
from calopaper.claims.supa_study import PAPER_TABLE_2, Correlation, Measured, claims
from calopaper.models.caloflow import chapter
from calopaper.models.caloflow.chapter import (
    SeedScores,
    marginal_keys,
    permutation_p,
    score,
    spearman,
)
from calopaper.store import Store

RESOLUTIONS = ["1x", "2x", "3x"]
SCORES = ("nll", "mean_discrepancy", "average_rank")
RANKINGS = [f"supa-ranking-{n}" for n in ("nll", "mean-discrepancy", "average-rank")]


def table(diagonal, top):
    values = np.full((3, 3), np.nan)
    values[0] = top
    values[[1, 2], [1, 2]] = diagonal[1:]
    values[0, 0] = diagonal[0]
    return pd.DataFrame(values, index=RESOLUTIONS, columns=RESOLUTIONS)


def synthetic_scores(shifts, seed, n=600, n_seeds=3, noise=0.0):
    """One truth and models shifted by ``shifts`` (in units of the truth's spread), scored once
    per training seed; ``noise`` adds a per-seed shift (training noise)."""
    rng = np.random.default_rng(seed)
    truth = {"E_0": rng.normal(size=n), "s_d": rng.exponential(size=n)}
    per_seed = []
    for _ in range(n_seeds):
        drawn = [s + noise * rng.normal() for s in shifts]
        models = {
            str(k): {"E_0": rng.normal(s, 1, n), "s_d": rng.exponential(size=n) + s}
            for k, s in enumerate(drawn, start=1)
        }
        nll = {str(k): rng.normal(1 + s, 0.1, n) for k, s in enumerate(drawn, start=1)}
        per_seed.append(score(truth, models, marginal_keys(truth), nll, n_boot=10, seed=seed))
    return SeedScores(tuple(per_seed))


def measured(correlations, diagonal=(3.57, 6.78, 8.29), top=(3.57, 6.35, 7.20), error=0.1):
    value = table(diagonal, top)
    return Measured(correlations, [value], value * 0 + error)


def verdicts(m):
    return {c.id: c.verdict for c in claims(m)}


def correlations(a, b):
    return {name: spearman(a, b, name) for name in SCORES}


PERFECT = Correlation(1.0, 1 / 5040, 1.0, "7", (1.0, 1.0, 1.0), tuple("1234567"))


def test_paper_numbers_reproduce_the_resolution_claims():
    m = Measured(dict.fromkeys(SCORES, PERFECT), [PAPER_TABLE_2], PAPER_TABLE_2 * 0 + 0.1)
    assert set(verdicts(m).values()) == {"reproduced"}


def test_clearly_ordered_models_reproduce_the_rankings():
    """Clearly better: seven variants in the same order on both simulators, with training noise."""
    a = synthetic_scores([0.1, 0.3, 0.5, 0.7, 0.9, 1.2, 1.6], seed=1, noise=0.03)
    b = synthetic_scores([0.2, 0.4, 0.6, 0.8, 1.0, 1.4, 2.0], seed=2, noise=0.03)
    c = correlations(a, b)
    assert c["mean_discrepancy"].p <= 0.05 and c["mean_discrepancy"].rho_without > 0
    result = verdicts(measured(c))
    assert [result[r] for r in RANKINGS] == ["reproduced"] * 3


def test_reversed_ordering_is_not_reproduced():
    a = synthetic_scores([0.1, 0.3, 0.5, 0.7, 0.9, 1.2, 1.6], seed=1)
    b = synthetic_scores([2.0, 1.4, 1.0, 0.8, 0.6, 0.4, 0.2], seed=2)
    result = verdicts(measured(correlations(a, b)))
    assert [result[r] for r in RANKINGS] == ["not reproduced"] * 3


def test_equal_models_rarely_reproduce_the_rankings():
    """Noise: seven equal variants whose samples differ only by seed; each simulator has its own
    draws. "reproduced" must come about as often as p <= 0.05 allows, not more."""
    results = []
    for seed in range(30):
        a = synthetic_scores([0.5] * 7, seed=100 + seed, n=300, n_seeds=3, noise=0.02)
        b = synthetic_scores([0.5] * 7, seed=200 + seed, n=300, n_seeds=3, noise=0.02)
        c = spearman(a, b, "mean_discrepancy")
        results.append(measured(dict.fromkeys(SCORES, c)))
    reproduced = [verdicts(m)[RANKINGS[1]] == "reproduced" for m in results]
    assert sum(reproduced) <= 4  # 30 x 0.05 = 1.5 expected
    rhos = [m.correlations["mean_discrepancy"].rho for m in results]
    assert abs(np.mean(rhos)) < 0.2


def test_one_variant_alone_does_not_reproduce():
    """Six variants in opposite orders and a far worse seventh on both: ρ is carried by one."""
    a = synthetic_scores([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 3.0], seed=5)
    b = synthetic_scores([0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 3.0], seed=6)
    c = spearman(a, b, "mean_discrepancy")
    assert c.without == "7" and c.rho_without < 0
    assert verdicts(measured(dict.fromkeys(SCORES, c)))[RANKINGS[1]] != "reproduced"


def test_the_permutation_p_value_is_scipys_exact_test():
    rng = np.random.default_rng(0)
    for n in (5, 7):
        x, y = rng.normal(size=n), rng.normal(size=n)
        exact = stats.permutation_test(
            (x,),
            lambda xx, y=y: stats.spearmanr(xx, y).statistic,
            permutation_type="pairings",
            alternative="greater",
            n_resamples=np.inf,
        )
        assert permutation_p(x, y) == pytest.approx(exact.pvalue)
    assert permutation_p(range(7), range(7)) == pytest.approx(1 / 5040)


def test_each_simulator_has_its_own_streams():
    p = SimpleNamespace(dataset_path="", n_showers=100, seed=2022, n_seeds=3, epochs=2,
                        batch_size=16, lr=1e-3)  # fmt: skip
    setup = chapter.configs(p)
    sources = list(setup.sources.values())
    assert sources[0].seed != sources[1].seed  # other showers, other incident energies
    assert len(set(setup.seeds.values())) == 2  # and other splits
    shifted = chapter.configs(SimpleNamespace(**{**vars(p), "seed": p.seed + 1}))
    training = [
        {s.seed(name, r) for name in s.sources for r in range(p.n_seeds)} for s in (setup, shifted)
    ]
    assert len(training[0]) == 6 and not training[0] & training[1]
    assert setup.fit_for("SUPA", 0) == setup.fit  # the speed chapter's model is seed 0's


def test_each_training_has_its_own_truth_sample(tmp_path):
    p = SimpleNamespace(dataset_path="", n_showers=60, seed=2022, n_seeds=2, epochs=2,
                        batch_size=16, lr=1e-3)  # fmt: skip
    setup = chapter.configs(p)
    store = Store(tmp_path)
    replicas = setup.replicas(store)
    first, second = replicas["SUPA"]
    assert first.source == setup.sources["SUPA"]  # seed 0's truth: the speed chapter's
    assert second.source.seed == setup.seed("SUPA", 1) != first.source.seed
    assert not np.array_equal(first.incident_energy, second.incident_energy)
    assert second.split_seed == setup.seed("SUPA", 1)
    assert [len(v) for v in replicas.values()] == [2, 2]


def test_shared_random_numbers_inflate_rho_and_separate_streams_do_not():
    """Equal toy variants: the same seed for both simulators makes their scores agree by
    themselves; the page's streams (``chapter.STREAMS``) leave ρ at chance."""
    rho = chapter.toy_rho(n_variants=7, repeats=60)
    assert rho["shared"] > 0.5
    assert abs(rho["separate"]) < 0.15


@pytest.mark.parametrize(
    ("diagonal", "expected"),
    [
        ((3.0, 6.0, 9.0), "reproduced"),
        ((3.0, 2.0, 3.5), "partly"),
        ((3.0, 3.0, 3.0), "partly"),  # equal: the band straddles 0
        ((3.0, 3.0, 2.5), "not reproduced"),
        ((9.0, 6.0, 3.0), "not reproduced"),
    ],
)
def test_resolution_diagonal(diagonal, expected):
    m = measured(dict.fromkeys(SCORES, PERFECT), diagonal=diagonal, top=(diagonal[0], 7.0, 8.0))
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
    m = measured(dict.fromkeys(SCORES, PERFECT), diagonal=(top[0], 6.0, 8.0), top=top)
    assert verdicts(m)["supa-resolution-downsampled"] == expected


def test_resolution_noise_between_seeds_is_not_reproduced():
    """Noise: 1x and 3x equal up to training noise (per-seed tables drawn around equality)."""
    rng = np.random.default_rng(3)
    count = 0
    for _ in range(30):
        tables = [table(3 + rng.normal(0, 0.3, 3), 3 + rng.normal(0, 0.3, 3)) for _ in range(3)]
        m = Measured(dict.fromkeys(SCORES, PERFECT), tables, tables[0] * 0 + 0.05)
        result = verdicts(m)
        count += result["supa-resolution-diagonal"] == "reproduced"
        count += result["supa-resolution-downsampled"] == "reproduced"
    assert count <= 6  # of 60 judgements; a 3-seed band covers about 82 %


def test_resolution_clearly_worse_at_3x_over_seeds_is_reproduced():
    rng = np.random.default_rng(4)
    tables = [
        table((3.0, 4.5, 6.0) + rng.normal(0, 0.2, 3), (3.0, 4.5, 6.0) + rng.normal(0, 0.2, 3))
        for _ in range(3)
    ]
    m = Measured(dict.fromkeys(SCORES, PERFECT), tables, tables[0] * 0 + 0.05)
    result = verdicts(m)
    assert result["supa-resolution-diagonal"] == result["supa-resolution-downsampled"]
    assert result["supa-resolution-diagonal"] == "reproduced"
    claim = next(c for c in claims(m) if c.id == "supa-resolution-diagonal")
    assert claim.seeds["n_seeds"] == 3


def test_ranking_claims_carry_the_p_value_and_the_seeds():
    a = synthetic_scores([0.1, 0.3, 0.5, 0.7, 0.9, 1.2, 1.6], seed=1)
    b = synthetic_scores([0.2, 0.4, 0.6, 0.8, 1.0, 1.4, 2.0], seed=2)
    claim = claims(measured(correlations(a, b)))[1]
    assert claim.seeds["n_seeds"] == 3 and 0 < claim.seeds["p"] <= 1
    assert "p = " in claim.ours and "3 seeds" in claim.ours
    assert findings.band(claim.seeds["per_seed_rho"]).n == 3


def test_discrepancy_is_scipy_w1_in_units_of_the_truth_spread():
    rng = np.random.default_rng(0)
    truth = {"E_0": rng.normal(0, 2, 300), "s_d": rng.exponential(size=300)}
    model = {"E_0": rng.normal(1, 2, 300), "s_d": np.r_[rng.exponential(size=299), np.nan]}
    scores = score(truth, {"m": model}, ["E_0", "s_d"], n_boot=2)
    for key in ("E_0", "s_d"):
        finite = model[key][np.isfinite(model[key])]
        expected = stats.wasserstein_distance(truth[key], finite) / np.std(truth[key])
        assert scores.distances.loc[key, "m"] == pytest.approx(expected, rel=1e-9)


def test_the_band_of_rho_brackets_its_p_value_and_widens_with_training_noise():
    """ρ's band comes from the variants' errors: wider with more training noise, and its two
    ends' p-values bracket the p-value of ρ itself."""
    shifts = [0.1, 0.3, 0.5, 0.7, 0.9, 1.2, 1.6]
    quiet = spearman(synthetic_scores(shifts, seed=1), synthetic_scores(shifts, seed=2), "nll")
    noisy = spearman(
        synthetic_scores(shifts, seed=1, noise=0.5), synthetic_scores(shifts, seed=2, noise=0.5),
        "nll",
    )  # fmt: skip
    assert 0 <= quiet.rho_error < noisy.rho_error
    for c in (quiet, noisy):
        worst, best = c.p_range
        assert best <= c.p <= worst
    assert permutation_p(range(7), range(7), rho=-1.0) == 1.0
    assert permutation_p(range(7), range(7), rho=1.0) == pytest.approx(1 / 5040)


def test_a_rho_whose_band_straddles_the_threshold_is_partly():
    """ρ = 0.75 (p = 0.033) whose band reaches p = 0.12 is neither reproduced nor, at ρ = 0.36
    (p = 0.22) with a band reaching p = 0.04, not reproduced: the verdicts that moved with the
    machine are read as partly."""
    near = Correlation(0.75, 0.033, 0.6, "7", (0.7,), tuple("1234567"), 0.1, (0.12, 0.004))
    below = Correlation(0.36, 0.22, 0.3, "7", (0.4,), tuple("1234567"), 0.2, (0.6, 0.04))
    result = verdicts(measured(dict(zip(SCORES, (near, below, PERFECT), strict=True))))
    assert [result[r] for r in RANKINGS] == ["partly", "partly", "reproduced"]
