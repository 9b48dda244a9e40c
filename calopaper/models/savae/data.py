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
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from calopaper.datasets import split
from calopaper.geometry import Segmentation
from calopaper.store import Store
from calopaper.truth import Source

if TYPE_CHECKING:
    from calopaper.models.savae.model import SAVAEConfig

__all__ = [
    "N_GEOMETRY",
    "SPLIT",
    "Showers",
    "cell_geometry",
    "condition",
    "from_unit",
    "nested_split",
    "prepare",
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


def segmentation_of(segmentation: Segmentation | str) -> Segmentation:
    """A ``Segmentation`` from itself or from the papers' notation (e.g. "24x12")."""
    if isinstance(segmentation, Segmentation):
        return segmentation
    if isinstance(segmentation, str):
        return Segmentation.parse(segmentation)
    msg = f"expected a Segmentation or a string such as '48x48', got {segmentation!r}"
    raise TypeError(msg)


def cell_geometry(segmentation: Segmentation | str, length_mm: float = 40.0) -> np.ndarray:
    """Per-cell geometry ``(eta, phi, d_eta, d_phi) / length_mm``, (n_cells, 4) float32.

    Cells are in the row-major order of ``Segmentation`` (cell centres and sizes in mm).

    Example:
        >>> cell_geometry("2x2", 120.0)[0].tolist()
        [-1.0, -1.0, 2.0, 2.0]
    """
    segmentation = segmentation_of(segmentation)
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
    return (segmentation_of(segmentation).conditioning_vector() / scale).astype(np.float32)


def _pad(array: np.ndarray, k: int, value: float = 0) -> np.ndarray:
    """Pad axis 1 of ``array`` to length ``k`` with ``value``."""
    width = [(0, 0)] * array.ndim
    width[1] = (0, k - array.shape[1])
    return np.pad(array, width, constant_values=value)


def _tokens(flat: np.ndarray, x: np.ndarray, geom: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """The k most energetic cells as tokens (N, k, 5) and their mask (N, k), brightest first."""
    part = np.argpartition(-flat, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(flat, part, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    tokens = np.concatenate([np.take_along_axis(x, top, axis=1)[..., None], geom[top]], axis=-1)
    mask = np.take_along_axis(flat, top, axis=1) > 0
    mask[:, 0] = True  # attention needs one key per shower, even for an empty shower
    return tokens, mask


def prepare(images: Mapping[str, np.ndarray], config: SAVAEConfig) -> tuple[Tensor, ...]:
    """Training tensors for ``SAVAE.loss`` from cell images of the config's segmentations.

    Every shower of every segmentation in ``config.segmentations`` becomes one row.

    Args:
        images: segmentation name -> (N, n_eta, n_phi) or (N, n_cells) energies in MeV; must
            hold every name in ``config.segmentations`` (others are ignored).
        config: the model config (a ``SAVAEConfig``).

    Returns:
        ``(tokens, mask, index, x)``: ``tokens`` (M, K, 5) float32, the ``(x, g)`` of the
        most energetic cells, brightest first (K = ``max_tokens``, or with ``None`` the largest
        number of cells with energy in one shower); ``mask`` (M, K) bool, the non-empty ones
        (the brightest always kept); ``index`` (M,) int64, the row's segmentation as a
        position in ``config.segmentations``; ``x`` (M, C) float32, the scaled energies of all
        cells, zero-padded to the largest grid's C cells. ``M = N x len(segmentations)``.

    Example:
        >>> from calopaper.models.savae import SAVAEConfig
        >>> cfg = SAVAEConfig(segmentations=("2x2", "1x1"), max_tokens=3)
        >>> images = {"2x2": np.array([[[5.0, 0.0], [0.0, 1.0]]]), "1x1": np.ones((1, 1, 1))}
        >>> tokens, mask, index, x = prepare(images, cfg)
        >>> tuple(tokens.shape), mask.tolist(), index.tolist(), tuple(x.shape)
        ((2, 3, 5), [[True, True, False], [True, False, False]], [0, 1], (2, 4))
    """
    missing = [name for name in config.segmentations if name not in images]
    if missing:
        msg = f"images lack segmentations {missing}; expected keys {list(config.segmentations)}"
        raise ValueError(msg)
    n_max = max(Segmentation.parse(name).n_cells for name in config.segmentations)
    flats = {}
    for name in config.segmentations:
        flat = np.asarray(images[name], dtype=np.float64).reshape(len(images[name]), -1)
        n_cells = Segmentation.parse(name).n_cells
        if flat.shape[1] != n_cells:
            msg = f"{name} images have {flat.shape[1]} cells; expected {n_cells}"
            raise ValueError(msg)
        flats[name] = flat
    # Tokens per shower: the max_tokens brightest cells, or (None) every cell with energy.
    n_tokens = config.max_tokens or max(
        1, *(int((f > 0).sum(1).max(initial=0)) for f in flats.values())
    )
    columns = []
    for i, (name, flat) in enumerate(flats.items()):
        x = to_unit(flat, config.e_min_mev, config.e_max_mev).astype(np.float32)
        geom = cell_geometry(name, config.length_mm)
        tokens, mask = _tokens(flat, x, geom, min(n_tokens, flat.shape[1]))
        columns.append(
            (
                _pad(tokens, n_tokens),
                _pad(mask, n_tokens, False),
                np.full(len(flat), i, dtype=np.int64),
                _pad(x, n_max),
            )
        )
    return tuple(torch.from_numpy(np.concatenate(c)) for c in zip(*columns, strict=True))


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
        names = [str(segmentation_of(s)) for s in segmentations]
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
