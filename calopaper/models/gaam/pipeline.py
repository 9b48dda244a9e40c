"""GAAM's cached pipeline: one layer's model trained through the store, and its stored samples.

``trained(layer, source, fit)`` gives a :class:`LayerModel` (the model, its history and the
layer's data), rebuilt whenever the truth's ``Source.key`` (the simulator's code or the file's
bytes), the config, the fit settings or the code changes. ``stored_samples`` generates a
segmentation once per model and seed. ``middle_layer_model`` and ``middle_layer_samples``
give other chapters the middle-layer GAAM of chapter 3 (``03_gaam``) for a profile, the same
store artifacts chapter 3 itself uses.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from calopaper.datasets import read_cells, write_cells
from calopaper.geometry import Segmentation
from calopaper.models.gaam.data import SPLIT, TRAINING_SEGMENTATIONS, LayerData, validate_layer
from calopaper.models.gaam.model import GAAM, GAAMConfig
from calopaper.profiles import profile_values
from calopaper.store import Store, default_store
from calopaper.timing import time_per_shower
from calopaper.training import FitConfig, History
from calopaper.training import trained as trained_model
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "DEFAULTS",
    "FIT",
    "LayerModel",
    "generation_ms",
    "middle_layer_model",
    "middle_layer_samples",
    "middle_layer_source",
    "source",
    "stored_samples",
    "trained",
]

#: The chapter whose profile settings ``middle_layer_model`` uses.
CHAPTER = "03_gaam"
#: Each layer's architecture (gaam §4.1: one hidden masked layer for the inner layer, five for
#: the middle and outer ones); ``length`` and ``n_classes`` come from the data. A quarter of
#: the empty cells enter each training batch's likelihood (reweighted, unbiased).
DEFAULTS = {
    "inner": GAAMConfig(hidden=(64,), empty_fraction=0.25),
    "middle": GAAMConfig(hidden=(64,) * 5, empty_fraction=0.25),
    "outer": GAAMConfig(hidden=(64,) * 5, empty_fraction=0.25),
}
#: Optimisation of every layer's model; ``epochs`` and ``seed`` are set per run.
FIT = FitConfig(batch_size=32, lr=3e-3, grad_clip=10.0)
#: Modules besides the model's own whose source is part of a model's or sample's key.
_CODE = ("calopaper.models.gaam.data", "calopaper.geometry", "calopaper.datasets")


@dataclass
class LayerModel:
    """A trained layer model with the data it was trained on.

    Attributes:
        layer: "inner", "middle" or "outer".
        model: the trained :class:`GAAM` (conditional or not), eval mode.
        history: its training history.
        data: the layer's truth showers and splits.
        key: the store key of the trained model (config, fit settings and data, which include
            the truth's ``Source.key``).
    """

    layer: str
    model: GAAM
    history: History
    data: LayerData
    key: dict

    @property
    def label(self) -> str:
        """The model's name in the book: "GAAM" or "unconditional ARM"."""
        return "GAAM" if self.model.config.conditional else "unconditional ARM"

    def summary(self) -> dict:
        """One table row describing the trained model: architecture size and training run."""
        history, config = self.history, self.model.config
        return {
            "layer": self.layer,
            "model": self.label,
            "training segmentations": ", ".join(s.notation for s in self.data.segmentations),
            "positions": config.length,
            "classes N+1": config.n_classes,
            "parameters": sum(t.numel() for t in self.model.parameters()),
            "epochs": len(history.train),
            "best epoch": history.best_epoch + 1,
            "val NLL [nats/shower]": round(history.val[history.best_epoch], 1),
            "training time [s]": round(history.seconds, 1),
        }


def source(n_showers: int, seed: int, path: str = "") -> Source:
    """The GAAM chapters' truth: ``n_showers`` SUPA `gaam` showers, or the point-cloud file at
    ``path`` (column 2 = layer index 0, 1, 2); ``seed`` also seeds the split.

    Example:
        >>> source(100, 3).description
        'SUPA `gaam`'
    """
    if path:
        return Source(path=path, seed=seed)
    return Source("supa", "gaam", n_showers, seed)


def trained(
    layer: str,
    truth: Source,
    fit: FitConfig,
    config: GAAMConfig | None = None,
    *,
    segmentations: list[str] | None = None,
    device: str = "auto",
    progress: bool = True,
    store: Store | None = None,
) -> LayerModel:
    """One layer's GAAM (or unconditional ARM), from the store or trained now.

    The showers are split 0.7/0.1/0.2 with ``truth.seed``; the weights of the best validation
    epoch are kept.

    Args:
        layer: "inner", "middle" or "outer".
        truth: the showers (``source(...)``); its ``key`` is part of the model's key.
        fit: optimisation settings (e.g. ``replace(FIT, epochs=12, seed=1)``).
        config: architecture (default :data:`DEFAULTS` for the layer; ``conditional=False`` is
            the unconditional ARM); ``length`` and ``n_classes`` left at 0 come from the data.
        segmentations: training segmentations (default gaam Table 1 for the layer).
        device: "auto", "cpu", "cuda".
        progress: show progress bars.
        store: artifact store (default: ``data/``).
    """
    validate_layer(layer)
    config = config or DEFAULTS[layer]
    names = [str(Segmentation.parse(s)) for s in segmentations or TRAINING_SEGMENTATIONS[layer]]
    data = LayerData.build(truth.clouds(store, progress), layer, names, truth.seed)
    config = replace(
        config,
        length=config.length or data.length,
        n_classes=config.n_classes or data.n_classes,
    )
    data_key = {
        "truth": truth.key,
        "layer": layer,
        "segmentations": names,
        "split": list(SPLIT),
        "split_seed": truth.seed,
    }
    model, history = trained_model(
        GAAM,
        config,
        fit,
        lambda: (data.sequences("train"), data.sequences("val")),
        data_key,
        device=device,
        store=store,
        progress=progress,
        code=_CODE,
    )
    key = {"config": asdict(config), "fit": asdict(fit), "data": data_key}
    return LayerModel(layer, model, history, data, key)


def _start(layer_model: LayerModel, segmentation: Segmentation, n: int, seed: int) -> Tensor:
    """n central-cell energies (MeV) drawn from the training showers regrouped into
    ``segmentation`` (gaam §4.1's known prior), whether the model trained on it or not: the
    same seed gives GAAM and the unconditional ARM the same energies."""
    rng = np.random.default_rng(seed)
    return torch.as_tensor(rng.choice(layer_model.data.central(segmentation), n))


def stored_samples(
    layer_model: LayerModel,
    segmentation: Segmentation | str,
    n: int,
    seed: int,
    store: Store | None = None,
) -> np.ndarray:
    """``n`` showers of one segmentation generated by a layer model, from the store or now.

    Every segmentation, seen in training or not, starts from central-cell energies drawn from
    the training showers regrouped into it (gaam §4.1's known prior), the same for every
    model of the layer.

    Returns:
        (n, n_eta, n_phi) float32 MeV.
    """
    segmentation = Segmentation.parse(segmentation)
    store = store or default_store()
    key = {"model": layer_model.key, "segmentation": segmentation.to_json(), "n": n, "seed": seed}
    name = f"{layer_model.layer}_{segmentation}"

    def build(tmp: Path) -> None:
        cond = (segmentation, _start(layer_model, segmentation, n, seed))
        generator = torch.Generator().manual_seed(seed)
        images = layer_model.model.sample(n, cond, generator=generator).cpu().numpy()
        energy = np.full(n, float(np.median(layer_model.data.clouds.incident_energy)))
        attrs = {"model": layer_model.label, "layer": layer_model.layer, "seed": seed}
        write_cells(tmp, {name: images}, {name: segmentation}, energy, attrs=attrs)

    code = (importlib.import_module(GAAM.__module__), __name__, *_CODE)
    path = store.get_or_build("samples/gaam", key, build, code=code)
    return read_cells(path).layers[name]


def generation_ms(
    layer_model: LayerModel,
    segmentation: Segmentation | str,
    n: int,
    *,
    repeats: int = 2,
    warmup: int = 1,
    store: Store | None = None,
) -> float:
    """ms per shower to generate ``n`` showers of one segmentation in one call (best of
    ``repeats`` after ``warmup`` calls), measured once per model, device and torch threads and
    kept in the store, so a rebuild shows the first measurement."""
    segmentation = Segmentation.parse(segmentation)
    store = store or default_store()
    model = layer_model.model
    device = str(next(model.parameters()).device)
    key = {
        "model": layer_model.key,
        "segmentation": segmentation.to_json(),
        "n": n,
        "repeats": repeats,
        "warmup": warmup,
        "device": device,
        "threads": torch.get_num_threads(),
    }

    def build(tmp: Path) -> None:
        generator = torch.Generator().manual_seed(0)
        t = time_per_shower(
            lambda k: model.sample(k, segmentation, generator).cpu(),
            n,
            repeats=repeats,
            warmup=warmup,
            device=device,
        )
        tmp.write_text(json.dumps({"ms_per_shower": t.ms_per_shower, "seconds": t.seconds}))

    code = (importlib.import_module(GAAM.__module__), __name__, *_CODE)
    path = store.get_or_build("timings/gaam", key, build, suffix=".timing.json", code=code)
    return float(json.loads(path.read_text())["ms_per_shower"])


def _chapter_settings(profile: str) -> dict:
    return profile_values(CHAPTER, profile)


def middle_layer_source(profile: str, seed: int, path: str = "") -> Source:
    """The truth :func:`middle_layer_model` trains on: ``source(n_showers, seed, path)`` with
    chapter 3's ``n_showers`` for the profile; it is split with ``split(len, SPLIT, seed)``.

    Example:
        >>> middle_layer_source("smoke", 1).key["n"]
        50
    """
    return source(_chapter_settings(profile)["n_showers"], seed, path)


def middle_layer_model(
    profile: str,
    seed: int,
    *,
    path: str = "",
    device: str = "auto",
    progress: bool = True,
    store: Store | None = None,
) -> LayerModel:
    """Chapter 3's middle-layer GAAM in this profile: the one ``03_gaam`` trains by default.

    It is trained on gaam Table 1's middle segmentations of ``source(n_showers, seed, path)``
    for ``epochs`` epochs, both from ``profiles.profile_values("03_gaam", profile)``, with
    :data:`DEFAULTS` and :data:`FIT`; the same store artifact serves both chapters.

    Args:
        profile: "smoke", "book" or "paper".
        seed: the showers', split's, training's and sampling seed.
        path: a point-cloud file to use instead of SUPA (see :func:`source`).
        device: "auto", "cpu", "cuda".
        progress: show progress bars.
        store: artifact store (default: ``data/``).
    """
    settings = _chapter_settings(profile)
    return trained(
        "middle",
        middle_layer_source(profile, seed, path),
        replace(FIT, epochs=settings["epochs"], seed=seed),
        device=device,
        progress=progress,
        store=store,
    )


def middle_layer_samples(
    segmentations: list[str],
    profile: str,
    seed: int,
    *,
    path: str = "",
    device: str = "auto",
    progress: bool = True,
    store: Store | None = None,
) -> dict[str, np.ndarray]:
    """Chapter 3's middle-layer GAAM samples in each segmentation, for this profile.

    The model is :func:`middle_layer_model`; ``n_samples`` showers per segmentation (from the
    profile) are read from the store artifacts chapter 3 writes, or generated now.

    Returns:
        Segmentation name -> (n_samples, n_eta, n_phi) float32 MeV.
    """
    model = middle_layer_model(
        profile, seed, path=path, device=device, progress=progress, store=store
    )
    n = _chapter_settings(profile)["n_samples"]
    return {name: stored_samples(model, name, n, seed, store) for name in segmentations}
