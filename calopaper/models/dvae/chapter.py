"""Chapter 4 (``04_dvae``): the truth of each particle and the configurations of the selection
grid, from the chapter's resolved parameters ``p``; the selected grid points as the chapter
publishes them (read by the bench); the selected model of each particle trained ``p.n_seeds``
times and at fractions of the budget, and the numbers its claims judge per training; the
selected models on the book's common fidelity scale. The notebook and the bench build through
here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from itertools import product
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from calopaper import fidelity, findings, geometry, metrics, observables, parallel
from calopaper.claims.dvae import KS_GOOD, medians
from calopaper.models.dvae.data import (
    SHAPES,
    SPARSITY,
    VARIABLES,
    Showers,
    non_showering_fraction,
    read_cells,
    shower_shapes,
    supa_source,
)
from calopaper.models.dvae.model import DVAE, DVAEConfig
from calopaper.models.dvae.pipeline import EnergyResponse, configure, sample, trained
from calopaper.models.dvae.preprocessing import split_layers
from calopaper.store import Store, default_store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "FRESH_SEED",
    "RESPONSE_ENERGIES",
    "GridPoint",
    "budget_curves",
    "budget_fraction",
    "budgets",
    "configs",
    "FIDELITY_KEYS",
    "fidelity_features",
    "fidelity_rows",
    "generator_name",
    "like_test",
    "per_training",
    "published_selection",
    "replicas",
    "response_numbers",
    "responses",
    "selection_records",
    "showers",
    "seed_numbers",
    "seed_samples",
]

CHAPTER = "04_dvae"
#: A point of the selection grid: (calodvae Table 2 architecture, τ_z, τ_xm).
GridPoint = tuple[str, float, float]
#: Offset from ``p.seed`` of the independent truth samples behind the fidelity floors (the k-th
#: particle's truth has seed ``p.seed + k``, its energy-response showers ``p.seed + 1000 + ...``).
FRESH_SEED = 7919
#: Offsets from a training seed of the generator seeds: the k-th particle's test showers are
#: generated with ``seed + TEST_SAMPLE_SEED + k``, the energy response with
#: ``seed + RESPONSE_SEED + j`` at the j-th requested energy.
TEST_SAMPLE_SEED, RESPONSE_SEED = 10, 100
#: The requested energies of the energy response, GeV (calodvae Fig. 4; 150 is beyond the
#: training range).
RESPONSE_ENERGIES = (1.0, 25.0, 50.0, 100.0, 150.0)


def generator_name(particle: str) -> str:
    """The name of a particle's CaloDVAE row, as ``calopaper bench`` and the chapter's tables
    give it.

    Example:
        >>> generator_name("pi+")
        'CaloDVAE pi+'
    """
    return f"CaloDVAE {particle}"


def showers(p: SimpleNamespace, store: Store | None = None) -> dict[str, Showers]:
    """Each particle's truth (``p.n_showers`` SUPA showers, seed ``p.seed + k`` for the k-th
    particle), or the one CaloGAN-layout file ``p.dataset_path``, split 80/10/10 with ``p.seed``.
    """
    if p.dataset_path:
        sources = {Path(p.dataset_path).stem: Source(path=p.dataset_path)}
    else:
        sources = {q: supa_source(q, p.n_showers, p.seed + k) for k, q in enumerate(p.particles)}
    return {q: Showers.load(s, split_seed=p.seed, store=store) for q, s in sources.items()}


def configs(
    p: SimpleNamespace, truth: dict[str, Showers]
) -> tuple[FitConfig, dict[str, dict[GridPoint, DVAEConfig]]]:
    """The fit settings and, per particle, the config of every grid point (architectures ×
    τ_z × τ_xm), each standardised on that particle's training showers."""
    fields = {k: v for k, v in vars(p).items() if k in DVAEConfig.__dataclass_fields__}
    grid = list(product(p.grid_architectures, p.grid_tau_z, p.grid_tau_xm))
    grids = {
        q: {g: configure(s, g[0], p.width_scale, tau_z=g[1], tau_xm=g[2], **fields) for g in grid}
        for q, s in truth.items()
    }
    return FitConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=p.seed), grids


def selection_records(p: SimpleNamespace, selected: Mapping[str, GridPoint]) -> list[dict]:
    """The grid point selected per particle, as the chapter publishes it (``tables["selected"]``
    of ``data/results/04_dvae.json``), with the settings it was selected under.

    Example:
        >>> p = SimpleNamespace(profile="smoke", seed=1, n_showers=300)
        >>> selection_records(p, {"e+": ("I", 0.2, 0.125)})[0]["architecture"]
        'I'
    """
    run = {"profile": p.profile, "seed": p.seed, "n_showers": p.n_showers}
    return [
        {"particle": q, "architecture": g[0], "tau_z": g[1], "tau_xm": g[2], **run}
        for q, g in selected.items()
    ]


