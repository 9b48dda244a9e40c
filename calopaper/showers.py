"""The in-memory point-cloud container every simulator returns (book/conventions.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PARTICLES", "PointClouds"]

#: PDG codes of the particles the simulators know, by name.
PARTICLES = {"e-": 11, "e+": -11, "gamma": 22, "pi+": 211}


@dataclass
class PointClouds:
    """A batch of showers as ragged point clouds.

    Attributes:
        points: (P, 4) float32, columns (eta [mm], phi [mm], z [mm] or layer index, E [MeV]).
        offsets: (N + 1,) int64; the points of shower i are ``points[offsets[i]:offsets[i+1]]``.
        incident_energy: (N,) float32, GeV.
        incident_direction: (N, 3) float32, unit vectors; (0, 0, 1) is orthogonal incidence.
        particle: (N,) int32 PDG codes (see ``PARTICLES``).
        attrs: generator config and provenance; values must be str, int, float or bool.
    """

    points: np.ndarray
    offsets: np.ndarray
    incident_energy: np.ndarray
    incident_direction: np.ndarray
    particle: np.ndarray
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float32).reshape(-1, 4)
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        n = len(self.offsets) - 1
        self.incident_energy = np.asarray(self.incident_energy, dtype=np.float32).reshape(n)
        direction = np.asarray(self.incident_direction, dtype=np.float32)
        self.incident_direction = direction.reshape(n, 3)
        self.particle = np.asarray(self.particle, dtype=np.int32).reshape(n)
        if n < 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.points):
            ends = self.offsets[[0, -1]]
            msg = f"offsets must run from 0 to {len(self.points)} points, got {ends}"
            raise ValueError(msg)
        if np.any(np.diff(self.offsets) < 0):
            raise ValueError("offsets must be non-decreasing")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def event_index(self) -> np.ndarray:
        """(P,) int64: the shower each point belongs to."""
        return np.repeat(np.arange(len(self)), np.diff(self.offsets))

    def event(self, i: int) -> np.ndarray:
        """(P_i, 4) points of shower ``i``."""
        return self.points[self.offsets[i] : self.offsets[i + 1]]

    def select(self, index: np.ndarray) -> PointClouds:
        """A new batch holding the showers ``index`` (ints or a boolean mask), in that order."""
        index = np.arange(len(self))[index]
        counts = np.diff(self.offsets)[index]
        offsets = np.concatenate([[0], np.cumsum(counts)])
        rows = np.arange(offsets[-1]) + np.repeat(self.offsets[index] - offsets[:-1], counts)
        return PointClouds(
            self.points[rows],
            offsets,
            self.incident_energy[index],
            self.incident_direction[index],
            self.particle[index],
            dict(self.attrs),
        )

    def layer(self, k: int) -> PointClouds:
        """The same showers keeping only the points whose column 2 (layer index) equals ``k``."""
        keep = self.points[:, 2] == k
        counts = np.bincount(self.event_index[keep], minlength=len(self))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        return PointClouds(
            self.points[keep],
            offsets,
            self.incident_energy,
            self.incident_direction,
            self.particle,
            dict(self.attrs),
        )

    def layer_totals(self, n_layers: int) -> tuple[np.ndarray, np.ndarray]:
        """Deposited energy and number of points per layer and shower (column 2 = layer index).

        Returns:
            energy (n_layers, N) float64 MeV and points (n_layers, N) int64.

        Example:
            >>> clouds = PointClouds([[0, 0, 0, 2.0], [0, 0, 1, 3.0], [0, 0, 1, 1.0]], [0, 2, 3],
            ...     [1.0, 1.0], [[0, 0, 1], [0, 0, 1]], [22, 22])
            >>> energy, points = clouds.layer_totals(2)
            >>> energy.tolist(), points.tolist()
            ([[2.0, 0.0], [3.0, 1.0]], [[1, 0], [1, 1]])
        """
        layer = self.points[:, 2].astype(np.int64)
        if layer.size and (layer.min() < 0 or layer.max() >= n_layers):
            msg = f"layer indices {layer.min()}..{layer.max()} do not fit n_layers={n_layers}"
            raise ValueError(msg)
        index = layer * len(self) + self.event_index
        size = n_layers * len(self)
        energy = np.bincount(index, weights=self.points[:, 3], minlength=size)
        points = np.bincount(index, minlength=size)
        return energy.reshape(n_layers, len(self)), points.reshape(n_layers, len(self))

    def cells(self, segmentation, layer: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rebin into a segmentation (all points, or those of one ``layer``).

        Returns:
            cells (N, n_eta, n_phi) float64 MeV and overflow (N,) float64 MeV
            (see ``calopaper.geometry.rebin``).
        """
        from calopaper.geometry import rebin

        clouds = self if layer is None else self.layer(layer)
        eta, phi, _, energy = clouds.points.T
        return rebin(eta, phi, energy, clouds.offsets, segmentation)

    @staticmethod
    def concatenate(batches: list[PointClouds]) -> PointClouds:
        """Join batches of showers; attrs are taken from the first."""
        counts = np.concatenate([np.diff(b.offsets) for b in batches])
        return PointClouds(
            np.concatenate([b.points for b in batches]),
            np.concatenate([[0], np.cumsum(counts)]),
            np.concatenate([b.incident_energy for b in batches]),
            np.concatenate([b.incident_direction for b in batches]),
            np.concatenate([b.particle for b in batches]),
            dict(batches[0].attrs),
        )
