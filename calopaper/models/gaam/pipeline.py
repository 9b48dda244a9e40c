"""GAAM's cached pipeline: one layer's model trained through the store, and its stored samples.

``trained(layer, source, fit, config)`` gives a :class:`LayerModel` (the model, its history and
the layer's data), rebuilt whenever the truth's ``Source.key`` (the simulator's code or the
file's bytes), the config, the fit settings or the code changes. ``stored_samples`` generates a
segmentation once per model and seed.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from calopaper import timing
from calopaper.datasets import read_cells, write_cells
from calopaper.geometry import Segmentation
from calopaper.models.gaam.data import SPLIT, TRAINING_SEGMENTATIONS, LayerData, validate_layer
from calopaper.models.gaam.model import GAAM, GAAMConfig
from calopaper.store import Store, default_store
from calopaper.training import FitConfig, History
from calopaper.training import trained as trained_model
from calopaper.truth import Source

__all__ = [
    "LayerModel",
    "generation_ms",
    "source",
    "stored_samples",
    "trained",
]

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
    config: GAAMConfig,
    *,
    segmentations: list[str] | None = None,
    device: str = "auto",
    progress: bool = True,
    store: Store | None = None,
    budget: float = 1.0,
) -> LayerModel:
    """One layer's GAAM (or unconditional ARM), from the store or trained now.

    The showers are split 0.7/0.1/0.2 with ``truth.seed``; the weights of the best validation
    epoch are kept.

    Args:
        layer: "inner", "middle" or "outer".
        truth: the showers (``source(...)``); its ``key`` is part of the model's key.
        fit: optimisation settings.
        config: architecture (``conditional=False`` is the unconditional ARM); ``length`` and
            ``n_classes`` left at 0 come from the data. ``chapter.configs`` gives chapter 3's.
        segmentations: training segmentations (default gaam Table 1 for the layer).
        device: "auto", "cpu", "cuda".
        progress: show progress bars.
        store: artifact store (default: ``data/``).
        budget: a fraction of the epochs (``training.SNAPSHOTS``) for budget curves: the
            weights kept after it during the full training.
    """
    validate_layer(layer)
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
        budget=budget,
    )
    key = {"config": asdict(config), "fit": fit.key(), "data": data_key}
    if budget != 1.0:
        key["budget"] = budget
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
    layer_model: LayerModel, segmentation: Segmentation | str, n: int, *, repeats: int = 2
) -> float:
    """ms per shower (median of ``repeats``, ``timing.stored``) to generate ``n`` showers of
    one segmentation in one call, on the model's device."""
    segmentation = Segmentation.parse(segmentation)
    model = layer_model.model
    generator = torch.Generator().manual_seed(0)
    what = {"model": layer_model.key, "segmentation": segmentation.to_json()}
    code = (GAAM.__module__, __name__, *_CODE)
    return timing.stored(
        what,
        lambda k: model.sample(k, segmentation, generator).cpu(),
        n,
        code=code,
        device=str(next(model.parameters()).device),
        repeats=repeats,
    ).ms_median
