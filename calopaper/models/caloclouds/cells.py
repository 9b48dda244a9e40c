"""Showers to ILD cells as read out, at an impact point within a cell."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from calopaper.models.caloclouds.data import CELL
from calopaper.showers import PointClouds
from calopaper.sim import gflash

__all__ = ["impact_points", "project"]


def impact_points(n: int, seed: int) -> np.ndarray:
    """(n, 2) impact points of ``n`` showers, mm, uniform within the cell whose corner is the
    grid's centre: [0, CELL)^2.

    The simulated and generated showers all enter at (0, 0), a corner of four cells (the ILD
    layers have an even number of cells); projected there, the hottest cell holds only a sixth
    of a narrow shower and its centre of gravity snaps to the cell edges. A position drawn
    uniformly within a cell, the same for the truth and a model conditioned on it, removes the
    artefact (the paper does not state its impact position).
    """
    return np.random.default_rng([seed, 6]).uniform(0.0, CELL, (n, 2))


def project(clouds: PointClouds, impact: np.ndarray | None = None) -> PointClouds:
    """Points -> ILD 5.088 mm cells with the MIP cut (0.1 MeV, half a MIP), as read out.

    Args:
        clouds: showers whose axes enter at (0, 0) (x mm, y mm, layer index, E MeV).
        impact: (N, 2) mm where each shower enters instead (``impact_points``); the cells are
            returned in the shower's frame, their centres minus the impact point, so that the
            axis is at (0, 0) again for every observable. None: at (0, 0).
    """
    if impact is None:
        return gflash.cell_hits(clouds, "ild")
    shift = np.asarray(impact, dtype=np.float64)[clouds.event_index]
    moved = clouds.points.astype(np.float64).copy()
    moved[:, :2] += shift
    cells = gflash.cell_hits(replace(clouds, points=moved), "ild")
    back = cells.points.astype(np.float64).copy()
    back[:, :2] -= np.asarray(impact, dtype=np.float64)[cells.event_index]
    return replace(cells, points=back)
