"""GAAM: MADE masks, padding, the incremental sampler, data preparation and the cached helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from calopaper.geometry import Segmentation
from calopaper.models import gaam
from calopaper.models.gaam import GAAM, GAAMConfig, LayerData, Truth, to_classes
from calopaper.showers import PointClouds


def _model(conditional: bool = True, length: int = 40, n_classes: int = 12) -> GAAM:
    torch.manual_seed(0)
    config = GAAMConfig(length, n_classes, hidden=(16, 16), channels=3, conditional=conditional)
    return GAAM(config).eval()


def _sequences(segmentation: str, n: int, length: int, n_classes: int = 12):
    """Random classes of one segmentation padded to ``length``, with its cell sizes."""
    seg = Segmentation.parse(segmentation)
    order = torch.as_tensor(seg.spiral_order())
    classes = torch.randint(0, n_classes, (n, length))
    classes[:, seg.n_cells :] = 0
    sizes = torch.zeros(n, length, 2)
    d_eta, d_phi = (torch.as_tensor(s, dtype=torch.float32).flatten() for s in seg.sizes())
    sizes[:, : seg.n_cells] = torch.stack([d_eta, d_phi], -1)[order]
    return classes, sizes


@pytest.mark.parametrize("conditional", [True, False])
def test_output_k_depends_only_on_earlier_energies(conditional):
    model = _model(conditional)
    classes, sizes = _sequences("6x6", 4, 40)
    changed = classes.clone()
    changed[:, 20:] = (changed[:, 20:] + 5) % 12
    with torch.no_grad():
        before, after = model.logits(classes, sizes), model.logits(changed, sizes)
    assert torch.equal(before[:, :21], after[:, :21])
    assert not torch.equal(before[:, 21:], after[:, 21:])


def test_output_k_sees_the_size_of_cell_k_but_not_later_ones():
    model = _model()
    classes, sizes = _sequences("6x6", 2, 40)
    bigger = sizes.clone()
    bigger[:, 10:] *= 2
    with torch.no_grad():
        before, after = model.logits(classes, sizes), model.logits(classes, bigger)
    assert torch.equal(before[:, :10], after[:, :10])
    assert not torch.equal(before[:, 10], after[:, 10])


def test_unconditional_model_ignores_the_cell_sizes():
    model = _model(conditional=False)
    classes, sizes = _sequences("6x6", 2, 40)
    with torch.no_grad():
        assert torch.equal(model.logits(classes, sizes), model.logits(classes, 3 * sizes))


def test_padding_does_not_change_the_loss():
    model = _model()
    classes, sizes = _sequences("5x5", 3, 40)
    energy = classes.float() ** 2
    noisy = energy.clone()
    noisy[:, 25:] = 100.0
    assert torch.equal(model.loss((energy, sizes)), model.loss((noisy, sizes)))


def test_training_loss_with_empty_cells_subsampled_is_unbiased():
    torch.manual_seed(0)
    config = GAAMConfig(40, 12, hidden=(16, 16), channels=3, empty_fraction=0.25)
    model = GAAM(config)
    classes, sizes = _sequences("6x6", 8, 40)
    classes[:, 5:] *= torch.rand(8, 35) < 0.2  # mostly empty cells, as in a shower
    energy = classes.float() ** 2
    model.eval()
    exact = model.loss((energy, sizes)).item()
    model.train()
    estimates = torch.stack([model.loss((energy, sizes)).detach() for _ in range(200)])
    assert estimates.mean().item() == pytest.approx(exact, rel=0.03)
    assert estimates.std().item() > 0


def test_incremental_sampler_matches_naive_autoregressive_sampling():
    """The sampler's step-by-step first-layer updates equal a full MADE pass per cell."""
    model = _model()
    seg = Segmentation.parse("5x6")
    n, m = 6, seg.n_cells
    fast = model.sample(n, seg, generator=torch.Generator().manual_seed(4))
    uniform = torch.rand(n, m, generator=torch.Generator().manual_seed(4))
    classes, sizes = _sequences("5x6", n, 40)
    classes.zero_()
    with torch.no_grad():
        for k in range(m):
            probs = torch.softmax(model.logits(classes, sizes)[:, k], dim=-1)
            cdf = probs.cumsum(-1)
            classes[:, k] = torch.searchsorted(cdf, uniform[:, k : k + 1] * cdf[:, -1:])[:, 0]
    naive = torch.zeros(n, m)
    naive[:, torch.as_tensor(seg.spiral_order())] = classes[:, :m].float() ** 2
    assert torch.equal(fast, naive.view(n, *seg.shape))


