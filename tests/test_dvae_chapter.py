"""Chapter 4's library: the selected models on the common fidelity scale, with floors from an
independent truth sample, and the published selection the bench times."""

from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from calopaper import fidelity
from calopaper.bench import BenchContext
from calopaper.models.dvae import Showers, chapter, supa_source
from calopaper.models.dvae import bench as dvae_bench
from calopaper.results import write_results

P = SimpleNamespace(seed=1, dataset_path="", profile="smoke", n_showers=1000)
GRID = {("I", 0.2, 1 / 9): None, ("II", 1 / 7, 0.2): None}


@pytest.fixture(autouse=True)
def _one_openmp_thread():
    """The classifiers' OpenMP threads: on a busy machine two per test process made the
    comparison 15 times slower than one."""
    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture
def truth(data_root):
    """1000 SUPA e+ showers (100 in the test part), simulated into the test's own store."""
    return {"e+": Showers.load(supa_source("e+", 1000, P.seed), split_seed=P.seed)}


def test_a_bad_model_is_far_above_its_floor_from_a_fresh_truth_sample(truth, monkeypatch):
    read, original = [], chapter.read_cells

    def recording(source, store=None):
        read.append(source)
        return original(source, store)

    monkeypatch.setattr(chapter, "read_cells", recording)
    test_cells, _ = truth["e+"].part("test")
    bad = {"e+": [1.3 * test_cells, 1.25 * test_cells]}  # two trainings, 30 and 25 % too bright
    rows, notes = chapter.fidelity_rows(P, truth, bad, {"e+": ("I", 0.2, 1 / 9)})

    assert notes == [] and len(rows) == 1
    row = rows.iloc[0]
    assert row["generator"] == chapter.generator_name("e+") == "CaloDVAE e+"
    assert (row["particle"], row["architecture"], row["showers"]) == ("e+", "I", 100)
    scale = ["showers", "seeds", *fidelity.COLUMNS.values(), *fidelity.SEED_COLUMNS[1:], "note"]
    assert list(rows.columns) == [*chapter.FIDELITY_KEYS, *scale]
    assert row["seeds"] == 2 and row["AUC high seed s"] >= 0 and row["FPD seed s"] > 0
    assert row["note"] == ""
    assert fidelity.seed_spread_phrase(rows).startswith("by at most ")
    # the floors come from a new truth sample of the same size and energies, not the test set
    (fresh,) = read
    source = truth["e+"].source
    assert fresh.seed != source.seed and fresh.n == 100
    assert (fresh.simulator, fresh.preset, fresh.overrides) == (
        source.simulator,
        source.preset,
        source.overrides,
    )
    assert row["AUC high floor"] < 0.75 and row["AUC low floor"] < 0.75
    assert row["AUC high"] > max(0.9, row["AUC high floor"] + 0.2)
    assert row["FPD"] > 10 * row["FPD floor"]
    assert row["separates most"]


def test_too_few_showers_give_an_empty_row_and_a_user_file_no_row(truth):
    few = {"e+": [truth["e+"].part("test")[0][:5]]}
    rows, notes = chapter.fidelity_rows(P, truth, few, {"e+": ("I", 0.2, 1 / 9)})
    (row,) = rows.to_dict(orient="records")
    assert notes == [] and row["showers"] == 5 and row["seeds"] == 1
    assert np.isnan(row["AUC high"]) and "5 showers" in row["note"] and "need 10" in row["note"]
    assert "unmeasured" in fidelity.seed_spread_phrase(rows)
    user = SimpleNamespace(**vars(P) | {"dataset_path": "showers.h5"})
    rows, notes = chapter.fidelity_rows(user, truth, few, {"e+": ("I", 0.2, 1 / 9)})
    assert rows.empty and "user's file" in notes[0]
    assert "no row" in fidelity.seed_spread_phrase(rows)


def test_the_bench_times_the_grid_point_the_chapter_published(tmp_path):
    ctx = BenchContext("smoke", root=tmp_path)
    point, note = dvae_bench._selected(P, ctx, "e+", GRID)
    assert point == ("I", 0.2, 1 / 9) and "not published" in note

    selected = {"e+": ("II", 1 / 7, 0.2), "gamma": ("I", 0.2, 1 / 9)}
    tables = {"selected": chapter.selection_records(P, selected)}
    write_results(chapter.CHAPTER, [], tables, root=tmp_path / "results")
    assert chapter.published_selection(P, tmp_path) == selected
    point, note = dvae_bench._selected(P, ctx, "e+", GRID)
    assert point == ("II", 1 / 7, 0.2) and "selected" in note

    other = SimpleNamespace(**vars(P) | {"profile": "book"})
    assert chapter.published_selection(other, tmp_path) == {}
    point, note = dvae_bench._selected(P, ctx, "e+", {("III", 0.2, 0.2): None})
    assert point == ("III", 0.2, 0.2) and "not in this grid" in note


@pytest.mark.parametrize("n", [3, 20])
def test_features_have_one_value_per_shower(n):
    cells = np.random.default_rng(0).exponential(10.0, (n, 504)).astype(np.float32)
    low, high = chapter.fidelity_features(cells, np.full(n, 50.0))
    assert low.shape == (n, 504)
    assert low[0, 0] == pytest.approx(cells[0, 0] / 50e3)
    assert {"E_tot", "s_d", "sparsity_1", "width_eta_1", "width_phi_2"} <= set(high)
    assert all(v.shape == (n,) for v in high.values())
