"""Chapter 4 (``04_dvae``): the truth of each particle and the configurations of the selection
grid, from the chapter's resolved parameters ``p``; the notebook and the bench build through here.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path
from types import SimpleNamespace

from calopaper.models.dvae.data import Showers, supa_source
from calopaper.models.dvae.model import DVAEConfig
from calopaper.models.dvae.pipeline import configure
from calopaper.store import Store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = ["CHAPTER", "GridPoint", "configs", "showers"]

CHAPTER = "04_dvae"
#: A point of the selection grid: (calodvae Table 2 architecture, τ_z, τ_xm).
GridPoint = tuple[str, float, float]


def showers(p: SimpleNamespace, store: Store | None = None) -> dict[str, Showers]:
    """Each particle's truth (``p.n_showers`` SUPA showers, seed ``p.seed + k`` for the k-th
    particle), or the one CaloGAN-layout file ``p.dataset_path``, split 80/10/10 with ``p.seed``.
    """
    if p.dataset_path:
        sources = {Path(p.dataset_path).stem: Source(path=p.dataset_path)}
    else:
        sources = {q: supa_source(q, p.n_showers, p.seed + k) for k, q in enumerate(p.particles)}
    return {q: Showers.load(s, split_seed=p.seed, store=store) for q, s in sources.items()}


def configs(
    p: SimpleNamespace, truth: dict[str, Showers]
) -> tuple[FitConfig, dict[str, dict[GridPoint, DVAEConfig]]]:
    """The fit settings and, per particle, the config of every grid point (architectures ×
    τ_z × τ_xm), each standardised on that particle's training showers."""
    fields = {k: v for k, v in vars(p).items() if k in DVAEConfig.__dataclass_fields__}
    grid = list(product(p.grid_architectures, p.grid_tau_z, p.grid_tau_xm))
    grids = {
        q: {g: configure(s, g[0], p.width_scale, tau_z=g[1], tau_xm=g[2], **fields) for g in grid}
        for q, s in truth.items()
    }
    return FitConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=p.seed), grids
