"""Truth showers for the chapters: simulated once by calopaper's simulators, cached in the store.

``Source`` names where a chapter's truth comes from (a simulator preset, or a user's file) and
gives the one key every model built on that truth includes in its own store key: the
simulator, preset, config, size, seed and a digest of the simulator's code, or the SHA-256 of
the file's bytes. Editing the simulator or the file therefore retrains every model on it.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

from calopaper.datasets import read_points, write_points
from calopaper.showers import PointClouds
from calopaper.store import Store, code_digest, default_store

__all__ = ["SIMULATORS", "Source", "file_key", "presets", "simulated"]

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


_NAMES = {"supa": "SUPA", "gflash": "the reference simulator"}


def file_key(path: str | Path) -> dict:
    """Identity of a user's data file: its resolved path and the SHA-256 of its bytes."""
    path = Path(path)
    if not path.is_file():
        msg = f"data file {str(path)!r} does not exist; expected an HDF5 file"
        raise FileNotFoundError(msg)
    return {"path": str(path.resolve()), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


@dataclass(frozen=True)
class Source:
    """Where a chapter's truth showers come from: a simulator preset, or a file when ``path``.

    Attributes:
        simulator: ``"supa"`` or ``"gflash"``.
        preset: a key of the simulator's preset table.
        n: number of simulated showers (ignored with ``path``).
        seed: simulation seed.
        path: a user's HDF5 file to use instead of the simulator.
        overrides: config fields replaced in the preset, e.g. ``{"particle": 211}``.
    """

    simulator: str = "supa"
    preset: str = "gaam"
    n: int = 0
    seed: int = 0
    path: str = ""
    overrides: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.path and not Path(self.path).is_file():
            msg = f"data file {self.path!r} does not exist; expected an HDF5 file"
            raise FileNotFoundError(msg)
        if not self.path:
            table = presets(self.simulator)
            if self.preset not in table:
                msg = f"unknown {self.simulator} preset {self.preset!r}; expected {sorted(table)}"
                raise ValueError(msg)
            if self.n <= 0:
                msg = f"Source needs n > 0 simulated showers or a path, got n={self.n}"
                raise ValueError(msg)

    def __hash__(self) -> int:
        return hash((self.simulator, self.preset, self.n, self.seed, self.path))

    @cached_property
    def key(self) -> dict:
        """JSON-able identity of the showers, including the simulator's code or the file's bytes."""
        if self.path:
            return file_key(self.path)
        module, _, extra = SIMULATORS[self.simulator]
        config = replace(presets(self.simulator)[self.preset], **self.overrides)
        return {
            "simulator": self.simulator,
            "preset": self.preset,
            "config": asdict(config),
            "n": self.n,
            "seed": self.seed,
            "code": code_digest([module, *extra]),
        }

    @property
    def description(self) -> str:
        """Human-readable origin, e.g. "SUPA `gaam`" or "the file /path/x.h5"."""
        if self.path:
            return f"the file {self.path}"
        return f"{_NAMES[self.simulator]} `{self.preset}`"

    def clouds(self, store: Store | None = None, progress: bool = True) -> PointClouds:
        """The showers as point clouds: simulated once and stored, or read from ``path``."""
        if self.path:
            return read_points(self.path)
        return simulated(
            self.simulator,
            self.preset,
            self.n,
            self.seed,
            store=store,
            progress=progress,
            **self.overrides,
        )
