"""SAVAE's pipeline: training (cached in the store), sampling and the chapter's measurements.

A trained model's store key holds its config, the fit settings, the showers' key (the truth
``Source``'s simulator code or file digest, the split) and the source of this whole package, so
a change to any of them retrains the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy import stats

from calopaper import metrics, training
from calopaper.datasets import CellSamples, read_cells, write_cells
from calopaper.geometry import Segmentation
from calopaper.models.savae.data import Showers, from_unit, to_unit
from calopaper.models.savae.model import SAVAE, SAVAEConfig, prepare
from calopaper.models.savae.paper import KEYS
from calopaper.observables import layer_observables
from calopaper.store import Store, default_store
from calopaper.training import FitConfig, History

__all__ = [
    "ABLATION",
    "BetaSummary",
    "SweepPoint",
    "ablation_config",
    "ablation_table",
    "beta_figure",
    "beta_summary",
    "cell_samples",
    "closest_to_paper",
    "distances",
    "fit",
    "kl_nats",
    "observables",
    "offset_table",
    "reconstruction_spread",
    "sample",
    "spread",
    "sweep_from_runs",
    "sweep_point",
    "sweep_table",
    "tensors",
    "trained",
]

#: Modules whose source is part of a trained model's key: this package and the cell geometry.
CODE = ("calopaper.models.savae", "calopaper.geometry")


def _n_val(n_train: int | None) -> int | None:
    """Validation showers beside the first ``n_train`` training ones (all when None)."""
    return None if n_train is None else max(1, n_train // 7)


def tensors(
    config: SAVAEConfig, showers: Showers, n_train: int | None = None
) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """``prepare``d training and validation tensors of the config's segmentations.

    With ``n_train``, only the first ``n_train`` training and ``max(1, n_train // 7)``
    validation showers are used (the β sweep's smaller models).
    """
    names = config.segmentations
    train = showers.part("train", names, n_train)
    val = showers.part("val", names, _n_val(n_train))
    return prepare(train, config), prepare(val, config)


def fit(
    config: SAVAEConfig,
    fit_config: FitConfig,
    showers: Showers,
    *,
    n_train: int | None = None,
    device: str = "auto",
    progress: bool = True,
) -> tuple[SAVAE, History]:
    """Train a SAVAE now, without the store (see :func:`trained` for the cached one).

    The initial weights depend on ``fit_config.seed`` only; the weights of the best
    validation epoch are kept.
    """
    train, val = tensors(config, showers, n_train)
    training.seed_everything(fit_config.seed)
    model = SAVAE(config)
    history = training.fit(
        model, train, val, fit_config, device=device, progress=progress, description="SAVAE"
    )
    return model, history


def trained(
    config: SAVAEConfig,
    fit_config: FitConfig,
    showers: Showers,
    *,
    n_train: int | None = None,
    device: str = "auto",
    store: Store | None = None,
    progress: bool = True,
) -> tuple[SAVAE, History]:
    """A SAVAE trained on these showers, from the store or trained now (``training.trained``).

    Args:
        config: model config; only the images of ``config.segmentations`` are used.
        fit_config: optimisation settings; ``fit_config.seed`` seeds the initial weights.
        showers: the truth and its split; ``showers.key`` (with the source's code or file
            digest) is part of the model's key.
        n_train: train on the first ``n_train`` training showers only (see :func:`tensors`).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        store: artifact store (default: ``data/``).

    Returns:
        The trained model (eval mode) and its loss history.
    """
    data_key = showers.key
    if n_train is not None:
        data_key = data_key | {"first_train": n_train, "first_val": _n_val(n_train)}
    return training.trained(
        SAVAE,
        config,
        fit_config,
        lambda: tensors(config, showers, n_train),
        data_key,
        device=device,
        store=store,
        progress=progress,
        code=CODE,
    )


def sample(
    model: SAVAE, segmentations: Sequence[str], n: int, *, seed: int
) -> dict[str, np.ndarray]:
    """``model.sample`` in each segmentation with one generator seeded by ``seed``.

    Returns:
        Segmentation name -> (n, n_eta, n_phi) float32 energies, MeV.
    """
    generator = torch.Generator().manual_seed(seed)
    return {name: model.sample(n, name, generator=generator).numpy() for name in segmentations}


def observables(images: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """savae Eqs. (1)-(2) per segmentation: name -> {"eta_mean", ..., "sigma_phi"} (N,) mm.

    Negative cells (none in SAVAE's or the truth's showers) are clipped to zero first.
    """
    return {
        name: layer_observables(np.clip(cells, 0, None), Segmentation.parse(name))
        for name, cells in images.items()
    }


def distances(
    truth: Mapping[str, Mapping[str, np.ndarray]],
    model: Mapping[str, Mapping[str, np.ndarray]],
    *,
    keys: Sequence[str] = KEYS,
    **kw,
) -> dict[str, dict[str, metrics.Distance]]:
    """``metrics.compare_all`` of ``keys`` for every segmentation of ``model``.

    Args:
        truth, model: segmentation -> observable -> (N,) values (see :func:`observables`).
        keys: the observables compared.
        **kw: ``metric``, ``n_boot``, ``seed`` for ``metrics.compare``.
    """
    return {
        name: metrics.compare_all({k: truth[name][k] for k in keys}, model[name], **kw)
        for name in model
    }


def spread(
    truth: Mapping[str, Mapping[str, np.ndarray]],
    model: Mapping[str, Mapping[str, np.ndarray]],
    keys: Sequence[str],
    segmentations: Sequence[str] | None = None,
) -> float:
    """``metrics.spread_ratio`` averaged over segmentations (default: all of ``model``) and keys.

    Example:
        >>> truth = {"a": {"x": np.array([0.0, 2.0]), "y": np.array([0.0, 4.0])}}
        >>> model = {"a": {"x": np.array([0.0, 2.0]), "y": np.array([0.0, 0.0])}}
        >>> spread(truth, model, ["x", "y"])
        0.5
    """
    names = list(model) if segmentations is None else segmentations
    return float(
        np.mean([metrics.spread_ratio(truth[n][k], model[n][k]) for n in names for k in keys])
    )


@torch.no_grad()
def kl_nats(model: SAVAE, images: Mapping[str, np.ndarray], n: int = 512) -> float:
    """Mean KL divergence of the posterior from N(0, 1) on the first ``n`` rows, in nats."""
    batch = prepare(images, model.config)
    return float(model.terms(tuple(t[:n].to(model.train_cond.device) for t in batch))[1])


def offset_table(
    images: np.ndarray,
    segmentation: Segmentation | str,
    offsets: Sequence[float],
    e_max_mev: float = 65e3,
) -> pd.DataFrame:
    """σ_η of the image whose cells hold the mean scaled energy ``x``, per offset ``E0``.

    A mean of ``x = log1p(E / E0) / log1p(e_max / E0)`` underweights the sparse cells of the
    showers' tails; this measures how narrow a mean-like image comes out for each offset.

    Args:
        images: (N, n_eta, n_phi) true energies, MeV.
        segmentation: their segmentation.
        offsets: the ``E0`` values, MeV.
    """
    segmentation = Segmentation.parse(segmentation)
    rows = []
    for e0 in offsets:
        mean = from_unit(to_unit(images, e0, e_max_mev).mean(axis=0), e0, e_max_mev)[None]
        width = float(layer_observables(mean, segmentation)["sigma_eta"][0])
        rows.append({"E0 [MeV]": e0, "σ_η of the mean-x image [mm]": width})
    return pd.DataFrame(rows)


def cell_samples(
    images: Mapping[str, np.ndarray], incident_energy: np.ndarray | float, **attrs
) -> CellSamples:
    """A sample set for ``results.publish``: segmentation name -> images, named by themselves."""
    return CellSamples(dict(images), {name: name for name in images}, incident_energy, attrs)


@dataclass(frozen=True, eq=False)
class SweepPoint:
    """One model of the β sweep and what it measured.

    Attributes:
        beta: its KL weight.
        samples: segmentation name -> generated (n, n_eta, n_phi) images, MeV.
        w1_train, w1_unseen: mean W1 / σ_truth over the observables (``mean_discrepancy``),
            averaged over the training and the unseen segmentations.
        width_spread, position_spread: spread of the generated σ_η, σ_φ (η̄, φ̄) relative to
            the truth's, averaged over all segmentations.
        kl: mean posterior KL divergence on the validation showers, nats.
        reconstruction_spread: spread of η̄, φ̄ of the test showers encoded and decoded at
            z = μ, relative to the same showers' (:func:`reconstruction_spread`).
        cpu_seconds: process CPU time of the training, s (stored with the model).
    """

    beta: float
    samples: dict[str, np.ndarray]
    w1_train: float
    w1_unseen: float
    width_spread: float
    position_spread: float
    kl: float
    reconstruction_spread: float = float("nan")
    cpu_seconds: float = 0.0


def sweep_point(
    config: SAVAEConfig,
    fit_config: FitConfig,
    showers: Showers,
    truth: Mapping[str, Mapping[str, np.ndarray]],
    *,
    n_train: int | None,
    n_samples: int,
    seed: int,
    device: str = "auto",
    store: Store | None = None,
    progress: bool = True,
) -> SweepPoint:
    """Train (or load) one smaller model of the β sweep (savae §IV-V) and measure it.

    Args:
        config: the model config, with the β of this point.
        fit_config: its optimisation settings.
        showers: the truth; the model sees the first ``n_train`` training showers (None: all).
        truth: segmentation -> observables of the test showers, for every segmentation to
            evaluate; those not in ``config.segmentations`` count as unseen.
        n_samples: generated showers per segmentation.
        seed: sampling seed.

    The measurement is stored beside the model (keyed by the model's settings, the showers and
    the sampling settings), so a warm rebuild reads it back instead of sampling again.
    """
    store = store or default_store()
    key = {
        "model": config,
        "fit": fit_config,
        "showers": showers.key,
        "n_train": n_train,
        "segmentations": list(truth),
        "n_samples": n_samples,
        "seed": seed,
    }

    def build(tmp: Path) -> None:
        model, history = trained(
            config,
            fit_config,
            showers,
            n_train=n_train,
            device=device,
            store=store,
            progress=progress,
        )
        point = _measure(model, history, config, showers, truth, n_train, n_samples, seed)
        measured = json.dumps({k: v for k, v in asdict(point).items() if k != "samples"})
        segmentations = {name: Segmentation.parse(name) for name in point.samples}
        energy = np.full(n_samples, np.nan)  # SAVAE is not conditioned on the energy
        write_cells(tmp, point.samples, segmentations, energy, attrs={"measured": measured})

    cells = read_cells(store.get_or_build("measurements/savae", key, build, code=CODE))
    return SweepPoint(samples=cells.layers, **json.loads(cells.attrs["measured"]))


def _measure(
    model: SAVAE,
    history: History,
    config: SAVAEConfig,
    showers: Showers,
    truth: Mapping[str, Mapping[str, np.ndarray]],
    n_train: int | None,
    n_samples: int,
    seed: int,
) -> SweepPoint:
    """What :func:`sweep_point` measures of a trained model."""
    samples = sample(model, list(truth), n_samples, seed=seed)
    test = showers.part("test", list(truth), n_samples)
    generated = observables(samples)
    scaled = {
        name: metrics.mean_discrepancy(d)
        for name, d in distances(truth, generated, metric="w1_scaled", n_boot=2).items()
    }
    seen = [name for name in truth if name in config.segmentations]
    unseen = [name for name in truth if name not in config.segmentations]
    val = showers.part("val", config.segmentations, _n_val(n_train))
    return SweepPoint(
        beta=config.beta,
        samples=samples,
        w1_train=float(np.mean([scaled[n] for n in seen])),
        w1_unseen=float(np.mean([scaled[n] for n in unseen])) if unseen else float("nan"),
        width_spread=spread(truth, generated, ("sigma_eta", "sigma_phi")),
        position_spread=spread(truth, generated, ("eta_mean", "phi_mean")),
        kl=kl_nats(model, val),
        reconstruction_spread=reconstruction_spread(model, test),
        cpu_seconds=history.cpu_seconds,
    )


def reconstruction_spread(model: SAVAE, images: Mapping[str, np.ndarray]) -> float:
    """Spread of η̄, φ̄ of showers encoded and decoded at z = μ, relative to their own.

    1: the latent carries each shower's centroid; 0: every reconstruction is the same image
    (a collapsed latent). Averaged over the segmentations of ``images`` and the two means.

    Args:
        model: a trained SAVAE.
        images: segmentation name -> (N, n_eta, n_phi) true energies, MeV.
    """
    truth = observables(images)
    decoded = observables({n: model.reconstruct(x, n).numpy() for n, x in images.items()})
    return spread(truth, decoded, ("eta_mean", "phi_mean"))


#: Columns of :func:`sweep_table` after "beta".
SWEEP_COLUMNS = {
    "w1_train": "W1 / σ_truth, training segmentations",
    "w1_unseen": "W1 / σ_truth, unseen segmentations",
    "width_spread": "spread of σ_η, σ_φ / truth",
    "position_spread": "spread of η̄, φ̄ / truth",
    "kl": "D_KL [nat]",
}


def sweep_table(points: Sequence[SweepPoint]) -> pd.DataFrame:
    """One row per β: the accuracy, diversity and KL columns of ``SWEEP_COLUMNS``."""
    return pd.DataFrame(
        [{"beta": p.beta} | {c: getattr(p, f) for f, c in SWEEP_COLUMNS.items()} for p in points]
    )


def sweep_from_runs(summary: pd.DataFrame) -> pd.DataFrame:
    """The β sweep of a ``calopaper sweep`` of this chapter, as :func:`sweep_table` gives it.

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


@dataclass(frozen=True)
class BetaSummary:
    """What the β sweep shows: trends from the smallest to the largest β.

    Attributes:
        rho_spread, rho_unseen: Spearman correlation of β with the width spread and with the
            unseen segmentations' W1.
        best_beta: the β of the lowest W1 on the unseen segmentations.
        beta_lo, beta_hi: the smallest and largest β.
        spread_lo, spread_hi: width spread at ``beta_lo`` and ``beta_hi``.
        unseen_lo, unseen_hi: unseen segmentations' W1 / σ_truth at ``beta_lo`` and ``beta_hi``.
    """

    rho_spread: float
    rho_unseen: float
    best_beta: float
    beta_lo: float
    beta_hi: float
    spread_lo: float
    spread_hi: float
    unseen_lo: float
    unseen_hi: float


def beta_summary(sweep: pd.DataFrame) -> BetaSummary:
    """Trends of a :func:`sweep_table` with at least two different β.

    Example:
        >>> sweep = pd.DataFrame({"beta": [1e-5, 1e-4, 1e-3],
        ...     SWEEP_COLUMNS["width_spread"]: [0.9, 0.8, 0.5],
        ...     SWEEP_COLUMNS["w1_unseen"]: [0.3, 0.2, 0.6]})
        >>> s = beta_summary(sweep)
        >>> s.rho_spread, s.best_beta, s.unseen_hi
        (-1.0, 0.0001, 0.6)
    """
    beta = sweep["beta"].to_numpy(dtype=float)
    if len(np.unique(beta)) < 2:
        msg = f"the β sweep needs at least two different β, got {beta.tolist()}"
        raise ValueError(msg)
    widths = sweep[SWEEP_COLUMNS["width_spread"]].to_numpy(dtype=float)
    unseen = sweep[SWEEP_COLUMNS["w1_unseen"]].to_numpy(dtype=float)
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
    columns = SWEEP_COLUMNS
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


def ablation_config(config: SAVAEConfig, variant: str) -> SAVAEConfig:
    """``config`` with the encoder and R of one :data:`ABLATION` variant."""
    if variant not in ABLATION:
        msg = f"unknown ablation variant {variant!r}; expected one of {list(ABLATION)}"
        raise ValueError(msg)
    max_tokens, reconstruction = ABLATION[variant]
    return replace(config, max_tokens=max_tokens, reconstruction=reconstruction)


def ablation_table(points: Mapping[str, SweepPoint]) -> pd.DataFrame:
    """One row per variant (label -> :class:`SweepPoint`): the columns of ``ABLATION_COLUMNS``."""
    return pd.DataFrame(
        [
            {"variant": label} | {c: getattr(p, f) for f, c in ABLATION_COLUMNS.items()}
            for label, p in points.items()
        ]
    )


def closest_to_paper(points: Mapping[str, SweepPoint], candidates: Sequence[str]) -> str:
    """The variant of ``candidates`` nearest the paper that is at least as accurate as the first.

    ``candidates`` runs from the furthest from the paper (the baseline) to the nearest;
    accuracy is the mean of W1/σ_truth on the training and the unseen segmentations.

    Example:
        >>> p = lambda w: SweepPoint(1e-4, {}, w, w, 1.0, 1.0, 0.0)
        >>> closest_to_paper({"a": p(0.5), "b": p(0.4), "c": p(0.6)}, ["a", "b", "c"])
        'b'
    """

    def accuracy(label: str) -> float:
        return float(np.nanmean([points[label].w1_train, points[label].w1_unseen]))

    baseline = accuracy(candidates[0])
    return next(c for c in reversed(candidates) if accuracy(c) <= baseline)
