"""SAVAE (savae §IV): preprocessing, the sampled reconstruction loss, any-geometry sampling."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from calopaper.geometry import Segmentation
from calopaper.models import savae
from calopaper.models.savae import SAVAE, SAVAEConfig
from calopaper.training import FitConfig

TINY = {"latent_dim": 3, "hidden": 8, "heads": 2, "max_tokens": 6}


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


def test_prepare_gives_tokens_segmentation_index_and_all_cells():
    cfg = SAVAEConfig(segmentations=("12x12", "6x6"), **TINY)
    images = {"12x12": _showers(5, (12, 12)), "6x6": _showers(5, (6, 6), 1)}
    tokens, mask, index, x = savae.prepare(images, cfg)
    assert tokens.shape == (10, 6, 5) and mask.shape == (10, 6) and x.shape == (10, 144)
    assert index.tolist() == [0] * 5 + [1] * 5
    for rows, name in ((slice(0, 5), "12x12"), (slice(5, 10), "6x6")):
        flat = images[name].reshape(5, -1)
        scaled = savae.to_unit(flat, cfg.e_min_mev, cfg.e_max_mev)
        assert x[rows, : flat.shape[1]].numpy() == pytest.approx(scaled, abs=1e-6)
        assert torch.all(x[rows, flat.shape[1] :] == 0)
        assert tokens[rows, 0, 0].numpy() == pytest.approx(scaled.max(1), abs=1e-6)
        occupied = np.minimum((flat > 0).sum(1), 6)
        assert mask[rows].sum(1).tolist() == np.maximum(occupied, 1).tolist()
    # token geometry is the cell's: the brightest 6x6 token sits on a central cell
    assert torch.all(tokens[5:, 0, 1:3].abs() < 3 * 80.0 / cfg.length_mm)


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


def test_decoder_output_is_a_density_times_the_cell_area():
    """With a cell network blind to the cell, every cell gets the same density: energy ∝ area."""
    model = SAVAE(SAVAEConfig(segmentations=("6x6",), threshold_mev=0.0, **TINY))
    with torch.no_grad():
        model.cell_weights[-1].weight.zero_()
    energy = model.sample(3, "36x48*", generator=torch.Generator().manual_seed(0))
    assert torch.allclose(energy[:, 24:], 2 * energy[:, :24].mean(1, keepdim=True), rtol=1e-4)
    assert torch.allclose(energy[:, :24], energy[:, :1], rtol=1e-5)


def test_fit_savae_does_not_depend_on_the_global_random_state(tmp_path):
    from calopaper.store import Store

    cfg = SAVAEConfig(segmentations=("6x6",), **TINY)
    train = {"6x6": _showers(32, (6, 6))}
    models = []
    for k in range(2):
        torch.rand(k + 1)
        store = Store(tmp_path / str(k))
        fit = FitConfig(epochs=1, batch_size=16)
        m, _ = savae.fit_savae(cfg, fit, train, None, {}, device="cpu", store=store, progress=False)
        models.append(m)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)
