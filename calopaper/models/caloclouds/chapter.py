"""Chapter 6 (``06_caloclouds3``): its truth sets and model settings from the resolved parameters
(``configs``), and its studies as library calls: models, evaluated samples, timing, di-photons.

Everything expensive goes through the store (simulation, training, generation, timing), so
the chapter re-executes in seconds once built.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from scipy.stats import gmean

from calopaper import fidelity, findings, parallel, timing
from calopaper.claims.caloclouds3 import PAPER_TABLE3, Measured
from calopaper.models.caloclouds.data import CELL, N_LAYERS, BarrelSource, layer_shift, prepare
from calopaper.models.caloclouds.model import CaloClouds, version
from calopaper.models.caloclouds.papersized import PaperSized
from calopaper.models.caloclouds.pipeline import (
    CODE,
    TrainConfig,
    generated,
    impact_points,
    model_key,
    project,
    trained,
)
from calopaper.showers import PointClouds
from calopaper.sim import gflash
from calopaper.store import Store, default_store
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "Setup",
    "configs",
    "replica",
    "models",
    "train_replicas",
    "replica_numbers",
    "replica_measurements",
    "measured_at",
    "fixed_energy_jsd",
    "fixed_energy_floor",
    "pca_jsd",
    "pca_numbers",
    "diphoton_curves",
    "orthogonal_samples",
    "to_cells",
    "teacher_samples",
    "training_like",
    "round_trip",
    "PAPER_RATES",
    "lr_ablation",
    "fixed_energy_samples",
    "generator",
    "diphoton",
    "speed",
    "paper_speed",
    "FIDELITY_MODELS",
    "replica_cells",
    "fidelity_features",
    "fidelity_rows",
    "seed_spread",
]

CHAPTER = "06_caloclouds3"
#: caloclouds3 Fig. 13: energies of the di-photon pairs, GeV; separations drawn up to this, mm.
DIPHOTON_ENERGIES = (5.0, 20.0, 100.0)
DIPHOTON_MAX_MM = 30.0
#: The chapter's models on the common fidelity scale: sample name -> the bench's generator name.
FIDELITY_MODELS = {"CaloClouds3": "CC3", "CaloClouds2": "CC2"}
#: Table 3's observables (caloclouds3 §4.2): CC3's JSDs at each fixed energy (Fig. 9).
FIXED_OBSERVABLES = tuple(PAPER_TABLE3)
#: Bin edges of the di-photon separation, mm (Fig. 13).
DIPHOTON_EDGES = np.linspace(0, DIPHOTON_MAX_MM, 13)
#: The paper's and the official code's optimisation (caloclouds3 App. A; the CaloClouds3 code's
#: configs): ShowerFlow Adam 2e-4 falling linearly to 0, 62 showers per step; the teacher and
#: the distillation RAdam 2e-4.
PAPER_RATES = {"flow_lr": 2e-4, "flow_schedule": "linear", "flow_batch": 62, "point_lr": 2e-4,
               "distill_lr": 2e-4, "point_optimiser": "radam"}  # fmt: skip
#: Near-orthogonal showers of CC3's training distribution: polar angle to the layer normal at
#: most this, degrees, out of barrel-face showers at 10-90 GeV (``training_like``).
NEAR_ORTHOGONAL_DEG = 15.0
#: Seeds of the generated sets (offset by the chapter's seed and per replica, ``_sampling_seed``).
SAMPLING = {"orthogonal": 7, "fixed": 11, "diphoton": 13}


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
    seed: int = 0
    n_diphoton: int = 0
    #: A second, independent truth set per fixed energy: the floor of Fig. 9's JSDs.
    fixed_b: dict[float, BarrelSource] = field(default_factory=dict)

    def versions(self) -> dict[str, tuple[str, Source, dict]]:
        """Model name -> (version, training showers, sizes)."""
        return {
            "CaloClouds3": ("cc3", self.cc3_train, self.cc3_sizes),
            "CaloClouds2": ("cc2", self.cc2_train, self.cc2_sizes),
        }


def configs(p: SimpleNamespace) -> Setup:
    """Sources and settings from a chapter's resolved parameters ``p``."""
    train = TrainConfig(
        flow_epochs=p.flow_epochs,
        flow_batch=p.flow_batch,
        flow_lr=p.flow_lr,
        points=p.points,
        point_epochs=p.point_epochs,
        distill_epochs=p.distill_epochs,
        distill_lr=p.distill_lr,
        distill_steps=p.distill_steps,
        flow_schedule=p.flow_schedule,
        point_optimiser=p.point_optimiser,
        point_batch=p.point_batch,
        point_lr=p.point_lr,
        seed=p.seed,
    )
    ild = {"simulator": "gflash", "preset": "ild"}
    return Setup(
        cc3_train=BarrelSource(n=p.cc3_n_train, seed=p.seed, overrides={"energy": (1.0, 127.0)}),
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
        seed=p.seed,
        n_diphoton=p.n_diphoton,
        fixed_b={
            e: BarrelSource(n=p.n_fixed, seed=p.seed + 3500 + int(e), overrides={"energy": (e, e)})
            for e in map(float, p.fixed_energies)
        },
    )


