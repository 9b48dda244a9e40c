"""The common fidelity scale: the classifier test, FPD and KPD on samples whose answer is known."""

import numpy as np
import pytest

from calopaper import fidelity

N = 1000


def _showers(n: int, seed: int, scale=(1.0, 1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """(n, 30) cells in three layers of ten (MeV) at 10 GeV, each layer's energy ~5 % wide."""
    rng = np.random.default_rng(seed)
    layer = rng.normal([2000.0, 6000.0, 2000.0], [100.0, 300.0, 100.0], (n, 3)) * scale
    shares = rng.dirichlet(np.full(10, 20.0), (n, 3))
    return (layer[:, :, None] * shares).reshape(n, 30), np.full(n, 10.0e3)


def _features(cells: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, dict]:
    layers = cells.reshape(len(cells), 3, 10).sum(2)
    high = {f"E_{k}": layers[:, k] for k in range(3)} | {"E_tot": layers.sum(1)}
    return fidelity.low_level(cells, energy), high


def test_truth_against_an_independent_truth_sample_is_indistinguishable():
    auc, spread, _ = fidelity.classifier_auc(*(fidelity.low_level(*_showers(N, s)) for s in (1, 2)))
    assert abs(auc - 0.5) <= max(2 * spread, 0.03)


@pytest.mark.parametrize("scale", [(1.0, 1.2, 1.0), (1.2, 1.0, 0.8)], ids=["scaled", "moved"])
def test_one_layer_scaled_or_energy_moved_is_found_by_the_high_level_features(scale):
    truth = fidelity.high_level(_features(*_showers(N, 1))[1])
    model = fidelity.high_level(_features(*_showers(N, 2, scale))[1])
    auc, _, important = fidelity.classifier_auc(truth[0], model[0], names=truth[1])
    assert auc >= 0.9
    assert set(important) & {"E_0", "E_1", "E_2"}


def test_a_constant_feature_is_harmless():
    a, b = (fidelity.high_level(_features(*_showers(N, s))[1])[0] for s in (1, 2))
    a, b = (np.column_stack([x, np.ones(len(x))]) for x in (a, b))
    auc, spread, _ = fidelity.classifier_auc(a, b)
    assert abs(auc - 0.5) <= max(2 * spread, 0.03)
    assert np.isfinite(fidelity.fpd(a, b)) and np.isfinite(fidelity.kpd(a, b))


def test_bad_inputs_get_a_one_line_error():
    x = np.zeros((50, 4))
    with pytest.raises(ValueError, match=r"shape \(50, 4\) and \(50, 5\)"):
        fidelity.classifier_auc(x, np.zeros((50, 5)))
    y = x.copy()
    y[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fidelity.fpd(x, y)
    with pytest.raises(ValueError, match="need at least 10"):
        fidelity.kpd(x[:5], x[:5])


def test_fpd_is_zero_for_a_sample_with_itself_and_matches_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(200_000, 2))
    assert fidelity.fpd(truth, truth) == pytest.approx(0.0, abs=1e-9)
    mu, sigma = 0.5, 1.5  # FPD of N(mu, sigma^2 I) against N(0, I) in d dimensions
    model = rng.normal(mu, sigma, size=(200_000, 2))
    assert fidelity.fpd(truth, model) == pytest.approx(2 * (mu**2 + (sigma - 1) ** 2), rel=0.02)


def test_kpd_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 2000, 3))
    same, shifted = fidelity.kpd(a, b), fidelity.kpd(a, b + 0.5)
    assert abs(same) < 0.01 < shifted


def test_compare_gives_floors_near_chance_and_a_bad_model_far_from_them():
    truth, fresh = _features(*_showers(600, 1)), _features(*_showers(600, 2))
    bad = _features(*_showers(600, 3, (1.0, 1.3, 1.0)))
    row = fidelity.compare(truth, fresh, bad, seed=0)
    assert row.auc_low_floor < 0.6 and row.auc_high_floor < 0.6
    assert row.auc_high > 0.9 and row.fpd > 10 * row.fpd_floor
    assert "E_1" in row.separating
    assert set(row.row()) == set(fidelity.COLUMNS.values())


def test_scored_cuts_to_the_smallest_sample_and_spreads_over_the_trainings(tmp_path):
    from calopaper.store import Store

    truth, fresh = _features(*_showers(80, 1)), _features(*_showers(90, 2))
    replicas = [_features(*_showers(70 + k, 10 + k, (1.0, 1.3, 1.0))) for k in range(3)]
    store = Store(tmp_path)
    row = fidelity.scored(truth, fresh, replicas, seed=0, store=store)
    assert row["showers"] == 70 and row["seeds"] == 3 and row["note"] == ""
    assert row["AUC high"] > 0.9 and row["AUC high seed s"] < 0.1 and row["FPD seed s"] >= 0
    assert set(fidelity.COLUMNS.values()) | set(fidelity.SEED_COLUMNS) <= set(row)
    # a second generator on the same truth reads the floors back from the store
    kept = len(list(tmp_path.rglob("*.result.json")))
    again = fidelity.scored(truth, fresh, replicas[:1], seed=0, store=store)
    assert len(list(tmp_path.rglob("*.result.json"))) == kept
    assert again["AUC low floor"] == row["AUC low floor"] and np.isnan(again["FPD seed s"])


def test_scored_leaves_a_sample_too_small_for_the_folds_empty_with_a_note():
    truth = _features(*_showers(50, 1))
    row = fidelity.scored(truth, truth, [_features(*_showers(fidelity.MIN_SHOWERS - 1, 2))], seed=0)
    assert np.isnan(row["AUC high"]) and "folds" in row["note"]
    with pytest.raises(ValueError, match="no sample of the model"):
        fidelity.scored(truth, truth, [], seed=0)


def test_scored_all_gives_what_scored_gives_row_by_row(tmp_path):
    from calopaper.store import Store

    truth, fresh = _features(*_showers(60, 1)), _features(*_showers(60, 2))
    jobs = {k: (truth, fresh, [_features(*_showers(60, 10 + k))]) for k in range(2)}
    rows = fidelity.scored_all(jobs, seed=0, store=Store(tmp_path), progress=False)
    assert list(rows) == [0, 1]
    assert rows[1] == fidelity.scored(*jobs[1], seed=0, store=Store(tmp_path))
