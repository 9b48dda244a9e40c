"""Chapter 6 (``06_caloclouds3``): its truth sets and model settings from the resolved parameters
(``configs``), and its studies as library calls: models, evaluated samples, timing, di-photons.

Everything expensive goes through the store (simulation, training, generation, timing), so
the chapter re-executes in seconds once built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from calopaper import fidelity, parallel, timing
from calopaper.models.caloclouds.data import CELL, N_LAYERS, BarrelSource
from calopaper.models.caloclouds.model import CHUNK, CaloClouds, version
from calopaper.models.caloclouds.pipeline import (
    CODE,
    TrainConfig,
    generated,
    project,
    trained,
)
from calopaper.showers import PointClouds
from calopaper.sim import gflash
from calopaper.store import Store
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "Setup",
    "configs",
    "models",
    "orthogonal_samples",
    "fixed_energy_samples",
    "core_ms",
    "generator",
    "paper_sized",
    "diphoton",
    "speed",
    "FIDELITY_MODELS",
    "fidelity_rows",
]

CHAPTER = "06_caloclouds3"
#: caloclouds3 Fig. 13: energies of the di-photon pairs, GeV; separations drawn up to this, mm.
DIPHOTON_ENERGIES = (5.0, 20.0, 100.0)
DIPHOTON_MAX_MM = 30.0
#: The chapter's models on the common fidelity scale: sample name -> the bench's generator name.
FIDELITY_MODELS = {"CaloClouds3": "CC3", "CaloClouds2": "CC2"}


@dataclass(frozen=True)
class Setup:
    """The chapter's truth sources and training settings (from the resolved parameters)."""

    cc3_train: BarrelSource
    cc2_train: Source
    test_a: Source
    test_b: Source
    fixed: dict[float, BarrelSource]
    train: TrainConfig
    cc3_sizes: dict
    cc2_sizes: dict


def configs(p: SimpleNamespace) -> Setup:
    """Sources and settings from a chapter's resolved parameters ``p``."""
    train = TrainConfig(
        flow_epochs=p.flow_epochs,
        flow_batch=p.flow_batch,
        flow_lr=p.flow_lr,
        points=p.points,
        point_epochs=p.point_epochs,
        distill_epochs=p.distill_epochs,
        distill_steps=p.distill_steps,
        point_batch=p.point_batch,
        point_lr=p.point_lr,
        seed=p.seed,
    )
    ild = {"simulator": "gflash", "preset": "ild"}
    return Setup(
        cc3_train=BarrelSource(n=p.n_train, seed=p.seed, overrides={"energy": (1.0, 127.0)}),
        cc2_train=Source(**ild, n=p.n_train, seed=p.seed),
        test_a=Source(**ild, n=p.n_test, seed=p.seed + 1000),
        test_b=Source(**ild, n=p.n_test, seed=p.seed + 2000),
        fixed={
            e: BarrelSource(n=p.n_fixed, seed=p.seed + 3000 + int(e), overrides={"energy": (e, e)})
            for e in map(float, p.fixed_energies)
        },
        train=train,
        cc3_sizes={"flow_hidden": p.cc3_flow_hidden, "hidden": p.cc3_hidden},
        cc2_sizes={
            "flow_affine": p.cc2_flow_affine,
            "flow_spline": p.cc2_flow_spline,
            "flow_hidden": p.cc2_flow_hidden,
            "hidden": p.cc2_hidden,
        },
    )


def models(s: Setup, *, device: str = "cpu", store: Store | None = None, progress: bool = True):
    """Trained CC3 and CC2 with their loss histories and store identities.

    Returns:
        {"CaloClouds3": (model, history, key), "CaloClouds2": (...)}.
    """
    versions = {
        "CaloClouds3": ("cc3", s.cc3_train, s.cc3_sizes),
        "CaloClouds2": ("cc2", s.cc2_train, s.cc2_sizes),
    }
    options = {"device": device, "store": store, "progress": progress}
    fits = parallel.run(
        {
            name: partial(trained, version_name, s.train, source, sizes=sizes, **options)
            for name, (version_name, source, sizes) in versions.items()
        },
        progress=progress,
    )
    out = {}
    for name, (version_name, source, sizes) in versions.items():
        key = {"version": version_name, "sizes": sizes, "train": asdict(s.train),
               "data": source.key}  # fmt: skip
        out[name] = (*fits[name], key)
    return out