def replica(
    s: Setup,
    k: int = 0,
    *,
    budget: float = 1.0,
    device: str = "cpu",
    store: Store | None = None,
    progress: bool = True,
) -> dict[str, tuple]:
    """Replica ``k`` of CC3 and CC2 (training seed ``findings.replica_seed(seed, k)``, same
    truth) at ``budget`` (``pipeline.trained``), from the store or trained now.

    Returns:
        {"CaloClouds3": (model, history, key), "CaloClouds2": (...)}, ``key`` the model's store
        identity (``pipeline.model_key``).
    """
    out = {}
    for name, (version_name, source, sizes) in s.versions().items():
        model, history = trained(
            version_name, s.train, source, sizes=sizes, replica=k, budget=budget,
            device=device, store=store, progress=progress,
        )  # fmt: skip
        key = model_key(version_name, s.train, source, sizes, replica=k, budget=budget)
        out[name] = (model, history, key)
    return out


def models(s: Setup, *, device: str = "cpu", store: Store | None = None, progress: bool = True):
    """Trained CC3 and CC2 (replica 0, the full budget), trained side by side when missing.

    Returns:
        {"CaloClouds3": (model, history, key), "CaloClouds2": (...)}.
    """
    train_replicas(s, 1, device=device, store=store, progress=progress)
    return replica(s, 0, device=device, store=store, progress=progress)


def _train_one(s: Setup, name: str, k: int, budget: float, **options) -> None:
    """Train (or read) one model of one replica at one budget; for ``parallel.run``."""
    version_name, source, sizes = s.versions()[name]
    trained(version_name, s.train, source, sizes=sizes, replica=k, budget=budget, **options)


def train_replicas(
    s: Setup,
    n_seeds: int,
    budgets: tuple[float, ...] = (1.0,),
    *,
    device: str = "cpu",
    store: Store | None = None,
    progress: bool = True,
) -> None:
    """Train CC3 and CC2 ``n_seeds`` times, and at each fraction of ``budgets`` below 1, side
    by side (``parallel.run``). The full trainings run first: a fraction's model starts from
    their snapshots (``pipeline.trained``)."""
    options = {"device": device, "store": store, "progress": progress}
    for stage in ([1.0], [b for b in budgets if b != 1.0]):
        calls = {
            (name, k, b): partial(_train_one, s, name, k, b, **options)
            for b in stage
            for k in range(n_seeds)
            for name in s.versions()
        }
        parallel.run(calls, progress=progress)


def to_cells(s: Setup, clouds: PointClouds) -> PointClouds:
    """``clouds`` projected to cells at the chapter's impact points (``pipeline.impact_points``
    of its seed): shower i of every set enters at the same point, so a model conditioned on
    the truth's showers meets each at the truth's position; cells in the shower's frame."""
    return project(clouds, impact_points(len(clouds), s.seed))


def _sampling_seed(s: Setup, what: str, k: int) -> int:
    """The generation seed of ``what`` ("orthogonal", "fixed", "diphoton") for replica ``k``:
    it moves with the chapter's seed and differs between replicas."""
    return findings.replica_seed(s.seed + SAMPLING[what], k)


