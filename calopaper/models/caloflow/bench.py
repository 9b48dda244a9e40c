"""CaloFlow generators for ``calopaper bench``: the variants the SUPA study page trains on SUPA."""

from __future__ import annotations

import numpy as np
import torch

from calopaper.bench.registry import BenchContext, Generator, Unavailable, architecture
from calopaper.models.caloflow.chapter import (
    CHAPTER,
    benched_variants,
    configs,
    generator_name,
)
from calopaper.models.caloflow.model import variant
from calopaper.models.caloflow.pipeline import sample, trained

__all__ = ["generators"]

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
    """The largest and the smallest CaloFlow variant of ``ctx.profile``, trained on SUPA e+
    (the page's first training seed).

    Each row generates complete showers: flow I, flow II, threshold and rescaling to cells
    in MeV (``pipeline.sample``); without ``energy`` the energies are drawn from U[1, 100] GeV.
    """
    p = ctx.chapter_parameters(CHAPTER)
    setup = configs(p)
    voxels = setup.voxels("SUPA", store=ctx.store)  # split with SUPA's own seed, as the page
    rows: list[Generator | Unavailable] = []
    for k in benched_variants(p.variants):
        name = generator_name(k, setup.sources["SUPA"])
        config = variant(k, voxels.layer_sizes)
        try:
            model, history = trained(config, setup.fit, voxels, device=ctx.device, store=ctx.store)
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
