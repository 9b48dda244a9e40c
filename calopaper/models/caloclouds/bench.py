"""CaloClouds generators for ``calopaper bench``: CC2 and CC3 of chapter 06 in a profile."""

from __future__ import annotations

import numpy as np

from calopaper.bench import BenchContext, Generator, Unavailable
from calopaper.models.caloclouds import study
from calopaper.models.caloclouds.data import barrel_directions
from calopaper.models.caloclouds.model import CaloClouds
from calopaper.models.caloclouds.pipeline import project

__all__ = ["generators"]


def _generate(model: CaloClouds):
    """``generate(n, energy)``: n showers (orthogonal at ``energy``, else the training spectrum,
    CC3 with directions over the barrel face), projected to cells with the MIP cut."""
    rng = np.random.default_rng(0)

    def generate(n: int, energy: float | None) -> object:
        lo, hi = model.config.energy_range
        if energy is None:
            e = rng.uniform(lo, hi, n)
            d = barrel_directions(n, rng) if model.config.angular else None
        else:
            e, d = np.full(n, float(energy)), None
        return project(model.generate(e, d, seed=int(rng.integers(2**31))))

    return generate


def generators(ctx: BenchContext) -> list[Generator]:
    """CC3 and CC2 as the chapter trains them in ``ctx.profile`` (one-step students)."""
    if ctx.device != "cpu":
        msg = "CaloClouds generation runs on the CPU (numpy calibration and projection)"
        raise Unavailable(msg)
    p = ctx.chapter_parameters("06_caloclouds3")
    trained = study.models(study.setup(p), store=ctx.store, progress=False)
    rows = []
    for name, short in (("CaloClouds3", "cc3"), ("CaloClouds2", "cc2")):
        model, history, _ = trained[name]
        rows.append(
            Generator(
                name=short.upper(),
                paper="caloclouds3",
                truth="ild",
                generate=_generate(model),
                energies=(10.0, 50.0, 90.0),
                training_seconds=sum(part["seconds"] for part in history.values()),
                samples=f"06_caloclouds3/{short}",
                truth_samples="06_caloclouds3/truth",
                note=f"{short.upper()}, ShowerFlow + 1-step consistency model + projection, "
                f"{ctx.profile} profile",
            )
        )
    return rows