def orthogonal_samples(
    s: Setup, trained_models: dict, *, store: Store | None = None, replica: int = 0
) -> dict[str, PointClouds]:
    """Truth (two independent halves) and each model at orthogonal incidence, 10-90 GeV (§4.1).

    Models are conditioned on the energies of ``test_a`` (``trained_models`` of replica
    ``replica``: its own generation seed); returns point clouds by name: "truth",
    "truth (independent)", "CaloClouds3", "CaloClouds2".
    """
    truth = s.test_a.clouds(store=store, progress=False)
    out = {"truth": truth, "truth (independent)": s.test_b.clouds(store=store, progress=False)}
    for name, (model, _, key) in trained_models.items():
        seed = _sampling_seed(s, "orthogonal", replica)
        out[name] = generated(
            model, truth.incident_energy, seed=seed, store=store, key={**key, "set": "orthogonal"}
        )
    return out


def teacher_samples(s: Setup, trained_models: dict, *, store: Store | None = None) -> PointClouds:
    """Seed 0's CC3 teacher with the Heun sampler on the paper's 18 noise levels, on the
    conditions of :func:`orthogonal_samples`: beside the one-step student it separates the
    distillation's error from the teacher's."""
    truth = s.test_a.clouds(store=store, progress=False)
    model, _, key = trained_models["CaloClouds3"]
    return generated(
        model, truth.incident_energy, seed=_sampling_seed(s, "orthogonal", 0), steps=18,
        store=store, key={**key, "set": "orthogonal"},
    )  # fmt: skip


def training_like(
    s: Setup, trained_models: dict, *, store: Store | None = None
) -> tuple[PointClouds, PointClouds]:
    """(truth, CC3): showers drawn as CC3's training showers (barrel face, 10-90 GeV), those
    within ``NEAR_ORTHOGONAL_DEG`` of the layer normal, and seed 0's CC3 at their conditions.

    Beside Table 2's exactly orthogonal photons, it tells whether CC3's gaps come from the
    conditions it was asked for or from the model.
    """
    n = 8 * s.test_a.n  # about one barrel shower in eight is that close to orthogonal
    source = BarrelSource(n=n, seed=s.seed + 6000, overrides={"energy": (10.0, 90.0)})
    clouds = source.clouds(store=store, progress=False)
    near = clouds.incident_direction[:, 2] >= np.cos(np.radians(NEAR_ORTHOGONAL_DEG))
    truth = clouds.select(np.flatnonzero(near)[: s.test_a.n])
    model, _, key = trained_models["CaloClouds3"]
    made = generated(
        model, truth.incident_energy, truth.incident_direction.astype(np.float64),
        seed=_sampling_seed(s, "orthogonal", 0), store=store,
        key={**key, "set": f"training-like {NEAR_ORTHOGONAL_DEG}"},
    )  # fmt: skip
    return truth, made


def round_trip(s: Setup, truth: PointClouds) -> PointClouds:
    """Orthogonal ``truth`` as CC3 learns it (``data.prepare``: one point per 5 x 5 sub-cell
    bin, at its highest-energy hit), ready to project: the representation's own floor."""
    prepared = prepare(truth, version("cc3").sub_cells, at_centre=False, seed=s.seed)
    points = prepared.points.astype(np.float64).copy()
    event = prepared.event_index
    direction = prepared.incident_direction.astype(np.float64)[event]
    points[:, :2] += layer_shift(direction, points[:, 2].astype(np.int64))  # re-tilt
    return replace(prepared, points=points)


