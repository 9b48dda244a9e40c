"""Chapter 4 (``04_dvae``): the truth of each particle and the configurations of the selection
grid, from the chapter's resolved parameters ``p``; the selected grid points as the chapter
publishes them (read by the bench); the selected models on the book's common fidelity scale.
The notebook and the bench build through here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from itertools import product
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from calopaper import fidelity, geometry, observables
from calopaper.models.dvae.data import Showers, read_cells, supa_source
from calopaper.models.dvae.model import DVAEConfig
from calopaper.models.dvae.pipeline import configure
from calopaper.models.dvae.preprocessing import split_layers
from calopaper.store import Store, default_store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "FRESH_SEED",
    "GridPoint",
    "configs",
    "fidelity_features",
    "fidelity_rows",
    "generator_name",
    "published_selection",
    "selection_records",
    "showers",
]

CHAPTER = "04_dvae"
#: A point of the selection grid: (calodvae Table 2 architecture, τ_z, τ_xm).
GridPoint = tuple[str, float, float]
#: Offset from ``p.seed`` of the independent truth samples behind the fidelity floors (the k-th
#: particle's truth has seed ``p.seed + k``, its energy-response showers ``p.seed + 1000 + ...``).
FRESH_SEED = 7919


def generator_name(particle: str) -> str:
    """The name of a particle's CaloDVAE row, as ``calopaper bench`` and the chapter's tables
    give it.

    Example:
        >>> generator_name("pi+")
        'CaloDVAE pi+'
    """
    return f"CaloDVAE {particle}"


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


def selection_records(p: SimpleNamespace, selected: Mapping[str, GridPoint]) -> list[dict]:
    """The grid point selected per particle, as the chapter publishes it (``tables["selected"]``
    of ``data/results/04_dvae.json``), with the settings it was selected under.

    Example:
        >>> p = SimpleNamespace(profile="smoke", seed=1, n_showers=300)
        >>> selection_records(p, {"e+": ("I", 0.2, 0.125)})[0]["architecture"]
        'I'
    """
    run = {"profile": p.profile, "seed": p.seed, "n_showers": p.n_showers}
    return [
        {"particle": q, "architecture": g[0], "tau_z": g[1], "tau_xm": g[2], **run}
        for q, g in selected.items()
    ]


def published_selection(p: SimpleNamespace, root: Path | None = None) -> dict[str, GridPoint]:
    """The grid points the chapter selected and published under ``root`` (default: the store's
    root), per particle, for a run with ``p``'s profile, seed and number of showers; empty when
    the chapter has not run so (or ran before it published its selection)."""
    path = Path(root if root is not None else default_store().root) / "results"
    path = path / f"{CHAPTER}.json"
    if not path.exists():
        return {}
    records = json.loads(path.read_text()).get("tables", {}).get("selected", [])
    run = {"profile": p.profile, "seed": p.seed, "n_showers": p.n_showers}
    return {
        r["particle"]: (r["architecture"], float(r["tau_z"]), float(r["tau_xm"]))
        for r in records
        if all(r.get(k) == v for k, v in run.items())
    }


def fidelity_features(
    cells: np.ndarray, incident_energy: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A sample's features on the common scale (``fidelity.compare``).

    Args:
        cells: (N, 504) flattened CaloGAN showers, MeV.
        incident_energy: (N,) GeV.

    Returns:
        (N, 504) cell energies over the incident energy (both in MeV), and the high-level
        observables name -> (N,): the shower shapes of ``dvae.shower_shapes`` (layer energies,
        fractions, E_tot / E_inc, brightest-cell ratios, depth, l_d, s_d and its spread,
        sparsities) and each layer's centroids and widths in mm.
    """
    energy = np.asarray(incident_energy, dtype=np.float64)
    layers = list(split_layers(cells).values())
    segmentations = [geometry.CALOGAN[k] for k in range(len(layers))]
    high = observables.shower_shapes(layers, segmentations=segmentations, incident_energy=energy)
    return fidelity.low_level(cells, 1000.0 * energy), high


def _fresh_cells(
    p: SimpleNamespace, particle: str, k: int, n: int, store: Store | None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` SUPA showers of the k-th particle, independent of its truth (seed
    ``p.seed + FRESH_SEED + k``), at the truth's U[1, 100] GeV, through the store."""
    return read_cells(supa_source(particle, n, p.seed + FRESH_SEED + k), store)


def fidelity_rows(
    p: SimpleNamespace,
    truth: Mapping[str, Showers],
    samples: Mapping[str, np.ndarray],
    selected: Mapping[str, GridPoint],
    store: Store | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The selected CaloDVAE of each particle on the book's common scale (``fidelity.compare``).

    Each particle's test showers are the truth; the model's showers are ``samples[particle]``,
    generated at the test showers' incident energies (one per test shower); the floors come
    from a fresh SUPA sample of as many showers at U[1, 100] GeV (``_fresh_cells``). All three
    are cut to the smallest size.

    Args:
        p: the chapter's resolved parameters (``seed``, ``dataset_path``).
        truth: particle -> its showers, split (``showers``).
        samples: particle -> (M, 504) model showers [MeV] at the first M test energies.
        selected: particle -> the grid point of its model.
        store: the store of the fresh truth (default: ``default_store()``).

    Returns:
        One row per particle compared (``generator``, ``model``, ``particle``,
        ``architecture``, ``τ_z``, ``τ_xm``, ``showers`` and the columns of
        ``Fidelity.row``), and a note for each particle left out (a user's file has no
        independent truth sample; a sample smaller than ``fidelity.MIN_SHOWERS`` showers).
    """
    rows, notes = [], []
    for k, (q, s) in enumerate(truth.items()):
        if p.dataset_path:
            notes.append(f"{q}: a user's file has no independent truth sample for the floors")
            continue
        cells, energy = s.part("test")
        n = min(len(energy), len(samples[q]))
        if n < fidelity.MIN_SHOWERS:
            notes.append(f"{q}: {n} showers; the classifier needs at least {fidelity.MIN_SHOWERS}")
            continue
        fresh = _fresh_cells(p, q, k, n, store)
        compared = fidelity.compare(
            fidelity_features(cells[:n], energy[:n]),
            fidelity_features(*fresh),
            fidelity_features(samples[q][:n], energy[:n]),
            seed=p.seed,
        )
        grid = selected[q]
        rows.append(
            {
                "generator": generator_name(q),
                "model": "CaloDVAE",
                "particle": q,
                "architecture": grid[0],
                "τ_z": grid[1],
                "τ_xm": grid[2],
                "showers": n,
                **compared.row(),
            }
        )
    columns = ["generator", "model", "particle", "architecture", "τ_z", "τ_xm", "showers"]
    return pd.DataFrame(rows, columns=[*columns, *fidelity.COLUMNS.values()]), notes
