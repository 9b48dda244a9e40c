"""Chapter 3 (``03_gaam``): every model the chapter trains, configured from its parameters.

``configs(p)`` turns the chapter's resolved parameters into the truth, the fit settings and one
config per (layer, model); the notebook, the bench and chapter 2 (which compares SAVAE with
chapter 3's middle-layer GAAM) all build their GAAMs through it, so the settings live in the
notebook's parameters cell and the profiles only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np

from calopaper.geometry import GAAM_EXTRAP, GAAM_INTERP, GAAM_MIDDLE
from calopaper.models.gaam.data import TRAINING_SEGMENTATIONS
from calopaper.models.gaam.model import GAAMConfig
from calopaper.models.gaam.pipeline import LayerModel, source, stored_samples, trained
from calopaper.profiles import chapter_parameters
from calopaper.store import Store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "MODELS",
    "Chapter",
    "configs",
    "middle_layer",
    "parameters",
    "middle_layer_samples",
]

CHAPTER = "03_gaam"
#: The two models of the chapter: the geometry-aware GAAM and the unconditional baseline ARM.
MODELS = ("GAAM", "unconditional ARM")
#: Hidden masked layers per layer model (gaam §4.1: one for the inner layer, five otherwise).
DEPTH = {"inner": 1, "middle": 5, "outer": 5}


@dataclass(frozen=True)
class Chapter:
    """What chapter 3 trains, for one set of resolved parameters.

    Attributes:
        truth: the SUPA `gaam` showers (or the user's file).
        fit: optimisation settings shared by every layer model.
        configs: (layer, model label) -> architecture; the outer layer has no baseline.
        training: layer -> training segmentations (gaam Table 1; the inner ones a parameter).
        wanted: (layer, model label) -> the segmentations that model generates.
    """

    truth: Source
    fit: FitConfig
    configs: dict[tuple[str, str], GAAMConfig]
    training: dict[str, list[str]]
    wanted: dict[tuple[str, str], list[str]]

    def trained(self, layer: str, label: str, **kwargs) -> LayerModel:
        """The (layer, label) model from the store, or trained now (``pipeline.trained``)."""
        config = self.configs[layer, label]
        return trained(
            layer, self.truth, self.fit, config, segmentations=self.training[layer], **kwargs
        )


def configs(p: SimpleNamespace) -> Chapter:
    """Chapter 3's truth, fit settings and model configs from its resolved parameters ``p``.

    Example:
        >>> chapter = configs(parameters("smoke", seed=1, device="cpu"))
        >>> chapter.configs["inner", "GAAM"].hidden, chapter.fit.batch_size
        ((64,), 32)
    """
    training = TRAINING_SEGMENTATIONS | {"inner": p.inner_segmentations}
    width = {"inner": p.hidden_inner, "middle": p.hidden_middle, "outer": p.hidden_outer}
    layers = {
        layer: GAAMConfig(
            hidden=(width[layer],) * DEPTH[layer],
            channels=p.channels,
            kernel=p.kernel,
            empty_fraction=p.empty_fraction,
        )
        for layer in training
    }
    labels = {layer: MODELS[: 1 + (layer != "outer")] for layer in training}
    wanted = {(layer, label): training[layer] for layer in training for label in labels[layer]}
    wanted["middle", "GAAM"] = GAAM_MIDDLE + GAAM_INTERP + GAAM_EXTRAP
    wanted["middle", "unconditional ARM"] = GAAM_MIDDLE + GAAM_INTERP
    return Chapter(
        truth=source(p.n_showers, p.seed, p.dataset_path),
        fit=FitConfig(
            epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, grad_clip=10.0, seed=p.seed
        ),
        configs={key: replace(layers[key[0]], conditional=key[1] == "GAAM") for key in wanted},
        training=training,
        wanted=wanted,
    )


def parameters(profile: str, seed: int, path: str = "", device: str = "auto") -> SimpleNamespace:
    """Chapter 3's parameters in ``profile`` with another chapter's ``seed``, file and device."""
    return chapter_parameters(CHAPTER, profile, seed=seed, dataset_path=path, device=device)


def middle_layer(
    profile: str,
    seed: int,
    *,
    path: str = "",
    device: str = "auto",
    progress: bool = True,
    store: Store | None = None,
) -> LayerModel:
    """Chapter 3's middle-layer GAAM as chapter 3 trains it in ``profile`` with ``seed`` (and
    the point-cloud file ``path`` instead of SUPA): the same store artifact serves both."""
    chapter = configs(parameters(profile, seed, path, device))
    return chapter.trained("middle", "GAAM", device=device, progress=progress, store=store)


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
    """:func:`middle_layer`'s samples in each segmentation, as many as chapter 3 generates
    (its ``n_samples``), read from the store artifacts chapter 3 writes or generated now.

    Returns:
        Segmentation name -> (n_samples, n_eta, n_phi) float32 MeV.
    """
    p = parameters(profile, seed, path, device)
    model = configs(p).trained("middle", "GAAM", device=device, progress=progress, store=store)
    return {name: stored_samples(model, name, p.n_samples, seed, store) for name in segmentations}