def lr_ablation(
    s: Setup, trained_models: dict, *, device: str = "cpu", store: Store | None = None,
    progress: bool = False,
) -> pd.DataFrame:  # fmt: skip
    """Seed 0's CC3 at the book's learning rates against CC3 trained the same epochs at the
    paper's (``PAPER_RATES``): each one's Table 2 JSDs to the truth on the orthogonal test.

    Returns:
        One row per optimisation ("book profile", "paper rates"): its rates, training seconds,
        final teacher and distillation losses, the JSD per Table 2 observable and their
        geometric mean.
    """
    from calopaper.models.caloclouds import evaluation

    train, source, sizes = _paper_rates(s)
    model, history = trained("cc3", train, source, sizes=sizes, device=device, store=store,
                             progress=progress)  # fmt: skip
    key = model_key("cc3", train, source, sizes)
    truth = s.test_a.clouds(store=store, progress=False)
    paper = generated(model, truth.incident_energy, seed=_sampling_seed(s, "orthogonal", 0),
                      store=store, key={**key, "set": "orthogonal"})  # fmt: skip
    book = orthogonal_samples(s, trained_models, store=store)["CaloClouds3"]
    reference = evaluation.shower_histograms(to_cells(s, truth))
    rows = {}
    for label, (made, hist, t) in {
        "book profile": (book, trained_models["CaloClouds3"][1], s.train),
        "paper rates": (paper, history, train),
    }.items():
        h = evaluation.shower_histograms(to_cells(s, made))
        jsd = evaluation.jsd_per_observable(reference, h)
        rows[label] = {
            "ShowerFlow": f"{t.flow_lr:g}, {t.flow_schedule}, batch {t.flow_batch}",
            "teacher, student": f"{t.point_optimiser} {t.point_lr:g}, {t.distill_lr:g}",
            "training [s]": sum(part["seconds"] for part in hist.values()),
            "teacher loss": hist["teacher"]["loss"][-1],
            "distillation loss": hist["student"]["loss"][-1],
            "JSD geometric mean": float(gmean(np.maximum(list(jsd.values()), 1e-12))),
            **jsd,
        }
    return pd.DataFrame(rows).T


def _paper_rates(s: Setup) -> tuple[TrainConfig, Source, dict]:
    """:func:`lr_ablation`'s model: seed 0's CC3 (training settings, source, sizes) at the
    paper's rates (``PAPER_RATES``)."""
    _, source, sizes = s.versions()["CaloClouds3"]
    return replace(s.train, **PAPER_RATES), source, sizes


def _train_paper_rates(s: Setup, **options) -> None:
    """Train (or read) :func:`lr_ablation`'s model; for ``parallel.run``."""
    train, source, sizes = _paper_rates(s)
    trained("cc3", train, source, sizes=sizes, **options)


