"""Chapter 6 on the book's common fidelity scale: the features and ``chapter.fidelity_rows``."""

from __future__ import annotations

import numpy as np
import pytest

from calopaper import fidelity
from calopaper.models.caloclouds import chapter, project
from calopaper.models.caloclouds import evaluation as ev
from calopaper.models.caloclouds.data import CELL, LAYER_Z, N_LAYERS
from calopaper.showers import PointClouds
from calopaper.sim import gflash
from calopaper.store import Store


def _cells(n: int, seed: int, scale: float = 1.0) -> PointClouds:
    """n orthogonal 30 GeV ILD photons projected to cells, energies times ``scale``."""
    clouds = gflash.simulate("ild", n, seed=seed, energy=30.0)
    clouds.points[:, 3] *= scale
    return project(clouds)


def test_axis_window_follows_a_tilted_axis():
    direction = np.array([0.3, -0.2, 1.0]) / np.linalg.norm([0.3, -0.2, 1.0])
    z = LAYER_Z[np.arange(N_LAYERS)]
    axis = z[:, None] * direction[:2] / direction[2]
    # one cell on the axis and one three cells beside it in every layer
    xy = np.concatenate([axis, axis + [3 * CELL, 0.0]])
    points = np.column_stack([xy, np.tile(np.arange(N_LAYERS), 2), np.ones(60)])
    cells = PointClouds(points, [0, 60], [10.0], direction[None], [22])
    window = ev.axis_window(cells, 2).reshape(1, N_LAYERS, 5, 5)
    assert window.shape == (1, N_LAYERS, 5, 5)
    np.testing.assert_allclose(window[0, :, 2, 2], 1.0)  # the axis cell, in the middle
    assert window.sum() == pytest.approx(N_LAYERS)  # the cell 3 away lies outside


def test_shower_observables_per_layer_add_up_to_the_totals():
    cells = _cells(20, 1)
    obs = ev.shower_observables(cells)
    layers = [f"energy in layer {k:02d}" for k in range(N_LAYERS)]
    counts = [f"occupancy in layer {k:02d}" for k in range(N_LAYERS)]
    np.testing.assert_allclose(sum(obs[k] for k in layers), obs["total visible energy"])
    np.testing.assert_allclose(sum(obs[k] for k in counts), obs["total occupancy"])
    assert len(obs) == 5 + 2 * N_LAYERS
    assert all(v.shape == (20,) for v in obs.values())


@pytest.fixture(scope="module")
def samples() -> dict[str, PointClouds]:
    """Truth, an independent truth sample, a good model (a third one) and a bad one (×1.3)."""
    return {
        "truth": _cells(60, 1),
        "truth (independent)": _cells(60, 2),
        "CaloClouds3": _cells(60, 3),
        "CaloClouds2": _cells(70, 4, scale=1.3),
    }


def test_fidelity_rows_floor_from_the_fresh_truth_and_a_bad_model_far_above_it(
    samples, monkeypatch, tmp_path
):
    seen = []
    scored = fidelity.scored

    def spy(truth, fresh, replicas, **kwargs):
        seen.append((truth, fresh, replicas))
        return scored(truth, fresh, replicas, **kwargs)

    monkeypatch.setattr(fidelity, "scored", spy)
    rows = chapter.fidelity_rows(samples, seed=0, half=2, store=Store(tmp_path))
    assert list(rows["generator"]) == ["CC3", "CC2"]  # the bench's names
    assert {*fidelity.COLUMNS.values(), *fidelity.SEED_COLUMNS} <= set(rows.columns)
    assert {"model", "segmentation", "layer", "particle", "showers"} <= set(rows.columns)
    assert (rows["showers"] == 60).all()  # cut to the smallest sample
    assert (rows["seeds"] == 1).all() and rows["AUC high seed s"].isna().all()
    truth, fresh, replicas = seen[0]
    assert truth[0].shape == fresh[0].shape == (60, N_LAYERS * 25)
    assert len(replicas) == 1 and replicas[0][0].shape == (60, N_LAYERS * 25)
    assert len(truth[1]) == 5 + 2 * N_LAYERS
    assert not np.array_equal(truth[0], fresh[0])  # the floor's truth is another sample
    expected = ev.shower_observables(samples["truth (independent)"])["total visible energy"]
    np.testing.assert_allclose(fresh[1]["total visible energy"], expected)
    good, bad = rows.iloc[0], rows.iloc[1]
    assert good["AUC high floor"] == bad["AUC high floor"]
    assert bad["AUC high"] > max(bad["AUC high floor"] + 0.2, 0.9)
    assert bad["FPD"] > 2 * bad["FPD floor"]  # at 60 showers the floor of 65 features is large
    assert "energy" in bad["separates most"]
    assert good["AUC high"] < 0.8
    assert "no spread" in chapter.seed_spread(rows)


def test_further_seeds_give_the_spread_and_the_window_its_width(samples, tmp_path):
    others = [{"CaloClouds3": _cells(60, 5), "CaloClouds2": _cells(60, 6, scale=1.2)}]
    rows = chapter.fidelity_rows(samples, others, seed=0, half=2, store=Store(tmp_path))
    assert (rows["seeds"] == 2).all()
    assert (rows["AUC high seed s"] >= 0).all() and (rows["FPD seed s"] > 0).all()
    assert "over the 2 trainings" in chapter.seed_spread(rows)
    assert (
        "13 x 13"
        in chapter.fidelity_rows(
            {k: c.select(np.arange(6)) for k, c in samples.items()}, seed=0, half=6
        )["segmentation"].iloc[0]
    )
    low, _ = chapter.fidelity_features(samples["truth"], 6)
    assert low.shape == (60, N_LAYERS * 13 * 13)


def test_too_few_showers_skip_the_rows_with_a_note(samples, tmp_path):
    few = {k: c.select(np.arange(6)) for k, c in samples.items()}
    rows = chapter.fidelity_rows(few, seed=0, half=2, store=Store(tmp_path))
    assert rows["AUC low"].isna().all()
    assert rows["note"].str.contains(f"need {fidelity.MIN_SHOWERS}").all()
