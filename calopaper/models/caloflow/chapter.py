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

Uncertainties come from one bootstrap over the test showers: each replica resamples the test
showers (truth, and the generated shower and NLL at the same index, for every model alike)
and recomputes every score. A Spearman correlation between two data sets' scores gets a
percentile interval from pairing the replicas of the two data sets.

The book's common scale (``calopaper.fidelity``): ``fidelity_rows`` compares each variant's
samples with its own simulator's test showers by a classifier (on cells over the incident
energy, and on the supa §4 marginals), FPD and KPD, each beside its floor from a fresh truth
sample of that simulator (``fresh_source``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from calopaper import fidelity
from calopaper.figures import digest
from calopaper.grids import downsample
from calopaper.models.caloflow.data import Voxels
from calopaper.store import Store, default_store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "FIDELITY_FIELDS",
    "FRESH_SEED_OFFSET",
    "SCORES",
    "SUPA_MARGINALS",
    "Correlation",
    "Scores",
    "Setup",
    "benched_variants",
    "configs",
    "fidelity_rows",
    "fidelity_variants",
    "fresh_source",
    "generator_name",
    "marginal_keys",
    "resolution_table",
    "score",
    "spearman",
]

CHAPTER = "05_supa_study"


@dataclass(frozen=True)
class Setup:
    """The page's truths and fit settings.

    Attributes:
        sources: "SUPA" (e+ of the ``calogan`` preset) and the detailed simulator: the reference
            simulator, or the user's Geant4 file (named by ``detailed``).
        detailed: the detailed simulator's name in tables and figures.
        fit: optimisation settings of every flow.
    """

    sources: dict[str, Source]
    detailed: str
    fit: FitConfig


def configs(p) -> Setup:
    """The page's truths and fit settings from its resolved parameters ``p``."""
    detailed = "Geant4 file" if p.dataset_path else "reference simulator"
    if p.dataset_path:
        reference = Source(path=p.dataset_path)
    else:
        reference = Source("gflash", "calogan", p.n_showers, p.seed)
    supa = Source("supa", "calogan", p.n_showers, p.seed, overrides={"particle": "e+"})
    return Setup(
        sources={detailed: reference, "SUPA": supa},
        detailed=detailed,
        fit=FitConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=p.seed),
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
class Correlation:
    """Spearman ρ between two data sets' scores of the same models, with a bootstrap interval."""

    rho: float
    low: float
    high: float
    level: float

    def __str__(self) -> str:
        return f"ρ = {self.rho:.2f} [{self.low:.2f}, {self.high:.2f}]"


def spearman(
    a: Scores, b: Scores, name: str, level: float = 0.9, models: Sequence[str] | None = None
) -> Correlation:
    """Spearman ρ of score ``name`` between two data sets, over the models both scored.

    ``models`` restricts it to some of them (e.g. all but the smallest variant).

    The interval is the central ``level`` percentile interval of ρ over paired replicas
    (replica i of ``a`` with replica i of ``b``); replicas where a score is constant (ρ
    undefined) are left out.

    Example:
        >>> idx = ["1", "2", "3"]
        >>> s = Scores(tuple(idx), pd.DataFrame(), *[pd.Series([1.0, 2.0, 3.0], index=idx)] * 3,
        ...            {"nll": np.array([[1.0, 2, 3], [1, 3, 2]])})
        >>> spearman(s, s, "nll").rho
        1.0
    """
    models = [x for x in a.models if x in b.models and (models is None or x in models)]
    if len(models) < 3:
        msg = f"Spearman needs >= 3 shared models, got {models}"
        raise ValueError(msg)
    x, y = getattr(a, name)[models].to_numpy(), getattr(b, name)[models].to_numpy()
    rho = float(stats.spearmanr(x, y).statistic)
    ia = [a.models.index(mm) for mm in models]
    ib = [b.models.index(mm) for mm in models]
    ra, rb = a.replicas[name][:, ia], b.replicas[name][:, ib]
    count = min(len(ra), len(rb))
    rhos = []
    for i in range(count):
        if np.ptp(ra[i]) > 0 and np.ptp(rb[i]) > 0:
            rhos.append(stats.spearmanr(ra[i], rb[i]).statistic)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(rhos, [tail, 100 - tail]) if rhos else (np.nan, np.nan)
    return Correlation(rho, float(low), float(high), level)


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


#: Added to the page's seed for the fresh truth samples of the common scale's floors.
FRESH_SEED_OFFSET = 7919
#: Columns of ``fidelity_rows`` before the ``fidelity.COLUMNS``.
FIDELITY_FIELDS = (
    "generator",
    "model",
    "variant",
    "simulator",
    "segmentation",
    "layer",
    "particle",
    "showers",
)
#: Truth names in generator names (the speed chapter's rows), by simulator.
_TRUTH_NAMES = {"supa": "SUPA", "gflash": "reference"}