def fixed_energy_samples(
    s: Setup, model: CaloClouds, key: dict, *, store: Store | None = None, replica: int = 0
) -> dict[float, tuple[PointClouds, PointClouds]]:
    """Per fixed energy: (truth, CC3) at the truth's random barrel directions (§4.2); ``model``
    is replica ``replica``'s CC3."""
    out = {}
    for energy, source in s.fixed.items():
        truth = source.clouds(store=store, progress=False)
        cc3 = generated(
            model, truth.incident_energy, truth.incident_direction.astype(np.float64),
            seed=_sampling_seed(s, "fixed", replica), store=store,
            key={**key, "set": f"fixed {energy}"},
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


#: Modules behind the timings (the paper-sized models: ``papersized.PaperSized``).
TIMING_CODE = (*CODE, "calopaper.models.caloclouds.papersized")


def _ms(
    what: dict, gen, energies: list[float], n: int, store: Store | None, code: tuple = CODE
) -> list[float]:
    """Stored median ms per shower (one thread) of ``gen(energy, n)`` at each energy."""
    return [
        timing.stored({**what, "energy": e}, partial(gen, e), n, code=code, threads=1,
                      store=store).ms_median
        for e in energies
    ]  # fmt: skip


def paper_speed(
    trained_models: dict, energies: list[float], n: int, *, store: Store | None = None
) -> dict[str, list[float]]:
    """ms per shower of CC2 and CC3 with the paper's network sizes at each of ``energies``, one
    thread, ``n`` orthogonal showers per call, projection included (``timing.stored``): the
    timings ``claims.caloclouds3.speed_ratio`` turns into the speed claim of chapters 6 and 7.

    A paper-sized model (``papersized.PaperSized``: the paper's networks, untrained) generates as
    many points per layer as the trained model of its version: a network's cost does not
    depend on its weights, the number of points does. The timings are keyed by the trained
    models, the energies, ``n``, the machine and the code, so chapter 7 (``bench.paper_speed``)
    reads back the very timings chapter 6 made.

    Returns:
        {"energies", "CaloClouds2", "CaloClouds3"}: ms per shower at each energy.
    """

    out: dict[str, list[float]] = {"energies": [float(e) for e in energies]}
    for name in ("CaloClouds2", "CaloClouds3"):
        model, _, key = trained_models[name]
        gen = generator(PaperSized(model))
        out[name] = _ms({"paper-sized": key}, gen, energies, n, store, TIMING_CODE)
    return out


def speed(
    trained_models: dict, energies: list[float], n: int, *, store: Store | None = None
) -> dict:
    """Fig. 14's timing (``timing.stored`` medians): ms per shower on one thread incl.
    projection to cells, ``n`` orthogonal showers per call.

    Returns:
        {"energies", "n", "ms": {name: [ms per energy]} for CC3 and CC2 as trained and the
        reference simulator, "paper": :func:`paper_speed`}.
    """
    timed = {name: (generator(model), key) for name, (model, _, key) in trained_models.items()}
    timed["reference simulator"] = (generator(None), {"simulator": "gflash ild", "seed": 1})
    ms = {name: _ms({"model": key}, gen, energies, n, store) for name, (gen, key) in timed.items()}
    paper = paper_speed(trained_models, energies, n, store=store)
    return {"energies": list(energies), "ms": ms, "paper": paper, "n": n}


def diphoton(
    model: CaloClouds,
    key: dict,
    n: int,
    seed: int,
    *,
    store: Store | None = None,
    replica: int = 0,
) -> dict[float, dict[str, np.ndarray]]:
    """Fig. 13's study: photons found in pairs of equal-energy orthogonal photons vs separation.

    Per energy of ``DIPHOTON_ENERGIES``: ``n`` pairs from the reference simulator (two
    independent ``Source``s) and from the model, the second photon shifted by a separation
    drawn uniformly up to ``DIPHOTON_MAX_MM``; the overlaid showers are projected to cells and
    counted by ``evaluation.count_photons``. ``seed`` is the chapter's (truth pairs and
    separations); ``model`` is replica ``replica``'s CC3, generated with its own seed.

    Returns:
        energy -> {"separation" (n,) mm, "truth" (n,) photons found, "model" (n,)}.
    """
    from calopaper.models.caloclouds import evaluation

    out, impact = {}, impact_points(n, seed)
    for k, energy in enumerate(DIPHOTON_ENERGIES):
        separation = np.random.default_rng([seed, 5, k]).uniform(0, DIPHOTON_MAX_MM, n)
        pair = [
            Source(
                "gflash", "ild", n, seed + 4000 + 10 * k + j, overrides={"energy": (energy, energy)}
            ).clouds(store=store, progress=False)
            for j in (0, 1)
        ]
        made = [
            generated(model, np.full(n, energy),
                      seed=findings.replica_seed(seed + SAMPLING["diphoton"] + j, replica),
                      store=store, key={**key, "set": f"diphoton {energy} {j}"})
            for j in (0, 1)
        ]  # fmt: skip
        out[energy] = {"separation": separation} | {
            who: evaluation.count_photons(project(evaluation.overlay(*showers, separation), impact))
            for who, showers in (("truth", pair), ("model", made))
        }
    return out


def diphoton_curves(
    pairs: dict[float, dict[str, np.ndarray]], edges: np.ndarray = DIPHOTON_EDGES
) -> dict[float, dict[str, dict]]:
    """Fig. 13's curves and the claim's numbers from the pairs of :func:`diphoton`.

    Returns:
        energy -> {"truth", "model"} -> {"fraction": (fraction, Wilson lower, upper) per
        separation bin (``evaluation.two_photon_fraction``), "half": (the separation at which
        half the pairs are resolved, its error) in mm (``evaluation.half_separation``)}.
    """
    from calopaper.models.caloclouds import evaluation

    return {
        energy: {
            who: {
                "fraction": evaluation.two_photon_fraction(r["separation"], r[who], edges),
                "half": evaluation.half_separation(r["separation"], r[who], DIPHOTON_MAX_MM),
            }
            for who in ("truth", "model")
        }
        for energy, r in pairs.items()
    }


def fixed_energy_jsd(
    fixed_cells: dict[float, tuple[PointClouds, PointClouds]],
) -> dict[float, dict[str, float]]:
    """Per fixed energy, CC3's JSD to the truth on each of ``FIXED_OBSERVABLES`` (Fig. 9), from
    projected (truth, CC3) cells."""
    from calopaper.models.caloclouds import evaluation

    out = {}
    for energy, (truth, model) in fixed_cells.items():
        h_truth, h_model = (evaluation.shower_histograms(c) for c in (truth, model))
        out[energy] = evaluation.jsd_per_observable(h_truth, h_model, FIXED_OBSERVABLES)
    return out


def fixed_energy_floor(s: Setup, *, store: Store | None = None) -> dict[float, dict[str, float]]:
    """Per fixed energy, the JSD between the two independent truth sets ``s.fixed`` and
    ``s.fixed_b`` on each of ``FIXED_OBSERVABLES``: what a perfect model would score at that
    energy (Fig. 9's floor), from projected cells."""
    cells = {
        e: (to_cells(s, s.fixed[e].clouds(store=store, progress=False)),
            to_cells(s, s.fixed_b[e].clouds(store=store, progress=False)))
        for e in s.fixed
    }  # fmt: skip
    return fixed_energy_jsd(cells)


def pca_numbers(truth: PointClouds, model: PointClouds) -> dict[str, dict]:
    """Table 4's numbers from projected cells at random angles, for the PCA direction of the
    4 % highest-energy cells and of all of them.

    Returns:
        {"jsd": {"4%", "100%": JSD of the model's angular-error histogram to the truth's},
        "median": {"truth", "CaloClouds3": {"4%", "100%": median angular error, rad}}}.
    """
    from calopaper.models.caloclouds import evaluation

    out: dict[str, dict] = {"jsd": {}, "median": {"truth": {}, "CaloClouds3": {}}}
    for fraction, tag in ((0.04, "4%"), (1.0, "100%")):
        errors = {who: evaluation.pca_errors(c, fraction)
                  for who, c in (("truth", truth), ("CaloClouds3", model))}  # fmt: skip
        h = [evaluation.angle_histograms(errors[who]) for who in ("truth", "CaloClouds3")]
        out["jsd"][tag] = evaluation.jsd(h[0]["angular error"].sum(0), h[1]["angular error"].sum(0))
        for who, e in errors.items():
            out["median"][who][tag] = float(np.nanmedian(e["angular error"]))
    return out


def pca_jsd(truth: PointClouds, model: PointClouds) -> dict[str, float]:
    """ "4%" and "100%": the JSD of the model's angular-error histogram of the PCA direction
    (Table 4's "angular error") to the truth's, from projected cells at random angles."""
    return pca_numbers(truth, model)["jsd"]


def replica_numbers(
    s: Setup,
    k: int = 0,
    budget: float = 1.0,
    *,
    device: str = "cpu",
    store: Store | None = None,
    progress: bool = False,
) -> dict:
    """What the chapter's model claims judge, for replica ``k`` of CC3 and CC2 at ``budget``:
    stored, so that replicas are measured side by side (``parallel.run``) and read back.

    The same samples and distances the chapter shows for replica 0 (generation seeds of
    :func:`orthogonal_samples`, :func:`fixed_energy_samples` and :func:`diphoton`), without
    bootstrap errors: the spread over replicas is the error.

    Returns:
        {"table2": {model name: {observable: JSD}} (Table 2, orthogonal 10-90 GeV),
        "fixed": {observable: [CC3's JSD per fixed energy]}, "energies", "fixed_floor":
        {observable: [the truth's floor per fixed energy]} (:func:`fixed_energy_floor`, the
        same for every replica), "pca": {"4%", "100%": JSD of the angular error},
        "pca_median": {"truth", "CaloClouds3": {"4%", "100%": median angular error, rad}},
        "diphoton": {energy: {"truth", "model": [separation resolved in half the pairs, its
        error] in mm}} (:func:`diphoton_curves`)}.
    """
    store = store or default_store()
    options = {"device": device, "store": store, "progress": progress}
    what = {
        "models": {
            name: model_key(v, s.train, source, sizes, replica=k, budget=budget)
            for name, (v, source, sizes) in s.versions().items()
        },
        "test": s.test_a.key,
        "fixed": {str(e): source.key for e, source in s.fixed.items()},
        "fixed_b": {str(e): source.key for e, source in s.fixed_b.items()},
        "seed": s.seed,
        "n_diphoton": s.n_diphoton,
        "replica": k,
    }

    def build(tmp: Path) -> None:
        from calopaper.models.caloclouds import evaluation

        fits = replica(s, k, budget=budget, **options)
        samples = orthogonal_samples(s, fits, store=store, replica=k)
        hists = {name: evaluation.shower_histograms(to_cells(s, samples[name]))
                 for name in ("truth", *FIDELITY_MODELS)}  # fmt: skip
        table2 = {
            name: evaluation.jsd_per_observable(hists["truth"], hists[name])
            for name in FIDELITY_MODELS
        }
        model, _, key = fits["CaloClouds3"]
        fixed = fixed_energy_samples(s, model, key, store=store, replica=k)
        cells = {e: (to_cells(s, t), to_cells(s, m)) for e, (t, m) in fixed.items()}
        per_energy = fixed_energy_jsd(cells)
        truth_all = PointClouds.concatenate([c[0] for c in cells.values()])
        model_all = PointClouds.concatenate([c[1] for c in cells.values()])
        floor = fixed_energy_floor(s, store=store)
        curves = diphoton_curves(diphoton(model, key, s.n_diphoton, s.seed, store=store, replica=k))
        pca = pca_numbers(truth_all, model_all)
        numbers = {
            "table2": table2,
            "fixed": {o: [per_energy[e][o] for e in per_energy] for o in FIXED_OBSERVABLES},
            "energies": list(per_energy),
            "fixed_floor": {o: [floor[e][o] for e in per_energy] for o in FIXED_OBSERVABLES},
            "pca": pca["jsd"],
            "pca_median": pca["median"],
            "diphoton": {
                str(e): {who: list(c[who]["half"]) for who in ("truth", "model")}
                for e, c in curves.items()
            },
        }
        Path(tmp).write_text(json.dumps(numbers, default=float))

    code = (*CODE, __name__, "calopaper.models.caloclouds.evaluation")
    path = store.get_or_build("numbers/caloclouds", what, build, suffix=".result.json", code=code)
    return json.loads(Path(path).read_text())


def replica_measurements(
    s: Setup,
    n_seeds: int,
    budgets: tuple[float, ...] = (1.0,),
    *,
    paper_rates: bool = False,
    device: str = "cpu",
    store: Store | None = None,
    progress: bool = True,
) -> dict[tuple[int, float], dict]:
    """:func:`replica_numbers` of every replica at every budget, trained and measured side by
    side: the full trainings first (``train_replicas``), then one call per replica and budget
    (``parallel.run``), in which a budget below 1 distils its student from the snapshots.
    With ``paper_rates``, :func:`lr_ablation`'s model (CC3 at ``PAPER_RATES``) is trained in
    that second round as well, first, so that no core waits for it later.

    Returns:
        (replica, budget) -> its numbers.
    """
    options = {"device": device, "store": store, "progress": progress}
    train_replicas(s, n_seeds, **options)
    calls = {"paper rates": partial(_train_paper_rates, s, **options)} if paper_rates else {}
    calls |= {
        (k, b): partial(replica_numbers, s, k, b, device=device, store=store)
        for b in budgets
        for k in range(n_seeds)
    }
    done = parallel.run(calls, progress=progress)
    return {key: numbers for key, numbers in done.items() if key != "paper rates"}


def replica_cells(
    s: Setup, k: int, *, device: str = "cpu", store: Store | None = None
) -> dict[str, PointClouds]:
    """Replica ``k``'s CC3 and CC2 on the orthogonal test, projected to cells: the samples
    :func:`replica_numbers` generated, read back from the store (its models too)."""
    fits = replica(s, k, device=device, store=store, progress=False)
    samples = orthogonal_samples(s, fits, store=store, replica=k)
    return {name: to_cells(s, samples[name]) for name in FIDELITY_MODELS}


def fidelity_features(cells: PointClouds, half: int) -> fidelity.Features:
    """One sample's features on the common scale: its cells in the 30-layer window of
    ``2 half + 1`` cells a side about each shower's axis (``evaluation.axis_window``) over the
    incident energy (both in MeV), and the 65 observables of ``evaluation.shower_observables``."""
    from calopaper.models.caloclouds import evaluation

    low = fidelity.low_level(evaluation.axis_window(cells, half), 1000.0 * cells.incident_energy)
    return low, evaluation.shower_observables(cells)


def fidelity_rows(
    cells: dict[str, PointClouds],
    replicas: Sequence[dict[str, PointClouds]] = (),
    *,
    seed: int,
    half: int,
    store: Store | None = None,
) -> pd.DataFrame:
    """CC3 and CC2 on the book's common fidelity scale (``fidelity.scored``), on the orthogonal
    test set both are evaluated on, with the spread over their training seeds.

    Args:
        cells: projected cells by the names of ``orthogonal_samples`` (replica 0): "truth"
            (``test_a``), "truth (independent)" (``test_b``: an independent truth sample of the
            same size and energy spectrum, the floors' fresh truth) and the models of
            ``FIDELITY_MODELS``.
        replicas: the models' cells of the further trainings (``replica_cells`` of replicas
            1, 2, ...): their high-level AUC and FPD give the seed spread.
        seed: seeds the classifiers.
        half: half-width of the low-level window, cells (``fidelity_features``).
        store: where the measurements are kept (default ``default_store()``).

    Returns:
        One row per model: "generator" (its name in ``calopaper bench``), "model",
        "segmentation", "layer", "particle", then the columns of ``fidelity.scored``.
    """
    store = store or default_store()
    truth, fresh = (fidelity_features(cells[k], half) for k in ("truth", "truth (independent)"))
    side = 2 * half + 1
    jobs = {}
    for name in FIDELITY_MODELS:
        samples = [cells[name], *(r[name] for r in replicas)]
        jobs[name] = (truth, fresh, [fidelity_features(c, half) for c in samples])
    scores = fidelity.scored_all(jobs, seed=seed, store=store)
    rows = [
        {
            "generator": generator,
            "model": name,
            "segmentation": f"ILD {CELL} mm cells, {N_LAYERS} x {side} x {side} about the axis",
            "layer": f"all {N_LAYERS}",
            "particle": "gamma",
        }
        | scores[name]
        for name, generator in FIDELITY_MODELS.items()
    ]
    return pd.DataFrame(rows)


def seed_spread(rows: pd.DataFrame) -> str:
    """The page's sentence on the spread over training seeds of ``fidelity_rows``' high-level
    AUC and FPD (standard deviations)."""
    n = int(rows["seeds"].iloc[0])
    if n < 2 or rows["AUC high seed s"].isna().all():
        return f"with {n} training per model, this run measures no spread over seeds"
    auc, fpd = (
        " and ".join(f"{v:{f}} for {g}" for g, v in zip(rows["generator"], rows[c], strict=True))
        for c, f in (("AUC high seed s", ".3f"), ("FPD seed s", ".2g"))
    )
    return (
        f"over the {n} trainings of each model, the high-level AUC varies by a standard deviation "
        f"of {auc}, the FPD by {fpd}"
    )


def measured_at(numbers: dict[tuple[int, float], dict], budget: float = 1.0, **fields) -> Measured:
    """The claims' ``Measured`` from :func:`replica_measurements` at one ``budget``: every
    replica's numbers, in replica order; ``fields`` adds what is not per replica (``cc2_ms``,
    ``cc3_ms``) or replaces what is (the truth's floor, PCA medians and 50 % separations are
    read from the first replica: the truth is the same for every replica)."""
    per = [v for (_, b), v in sorted(numbers.items()) if b == budget]
    first = per[0] if per else {}
    diphoton = [{float(e): tuple(c["model"]) for e, c in n["diphoton"].items()} for n in per]
    found = {
        "table2": [pd.DataFrame(n["table2"]) for n in per],
        "fixed": [n["fixed"] for n in per],
        "energies": first.get("energies", []),
        "fixed_floor": first.get("fixed_floor", {}),
        "pca": [n["pca"] for n in per],
        "pca_median": [n["pca_median"]["CaloClouds3"] for n in per],
        "pca_truth_median": first["pca_median"]["truth"] if first else {},
        "diphoton": diphoton,
        "diphoton_truth": {
            float(e): tuple(c["truth"]) for e, c in first.get("diphoton", {}).items()
        },
    }
    return Measured(**(found | fields))
