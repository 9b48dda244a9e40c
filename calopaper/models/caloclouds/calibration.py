"""ShowerFlow targets and the calibration of generated points (caloclouds3 §3.3, App. A).

``flow_features`` turns prepared showers into ShowerFlow's training vectors, ``flow_layers``
turns flow samples back into points and energy per layer (and, for CC2, the centre of
gravity). ``assign_layers`` and ``calibrate_energy`` are the Final Calibration: each shower's
points, ordered by their generated depth, fill the layers front to back with the flow's counts,
then each layer's energy is rescaled to the flow's.
"""

from __future__ import annotations

import numpy as np

from calopaper.models.caloclouds.data import N_LAYERS
from calopaper.showers import PointClouds

__all__ = [
    "CC3_POINT_SCALE",
    "CC3_ENERGY_SCALE",
    "flow_features",
    "flow_layers",
    "assign_layers",
    "calibrate_energy",
    "centre_of_gravity",
]

#: CC3's fixed rescales: points and visible energy (GeV) per layer times 30 / these.
CC3_POINT_SCALE = 7864.0
CC3_ENERGY_SCALE = 3.4
#: CC2's rescales of the number of points and the visible energy (GeV); minimum E_vis, MeV.
CC2_POINT_SCALE = 5000.0
CC2_ENERGY_SCALE = 2.5
CC2_MIN_VISIBLE = 40.0
#: CC3 resamples a flow draw with more than this many negative layer energies.
MAX_NEGATIVE = 7
#: Points per layer at most (a bound against overflow, far above any shower's; the model's
#: ``max_points`` then caps each shower's total).
MAX_LAYER_POINTS = 10**7


def centre_of_gravity(clouds: PointClouds) -> np.ndarray:
    """(N, 3) energy-weighted mean (x mm, y mm, layer index); 0 for empty showers."""
    event = clouds.event_index
    e = clouds.points[:, 3].astype(np.float64)
    total = np.bincount(event, weights=e, minlength=len(clouds))
    safe = np.where(total > 0, total, 1.0)
    return np.stack(
        [
            np.bincount(event, weights=e * clouds.points[:, k], minlength=len(clouds)) / safe
            for k in range(3)
        ],
        1,
    )


def flow_features(
    clouds: PointClouds, version: str, cog_norm: tuple | None = None, seed: int = 0
) -> np.ndarray:
    """ShowerFlow's training vectors, (N, 60) for CC3 or (N, 65) for CC2.

    CC3 (§3.3): points per layer x 30/7864 (dequantised by U(0, 1) before scaling) and visible
    energy per layer (GeV) x 30/3.4. CC2 (App. A): [n/5000, E_vis/2.5 GeV, CoG x, y, depth
    standardised by ``cog_norm`` = (mean (3,), std (3,)), points per layer / max, energy per
    layer / max].
    """
    energy, counts = clouds.layer_totals(N_LAYERS)
    energy, counts = energy.T, counts.T.astype(np.float64)
    rng = np.random.default_rng([seed, 3])
    counts = counts + rng.uniform(0, 1, counts.shape)
    if version == "cc3":
        return np.hstack(
            [counts * N_LAYERS / CC3_POINT_SCALE, energy / 1e3 * N_LAYERS / CC3_ENERGY_SCALE]
        )
    if version != "cc2":
        msg = f"version {version!r} is invalid; expected 'cc2' or 'cc3'"
        raise ValueError(msg)
    mean, std = (np.asarray(v, dtype=np.float64) for v in cog_norm)
    cog = (centre_of_gravity(clouds) - mean) / std
    totals = np.column_stack(
        [counts.sum(1) / CC2_POINT_SCALE, energy.sum(1) / 1e3 / CC2_ENERGY_SCALE]
    )
    scale = lambda a: a / np.maximum(a.max(1, keepdims=True), 1e-12)  # noqa: E731
    return np.hstack([totals, cog, scale(counts), scale(energy)])


def flow_layers(
    x: np.ndarray, version: str, cog_norm: tuple | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Points (N, 30) int and visible energy (N, 30) MeV per layer from flow samples ``x``.

    Returns also, for CC2, the flow's centre of gravity (N, 3) (x mm, y mm, layer), else None.
    Negative values are clipped to 0 (the Flow Calibration); a non-finite draw (an untrained
    deep flow can overflow) counts as 0, and no layer gets more than ``MAX_LAYER_POINTS``.
    """
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if version == "cc3":
        counts = np.clip(x[:, :N_LAYERS] * CC3_POINT_SCALE / N_LAYERS, 0, MAX_LAYER_POINTS)
        energy = np.clip(x[:, N_LAYERS:] * CC3_ENERGY_SCALE * 1e3 / N_LAYERS, 0, None)
        return np.floor(counts).astype(np.int64), energy, None
    mean, std = (np.asarray(v, dtype=np.float64) for v in cog_norm)
    n = np.clip(x[:, 0] * CC2_POINT_SCALE, 0, None)
    e_vis = np.maximum(x[:, 1] * CC2_ENERGY_SCALE * 1e3, CC2_MIN_VISIBLE)
    cog = x[:, 2:5] * std + mean
    frac_n = np.clip(x[:, 5 : 5 + N_LAYERS], 0, None)
    frac_e = np.clip(x[:, 5 + N_LAYERS :], 0, None)
    counts = np.minimum(
        frac_n / np.maximum(frac_n.sum(1, keepdims=True), 1e-12) * n[:, None], MAX_LAYER_POINTS
    )
    energy = frac_e / np.maximum(frac_e.sum(1, keepdims=True), 1e-12) * e_vis[:, None]
    return np.round(counts).astype(np.int64), energy, cog


def assign_layers(depth: np.ndarray, shower: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Layer index of each point: per shower, by generated depth, front layers first.

    Args:
        depth: (P,) generated depth coordinate of each point.
        shower: (P,) shower of each point, sorted, with exactly ``counts[s].sum()`` points each.
        counts: (S, 30) points per layer.

    Returns:
        (P,) layer indices in the order of the input points.

    Example:
        >>> assign_layers(np.array([3., 1., 2.]), np.zeros(3, int), np.array([[2, 1]]))
        array([1, 0, 0])
    """
    order = np.lexsort((depth, shower))
    labels = np.repeat(np.tile(np.arange(counts.shape[1]), len(counts)), counts.ravel())
    layer = np.empty_like(labels)
    layer[order] = labels
    return layer


def calibrate_energy(
    energy: np.ndarray, shower: np.ndarray, layer: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Rescale point energies so each shower's layer sums equal ``target`` (S, 30) MeV.

    Example:
        >>> calibrate_energy(np.array([1., 3.]), np.zeros(2, int), np.zeros(2, int),
        ...                  np.array([[8.]])).tolist()
        [2.0, 6.0]
    """
    cell = shower * target.shape[1] + layer
    total = np.bincount(cell, weights=energy, minlength=target.size)
    scale = np.divide(target.ravel(), total, out=np.zeros(target.size), where=total > 0)
    return energy * scale[cell]
