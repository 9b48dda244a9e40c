"""One calorimeter layer of the truth showers, split and regrouped into GAAM's sequences."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from calopaper.geometry import GAAM_INNER, GAAM_MIDDLE, GAAM_OUTER, Segmentation
from calopaper.showers import PointClouds
from calopaper.splits import split

__all__ = ["LAYERS", "SPLIT", "TRAINING_SEGMENTATIONS", "LayerData", "validate_layer"]

#: Layer name -> index in column 2 of the SUPA `gaam` points.
LAYERS = {"inner": 0, "middle": 1, "outer": 2}
#: gaam Table 1: the training segmentations of each layer.
TRAINING_SEGMENTATIONS = {"inner": GAAM_INNER, "middle": GAAM_MIDDLE, "outer": GAAM_OUTER}
#: gaam §4.3: training, validation and test fractions of the showers.
SPLIT = (0.7, 0.1, 0.2)


def validate_layer(layer: str) -> int:
    """The index of a layer name in the points (see :data:`LAYERS`).

    Example:
        >>> validate_layer("middle")
        1
    """
    if layer not in LAYERS:
        msg = f"unknown layer {layer!r}; expected one of {list(LAYERS)}"
        raise ValueError(msg)
    return LAYERS[layer]


@dataclass
class LayerData:
    """One layer of the truth showers, split 0.7/0.1/0.2 (gaam §4.3), in any segmentation.

    Attributes:
        layer: "inner", "middle" or "outer".
        clouds: the showers' points in this layer.
        parts: {"train", "val", "test"} -> shower indices.
        segmentations: the training segmentations.
        length: MADE positions, the largest training n_cells.
        n_classes: N + 1, N the smallest integer above the largest training sqrt(E / MeV).
    """

    layer: str
    clouds: PointClouds
    parts: dict[str, np.ndarray]
    segmentations: list[Segmentation]
    length: int = 0
    n_classes: int = 0
    _cells: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        clouds: PointClouds,
        layer: str,
        segmentations: list[str | Segmentation],
        seed: int,
    ) -> LayerData:
        """Split the showers and derive ``length`` and ``n_classes`` from the training part."""
        k = validate_layer(layer)
        if not segmentations:
            msg = f"no training segmentations given for the {layer} layer; expected e.g. ['48x48']"
            raise ValueError(msg)
        train, val, test = split(len(clouds), SPLIT, seed=seed)
        if min(len(train), len(val), len(test)) == 0:
            msg = f"{len(clouds)} showers leave a part of the 0.7/0.1/0.2 split empty; need >= 10"
            raise ValueError(msg)
        data = cls(
            layer,
            clouds.layer(k),
            {"train": train, "val": val, "test": test},
            [Segmentation.parse(s) for s in segmentations],
        )
        data.length = max(s.n_cells for s in data.segmentations)
        largest = max(float(np.sqrt(data.cells(s, "train").max())) for s in data.segmentations)
        data.n_classes = math.floor(largest) + 2
        return data

    def cells(self, segmentation: Segmentation | str, part: str = "test") -> np.ndarray:
        """(N_part, n_eta, n_phi) float64 MeV cell energies of one split part."""
        segmentation = Segmentation.parse(segmentation)
        if part not in self.parts:
            msg = f"unknown part {part!r}; expected one of {list(self.parts)}"
            raise ValueError(msg)
        key = (segmentation.to_json(), part)
        if key not in self._cells:
            cells, _ = self.clouds.select(self.parts[part]).cells(segmentation)
            self._cells[key] = cells
        return self._cells[key]

    def central(self, segmentation: Segmentation | str) -> np.ndarray:
        """(N_train,) MeV: training energies of the first spiral cell, the "known prior"."""
        segmentation = Segmentation.parse(segmentation)
        cells = self.cells(segmentation, "train").reshape(-1, segmentation.n_cells)
        return cells[:, segmentation.spiral_order()[0]]

    def sequences(self, part: str) -> tuple[Tensor, Tensor]:
        """Every training segmentation of one part, padded to ``length``, stacked.

        Returns:
            energy (S * N_part, length) float32 MeV in spiral order and sizes
            (S * N_part, length, 2) float32 mm, zero at padded positions.
        """
        energies, sizes = [], []
        for segmentation in self.segmentations:
            order = segmentation.spiral_order()[: self.length]
            cells = self.cells(segmentation, part).reshape(-1, segmentation.n_cells)[:, order]
            energy = np.zeros((len(cells), self.length), np.float32)
            energy[:, : len(order)] = cells
            size = np.zeros((self.length, 2), np.float32)
            size[: len(order)] = np.stack([s.ravel()[order] for s in segmentation.sizes()], -1)
            energies.append(energy)
            sizes.append(np.broadcast_to(size, (len(cells), self.length, 2)))
        return torch.from_numpy(np.concatenate(energies)), torch.from_numpy(np.concatenate(sizes))
