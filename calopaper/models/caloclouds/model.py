"""CaloClouds2 and CaloClouds3 as one module: ShowerFlow, an EDM point model, its one-step student.

The two versions differ by configuration only (caloclouds3 §3.3 and App. A): the flow's
outputs and couplings, the point network's width, its conditioning (CC3: E and direction;
CC2: E and the number of points), log or linear point energies and whether the centre of
gravity is calibrated. ``generate`` runs the whole chain: ShowerFlow -> points per layer and
energy per layer -> one-step (or Heun) point generation -> layer assignment by depth ->
per-layer energy calibration -> (CC2) CoG shift -> re-tilt along the incident direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from calopaper.models.caloclouds.calibration import (
    MAX_NEGATIVE,
    assign_layers,
    calibrate_energy,
    flow_layers,
)
from calopaper.models.caloclouds.data import N_LAYERS, layer_shift, validate_conditions
from calopaper.models.caloclouds.diffusion import (
    ConsistencyDistiller,
    Denoiser,
    edm_loss,
    heun_sample,
    karras_sigmas,
    one_step_sample,
)
from calopaper.models.caloclouds.pointnet import PointwiseNet
from calopaper.models.caloclouds.showerflow import FlowConfig, ShowerFlow
from calopaper.showers import PARTICLES, PointClouds

__all__ = ["VERSIONS", "CaloCloudsConfig", "CaloClouds", "EDMObjective", "Distillation", "version"]

#: Paper sizes per version: flow couplings (affine, spline) and hidden width, point network h,
#: sub-cell bins, energy normalisation of the conditioning (GeV), trained energy range (GeV).
VERSIONS = {
    "cc3": {
        "flow_affine": 12, "flow_spline": 2, "flow_hidden": 128, "hidden": 32,
        "sub_cells": 5, "energy_norm": 127.0, "energy_range": (1.0, 127.0),
    },
    "cc2": {
        "flow_affine": 60, "flow_spline": 10, "flow_hidden": 650, "hidden": 128,
        "sub_cells": 6, "energy_norm": 100.0, "energy_range": (10.0, 90.0),
    },
}  # fmt: skip
#: CC2's conditioning scale of the number of points.
CC2_POINTS_NORM = 6000.0
#: Points per forward pass at generation.
CHUNK = 32768


@dataclass(frozen=True)
class CaloCloudsConfig:
    """One CaloClouds model (``version`` "cc3" or "cc2"); see :func:`version` for paper sizes.

    Attributes:
        version: "cc3" (angular, log point energies, no CoG calibration) or "cc2".
        flow_affine, flow_spline, flow_hidden: ShowerFlow couplings and width.
        hidden: h of the PointwiseNet (h-2h-4h-2h-h).
        sub_cells: sub-cell bins per cell and axis of the training points.
        energy_norm: incident energy is divided by this for the conditioning, GeV.
        energy_range: (lo, hi) trained incident energies, GeV; others are refused.
        point_mean, point_std: per-feature normalisation of (x mm, y mm, depth, energy
            (ln MeV for CC3, MeV for CC2)); a point enters as (f - mean) / (2 std).
        cog_mean, cog_std: CC2's CoG standardisation (x mm, y mm, layer).
        max_points: cap on generated points per shower.
        cog_shift: (x, y) mm subtracted from every generated point (CC3's mean-CoG
            correction); occupancy_real, occupancy_fake: the points asked of the point model
            are ``polyval(fake, polyval(real, n))`` for the flow's n (coefficients highest
            power first; CC3: one factor, ``(f, 0)``); energy_scale: factor on every point
            energy. Measured after training (``corrections.measure``); the defaults do nothing.
    """

    version: str = "cc3"
    flow_affine: int = 12
    flow_spline: int = 2
    flow_hidden: int = 128
    hidden: int = 32
    sub_cells: int = 5
    energy_norm: float = 127.0
    energy_range: tuple[float, float] = (1.0, 127.0)
    point_mean: tuple[float, ...] = (0.0, 0.0, 14.5, 0.0)
    point_std: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    cog_mean: tuple[float, ...] = (0.0, 0.0, 10.0)
    cog_std: tuple[float, ...] = (1.0, 1.0, 1.0)
    max_points: int = 30000
    cog_shift: tuple[float, ...] = (0.0, 0.0)
    occupancy_real: tuple[float, ...] = (1.0, 0.0)
    occupancy_fake: tuple[float, ...] = (1.0, 0.0)
    energy_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            msg = f"version {self.version!r} is invalid; expected one of {sorted(VERSIONS)}"
            raise ValueError(msg)
        for name in ("energy_range", "point_mean", "point_std", "cog_mean", "cog_std",
                     "cog_shift", "occupancy_real", "occupancy_fake"):  # fmt: skip
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))

    @property
    def angular(self) -> bool:
        return self.version == "cc3"

    @property
    def flow(self) -> FlowConfig:
        features, context = (2 * N_LAYERS, 4) if self.angular else (2 * N_LAYERS + 5, 1)
        return FlowConfig(features, context, self.flow_affine, self.flow_spline, self.flow_hidden)


def version(name: str, **fields) -> CaloCloudsConfig:
    """The paper's configuration of ``name`` ("cc3" or "cc2"), with ``fields`` replaced."""
    if name not in VERSIONS:
        msg = f"version {name!r} is invalid; expected one of {sorted(VERSIONS)}"
        raise ValueError(msg)
    return CaloCloudsConfig(version=name, **{**VERSIONS[name], **fields})