def benched_variants(variants: Sequence[int]) -> list[int]:
    """The largest and the smallest of ``variants`` (1 is the largest): the speed chapter's rows.

    Example:
        >>> benched_variants([1, 3, 5, 7, 9])
        [1, 9]
    """
    return sorted({min(variants), max(variants)})


def fidelity_variants(p) -> list[int]:
    """The variants the page puts on the common scale: every one where
    ``p.fidelity_every_variant``, else ``benched_variants`` (a low-level classifier on 504
    cells costs seconds per variant and simulator)."""
    return list(p.variants) if p.fidelity_every_variant else benched_variants(p.variants)


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


def _features(voxels: Voxels, cells: np.ndarray, energy: np.ndarray, keys: Sequence[str]):
    """(cells / E_inc, marginals ``keys``) of (N, n_voxels) cells [MeV] at energies [GeV]."""
    marginals = voxels.marginals(cells, energy)
    return fidelity.low_level(cells, energy * 1e3), {k: marginals[k] for k in keys}


def _compare(
    voxels: Voxels,
    showers: Mapping[str, tuple[np.ndarray, np.ndarray]],
    keys: Sequence[str],
    seed: int,
    store: Store,
) -> dict:
    """``fidelity.compare`` of the "truth", "fresh" and "model" showers as a row, through the
    store (kind ``caloflow/fidelity``, keyed by the showers' content)."""
    key = {"showers": digest(showers), "keys": list(keys), "seed": seed, "voxels": voxels.key}

    def build(tmp: Path) -> None:
        parts = [_features(voxels, *showers[x], keys) for x in ("truth", "fresh", "model")]
        tmp.write_text(json.dumps(fidelity.compare(*parts, seed=seed).row()))

    code = ["calopaper.fidelity", "calopaper.observables", __name__]
    path = store.get_or_build("caloflow/fidelity", key, build, suffix=".fidelity.json", code=code)
    return json.loads(path.read_text())


def fidelity_rows(
    data: Mapping[str, Voxels],
    generated: Mapping[tuple[str, int], tuple[np.ndarray, np.ndarray]],
    keys: Sequence[str],
    *,
    seed: int,
    store: Store | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Every trained variant on the book's common scale (``calopaper.fidelity.compare``).

    Each variant's showers are compared with its own simulator's test showers; the floors come
    from a fresh sample of that simulator (``fresh_source``, seed ``seed + FRESH_SEED_OFFSET``,
    as many showers as the test part, energies drawn as the truth's), simulated through the
    store. Truth, fresh and model showers are cut to the same number.

    Args:
        data: simulator name -> its showers (the test part is the truth).
        generated: (simulator name, variant) -> (cells (N, n_voxels) MeV, energies (N,) GeV),
            one generated shower per test shower.
        keys: the high-level features: supa §4 marginals (``marginal_keys``).
        seed: seeds the fresh sample (offset) and the classifiers.
        store: where the fresh showers and the rows are kept (default: the book's).

    Returns:
        One row per compared variant and simulator (generator, model, variant, simulator,
        segmentation, layer, particle and the ``fidelity.COLUMNS``), and a note per row left
        out (no fresh sample of a file; fewer than ``fidelity.MIN_SHOWERS`` showers).
    """
    store = store or default_store()
    rows, skipped, fresh = [], [], {}
    for (name, variant), (cells, energy) in generated.items():
        voxels = data[name]
        label = generator_name(variant, voxels.source)
        truth = voxels.part("test")
        if name not in fresh:
            source = fresh_source(voxels.source, len(truth[1]), seed + FRESH_SEED_OFFSET)
            fresh[name] = (
                None
                if source is None
                else Voxels.load(source, voxels.scale, list(voxels.grids), store=store)
            )
        if fresh[name] is None:
            skipped.append(f"{label}: {voxels.source.description} has no independent sample")
            continue
        n = min(len(truth[1]), len(fresh[name].incident_energy), len(energy))
        if n < fidelity.MIN_SHOWERS:
            skipped.append(f"{label}: {n} showers; the classifiers need {fidelity.MIN_SHOWERS}")
            continue
        showers = {
            "truth": (truth[0][:n], truth[1][:n]),
            "fresh": (fresh[name].cells[:n], fresh[name].incident_energy[:n]),
            "model": (np.asarray(cells)[:n], np.asarray(energy)[:n]),
        }
        config = voxels.source.key.get("config", {})
        rows.append(
            {
                "generator": label,
                "model": "CaloFlow",
                "variant": variant,
                "simulator": name,
                "segmentation": f"calogan {voxels.scale}x",
                "layer": ", ".join(map(str, voxels.grids)),
                "particle": config.get("particle", ""),
                "showers": n,
            }
            | _compare(voxels, showers, keys, seed, store)
        )
    return pd.DataFrame(rows, columns=[*FIDELITY_FIELDS, *fidelity.COLUMNS.values()]), skipped
