"""Findings: seed bands, the verdict rule over seeds, budget curves, weight snapshots, and runs
with shifted seeds that publish beside the book."""

import json

import numpy as np
import pytest
import torch

from calopaper import findings, profiles
from calopaper.findings import Band, BudgetCurve, band, training_seeds
from calopaper.results import judge
from calopaper.store import Store
from calopaper.training import SNAPSHOTS, FitConfig, trained
from tests.test_results import _papermill
from tests.test_training import Line, LineConfig, _data


def test_band_is_the_seed_mean_with_two_standard_errors():
    b = band([1.0, 2.0, 3.0], bootstrap_error=0.5)
    assert b.n == 3 and b.mean == 2.0 and b.spread == pytest.approx(1.0)
    assert b.error == pytest.approx(np.hypot(1 / np.sqrt(3), 0.5))
    assert (b.lo, b.hi) == pytest.approx((2 - 2 * b.error, 2 + 2 * b.error))
    assert band(0.7).n == 1 and band(0.7).error == 0.0
    assert "3 seeds" in b.text() and b.record()["n_seeds"] == 3


def test_training_seeds_of_shifted_runs_never_meet():
    book, shifted = training_seeds(1234, 3), training_seeds(1235, 3)
    assert len(set(book)) == 3 and not set(book) & set(shifted)
    with pytest.raises(ValueError, match="n_seeds"):
        training_seeds(0, 0)


def test_judge_gives_each_verdict_and_names_not_yet_run():
    assert judge(band([2.0, 2.1, 1.9]), low=1.0) == "reproduced"
    assert judge(band([0.2, 0.3, 0.25]), low=1.0) == "not reproduced"
    assert judge(band([0.8, 1.3, 1.0]), low=1.0) == "partly"
    assert judge(band([1.0, 1.1]), low=0.5, high=2.0) == "reproduced"
    assert judge(band([3.0, 3.1]), low=0.5, high=2.0) == "not reproduced"
    assert judge(band([np.nan, 1.0]), low=0.0) == "not yet run"


@pytest.mark.parametrize(
    ("bounds", "wrong_side", "straddling"),
    [
        ({"low": 1.0}, [0.5, 0.6, 0.55], [0.8, 1.3, 1.0]),
        ({"high": 1.0}, [1.5, 1.4, 1.45], [0.8, 1.3, 1.0]),
        ({"low": 0.5, "high": 2.0}, [3.0, 3.1, 2.9], [1.7, 2.4, 2.0]),
        ({"low": 0.5, "high": 2.0}, [0.2, 0.3, 0.25], [0.3, 0.7, 0.5]),
    ],
)
def test_only_a_band_wholly_on_the_wrong_side_is_not_reproduced(bounds, wrong_side, straddling):
    """One threshold: a band wholly past it is "not reproduced", however near it lies, and
    "partly" is only a band that straddles it."""
    wrong, across = band(wrong_side), band(straddling)
    assert judge(wrong, **bounds) == "not reproduced"
    assert judge(across, **bounds) == "partly"
    assert any(across.lo < v < across.hi for v in bounds.values())  # it does straddle one


def test_equal_models_differing_by_seed_are_not_judged_better():
    """The noise case: one model "beating" its own retraining is rarely "reproduced". With 3 seeds
    a band of ± 2 s/√n covers 82 % (Student's t, 2 degrees of freedom), so about 9 % of such
    pairs read "reproduced" by chance; most read "partly"."""
    rng = np.random.default_rng(0)
    verdicts = []
    for _ in range(200):
        a, b = rng.normal(1.0, 0.1, 3), rng.normal(1.0, 0.1, 3)  # three seeds of each
        verdicts.append(judge(band(b - a), low=0.0))  # "a beats b": b's error exceeds a's
    assert verdicts.count("reproduced") <= 0.12 * len(verdicts)
    assert verdicts.count("partly") >= 0.75 * len(verdicts)


def test_a_clearly_better_model_is_still_judged_better():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 0.1, 3), rng.normal(2.0, 0.1, 3)
    assert judge(band(b - a), low=0.0) == "reproduced"


def _curve(means, spread=0.01, target=1.0):
    rng = np.random.default_rng(2)
    bands = tuple(band(m + spread * rng.standard_normal(3)) for m in means)
    return BudgetCurve(findings.BUDGETS, bands, target, unit="8 epochs")