def orthogonal_samples(
    s: Setup, trained_models: dict, *, store: Store | None = None
) -> dict[str, PointClouds]:
    """Truth (two independent halves) and each model at orthogonal incidence, 10-90 GeV (§4.1).

    Models are conditioned on the energies of ``test_a``; returns point clouds by name:
    "truth", "truth (independent)", "CaloClouds3", "CaloClouds2".
    """
    truth = s.test_a.clouds(store=store, progress=False)
    out = {"truth": truth, "truth (independent)": s.test_b.clouds(store=store, progress=False)}
    for name, (model, _, key) in trained_models.items():
        out[name] = generated(
            model, truth.incident_energy, seed=7, store=store, key={**key, "set": "orthogonal"}
        )
    return out


def fixed_energy_samples(
    s: Setup, model: CaloClouds, key: dict, *, store: Store | None = None
) -> dict[float, tuple[PointClouds, PointClouds]]:
    """Per fixed energy: (truth, CC3) at the truth's random barrel directions (§4.2)."""
    out = {}
    for energy, source in s.fixed.items():
        truth = source.clouds(store=store, progress=False)
        cc3 = generated(
            model, truth.incident_energy, truth.incident_direction.astype(np.float64),
            seed=11, store=store, key={**key, "set": f"fixed {energy}"},
        )  # fmt: skip
        out[energy] = (truth, cc3)
    return out


def generator(model: CaloClouds | None):
    """``gen(energy, n)``: n orthogonal showers at ``energy`` GeV projected to cells.

    ``None`` gives the reference simulator (``gflash`` ``ild``), projected the same way.
    """
    if model is None:
        return lambda energy, n: project(gflash.simulate("ild", n, seed=1, energy=float(energy)))
    return lambda energy, n: project(
        model.generate(np.full(n, float(energy)), None, torch.Generator().manual_seed(1))
    )


def core_ms(model: CaloClouds, what: dict, energy: float, points: int, n: int) -> float:
    """ms per shower (stored median, one thread) of the flow draw plus one student pass over
    ``points`` points per shower; ``what`` names the model.

    The two network costs, which depend on the architecture only (not on trained weights):
    used to carry a measured timing over to the paper's sizes.
    """
    e, d = np.full(n, energy), np.tile([0.0, 0.0, 1.0], (n, 1))
    cond = model.point_conditioning(e, d, np.full(n, points))
    index = torch.arange(n).repeat_interleave(points)
    noise = torch.randn(n * points, 4)

    @torch.no_grad()
    def core(_: int) -> None:
        model.flow.sample(model.flow_conditioning(e, d))
        for lo in range(0, len(noise), CHUNK):
            model.student(noise[lo : lo + CHUNK] * 80, 80.0, cond, index[lo : lo + CHUNK])

    what = {"core": what, "energy": energy, "points": points}
    return timing.stored(what, core, n, code=CODE, threads=1).ms_median


def paper_sized(name: str) -> CaloClouds:
    """An untrained model of the paper's sizes (for architecture timing only)."""
    torch.manual_seed(0)
    return CaloClouds(version(name))


def speed(trained_models: dict, energies: list[float], n: int, *, points_at_50: int = 3000) -> dict:
    """Fig. 14's timing (``timing.stored`` medians): ms per shower on one thread incl.
    projection to cells.

    Returns:
        {"energies", "ms": {name: [ms per energy]} for CC3, CC2 and the reference simulator,
        "paper_ms_50": {name: ms at 50 GeV carried over to the paper's sizes}}: the measured
        time minus the trained model's flow and network cost plus the paper-sized ones
        (``core_ms`` with ``points_at_50`` points per shower).
    """
    timed = {name: (generator(model), key) for name, (model, _, key) in trained_models.items()}
    timed["reference simulator"] = (generator(None), {"simulator": "gflash ild", "seed": 1})
    ms = {}
    for name, (gen, key) in timed.items():
        timings = (
            timing.stored({"model": key, "energy": e}, partial(gen, e), n, code=CODE, threads=1)
            for e in energies
        )
        ms[name] = [t.ms_median for t in timings]
    at_50 = int(np.argmin(np.abs(np.asarray(energies) - 50)))
    paper = {}
    for name, (model, _, key) in trained_models.items():
        size = "cc3" if name == "CaloClouds3" else "cc2"
        own = core_ms(model, key, 50.0, points_at_50, n)
        big = core_ms(paper_sized(size), {"paper-sized": size}, 50.0, points_at_50, n)
        paper[name] = ms[name][at_50] - own + big
    return {"energies": list(energies), "ms": ms, "paper_ms_50": paper, "n": n}


