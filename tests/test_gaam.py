"""GAAM: MADE masks, padding, the incremental sampler, the layer data and the cached pipeline."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from calopaper import fidelity, truth
from calopaper.datasets import write_points
from calopaper.geometry import Segmentation
from calopaper.models import gaam
from calopaper.models.gaam import GAAM, GAAMConfig, LayerData, to_classes
from calopaper.models.gaam import chapter as gaam_chapter
from calopaper.profiles import CHAPTERS
from calopaper.showers import PointClouds
from calopaper.store import Store
from calopaper.training import FitConfig


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
        ({"length": -1}, "length"),
        ({"n_classes": 1}, "n_classes"),
        ({"hidden": ()}, "hidden"),
        ({"empty_fraction": 0.0}, "empty_fraction"),
    ],
)
def test_bad_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GAAMConfig(**{"length": 4, "n_classes": 3, **kwargs})


def test_a_model_needs_the_length_and_classes_of_its_data():
    with pytest.raises(ValueError, match="LayerData"):
        GAAM(GAAMConfig(hidden=(4,)))


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


def test_layer_data_needs_every_part_of_the_split():
    with pytest.raises(ValueError, match="need >= 10"):
        LayerData.build(_clouds(5), "middle", ["12x12"], seed=0)


FIT = FitConfig(epochs=1, batch_size=32, lr=3e-3, seed=0)
#: A small outer-layer ARM.
CONFIG = GAAMConfig(hidden=(8,) * 2, empty_fraction=0.25)


def _models(store: Store) -> list:
    return sorted((store.root / "models" / "gaam").glob("*.pt"))


def test_middle_layer_samples_are_cached_and_shared_with_chapter_3(data_root, monkeypatch):
    """The samples another chapter asks for are the store artifacts chapter 3 writes."""
    smoke = CHAPTERS["03_gaam"]["smoke"] | {"n_showers": 20, "epochs": 1, "n_samples": 3}
    monkeypatch.setitem(CHAPTERS["03_gaam"], "smoke", smoke)
    kwargs = {"device": "cpu", "progress": False}
    first = gaam_chapter.middle_layer_samples(["12x12", "6x6"], "smoke", 0, **kwargs)
    assert first["12x12"].shape == (3, 12, 12) and first["6x6"].shape == (3, 6, 6)
    assert first["12x12"].dtype == np.float32 and np.all(first["12x12"] >= 0)
    models = _models(Store(data_root))
    assert len(models) == 1
    again = gaam_chapter.middle_layer_samples(["6x6"], "smoke", 0, **kwargs)
    assert np.array_equal(again["6x6"], first["6x6"])
    chapter = gaam_chapter.configs(gaam_chapter.parameters("smoke", 0, device="cpu"))
    model = chapter.trained("middle", "GAAM", **kwargs)
    assert np.array_equal(gaam.stored_samples(model, "6x6", 3, 0), first["6x6"])
    assert _models(Store(data_root)) == models
    assert gaam_chapter.middle_layer("smoke", 0, **kwargs).key == model.key


def test_a_new_simulator_code_digest_rebuilds_the_model(tmp_path, monkeypatch):
    store = Store(tmp_path / "data")
    kwargs = {"device": "cpu", "progress": False, "store": store}
    gaam.trained("outer", gaam.source(20, 0), FIT, CONFIG, **kwargs)
    gaam.trained("outer", gaam.source(20, 0), FIT, CONFIG, **kwargs)
    assert len(_models(store)) == 1
    monkeypatch.setattr(truth, "code_digest", lambda modules: "edited simulator")
    gaam.trained("outer", gaam.source(20, 0), FIT, CONFIG, **kwargs)
    assert len(_models(store)) == 2


def test_new_bytes_in_a_user_file_rebuild_the_model(tmp_path):
    store = Store(tmp_path / "data")
    kwargs = {"device": "cpu", "progress": False, "store": store}
    path = tmp_path / "showers.h5"
    write_points(path, _clouds(20))
    first = gaam.trained("outer", gaam.source(0, 0, str(path)), FIT, CONFIG, **kwargs)
    write_points(path, _clouds(30))
    second = gaam.trained("outer", gaam.source(0, 0, str(path)), FIT, CONFIG, **kwargs)
    assert len(_models(store)) == 2
    assert len(second.data.clouds) == 30 and first.key != second.key


def test_training_is_reproducible(tmp_path):
    """Same showers, settings and seed give the same weights, whatever the global random state."""
    weights = []
    for run in range(2):
        torch.manual_seed(run)
        store = Store(tmp_path / f"data{run}")
        model = gaam.trained(
            "outer", gaam.source(20, 3), FIT, CONFIG, device="cpu", progress=False, store=store
        )
        weights.append(model.model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_chapter_configs_follow_the_parameters_cell():
    """Every chapter-3 model is configured from the notebook's parameters and nothing else."""
    p = gaam_chapter.parameters("smoke", 5, device="cpu")
    chapter = gaam_chapter.configs(p)
    assert set(chapter.configs) == set(chapter.wanted)
    assert ("outer", "unconditional ARM") not in chapter.configs
    for (layer, label), config in chapter.configs.items():
        assert set(config.hidden) == {getattr(p, f"hidden_{layer}")}
        assert len(config.hidden) == gaam_chapter.DEPTH[layer]
        assert (config.channels, config.kernel) == (p.channels, p.kernel)
        assert config.empty_fraction == p.empty_fraction
        assert config.conditional == (label == "GAAM")
    assert (chapter.fit.batch_size, chapter.fit.lr, chapter.fit.seed) == (p.batch_size, p.lr, 5)
    assert chapter.training["inner"] == p.inner_segmentations


