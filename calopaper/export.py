"""Simulated data sets for users (``calopaper simulate``): particle, energy, resolution, layout.

A :class:`Request` names a simulator preset and what to change in it (particle, incident
energy), checks that the combination makes sense, simulates, and writes one of three layouts:

- ``points``: calopaper's point clouds (``datasets.write_points``), no binning;
- ``calogan``: the CaloGAN layout at 1x (``layer_0`` (N, 3, 96), ``layer_1`` (N, 12, 12),
  ``layer_2`` (N, 12, 6) MeV, ``energy`` (N, 1) GeV and the ``overflow`` (N, 3) MeV outside
  each layer's grid), what the SUPA reference code's ``-grids`` option writes;
- ``calochallenge``: ``incident_energies`` (N, 1) and ``showers`` (N, n_voxels), both MeV, at
  1x, 2x or 3x; the layers' grids are stored as the file attribute ``segmentations`` (energy
  outside the grids is not kept: the layout has no overflow).

Cells come from ``grids.layer_grids`` and ``grids.bin_layers``, the code path of the SUPA
chapter's resolution study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from calopaper.datasets import CALOGAN_SHAPES, write_calochallenge, write_calogan, write_points
from calopaper.grids import RESOLUTIONS, bin_layers, layer_grids, parse_resolution
from calopaper.showers import PointClouds
from calopaper.truth import presets

__all__ = ["FORMATS", "PARTICLES", "Request", "parse_energy"]

#: The layouts ``Request.write`` knows.
FORMATS = ("points", "calogan", "calochallenge")
#: The particles each simulator can shower.
PARTICLES = {"supa": ("e+", "e-", "gamma", "pi+"), "gflash": ("e+", "e-", "gamma")}


def parse_energy(text: str) -> tuple[float, float]:
    """An incident energy "50" (fixed) or range "1:100", GeV, as (low, high).

    Example:
        >>> parse_energy("65"), parse_energy("1:100")
        ((65.0, 65.0), (1.0, 100.0))
    """
    parts = str(text).split(":")
    try:
        values = tuple(float(x) for x in parts)
    except ValueError:
        values = ()
    if len(parts) not in (1, 2) or len(values) != len(parts):
        msg = f"energy {text!r} is not a number or a range; expected e.g. 65 or 1:100 (GeV)"
        raise ValueError(msg)
    low, high = values[0], values[-1]
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
        msg = f"energy {text!r}: expected 0 < low <= high, finite, in GeV (e.g. 1:100)"
        raise ValueError(msg)
    return low, high


@dataclass(frozen=True)
class Request:
    """What to simulate and how to write it.

    Attributes:
        simulator: "supa" or "gflash".
        preset: a preset of that simulator (``truth.presets``).
        particle: "e+", "e-", "gamma" or (SUPA only) "pi+"; None keeps the preset's.
        energy: (low, high) incident energy, GeV (equal for a fixed energy); None keeps the
            preset's.
        grid: "1x", "2x" or "3x"; None means 1x for the binned layouts and nothing for points.
        layout: one of :data:`FORMATS`.
    """

    simulator: str
    preset: str
    particle: str | None = None
    energy: tuple[float, float] | None = None
    grid: str | None = None
    layout: str = "points"

    def __post_init__(self) -> None:
        table = presets(self.simulator)
        if self.preset not in table:
            msg = (
                f"unknown {self.simulator} preset {self.preset!r}; expected one of {sorted(table)}"
            )
            raise ValueError(msg)
        if self.particle is not None and self.particle not in PARTICLES[self.simulator]:
            msg = (
                f"particle {self.particle!r} cannot be simulated by {self.simulator}; expected one "
                f"of {PARTICLES[self.simulator]}"
            )
            raise ValueError(msg)
        if self.layout not in FORMATS:
            msg = f"unknown format {self.layout!r}; expected one of {FORMATS}"
            raise ValueError(msg)
        if self.layout == "points" and self.grid is not None:
            msg = (
                f"--grid {self.grid} makes no sense with --format points (point clouds are not "
                "binned); use --format calogan or calochallenge"
            )
            raise ValueError(msg)
        if self.grid is not None and self.grid not in RESOLUTIONS:
            msg = f"unknown grid {self.grid!r}; expected one of {list(RESOLUTIONS)}"
            raise ValueError(msg)
        if self.layout == "calogan":
            self._check_calogan()

    def _check_calogan(self) -> None:
        if self.scale != 1:
            msg = (
                f"--format calogan has the CaloGAN cell counts (1x), not {self.grid}; use "
                "--format calochallenge for 2x and 3x"
            )
            raise ValueError(msg)
        shapes = {f"layer_{k}": g.shape for k, g in self.grids.items()}
        if shapes != CALOGAN_SHAPES:
            msg = (
                f"{self.simulator} preset {self.preset!r} has layers {shapes}, not the CaloGAN "
                f"layers {CALOGAN_SHAPES}; use --format calochallenge or points"
            )
            raise ValueError(msg)

    @property
    def scale(self) -> int:
        """The resolution as an int (1 when ``grid`` is None)."""
        return 1 if self.grid is None else parse_resolution(self.grid)

    @property
    def grids(self) -> dict:
        """Layer index -> ``Segmentation`` of the binned layouts at ``scale``."""
        return layer_grids(self.simulator, self.preset, self.scale)

    @property
    def description(self) -> str:
        """e.g. "gamma, 10-90 GeV, calochallenge at 2x"."""
        parts = [self.particle or "preset particle"]
        if self.energy:
            low, high = self.energy
            parts.append(f"{low:g} GeV" if low == high else f"{low:g}-{high:g} GeV")
        binning = "" if self.layout == "points" else f" at {self.scale}x"
        return ", ".join([*parts, self.layout + binning])

    def simulate(self, n: int, seed: int = 0, progress: bool = True) -> PointClouds:
        """``n`` showers of the preset with this request's particle and energy."""
        energy = None if self.energy is None else tuple(self.energy)
        if self.simulator == "supa":
            from calopaper.sim import supa

            config = supa.PRESETS[self.preset]
            if energy is not None:
                config = replace(config, energy_min=energy[0], energy_max=energy[1])
            if self.particle is not None:
                config = replace(config, particle=self.particle)
            return supa.simulate(config, n, seed=seed, progress=progress)
        from calopaper.sim import gflash

        energy_arg = energy[0] if energy and energy[0] == energy[1] else energy
        return gflash.simulate(
            self.preset, n, seed=seed, particle=self.particle, energy=energy_arg, progress=progress
        )

    def write(self, path: str | Path, clouds: PointClouds) -> None:
        """Write ``clouds`` (from :meth:`simulate`) to ``path`` in this request's layout."""
        if self.layout == "points":
            write_points(path, clouds)
            return
        grids = self.grids
        images, overflow = bin_layers(clouds, grids)
        if self.layout == "calogan":
            layers = {f"layer_{k}": images[k] for k in sorted(images)}
            write_calogan(path, layers, clouds.incident_energy, overflow)
            return
        flat = np.concatenate([images[k].reshape(len(clouds), -1) for k in sorted(images)], 1)
        attrs = {
            **{k: v for k, v in clouds.attrs.items() if isinstance(v, str | int | float | bool)},
            "segmentations": [grids[k].to_json() for k in sorted(grids)],
        }
        write_calochallenge(path, clouds.incident_energy, flat, attrs)
