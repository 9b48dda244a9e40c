"""CaloClouds training data: ILD photons from the reference simulator, made location-agnostic.

caloclouds3 §2.2 and Table 1. Truth comes from ``gflash`` preset ``ild`` through a
``truth.Source``; :class:`BarrelSource` adds CC3's directions (photons from the interaction
point, uniform over the top barrel face). :func:`prepare` then removes each shower's tilt by
shifting every layer along the incident direction, trims to +-250 mm and re-bins the hits on a
sub-cell grid (5 x 5 bins per 5.088 mm cell for CC3, 6 x 6 for CC2, the grid offset at random
per shower by up to half a cell), one point per occupied bin: at the bin's highest-energy hit
(CC3) or its centre (CC2). :func:`point_batches` draws points across showers for training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from calopaper.datasets import read_points, write_points
from calopaper.showers import PointClouds
from calopaper.sim import gflash
from calopaper.sim.calorimeters import CALORIMETERS
from calopaper.store import Store, code_digest, default_store
from calopaper.truth import Source

__all__ = [
    "CELL",
    "LAYER_Z",
    "N_LAYERS",
    "BarrelSource",
    "barrel_directions",
    "layer_shift",
    "prepare",
    "validate_conditions",
]

#: ILD cell pitch, mm; the depth of each of the 30 active layers, mm; their number.
CELL = 5.088
LAYER_Z = np.asarray(CALORIMETERS["ild"].layer_z, dtype=np.float64)
N_LAYERS = len(LAYER_Z)
#: Half-width of the trimmed box around the shower axis, mm (caloclouds3 §2.2).
HALF_BOX = 250.0
#: Photons enter the top barrel face at polar angles 30-150 deg (to the beam) and azimuths
#: 80-110 deg: at barrel radius R the face spans +-R cot(30 deg) along the beam and
#: +-R tan(15 deg) across (we take the azimuth symmetric, +-15 deg, about the face normal).
BEAM_HALF = 1 / np.tan(np.radians(30.0))
ACROSS_HALF = np.tan(np.radians(15.0))


def barrel_directions(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) local unit directions of photons from the IP, uniform over the top barrel face.

    Local frame: z through the layers, x along the beam, y across (caloclouds3 §2.2).

    Example:
        >>> d = barrel_directions(1000, np.random.default_rng(0))
        >>> bool(np.allclose(np.linalg.norm(d, axis=1), 1)), bool(d[:, 2].min() > 0.49)
        (True, True)
    """
    u = rng.uniform(-BEAM_HALF, BEAM_HALF, n)
    v = rng.uniform(-ACROSS_HALF, ACROSS_HALF, n)
    p = np.stack([u, v, np.ones(n)], 1)
    return p / np.linalg.norm(p, axis=1, keepdims=True)


@dataclass(frozen=True)
class BarrelSource(Source):
    """A ``truth.Source`` of ILD photons whose directions are drawn over the barrel face.

    ``overrides`` set the energy range as usual (e.g. ``{"energy": (1.0, 127.0)}``); the
    directions come from ``barrel_directions`` with the stream ``(seed, 1)``.
    """

    simulator: str = "gflash"
    preset: str = "ild"

    @cached_property
    def key(self) -> dict:
        return {**Source.key.func(self), "directions": "barrel", "module": code_digest([__name__])}

    @property
    def description(self) -> str:
        return "the reference simulator `ild`, directions over the barrel face"

    def clouds(self, store: Store | None = None, progress: bool = True) -> PointClouds:
        config = replace(CALORIMETERS[self.preset], **self.overrides)

        def build(tmp: Path) -> None:
            rng = np.random.default_rng([self.seed, 1])
            d = barrel_directions(self.n, rng)
            theta, phi = np.arccos(d[:, 2]), np.arctan2(d[:, 1], d[:, 0])
            clouds = gflash.simulate(
                config, self.n, seed=self.seed, theta=theta, phi=phi, progress=progress
            )
            clouds.attrs["directions"] = "barrel"
            write_points(tmp, clouds)

        key = {k: v for k, v in self.key.items() if k != "code"}
        path = (store or default_store()).get_or_build(
            "gflash", key, build, code=[gflash, "calopaper.sim.calorimeters", __name__]
        )
        return read_points(path)


