"""Generation speed of the two truth simulators, timed once per machine and code (store)."""

from __future__ import annotations

from functools import partial

from calopaper import timing
from calopaper.sim import gflash, supa

__all__ = ["simulator_timings"]

#: Modules whose source is part of the stored timings' key.
CODE = ("calopaper.sim.supa", "calopaper.sim.gflash", "calopaper.sim.calorimeters", __name__)


def simulator_timings(n_bench: int, seed: int) -> dict[str, dict]:
    """ms per shower (``timing.stored`` median) of every SUPA preset and both GFlash
    calorimeters: SUPA on ``n_bench`` showers per call, GFlash (about 20 times slower) on
    ``max(n_bench // 10, 10)``.

    Returns:
        label (the SUPA preset name, or ``"GFlash ild"`` / ``"GFlash calogan"``) ->
        ``{"ms/shower": median call, "showers/s": 1000 / that, "n": showers per call}``.
    """
    runs = {
        name: (partial(supa.simulate, config, seed=seed), n_bench, {"supa": name})
        for name, config in supa.PRESETS.items()
    }
    for name in ("ild", "calogan"):
        runs[f"GFlash {name}"] = (
            partial(gflash.simulate, name, seed=seed),
            max(n_bench // 10, 10),
            {"gflash": name},
        )
    result = {}
    for label, (run, n, what) in runs.items():
        ms = timing.stored(what | {"seed": seed}, run, n, code=CODE).ms_median
        result[label] = {"ms/shower": ms, "showers/s": 1e3 / ms, "n": n}
    return result
