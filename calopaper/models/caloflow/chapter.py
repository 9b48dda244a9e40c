"""Chapter 5's second page (``05_supa_study``), the experiments of supa §5: CaloFlow variants
ranked on SUPA against a detailed simulator, and trained at three resolutions.

``configs(p)`` gives the page's two truths and fit settings from its resolved parameters; the
notebook and the bench build through it.

Scores (supa §4-5.1). Every model is compared with the test showers on the shower-shape
marginals of supa §4; a marginal's discrepancy is its W1 divided by the truth's standard
deviation of that marginal (``metrics.compare(metric="w1_scaled")``), so marginals in MeV, mm
and layers can be averaged: the **mean discrepancy** is the mean over the marginals, the
**average rank** ranks the models per marginal (1 = best) and averages the ranks, and the test
**NLL** is the mean negative log-likelihood per test shower. These are the definitions of
``metrics.mean_discrepancy`` (on ``"w1_scaled"`` distances) and ``metrics.average_rank``,
computed here on arrays so that every bootstrap replica is cheap.

Streams and seeds. Each simulator has its own random streams (``STREAMS``): truth and incident
energies, split, training seeds, sampling and bootstrap, so that nothing but the models makes
the two simulators' scores agree. Every variant is trained ``n_seeds`` times per simulator
(``findings.replica_seed``; ``train_all`` through ``parallel.run``), and the rankings compare
the seed means (:class:`SeedScores`). Each training k has its own truth sample as well
(``Setup.voxels(name, replica=k)``: other showers, other incident energies, another split):
the claim is about the simulators, and an order of the variants that one sample of showers
gives and another does not is not theirs. The resolution study keeps one truth for its seeds.

Uncertainties. A score's error is the standard error of its seed mean combined with a
bootstrap over the test showers (each replica resamples the test showers: truth, and the
generated shower and NLL at the same index, for every model alike). Whether the rankings carry
over is judged by Spearman's ρ of the seed means and its exact permutation p-value over the
models' orders (:func:`permutation_p`, :func:`spearman`): the chance that an order unrelated to
the other simulator's correlates as well.

The book's common scale (``calopaper.fidelity``): ``fidelity_rows`` compares each variant's
samples with its own simulator's test showers by a classifier (on cells over the incident
energy, and on the supa §4 marginals), FPD and KPD, each beside its floor from a fresh truth
sample of that simulator (``fresh_source``), through ``fidelity.scored``: every variant, with
the spread of the high-level AUC and FPD over its training seeds (``seed_spread_text``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from calopaper import fidelity, findings, parallel
from calopaper.claims.supa_study import Correlation
from calopaper.grids import downsample
from calopaper.models.caloflow.data import Voxels
from calopaper.models.caloflow.model import variant as caloflow_variant
from calopaper.models.caloflow.pipeline import evaluate_budgets
from calopaper.store import Store, default_store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "FIDELITY_COLUMNS",
    "FIDELITY_FIELDS",
    "FRESH_SEED_OFFSET",
    "SCORES",
    "SUPA_MARGINALS",
    "STREAMS",
    "Scores",
    "SeedScores",
    "Setup",
    "benched_variants",
    "budget_curves",
    "budget_reading",
    "configs",
    "fidelity_rows",
    "fresh_source",
    "generator_name",
    "marginal_keys",
    "permutation_p",
    "resolution_seeds",
    "resolution_table",
    "rho_error",
    "score",
    "seed_scores",
    "seed_spread_text",
    "spearman",
    "toy_rho",
    "toy_scores",
    "train_all",
    "variant_table",
]

CHAPTER = "05_supa_study"


#: Offsets added to the page's seed, one per simulator ("SUPA" and the detailed one): each
#: simulator draws its own truth (incident energies included), split, training seeds, sampling
#: and bootstrap. Shared streams correlate the two simulators' scores of equal models (in the toy
#: of ``toy_rho``, seven equal variants: a mean Spearman ρ of 0.85 with one seed for both
#: simulators, 0.00 with these), which would read as rankings carrying over. 5000 is half of
#: ``findings.SEED_STRIDE``: no training seed of one simulator is one of the other's, nor one
#: of a run with the seeds shifted by a few.
STREAMS = {"SUPA": 0, "detailed": 5_000}


@dataclass(frozen=True)
class Setup:
    """The page's truths and fit settings.

    Attributes:
        sources: "SUPA" (e+ of the ``calogan`` preset) and the detailed simulator: the reference
            simulator, or the user's Geant4 file (named by ``detailed``).
        detailed: the detailed simulator's name in tables and figures.
        fit: optimisation settings of every flow, with SUPA's first training seed (the speed
            chapter's models); ``fit_for`` gives each simulator's and replica's.
        seeds: simulator name -> its stream's seed (the page's seed + ``STREAMS``): the truth's,
            the split's, and the first training's; replica k trains with
            ``findings.replica_seed(seed, k)``.
        n_seeds: trainings per model (``p.n_seeds``).
    """

    sources: dict[str, Source]
    detailed: str
    fit: FitConfig
    seeds: dict[str, int]
    n_seeds: int = 1

    def seed(self, name: str, replica: int = 0) -> int:
        """The seed of simulator ``name``'s ``replica``-th training: its initial weights, batch
        order, sampling and the bootstrap of its scores."""
        return findings.replica_seed(self.seeds[name], replica)

    def fit_for(self, name: str, replica: int = 0) -> FitConfig:
        """Fit settings of simulator ``name``'s ``replica``-th training."""
        return replace(self.fit, seed=self.seed(name, replica))

    def voxels(
        self,
        name: str,
        scale: int = 1,
        layers: Sequence[int] | None = None,
        store: Store | None = None,
        replica: int = 0,
    ) -> Voxels:
        """Simulator ``name``'s showers at ``scale`` for its ``replica``-th training: simulated
        and split with ``seed(name, replica)``, so every training has its own truth (replica 0:
        the simulator's seed). A user's file is one sample, shared by every replica."""
        seed = self.seed(name, replica)
        source = self.sources[name]
        if not source.path:
            source = replace(source, seed=seed)
        return Voxels.load(source, scale, layers, seed, store)

    def replicas(self, store: Store | None = None) -> dict[str, list[Voxels]]:
        """Simulator name -> its showers for each of the ``n_seeds`` trainings (``voxels``)."""
        return {
            name: [self.voxels(name, store=store, replica=r) for r in range(self.n_seeds)]
            for name in self.sources
        }


