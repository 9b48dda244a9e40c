"""Chapter 2 (``02_savae``): its truth, its model configurations and its studies (the ablation,
the choice of the main model), from the chapter's resolved parameters ``p``
(``profiles.resolve("02_savae", ...)``); the notebook and the bench both build through here."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from types import SimpleNamespace

from calopaper import parallel
from calopaper.geometry import SAVAE_INTERP, SAVAE_TRAIN
from calopaper.models.gaam import chapter as gaam_chapter
from calopaper.models.savae.data import Showers
from calopaper.models.savae.model import SAVAEConfig
from calopaper.models.savae.pipeline import (
    ABLATION,
    SweepPoint,
    ablation_config,
    closest_to_paper,
    observables,
    sweep_point,
)
from calopaper.store import Store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = ["CHAPTER", "MAIN_CANDIDATES", "ablation", "configs", "main", "showers"]

CHAPTER = "02_savae"
#: The ablation variants affordable at the main model's budget, furthest from the paper first.
MAIN_CANDIDATES = ("top-64 cells, R mean", "top-64 cells, R sum")


def configs(p: SimpleNamespace) -> tuple[SAVAEConfig, FitConfig]:
    """The chapter's SAVAE configuration (before an ablation variant is applied) and its fit
    settings at the main budget."""
    config = SAVAEConfig(latent_dim=p.latent_dim, hidden=p.hidden, beta=p.beta)
    return config, FitConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=p.seed)


def showers(p: SimpleNamespace, *, store: Store | None = None, progress: bool = True) -> Showers:
    """Chapter 2's truth: ``p.n_showers`` SUPA `gaam` showers (or the file ``p.dataset_path``)
    in the six segmentations of savae Table I, split with ``p.seed``; the first showers, those
    chapter 3's middle-layer GAAM trains on, are split as GAAM splits them (``nested_split``).
    """
    if p.dataset_path:
        source = Source(path=p.dataset_path)
    else:
        source = Source("supa", "gaam", p.n_showers, p.seed)
    gaam_p = gaam_chapter.parameters(p.profile, p.seed, p.dataset_path, p.device)
    return Showers.load(
        source,
        SAVAE_TRAIN + SAVAE_INTERP,
        p.seed,
        nested=len(gaam_chapter.configs(gaam_p).truth.clouds(store, progress)),
        store=store,
        progress=progress,
    )


def ablation(
    p: SimpleNamespace,
    truth: Showers,
    variants: Sequence[str] = tuple(ABLATION),
    *,
    device: str = "auto",
    store: Store | None = None,
    progress: bool = True,
) -> dict[str, SweepPoint]:
    """Chapter 2's ablation: each variant (keys of ``ABLATION``) trained with the β sweep's
    budget (``p.sweep_showers``, ``p.sweep_epochs``) and measured."""
    _, fit = configs(p)
    fit_sweep = FitConfig(
        epochs=p.sweep_epochs, batch_size=fit.batch_size, lr=fit.lr, seed=fit.seed
    )
    return _measured(p, truth, variants, fit_sweep, p.sweep_showers, device, store, progress)


def main(
    p: SimpleNamespace,
    truth: Showers,
    *,
    device: str = "auto",
    store: Store | None = None,
    progress: bool = True,
) -> tuple[SAVAEConfig, FitConfig, str, dict[str, SweepPoint]]:
    """Chapter 2's main model: both :data:`MAIN_CANDIDATES` trained at the main budget
    (``p.n_showers``, ``p.epochs``) and measured, and the one ``closest_to_paper`` picks
    (attention over every hit cell costs too much CPU time at the main budget).

    Returns:
        The chosen config, the fit settings, its variant label and every candidate's
        ``SweepPoint`` (its model is ``pipeline.trained(config, fit, truth)``).
    """
    config, fit = configs(p)
    points = _measured(p, truth, MAIN_CANDIDATES, fit, None, device, store, progress)
    variant = closest_to_paper(points, MAIN_CANDIDATES)
    return ablation_config(config, variant), fit, variant, points


def _measured(
    p: SimpleNamespace,
    truth: Showers,
    variants: Sequence[str],
    fit: FitConfig,
    n_train: int | None,
    device: str,
    store: Store | None,
    progress: bool,
) -> dict[str, SweepPoint]:
    """Each variant of the chapter's configuration trained with ``fit`` on the first
    ``n_train`` training showers (all when None) and measured on the test showers."""
    config, _ = configs(p)
    test = observables(truth.part("test"))
    calls = {
        variant: partial(
            sweep_point,
            ablation_config(config, variant),
            fit,
            truth,
            test,
            n_train=n_train,
            n_samples=min(p.n_samples, len(truth.parts["test"])),
            seed=p.seed,
            device=device,
            store=store,
            progress=progress,
        )
        for variant in variants
    }
    return parallel.run(calls, progress=progress)
