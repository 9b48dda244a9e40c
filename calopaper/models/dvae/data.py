"""CaloDVAE's data: one particle's flattened CaloGAN showers from a truth ``Source``, split."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calopaper import observables
from calopaper.datasets import CellSamples, clouds_to_calogan, read_calogan
from calopaper.geometry import CALOGAN
from calopaper.models.dvae.preprocessing import CALOGAN_LAYERS, flatten_layers, split_layers
from calopaper.splits import SplitShowers, split
from calopaper.store import Store, default_store
from calopaper.truth import Source

__all__ = [
    "PARTS",
    "SHAPES",
    "SPARSITY",
    "SPLIT",
    "VARIABLES",
    "Showers",
    "cell_samples",
    "non_showering_fraction",
    "read_cells",
    "shower_shapes",
    "supa_source",
]

#: Train / validation / test fractions (calodvae App. 6.4).
SPLIT = (0.8, 0.1, 0.1)
PARTS = ("train", "val", "test")
#: calodvae Table 1's shower-shape variables and the layer sparsities of its Fig. 2.
VARIABLES = ("E_0", "E_1", "E_2", "E_tot", "f_0", "f_1", "f_2", "l_d", "s_d")
SPARSITY = ("sparsity_0", "sparsity_1", "sparsity_2")
SHAPES = VARIABLES + SPARSITY


def supa_source(particle: str, n: int, seed: int, energy: float | None = None) -> Source:
    """SUPA ``calogan`` showers of one particle, at U[1, 100] GeV or at one fixed ``energy`` [GeV].

    Example:
        >>> supa_source("pi+", 10, 0, energy=50.0).overrides
        {'particle': 'pi+', 'energy_min': 50.0, 'energy_max': 50.0}
    """
    overrides: dict = {"particle": particle}
    if energy is not None:
        overrides |= {"energy_min": energy, "energy_max": energy}
    return Source("supa", "calogan", n, seed, overrides=overrides)


def read_cells(source: Source, store: Store | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A source's showers as (N, 504) float32 cells [MeV] and (N,) incident energies [GeV].

    A ``source.path`` is read as a CaloGAN-layout file (``datasets.read_calogan``); a simulator
    source is simulated once and rebinned into the CaloGAN cells once, both through the store.
    """
    if source.path:
        layers = read_calogan(source.path)
        return flatten_layers(layers), layers["energy"]
    store = store or default_store()

    def build(tmp: Path) -> None:
        layers = clouds_to_calogan(source.clouds(store, progress=False))
        np.savez(tmp, cells=flatten_layers(layers), energy=layers["energy"])

    code = ("calopaper.datasets", "calopaper.geometry", "calopaper.models.dvae.preprocessing")
    path = store.get_or_build("dvae/cells", {"source": source.key}, build, suffix=".npz", code=code)
    with np.load(path) as f:
        return f["cells"], f["energy"]


def cell_samples(cells: np.ndarray, energy: np.ndarray | float, attrs: dict) -> CellSamples:
    """(N, 504) flattened showers [MeV] at ``energy`` [GeV] as CaloGAN images for ``publish``."""
    segmentations = {name: CALOGAN[k] for k, name in enumerate(CALOGAN_LAYERS)}
    return CellSamples(split_layers(cells), segmentations, energy, attrs)


def shower_shapes(cells: np.ndarray, energy: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """calodvae Table 1's variables and the layer sparsities of (N, 504) flattened showers [MeV].

    Example:
        >>> s = shower_shapes(np.ones((2, 504), np.float32))
        >>> float(s["E_tot"][0]), float(s["sparsity_1"][0])
        (504.0, 1.0)
    """
    layers = split_layers(cells)
    return observables.shower_shapes(list(layers.values()), incident_energy=energy)


#: Layer-1 sparsity below which a shower counts as non-showering (a minimum-ionising track
#: hits one or two of the 144 cells; a shower many).
NON_SHOWERING_SPARSITY = 0.05


def non_showering_fraction(cells: np.ndarray) -> float:
    """Fraction of (N, 504) showers [MeV] with layer-1 sparsity < 0.05 (π+ that did not shower).

    Example:
        >>> non_showering_fraction(np.zeros((4, 504), np.float32))
        1.0
    """
    sparsity = shower_shapes(cells)["sparsity_1"]
    return float(np.mean(sparsity < NON_SHOWERING_SPARSITY))


@dataclass(frozen=True, eq=False)
class Showers(SplitShowers):
    """One particle's showers and their train / validation / test split.

    Attributes:
        source: where the showers come from; its ``key`` (simulator code, or the file's SHA-256)
            is part of every model key built on them.
        cells: (N, 504) float32 energies, MeV (``preprocessing.flatten_layers`` order).
        incident_energy: (N,) GeV.
        parts: ``"train"``, ``"val"``, ``"test"`` -> sorted shower indices.
        split_seed: seed of the split.
    """

    source: Source
    cells: np.ndarray
    incident_energy: np.ndarray
    parts: Mapping[str, np.ndarray]
    split_seed: int

    @classmethod
    def load(cls, source: Source, split_seed: int = 0, store: Store | None = None) -> Showers:
        """Read (or simulate) the showers of ``source`` and split them 80/10/10."""
        _ = source.key  # hash a file's bytes now, as they are read
        cells, energy = read_cells(source, store)
        parts = dict(zip(PARTS, split(len(energy), SPLIT, seed=split_seed), strict=True))
        return cls(source, cells, energy, parts, split_seed)

    @property
    def name(self) -> str:
        """The particle, or the file's stem for a user's file."""
        if self.source.path:
            return Path(self.source.path).stem
        return str(self.source.overrides.get("particle", self.source.preset))

    @property
    def key(self) -> dict:
        """JSON-able identity of the training showers: the source's key and the split."""
        return {"source": self.source.key, "split": SPLIT, "seed": self.split_seed, "part": "train"}
