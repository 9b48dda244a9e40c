"""Chapter 2 (``02_savae``): its truth, its model configurations and its studies — the ablation,
the choice of the main model, the β scan — from the chapter's resolved parameters ``p``
(``profiles.resolve("02_savae", ...)``); the notebook and the bench both build through here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from calopaper import parallel
from calopaper.claims.savae import BetaSummary
from calopaper.geometry import SAVAE_INTERP, SAVAE_TRAIN
from calopaper.models.gaam import chapter as gaam_chapter
from calopaper.models.savae.data import Showers
from calopaper.models.savae.model import SAVAEConfig
from calopaper.models.savae.pipeline import ScanPoint, observables, scan_point
from calopaper.store import Store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "ABLATION",
    "ABLATION_COLUMNS",
    "CHAPTER",
    "MAIN_CANDIDATES",
    "SCAN_COLUMNS",
    "ablation",
    "ablation_config",
    "ablation_table",
    "beta_figure",
    "beta_summary",
    "closest_to_paper",
    "configs",
    "main",
    "scan_from_sweep",
    "scan_table",
    "showers",
]

CHAPTER = "02_savae"
#: The ablation variants affordable at the main model's budget, furthest from the paper first.
MAIN_CANDIDATES = ("top-64 cells, R mean", "top-64 cells, R sum")

#: The encoder/R variants of the ablation: label -> (max_tokens, reconstruction). The baseline
#: attends over the 64 most energetic cells and averages R over the cells; the paper's
#: attention runs over the cells ("handles variable-length samples").
ABLATION = {
    "top-64 cells, R mean": (64, "mean"),
    "all hit cells, R mean": (None, "mean"),
    "top-64 cells, R sum": (64, "sum"),
    "all hit cells, R sum": (None, "sum"),
}

#: Columns of :func:`ablation_table` after "variant".
ABLATION_COLUMNS = {
    "reconstruction_spread": "spread of η̄, φ̄ / truth, reconstructions at z = μ",
    "position_spread": "spread of η̄, φ̄ / truth, generated",
    "width_spread": "spread of σ_η, σ_φ / truth, generated",
    "w1_train": "W1 / σ_truth, training segmentations",
    "w1_unseen": "W1 / σ_truth, unseen segmentations",
    "kl": "D_KL [nat]",
    "cpu_seconds": "training CPU time [s]",
}


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
) -> dict[str, ScanPoint]:
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
) -> tuple[SAVAEConfig, FitConfig, str, dict[str, ScanPoint]]:
    """Chapter 2's main model: both :data:`MAIN_CANDIDATES` trained at the main budget
    (``p.n_showers``, ``p.epochs``) and measured, and the one ``closest_to_paper`` picks
    (attention over every hit cell costs too much CPU time at the main budget).

    Returns:
        The chosen config, the fit settings, its variant label and every candidate's
        ``ScanPoint`` (its model is ``pipeline.trained(config, fit, truth)``).
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
) -> dict[str, ScanPoint]:
    """Each variant of the chapter's configuration trained with ``fit`` on the first
    ``n_train`` training showers (all when None) and measured on the test showers."""
    config, _ = configs(p)
    test = observables(truth.part("test"))
    calls = {
        variant: partial(
            scan_point,
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


#: Columns of :func:`scan_table` after "beta".
SCAN_COLUMNS = {
    "w1_train": "W1 / σ_truth, training segmentations",
    "w1_unseen": "W1 / σ_truth, unseen segmentations",
    "width_spread": "spread of σ_η, σ_φ / truth",
    "position_spread": "spread of η̄, φ̄ / truth",
    "kl": "D_KL [nat]",
}


def scan_table(points: Sequence[ScanPoint]) -> pd.DataFrame:
    """One row per β: the accuracy, diversity and KL columns of ``SCAN_COLUMNS``."""
    return pd.DataFrame(
        [{"beta": p.beta} | {c: getattr(p, f) for f, c in SCAN_COLUMNS.items()} for p in points]
    )


def scan_from_sweep(summary: pd.DataFrame) -> pd.DataFrame:
    """The β sweep of a ``calopaper sweep`` of this chapter, as :func:`scan_table` gives it.

    Every finished run published its own β sweep (``tables["beta_sweep"]``, the ``betas`` it
    was given); their rows are pooled, and a β measured by several runs (a seed study) gets
    the mean of their values. :func:`beta_figure` and :func:`beta_summary` take the result.

    Args:
        summary: ``calopaper.sweep.summary(name)`` of a sweep of ``02_savae``; its ``status``
            and ``results`` (the path of each run's results file) columns are read.

    Returns:
        One row per β, in increasing β.
    """
    done = summary[summary["status"] == "done"]
    rows = [
        row
        for path in done["results"]
        for row in json.loads(Path(path).read_text())["tables"]["beta_sweep"]
    ]
    if not rows:
        msg = "no finished run of the sweep published a beta sweep (02_savae's beta_sweep table)"
        raise ValueError(msg)
    return pd.DataFrame(rows).groupby("beta", as_index=False).mean()


def beta_summary(sweep: pd.DataFrame) -> BetaSummary:
    """Trends of a :func:`scan_table` with at least two different β.

    Example:
        >>> sweep = pd.DataFrame({"beta": [1e-5, 1e-4, 1e-3],
        ...     SCAN_COLUMNS["width_spread"]: [0.9, 0.8, 0.5],
        ...     SCAN_COLUMNS["w1_unseen"]: [0.3, 0.2, 0.6]})
        >>> s = beta_summary(sweep)
        >>> s.rho_spread, s.best_beta, s.unseen_hi
        (-1.0, 0.0001, 0.6)
    """
    beta = sweep["beta"].to_numpy(dtype=float)
    if len(np.unique(beta)) < 2:
        msg = f"the β sweep needs at least two different β, got {beta.tolist()}"
        raise ValueError(msg)
    widths = sweep[SCAN_COLUMNS["width_spread"]].to_numpy(dtype=float)
    unseen = sweep[SCAN_COLUMNS["w1_unseen"]].to_numpy(dtype=float)
    lo, hi = np.argmin(beta), np.argmax(beta)
    return BetaSummary(
        rho_spread=float(stats.spearmanr(beta, widths).statistic),
        rho_unseen=float(stats.spearmanr(beta, unseen).statistic),
        best_beta=float(beta[np.argmin(unseen)]),
        beta_lo=float(beta[lo]),
        beta_hi=float(beta[hi]),
        spread_lo=float(widths[lo]),
        spread_hi=float(widths[hi]),
        unseen_lo=float(unseen[lo]),
        unseen_hi=float(unseen[hi]),
    )


def beta_figure(sweep: pd.DataFrame):
    """Mean W1 (left) and the spread of the generated distributions (right) against β.

    A β of 0 is drawn a decade below the smallest positive β (log axis).
    """
    fig, (ax_w, ax_s) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    beta = sweep["beta"].to_numpy(dtype=float)
    floor = beta[beta > 0].min() / 10 if np.any(beta > 0) else 1e-6
    x = np.where(beta > 0, beta, floor)
    columns = SCAN_COLUMNS
    ax_w.plot(x, sweep[columns["w1_train"]], "o-", label="training segmentations")
    ax_w.plot(x, sweep[columns["w1_unseen"]], "s--", label="unseen segmentations")
    ax_w.set_ylabel(r"mean $W_1 / \sigma_\mathrm{truth}$")
    ax_s.plot(x, sweep[columns["width_spread"]], "o-", label=r"$\sigma_\eta$, $\sigma_\phi$")
    ax_s.plot(x, sweep[columns["position_spread"]], "s--", label=r"$\bar\eta$, $\bar\phi$")
    ax_s.axhline(1.0, color="0.4", lw=0.8, ls=":")
    ax_s.set_ylabel("spread of the generated distribution / truth")
    for ax in (ax_w, ax_s):
        ax.set_xscale("log")
        ax.set_xlabel(r"$\beta$")
        ax.legend(fontsize="small")
    return fig


def ablation_config(config: SAVAEConfig, variant: str) -> SAVAEConfig:
    """``config`` with the encoder and R of one :data:`ABLATION` variant."""
    if variant not in ABLATION:
        msg = f"unknown ablation variant {variant!r}; expected one of {list(ABLATION)}"
        raise ValueError(msg)
    max_tokens, reconstruction = ABLATION[variant]
    return replace(config, max_tokens=max_tokens, reconstruction=reconstruction)


def ablation_table(points: Mapping[str, ScanPoint]) -> pd.DataFrame:
    """One row per variant (label -> :class:`ScanPoint`): the columns of ``ABLATION_COLUMNS``."""
    return pd.DataFrame(
        [
            {"variant": label} | {c: getattr(p, f) for f, c in ABLATION_COLUMNS.items()}
            for label, p in points.items()
        ]
    )


def closest_to_paper(points: Mapping[str, ScanPoint], candidates: Sequence[str]) -> str:
    """The variant of ``candidates`` nearest the paper that is at least as accurate as the first.

    ``candidates`` runs from the furthest from the paper (the baseline) to the nearest;
    accuracy is the mean of W1/σ_truth on the training and the unseen segmentations.

    Example:
        >>> p = lambda w: ScanPoint(1e-4, {}, w, w, 1.0, 1.0, 0.0)
        >>> closest_to_paper({"a": p(0.5), "b": p(0.4), "c": p(0.6)}, ["a", "b", "c"])
        'b'
    """

    def accuracy(label: str) -> float:
        return float(np.nanmean([points[label].w1_train, points[label].w1_unseen]))

    baseline = accuracy(candidates[0])
    return next(c for c in reversed(candidates) if accuracy(c) <= baseline)