def test_budget_curve_tells_converging_from_flat():
    closing, flat = _curve([5.0, 3.0, 2.0]), _curve([2.0, 2.02, 1.99])
    assert closing.converging and closing.shrink_per_doubling == pytest.approx(2.0, rel=0.05)
    assert closing.finding().startswith("converging toward the paper (the gap shrinks by 2.0")
    assert not flat.converging and flat.finding().startswith("flat: a finding about the method")
    noisy = _curve([3.0, 2.5, 2.0], spread=2.0)  # a trend within the seeds' spread is flat
    assert not noisy.converging
    assert json.dumps(closing.record())


def test_snapshots_are_the_weights_after_a_fraction_of_the_epochs(tmp_path):
    store = Store(tmp_path)
    args = (Line, LineConfig(), FitConfig(epochs=8, lr=0.05), lambda: (_data(), None), {"n": 1})
    full, _ = trained(*args, store=store, progress=False)
    quarter, _ = trained(*args, store=store, progress=False, budget=SNAPSHOTS[0])
    short = Line()
    torch.manual_seed(0)
    short, _ = trained(
        Line, LineConfig(), FitConfig(epochs=2, lr=0.05), lambda: (_data(), None), {"n": 1},
        store=store, progress=False,
    )  # fmt: skip
    assert torch.equal(quarter.linear.weight, short.linear.weight)
    assert not torch.equal(quarter.linear.weight, full.linear.weight)
    with pytest.raises(ValueError, match="budget 0.3"):
        trained(*args, store=store, progress=False, budget=0.3)


class Annealed(Line):
    """A model whose training depends on its progress: budgets train shorter instead."""

    def set_progress(self, fraction: float) -> None:
        self.fraction = fraction


def test_a_model_with_a_schedule_trains_at_the_fraction_instead(tmp_path):
    store = Store(tmp_path)
    config = FitConfig(epochs=8, lr=0.05)
    half, history = trained(
        Annealed, LineConfig(), config, lambda: (_data(), None), {"n": 1}, store=store,
        progress=False, budget=0.5,
    )  # fmt: skip
    assert len(history.train) == 4


def test_seed_offset_shifts_every_seed_and_is_checked(monkeypatch):
    monkeypatch.setenv(findings.ENV, "1")
    assert profiles.chapter_parameters("03_gaam", "smoke", device="cpu").seed == 1235
    monkeypatch.setenv(findings.ENV, "one")
    with pytest.raises(ValueError, match="CALOPAPER_SEED_OFFSET='one' is not an integer"):
        findings.offset()


def test_with_shifted_seeds_chapter_2_still_reads_chapter_3s_middle_layer(monkeypatch):
    """Chapter 2 passes its resolved seed (offset included) to chapter 3's parameters, which
    must not add the offset a second time: both chapters share the middle-layer GAAMs."""
    from calopaper.models.gaam import chapter as gaam_chapter

    monkeypatch.setenv(findings.ENV, "1")
    own = profiles.chapter_parameters("03_gaam", "smoke", device="cpu")
    chapter_2_seed = profiles.chapter_parameters("02_savae", "smoke", device="cpu").seed
    assert gaam_chapter.parameters("smoke", chapter_2_seed, device="cpu").seed == own.seed


def test_a_run_with_shifted_seeds_leaves_the_books_results_alone(data_root, tmp_path, monkeypatch):
    _papermill(tmp_path / "book.ipynb")
    book = data_root / "results" / "toy_chapter.json"
    before = book.read_bytes()
    monkeypatch.setenv(findings.ENV, "1")
    _papermill(tmp_path / "run.ipynb")
    assert book.read_bytes() == before
    (run,) = (data_root / "results" / "runs" / "toy_chapter").glob("*/results/toy_chapter.json")
    assert json.loads(run.read_text())["provenance"]["injected"] == {findings.ENV: "1"}


def test_band_of_one_seed_is_not_a_spread():
    assert Band((1.0,)).text() == "1 ± 0 (1 seed)"


def test_fractions_rounding_to_one_epoch_share_its_snapshot():
    snapshots = {}
    model = Line()
    from calopaper.training import fit

    fit(model, _data(), config=FitConfig(epochs=2, lr=0.05), progress=False, snapshots=snapshots)
    final = model.linear.weight
    assert set(snapshots) == set(SNAPSHOTS)
    for weights in snapshots.values():  # both after the first of two epochs, not the final
        assert not torch.equal(weights["linear.weight"], final)


def test_budget_curve_that_moves_away_from_the_paper_says_so():
    away = _curve([2.0, 3.0, 5.0])
    assert away.diverging and not away.converging
    assert away.finding().startswith("moving away from the paper (the gap grows by 2.0")
    assert "within the seeds' bands" in _curve([2.0, 2.02, 1.99]).finding()
