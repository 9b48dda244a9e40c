"""The book's common fidelity scale: the CaloChallenge 2022 evaluation for every generator.

A classifier separates a model's showers from the truth's (``classifier_auc``): a
gradient-boosted tree ensemble (scikit-learn's ``HistGradientBoostingClassifier``),
k-fold cross-validated, reports the area under the ROC curve of the held-out folds — 0.5 when
it cannot tell them apart, 1 when it always can. It runs on two feature sets, as the
CaloChallenge does: *low level*, every cell's energy over the incident energy, and *high level*,
the chapter's shower observables. Beside it, the Fréchet physics distance (``fpd``: the
Fréchet distance of Gaussians fitted to the high-level features, standardised by the truth)
and the kernel physics distance (``kpd``: the unbiased squared MMD with a cubic polynomial
kernel on the same features). Each number has a floor: the same measurement between the truth
and an independent truth sample of the same size and energy distribution (``compare``).

``scored`` is what every chapter calls for one generator's row: it cuts the samples to one size,
skips a row too small for the folds, keeps every measurement in the store (so the floors of the
generators sharing a truth are measured once and a rebuild reads them back), and adds the
spread over a model's training seeds of the high-level AUC and FPD.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg

if TYPE_CHECKING:
    from calopaper.store import Store

__all__ = [
    "COLUMNS",
    "SCORED_COLUMNS",
    "SEED_COLUMNS",
    "Features",
    "Fidelity",
    "classifier_auc",
    "compare",
    "fpd",
    "high_level",
    "kpd",
    "low_level",
    "scored",
    "scored_all",
    "seed_spread_phrase",
]

#: One sample on the common scale: its low-level features (N, C) (``low_level``) and its
#: high-level observables, name -> (N,).
Features = tuple[np.ndarray, Mapping[str, np.ndarray]]

#: Folds of the cross-validation.
FOLDS = 5
#: Fewest showers per class the cross-validation can run on (two per fold and class).
MIN_SHOWERS = 2 * FOLDS
#: Features named by the page when a classifier separates almost perfectly.
IMPORTANT = 3


def low_level(cells: np.ndarray, incident_energy: np.ndarray) -> np.ndarray:
    """(N, C) cell energies over each shower's incident energy (both in MeV or both in GeV ×
    1000: only the ratio's scale matters to the classifier), as float32."""
    cells = np.asarray(cells, dtype=np.float64).reshape(len(cells), -1)
    energy = np.broadcast_to(np.asarray(incident_energy, dtype=np.float64), (len(cells),))
    return (cells / energy[:, None]).astype(np.float32)


