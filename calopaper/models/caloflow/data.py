"""CaloFlow's data: showers of a truth ``Source`` binned at 1x, 2x or 3x into flat voxels, split."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calopaper import observables
from calopaper.datasets import CellSamples, read_calogan
from calopaper.geometry import CALOGAN, Segmentation
from calopaper.grids import bin_layers, layer_grids
from calopaper.splits import SplitShowers, split
from calopaper.store import Store, default_store
from calopaper.truth import Source

__all__ = ["PARTS", "SPLIT", "Voxels", "marginals"]

#: Train / validation / test fractions: a larger test part than CaloDVAE's, because the
#: rankings compare marginals on it.
SPLIT = (0.7, 0.1, 0.2)
PARTS = ("train", "val", "test")


def marginals(
    images: Sequence[np.ndarray],
    grids: Sequence[Segmentation],
    energy: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """supa §4's shower-shape variables of layer images (``observables.shower_shapes``).

    Args:
        images: per layer (N, n_eta, n_phi) cells, MeV.
        grids: per layer, the grid of the images (centroids and widths in mm).
        energy: (N,) incident energies, GeV (adds E_tot / E_inc).

    Returns:
        Name -> (N,) float64 values.
    """
    return observables.shower_shapes(
        list(images), segmentations=list(grids), incident_energy=energy
    )


def _grids(source: Source, scale: int) -> dict[int, Segmentation]:
    """Layer -> grid of ``source`` at ``scale``: the preset's grids, or a file's CaloGAN cells."""
    if not source.path:
        return layer_grids(source.simulator, source.preset, scale)
    if scale != 1:
        msg = f"{source.path} holds CaloGAN cells (1x); scale {scale} needs point clouds"
        raise ValueError(msg)
    return dict(CALOGAN)


def _cells(
    source: Source, scale: int, layers: list[int], store: Store | None
) -> tuple[np.ndarray, np.ndarray]:
    """(N, n_voxels) cells [MeV] of ``layers`` and (N,) energies [GeV].

    A simulator source is binned once at ``scale`` and kept in the store (kind
    ``caloflow/voxels``, keyed by ``source.key``, scale and layers, and the binning code); a
    user's CaloGAN-layout file is read as it is.
    """
    if source.path:
        _ = source.key  # hash the file's bytes now, as they are read
        data = read_calogan(source.path)
        n = len(data["energy"])
        cells = np.concatenate([data[f"layer_{k}"].reshape(n, -1) for k in layers], 1)
        return cells, data["energy"]
    grids = layer_grids(source.simulator, source.preset, scale)

    def build(tmp: Path) -> None:
        clouds = source.clouds(store, progress=False)
        n = len(clouds)
        flat = [bin_layers(clouds.layer(k), {k: grids[k]})[0][k].reshape(n, -1) for k in layers]
        with open(tmp, "wb") as f:
            np.savez(f, cells=np.concatenate(flat, 1), energy=clouds.incident_energy)

    key = {"source": source.key, "scale": scale, "layers": layers}
    code = ["calopaper.grids", "calopaper.geometry", __name__]
    path = (store or default_store()).get_or_build(
        "caloflow/voxels", key, build, suffix=".npz", code=code
    )
    with np.load(path) as f:
        return f["cells"], f["energy"]


@dataclass(frozen=True, eq=False)
class Voxels(SplitShowers):
    """Showers as flat voxels of some layers of a grid, and their train / val / test split.

    Attributes:
        source: the truth; its ``key`` is part of every model key built on these showers.
        scale: the resolution, 1 (1x), 2 or 3.
        grids: layer index -> grid, for the layers kept, in layer order.
        cells: (N, n_voxels) float32 MeV, the layers' cells flattened and concatenated.
        incident_energy: (N,) GeV.
        parts: "train", "val", "test" -> sorted shower indices.
        split_seed: seed of the split.
    """

    source: Source
    scale: int
    grids: Mapping[int, Segmentation]
    cells: np.ndarray
    incident_energy: np.ndarray
    parts: Mapping[str, np.ndarray]
    split_seed: int = 0

    @classmethod
    def load(
        cls,
        source: Source,
        scale: int = 1,
        layers: Sequence[int] | None = None,
        split_seed: int = 0,
        store: Store | None = None,
    ) -> Voxels:
        """Simulate (or read from the store) ``source`` and bin it at ``scale`` (binned once).

        Args:
            source: a simulator ``Source`` (the grids follow its preset: ``grids.layer_grids``),
                or a user's CaloGAN-layout file (``Source(path=...)``, 1x only).
            scale: 1, 2 or 3.
            layers: the layers to keep (default all), e.g. ``[1]`` for the middle layer.
            split_seed: seed of the 70/10/20 split.
        """
        all_grids = _grids(source, scale)
        keep = sorted(all_grids) if layers is None else [int(k) for k in layers]
        unknown = [k for k in keep if k not in all_grids]
        if unknown or not keep:
            msg = f"layers {list(layers or [])} invalid; expected a subset of {sorted(all_grids)}"
            raise ValueError(msg)
        grids = {k: all_grids[k] for k in keep}
        cells, energy = _cells(source, scale, keep, store)
        parts = dict(zip(PARTS, split(len(energy), SPLIT, seed=split_seed), strict=True))
        return cls(source, scale, grids, cells, energy, parts, split_seed)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Cells per kept layer."""
        return tuple(seg.n_cells for seg in self.grids.values())

    @property
    def key(self) -> dict:
        """JSON-able identity of the training showers: source key, grid, layers and split."""
        return {
            "source": self.source.key,
            "scale": self.scale,
            "layers": list(self.grids),
            "split": SPLIT,
            "seed": self.split_seed,
        }

    def images(self, cells: np.ndarray) -> list[np.ndarray]:
        """(N, n_voxels) flat cells -> per kept layer (N, n_eta, n_phi)."""
        bounds = np.cumsum((0, *self.layer_sizes))
        return [
            cells[:, lo:hi].reshape(len(cells), *seg.shape)
            for lo, hi, seg in zip(bounds[:-1], bounds[1:], self.grids.values(), strict=True)
        ]

    def marginals(self, cells: np.ndarray, energy: np.ndarray | None = None) -> dict:
        """supa §4's variables of (N, n_voxels) cells on this grid (see :func:`marginals`)."""
        return marginals(self.images(cells), list(self.grids.values()), energy)

    def cell_samples(self, cells: np.ndarray, energy: np.ndarray, attrs: dict) -> CellSamples:
        """Flat cells as per-layer images with their grids, for ``results.publish``."""
        layers = {f"layer_{k}": im for k, im in zip(self.grids, self.images(cells), strict=True)}
        segmentations = {f"layer_{k}": seg for k, seg in self.grids.items()}
        return CellSamples(layers, segmentations, energy, attrs)