def validate_conditions(
    energy: np.ndarray, direction: np.ndarray, energy_range: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Checked (N,) energies (GeV) and (N, 3) unit directions entering the calorimeter.

    Raises:
        ValueError: energies outside ``energy_range`` or not finite, directions of another
            shape, not of unit length (to 1e-3) or pointing backwards (z <= 0).
    """
    energy = np.atleast_1d(np.asarray(energy, dtype=np.float64))
    direction = np.asarray(direction, dtype=np.float64).reshape(-1, 3)
    lo, hi = energy_range
    if not np.all(np.isfinite(energy) & (energy >= lo) & (energy <= hi)):
        bad = energy[~(np.isfinite(energy) & (energy >= lo) & (energy <= hi))][:3]
        msg = f"incident energies {bad.tolist()} GeV are outside the trained range [{lo}, {hi}]"
        raise ValueError(msg)
    if len(direction) != len(energy):
        msg = f"{len(direction)} directions for {len(energy)} energies; expected one each"
        raise ValueError(msg)
    norm = np.linalg.norm(direction, axis=1)
    if not np.all(np.abs(norm - 1) < 1e-3) or not np.all(direction[:, 2] > 0):
        i = int(np.argmax((np.abs(norm - 1) >= 1e-3) | ~(direction[:, 2] > 0)))
        msg = (
            f"direction {direction[i].tolist()} (norm {norm[i]:.4g}) is invalid; expected a unit "
            "vector (x, y, z) with z > 0, pointing into the calorimeter"
        )
        raise ValueError(msg)
    return energy, direction


def layer_shift(direction: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """(P, 2) offset of the shower axis at each point's layer, mm: z_layer (p_x, p_y) / p_z.

    Subtracting it removes the tilt (caloclouds3 §2.2 writes z tan(asin p_x) per axis; for our
    simulator the axis sits exactly at z p / p_z, which we use).
    """
    z = LAYER_Z[layer]
    return z[:, None] * direction[:, :2] / direction[:, 2:3]


def prepare(clouds: PointClouds, sub_cells: int, at_centre: bool, seed: int = 0) -> PointClouds:
    """Location-agnostic points on the sub-cell grid, one per occupied bin (caloclouds3 Table 1).

    Args:
        clouds: simulated ILD showers (eta mm, phi mm, layer index, E MeV).
        sub_cells: bins per cell and axis (CC3 5, CC2 6).
        at_centre: put the point at the bin centre (CC2) instead of its highest-energy hit (CC3).
        seed: the per-shower random grid offsets.

    Returns:
        ``PointClouds`` (x mm, y mm, layer index, E MeV) in the shower's untilted frame,
        sorted by shower and layer; energy per shower and layer is conserved inside the box.
    """
    if sub_cells < 1:
        msg = f"sub_cells = {sub_cells!r} is invalid; expected a positive int"
        raise ValueError(msg)
    event = clouds.event_index
    layer = clouds.points[:, 2].astype(np.int64)
    xy = clouds.points[:, :2].astype(np.float64)
    xy = xy - layer_shift(clouds.incident_direction[event].astype(np.float64), layer)
    energy = clouds.points[:, 3].astype(np.float64)
    inside = np.all(np.abs(xy) < HALF_BOX, axis=1) & (energy > 0)
    event, layer, xy, energy = event[inside], layer[inside], xy[inside], energy[inside]
    pitch = CELL / sub_cells
    offset = np.random.default_rng([seed, 2]).uniform(-0.5, 0.5, (len(clouds), 2)) * CELL
    ij = np.floor((xy + offset[event] + HALF_BOX + CELL) / pitch).astype(np.int64)
    stride = int(np.ceil((2 * HALF_BOX + 2 * CELL) / pitch)) + 1
    key = ((event * N_LAYERS + layer) * stride + ij[:, 0]) * stride + ij[:, 1]
    order = np.lexsort((-energy, key))  # by bin, the highest-energy hit first
    key, xy, energy = key[order], xy[order], energy[order]
    first = np.concatenate([[True], key[1:] != key[:-1]])
    starts = np.flatnonzero(first)
    e_bin = np.add.reduceat(energy, starts)
    bins = key[starts]
    rest, j = np.divmod(bins, stride)
    rest, i = np.divmod(rest, stride)
    ev, lay = np.divmod(rest, N_LAYERS)
    if at_centre:
        pos = (np.stack([i, j], 1) + 0.5) * pitch - HALF_BOX - CELL - offset[ev]
    else:
        pos = xy[starts]
    points = np.column_stack([pos, lay, e_bin])
    counts = np.bincount(ev, minlength=len(clouds))
    return PointClouds(
        points,
        np.concatenate([[0], np.cumsum(counts)]),
        clouds.incident_energy,
        clouds.incident_direction,
        clouds.particle,
        {
            **clouds.attrs,
            "sub_cells": sub_cells,
            "frame": "untilted",
            "prepared": json.dumps({"at_centre": at_centre, "seed": seed}),
        },
    )
