"""SAVAE's pipeline: training (cached in the store), sampling and the chapter's measurements.

A trained model's store key holds its config, the fit settings, the showers' key (the truth
``Source``'s simulator code or file digest, the split) and the source of this whole package, so
a change to any of them retrains the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

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
    "ScanPoint",
    "cell_samples",
    "distances",
    "kl_nats",
    "observables",
    "offset_table",
    "reconstruction_spread",
    "sample",
    "spread",
    "scan_point",
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


def trained(
    config: SAVAEConfig,
    fit_config: FitConfig,
    showers: Showers,
    *,
    n_train: int | None = None,
    device: str = "auto",
    store: Store | None = None,
    progress: bool = True,
    budget: float = 1.0,
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
        budget: 1, or a fraction of ``training.SNAPSHOTS``: the weights kept after that
            fraction of the epochs while the full model trained (SAVAE's training does not
            depend on its progress, so a snapshot is what a shorter training gives).

    Returns:
        The trained model (eval mode) and its loss history (the full training's).
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
        budget=budget,
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
class ScanPoint:
    """One model of the β scan or the ablation and what it measured.

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


def scan_point(
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
    budget: float = 1.0,
) -> ScanPoint:
    """Train (or load) one model of the β scan or the ablation (savae §IV-V) and measure it.

    Args:
        config: the model config, with the β of this point.
        fit_config: its optimisation settings.
        showers: the truth; the model sees the first ``n_train`` training showers (None: all).
        truth: segmentation -> observables of the test showers, for every segmentation to
            evaluate; those not in ``config.segmentations`` count as unseen.
        n_samples: generated showers per segmentation.
        seed: sampling seed.
        budget: measure the model after this fraction of its epochs (:func:`trained`).

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
    if budget != 1.0:
        key["budget"] = budget

    def build(tmp: Path) -> None:
        model, history = trained(
            config,
            fit_config,
            showers,
            n_train=n_train,
            device=device,
            store=store,
            progress=progress,
            budget=budget,
        )
        point = _measure(model, history, config, showers, truth, n_train, n_samples, seed)
        measured = json.dumps({k: v for k, v in asdict(point).items() if k != "samples"})
        segmentations = {name: Segmentation.parse(name) for name in point.samples}
        energy = np.full(n_samples, np.nan)  # SAVAE is not conditioned on the energy
        write_cells(tmp, point.samples, segmentations, energy, attrs={"measured": measured})

    cells = read_cells(store.get_or_build("measurements/savae", key, build, code=CODE))
    return ScanPoint(samples=cells.layers, **json.loads(cells.attrs["measured"]))


def _measure(
    model: SAVAE,
    history: History,
    config: SAVAEConfig,
    showers: Showers,
    truth: Mapping[str, Mapping[str, np.ndarray]],
    n_train: int | None,
    n_samples: int,
    seed: int,
) -> ScanPoint:
    """What :func:`scan_point` measures of a trained model."""
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
    return ScanPoint(
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
