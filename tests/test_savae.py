"""SAVAE (savae §IV): preprocessing, the sampled reconstruction loss, any-geometry sampling, and
its pipeline: training cached in the store under a key that holds the truth's source."""

import json
from dataclasses import asdict
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from calopaper import fidelity, training, truth
from calopaper.datasets import write_points
from calopaper.geometry import Segmentation
from calopaper.models import savae
from calopaper.models.savae import SAVAE, SAVAEConfig, Showers
from calopaper.models.savae import chapter as savae_chapter
from calopaper.showers import PointClouds
from calopaper.store import Store
from calopaper.training import FitConfig
from calopaper.truth import Source

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


def test_reconstruction_sums_or_averages_the_cells():
    images = {"6x6": _showers(4, (6, 6))}
    terms = {}
    for reduction in ("sum", "mean"):
        cfg = SAVAEConfig(segmentations=("6x6",), reconstruction=reduction, **TINY)
        torch.manual_seed(0)
        model = SAVAE(cfg)
        torch.manual_seed(1)
        terms[reduction] = model.terms(savae.prepare(images, cfg))[0].item()
    assert terms["sum"] == pytest.approx(36 * terms["mean"], rel=1e-5)
    with pytest.raises(ValueError, match="reconstruction"):
        SAVAEConfig(reconstruction="median")


def test_encoder_over_every_hit_cell_ignores_the_padding():
    cfg = SAVAEConfig(segmentations=("6x6", "12x12"), **TINY | {"max_tokens": None})
    images = {"6x6": _showers(3, (6, 6)), "12x12": _showers(3, (12, 12))}
    tokens, mask, index, _ = savae.prepare(images, cfg)
    hits = max((x.reshape(3, -1) > 0).sum(1).max() for x in images.values())
    assert tokens.shape[1] == hits and mask.sum(1).tolist() == [
        max(1, int(n)) for x in images.values() for n in (x.reshape(3, -1) > 0).sum(1)
    ]
    model = SAVAE(cfg)
    cond = model.train_cond[index]
    mu, _ = model.encode(tokens, mask, cond)
    padded = torch.cat([tokens, torch.full_like(tokens[:, :5], 7.0)], dim=1)
    more = torch.cat([mask, torch.zeros_like(mask[:, :5])], dim=1)
    assert torch.allclose(model.encode(padded, more, cond)[0], mu, atol=1e-5)


def test_reconstruct_decodes_at_the_posterior_mean():
    cfg = SAVAEConfig(segmentations=("6x6",), **TINY)
    model = SAVAE(cfg).eval()
    images = _showers(5, (6, 6))
    first, second = model.reconstruct(images, "6x6"), model.reconstruct(images, "6x6")
    assert first.shape == (5, 6, 6) and torch.equal(first, second)  # no sampling
    assert model.reconstruct(images[:, ::2, ::2], "3x3").shape == (5, 3, 3)


def test_nested_split_keeps_the_first_showers_split_and_the_parts_disjoint():
    from calopaper.splits import split

    parts = savae.nested_split(5000, 1200, seed=1234)
    gaam_train, gaam_val, gaam_test = split(1200, savae.data.SPLIT, seed=1234)
    assert not set(gaam_train) & set(parts["test"]) and not set(gaam_test) & set(parts["train"])
    assert set(gaam_test) <= set(parts["test"]) and set(gaam_val) <= set(parts["val"])
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(5000))
    # without nesting, the plain split shares showers of GAAM's training set with the test set
    assert set(gaam_train) & set(split(5000, savae.data.SPLIT, seed=1234)[2])


def test_closest_to_paper_keeps_the_baseline_unless_matched():
    point = lambda w: savae.ScanPoint(1e-4, {}, w, w, 1.0, 1.0, 0.0)  # noqa: E731
    assert savae_chapter.closest_to_paper({"a": point(0.3), "b": point(0.5)}, ["a", "b"]) == "a"
    assert savae_chapter.closest_to_paper({"a": point(0.3), "b": point(0.3)}, ["a", "b"]) == "b"


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


def test_decoder_output_is_a_density_times_the_cell_area():
    """With a cell network blind to the cell, every cell gets the same density: energy ∝ area."""
    model = SAVAE(SAVAEConfig(segmentations=("6x6",), threshold_mev=0.0, **TINY))
    with torch.no_grad():
        model.cell_weights[-1].weight.zero_()
    energy = model.sample(3, "36x48*", generator=torch.Generator().manual_seed(0))
    assert torch.allclose(energy[:, 24:], 2 * energy[:, :24].mean(1, keepdim=True), rtol=1e-4)
    assert torch.allclose(energy[:, :24], energy[:, :1], rtol=1e-5)


