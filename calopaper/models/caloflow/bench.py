"""CaloFlow generators for ``calopaper bench``: the variants the SUPA study page trains on SUPA."""

from __future__ import annotations

import numpy as np
import torch

from calopaper.bench import BenchContext, Generator, Unavailable, architecture
from calopaper.models.caloflow.data import Voxels
from calopaper.models.caloflow.model import variant
from calopaper.models.caloflow.pipeline import sample, trained
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = ["CHAPTER", "generators"]

#: The chapter whose models and saved samples the rows are.
CHAPTER = "05_supa_study"
#: The fields that size a CaloFlow.
ARCHITECTURE = (
    "layer_sizes",
    "transforms_energy",
    "hidden_energy",
    "bins",
    "transforms_voxels",
    "hidden_voxels",
    "depth",
)
#: The training spectrum of SUPA's ``calogan`` preset, GeV.
_ENERGY_RANGE = (1.0, 100.0)


def _generate(model, seed: int):
    """``generate(n, energy)`` of one model; energies from U[1, 100] GeV when ``energy`` is None."""
    rng = np.random.default_rng(seed)

    def generate(n: int, energy: float | None) -> object:
        cond = rng.uniform(*_ENERGY_RANGE, n) if energy is None else np.full(n, energy)
        return sample(model, n, cond.astype(np.float32), torch.Generator().manual_seed(seed))

    return generate


def generators(ctx: BenchContext) -> list[Generator | Unavailable]:
    """The largest and the smallest CaloFlow variant of ``ctx.profile``, trained on SUPA e+.

    Each row generates complete showers: flow I, flow II, threshold and rescaling to cells
    in MeV (``pipeline.sample``); without ``energy`` the energies are drawn from U[1, 100] GeV.
    """
    p = ctx.chapter_parameters(CHAPTER)
    source = Source("supa", "calogan", p.n_showers, p.seed, overrides={"particle": "e+"})
    voxels = Voxels.load(source, store=ctx.store)
    fit_config = FitConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=p.seed)
    rows: list[Generator | Unavailable] = []
    for k in sorted({min(p.variants), max(p.variants)}):
        name = f"CaloFlow {k} (SUPA calogan)"
        config = variant(k, voxels.layer_sizes)
        try:
            model, history = trained(config, fit_config, voxels, device=ctx.device, store=ctx.store)
        except Unavailable as e:
            rows.append(Unavailable(str(e), name))
            continue

        rows.append(
            Generator(
                name=name,
                paper="supa",
                truth="calogan",
                generate=_generate(model, p.seed),
                training_seconds=history.seconds,
                samples=f"{CHAPTER}/caloflow_supa_v{k}",
                truth_samples=f"{CHAPTER}/truth_supa",
                note=(
                    f"CaloFlow-style flows, variant {k} ({model.n_parameters:,} parameters), "
                    f"{ctx.profile} profile, SUPA calogan e+ at 1x (504 voxels)"
                ),
                architecture=architecture(config, ARCHITECTURE),
            )
        )
    return rows
