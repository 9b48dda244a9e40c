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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from scipy import linalg

__all__ = [
    "COLUMNS",
    "Fidelity",
    "classifier_auc",
    "compare",
    "fpd",
    "high_level",
    "kpd",
    "low_level",
]

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
    # the trees use OpenMP: as many threads as the profile gives torch (one on the book's
    # 2-core machine, where more threads than cores made a comparison 15 times slower)
    with threadpool_limits(limits=torch.get_num_threads(), user_api="openmp"):
        return _cross_validated(truth, model, seed, names)


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


def compare(
    truth: tuple[np.ndarray, Mapping[str, np.ndarray]],
    fresh: tuple[np.ndarray, Mapping[str, np.ndarray]],
    model: tuple[np.ndarray, Mapping[str, np.ndarray]],
    *,
    seed: int = 0,
) -> Fidelity:
    """A model's ``Fidelity`` against the truth, with floors from an independent truth sample.

    Args:
        truth, fresh, model: each (low-level features (N, C) from ``low_level``, high-level
            observables name -> (N,)); ``fresh`` is a second truth sample of the same size and
            energy distribution, never the truth's own showers.
        seed: seeds the classifiers.
    """
    high = {
        label: high_level(obs) for label, obs in (("t", truth[1]), ("f", fresh[1]), ("m", model[1]))
    }
    names = high["t"][1]
    auc_low = classifier_auc(truth[0], model[0], seed=seed)
    floor_low = classifier_auc(truth[0], fresh[0], seed=seed)
    auc_high = classifier_auc(high["t"][0], high["m"][0], seed=seed, names=names)
    floor_high = classifier_auc(high["t"][0], high["f"][0], seed=seed)
    return Fidelity(
        auc_low=auc_low[0],
        auc_low_spread=auc_low[1],
        auc_low_floor=floor_low[0],
        auc_high=auc_high[0],
        auc_high_spread=auc_high[1],
        auc_high_floor=floor_high[0],
        fpd=fpd(high["t"][0], high["m"][0]),
        fpd_floor=fpd(high["t"][0], high["f"][0]),
        kpd=kpd(high["t"][0], high["m"][0]),
        kpd_floor=kpd(high["t"][0], high["f"][0]),
        separating=", ".join(auc_high[2]),
    )
