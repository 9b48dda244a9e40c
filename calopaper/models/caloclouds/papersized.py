"""CaloClouds at the paper's network sizes, for timing: the time of a network does not depend on
its weights, but the number of points it is asked for does, so a paper-sized model (untrained)
takes each shower's points and layer energies from a trained model of the same version.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from calopaper.models.caloclouds.model import VERSIONS, CaloClouds

__all__ = ["ARCHITECTURE", "PaperSized"]

#: The configuration fields that size the networks (the rest is the trained model's data).
ARCHITECTURE = ("flow_affine", "flow_spline", "flow_hidden", "hidden")


class PaperSized(CaloClouds):
    """A CaloClouds of the paper's network sizes (untrained) that generates as many points per
    layer as a trained model of the same version.

    Each call draws its own (paper-sized) ShowerFlow sample, for the time, and uses the trained
    model's draw of points and energies per layer for the same conditions, drawn on the first
    call with those conditions and kept. The first call thus also pays for the trained model's
    flow, a few per cent of a paper-sized call; the bench drops a warm-up call and reports
    medians.
    """

    def __init__(self, trained: CaloClouds):
        sizes = {k: VERSIONS[trained.config.version][k] for k in ARCHITECTURE}
        torch.manual_seed(0)
        super().__init__(replace(trained.config, **sizes))
        self.eval()
        self._trained = [trained]  # a list: not a sub-module, its weights are not ours
        self._draws: dict[bytes, tuple] = {}

    def sample_layers(
        self, energy: np.ndarray, direction: np.ndarray, generator: torch.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The trained model's points and energies per layer (see the class docstring)."""
        self.flow.sample(self.flow_conditioning(energy, direction))  # the paper-sized flow's cost
        key = np.asarray(energy).tobytes() + np.asarray(direction).tobytes()
        if key not in self._draws:
            self._draws[key] = self._trained[0].sample_layers(energy, direction, generator)
        return tuple(None if a is None else a.copy() for a in self._draws[key])