def high_level(observables: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """(N, F) matrix of per-shower observables and their names; an observable undefined for a
    shower (NaN, e.g. the width of an empty layer) becomes 0, which the trees can split off."""
    names = sorted(observables)
    columns = [np.nan_to_num(np.asarray(observables[k], dtype=np.float64)) for k in names]
    return np.column_stack(columns), names


def _check(truth: np.ndarray, model: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth, model = np.asarray(truth, np.float64), np.asarray(model, np.float64)
    if truth.ndim != 2 or model.ndim != 2 or truth.shape[1] != model.shape[1]:
        msg = f"features of shape {truth.shape} and {model.shape}; expected (N, F) and (M, F)"
        raise ValueError(msg)
    if not (np.all(np.isfinite(truth)) and np.all(np.isfinite(model))):
        msg = "features contain NaN or infinite values; clean them first (e.g. high_level)"
        raise ValueError(msg)
    if min(len(truth), len(model)) < MIN_SHOWERS:
        msg = f"{len(truth)} and {len(model)} showers; need at least {MIN_SHOWERS} of each"
        raise ValueError(msg)
    return truth, model


def classifier_auc(
    truth: np.ndarray, model: np.ndarray, *, seed: int = 0, names: list[str] | None = None
) -> tuple[float, float, dict[str, float]]:
    """ROC AUC of a classifier separating ``model`` from ``truth`` showers, k-fold.

    Both samples are cut to the smaller one's size, so the classes are balanced.

    Args:
        truth, model: (N, F) and (M, F) features.
        seed: seeds the cut, the folds and the classifier.
        names: feature names; with them, an AUC above 0.9 also gives the features whose
            permutation lowers the held-out AUC most.

    Returns:
        The mean AUC over the folds, their standard deviation, and {feature: AUC drop} of the
        ``IMPORTANT`` most important features (empty below 0.9 or without names).

    Raises:
        ValueError: features of different widths, NaN, or fewer than ``MIN_SHOWERS`` showers.
    """
    import torch
    from threadpoolctl import threadpool_limits

    truth, model = _check(truth, model)
    varying = _varying(truth, model)
    truth, model = truth[:, varying], model[:, varying]
    names = None if names is None else [n for n, v in zip(names, varying, strict=True) if v]
    # the trees use OpenMP: as many threads as the profile gives torch (one on the book's
    # 2-core machine, where more threads than cores made a comparison 15 times slower)
    with threadpool_limits(limits=torch.get_num_threads(), user_api="openmp"):
        return _cross_validated(truth, model, seed, names)


def _varying(truth: np.ndarray, model: np.ndarray) -> np.ndarray:
    """(F,) True for the features not constant over both samples together: a constant one
    (a cell empty in every shower) never splits a tree, and it costs as much as any other."""
    both = np.concatenate([truth, model])
    return both.min(0) < both.max(0)


def _cross_validated(
    truth: np.ndarray, model: np.ndarray, seed: int, names: list[str] | None
) -> tuple[float, float, dict[str, float]]:
    """The k-fold measurement behind :func:`classifier_auc`."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    n = min(len(truth), len(model))
    x = np.concatenate(
        [truth[rng.permutation(len(truth))[:n]], model[rng.permutation(len(model))[:n]]]
    )
    y = np.repeat([0, 1], n)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    aucs, importance = [], {}
    for k, (train, test) in enumerate(folds.split(x, y)):
        classifier = HistGradientBoostingClassifier(random_state=seed).fit(x[train], y[train])
        aucs.append(roc_auc_score(y[test], classifier.predict_proba(x[test])[:, 1]))
        if k == 0 and names is not None and aucs[0] > 0.9:
            drop = permutation_importance(
                classifier, x[test], y[test], scoring="roc_auc", n_repeats=3, random_state=seed
            ).importances_mean
            top = np.argsort(drop)[::-1][:IMPORTANT]
            importance = {names[i]: float(drop[i]) for i in top}
    return float(np.mean(aucs)), float(np.std(aucs)), importance


def _standardised(truth: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Every sample in units of the truth's mean and standard deviation per feature (a constant
    feature keeps unit scale)."""
    mean, std = truth.mean(0), truth.std(0)
    std = np.where(std > 0, std, 1.0)
    return [(x - mean) / std for x in (truth, *others)]


def fpd(truth: np.ndarray, model: np.ndarray) -> float:
    """Fréchet physics distance: ‖μ_t − μ_m‖² + Tr(Σ_t + Σ_m − 2 (Σ_t Σ_m)^½) of Gaussians fitted
    to the (N, F) features, standardised by the truth (0 for identical samples).

    Example:
        >>> x = np.random.default_rng(0).normal(size=(500, 3))
        >>> round(fpd(x, x), 12)
        0.0
    """
    truth, model = _standardised(*_check(truth, model))
    mu = truth.mean(0) - model.mean(0)
    cov_t = np.atleast_2d(np.cov(truth, rowvar=False))
    cov_m = np.atleast_2d(np.cov(model, rowvar=False))
    # Tr (Σ_t Σ_m)^½ = Σ √eig(Σ_t^½ Σ_m Σ_t^½), which stays real for a singular Σ_t
    w, v = linalg.eigh(cov_t)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    root = np.sqrt(np.clip(linalg.eigvalsh(half @ cov_m @ half), 0, None)).sum()
    return float(max(mu @ mu + np.trace(cov_t) + np.trace(cov_m) - 2 * root, 0.0))


def kpd(truth: np.ndarray, model: np.ndarray) -> float:
    """Kernel physics distance: the unbiased squared MMD with the cubic polynomial kernel
    k(x, y) = (x·y / F + 1)³ on the (N, F) features standardised by the truth (≈ 0, and
    negative as often as positive, for two samples of one distribution)."""
    truth, model = _standardised(*_check(truth, model))
    f = truth.shape[1]

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a @ b.T / f + 1.0) ** 3

    k_tt, k_mm, k_tm = kernel(truth, truth), kernel(model, model), kernel(truth, model)
    n, m = len(truth), len(model)
    within_t = (k_tt.sum() - np.trace(k_tt)) / (n * (n - 1))
    within_m = (k_mm.sum() - np.trace(k_mm)) / (m * (m - 1))
    return float(within_t + within_m - 2 * k_tm.mean())


@dataclass(frozen=True)
class Fidelity:
    """One model's row on the common scale: each measurement with its floor (the same
    measurement between the truth and an independent truth sample).

    Attributes:
        auc_low, auc_low_spread, auc_low_floor: low-level classifier AUC, its fold spread (std)
            and its floor.
        auc_high, auc_high_spread, auc_high_floor: the same on the high-level features.
        fpd, fpd_floor: Fréchet physics distance and floor.
        kpd, kpd_floor: kernel physics distance and floor.
        separating: high-level features that separate most (when ``auc_high`` > 0.9).
    """

    auc_low: float
    auc_low_spread: float
    auc_low_floor: float
    auc_high: float
    auc_high_spread: float
    auc_high_floor: float
    fpd: float
    fpd_floor: float
    kpd: float
    kpd_floor: float
    separating: str = ""

    def row(self) -> dict:
        """A table row: the fields under their column names."""
        return {COLUMNS[k]: v for k, v in asdict(self).items()}


#: Column names of ``Fidelity.row``.
COLUMNS = {
    "auc_low": "AUC low",
    "auc_low_spread": "AUC low ±",
    "auc_low_floor": "AUC low floor",
    "auc_high": "AUC high",
    "auc_high_spread": "AUC high ±",
    "auc_high_floor": "AUC high floor",
    "fpd": "FPD",
    "fpd_floor": "FPD floor",
    "kpd": "KPD",
    "kpd_floor": "KPD floor",
    "separating": "separates most",
}


def _floors(truth: Features, fresh: Features, seed: int) -> dict[str, float]:
    """The floors of ``Fidelity``: truth against an independent truth sample."""
    (t_low, t_obs), (f_low, f_obs) = truth, fresh
    (t, _), (f, _) = high_level(t_obs), high_level(f_obs)
    return {
        "auc_low_floor": classifier_auc(t_low, f_low, seed=seed)[0],
        "auc_high_floor": classifier_auc(t, f, seed=seed)[0],
        "fpd_floor": fpd(t, f),
        "kpd_floor": kpd(t, f),
    }


def _model(truth: Features, model: Features, seed: int, *, low: bool = True) -> dict:
    """The model's half of ``Fidelity`` (without the floors); ``low=False`` leaves out the
    low-level classifier (the costly one) and the KPD."""
    (t, names), (m, _) = high_level(truth[1]), high_level(model[1])
    auc_high, spread_high, separating = classifier_auc(t, m, seed=seed, names=names)
    out = {"auc_high": auc_high, "auc_high_spread": spread_high, "fpd": fpd(t, m)}
    if low:
        auc_low, spread_low, _ = classifier_auc(truth[0], model[0], seed=seed)
        out |= {"auc_low": auc_low, "auc_low_spread": spread_low, "kpd": kpd(t, m)}
        out["separating"] = ", ".join(separating)
    return out


def _high_level_only(truth: Features, model: Features, seed: int) -> dict:
    """``_model`` without the low-level classifier and the KPD."""
    return _model(truth, model, seed, low=False)


def compare(truth: Features, fresh: Features, model: Features, *, seed: int = 0) -> Fidelity:
    """A model's ``Fidelity`` against the truth, with floors from an independent truth sample.

    Args:
        truth, fresh, model: each (low-level features (N, C) from ``low_level``, high-level
            observables name -> (N,)); ``fresh`` is a second truth sample of the same size and
            energy distribution, never the truth's own showers.
        seed: seeds the classifiers.
    """
    return Fidelity(**_floors(truth, fresh, seed), **_model(truth, model, seed))


#: Columns ``scored`` adds to ``Fidelity.row``'s: the trainings measured and the standard
#: deviation over them of the high-level AUC and the FPD (NaN with one training).
SEED_COLUMNS = ("seeds", "AUC high seed s", "FPD seed s")
#: The columns of a ``scored`` row, in a table's order.
SCORED_COLUMNS = ("showers", "seeds", *COLUMNS.values(), *SEED_COLUMNS[1:], "note")


def _cut(features: Features, n: int) -> Features:
    """The first ``n`` showers of a sample's features."""
    low, high = features
    return np.asarray(low)[:n], {k: np.asarray(v)[:n] for k, v in high.items()}


def _kept(store: Store | None, measure: Callable, *parts: Features, seed: int) -> dict:
    """``measure(*parts, seed)``, kept in ``store`` under the content of ``parts`` (kind
    ``measurements/fidelity``); measured afresh without a store."""
    if store is None:
        return measure(*parts, seed)
    from calopaper.figures import digest

    key = {"what": measure.__name__, "features": digest(*parts), "seed": seed}

    def build(tmp: Path) -> None:
        tmp.write_text(json.dumps(measure(*parts, seed)))

    path = store.get_or_build(
        "measurements/fidelity", key, build, suffix=".result.json", code=[__name__]
    )
    return json.loads(path.read_text())


def scored(
    truth: Features,
    fresh: Features,
    replicas: Sequence[Features],
    *,
    seed: int,
    store: Store | None = None,
) -> dict:
    """One generator's row on the common scale: ``compare`` of its first training's showers,
    and the spread of the high-level AUC and FPD over all its trainings.

    Every sample is cut to the smallest one's size (its first showers, so a model conditioned
    on the truth's energies in order keeps them). With fewer than ``MIN_SHOWERS`` showers the
    numbers are NaN and the note says why.

    Args:
        truth: the truth's features; fresh: an independent truth sample's (same energy
            distribution, never the truth's own showers).
        replicas: the features of one sample per training of the model (seed 0 first; the
            trainings differ only in their seeds). The first gets every measurement, the others
            the high-level classifier and the FPD (the low-level classifier costs seconds per
            thousand cells).
        seed: seeds the classifiers.
        store: where each measurement is kept, keyed by the content of its features: the floors
            of generators sharing a truth are measured once, and a rebuild reads them back.

    Returns:
        "showers" (per class), the ``COLUMNS`` values, the ``SEED_COLUMNS`` and "note".

    Raises:
        ValueError: no replica, or features of different widths or with NaN (``classifier_auc``).
    """
    if not replicas:
        raise ValueError("no sample of the model to score; pass one per training (seed 0 first)")
    n = min(len(truth[0]), len(fresh[0]), *(len(r[0]) for r in replicas))
    row = {"showers": n, "seeds": len(replicas)}
    if n < MIN_SHOWERS:
        note = f"skipped: {n} showers per class, the classifiers' {FOLDS} folds need {MIN_SHOWERS}"
        nan = dict.fromkeys([*COLUMNS.values(), *SEED_COLUMNS[1:]], np.nan)
        return row | nan | {"separates most": "", "note": note}
    truth, fresh = _cut(truth, n), _cut(fresh, n)
    replicas = [_cut(r, n) for r in replicas]
    floors = _kept(store, _floors, truth, fresh, seed=seed)
    first = _kept(store, _model, truth, replicas[0], seed=seed)
    others = [_kept(store, _high_level_only, truth, r, seed=seed) for r in replicas[1:]]
    high = [first["auc_high"], *(o["auc_high"] for o in others)]
    distance = [first["fpd"], *(o["fpd"] for o in others)]
    spread = [float(np.std(x, ddof=1)) if len(x) > 1 else np.nan for x in (high, distance)]
    row |= Fidelity(**floors, **first).row() | dict(zip(SEED_COLUMNS[1:], spread, strict=True))
    return row | {"note": ""}


def scored_all(
    jobs: Mapping[Hashable, tuple[Features, Features, Sequence[Features]]],
    *,
    seed: int,
    store: Store,
    progress: bool = True,
) -> dict[Hashable, dict]:
    """``scored`` of every (truth, fresh, replicas) of ``jobs``, side by side in worker
    processes (``parallel.run``: one classifier per core; the store's locks let one worker
    measure a floor that several rows share while the others wait for it).

    Returns:
        Each job's row, in the order of ``jobs``.
    """
    from calopaper import parallel

    calls = {k: partial(scored, *job, seed=seed, store=store) for k, job in jobs.items()}
    return parallel.run(calls, progress=progress)


def seed_spread_phrase(table) -> str:
    """How far the high-level AUC of a table of ``scored`` rows moves between trainings, as a
    phrase for the page: its largest "AUC high seed s", with the row's generator and seed count
    (unmeasured with one training per model or no row).

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"generator": ["a", "b"], "seeds": [3, 3],
        ...     "AUC high seed s": [0.01, 0.02]})
        >>> seed_spread_phrase(t)
        'by at most 0.020 (b; standard deviation over 3 trainings)'
    """
    if table.empty:
        return "by an amount unmeasured here (no row compared)"
    spread = table["AUC high seed s"]
    if spread.isna().all():
        return f"by an amount unmeasured here ({int(table['seeds'].max())} training per model)"
    top = table.loc[spread.idxmax()]
    s, seeds = top["AUC high seed s"], int(top["seeds"])
    return f"by at most {s:.3f} ({top['generator']}; standard deviation over {seeds} trainings)"
