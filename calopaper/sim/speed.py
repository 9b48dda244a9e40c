"""Generation speed of the two truth simulators, timed once per machine and code (store)."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

import numpy as np

from calopaper.provenance import cpu_name
from calopaper.sim import gflash, supa
from calopaper.store import Store, default_store
from calopaper.timing import time_per_shower

__all__ = ["machine", "simulator_timings"]

#: Modules whose source is part of the stored timings' key.
CODE = ("calopaper.sim.supa", "calopaper.sim.gflash", "calopaper.sim.calorimeters", __name__)


def machine() -> dict:
    """What a CPU timing depends on besides the code: CPU model, cores, numpy version."""
    cpu = cpu_name()
    return {"cpu": cpu, "cores": os.cpu_count(), "numpy": np.__version__}


def simulator_timings(n_bench: int, seed: int, store: Store | None = None) -> dict[str, dict]:
    """ms per shower of every SUPA preset and both GFlash calorimeters, stored per machine.

    Every SUPA preset is timed on ``n_bench`` showers, best of three calls; GFlash, about 20
    times slower, on ``max(n_bench // 10, 10)`` showers, best of two. Timing is the slowest
    part of a rebuild of the SUPA chapter, so the result is stored, keyed by the sizes, the
    seed, :func:`machine` and the simulators' code: a rebuild on the same machine reads it
    back, a changed simulator or another machine times again.

    Returns:
        label (the SUPA preset name, or ``"GFlash ild"`` / ``"GFlash calogan"``) ->
        ``{"ms/shower": best call, "showers/s": 1000 / that, "n": showers per call}``.
    """
    store = store or default_store()
    key = {"n_bench": n_bench, "seed": seed, "machine": machine()}

    def build(tmp: Path) -> None:
        runs = {
            name: (partial(supa.simulate, config, seed=seed), n_bench, 3)
            for name, config in supa.PRESETS.items()
        }
        n_gflash = max(n_bench // 10, 10)
        for name in ("ild", "calogan"):
            runs[f"GFlash {name}"] = (partial(gflash.simulate, name, seed=seed), n_gflash, 2)
        result = {}
        for label, (run, n, repeats) in runs.items():
            ms = time_per_shower(run, n, repeats=repeats).ms_per_shower
            result[label] = {"ms/shower": ms, "showers/s": 1e3 / ms, "n": n}
        tmp.write_text(json.dumps(result))

    path = store.get_or_build("timings/simulators", key, build, suffix=".timing.json", code=CODE)
    return json.loads(path.read_text())