class CaloClouds(nn.Module):
    """ShowerFlow + EDM teacher + distilled one-step student for one CaloClouds version."""

    Config = CaloCloudsConfig

    def __init__(self, config: CaloCloudsConfig):
        super().__init__()
        self.config = config
        cond = 4 if config.angular else 2
        self.flow = ShowerFlow(config.flow)
        self.teacher = Denoiser(PointwiseNet(4, cond, config.hidden))
        self.student = Denoiser(PointwiseNet(4, cond, config.hidden), boundary=True)

    # conditioning -----------------------------------------------------------------------
    def flow_conditioning(self, energy: np.ndarray, direction: np.ndarray) -> torch.Tensor:
        """(N, 4) [E/E_norm, p] for CC3, (N, 1) [E/E_norm] for CC2."""
        e = np.asarray(energy, dtype=np.float64)[:, None] / self.config.energy_norm
        c = np.hstack([e, direction]) if self.config.angular else e
        return torch.as_tensor(c, dtype=torch.float32)

    def point_conditioning(
        self, energy: np.ndarray, direction: np.ndarray, n_points: np.ndarray
    ) -> torch.Tensor:
        """(N, 4) [E/127, p] for CC3; (N, 2) [2 E/100 - 1, 2 n/6000 - 1] for CC2."""
        if self.config.angular:
            return self.flow_conditioning(energy, direction)
        e = np.asarray(energy, dtype=np.float64) / self.config.energy_norm
        n = np.asarray(n_points, dtype=np.float64) / CC2_POINTS_NORM
        return torch.as_tensor(np.stack([2 * e - 1, 2 * n - 1], 1), dtype=torch.float32)

    # points ------------------------------------------------------------------------------
    def normalise(self, points: np.ndarray) -> np.ndarray:
        """(P, 4) (x, y, depth, E MeV) -> the network's features."""
        f = np.asarray(points, dtype=np.float64).copy()
        if self.config.angular:
            f[:, 3] = np.log(np.maximum(f[:, 3], 1e-12))
        mean, std = np.asarray(self.config.point_mean), np.asarray(self.config.point_std)
        return (f - mean) / (2 * std)

    def denormalise(self, f: np.ndarray) -> np.ndarray:
        mean, std = np.asarray(self.config.point_mean), np.asarray(self.config.point_std)
        points = np.asarray(f, dtype=np.float64) * 2 * std + mean
        points[:, 3] = np.exp(points[:, 3]) if self.config.angular else np.maximum(points[:, 3], 0)
        return points

    # generation --------------------------------------------------------------------------
    @torch.no_grad()
    def sample_layers(
        self, energy: np.ndarray, direction: np.ndarray, generator: torch.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Flow draws -> points (N, 30), energy (N, 30) MeV, CoG (N, 3) or None.

        Draws with more than 7 negative layer energies are redrawn (up to 5 times).
        """
        c = self.flow_conditioning(energy, direction)
        x = self.flow.sample(c, generator)
        for _ in range(5):
            bad = (x[:, -N_LAYERS:] < 0).sum(1) > MAX_NEGATIVE
            if not bad.any():
                break
            x[bad] = self.flow.sample(c[bad], generator)
        cog = (self.config.cog_mean, self.config.cog_std)
        return flow_layers(x.numpy(), self.config.version, cog)

    @torch.no_grad()
    def generate(
        self,
        energy: np.ndarray,
        direction: np.ndarray | None = None,
        generator: torch.Generator | None = None,
        steps: int = 0,
    ) -> PointClouds:
        """Generate showers in the detector frame.

        Args:
            energy: (N,) incident energies, GeV, inside ``config.energy_range``.
            direction: (N, 3) unit directions (z into the calorimeter); default orthogonal.
                CC2 ignores it except for the final re-tilt.
            generator: source of every random draw (torch's global one when None).
            steps: 0 for the distilled one-step student, else the teacher with the Heun
                sampler on that many Karras noise levels.

        Returns:
            ``PointClouds`` (x mm, y mm, layer index, E MeV).

        Raises:
            ValueError: energies outside the trained range, directions that are not unit
                vectors into the calorimeter.
        """
        energy = np.atleast_1d(np.asarray(energy, dtype=np.float64))
        if direction is None:
            direction = np.tile([0.0, 0.0, 1.0], (len(energy), 1))
        energy, direction = validate_conditions(energy, direction, self.config.energy_range)
        counts, layer_energy, cog = self.sample_layers(energy, direction, generator)
        counts = self.corrected_counts(counts)
        total = counts.sum(1)
        over = total > self.config.max_points
        if over.any():  # keep the layer shares, cap the total
            counts[over] = np.floor(
                counts[over] * self.config.max_points / total[over, None]
            ).astype(np.int64)
            total = counts.sum(1)
        shower = np.repeat(np.arange(len(energy)), total)
        cond = self.point_conditioning(energy, direction, total)
        noise = torch.randn(int(total.sum()), 4, generator=generator)
        index = torch.as_tensor(shower)
        parts = [noise[:0]]
        for lo in range(0, len(noise), CHUNK):  # bounded memory
            x, i = noise[lo : lo + CHUNK], index[lo : lo + CHUNK]
            if steps:
                denoise = lambda x, s, i=i: self.teacher(x, s, cond, i)  # noqa: E731
                parts.append(heun_sample(denoise, x, karras_sigmas(steps)))
            else:
                parts.append(one_step_sample(self.student, x, cond, i))
        points = self.denormalise(torch.cat(parts).numpy())
        layer = assign_layers(points[:, 2], shower, counts)
        e = calibrate_energy(points[:, 3], shower, layer, layer_energy) * self.config.energy_scale
        xy = points[:, :2] - np.asarray(self.config.cog_shift)
        if cog is not None:  # CC2: shift each shower to the flow's centre of gravity
            weight = np.bincount(shower, weights=e, minlength=len(energy))
            safe = np.where(weight > 0, weight, 1.0)
            for k in range(2):
                mean = np.bincount(shower, weights=e * xy[:, k], minlength=len(energy)) / safe
                xy[:, k] += (cog[:, k] - mean)[shower]
        xy = xy + layer_shift(direction[shower], layer)
        keep = e > 0
        order = np.lexsort((layer[keep], shower[keep]))
        out = np.column_stack([xy[keep], layer[keep], e[keep]])[order]
        n = np.bincount(shower[keep], minlength=len(energy))
        return PointClouds(
            out,
            np.concatenate([[0], np.cumsum(n)]),
            energy,
            direction,
            np.full(len(energy), PARTICLES["gamma"]),
            {
                "generator": f"calopaper.models.caloclouds ({self.config.version})",
                "points_column_2": "layer index",
                "steps": int(steps),
            },
        )

    def corrected_counts(self, counts: np.ndarray) -> np.ndarray:
        """Points per layer (N, 30) asked of the point model for the flow's ``counts``: each
        shower's total mapped through the occupancy polynomials, its layer shares kept."""
        n = counts.sum(1).astype(np.float64)
        real, fake = self.config.occupancy_real, self.config.occupancy_fake
        want = np.clip(np.polyval(fake, np.polyval(real, n)), 0.0, None)
        factor = np.divide(want, n, out=np.zeros_like(n), where=n > 0)
        return np.floor(counts * factor[:, None] + 1e-9).astype(np.int64)

    def sample(
        self, n: int, cond: np.ndarray, generator: torch.Generator | None = None
    ) -> PointClouds:
        """``n`` showers for ``cond`` = energies (n,) GeV or (n, 4) [E, p_x, p_y, p_z]."""
        cond = np.asarray(cond, dtype=np.float64).reshape(n, -1)
        direction = cond[:, 1:4] if cond.shape[1] == 4 else None
        return self.generate(cond[:, 0], direction, generator)


class EDMObjective(nn.Module):
    """The training objective of the EDM teacher: ``loss((points, cond))`` = :func:`edm_loss`."""

    def __init__(self, denoiser: Denoiser):
        super().__init__()
        self.denoiser = denoiser

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return edm_loss(self.denoiser, *batch)


class Distillation(ConsistencyDistiller):
    """Consistency distillation in the book's fit loop: the target moves before every step.

    ``training.fit`` tells a model the fraction of training done before every optimiser step
    (``set_progress``); after the first step this is where the EMA target follows the student.
    """

    def set_progress(self, fraction: float) -> None:
        if fraction > 0:
            self.update_target()