def configs(p) -> Setup:
    """The page's truths and fit settings from its resolved parameters ``p``.

    Example:
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(dataset_path="", n_showers=100, seed=3, n_seeds=3, epochs=2,
        ...                     batch_size=16, lr=1e-3)
        >>> s = configs(p)
        >>> s.seeds, s.sources["SUPA"].seed, s.fit_for("reference simulator", 2).seed
        ({'reference simulator': 5003, 'SUPA': 3}, 3, 25003)
    """
    detailed = "Geant4 file" if p.dataset_path else "reference simulator"
    seeds = {detailed: p.seed + STREAMS["detailed"], "SUPA": p.seed + STREAMS["SUPA"]}
    if p.dataset_path:
        reference = Source(path=p.dataset_path)
    else:
        reference = Source("gflash", "calogan", p.n_showers, seeds[detailed])
    supa = Source("supa", "calogan", p.n_showers, seeds["SUPA"], overrides={"particle": "e+"})
    return Setup(
        sources={detailed: reference, "SUPA": supa},
        detailed=detailed,
        fit=FitConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=seeds["SUPA"]),
        seeds=seeds,
        n_seeds=p.n_seeds,
    )


#: Prefixes of the supa §4 variables among ``observables.shower_shapes``' keys (all but
#: E_tot / E_inc, which supa does not use).
SUPA_MARGINALS = (
    "E_",
    "f_",
    "E_ratio_",
    "brightest_",
    "depth",
    "l_d",
    "s_d",
    "sigma_sd",
    "sparsity_",
    "eta_mean_",
    "phi_mean_",
    "width_eta_",
    "width_phi_",
)

#: The three scores of supa Figs. 6-8 and their axis labels.
SCORES = {
    "nll": "test NLL [nats/shower]",
    "mean_discrepancy": "mean discrepancy [σ]",
    "average_rank": "average rank",
}


def marginal_keys(*truths: Mapping[str, np.ndarray]) -> list[str]:
    """supa §4 marginals that can be scored in every one of ``truths``.

    A marginal is kept when it has at least 10 finite values and a non-zero spread in each
    truth, and when it is not an exact copy of a marginal kept before it (one layer's E_tot
    is its E_0).

    Example:
        >>> truth = {"E_0": np.arange(20.0), "E_tot": np.arange(20.0), "f_0": np.ones(20)}
        >>> marginal_keys(truth)
        ['E_0']
    """
    if not truths:
        raise ValueError("marginal_keys needs at least one truth (name -> values)")
    keys = []
    for key in truths[0]:
        if key == "E_tot_over_E_inc" or not key.startswith(SUPA_MARGINALS):
            continue
        ok = True
        for truth in truths:
            values = np.asarray(truth.get(key, []), np.float64)
            finite = values[np.isfinite(values)]
            if finite.size < 10 or not np.std(finite) > 0:
                ok = False
                break
            if any(np.array_equal(values, truth[k], equal_nan=True) for k in keys):
                ok = False
                break
        if ok:
            keys.append(key)
    return keys


def _w1(truth: np.ndarray, model: np.ndarray) -> float:
    """W1 of the finite values; inf when the model has none (a layer it always leaves empty)."""
    truth, model = truth[np.isfinite(truth)], model[np.isfinite(model)]
    if truth.size == 0 or model.size == 0:
        return np.inf
    if truth.size == model.size:  # equal weights: the mean gap between sorted values
        return float(np.abs(np.sort(truth) - np.sort(model)).mean())
    return float(stats.wasserstein_distance(truth, model))


def _distances(truth: np.ndarray, models: np.ndarray) -> np.ndarray:
    """(K, N) truth and (M, K, N) model values -> (K, M) W1, all at once where nothing is NaN."""
    d = np.abs(np.sort(models, axis=2) - np.sort(truth, axis=1)[None]).mean(axis=2).T
    for k, j in zip(*np.nonzero(~np.isfinite(d)), strict=True):
        d[k, j] = _w1(truth[k], models[j, k])
    return d


