"""The SUPA study page on the common scale: rows, fresh floors, a bad model, seed spreads,
rows too small to score."""

import pytest
from threadpoolctl import threadpool_limits

from calopaper import fidelity
from calopaper.models.caloflow import Voxels
from calopaper.models.caloflow import chapter as supa_study
from calopaper.truth import Source


@pytest.fixture(autouse=True)
def _one_thread():
    """One OpenMP thread for the classifiers: on a busy 2-core machine their spinning threads
    made this file ~50 times slower (889 s against 16 s)."""
    with threadpool_limits(1):
        yield


def _supa(n: int, seed: int) -> Source:
    return Source("supa", "calogan", n, seed, overrides={"particle": "e+"})


@pytest.fixture
def truth(data_root):
    """SUPA e+ in the CaloGAN cells, 1000 showers (200 in the test part)."""
    return Voxels.load(_supa(1000, 1))


def test_a_bad_model_is_far_above_floors_taken_from_a_fresh_sample(truth, monkeypatch):
    drawn, original = [], supa_study.fresh_source

    def spy(source, n, seed):
        drawn.append(original(source, n, seed))
        return drawn[-1]

    monkeypatch.setattr(supa_study, "fresh_source", spy)
    other = Voxels.load(_supa(1000, 2))  # the "model": other showers, every energy x 1.3
    cells, energy = other.part("test")
    keys = supa_study.marginal_keys(truth.marginals(*truth.part("test")))
    seeds = [(1.3 * cells, energy), (1.2 * cells, energy)]  # two trainings, seed 0 first
    table, notes = supa_study.fidelity_rows({"SUPA": truth}, {("SUPA", 3): seeds}, keys, seed=5)

    assert notes == []
    assert list(table.columns) == list(supa_study.FIDELITY_COLUMNS)
    row = table.iloc[0]
    assert row["generator"] == "CaloFlow 3 (SUPA calogan)"
    assert (row["variant"], row["particle"], row["showers"], row["seeds"]) == (3, "e+", 200, 2)
    (source,) = drawn  # one fresh sample per simulator, independent of the truth
    assert source.n == 200 and source.seed == 5 + supa_study.FRESH_SEED_OFFSET
    assert source.key != truth.source.key
    assert row["AUC high floor"] < 0.65 and row["AUC low floor"] < 0.65
    assert row["AUC high"] > row["AUC high floor"] + 0.1
    assert row["AUC low"] > 0.9 and row["FPD"] > row["FPD floor"]
    assert row["AUC high seed s"] >= 0 and row["FPD seed s"] > 0  # x 1.2 lies nearer the truth
    assert supa_study.seed_spread_text(table).startswith("Between its 2 training seeds")


def test_measurements_are_kept_in_the_store(truth, monkeypatch):
    cells, energy = Voxels.load(_supa(1000, 2)).part("test")
    args = ({"SUPA": truth}, {("SUPA", 1): [(cells, energy)]}, ["E_0", "E_1", "E_2"])
    first, _ = supa_study.fidelity_rows(*args, seed=0)

    def fail(*_, **__):
        raise AssertionError("classifier called again for stored showers")

    monkeypatch.setattr(fidelity, "classifier_auc", fail)
    again, _ = supa_study.fidelity_rows(*args, seed=0)
    assert again.equals(first)


def test_too_few_showers_leave_the_row_empty_with_a_note(data_root, tmp_path):
    small = Voxels.load(_supa(30, 1))  # 6 test showers
    cells, energy = small.part("test")
    table, notes = supa_study.fidelity_rows(
        {"SUPA": small}, {("SUPA", 9): [(cells, energy)]}, ["E_1"], seed=0
    )
    assert table["AUC high"].isna().all() and table["showers"].tolist() == [6]
    assert notes == [f"CaloFlow 9 (SUPA calogan): {table['note'].iloc[0]}"]
    assert "skipped: 6 showers" in notes[0]
    assert "no spread" in supa_study.seed_spread_text(table)
    path = tmp_path / "showers.h5"
    path.write_bytes(b"")
    assert supa_study.fresh_source(Source(path=str(path)), 10, 1) is None


def test_generator_names_are_the_speed_chapters():
    assert supa_study.benched_variants([1, 3, 5, 7, 9]) == [1, 9]
    assert supa_study.generator_name(9, _supa(10, 0)) == "CaloFlow 9 (SUPA calogan)"