def test_both_models_start_unseen_segmentations_from_the_same_known_prior(tmp_path, monkeypatch):
    """gaam §4.1: the central cell comes from the training showers, for GAAM and the baseline."""
    store = Store(tmp_path / "data")
    kwargs = {"device": "cpu", "progress": False, "store": store}
    starts = []
    monkeypatch.setattr(
        GAAM,
        "sample",
        lambda self, n, cond, generator=None: starts.append(cond[1]) or torch.zeros(n, 6, 6),
    )
    for conditional in (True, False):
        config = replace(CONFIG, conditional=conditional)
        model = gaam.trained("outer", gaam.source(20, 0), FIT, config, **kwargs)
        gaam.stored_samples(model, "6x6", 4, seed=1, store=store)  # (6,6): not a training grid
    assert starts[0] is not None and torch.equal(starts[0], starts[1])
    assert set(starts[0].tolist()) <= set(model.data.central("6x6").tolist())


def _fidelity_case(n_showers: int = 200, seed: int = 3):
    """Chapter 3 on ``n_showers`` SUPA showers: its chapter, middle-layer data and test size."""
    chapter = gaam_chapter.configs(gaam_chapter.parameters("smoke", seed, device="cpu"))
    chapter = replace(chapter, truth=gaam.source(n_showers, seed))
    clouds = chapter.truth.clouds(progress=False)
    data = {"middle": LayerData.build(clouds, "middle", ["12x12"], seed)}
    return chapter, data, len(data["middle"].parts["test"])


def test_fidelity_rows_take_their_floors_from_a_fresh_truth_sample(data_root, monkeypatch):
    """The common scale: floors from newly simulated showers, a model with 1.3x the energy far
    above them, a too-small sample skipped with a note."""
    chapter, data, n = _fidelity_case()
    train = data["middle"].cells("12x12", "train")
    samples = {
        ("middle", "unconditional ARM", "12x12"): train[n : n + 5],
        ("middle", "GAAM", "12x12"): train[:n] * 1.3,
    }
    drawn = []
    clouds = truth.Source.clouds
    monkeypatch.setattr(
        truth.Source, "clouds", lambda self, *a, **k: drawn.append(self) or clouds(self, *a, **k)
    )
    table = gaam_chapter.fidelity_rows(chapter, data, [samples], seed=0, progress=False)
    assert [(s.n, s.seed) for s in drawn] == [(n, 3 + gaam_chapter.FRESH_SEED)]
    assert drawn[0].key != chapter.truth.key
    assert list(table["generator"]) == ["GAAM middle (12,12)", "unconditional ARM middle (12,12)"]
    assert {*fidelity.COLUMNS.values(), *fidelity.SEED_COLUMNS} <= set(table.columns)
    assert {"model", "layer", "segmentation", "particle", "showers", "note"} <= set(table.columns)
    bad, small = (row for _, row in table.iterrows())
    assert bad["particle"] == "gamma" and bad["showers"] == n and not bad["note"]
    assert bad["AUC high"] > 0.9 > bad["AUC high floor"] and bad["separates most"]
    assert bad["FPD"] > 10 * bad["FPD floor"]
    assert bad["seeds"] == 1 and np.isnan(bad["AUC high seed s"])
    assert np.isnan(small["AUC low"]) and "need 10" in small["note"]
    glued = gaam_chapter.fidelity_glue(table)
    assert glued["fidelity_worst"] == "GAAM middle (12,12)"
    assert "1 training seed(s) per model, no seed spread" in glued["fidelity_seed_sentence"]


def test_fidelity_rows_measure_each_floor_once_and_spread_over_the_seeds(data_root, monkeypatch):
    """Both models of a segmentation share its floors, kept in the store; a second training
    seed adds the high-level classifier only, and its spread."""
    chapter, data, n = _fidelity_case(100)
    calls = []

    def auc(truth, model, *, seed=0, names=None):  # a cheap stand-in for the classifier
        calls.append(truth.shape[1])
        return float(np.mean(model) - np.mean(truth)), 0.0, {}

    monkeypatch.setattr(fidelity, "classifier_auc", auc)
    train = data["middle"].cells("12x12", "train")
    first = {("middle", "GAAM", "12x12"): train[:n] * 1.3}
    first["middle", "unconditional ARM", "12x12"] = train[n : 2 * n]
    kwargs = {"seed": 0, "progress": False}
    both = gaam_chapter.fidelity_rows(chapter, data, [first], **kwargs)
    assert len(calls) == 6  # two floors, two AUCs per model
    alone = gaam_chapter.fidelity_rows(chapter, data, [dict(list(first.items())[1:])], **kwargs)
    assert len(calls) == 6  # read back from the store
    assert both.iloc[1].equals(alone.iloc[0].rename(1))
    floors = [c for c in both.columns if "floor" in c]
    assert both.iloc[0][floors].equals(both.iloc[1][floors].rename(0))
    second = {key: 1.1 * images for key, images in first.items()}
    seeds = gaam_chapter.fidelity_rows(chapter, data, [first, second], **kwargs)
    assert calls[6:] == [5, 5]  # the high-level classifier (4 observables + energy), per model
    assert list(seeds["seeds"]) == [2, 2] and (seeds["AUC high seed s"] > 0).all()
    spread = list(fidelity.SEED_COLUMNS)
    assert seeds.drop(columns=spread).equals(both.drop(columns=spread))