def _ranks(distances: np.ndarray) -> np.ndarray:
    """(n_marginals, n_models) distances -> per-model average rank (ties share the mean rank)."""
    return stats.rankdata(distances, axis=1).mean(axis=0)


@dataclass(frozen=True)
class Scores:
    """Scores of several models against one truth, with bootstrap replicas.

    Attributes:
        models: model names, in order.
        distances: marginal x model table of scaled W1 (units of the truth's std).
        nll: model -> mean test NLL, nats per shower (NaN when not given).
        mean_discrepancy: model -> mean of ``distances`` over the marginals.
        average_rank: model -> mean rank over the marginals (1 = best).
        replicas: score name ("nll", "mean_discrepancy", "average_rank") -> (n_boot, n_models).
    """

    models: tuple[str, ...]
    distances: pd.DataFrame
    nll: pd.Series
    mean_discrepancy: pd.Series
    average_rank: pd.Series
    replicas: Mapping[str, np.ndarray]

    def error(self, name: str) -> pd.Series:
        """Bootstrap standard deviation of a score per model."""
        return pd.Series(np.nanstd(self.replicas[name], axis=0, ddof=1), index=list(self.models))

    def table(self) -> pd.DataFrame:
        """One row per model: each score and its bootstrap error."""
        out = pd.DataFrame(index=list(self.models))
        for name in ("nll", "mean_discrepancy", "average_rank"):
            out[name] = getattr(self, name)
            out[f"{name} error"] = self.error(name)
        return out


