"""Oracle tests for calopaper.metrics (STYLE.md 9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, norm

from calopaper.metrics import (
    Distance,
    average_rank,
    compare,
    compare_all,
    floor_scale,
    jensen_shannon,
    ks,
    ks_pvalue,
    mean_discrepancy,
    to_table,
    wasserstein,
)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# ---------------------------------------------------------------------------------------------
# Wasserstein


def test_w1_of_a_shifted_sample_is_the_shift(rng):
    a = rng.normal(size=1000)
    assert wasserstein(a, a + 0.37) == pytest.approx(0.37, rel=1e-12)


def test_w1_of_gaussians_shifted_by_d(rng):
    n, d = 20_000, 0.5
    w = wasserstein(rng.normal(size=n), rng.normal(d, 1.0, size=n))
    # same-distribution W1 of two N(0,1) samples of n is ~0.8 sqrt(2/n) = 0.008; allow 5x
    assert w == pytest.approx(d, abs=5 * np.sqrt(2 / n))


def test_w1_identical_and_permuted_samples_are_zero(rng):
    a = rng.normal(size=500)
    assert wasserstein(a, a) == 0.0
    assert wasserstein(a, rng.permutation(a)) == 0.0


def test_w1_drops_nan(rng):
    a = rng.normal(size=100)
    assert wasserstein(np.append(a, np.nan), a) == 0.0


# ---------------------------------------------------------------------------------------------
# Jensen-Shannon


def test_jsd_identical_histograms_is_zero():
    assert jensen_shannon([3, 0, 5, 2], [3, 0, 5, 2]) == 0.0
    assert jensen_shannon([3, 0, 5, 2], [30, 0, 50, 20]) == 0.0  # normalised


def test_jsd_disjoint_histograms():
    # 1 in base 2 up to the 1e-10 regularisation of empty bins (~1e-9)
    assert jensen_shannon([5, 0, 0], [0, 2, 7]) == pytest.approx(1.0, abs=1e-8)
    assert jensen_shannon([5, 0], [0, 2], base=np.e) == pytest.approx(np.log(2), abs=1e-8)


def test_jsd_is_the_square_of_scipys_distance(rng):
    p, q = rng.integers(1, 100, size=(2, 20))
    assert jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2, rel=1e-9)


def test_jsd_of_samples_uses_the_truths_edges_and_folds_overflow():
    a = np.array([0.0, 1.0, 2.0, 3.0])

    def jsd(model, bins):
        return compare(a, model, metric="jsd", n_boot=2, bins=bins).value

    assert jsd(a, 4) == 0.0
    # every model value beyond the reference range folds into the last bin
    assert jsd(np.full(4, 100.0), 4) == pytest.approx(jensen_shannon([1, 1, 1, 1], [0, 0, 0, 4]))
    assert jsd(a + 10, np.array([-1.0, 5.0, 20.0])) == pytest.approx(1.0, abs=1e-8)


def test_jsd_bad_inputs():
    with pytest.raises(ValueError, match="same bins"):
        jensen_shannon([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        jensen_shannon([1, -2], [1, 2])
    with pytest.raises(ValueError, match="positive sum"):
        jensen_shannon([0, 0], [1, 2])


# ---------------------------------------------------------------------------------------------
# KS


def test_ks_identical_zero_disjoint_one_and_matches_scipy(rng):
    a, b = rng.normal(size=(2, 300))
    assert ks(a, a) == 0.0
    assert ks(a, a + 100) == 1.0
    assert ks(a, b) == pytest.approx(ks_2samp(a, b).statistic, rel=1e-12)
    assert ks_pvalue(a, a) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------
# compare: bootstrap error and floor


def test_same_distribution_floor_is_small_nonzero_and_covers_the_value(rng):
    truth = rng.normal(size=20_000)
    model = rng.normal(size=5_000)
    d = compare(truth, model)
    assert d.floor_n == 5_000
    # expected W1 floor 1.29 sqrt(1/20000 + 1/5000) = 0.020
    assert 0.003 < d.floor < 0.03
    assert d.floor_error > 0
    assert abs(d.value - d.floor) < 4 * np.hypot(d.error, d.floor_error)


def test_shifted_model_is_far_above_floor(rng):
    truth = rng.normal(size=10_000)
    d = compare(truth, rng.normal(0.2, 1.0, size=10_000))
    assert d.value == pytest.approx(0.2, abs=0.05)
    assert d.value > d.floor + 5 * d.error


def test_bootstrap_error_shrinks_with_sample_size(rng):
    small = compare(rng.normal(size=500), rng.normal(0.3, 1.0, size=500))
    large = compare(rng.normal(size=20_000), rng.normal(0.3, 1.0, size=20_000))
    # errors scale as 1/sqrt(n): expected ratio sqrt(40) = 6.3
    assert large.error < small.error / 3
    assert large.floor < small.floor / 3


def test_small_truth_floor_splits_halves(rng):
    d = compare(rng.normal(size=1000), rng.normal(size=800))
    assert (d.n_truth, d.n_model, d.floor_n) == (1000, 800, 500)


#: Large-sample E[W1] and E[KS] between two N(0, 1) samples of sizes n, m, in units of
#: sqrt(1/n + 1/m): sqrt(2/pi) * integral of sqrt(Phi (1 - Phi)), and sqrt(pi/2) ln 2.
W1_NORMAL = np.sqrt(2 / np.pi) * quad(lambda x: np.sqrt(norm.cdf(x) * norm.sf(x)), -10, 10)[0]
KS_NORMAL = np.sqrt(np.pi / 2) * np.log(2)
#: Ten equal-probability bins of N(0, 1): E[JSD] = 9 (1/n + 1/m) / (8 ln 2) bits.
DECILE_EDGES = np.concatenate([[-10.0], norm.ppf(np.arange(1, 10) / 10), [10.0]])


@pytest.mark.parametrize(("n_truth", "n_model"), [(1000, 1000), (600, 1000), (8000, 1000)])
@pytest.mark.parametrize("metric", ["w1", "ks", "jsd"])
def test_floor_is_the_expected_distance_at_the_comparisons_sizes(metric, n_truth, n_model, rng):
    # A perfect model's expected distance at (n_truth, n_model), not at the split's sizes: with
    # truth halves unscaled the ratio below would be sqrt(2) (W1, KS) or 2 (JSD) at 1000/1000.
    s = 1 / n_truth + 1 / n_model
    expected = {"w1": W1_NORMAL * np.sqrt(s), "ks": KS_NORMAL * np.sqrt(s)}
    expected["jsd"] = 9 * s / (8 * np.log(2))
    bins = DECILE_EDGES if metric == "jsd" else None
    floors = [
        compare(rng.normal(size=n_truth), rng.normal(size=n_model), metric, 100, k, bins).floor
        for k in range(4)
    ]
    assert np.mean(floors) == pytest.approx(expected[metric], rel=0.12)


def test_floor_scale():
    assert floor_scale("ks", (500, 500), (1000, 1000)) == pytest.approx(np.sqrt(0.5))
    assert floor_scale("jsd", (900, 100), (1000, 100)) == pytest.approx(0.011 / (1 / 900 + 0.01))
    with pytest.raises(ValueError, match="unknown metric 'w2'"):
        floor_scale("w2", (1, 1), (1, 1))


@pytest.mark.parametrize("metric", ["w1", "w1_scaled", "jsd", "ks"])
def test_compare_every_metric_is_deterministic(metric, rng):
    truth, model = rng.normal(size=(2, 2000))
    d1 = compare(truth, model, metric=metric, seed=3)
    assert d1 == compare(truth, model, metric=metric, seed=3)
    assert d1.metric == metric
    assert np.isfinite([d1.value, d1.error, d1.floor, d1.floor_error]).all()


def test_compare_counts_dropped_nan(rng):
    truth = np.append(rng.normal(size=300), [np.nan, np.inf])
    model = np.append(rng.normal(size=100), np.nan)
    d = compare(truth, model, n_boot=5)
    assert d.n_nan == (2, 1)
    assert (d.n_truth, d.n_model) == (300, 100)


def test_w1_scaled_is_unit_free(rng):
    truth, model = rng.normal(size=(2, 1000))
    model = model + 0.5
    mm = compare(truth, model, metric="w1_scaled", n_boot=5)
    km = compare(truth * 1e-3, model * 1e-3, metric="w1_scaled", n_boot=5)
    assert km.value == pytest.approx(mm.value, rel=1e-9)
    assert mm.value == pytest.approx(compare(truth, model, n_boot=5).value / truth.std(), rel=1e-12)


def test_compare_bad_inputs(rng):
    a = rng.normal(size=50)
    with pytest.raises(ValueError, match="unknown metric 'w2'"):
        compare(a, a, metric="w2")
    with pytest.raises(ValueError, match="bins only apply to metric='jsd'"):
        compare(a, a, metric="w1", bins=10)
    with pytest.raises(ValueError, match=r"shape \(5, 10\)"):
        compare(a.reshape(5, 10), a)
    with pytest.raises(ValueError, match="n_boot=1"):
        compare(a, a, n_boot=1)
    with pytest.raises(ValueError, match="no finite values"):
        compare(a, np.full(3, np.nan))
    with pytest.raises(ValueError, match="constant"):
        compare(np.ones(10), a, metric="w1_scaled")


# ---------------------------------------------------------------------------------------------
# summaries


def test_distance_str():
    d = Distance(value=1.234e-3, error=1.2e-4, floor=3.1e-4, floor_error=1e-5)
    assert str(d) == "1.2e-3 ± 1e-4 (floor 3e-4)"
    assert str(Distance(0.67, 0.09, 0.2, 0.01)) == "0.67 ± 0.09 (floor 0.2)"
    assert str(Distance(30.2, 12.3, 2.1, 0.1)) == "30 ± 12 (floor 2)"


def test_mean_discrepancy_and_average_rank():
    d = Distance(0.3, 0.01, 0.001, 0.0001)
    assert mean_discrepancy({"E_0": 0.1, "s_d": d}) == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"\['s_d'\]"):
        mean_discrepancy({"E_0": 0.1, "s_d": np.nan})
    ranks = average_rank({"a": {"x": 0.1, "y": 0.5, "z": 1}, "b": {"x": 0.2, "y": 0.4, "z": 2}})
    assert ranks == pytest.approx({"a": 4 / 3, "b": 5 / 3})


def test_compare_all_and_to_table(rng):
    truth = {"E_0": rng.normal(size=400), "s_d": rng.normal(size=400)}
    models = {
        "good": {k: rng.normal(size=200) for k in truth},
        "bad": {k: rng.normal(1.0, 1.0, size=200) for k in truth},
    }
    results = {m: compare_all(truth, obs, metric="w1", n_boot=5) for m, obs in models.items()}
    assert list(results["good"]) == ["E_0", "s_d"]
    assert mean_discrepancy(results["bad"]) > mean_discrepancy(results["good"])
    table = to_table(results)
    assert table.shape == (2, 8)
    assert table.loc["s_d", ("bad", "value")] == results["bad"]["s_d"].value
    formatted = to_table(results, formatted=True)
    assert list(formatted.columns) == ["good", "bad"]
    assert formatted.loc["E_0", "good"] == str(results["good"]["E_0"])
    assert isinstance(table, pd.DataFrame)
    with pytest.raises(ValueError, match=r"lacks observables \['s_d'\]"):
        compare_all(truth, {"E_0": truth["E_0"]})