def diphoton(
    model: CaloClouds, key: dict, n: int, seed: int, *, store: Store | None = None
) -> dict[float, dict[str, np.ndarray]]:
    """Fig. 13's study: photons found in pairs of equal-energy orthogonal photons vs separation.

    Per energy of ``DIPHOTON_ENERGIES``: ``n`` pairs from the reference simulator (two
    independent ``Source``s) and from the model, the second photon shifted by a separation
    drawn uniformly up to ``DIPHOTON_MAX_MM``; the overlaid showers are projected to cells and
    counted by ``evaluation.count_photons``.

    Returns:
        energy -> {"separation" (n,) mm, "truth" (n,) photons found, "model" (n,)}.
    """
    from calopaper.models.caloclouds import evaluation

    out = {}
    for k, energy in enumerate(DIPHOTON_ENERGIES):
        separation = np.random.default_rng([seed, 5, k]).uniform(0, DIPHOTON_MAX_MM, n)
        pair = [
            Source(
                "gflash", "ild", n, seed + 4000 + 10 * k + j, overrides={"energy": (energy, energy)}
            ).clouds(store=store, progress=False)
            for j in (0, 1)
        ]
        made = [
            generated(model, np.full(n, energy), seed=13 + j, store=store,
                      key={**key, "set": f"diphoton {energy} {j}"})
            for j in (0, 1)
        ]  # fmt: skip
        out[energy] = {
            "separation": separation,
            "truth": evaluation.count_photons(project(evaluation.overlay(*pair, separation))),
            "model": evaluation.count_photons(project(evaluation.overlay(*made, separation))),
        }
    return out


def fidelity_rows(cells: dict[str, PointClouds], *, seed: int) -> pd.DataFrame:
    """CC3 and CC2 on the book's common fidelity scale (``calopaper.fidelity.compare``), on the
    orthogonal test set both are evaluated on.

    Low-level features: each shower's cells in a window of 30 layers x 5 x 5 cells about its
    axis (``evaluation.axis_window``, ``evaluation.WINDOW``: the cost of the classifiers keeps
    it small) over its incident energy (both in MeV); high-level: the 65 per-shower
    observables of ``evaluation.shower_observables``. Every
    sample is cut to the size of the smallest, the first showers of each (the models are
    conditioned on the truth's energies in order); a comparison with fewer than
    ``fidelity.MIN_SHOWERS`` showers per class is skipped, its row NaN with a "note".

    Args:
        cells: projected cells by the names of ``orthogonal_samples``: "truth" (``test_a``),
            "truth (independent)" (``test_b``: an independent truth sample of the same size and
            energy spectrum, the floors' fresh truth) and the models of ``FIDELITY_MODELS``.
        seed: seeds the classifiers.

    Returns:
        One row per model: "generator" (its name in ``calopaper bench``), "model",
        "segmentation", "layer", "particle", "showers" (per class), then the columns of
        ``fidelity.Fidelity.row``.
    """
    from calopaper.models.caloclouds import evaluation

    n = min(len(cells[k]) for k in ("truth", "truth (independent)", *FIDELITY_MODELS))
    side = 2 * evaluation.WINDOW + 1

    def features(name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        c = cells[name].select(np.arange(n))
        low = fidelity.low_level(evaluation.axis_window(c), 1000.0 * c.incident_energy)
        return low, evaluation.shower_observables(c)

    enough = n >= fidelity.MIN_SHOWERS
    if enough:
        truth, fresh = features("truth"), features("truth (independent)")
    rows = []
    for name, generator in FIDELITY_MODELS.items():
        row = {
            "generator": generator,
            "model": name,
            "segmentation": f"ILD {CELL} mm cells, {N_LAYERS} x {side} x {side} about the axis",
            "layer": f"all {N_LAYERS}",
            "particle": "gamma",
            "showers": n,
        }
        if enough:
            row |= fidelity.compare(truth, fresh, features(name), seed=seed).row()
        else:
            row |= {c: np.nan for c in fidelity.COLUMNS.values()} | {"separates most": ""}
            row["note"] = (
                f"skipped: {n} showers per class, the classifier's {fidelity.FOLDS} folds need "
                f"at least {fidelity.MIN_SHOWERS}"
            )
        rows.append(row)
    return pd.DataFrame(rows)
