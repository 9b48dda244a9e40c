"""The fixed corrections of generated showers, measured once after training and stored with
the model (caloclouds3 §3.3 and App. A; ``cog_calibration=False`` with a mean CoG in the
CaloClouds3 code).

Each is measured on the training conditions, never on test showers: the first ``n`` training
showers are projected to cells, and the model generates a shower for each of their incident
energies and directions, projected at the same impact points.

- Centre of gravity (CC3): CC3 leaves each shower's transverse CoG as its points make it, and
  shifts every shower by one constant, the mean offset of its showers' CoG from the truth's,
  both measured about the shower axis.
- Occupancy: the number of points asked of the point model. CC3 multiplies it by one factor,
  the ratio of the truth's mean number of cells to the generated mean. CC2 maps it through two
  cubic fits, ``real`` (the truth's cells against its points) and ``fake`` (the points a model
  needs for a number of cells).
- Cell energy: every point energy times the ratio of the truth's mean cell energy to the
  generated one.

Cells and their energies grow nonlinearly with the factors (neighbouring points share cells,
the MIP cut removes faint cells), so the factors are measured ``LOOKS`` times, each round with
the previous one's applied.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from calopaper.models.caloclouds.calibration import centre_of_gravity
from calopaper.models.caloclouds.cells import impact_points, project
from calopaper.models.caloclouds.data import layer_shift
from calopaper.showers import PointClouds

__all__ = ["SHOWERS", "measure"]

#: Training showers the corrections are measured on.
SHOWERS = 500
#: Rounds of measuring the occupancy and energy factors with the previous round's applied.
LOOKS = 2
#: The config fields of no correction.
NONE = {"cog_shift": (0.0, 0.0), "occupancy_real": (1.0, 0.0), "occupancy_fake": (1.0, 0.0),
        "energy_scale": 1.0}  # fmt: skip


def measure(model, truth: PointClouds, prepared: PointClouds, *, seed: int = 0, n: int = SHOWERS):
    """``model`` with its corrections measured on training showers (a new config; the
    weights are kept).

    Args:
        model: a trained ``CaloClouds`` (CPU, eval mode); corrections it carries are replaced.
        truth: the training showers as simulated (x mm, y mm, layer index, E MeV).
        prepared: the same showers as the point model sees them (``data.prepare``): their
            numbers of points are the flow's targets.
        seed: the generation seed and the impact points.
        n: showers used (the first ``n``).

    Returns:
        The model, ``model.config`` replaced by one carrying ``cog_shift``,
        ``occupancy_real``, ``occupancy_fake`` and ``energy_scale``.
    """
    model.config = replace(model.config, **NONE)
    n = min(n, len(truth))
    truth, prepared = truth.select(np.arange(n)), prepared.select(np.arange(n))
    impact = impact_points(n, seed)
    truth_cells = project(truth, impact)
    truth_points = np.diff(prepared.offsets).astype(np.float64)
    truth_n = np.diff(truth_cells.offsets).astype(np.float64)

    def generate() -> tuple[PointClouds, PointClouds]:
        made = model.generate(
            truth.incident_energy, truth.incident_direction.astype(np.float64),
            torch.Generator().manual_seed(seed),
        )  # fmt: skip
        return made, project(made, impact)

    made, cells = generate()
    config = model.config
    if config.angular:  # CC3: one constant CoG shift
        offset = (_axis_cog(made) - _axis_cog(truth)).mean(0)
        config = replace(config, cog_shift=tuple(offset))
        config = replace(config, occupancy_real=(_ratio(truth_n.mean(), _cells(cells).mean()), 0.0))
    else:  # CC2: points -> truth cells, cells -> points the model needs
        asked = np.diff(made.offsets).astype(np.float64)  # points generated before the MIP cut
        config = replace(
            config,
            occupancy_real=_cubic(truth_points, truth_n),
            occupancy_fake=_cubic(_cells(cells), asked),
        )
    for _ in range(LOOKS):  # cells and their energies respond to the factors nonlinearly
        model.config = config
        made, cells = generate()
        if config.angular:
            factor = _ratio(truth_n.mean(), _cells(cells).mean())
            config = replace(config, occupancy_real=(config.occupancy_real[0] * factor, 0.0))
        scale = _ratio(_mean_cell_energy(truth_cells), _mean_cell_energy(cells))
        config = replace(config, energy_scale=config.energy_scale * scale)
    model.config = config
    return model


def _axis_cog(clouds: PointClouds) -> np.ndarray:
    """(N, 2) transverse centre of gravity about each shower's axis, mm: every point's offset
    from the axis at its layer (``data.layer_shift``). A tilted shower's CoG in the detector
    frame moves with its depth by tens of mm; about the axis it moves by tenths."""
    layer = clouds.points[:, 2].astype(np.int64)
    direction = clouds.incident_direction.astype(np.float64)[clouds.event_index]
    untilted = clouds.points.astype(np.float64).copy()
    untilted[:, :2] -= layer_shift(direction, layer)
    return centre_of_gravity(replace(clouds, points=untilted))[:, :2]


def _cells(cells: PointClouds) -> np.ndarray:
    """(N,) cells above the MIP cut per shower."""
    return np.diff(cells.offsets).astype(np.float64)


def _mean_cell_energy(cells: PointClouds) -> float:
    """Mean energy of a cell above the MIP cut, MeV."""
    return float(cells.points[:, 3].astype(np.float64).mean()) if len(cells.points) else 0.0


def _ratio(truth: float, made: float) -> float:
    """truth / made, or 1 (no correction) when the model made nothing to correct."""
    return float(truth / made) if made > 0 and np.isfinite(truth / made) else 1.0


def _cubic(x: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """Coefficients (highest power first, ``np.polyval``) of the least-squares cubic y(x); the
    identity (no correction) when fewer than four distinct x are finite (an untrained model
    can leave no cell above the MIP cut).

    Example:
        >>> x = np.arange(1.0, 6.0)
        >>> [round(c, 6) + 0.0 for c in _cubic(x, 2 * x**3 + 1)]
        [2.0, 0.0, 0.0, 1.0]
        >>> _cubic(np.zeros(5), np.ones(5))
        (0.0, 0.0, 1.0, 0.0)
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if len(np.unique(x[ok])) < 4:
        return (0.0, 0.0, 1.0, 0.0)
    return tuple(float(c) for c in np.polyfit(x[ok], y[ok], 3))
