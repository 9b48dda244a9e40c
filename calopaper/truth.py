"""Truth showers for the chapters: simulated once by calopaper's simulators, cached in the store."""

from __future__ import annotations

import importlib
from dataclasses import asdict, replace
from pathlib import Path

from calopaper.datasets import read_points, write_points
from calopaper.showers import PointClouds
from calopaper.store import Store, default_store

__all__ = ["SIMULATORS", "presets", "simulated"]

#: Simulator name -> (module, name of its preset table, further modules its output depends on).
SIMULATORS = {
    "supa": ("calopaper.sim.supa", "PRESETS", ()),
    "gflash": ("calopaper.sim.gflash", "CALORIMETERS", ("calopaper.sim.calorimeters",)),
}


def presets(simulator: str) -> dict:
    """The preset table of a simulator (``"supa"`` or ``"gflash"``)."""
    if simulator not in SIMULATORS:
        msg = f"unknown simulator {simulator!r}; expected one of {sorted(SIMULATORS)}"
        raise ValueError(msg)
    module, table, _ = SIMULATORS[simulator]
    return getattr(importlib.import_module(module), table)


def simulated(
    simulator: str,
    preset: str,
    n: int,
    seed: int = 0,
    *,
    store: Store | None = None,
    progress: bool = True,
    **overrides,
) -> PointClouds:
    """``n`` showers of a simulator preset, from the store or simulated and stored.

    Args:
        simulator: ``"supa"`` or ``"gflash"``.
        preset: a key of the simulator's preset table (e.g. ``"gaam"``).
        n: number of showers.
        seed: simulation seed.
        store: artifact store (default: ``data/``).
        progress: show a progress bar while simulating.
        **overrides: config fields replaced in the preset (e.g. ``particle=22``).

    Returns:
        The showers as ``PointClouds``; the artifact is keyed by the full config, ``n``,
        ``seed`` and the simulator's source code.
    """
    table = presets(simulator)
    if preset not in table:
        msg = f"unknown {simulator} preset {preset!r}; expected one of {sorted(table)}"
        raise ValueError(msg)
    config = replace(table[preset], **overrides)
    name, _, extra = SIMULATORS[simulator]
    module = importlib.import_module(name)
    key = {"simulator": simulator, "preset": preset, "config": asdict(config), "n": n, "seed": seed}

    def build(tmp: Path) -> None:
        write_points(tmp, module.simulate(config, n, seed=seed, progress=progress))

    path = (store or default_store()).get_or_build(simulator, key, build, code=[module, *extra])
    return read_points(path)