def _point_file(path, n: int, seed: int = 0) -> Source:
    """A user file of ``n`` middle-layer showers (column 2 = 1) as a ``Source``."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(5, 20, n)
    points = np.column_stack(
        [
            rng.normal(0, 15, counts.sum()),
            rng.normal(0, 15, counts.sum()),
            np.ones(counts.sum()),
            rng.lognormal(3, 1, counts.sum()),
        ]
    )
    offsets = np.concatenate([[0], np.cumsum(counts)])
    direction = np.tile([0.0, 0.0, 1.0], (n, 1))
    write_points(path, PointClouds(points, offsets, np.full(n, 65.0), direction, np.full(n, 22)))
    return Source(path=str(path))


def _counting_fit(monkeypatch) -> list:
    """Replace ``training.fit`` by a wrapper that records every call (one per model built)."""
    calls, fit = [], training.fit
    monkeypatch.setattr(training, "fit", lambda *a, **k: calls.append(1) or fit(*a, **k))
    return calls


def test_showers_load_regroups_the_middle_layer_and_splits_it(tmp_path):
    showers = Showers.load(_point_file(tmp_path / "x.h5", 20), ["6x6", "12x12"], seed=3)
    assert showers.images["6x6"].shape == (20, 6, 6)
    assert sorted(np.concatenate(list(showers.parts.values())).tolist()) == list(range(20))
    assert [len(showers.parts[k]) for k in ("train", "val", "test")] == [14, 2, 4]
    assert showers.part("train", ["12x12"], first=5)["12x12"].shape == (5, 12, 12)
    assert showers.key["truth"]["sha256"] == showers.source.key["sha256"]
    with pytest.raises(ValueError, match="24x24"):
        showers.part("test", ["24x24"])


def test_trained_learns_and_caches_in_the_store(data_root, tmp_path, monkeypatch):
    showers = Showers.load(_point_file(tmp_path / "x.h5", 80), ["6x6"], seed=0)
    cfg = SAVAEConfig(segmentations=("6x6",), **TINY)
    fit_config = FitConfig(epochs=4, batch_size=16, lr=1e-2)
    calls = _counting_fit(monkeypatch)
    model, history = savae.trained(cfg, fit_config, showers, device="cpu", progress=False)
    assert history.train[-1] < history.train[0]
    (manifest,) = (data_root / "models" / "savae").glob("*.json")
    code = json.loads(manifest.read_text())["code"]
    assert "calopaper.models.savae" in code  # every module of the package is in the key
    assert json.loads(manifest.read_text())["config"]["data"]["truth"] == showers.source.key
    again, _ = savae.trained(cfg, fit_config, showers, device="cpu", progress=False)
    assert len(calls) == 1
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    savae.trained(cfg, fit_config, showers, n_train=20, device="cpu", progress=False)
    assert len(calls) == 2  # the first 20 training showers make another model


def test_trained_model_is_rebuilt_when_the_simulator_code_changes(data_root, monkeypatch):
    """A change to SUPA's code changes the truth's key, so the model trained on it is stale."""
    cfg = SAVAEConfig(segmentations=("6x6",), **TINY)
    fit_config = FitConfig(epochs=1, batch_size=16)
    calls = _counting_fit(monkeypatch)
    for _ in range(2):  # the second build loads the model
        showers = Showers.load(Source("supa", "gaam", 20, seed=0), ["6x6"], 0, progress=False)
        savae.trained(cfg, fit_config, showers, device="cpu", progress=False)
    assert len(calls) == 1
    monkeypatch.setattr(truth, "code_digest", lambda modules: "edited-simulator")
    showers = Showers.load(Source("supa", "gaam", 20, seed=0), ["6x6"], 0, progress=False)
    savae.trained(cfg, fit_config, showers, device="cpu", progress=False)
    assert len(calls) == 2


def test_trained_model_is_rebuilt_when_the_user_file_changes(data_root, tmp_path, monkeypatch):
    cfg = SAVAEConfig(segmentations=("6x6",), **TINY)
    fit_config = FitConfig(epochs=1, batch_size=16)
    calls = _counting_fit(monkeypatch)
    path = tmp_path / "showers.h5"
    for seed in (0, 0, 1):  # the same bytes twice, then other showers in the same file
        showers = Showers.load(_point_file(path, 20, seed), ["6x6"], seed=0)
        savae.trained(cfg, fit_config, showers, device="cpu", progress=False)
    assert len(calls) == 2


def test_trained_does_not_depend_on_the_global_random_state(tmp_path):
    showers = Showers.load(_point_file(tmp_path / "x.h5", 40), ["6x6"], seed=0)
    cfg = SAVAEConfig(segmentations=("6x6",), **TINY)
    models = []
    for k in range(2):
        torch.rand(k + 1)
        store = Store(tmp_path / str(k))
        fit = FitConfig(epochs=1, batch_size=16)
        m, _ = savae.trained(cfg, fit, showers, device="cpu", store=store, progress=False)
        models.append(m)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)


def test_sample_gives_every_segmentation_reproducibly():
    model = SAVAE(SAVAEConfig(segmentations=("6x6",), **TINY))
    first = savae.sample(model, ["6x6", "24x12"], 4, seed=1)
    again = savae.sample(model, ["6x6", "24x12"], 4, seed=1)
    assert first["24x12"].shape == (4, 24, 12)
    assert all(np.array_equal(first[k], again[k]) for k in first)


def test_scan_point_measures_accuracy_diversity_and_kl(tmp_path):
    showers = Showers.load(_point_file(tmp_path / "x.h5", 60), ["6x6", "12x12"], seed=0)
    truth_obs = savae.observables(showers.part("test"))
    cfg = SAVAEConfig(segmentations=("6x6",), beta=1e-3, **TINY)
    args = (cfg, FitConfig(epochs=1, batch_size=16), showers, truth_obs)
    store = Store(tmp_path / "data")
    point = savae.scan_point(
        *args, n_train=14, n_samples=12, seed=0, device="cpu", store=store, progress=False
    )
    again = savae.scan_point(*args, n_train=14, n_samples=12, seed=0, store=store)  # stored
    assert asdict(again).keys() == asdict(point).keys()
    np.testing.assert_array_equal(again.samples["12x12"], point.samples["12x12"])
    assert again.kl == point.kl and again.cpu_seconds == point.cpu_seconds
    assert point.beta == 1e-3 and point.samples["12x12"].shape == (12, 12, 12)
    values = [point.w1_train, point.w1_unseen, point.width_spread, point.position_spread]
    assert np.all(np.isfinite(values)) and point.kl >= 0
    assert point.reconstruction_spread >= 0 and point.cpu_seconds > 0
    table = savae_chapter.scan_table([point, point])
    assert table.shape == (2, 6) and table["beta"].tolist() == [1e-3, 1e-3]


def test_offset_table_narrows_the_mean_image_for_small_offsets():
    images = _showers(200, (12, 12))
    table = savae.offset_table(images, "12x12", [0.01, 100.0])
    widths = table["σ_η of the mean-x image [mm]"].tolist()
    assert widths[0] < widths[1]


def test_fidelity_table_gives_a_row_per_model_and_segmentation_and_finds_a_bad_model(tmp_path):
    truth, fresh, good, again = ({"6x6": _showers(300, (6, 6), seed)} for seed in (1, 2, 3, 5))
    models = {
        "SAVAE": [good, again],  # two trainings
        "scaled": [{"6x6": 1.3 * _showers(300, (6, 6), 4)}],  # every energy 1.3 times too large
        "tiny": [{"6x6": good["6x6"][:8]}],  # too few showers for five folds
        "elsewhere": [{"12x12": _showers(30, (12, 12))}],  # no truth in its segmentation
    }
    kw = {"incident_energy": 65e3, "n": 250, "seed": 0, "store": Store(tmp_path / "data")}
    table = savae_chapter.fidelity_table(truth, fresh, models, particle="gamma", **kw)
    keys = ["generator", "model", "segmentation", "layer", "particle", "showers", "seeds"]
    seeds = list(fidelity.SEED_COLUMNS[1:])
    assert list(table.columns) == [*keys, *fidelity.COLUMNS.values(), *seeds, "note"]
    assert table["generator"].tolist() == ["SAVAE (6,6)", "scaled (6,6)", "tiny (6,6)"]
    assert table["showers"].tolist() == [250, 250, 8]
    assert table["seeds"].tolist() == [2, 1, 1]
    assert table.loc[0, ["layer", "particle"]].tolist() == ["middle", "gamma"]
    good_row, bad, tiny = (table.iloc[i] for i in range(3))
    assert 0 <= good_row["AUC high seed s"] < 0.1 and good_row["FPD seed s"] >= 0
    assert np.isnan(bad["AUC high seed s"])  # one training has no spread
    assert good_row["AUC high floor"] == bad["AUC high floor"]  # the same truth and fresh sample
    assert bad["AUC high"] > bad["AUC high floor"] + 0.2
    assert bad["FPD"] > 10 * bad["FPD floor"]
    assert np.isnan(tiny["AUC low"]) and "8 showers" in tiny["note"]
    # a rebuild reads every row back from the store
    kw["store"] = Store(tmp_path / "data")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fidelity, "classifier_auc", lambda *a, **k: pytest.fail("recomputed"))
        rebuilt = savae_chapter.fidelity_table(truth, fresh, models, particle="gamma", **kw)
    pd.testing.assert_frame_equal(rebuilt, table)


def test_fidelity_rows_take_the_floors_from_a_fresh_simulation(monkeypatch):
    images = {name: _showers(40, Segmentation.parse(name).shape) for name in savae.TABLE}
    source = Source("supa", "gaam", 40, seed=5)
    parts = {"train": np.arange(28), "val": np.arange(28, 32), "test": np.arange(32, 40)}
    showers = Showers(source, images, np.full(40, 65.0), parts, seed=5)
    loaded, seen = [], {}

    def load(source, segmentations, seed, **kw):
        loaded.append(source)
        fresh = {name: _showers(source.n, Segmentation.parse(name).shape, 9) for name in images}
        return Showers(source, fresh, np.full(source.n, 65.0), parts, seed)

    monkeypatch.setattr(savae_chapter.Showers, "load", load)
    monkeypatch.setattr(savae_chapter, "fidelity_table", lambda *a, **k: seen.update(a=a, k=k))
    p = SimpleNamespace(seed=5, dataset_path="", n_fidelity=30)
    savae_chapter.fidelity_rows(p, showers, {"SAVAE": [images, images], "GAAM": [images]})
    (fresh_source,) = loaded
    assert fresh_source.seed == 5 + savae_chapter.FRESH_SEED != source.seed
    assert fresh_source.n == len(parts["test"]) and fresh_source.preset == source.preset
    truth, fresh, models = seen["a"]
    np.testing.assert_array_equal(truth["48x48"], images["48x48"][32:])
    assert not np.array_equal(fresh["48x48"], truth["48x48"])
    assert list(models) == ["SAVAE", "GAAM middle"] and len(models["SAVAE"]) == 2
    assert seen["k"]["n"] == 30 and seen["k"]["particle"] == "gamma"
    assert seen["k"]["incident_energy"] == 65e3
    with pytest.raises(ValueError, match="unknown models"):
        savae_chapter.fidelity_rows(p, showers, {"VAE": [images]})


def test_fidelity_replicas_take_every_training_of_each_model_seed_0_first():
    sample = {k: {"6x6": np.full((2, 6, 6), float(k))} for k in range(2)}
    point = {k: SimpleNamespace(samples=sample[k]) for k in range(2)}
    seeded = savae_chapter.Seeded(
        seeds=(0, 1),
        budgets=(1.0,),
        main={(k, 1.0): point[k] for k in range(2)},
        specific=sample,
        gaam=sample,
        sweep={},
    )
    replicas = savae_chapter.fidelity_replicas(seeded)
    assert set(replicas) == set(savae_chapter.FIDELITY_MODELS)
    assert all([r["6x6"][0, 0, 0] for r in v] == [0.0, 1.0] for v in replicas.values())


def test_fresh_truth_of_a_users_file_is_disjoint_from_its_test_showers(tmp_path):
    showers = Showers.load(_point_file(tmp_path / "x.h5", 40), ["6x6"], seed=0)
    p = SimpleNamespace(seed=0, dataset_path=str(tmp_path / "x.h5"))
    fresh = savae_chapter.fresh_truth(p, showers, ["6x6"])
    expected = showers.images["6x6"][showers.parts["train"][: len(showers.parts["test"])]]
    np.testing.assert_array_equal(fresh["6x6"], expected)
