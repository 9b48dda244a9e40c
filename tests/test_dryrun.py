"""The paper profile's dry run: paper architectures kept, data cut, two steps, its own store."""

import json
import math

import pytest
import torch

from calopaper import dryrun, profiles, training
from calopaper.store import default_store


@pytest.fixture
def dry(monkeypatch):
    monkeypatch.setenv(dryrun.ENV, "1")


@pytest.mark.parametrize("value, on", [("", False), ("0", False), ("1", True), ("yes", True)])
def test_the_switch(monkeypatch, value, on):
    monkeypatch.setenv(dryrun.ENV, value)
    assert dryrun.active() is on


@pytest.mark.parametrize("chapter", sorted(profiles.CHAPTERS))
def test_a_dry_run_cuts_only_sizes_the_paper_profile_has(dry, chapter):
    paper = profiles.CHAPTERS[chapter]["paper"]
    cut = profiles.profile_values(chapter, "paper")
    assert set(dryrun.SIZES[chapter]) <= set(paper), "a dry-run size no chapter reads"
    assert set(cut) == set(paper)
    kept = {k: v for k, v in paper.items() if k not in dryrun.SIZES[chapter]}
    assert {k: cut[k] for k in kept} == kept  # architectures, batch sizes, samplers untouched
    for k in dryrun.SIZES[chapter]:
        assert set(cut[k]) <= set(paper[k]) if isinstance(cut[k], list) else cut[k] <= paper[k]


def test_a_dry_run_keeps_the_paper_architectures_and_batches(dry):
    cc = profiles.profile_values("06_caloclouds3", "paper")
    assert (cc["cc2_flow_affine"], cc["cc2_flow_hidden"], cc["distill_steps"]) == (60, 650, 18)
    assert cc["point_batch"] == 2048 and cc["points"] >= 2 * cc["point_batch"]
    dvae = profiles.profile_values("04_dvae", "paper")
    assert len(dvae["grid_architectures"]) == 4 and dvae["batch_size"] == 100
    assert 0.8 * dvae["n_showers"] >= 2 * dvae["batch_size"]


def test_other_profiles_and_no_dry_run_are_untouched(dry, monkeypatch):
    assert profiles.profile_values("02_savae", "book") == profiles.CHAPTERS["02_savae"]["book"]
    monkeypatch.setenv(dryrun.ENV, "0")
    assert profiles.profile_values("02_savae", "paper") == profiles.CHAPTERS["02_savae"]["paper"]


def test_unknown_chapter_or_profile_is_named():
    with pytest.raises(profiles.ParameterError, match="'03_gam'"):
        profiles.profile_values("03_gam", "paper")
    with pytest.raises(profiles.ParameterError, match="'gpu'"):
        profiles.profile_values("03_gaam", "gpu")


class _Counting(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.calls = 0

    def loss(self, batch):
        self.calls += 1
        return ((batch[0] - self.w) ** 2).mean()


@pytest.mark.parametrize("batch_size", [4, 64])
def test_a_dry_run_trains_two_steps(dry, batch_size):
    model = _Counting()
    config = training.FitConfig(epochs=50, batch_size=batch_size)
    training.fit(model, torch.zeros(64, 1), config=config, device="cpu", progress=False)
    assert model.calls == dryrun.STEPS


def test_without_a_dry_run_every_step_is_taken():
    model = _Counting()
    config = training.FitConfig(epochs=3, batch_size=16)
    training.fit(model, torch.zeros(64, 1), config=config, device="cpu", progress=False)
    assert model.calls == 3 * 4


def test_a_dry_run_has_its_own_store(dry, monkeypatch, tmp_path):
    monkeypatch.delenv("CALOPAPER_DATA", raising=False)
    assert default_store().root == dryrun.store_root()
    assert default_store().root.name != "data"
    monkeypatch.setenv("CALOPAPER_DATA", str(tmp_path))
    assert default_store().root == tmp_path


def test_a_dry_run_reports_each_models_size_and_memory(dry, data_root):
    model = torch.nn.Sequential(torch.nn.Linear(8, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))
    model.loss = lambda batch: model(batch[0]).pow(2).mean()
    config = training.FitConfig(epochs=5, batch_size=32)
    training.fit(model, torch.zeros(64, 8), config=config, device="cpu", description="toy")
    (row,) = [json.loads(line) for line in (data_root / dryrun.REPORT).read_text().splitlines()]
    assert row["description"] == "toy" and row["batch_size"] == 32
    assert row["parameters"] == 8 * 256 + 256 + 256 + 1
    assert row["weights_mb"] == pytest.approx(row["parameters"] * 4 / 2**20)
    # the hidden layer's output (32 x 256 floats) is kept for the backward pass, at least once
    assert row["activations_mb"] >= 32 * 256 * 4 / 2**20
    assert row["estimate_mb"] == pytest.approx(4 * row["weights_mb"] + row["activations_mb"])
    assert math.isnan(row["cuda_peak_mb"])


def test_the_gpu_policy_is_set_for_cuda_only():
    from calopaper.timing import set_device_policy

    flags = (torch.backends.cudnn, "benchmark"), (torch.backends.cudnn, "allow_tf32")
    flags += ((torch.backends.cuda.matmul, "allow_tf32"),)
    before = [getattr(module, name) for module, name in flags]
    try:
        for module, name in flags:
            setattr(module, name, False)
        set_device_policy("cpu")
        assert not any(getattr(module, name) for module, name in flags)
        set_device_policy("cuda:0")
        assert all(getattr(module, name) for module, name in flags)
    finally:
        for (module, name), value in zip(flags, before, strict=True):
            setattr(module, name, value)