def score(
    truth: Mapping[str, np.ndarray],
    models: Mapping[str, Mapping[str, np.ndarray]],
    keys: Sequence[str],
    nll: Mapping[str, np.ndarray] | None = None,
    *,
    n_boot: int = 50,
    seed: int = 0,
) -> Scores:
    """Score models against a truth on ``keys`` (supa §5.1: NLL, mean discrepancy, average rank).

    Args:
        truth: marginal -> (N,) values of the test showers.
        models: model name -> marginal -> (N,) values of one generated shower per test shower.
        keys: the marginals (e.g. :func:`marginal_keys`).
        nll: model name -> (N,) NLL of each test shower, nats (optional).
        n_boot: bootstrap replicas over the test showers (>= 2).
        seed: seed of the replicas.

    Returns:
        :class:`Scores`.
    """
    if n_boot < 2:
        msg = f"n_boot={n_boot}; expected >= 2 replicas for errors and intervals"
        raise ValueError(msg)
    names = tuple(models)
    if not names or not keys:
        msg = f"score needs models and marginals, got models {names} and keys {list(keys)}"
        raise ValueError(msg)
    n = len(np.asarray(truth[keys[0]]))
    t = np.stack([np.asarray(truth[k], np.float64) for k in keys])  # (K, N)
    scale = np.array([np.nanstd(row) for row in t])
    m = np.stack([np.stack([np.asarray(models[x][k], np.float64) for k in keys]) for x in names])
    if m.shape[2] != n:
        msg = f"models have {m.shape[2]} showers, truth {n}; expected one per test shower"
        raise ValueError(msg)
    nll_matrix = np.stack([np.asarray((nll or {}).get(x, np.full(n, np.nan))) for x in names])

    def scores(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        d = _distances(t[:, index], m[:, :, index]) / scale[:, None]
        mean_nll = nll_matrix[:, index].mean(axis=1) if nll else np.full(len(names), np.nan)
        return d, mean_nll, d.mean(axis=0), _ranks(d)

    d, mean_nll, md, rank = scores(np.arange(n))
    rng = np.random.default_rng(seed)
    reps = [scores(rng.integers(0, n, n))[1:] for _ in range(n_boot)]
    replicas = {name: np.stack([r[i] for r in reps]) for i, name in enumerate(SCORES)}
    return Scores(
        names,
        pd.DataFrame(d, index=list(keys), columns=list(names)),
        pd.Series(mean_nll, index=list(names)),
        pd.Series(md, index=list(names)),
        pd.Series(rank, index=list(names)),
        replicas,
    )


@dataclass(frozen=True)
class SeedScores:
    """One simulator's scores of the same models, once per training seed.

    Attributes:
        per_seed: the :class:`Scores` of each training seed (replica 0, 1, ...), every seed
            scoring the same models against its own truth's test showers.
    """

    per_seed: tuple[Scores, ...]

    def __post_init__(self) -> None:
        if not self.per_seed:
            raise ValueError("SeedScores needs the scores of at least one training seed")
        models = {s.models for s in self.per_seed}
        if len(models) != 1:
            msg = f"every seed must score the same models, got {sorted(models)}"
            raise ValueError(msg)

    @property
    def models(self) -> tuple[str, ...]:
        """Model names, in order."""
        return self.per_seed[0].models

    @property
    def n_seeds(self) -> int:
        """Training seeds."""
        return len(self.per_seed)

    def values(self, name: str) -> pd.DataFrame:
        """Seed x model table of score ``name``."""
        return pd.DataFrame([getattr(s, name) for s in self.per_seed]).reset_index(drop=True)

    def mean(self, name: str) -> pd.Series:
        """Score ``name`` per model, averaged over the seeds."""
        return self.values(name).mean(axis=0)

    def band(self, name: str, model: str) -> findings.Band:
        """A model's score over the seeds (``findings.band``) with the test-shower bootstrap
        error: the mean of the seeds' bootstrap errors (kept whole, not divided by √n, so that
        the band stays as wide as when the seeds shared their test showers)."""
        boot = float(np.mean([s.error(name)[model] for s in self.per_seed]))
        return findings.band(self.values(name)[model].to_numpy(), bootstrap_error=boot)

    def error(self, name: str) -> pd.Series:
        """Standard error of each model's seed mean: s/√n over seeds ⊕ the bootstrap error."""
        return pd.Series([self.band(name, m).error for m in self.models], index=list(self.models))

    def distances(self) -> pd.DataFrame:
        """Marginal x model scaled W1, averaged over the seeds."""
        return sum(s.distances for s in self.per_seed) / self.n_seeds

    def table(self) -> pd.DataFrame:
        """One row per model: each score's seed mean and its standard error."""
        out = pd.DataFrame(index=list(self.models))
        for name in SCORES:
            out[name] = self.mean(name)
            out[f"{name} error"] = self.error(name)
        return out


def permutation_p(
    x: Sequence[float],
    y: Sequence[float],
    *,
    rho: float | None = None,
    exact_up_to: int = 9,
    n_resamples: int = 100_000,
) -> float:
    """One-sided p-value of Spearman's ρ(x, y) under the null that the order of ``x`` is
    unrelated to that of ``y``: the share of the n! pairings of ``x``'s ranks with ``y``'s
    whose ρ is at least the observed one, or at least ``rho`` where given (exact for n <=
    ``exact_up_to``, else ``n_resamples`` random pairings). Ties keep their mean ranks. NaN when
    either is constant.

    Example:
        >>> permutation_p([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])  # 1 of 120 orders
        0.008333333333333333
        >>> permutation_p([1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1])
        1.0
    """
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if len(rx) != len(ry) or len(rx) < 2:
        msg = f"permutation_p needs two equally long sequences of >= 2, got {len(rx)}, {len(ry)}"
        raise ValueError(msg)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan")
    n = len(rx)
    if n <= exact_up_to:
        orders = np.array(list(itertools.permutations(range(n))), dtype=np.int8)
        extra = 0
    else:  # Monte Carlo: the observed pairing counts once among the resamples
        rng = np.random.default_rng(0)
        orders = np.argsort(rng.random((n_resamples, n)), axis=1)
        extra = 1
    observed = float(_rank_correlations(rx, ry)) if rho is None else rho
    rhos = _rank_correlations(rx[orders], ry)
    return float((np.sum(rhos >= observed - 1e-12) + extra) / (len(rhos) + extra))


def _rank_correlations(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Pearson correlation of ranks along the last axis (Spearman's ρ), row by row with
    broadcasting; NaN for a constant row."""
    cx = rx - rx.mean(axis=-1, keepdims=True)
    cy = ry - ry.mean(axis=-1, keepdims=True)
    norm = np.sqrt((cx**2).sum(axis=-1) * (cy**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (cx * cy).sum(axis=-1) / norm


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def spearman(
    a: SeedScores, b: SeedScores, name: str, models: Sequence[str] | None = None
) -> Correlation:
    """Spearman ρ of score ``name`` between two simulators' seed means, over the models both
    scored (``models`` restricts it), with its exact permutation p-value, ρ without the last
    (smallest) model, and each seed's ρ.

    Example:
        >>> idx = ("1", "2", "3")
        >>> s = Scores(idx, pd.DataFrame(), *[pd.Series([1.0, 2.0, 3.0], index=idx)] * 3,
        ...            {"nll": np.zeros((2, 3))})
        >>> c = spearman(SeedScores((s,)), SeedScores((s,)), "nll")
        >>> c.rho, round(c.p, 3), c.per_seed
        (1.0, 0.167, (1.0,))
    """
    shared = [x for x in a.models if x in b.models and (models is None or x in models)]
    if len(shared) < 3:
        msg = f"Spearman needs >= 3 shared models, got {shared}"
        raise ValueError(msg)
    x, y = a.mean(name)[shared].to_numpy(), b.mean(name)[shared].to_numpy()
    rho = _rho(x, y)
    p = permutation_p(x, y) if np.isfinite(rho) else float("nan")
    error = rho_error(a, b, name, shared)
    p_band = tuple(
        permutation_p(x, y, rho=rho + k * 2 * error) if np.isfinite(rho) else float("nan")
        for k in (-1, 1)
    )
    without = shared[-1]
    rho_without = _rho(x[:-1], y[:-1])
    per_seed = tuple(
        _rho(getattr(sa, name)[shared].to_numpy(), getattr(sb, name)[shared].to_numpy())
        for sa, sb in zip(a.per_seed, b.per_seed, strict=False)
    )
    return Correlation(rho, p, rho_without, without, per_seed, tuple(shared), error, p_band)


def rho_error(
    a: SeedScores, b: SeedScores, name: str, models: Sequence[str], *, n_draws: int = 2000
) -> float:
    """Standard error of Spearman's ρ between two simulators' seed means of score ``name``, from
    the training seeds: the spread of ρ when each simulator's seeds are drawn again with
    replacement, a seed's scores of every model together (they share that seed's truth and
    test showers, so their common shifts do not reorder the models), times √(n/(n − 1)) for n
    seeds (which makes it s/√n for a mean); 0 with one seed on either simulator.

    Example:
        >>> idx = ("1", "2", "3")
        >>> s = Scores(idx, pd.DataFrame(), *[pd.Series([1.0, 2.0, 3.0], index=idx)] * 3,
        ...            {"nll": np.zeros((2, 3))})
        >>> rho_error(SeedScores((s, s)), SeedScores((s, s)), "nll", idx)
        0.0
    """
    values = [s.values(name)[list(models)].to_numpy() for s in (a, b)]
    n = min(len(v) for v in values)
    if n < 2:
        return 0.0
    rng = np.random.default_rng(0)
    rx, ry = (
        stats.rankdata(v[rng.integers(0, len(v), (n_draws, len(v)))].mean(axis=1), axis=1)
        for v in values
    )
    rhos = _rank_correlations(rx, ry)
    rhos = rhos[np.isfinite(rhos)]
    return float(np.std(rhos) * np.sqrt(n / (n - 1))) if rhos.size else float("nan")


def resolution_table(
    voxels: Mapping[int, Voxels],
    generated: Mapping[int, np.ndarray],
    *,
    n_boot: int = 50,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """supa Table 2: mean discrepancy by test resolution (rows) and training resolution (columns).

    The diagonal compares a model's samples with the test showers at its own resolution; the
    first row sums a 2x or 3x model's samples into 1x cells (``grids.downsample``) and compares
    them with the 1x test showers. Other entries are NaN (3x does not downsample to 2x).

    Args:
        voxels: scale -> the same showers binned at that scale (1 must be present).
        generated: scale -> (n_test, n_voxels) showers of the model trained at that scale,
            one per test shower, at its energy.
        n_boot, seed: bootstrap of the errors (see :func:`score`).

    Returns:
        (mean discrepancy, bootstrap error), both indexed "1x", "2x", ... on both axes.
    """
    if 1 not in voxels:
        msg = f"resolution_table needs the 1x showers, got scales {sorted(voxels)}"
        raise ValueError(msg)
    names = [f"{s}x" for s in sorted(voxels)]
    value = pd.DataFrame(np.nan, index=names, columns=names)
    error = value.copy()
    base = voxels[1]
    for scale, cells in generated.items():
        native = voxels[scale]
        cases = {scale: (native, cells)}
        if scale != 1:
            images = [downsample(im, scale) for im in native.images(cells)]
            cases[1] = (base, np.concatenate([im.reshape(len(cells), -1) for im in images], 1))
        for test_scale, (v, model_cells) in cases.items():
            truth_cells, energy = v.part("test")
            truth = v.marginals(truth_cells, energy)
            keys = marginal_keys(truth)
            scores = score(truth, {"model": v.marginals(model_cells, energy)}, keys,
                           n_boot=n_boot, seed=seed)  # fmt: skip
            value.loc[f"{test_scale}x", f"{scale}x"] = scores.mean_discrepancy["model"]
            error.loc[f"{test_scale}x", f"{scale}x"] = scores.error("mean_discrepancy")["model"]
    return value, error


def train_all(
    setup: Setup,
    p,
    data: Mapping[str, Sequence[Voxels]],
    resolution: Mapping[int, Voxels],
    budgets: Sequence[float] = findings.BUDGETS,
) -> tuple[dict, dict]:
    """Every training of the page, ``setup.n_seeds`` per model, through ``parallel.run``.

    Each variant of ``p.variants`` on each simulator of ``data`` (simulator name -> its showers
    per training, ``Setup.replicas``; training k on ``data[name][k]`` with
    ``setup.fit_for(name, k)``) is evaluated at each of ``budgets`` (the weights after that
    fraction of the epochs, from the same training); variant ``p.resolution_variant`` is
    trained on SUPA at each scale of ``resolution``. The slowest trainings are handed out first.

    Returns:
        ``{(simulator, variant, seed): {budget: Evaluation}}`` and
        ``{(scale, seed): Evaluation}`` (full budget).
    """
    jobs = {}
    for s in sorted(resolution, reverse=True):
        v = resolution[s]
        for r in range(setup.n_seeds):
            jobs["resolution", s, r] = partial(
                evaluate_budgets,
                caloflow_variant(p.resolution_variant, v.layer_sizes),
                setup.fit_for("SUPA", r),
                v,
                seed=setup.seed("SUPA", r),
                device=p.device,
            )
    for k in sorted(p.variants):  # largest (slowest) first
        for name, per_replica in data.items():
            for r, v in enumerate(per_replica):
                jobs["variant", name, k, r] = partial(
                    evaluate_budgets,
                    caloflow_variant(k, v.layer_sizes),
                    setup.fit_for(name, r),
                    v,
                    budgets=tuple(budgets),
                    seed=setup.seed(name, r),
                    device=p.device,
                )
    done = parallel.run(jobs)
    variants = {key[1:]: e for key, e in done.items() if key[0] == "variant"}
    scales = {key[1:]: e[1.0] for key, e in done.items() if key[0] == "resolution"}
    return variants, scales


def seed_scores(
    setup: Setup,
    data: Mapping[str, Sequence[Voxels]],
    truths: Mapping[str, Sequence[Mapping[str, np.ndarray]]],
    keys: Sequence[str],
    evaluations: Mapping[tuple[str, int, int], Mapping[float, object]],
    variants: Sequence[int],
    *,
    budget: float = 1.0,
    n_boot: int = 50,
) -> dict[str, SeedScores]:
    """Each simulator's :class:`SeedScores` of ``variants`` at ``budget``: seed k's scores
    compare seed k's samples with seed k's test showers (``truths[name][k]``, the marginals of
    ``data[name][k]``'s test part), bootstrapped with that simulator's seed k (``setup.seed``)."""
    out = {}
    for name, per_replica in data.items():
        per_seed = []
        for r, v in enumerate(per_replica):
            generated = {str(k): evaluations[name, k, r][budget] for k in variants}
            per_seed.append(
                score(
                    truths[name][r],
                    {k: v.marginals(e.cells, e.energy) for k, e in generated.items()},
                    keys,
                    {k: e.nll for k, e in generated.items()},
                    n_boot=n_boot,
                    seed=setup.seed(name, r),
                )
            )
        out[name] = SeedScores(tuple(per_seed))
    return out


def budget_curves(
    scores: Mapping[float, Mapping[str, SeedScores]], detailed: str, unit: str
) -> dict[str, findings.BudgetCurve]:
    """Score name -> the budget curve of its cross-simulator ρ: at each budget the ρ of each
    training seed (seed k on the detailed simulator against seed k on SUPA) as a band, against
    the paper's "roughly monotonic" read as ρ = 1."""
    budgets = tuple(sorted(scores))
    curves = {}
    for name in SCORES:
        bands = []
        for b in budgets:
            c = spearman(scores[b][detailed], scores[b]["SUPA"], name)
            bands.append(findings.band(c.per_seed))
        curves[name] = findings.BudgetCurve(budgets, tuple(bands), target=1.0, unit=unit)
    return curves


def variant_table(
    data: Mapping[str, Voxels],
    evaluations: Mapping[tuple[str, int, int], object],
    variants: Sequence[int],
    n_seeds: int,
) -> pd.DataFrame:
    """The variants' sizes, and per simulator the training time (mean over seeds, s) and each
    seed's best epoch (1-based), from ``{(simulator, variant, seed): Evaluation}``."""
    rows = {}
    for k in variants:
        config = caloflow_variant(k)
        first = next(iter(data))
        rows[k] = {
            "flow II transforms": config.transforms_voxels,
            "flow II hidden units": config.hidden_voxels,
            "flow I transforms": config.transforms_energy,
            "flow I hidden units": config.hidden_energy,
            "parameters": evaluations[first, k, 0].parameters,
        }
        for name in data:
            runs = [evaluations[name, k, r] for r in range(n_seeds)]
            rows[k][f"training [s], {name}"] = round(float(np.mean([e.seconds for e in runs])), 1)
            rows[k][f"best epoch, {name}"] = ", ".join(str(e.best_epoch + 1) for e in runs)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("variant")


#: The toy's two "simulators": one marginal shape each (a normal and a log-normal).
_TOY_SHAPES = {"reference simulator": lambda z: np.exp(0.5 * z), "SUPA": lambda z: z}


def toy_scores(
    seeds: Mapping[str, int], n_variants: int = 7, *, n: int = 400, n_seeds: int = 1
) -> dict[str, SeedScores]:
    """Equal toy variants on two toy simulators, scored as the page scores them.

    Each simulator (``seeds``: "reference simulator" and "SUPA" -> its stream's seed) draws
    its test showers (three marginals) from its seed, and every variant, the same model for
    all, draws its samples from the generator of (training seed, variant), the training seed
    being ``findings.replica_seed(seed, k)`` for seed k. Whatever orders the variants is the
    draw of the random numbers: with the same seed for both simulators, both see the same
    draws (``toy_rho``).
    """
    out = {}
    for name, seed in seeds.items():
        shape = _TOY_SHAPES[name]
        truth_rng = np.random.default_rng([seed, 0])
        truth = {f"x_{i}": shape(truth_rng.normal(size=n)) for i in range(3)}
        per_seed = []
        for r in range(n_seeds):
            s = findings.replica_seed(seed, r)
            models = {}
            for k in range(1, n_variants + 1):
                rng = np.random.default_rng([s, k])
                models[str(k)] = {key: shape(rng.normal(size=n)) for key in truth}
            per_seed.append(score(truth, models, list(truth), n_boot=2, seed=s))
        out[name] = SeedScores(tuple(per_seed))
    return out


def toy_rho(n_variants: int = 7, repeats: int = 200, seed: int = 0) -> dict[str, float]:
    """Mean Spearman ρ of the mean discrepancy of equal toy variants (``toy_scores``) over
    ``repeats`` page seeds, with the two simulators' streams shared (one seed for both) and
    separate (``STREAMS``). Equal models should give ρ near 0; shared streams do not.

    Example:
        >>> r = toy_rho(repeats=20)
        >>> r["shared"] > 0.5 > abs(r["separate"])
        True
    """
    rhos = {"shared": [], "separate": []}
    for i in range(repeats):
        page = seed + i
        for label, offsets in (("shared", {"detailed": 0, "SUPA": 0}), ("separate", STREAMS)):
            seeds = {
                "reference simulator": page + offsets["detailed"],
                "SUPA": page + offsets["SUPA"],
            }
            s = toy_scores(seeds, n_variants)
            rhos[label].append(
                spearman(s["reference simulator"], s["SUPA"], "mean_discrepancy").rho
            )
    return {label: float(np.nanmean(r)) for label, r in rhos.items()}


def resolution_seeds(
    setup: Setup,
    voxels: Mapping[int, Voxels],
    evaluations: Mapping[tuple[int, int], object],
    *,
    n_boot: int = 50,
) -> tuple[list[pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    """supa Table 2 once per training seed (:func:`resolution_table` of seed k's models, from
    ``{(scale, seed): Evaluation}``, bootstrapped with SUPA's seed k).

    Returns:
        The tables of the seeds, their mean, and each entry's standard error: the spread over
        seeds (s/√n) combined with the seeds' mean bootstrap error.
    """
    values, errors = [], []
    for r in range(setup.n_seeds):
        generated = {s: evaluations[s, r].cells for s in voxels}
        value, error = resolution_table(
            voxels, generated, n_boot=n_boot, seed=setup.seed("SUPA", r)
        )
        values.append(value)
        errors.append(error)
    stacked = np.stack([v.to_numpy() for v in values])
    mean = values[0] * 0 + stacked.mean(axis=0)
    spread = stacked.std(axis=0, ddof=1) if len(values) > 1 else np.zeros_like(stacked[0])
    boot = np.mean([e.to_numpy() for e in errors], axis=0)
    total = values[0] * 0 + np.hypot(spread / np.sqrt(len(values)), boot)
    return values, mean, total


def budget_reading(
    rhos: Mapping[str, Sequence[float]], best_epochs: Sequence[int], epochs: int
) -> str:
    """What the budget curve says about more epochs, in words: from ρ of the seed means at
    ¼ ... 1 × the epochs (score -> values) and the largest variant's best epochs (1-based) on
    the detailed simulator.

    Example:
        >>> budget_reading({"nll": [0.9, 0.7]}, [4, 4, 5], 8).split(";")[0]
        'ρ falls with training for every score'
    """
    change = [r[-1] - r[0] for r in rhos.values()]
    if all(c < 0 for c in change):
        text = (
            "ρ falls with training for every score; early in training the variants are ordered "
            "mostly by how fast they learn, much the same on both simulators, so a shortfall of "
            "ρ at the full budget is no sign of too few epochs"
        )
    elif all(c > 0 for c in change):
        text = (
            "ρ rises with training for every score: more epochs may bring the rankings closer, "
            "as far as the curve reaches"
        )
    else:
        text = "ρ rises with training for some scores and falls for others"
    if max(best_epochs) < epochs:
        text += (
            f". The largest variant's best validation epochs on the reference simulator were "
            f"{', '.join(map(str, best_epochs))} of {epochs}: its validation loss did not improve "
            "after them"
        )
    else:
        text += (
            f". The largest variant still improved on the reference simulator's validation "
            f"showers in the last epochs (best epochs {', '.join(map(str, best_epochs))} of "
            f"{epochs})"
        )
    return text + "."


#: Added to the page's seed for the fresh truth samples of the common scale's floors.
FRESH_SEED_OFFSET = 7919
#: Columns of ``fidelity_rows`` before those of ``fidelity.scored``.
FIDELITY_FIELDS = (
    "generator",
    "model",
    "variant",
    "simulator",
    "segmentation",
    "layer",
    "particle",
)
#: Columns of ``fidelity_rows``.
FIDELITY_COLUMNS = (*FIDELITY_FIELDS, *fidelity.SCORED_COLUMNS)
#: Truth names in generator names (the speed chapter's rows), by simulator.
_TRUTH_NAMES = {"supa": "SUPA", "gflash": "reference"}


def benched_variants(variants: Sequence[int]) -> list[int]:
    """The largest and the smallest of ``variants`` (1 is the largest): the speed chapter's rows.

    Example:
        >>> benched_variants([1, 3, 5, 7, 9])
        [1, 9]
    """
    return sorted({min(variants), max(variants)})


def generator_name(variant: int, source: Source) -> str:
    """A trained variant's name in the speed chapter and on the common scale.

    Example:
        >>> generator_name(9, Source("gflash", "calogan", 10, 0))
        'CaloFlow 9 (reference calogan)'
    """
    if source.path:
        return f"CaloFlow {variant} ({Path(source.path).name})"
    return f"CaloFlow {variant} ({_TRUTH_NAMES[source.simulator]} {source.preset})"


def fresh_source(source: Source, n: int, seed: int) -> Source | None:
    """An independent truth sample of ``source``'s simulator: ``n`` showers, another ``seed``.

    None for a user's file: a file holds one sample, and halves of it are not independent of
    the showers a model was trained on.
    """
    return None if source.path else replace(source, n=n, seed=seed)


def _features(
    voxels: Voxels, cells: np.ndarray, energy: np.ndarray, keys: Sequence[str]
) -> fidelity.Features:
    """(cells / E_inc, marginals ``keys``) of (N, n_voxels) cells [MeV] at energies [GeV]."""
    marginals = voxels.marginals(cells, energy)
    return fidelity.low_level(cells, energy * 1e3), {k: marginals[k] for k in keys}


def fidelity_rows(
    data: Mapping[str, Voxels],
    generated: Mapping[tuple[str, int], Sequence[tuple[np.ndarray, np.ndarray]]],
    keys: Sequence[str],
    *,
    seed: int,
    store: Store | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Every trained variant on the book's common scale (``calopaper.fidelity.scored``).

    Each variant's showers are compared with its own simulator's test showers; the floors come
    from a fresh sample of that simulator (``fresh_source``, seed ``seed + FRESH_SEED_OFFSET``,
    as many showers as the test part, energies drawn as the truth's), simulated through the
    store. ``scored`` cuts the samples to one size, keeps every measurement in the store (one
    floor per simulator) and spreads the high-level AUC and FPD over the training seeds.

    Args:
        data: simulator name -> its showers (the test part is the truth).
        generated: (simulator name, variant) -> one (cells (N, n_voxels) MeV, energies (N,)
            GeV) per training seed, seed 0 first, one generated shower per test shower of that
            seed's truth (``Setup.replicas``); every seed is compared with seed 0's test
            showers, whose energies are drawn from the same spectrum.
        keys: the high-level features: supa §4 marginals (``marginal_keys``).
        seed: seeds the fresh sample (offset) and the classifiers.
        store: where the fresh showers and the measurements are kept (default: the book's).

    Returns:
        One row per variant and simulator with an independent sample (``FIDELITY_COLUMNS``:
        NaN numbers and a note below ``fidelity.MIN_SHOWERS`` showers), and a note per row
        left out or left empty.
    """
    store = store or default_store()
    rows, jobs, notes, truths = {}, {}, [], {}
    for (name, variant), samples in generated.items():
        voxels = data[name]
        label = generator_name(variant, voxels.source)
        if name not in truths:
            truths[name] = _truth_and_fresh(voxels, keys, seed, store)
        if truths[name] is None:
            notes.append(f"{label}: {voxels.source.description} has no independent sample")
            continue
        replicas = [_features(voxels, *sample, keys) for sample in samples]
        jobs[label] = (*truths[name], replicas)
        rows[label] = {
            "generator": label,
            "model": "CaloFlow",
            "variant": variant,
            "simulator": name,
            "segmentation": f"calogan {voxels.scale}x",
            "layer": ", ".join(map(str, voxels.grids)),
            "particle": voxels.source.key.get("config", {}).get("particle", ""),
        }
    scores = fidelity.scored_all(jobs, seed=seed, store=store)
    notes += [f"{label}: {score['note']}" for label, score in scores.items() if score["note"]]
    rows = [rows[label] | scores[label] for label in rows]
    return pd.DataFrame(rows, columns=list(FIDELITY_COLUMNS)), notes


def _truth_and_fresh(
    voxels: Voxels, keys: Sequence[str], seed: int, store: Store
) -> tuple[fidelity.Features, fidelity.Features] | None:
    """The features of ``voxels``' test showers and of a fresh sample of as many showers of its
    simulator (seed ``seed + FRESH_SEED_OFFSET``); None for a file (``fresh_source``)."""
    cells, energy = voxels.part("test")
    source = fresh_source(voxels.source, len(energy), seed + FRESH_SEED_OFFSET)
    if source is None:
        return None
    fresh = Voxels.load(source, voxels.scale, list(voxels.grids), store=store)
    truth = _features(voxels, cells, energy, keys)
    return truth, _features(voxels, fresh.cells, fresh.incident_energy, keys)


def seed_spread_text(table: pd.DataFrame) -> str:
    """The page's sentence on the largest spread over the training seeds in ``fidelity_rows``'
    ``table``: the row whose high-level AUC varies most between the seeds, beside the range of
    the seed-0 AUCs of the variants on that row's simulator.

    Example:
        >>> t = pd.DataFrame({"generator": ["a", "b"], "simulator": ["S", "S"], "seeds": [3, 3],
        ...                   "AUC high": [0.6, 0.9], "AUC high seed s": [0.02, 0.01]})
        >>> seed_spread_text(t)[:72]
        'Between its 3 training seeds the high-level AUC varies most for a (stand'
    """
    spread = table.dropna(subset=["AUC high seed s"])
    if spread.empty:
        return "With one training per variant the table has no spread over the seeds."
    row = spread.loc[spread["AUC high seed s"].idxmax()]
    aucs = table.loc[table["simulator"] == row["simulator"], "AUC high"]
    return (
        f"Between its {int(row['seeds'])} training seeds the high-level AUC varies most for "
        f"{row['generator']} (standard deviation {row['AUC high seed s']:.3f}), against a range "
        f"of {aucs.max() - aucs.min():.3f} between the variants on the same simulator."
    )
