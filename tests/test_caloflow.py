"""CaloFlow contract: finite loss, gradients, samples, log-prob, conditioning, caching."""

import numpy as np
import pytest
import torch

from calopaper.models import caloflow
from calopaper.store import Store
from calopaper.timing import torch_threads
from calopaper.training import FitConfig, load_model, save_model
from calopaper.truth import Source

TINY = caloflow.CaloFlowConfig((4, 6), 2, 16, 4, 2, 16, 1)


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread, as the book runs (many threads crawl on a busy 2-core machine)."""
    with torch_threads(1):
        yield


def synthetic(n=400, seed=0):
    """Two energies; layer 0 takes 20 % of the energy at 2 GeV and 80 % at 50 GeV."""
    rng = np.random.default_rng(seed)
    energy = rng.choice([2.0, 50.0], n).astype(np.float32)
    share0 = np.where(energy > 10, 0.8, 0.2) + rng.normal(0, 0.02, n)
    pattern = rng.dirichlet(np.ones(4), n), rng.dirichlet(np.ones(6), n)
    cells = np.concatenate(
        [pattern[0] * share0[:, None], pattern[1] * (1 - share0[:, None])], 1
    ) * (energy[:, None] * 1000)
    cells[:, 3] = 0.0  # an always-empty voxel
    return torch.from_numpy(cells.astype(np.float32)), torch.from_numpy(energy)


def test_samples_have_the_documented_shape_and_finite_log_prob():
    model = caloflow.CaloFlow(TINY)
    model.loss(synthetic(64))  # initialises the standardisation
    model.eval()
    cells = caloflow.sample(
        model, 50, np.full(50, 20.0), generator=torch.Generator().manual_seed(3)
    )
    assert cells.shape == (50, 10) and cells.dtype == np.float32
    assert np.all(cells >= 0) and np.all(np.isfinite(cells))
    log_p = caloflow.log_prob(model, cells, np.full(50, 20.0))
    assert np.all(np.isfinite(log_p))


def test_conditioning_on_the_energy_is_learned(tmp_path):
    cells, energy = synthetic(600)
    model, _ = caloflow.trained(
        TINY,
        FitConfig(epochs=15, batch_size=100, lr=3e-3),
        _Data(cells, energy),
        device="cpu",
        store=Store(tmp_path),
    )
    fractions = {}
    for e in (2.0, 50.0):
        x = caloflow.sample(model, 300, e, generator=torch.Generator().manual_seed(0))
        fractions[e] = float(np.mean(x[:, :4].sum(1) / x.sum(1)))
        totals = x.sum(1) / (e * 1000)
        assert 0.8 < np.median(totals) < 1.2
    assert fractions[2.0] < 0.4 < 0.6 < fractions[50.0]
    log_p = caloflow.log_prob(model, cells[:50].numpy(), np.full(50, 7.0, np.float32))
    assert not np.allclose(log_p, caloflow.log_prob(model, cells[:50].numpy(), energy[:50].numpy()))


def test_save_and_load_give_the_same_log_prob(tmp_path):
    model = caloflow.CaloFlow(TINY)
    batch = synthetic(64)
    model.loss(batch)
    model.eval()
    save_model(tmp_path / "m.pt", model)
    loaded, _ = load_model(tmp_path / "m.pt", caloflow.CaloFlow)
    a = caloflow.log_prob(model, batch[0].numpy(), batch[1].numpy(), seed=1)
    b = caloflow.log_prob(loaded, batch[0].numpy(), batch[1].numpy(), seed=1)
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_evaluate_is_cached_in_the_store(data_root):
    voxels = caloflow.Voxels.load(Source("supa", "calogan", 60, 1), scale=1, layers=[1])
    config = caloflow.variant(10, voxels.layer_sizes)
    fit = FitConfig(epochs=1, batch_size=32)
    first = caloflow.evaluate(config, fit, voxels, seed=2)
    models = list((data_root / "models").rglob("*.pt"))
    second = caloflow.evaluate(config, fit, voxels, seed=2)
    assert len(models) == 1 and list((data_root / "models").rglob("*.pt")) == models
    np.testing.assert_array_equal(first.cells, second.cells)
    assert first.cells.shape == (len(voxels.parts["test"]), 144)


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="noise"):
        caloflow.CaloFlowConfig(noise=0.5)
    with pytest.raises(ValueError, match="variant 11"):
        caloflow.variant(11)


class _Data:
    """The part of ``Voxels`` that ``trained`` reads: train and val tensors and a store key."""

    def __init__(self, cells, energy):
        self.cells, self.incident_energy = cells, energy
        self.key = {"synthetic": len(cells)}

    def tensors(self, name):
        cut = int(0.8 * len(self.cells))
        part = slice(None, cut) if name == "train" else slice(cut, None)
        return self.cells[part], self.incident_energy[part]


def test_voxels_read_a_calogan_layout_file(tmp_path, data_root):
    from calopaper.cli import main

    path = tmp_path / "g4.h5"
    main(
        [
            "simulate",
            "supa",
            "--preset",
            "calogan",
            "-n",
            "20",
            "--format",
            "calogan",
            "-o",
            str(path),
        ]
    )
    voxels = caloflow.Voxels.load(Source(path=str(path)))
    assert voxels.cells.shape == (20, 504) and voxels.key["source"]["sha256"]
    with pytest.raises(ValueError, match="1x"):
        caloflow.Voxels.load(Source(path=str(path)), scale=2)