def test_sample_starts_from_the_given_central_energy_and_truncates_long_grids():
    model = _model(length=40)
    start = torch.tensor([0.0, 16.0, 121.0])
    images = model.sample(3, ("7x7", start), generator=torch.Generator().manual_seed(0))
    seg = Segmentation.parse("7x7")
    flat = images.reshape(3, -1)
    assert flat[:, seg.spiral_order()[0]].tolist() == [0.0, 16.0, 121.0]
    assert torch.all(flat[:, seg.spiral_order()[40:]] == 0)
    with pytest.raises(ValueError, match="expected n = 3"):
        model.sample(3, ("7x7", start[:2]))


def test_sampled_energies_are_squares_of_classes():
    images = _model().sample(4, "4x4", generator=torch.Generator().manual_seed(0))
    root = torch.sqrt(images)
    assert torch.equal(root, torch.round(root)) and root.max() <= 11


def test_to_classes_rounds_square_roots_and_clips():
    assert to_classes(torch.tensor([0.0, 2.0, 2.3, 1e9]), 5).tolist() == [0, 1, 2, 4]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"length": 0}, "length"),
        ({"n_classes": 1}, "n_classes"),
        ({"hidden": ()}, "hidden"),
        ({"empty_fraction": 0.0}, "empty_fraction"),
    ],
)
def test_bad_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GAAMConfig(**{"length": 4, "n_classes": 3, **kwargs})


def test_hidden_degrees_favour_the_start_of_the_spiral():
    degrees = gaam.hidden_degrees(64, 2304)
    assert degrees.min() == 0 and degrees.max() <= 2303
    assert np.mean(degrees < 100) > 0.5


def _clouds(n: int = 40) -> PointClouds:
    """Toy showers: points around the centre in the three layers."""
    rng = np.random.default_rng(0)
    per = 30
    eta, phi = rng.normal(0, 15, (2, n * per))
    layer = np.tile(np.repeat([0.0, 1.0, 2.0], 10), n)
    energy = rng.exponential(50.0, n * per)
    points = np.stack([eta, phi, layer, energy], -1)
    offsets = np.arange(n + 1) * per
    return PointClouds(points, offsets, np.full(n, 65.0), np.tile([0, 0, 1.0], (n, 1)), [22] * n)


def test_layer_data_pads_sequences_and_derives_the_classes():
    data = LayerData.build(_clouds(), "middle", ["12x12", "6x6"], seed=0)
    assert data.length == 144
    train = data.cells("12x12", "train")
    assert data.n_classes == int(np.floor(np.sqrt(train.max()))) + 2
    energy, sizes = data.sequences("train")
    n_train = len(data.parts["train"])
    assert energy.shape == (2 * n_train, 144) and sizes.shape == (2 * n_train, 144, 2)
    assert torch.all(sizes[n_train:, 36:] == 0) and torch.all(energy[n_train:, 36:] == 0)
    assert torch.all(sizes[n_train:, :36] == 80.0)
    seg = Segmentation.parse("12x12")
    assert np.array_equal(data.central(seg), train.reshape(n_train, -1)[:, seg.spiral_order()[0]])


def test_layer_data_names_bad_layers():
    with pytest.raises(ValueError, match="unknown layer 'top'"):
        LayerData.build(_clouds(), "top", ["12x12"], seed=0)


def test_truth_needs_showers():
    with pytest.raises(ValueError, match="n >= 10"):
        Truth(n=0)


def test_middle_layer_samples_are_cached_and_shared_with_layer_model(data_root):
    kwargs = {"n_train": 20, "n_samples": 3, "seed": 0, "epochs": 1, "progress": False}
    first = gaam.middle_layer_samples(["12x12", "6x6"], device="cpu", **kwargs)
    assert first["12x12"].shape == (3, 12, 12) and first["6x6"].shape == (3, 6, 6)
    assert first["12x12"].dtype == np.float32 and np.all(first["12x12"] >= 0)
    models = sorted((data_root / "models" / "gaam").glob("*.pt"))
    again = gaam.middle_layer_samples(["6x6"], device="cpu", **kwargs)
    assert np.array_equal(again["6x6"], first["6x6"])
    assert sorted((data_root / "models" / "gaam").glob("*.pt")) == models
    model = gaam.layer_model("middle", Truth(20, 0), epochs=1, device="cpu", progress=False)
    assert np.array_equal(model.samples("6x6", 3, 0), first["6x6"])
    assert sorted((data_root / "models" / "gaam").glob("*.pt")) == models


def test_training_is_reproducible(tmp_path):
    """Same showers, settings and seed give the same weights, whatever the global random state."""
    from calopaper.store import Store

    weights = []
    for run in range(2):
        torch.manual_seed(run)
        store = Store(tmp_path / f"data{run}")
        model = gaam.layer_model(
            "outer", Truth(20, 3), epochs=1, device="cpu", progress=False, store=store
        )
        weights.append(model.model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
