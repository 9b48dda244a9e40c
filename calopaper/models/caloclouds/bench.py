"""CaloClouds generators for ``calopaper bench``: CC2 and CC3 of chapter 06 in a profile, and
both at the paper's network sizes.

The chapter shrinks CC2's networks to fit its training budget, so its CC2 is far cheaper than
the paper's and the speed-up of CC3 over it is not the paper's. The paper-sized rows time the
paper's architectures (:data:`ARCHITECTURE` of ``model.VERSIONS``), with untrained weights:
the time of a network does not depend on its weights, but the number of points it is asked
for does, so a paper-sized model takes each shower's points and layer energies from the
chapter's trained model (:class:`PaperSized`).
"""

from __future__ import annotations

import numpy as np
import torch

from calopaper.bench.registry import BenchContext, Generator, Unavailable, architecture
from calopaper.models.caloclouds import chapter
from calopaper.models.caloclouds.data import barrel_directions
from calopaper.models.caloclouds.model import CaloClouds
from calopaper.models.caloclouds.papersized import ARCHITECTURE, PaperSized
from calopaper.models.caloclouds.pipeline import project

__all__ = ["generators", "paper_speed"]

#: Showers per call at most: a call of 1,024 showers takes over ten seconds on one thread and
#: is no faster per shower than one of 128.
MAX_BATCH = 128


def _generate(model: CaloClouds, fixed: bool = False):
    """``generate(n, energy)``: n showers (orthogonal at ``energy``, else the training spectrum,
    CC3 with directions over the barrel face), projected to cells with the MIP cut.

    ``fixed``: the same conditions for every call with the same ``n`` (what :class:`PaperSized`
    needs to reuse its draws), else new ones per call.
    """
    shared = np.random.default_rng(0)

    def generate(n: int, energy: float | None) -> object:
        rng = np.random.default_rng(n) if fixed else shared
        lo, hi = model.config.energy_range
        if energy is None:
            e = rng.uniform(lo, hi, n)
            d = barrel_directions(n, rng) if model.config.angular else None
        else:
            e, d = np.full(n, float(energy)), None
        return project(
            model.generate(e, d, torch.Generator().manual_seed(int(rng.integers(2**31))))
        )

    return generate


def generators(ctx: BenchContext) -> list[Generator]:
    """CC3 and CC2 as the chapter trains them in ``ctx.profile`` (one-step students), and both
    at the paper's network sizes (the rows the speed claim compares)."""
    if ctx.device != "cpu":
        msg = "CaloClouds generation runs on the CPU (numpy calibration and projection)"
        raise Unavailable(msg)
    p = ctx.chapter_parameters(chapter.CHAPTER)
    trained = chapter.models(chapter.configs(p), store=ctx.store, progress=False)
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
                samples=f"{chapter.CHAPTER}/{short}",
                truth_samples=f"{chapter.CHAPTER}/truth",
                max_batch=MAX_BATCH,
                note=f"{short.upper()}, ShowerFlow + 1-step consistency model + projection, "
                f"{ctx.profile} profile",
                architecture=architecture(model.config, ARCHITECTURE),
            )
        )
    for name, short in (("CaloClouds3", "cc3"), ("CaloClouds2", "cc2")):
        big = PaperSized(trained[name][0])
        sizes = ", ".join(f"{k} {getattr(big.config, k)}" for k in ARCHITECTURE)
        rows.append(
            Generator(
                name=f"{short.upper()} (paper sizes)",
                paper="caloclouds3",
                truth="",
                generate=_generate(big, fixed=True),
                energies=(10.0, 50.0, 90.0),
                max_batch=MAX_BATCH,
                one_thread=True,
                note=f"{short.upper()} at the paper's sizes ({sizes}), untrained, with the "
                f"points per layer of the {ctx.profile} profile's trained {short.upper()}",
                architecture=architecture(big.config, ARCHITECTURE),
            )
        )
    return rows


def paper_speed(profile: str, *, train: bool = False, root=None) -> dict:
    """Chapter 6's timing of CC2 and CC3 at the paper's network sizes in ``profile``
    (``chapter.paper_speed`` with chapter 6's trained models, energies and showers per call):
    the same stored timings chapter 6 made, so the speed chapter judges the very number
    chapter 6 shows (``claims.caloclouds3.speed_ratio``). Timed now if chapter 6 has not; empty
    tuples when its models are not in the store (and ``train`` is off).

    Returns:
        The fields of ``claims.speed.Measured`` for CaloClouds: "cc2_ms", "cc3_ms",
        "cc_energies".
    """
    ctx = BenchContext(profile, "cpu", train, root)
    p = ctx.chapter_parameters(chapter.CHAPTER)
    try:
        trained = chapter.models(chapter.configs(p), store=ctx.store, progress=False)
    except Unavailable:
        return {"cc2_ms": (), "cc3_ms": (), "cc_energies": ()}
    t = chapter.paper_speed(trained, list(p.timing_energies), p.n_timing, store=ctx.store)
    return {
        "cc2_ms": tuple(t["CaloClouds2"]),
        "cc3_ms": tuple(t["CaloClouds3"]),
        "cc_energies": tuple(t["energies"]),
    }
