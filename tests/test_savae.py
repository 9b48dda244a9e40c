"""SAVAE (savae §IV): preprocessing, the sampled reconstruction loss, any-geometry sampling."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from calopaper.geometry import Segmentation
from calopaper.models import savae
from calopaper.models.savae import SAVAE, SAVAEConfig
from calopaper.training import FitConfig

TINY = {"latent_dim": 3, "hidden": 8, "heads": 2, "max_tokens": 6, "loss_cells": 10}


def _showers(n: int, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Sparse positive images (n, *shape) in MeV, brightest near the centre."""
    rng = np.random.default_rng(seed)
    eta, phi = np.meshgrid(*(np.linspace(-1, 1, k) for k in shape), indexing="ij")
    profile = 1e4 * np.exp(-4 * (eta**2 + phi**2))
    hits = rng.random((n, *shape)) < np.exp(-2 * (eta**2 + phi**2))
    return profile * hits * rng.lognormal(0, 0.3, (n, *shape))


@pytest.mark.parametrize(
    ("field", "value"),
    [("beta", -1.0), ("beta", float("nan")), ("hidden", 10), ("latent_dim", 0), ("e_min_mev", 0.0)],
)
def test_config_rejects_bad_values_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        SAVAEConfig(**{field: value})


def test_config_rejects_unknown_segmentations():
    with pytest.raises(ValueError, match="'7by7'"):
        SAVAEConfig(segmentations=("7by7",))


def test_geometry_specific_is_the_same_config_on_one_segmentation():
    base = SAVAEConfig(beta=3e-4)
    specific = savae.geometry_specific(base, "(36, 48)*")
    assert specific.segmentations == ("36x48*",)
    assert asdict(specific) | {"segmentations": base.segmentations} == asdict(base)


def test_log_scaling_round_trips_and_stays_in_unit_interval():
    energy = np.array([0.0, 1e-3, 0.5, 7e3, 65e3])
    x = savae.to_unit(energy, 0.01, 65e3)
    assert x.min() == 0.0 and x.max() == 1.0 and np.all(np.diff(x) > 0)
    assert savae.from_unit(x, 0.01, 65e3) == pytest.approx(energy, rel=1e-9, abs=1e-12)


def test_cell_geometry_follows_the_segmentation():
    seg = Segmentation.parse("36x48*")
    g = savae.cell_geometry(seg, length_mm=10.0).reshape(36, 48, 4)
    eta, phi = seg.centres()
    d_eta, _ = seg.sizes()
    assert g[..., 0] == pytest.approx(eta / 10.0)
    assert g[..., 1] == pytest.approx(phi / 10.0)
    assert g[:, 0, 2] == pytest.approx(d_eta[:, 0] / 10.0)
    assert set(np.round(g[:, 0, 2], 6)) == {1.0, 2.0}


def test_condition_is_the_papers_vector_scaled():
    assert savae.condition("48x48", scale=1.0).tolist() == [24, 24, 24, 24]
    assert savae.condition("36x48*", scale=1.0).tolist() == [24, 12, 24, 24]


def test_prepare_weights_give_the_full_sums_when_all_occupied_cells_fit():
    cfg = SAVAEConfig(segmentations=("12x12", "6x6"), **TINY | {"loss_cells": 40})
    images = {"12x12": _showers(5, (12, 12)), "6x6": _showers(5, (6, 6), 1)}
    tokens, mask, cond, cells, x, weight = prepare = savae.prepare(images, cfg)
    assert [t.shape[0] for t in prepare] == [10] * 6
    for rows, name in ((slice(0, 5), "12x12"), (slice(5, 10), "6x6")):
        flat = images[name].reshape(5, -1)
        n_cells = flat.shape[1]
        assert (flat > 0).sum(1).max() <= 40
        assert weight[rows].sum(1).numpy() == pytest.approx(np.full(5, n_cells))
        full = savae.to_unit(flat, cfg.e_min_mev, cfg.e_max_mev).sum(1)
        assert (weight[rows] * x[rows]).sum(1).numpy() == pytest.approx(full, rel=1e-5)
        assert cond[rows][0].tolist() == savae.condition(name).tolist()
    brightest = savae.to_unit(images["12x12"].reshape(5, -1).max(1), cfg.e_min_mev, cfg.e_max_mev)
    assert tokens[:5, 0, 0].numpy() == pytest.approx(brightest, rel=1e-6)
    assert mask[:5].sum(1).tolist() == np.minimum((images["12x12"] > 0).sum((1, 2)), 6).tolist()


def test_prepare_is_unbiased_when_occupied_cells_exceed_loss_cells():
    cfg = SAVAEConfig(segmentations=("8x8",), **TINY | {"loss_cells": 5})
    image = np.random.default_rng(0).lognormal(size=(1, 8, 8))
    full = savae.to_unit(image, cfg.e_min_mev, cfg.e_max_mev).sum()
    estimates = []
    for seed in range(400):
        *_, x, weight = savae.prepare({"8x8": image}, cfg, seed=seed)
        estimates.append(float((x * weight).sum()))
    assert np.mean(estimates) == pytest.approx(full, rel=0.03)


def test_prepare_names_missing_segmentations():
    with pytest.raises(ValueError, match="48x48"):
        savae.prepare({"12x12": _showers(2, (12, 12))}, SAVAEConfig(**TINY))


def test_loss_is_reconstruction_plus_beta_kl():
    cfg = SAVAEConfig(segmentations=("6x6",), beta=0.25, **TINY)
    model = SAVAE(cfg)
    batch = savae.prepare({"6x6": _showers(4, (6, 6))}, cfg)
    torch.manual_seed(1)
    reconstruction, kl = model.terms(batch)
    torch.manual_seed(1)
    assert model.loss(batch).item() == pytest.approx((reconstruction + 0.25 * kl).item())
    assert kl.item() >= 0


@pytest.mark.parametrize("name", ["12x12", "36x48*", "24x12", "9x12*"])
def test_samples_any_segmentation_including_unseen_ones(name):
    cfg = SAVAEConfig(segmentations=("6x6",), **TINY)
    seg = Segmentation.parse(name)
    out = SAVAE(cfg).sample(7, name, generator=torch.Generator().manual_seed(0))
    assert out.shape == (7, *seg.shape) and out.dtype == torch.float32
    assert torch.all(out >= 0)
    assert torch.all((out == 0) | (out >= cfg.threshold_mev))
    assert SAVAE(cfg).sample(0, seg).shape == (0, *seg.shape)


def test_sample_rejects_bad_requests():
    model = SAVAE(SAVAEConfig(segmentations=("6x6",), **TINY))
    with pytest.raises(ValueError, match="'7by7'"):
        model.sample(2, "7by7")
    with pytest.raises(ValueError, match="-1"):
        model.sample(-1, "6x6")


def test_fit_savae_learns_and_caches_in_the_store(data_root):
    cfg = SAVAEConfig(segmentations=("6x6",), **TINY)
    train = {"6x6": _showers(64, (6, 6))}
    val = {"6x6": _showers(16, (6, 6), 1)}
    fit_config = FitConfig(epochs=4, batch_size=16, lr=1e-2)
    key = {"source": "test"}
    model, history = savae.fit_savae(cfg, fit_config, train, val, key, device="cpu", progress=False)
    assert history.train[-1] < history.train[0]
    assert list((data_root / "models" / "savae").glob("*.pt"))
    again, _ = savae.fit_savae(cfg, fit_config, {}, None, key, device="cpu", progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
