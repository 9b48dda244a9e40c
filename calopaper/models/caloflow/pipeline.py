"""CaloFlow's pipeline: fit, train once through the store, sample, and a cached evaluation.

The verbs every model family shares: ``fit`` trains now, ``trained`` returns the stored model
(keyed by both configs, the showers' ``Voxels.key`` with the truth's ``Source.key``, and the
code of this package and of the regridding) or trains and stores it, and ``sample(model, n,
cond, generator)`` generates numpy showers in chunks. ``evaluate`` adds what the SUPA chapter
measures of each trained model (test NLL, samples at the test energies), cached as well, so
that a warm rebuild neither trains nor samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from calopaper import training
from calopaper.models.caloflow.data import Voxels
from calopaper.models.caloflow.model import CaloFlow, CaloFlowConfig
from calopaper.store import Store, default_store
from calopaper.training import FitConfig, History

__all__ = ["CODE", "Evaluation", "evaluate", "evaluate_budgets", "log_prob", "sample", "trained"]

#: Code whose source is part of a trained model's key: this package, the regridding and the
#: split (``splits.SplitShowers``).
CODE = (
    "calopaper.models.caloflow.model",
    "calopaper.models.caloflow.data",
    "calopaper.models.caloflow.pipeline",
    "calopaper.grids",
    "calopaper.geometry",
    "calopaper.datasets",
)


def trained(
    config: CaloFlowConfig,
    fit_config: FitConfig,
    voxels: Voxels,
    *,
    device: str = "auto",
    store: Store | None = None,
    progress: bool = False,
    budget: float = 1.0,
) -> tuple[CaloFlow, History]:
    """The CaloFlow trained with these configs on ``voxels``, from the store or trained now.

    ``budget`` 0.25 or 0.5 gives the weights kept after that fraction of the epochs (the best
    validation epoch so far) during the full training (``training.trained``; CaloFlow has no
    progress-dependent schedule, so the snapshots are what a shorter training would give).

    Returns:
        The model (eval mode, on ``device``) and its loss history.
    """
    return training.trained(
        CaloFlow,
        config,
        fit_config,
        lambda: (voxels.tensors("train"), voxels.tensors("val")),
        voxels.key,
        device=device,
        store=store,
        progress=progress,
        code=CODE[1:],
        budget=budget,
    )


def sample(
    model: CaloFlow,
    n: int,
    cond: np.ndarray | float,
    generator: torch.Generator | None = None,
    chunk: int = 2000,
) -> np.ndarray:
    """``n`` showers at incident energies ``cond`` ((n,) or one value, GeV), ``chunk`` at a time.

    Returns:
        (n, n_voxels) float32 cell energies, MeV (``Voxels.images`` gives the layers).
    """
    energy = np.array(np.broadcast_to(np.asarray(cond, np.float32), (n,)))
    parts = [
        model.sample(len(c), torch.from_numpy(np.ascontiguousarray(c)), generator=generator)
        for c in np.array_split(energy, max(1, int(np.ceil(n / chunk))))
    ]
    return torch.cat(parts).cpu().numpy()


def log_prob(
    model: CaloFlow, cells: np.ndarray, energy: np.ndarray, seed: int = 0, chunk: int = 2000
) -> np.ndarray:
    """(N,) log-density of showers (cells MeV, energy GeV) in the flows' variables, nats.

    The dequantisation noise is drawn from a generator seeded with ``seed``.
    """
    generator = torch.Generator().manual_seed(seed)
    device = model.layer_index.device
    out = []
    for lo in range(0, len(cells), chunk):
        c = torch.from_numpy(np.ascontiguousarray(cells[lo : lo + chunk], np.float32))
        e = torch.from_numpy(np.ascontiguousarray(energy[lo : lo + chunk], np.float32))
        noise_generator = generator if device == torch.device("cpu") else None
        out.append(model.log_prob(c.to(device), e.to(device), noise_generator).cpu())
    return torch.cat(out).numpy().astype(np.float64)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What the SUPA chapter measures of one trained CaloFlow.

    Attributes:
        nll: (n_test,) negative log-likelihood of each test shower, nats, in the flows'
            variables (comparable between models on one data set, not across data sets).
        cells: (n_test, n_voxels) generated showers at the test showers' energies, MeV.
        energy: (n_test,) those energies, GeV.
        parameters: learnable parameters.
        seconds: training time, s.
        epochs: epochs run; best_epoch: the epoch whose weights were kept.
    """

    nll: np.ndarray
    cells: np.ndarray
    energy: np.ndarray
    parameters: int
    seconds: float
    epochs: int
    best_epoch: int


def evaluate(
    config: CaloFlowConfig,
    fit_config: FitConfig,
    voxels: Voxels,
    *,
    seed: int = 0,
    device: str = "auto",
    store: Store | None = None,
    budget: float = 1.0,
) -> Evaluation:
    """Train (``trained``) and evaluate a CaloFlow: test NLLs and one shower per test shower.

    ``seed`` seeds the sampling and the NLL's dequantisation noise; ``budget`` < 1 evaluates
    the weights kept after that fraction of the epochs (``trained``). Cached in the store under
    the model's key plus ``seed`` and ``budget``, so a warm call costs a file read.
    """
    store = store or default_store()
    key = {
        "config": asdict(config),
        "fit": fit_config.key(),
        "data": voxels.key,
        "seed": seed,
        "budget": budget,
    }

    def build(tmp: Path) -> None:
        model, history = trained(
            config, fit_config, voxels, device=device, store=store, budget=budget
        )
        cells, energy = voxels.part("test")
        nll = -log_prob(model, cells, energy, seed)
        generated = sample(model, len(energy), energy, torch.Generator().manual_seed(seed))
        with open(tmp, "wb") as f:
            np.savez(
                f,
                nll=nll,
                cells=generated.astype(np.float32),
                energy=np.asarray(energy, np.float32),
                parameters=model.n_parameters,
                seconds=history.seconds,
                epochs=len(history.train),
                best_epoch=history.best_epoch,
            )

    path = store.get_or_build("caloflow/evaluations", key, build, suffix=".npz", code=CODE)
    with np.load(path) as f:
        return Evaluation(
            f["nll"],
            f["cells"],
            f["energy"],
            int(f["parameters"]),
            float(f["seconds"]),
            int(f["epochs"]),
            int(f["best_epoch"]),
        )


def evaluate_budgets(
    config: CaloFlowConfig,
    fit_config: FitConfig,
    voxels: Voxels,
    *,
    budgets: tuple[float, ...] = (1.0,),
    seed: int = 0,
    device: str = "auto",
    store: Store | None = None,
) -> dict[float, Evaluation]:
    """``evaluate`` at each of ``budgets`` (fractions of the epochs) from one training: budget
    -> :class:`Evaluation`. One call trains the model once (the full budget first), so that
    parallel workers never wait on each other's training of the same model."""
    order = sorted(budgets, reverse=True)
    out = {
        b: evaluate(config, fit_config, voxels, seed=seed, device=device, store=store, budget=b)
        for b in order
    }
    return {b: out[b] for b in budgets}
