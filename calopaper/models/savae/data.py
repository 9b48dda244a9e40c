"""SAVAE's data: the log scaling, the cell geometry, the geometry vector and training tensors.

:class:`Showers` holds the truth of the SAVAE chapter: the middle layer (column 2 = 1) of a
``truth.Source`` regrouped into several segmentations and split 0.7/0.1/0.2 into training,
validation and test showers (gaam §4.3). :func:`prepare` turns cell images into the tensors
of ``SAVAE.loss``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from calopaper.geometry import Segmentation
from calopaper.splits import split
from calopaper.store import Store
from calopaper.truth import Source

__all__ = [
    "N_GEOMETRY",
    "SPLIT",
    "Showers",
    "cell_geometry",
    "condition",
    "from_unit",
    "nested_split",
    "to_unit",
]

#: Per-cell geometry features: (eta, phi, d_eta, d_phi) / length_mm.
N_GEOMETRY = 4
#: Training, validation and test fractions (gaam §4.3).
SPLIT = (0.7, 0.1, 0.2)
#: The layer SAVAE models: the middle one (column 2 of the point clouds = 1).
LAYER = 1


def to_unit(energy: np.ndarray, e_min: float, e_max: float) -> np.ndarray:
    """savae §IV preprocessing: ``log1p(E / e_min) / log1p(e_max / e_min)``, clipped to [0, 1].

    Args:
        energy: cell energies in MeV, any shape, >= 0.

    Example:
        >>> to_unit(np.array([0.0, 65000.0, 1e9]), 0.01, 65000.0).tolist()
        [0.0, 1.0, 1.0]
    """
    scale = math.log1p(e_max / e_min)
    return np.clip(np.log1p(np.asarray(energy, dtype=np.float64) / e_min) / scale, 0.0, 1.0)


def from_unit(x: np.ndarray, e_min: float, e_max: float) -> np.ndarray:
    """Inverse of :func:`to_unit`: energies in MeV from values in [0, 1].

    Example:
        >>> from_unit(to_unit(np.array([0.0, 3.0, 500.0]), 0.01, 65000.0), 0.01, 65000.0).round(6)
        array([  0.,   3., 500.])
    """
    return e_min * np.expm1(np.asarray(x, dtype=np.float64) * math.log1p(e_max / e_min))


def cell_geometry(segmentation: Segmentation | str, length_mm: float = 40.0) -> np.ndarray:
    """Per-cell geometry ``(eta, phi, d_eta, d_phi) / length_mm``, (n_cells, 4) float32.

    Cells are in the row-major order of ``Segmentation`` (cell centres and sizes in mm).

    Example:
        >>> cell_geometry("2x2", 120.0)[0].tolist()
        [-1.0, -1.0, 2.0, 2.0]
    """
    segmentation = Segmentation.parse(segmentation)
    eta, phi = segmentation.centres()
    d_eta, d_phi = segmentation.sizes()
    features = np.stack([eta, phi, d_eta, d_phi], axis=-1).reshape(-1, N_GEOMETRY)
    return (features / length_mm).astype(np.float32)


def condition(segmentation: Segmentation | str, scale: float = 24.0) -> np.ndarray:
    """savae's geometry vector [η−, η+, φ−, φ+] divided by ``scale``, (4,) float32 (savae §IV).

    Example:
        >>> condition("36x48*").tolist()
        [1.0, 0.5, 1.0, 1.0]
    """
    return (Segmentation.parse(segmentation).conditioning_vector() / scale).astype(np.float32)


def nested_split(n: int, nested: int, seed: int) -> dict[str, np.ndarray]:
    """ "train", "val", "test" -> sorted indices of ``n`` showers, split ``SPLIT``.

    The first ``min(nested, n)`` showers are split as ``split(nested, SPLIT, seed)`` splits
    them and the rest on their own, so the parts extend those of the first showers.

    Example:
        >>> parts = nested_split(100, 30, seed=1)
        >>> first = dict(zip(("train", "val", "test"), split(30, SPLIT, 1)))
        >>> all(set(first[k]) <= set(parts[k]) for k in parts), len(parts["test"])
        (True, 20)
    """
    nested = min(max(nested, 0), n)
    head = split(nested, SPLIT, seed) if nested else ((),) * len(SPLIT)
    tail = split(n - nested, SPLIT, seed)
    return {
        part: np.sort(np.concatenate([np.asarray(a, dtype=np.int64), b + nested]))
        for part, a, b in zip(("train", "val", "test"), head, tail, strict=True)
    }


@dataclass(frozen=True, eq=False)
class Showers:
    """The truth of the SAVAE chapter: one layer of a ``Source`` in several segmentations.

    Attributes:
        source: where the showers come from; its ``key`` is part of every model's key.
        images: segmentation name -> (N, n_eta, n_phi) float64 cell energies, MeV.
        incident_energy: (N,) GeV.
        parts: "train", "val", "test" -> sorted shower indices (:func:`nested_split`).
        seed: seed of the split.
        nested: the first ``nested`` showers were split on their own (:func:`nested_split`).
    """

    source: Source
    images: Mapping[str, np.ndarray]
    incident_energy: np.ndarray
    parts: Mapping[str, np.ndarray]
    seed: int

    nested: int = 0

    @classmethod
    def load(
        cls,
        source: Source,
        segmentations: Sequence[str],
        seed: int,
        *,
        nested: int = 0,
        store: Store | None = None,
        progress: bool = True,
    ) -> Showers:
        """The middle layer of ``source``'s showers in each segmentation, split with ``seed``.

        Args:
            nested: the first ``nested`` showers are split on their own, as
                ``split(nested, SPLIT, seed)`` splits them, the others apart; a model trained on
                those first showers with that split (GAAM, whose truth is the first showers of
                the same simulation) then never trained on a test shower here.
        """
        clouds = source.clouds(store, progress)
        names = [str(Segmentation.parse(s)) for s in segmentations]
        images = {name: clouds.cells(Segmentation.parse(name), layer=LAYER)[0] for name in names}
        return cls(
            source,
            images,
            np.asarray(clouds.incident_energy),
            nested_split(len(clouds), nested, seed),
            seed,
            nested,
        )

    @property
    def key(self) -> dict:
        """JSON-able identity: the source's key (code or file digest), the layer and the split."""
        key = {"truth": self.source.key, "seed": self.seed, "layer": LAYER, "split": list(SPLIT)}
        return key | ({"nested": self.nested} if self.nested else {})

    def part(
        self, part: str, segmentations: Sequence[str] | None = None, first: int | None = None
    ) -> dict[str, np.ndarray]:
        """Segmentation name -> the images of one part ("train", "val" or "test").

        Args:
            part: which showers.
            segmentations: names to return (default: all loaded).
            first: keep only the first ``first`` showers of the part.
        """
        if part not in self.parts:
            msg = f"unknown part {part!r}; expected one of {sorted(self.parts)}"
            raise ValueError(msg)
        index = self.parts[part][:first]
        names = list(self.images) if segmentations is None else segmentations
        missing = [name for name in names if name not in self.images]
        if missing:
            msg = f"segmentations {missing} were not loaded; loaded: {list(self.images)}"
            raise ValueError(msg)
        return {name: self.images[name][index] for name in names}