def published_selection(p: SimpleNamespace, root: Path | None = None) -> dict[str, GridPoint]:
    """The grid points the chapter selected and published under ``root`` (default: the store's
    root), per particle, for a run with ``p``'s profile, seed and number of showers; empty when
    the chapter has not run so (or ran before it published its selection)."""
    path = Path(root if root is not None else default_store().root) / "results"
    path = path / f"{CHAPTER}.json"
    if not path.exists():
        return {}
    records = json.loads(path.read_text()).get("tables", {}).get("selected", [])
    run = {"profile": p.profile, "seed": p.seed, "n_showers": p.n_showers}
    return {
        r["particle"]: (r["architecture"], float(r["tau_z"]), float(r["tau_xm"]))
        for r in records
        if all(r.get(k) == v for k, v in run.items())
    }


def fidelity_features(
    cells: np.ndarray, incident_energy: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A sample's features on the common scale (``fidelity.compare``).

    Args:
        cells: (N, 504) flattened CaloGAN showers, MeV.
        incident_energy: (N,) GeV.

    Returns:
        (N, 504) cell energies over the incident energy (both in MeV), and the high-level
        observables name -> (N,): the shower shapes of ``dvae.shower_shapes`` (layer energies,
        fractions, E_tot / E_inc, brightest-cell ratios, depth, l_d, s_d and its spread,
        sparsities) and each layer's centroids and widths in mm.
    """
    energy = np.asarray(incident_energy, dtype=np.float64)
    layers = list(split_layers(cells).values())
    segmentations = [geometry.CALOGAN[k] for k in range(len(layers))]
    high = observables.shower_shapes(layers, segmentations=segmentations, incident_energy=energy)
    return fidelity.low_level(cells, 1000.0 * energy), high


def _fresh_cells(
    p: SimpleNamespace, particle: str, k: int, n: int, store: Store | None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` SUPA showers of the k-th particle, independent of its truth (seed
    ``p.seed + FRESH_SEED + k``), at the truth's U[1, 100] GeV, through the store."""
    return read_cells(supa_source(particle, n, p.seed + FRESH_SEED + k), store)


#: Columns of :func:`fidelity_rows` before ``fidelity.scored``'s.
FIDELITY_KEYS = ("generator", "model", "particle", "architecture", "τ_z", "τ_xm")


def fidelity_rows(
    p: SimpleNamespace,
    truth: Mapping[str, Showers],
    samples: Mapping[str, Sequence[np.ndarray]],
    selected: Mapping[str, GridPoint],
    store: Store | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The selected CaloDVAE of each particle on the book's common scale (``fidelity.scored``):
    its first training's row and the spread of the high-level AUC and FPD over its trainings.

    Each particle's test showers are the truth; the model's showers are ``samples[particle]``,
    one sample per training, each generated at the test showers' incident energies in order;
    the floors come from a fresh SUPA sample of as many showers as the test part at U[1, 100]
    GeV (``_fresh_cells``). ``fidelity.scored`` cuts them to the smallest size, keeps a row too
    small for the folds with NaN values and a note, and keeps every measurement in ``store``.

    Args:
        p: the chapter's resolved parameters (``seed``, ``dataset_path``).
        truth: particle -> its showers, split (``showers``).
        samples: particle -> one (M, 504) sample [MeV] at the first M test energies per
            training, seed 0 first.
        selected: particle -> the grid point of its model.
        store: the store of the fresh truth and the measurements (default: ``default_store()``).

    Returns:
        One row per particle compared (``FIDELITY_KEYS`` and ``fidelity.scored``'s columns:
        "showers", "seeds", ``fidelity.COLUMNS``, the seed spreads, "note"), and a note for
        each particle left out (a user's file has no independent truth sample).
    """
    store = store or default_store()
    rows, jobs, notes = {}, {}, []
    for k, (q, s) in enumerate(truth.items()):
        if p.dataset_path:
            notes.append(f"{q}: a user's file has no independent truth sample for the floors")
            continue
        cells, energy = s.part("test")
        fresh = fidelity_features(*_fresh_cells(p, q, k, len(energy), store))
        replicas = [fidelity_features(x, energy[: len(x)]) for x in samples[q]]
        jobs[q] = (fidelity_features(cells, energy), fresh, replicas)
        meta = (generator_name(q), "CaloDVAE", q, *selected[q])
        rows[q] = dict(zip(FIDELITY_KEYS, meta, strict=True))
    scores = fidelity.scored_all(jobs, seed=p.seed, store=store)
    rows = [rows[q] | scores[q] for q in rows]
    return pd.DataFrame(rows, columns=[*FIDELITY_KEYS, *fidelity.SCORED_COLUMNS]), notes


def budget_fraction(p: SimpleNamespace, budget: float) -> float:
    """The fraction of ``p.epochs`` a model trained at ``budget`` really has: the epochs are
    whole, ``max(1, round(budget * epochs))`` (``training.trained``).

    Example:
        >>> budget_fraction(SimpleNamespace(epochs=10), 0.25)
        0.2
    """
    return max(1, round(budget * p.epochs)) / p.epochs


def budgets(p: SimpleNamespace) -> tuple[float, ...]:
    """The fractions of ``findings.BUDGETS`` that give different numbers of whole epochs, the
    largest of each (with one or two epochs, ¼ and ½ train as long as the full budget).

    Example:
        >>> budgets(SimpleNamespace(epochs=10)), budgets(SimpleNamespace(epochs=1))
        ((0.25, 0.5, 1.0), (1.0,))
    """
    by_epochs = {max(1, round(b * p.epochs)): b for b in sorted(findings.BUDGETS)}
    return tuple(sorted(by_epochs.values()))


def replicas(
    p: SimpleNamespace,
    truth: Mapping[str, Showers],
    selected: Mapping[str, DVAEConfig],
    fit_config: FitConfig,
    budgets: tuple[float, ...] = (1.0,),
) -> dict[tuple[str, float, int], DVAE]:
    """Each particle's selected model trained ``p.n_seeds`` times at each of ``budgets``.

    The k-th training has the seed ``findings.replica_seed(p.seed, k)`` (initial weights and
    batch order; replica 0 is the model the selection trained); the truth is the same. A budget
    below 1 trains for that fraction of the epochs (``pipeline.trained``). Every missing model
    is trained side by side (``parallel.run``).

    Returns:
        (particle, budget, replica) -> the model (eval mode).
    """
    calls = {
        (q, b, k): partial(
            trained,
            config,
            replace(fit_config, seed=findings.replica_seed(p.seed, k)),
            truth[q],
            device=p.device,
            budget=b,
        )
        for b in sorted(budgets, reverse=True)
        for q, config in selected.items()
        for k in range(p.n_seeds)
    }
    return {key: model for key, (model, _) in parallel.run(calls).items()}


def like_test(
    p: SimpleNamespace,
    truth: Mapping[str, Showers],
    particle: str,
    model: DVAE,
    replica: int = 0,
) -> np.ndarray:
    """One shower per test shower of ``particle``, at its incident energy, from ``model``
    (generator seed ``replica_seed(p.seed, replica) + TEST_SAMPLE_SEED + k`` for the k-th
    particle): (n_test, 504) MeV."""
    k = list(truth).index(particle)
    energy = truth[particle].part("test")[1]
    seed = findings.replica_seed(p.seed, replica) + TEST_SAMPLE_SEED + k
    return sample(model, len(energy), energy, seed)


def seed_samples(
    p: SimpleNamespace,
    truth: Mapping[str, Showers],
    models: Mapping[tuple[str, float, int], DVAE],
) -> dict[tuple[str, float, int], np.ndarray]:
    """Per model of :func:`replicas`: one shower per test shower of its particle, at its
    incident energy (:func:`like_test` with the model's replica): (n_test, 504) MeV."""
    return {(q, b, k): like_test(p, truth, q, model, k) for (q, b, k), model in models.items()}


def seed_numbers(
    truth: Mapping[str, Showers], samples: Mapping[tuple[str, float, int], np.ndarray]
) -> pd.DataFrame:
    """Per sample of :func:`seed_samples`: the KS statistic of every ``data.SHAPES`` variable,
    test showers against the generated showers, and the fraction of generated showers that did
    not shower (layer-1 sparsity < 0.05).

    Returns:
        One row per (particle, budget, replica), with those columns, the ``SHAPES`` columns
        and ``"non-showering"``.
    """
    shapes = {q: shower_shapes(s.part("test")[0]) for q, s in truth.items()}
    rows = []
    for (q, b, k), cells in samples.items():
        fake = shower_shapes(cells)
        rows.append(
            {"particle": q, "budget": b, "replica": k}
            | {v: metrics.ks(shapes[q][v], fake[v]) for v in SHAPES}
            | {"non-showering": non_showering_fraction(cells)}
        )
    return pd.DataFrame(rows)


def responses(
    p: SimpleNamespace,
    truth: Mapping[str, Showers],
    models: Mapping[str, Mapping[str, DVAE]],
    replica: int = 0,
) -> dict[str, EnergyResponse]:
    """calodvae Fig. 4: ``p.n_response`` showers of each particle at every requested energy
    (``RESPONSE_ENERGIES``), from every model and from SUPA.

    The k-th particle's SUPA showers at the j-th energy have seed ``p.seed + 1000 + 10 k + j``
    (the same for every replica); a user's file has none. The models generate with the
    generator seed ``replica_seed(p.seed, replica) + RESPONSE_SEED + j``.

    Args:
        models: model name -> particle -> its model.

    Returns:
        Particle -> its response.
    """
    out = {}
    for k, q in enumerate(truth):
        seeds = {e: p.seed + 1000 + 10 * k + j for j, e in enumerate(RESPONSE_ENERGIES)}
        sources = (
            {} if p.dataset_path else {e: supa_source(q, p.n_response, seeds[e], e) for e in seeds}
        )
        out[q] = EnergyResponse.measure(
            {name: m[q] for name, m in models.items()},
            RESPONSE_ENERGIES,
            p.n_response,
            findings.replica_seed(p.seed, replica) + RESPONSE_SEED,
            sources,
        )
    return out


def response_numbers(responses: Mapping[str, EnergyResponse], label: str) -> dict[str, float]:
    """The energy-response numbers of model ``label`` that the chapter's claims judge.

    Returns:
        ``em_bias_max``, ``em_bias_150``, ``em_bias_1``: the largest |mean generated / mean
        truth E_tot - 1| of e+ and γ at 25-100, 150 and 1 GeV (NaN without e+ or γ or without
        a truth); ``width_{pion,e}_{model,truth}``: σ/mean of E_tot at 50 GeV of π+ and e+.
    """
    em = [responses[q] for q in ("e+", "gamma") if q in responses]

    def largest_bias(energies: tuple[float, ...]) -> float:
        if not em or "truth" not in em[0].labels:
            return float("nan")
        return float(max(b for r in em for b in r.bias(label, energies)))

    def width(name: str, q: str) -> float:
        r = responses.get(q)
        return r.relative_width(name, 50.0) if r is not None and name in r.labels else np.nan

    numbers = {
        "em_bias_max": largest_bias((25.0, 50.0, 100.0)),
        "em_bias_150": largest_bias((150.0,)),
        "em_bias_1": largest_bias((1.0,)),
    }
    for name, q in (("pion", "pi+"), ("e", "e+")):
        numbers |= {
            f"width_{name}_model": width(label, q),
            f"width_{name}_truth": width("truth", q),
        }
    return numbers


def per_training(rows: pd.DataFrame, budget: float = 1.0) -> dict[str, tuple]:
    """The per-training fields of ``claims.dvae.Measured`` from :func:`seed_numbers`' rows at
    one budget: ``shape_ks`` and ``sparsity_ks`` (per training, every (variable, particle)
    pair, particles in the rows' order) and ``pion_low_model`` (empty without π+)."""
    shape, sparsity, pion = [], [], []
    for _, r in rows[rows["budget"] == budget].groupby("replica", sort=True):
        shape.append(tuple(float(x) for x in r[list(VARIABLES)].to_numpy().ravel()))
        sparsity.append(tuple(float(x) for x in r[list(SPARSITY)].to_numpy().ravel()))
        pion += [float(x) for x in r.loc[r["particle"] == "pi+", "non-showering"]]
    return {"shape_ks": tuple(shape), "sparsity_ks": tuple(sparsity), "pion_low_model": tuple(pion)}


def budget_curves(
    p: SimpleNamespace, rows: pd.DataFrame, pion_low_truth: float
) -> dict[str, findings.BudgetCurve]:
    """The budget curves of the claims the chapter's training budget could explain: the median
    KS statistics of the shower shapes and of the sparsities (target: the "reproduced" bound
    ``claims.dvae.KS_GOOD``; the paper gives no number) and the π+ non-showering fraction
    (target: the truth's), each over the trainings at every budget in ``rows``.

    Returns:
        Label -> curve; the budgets are the fractions of ``p.epochs`` the models really had
        (:func:`budget_fraction`). Empty when ``rows`` hold one budget only.
    """
    measured = sorted(set(rows["budget"]))
    if len(measured) < 2:
        return {}
    fractions = tuple(budget_fraction(p, b) for b in measured)
    fields = [per_training(rows, b) for b in measured]
    unit = f"{p.epochs} epochs"
    curves = {
        label: findings.BudgetCurve(
            fractions, tuple(medians(f[name]) for f in fields), KS_GOOD, unit
        )
        for label, name in (
            ("shower shapes: median KS", "shape_ks"),
            ("layer sparsity: median KS", "sparsity_ks"),
        )
    }
    if all(f["pion_low_model"] for f in fields):
        curves["π⁺ non-showering fraction"] = findings.BudgetCurve(
            fractions,
            tuple(findings.band(f["pion_low_model"]) for f in fields),
            pion_low_truth,
            unit,
        )
    return curves
