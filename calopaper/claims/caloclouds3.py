"""Claims of the CaloClouds3 chapter (06): caloclouds3 Tables 2-4, Figs. 9, 13 and 14.

Each model claim judges one number per training seed (CC3 and CC2 trained ``n_seeds`` times,
``claim_numbers``) on the seed mean ± 2 standard errors (``findings.band``,
``results.judge``); a ratio of divergences is judged on its log10 (``RATIO_CLAIMS``: the
ratios spread over orders of magnitude between seeds, and a linear band of a positive ratio
reached below zero). ``budget_curves`` measures the same numbers at fractions of the
training budget. The speed claim is a timing and is judged on its median.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from calopaper.findings import Band, BudgetCurve, band
from calopaper.results import Claim, judge, verdict

__all__ = [
    "PAPER_TABLE2",
    "PAPER_TABLE3",
    "PAPER_TABLE4",
    "PAPER_SPEED_RATIO",
    "MODEL_CLAIMS",
    "PAPER_NUMBERS",
    "RATIO_CLAIMS",
    "Measured",
    "budget_curves",
    "claim_numbers",
    "claims",
    "geometric_mean_ratio",
]

#: caloclouds3 Table 2: JSD to Geant4 at orthogonal incidence, 10-90 GeV, (CC2, CC3).
PAPER_TABLE2 = {
    "total visible energy": (1.52e-3, 3.75e-3),
    "energy per cell": (2.42e-3, 4.54e-3),
    "energy per layer": (2.17e-4, 4.01e-5),
    "energy per unit radius": (0.64e-4, 3.15e-4),
    "total occupancy": (1.42e-2, 0.59e-3),
    "occupancy per layer": (2.12e-4, 9.55e-5),
    "occupancy per unit radius": (1.33e-4, 2.91e-4),
    "center of gravity in X": (4.38e-3, 0.96e-2),
    "center of gravity in Y": (2.20e-3, 3.05e-2),
    "center of gravity in Z": (5.00e-3, 0.90e-3),
}
#: caloclouds3 Table 3: CC3 at random angles, all fixed energies 10-100 GeV combined.
PAPER_TABLE3 = {
    "energy per cell": 2.06e-3,
    "energy per layer": 0.50e-5,
    "energy per unit radius": 2.95e-4,
    "occupancy per layer": 1.13e-4,
    "occupancy per unit radius": 2.18e-4,
    "total occupancy": 3.62e-3,
}
#: caloclouds3 Table 4: JSD of the PCA angular errors, CC3 vs Geant4, (4 % of hits, 100 %).
PAPER_TABLE4 = {
    "phi": (1.96e-3, 5.02e-3),
    "theta": (3.76e-3, 3.80e-2),
    "angular error": (7.75e-3, 1.49e-2),
}
#: caloclouds3 §6: CC3 is on average over 6 times faster than CC2 (CPU, one thread).
PAPER_SPEED_RATIO = 6.0
#: Observables on which Table 2 has CC3 better (layer profiles) or worse (CoG x, y) than CC2.
LAYER_PROFILES = ("energy per layer", "occupancy per layer")
COG_XY = ("center of gravity in X", "center of gravity in Y")
#: The claims about trained models: id -> what their number per seed is.
MODEL_CLAIMS = {
    "cc3-comparable": "log10 CC3/CC2 JSD, geometric mean over Table 2",
    "cc3-layer-profiles": "log10 CC3/CC2 JSD, the worse of the two layer profiles",
    "cc3-cog-xy": "log10 CC3/CC2 JSD, the smaller of CoG x and y",
    "cc3-energy-trend": "Spearman ρ(JSD, E), mean over Table 3's observables",
    "pca-top4": "log10 of CC3's angular-error JSD, 4 % / 100 % of the hits",
    "diphoton": "largest gap in the two-photon fraction",
}
#: The numbers of ``claim_numbers`` that are ratios: judged (and curved) on their log10.
RATIO_CLAIMS = (
    "cc3-comparable",
    "cc3-layer-profiles",
    "cc3-layer-profiles best",
    "cc3-cog-xy",
    "cc3-cog-xy most",
    "pca-top4",
)


def _paper_ratio(k: str) -> float:
    cc2, cc3 = PAPER_TABLE2[k]
    return cc3 / cc2


#: The paper's value of each model claim's number (the targets of the budget curves; ratios
#: as ratios, ``budget_curves`` takes their log10).
PAPER_NUMBERS = {
    "cc3-comparable": None,  # filled below from Table 2
    "cc3-layer-profiles": max(_paper_ratio(k) for k in LAYER_PROFILES),
    "cc3-cog-xy": min(_paper_ratio(k) for k in COG_XY),
    "cc3-energy-trend": -1.0,  # Fig. 9: every JSD falls with the energy "in all cases"
    "pca-top4": PAPER_TABLE4["angular error"][0] / PAPER_TABLE4["angular error"][1],
    "diphoton": 0.0,  # Fig. 13: "within the fluctuation expected from the errors"
}


@dataclass
class Measured:
    """What the chapter measured. Per-seed fields take one value per training seed (a single
    value is one seed).

    Attributes:
        table2: per seed, JSD per observable (index) for columns "CaloClouds3" and
            "CaloClouds2" (more columns, e.g. "floor", are ignored).
        speed_ratio: CC2 / CC3 ms per shower at 50 GeV, one thread, incl. projection, with the
            paper's network sizes (NaN when not measured); a timing, not per seed.
        fixed: per seed, observable -> JSD of CC3 at each of ``energies`` (random angles).
        energies: the fixed incident energies, GeV.
        pca: per seed, "4%" and "100%" -> JSD of the CC3 angular-error histogram to the truth's.
        pca_truth_median: "4%" and "100%" -> the truth's median angular error, rad (the truth
            is the same for every seed).
        diphoton_gap: per seed, the largest difference between CC3's and the truth's fraction
            of pairs resolved as two photons, over separation bins and energies (Fig. 13).
        diphoton_sigma: per seed, the binomial standard error of that difference in its bin.
    """

    table2: Sequence[pd.DataFrame] | pd.DataFrame
    speed_ratio: float = float("nan")
    fixed: Sequence[Mapping[str, Sequence[float]]] | Mapping = field(default_factory=list)
    energies: list[float] = field(default_factory=list)
    pca: Sequence[Mapping[str, float]] | Mapping = field(default_factory=list)
    pca_truth_median: dict[str, float] = field(default_factory=dict)
    diphoton_gap: Sequence[float] | float = field(default_factory=list)
    diphoton_sigma: Sequence[float] | float = field(default_factory=list)


def _per_seed(value) -> list:
    """A per-seed field as a list (a single value, a frame or a mapping is one seed)."""
    if isinstance(value, pd.DataFrame | Mapping | float | int):
        return [value] if not (isinstance(value, Mapping) and not value) else []
    return list(value)


def geometric_mean_ratio(numerator, denominator) -> float:
    """exp(mean(log(a / b))) over paired positive values.

    Example:
        >>> round(geometric_mean_ratio([1, 4], [1, 1]), 6)
        2.0
    """
    a = np.maximum(np.asarray(numerator, dtype=float), 1e-12)
    b = np.maximum(np.asarray(denominator, dtype=float), 1e-12)
    return float(np.exp(np.mean(np.log(a / b))))


PAPER_NUMBERS["cc3-comparable"] = geometric_mean_ratio(
    [v[1] for v in PAPER_TABLE2.values()], [v[0] for v in PAPER_TABLE2.values()]
)


def _ratio(t: pd.DataFrame, k: str) -> float:
    return float(_jsd(t.loc[k, "CaloClouds3"]) / max(_jsd(t.loc[k, "CaloClouds2"]), 1e-12))


def _jsd(value: float) -> float:
    """A model's JSD as the claims take it: NaN (its showers left the histogram empty, e.g.
    every centre of gravity outside the ±3 mm of the CoG histograms) counts as 1, the JSD
    (base 2) of distributions that do not overlap."""
    return 1.0 if np.isnan(value) else float(value)


def claim_numbers(m: Measured) -> dict[str, list[float]]:
    """Each model claim's number per seed (empty when the chapter did not measure it), plus
    the second number two claims need: "cc3-layer-profiles best" (the better of the two
    layer profiles' CC3/CC2) and "cc3-cog-xy most" (the larger of CoG x and y's)."""
    tables = _per_seed(m.table2)
    out = {
        "cc3-comparable": [
            geometric_mean_ratio(t["CaloClouds3"].map(_jsd), t["CaloClouds2"].map(_jsd))
            for t in tables
        ],
        "cc3-layer-profiles": [max(_ratio(t, k) for k in LAYER_PROFILES) for t in tables],
        "cc3-layer-profiles best": [min(_ratio(t, k) for k in LAYER_PROFILES) for t in tables],
        "cc3-cog-xy": [min(_ratio(t, k) for k in COG_XY) for t in tables],
        "cc3-cog-xy most": [max(_ratio(t, k) for k in COG_XY) for t in tables],
    }  # fmt: skip
    fixed = _per_seed(m.fixed) if len(m.energies) >= 3 else []
    out["cc3-energy-trend"] = [
        float(np.nanmean([spearmanr(m.energies, v).statistic for v in f.values()])) for f in fixed
    ]
    out["pca-top4"] = [p["4%"] / max(p["100%"], 1e-12) for p in _per_seed(m.pca)]
    out["diphoton"] = [float(g) for g in _per_seed(m.diphoton_gap) if np.isfinite(g)]
    return out


def _judged(numbers: dict[str, list[float]]) -> dict[str, list[float]]:
    """The numbers as they are judged: ratios (``RATIO_CLAIMS``) as their log10."""
    return {
        k: [math.log10(max(x, 1e-12)) for x in v] if k in RATIO_CLAIMS else v
        for k, v in numbers.items()
    }


def _times(b: Band) -> str:
    """A ratio judged on its log10: the seed geometric mean, then the log10 band.

    Example:
        >>> _times(band([0.0, 0.5, 1.0]))
        '3.2x (log10 0.50 ± 0.58 (3 seeds, s = 0.50))'
    """
    return f"{10**b.mean:.2g}x (log10 {b.text('.2f')})"


def _fmt(x: float) -> str:
    return f"{x:.2g}"


def claims(m: Measured) -> list[Claim]:
    """The chapter's claims: each model claim judged on its number's seed band
    (``results.judge``), the speed claim on its median (``results.verdict``)."""
    bands = {k: band(v) for k, v in _judged(claim_numbers(m)).items() if v}
    paper = PAPER_NUMBERS
    out = []
    b = bands["cc3-comparable"]
    out.append(
        Claim(
            "cc3-comparable",
            "After shrinking the networks and adding angular conditioning, CC3's kinematics "
            "stay comparable to CC2's (Table 2): reproduced when the CC3/CC2 geometric mean is "
            "below 2 (the paper's 0.99 within a factor 2), not reproduced above 4",
            f"Table 2: CC3/CC2 JSD, geometric mean over 10 observables "
            f"{_fmt(paper['cc3-comparable'])}",
            f"CC3/CC2 geometric mean {_times(b)}",
            judge(b, high=math.log10(2.0), partly_high=math.log10(4.0)),
            seeds=b.record(),
        )
    )
    worst, best = bands["cc3-layer-profiles"], bands["cc3-layer-profiles best"]
    out.append(
        Claim(
            "cc3-layer-profiles",
            "CC3 has the flatter energy and occupancy profiles through the layers (Figs. 4-5): "
            "reproduced when CC3/CC2 < 1 for both layer profiles, not reproduced when it is "
            "> 1 for both",
            f"Table 2: CC3 better on energy and occupancy per layer (CC3/CC2 "
            f"{_fmt(_paper_ratio(LAYER_PROFILES[0]))}, {_fmt(_paper_ratio(LAYER_PROFILES[1]))})",
            f"CC3/CC2, the worse layer profile {_times(worst)}; the better {_times(best)}",
            _both(judge(worst, high=0.0), judge(best, high=0.0)),
            seeds=worst.record(),
        )
    )
    least, most = bands["cc3-cog-xy"], bands["cc3-cog-xy most"]
    out.append(
        Claim(
            "cc3-cog-xy",
            "Without CoG calibration, CC3's transverse centre of gravity is worse than CC2's "
            "(Fig. 6): reproduced when CC3/CC2 > 1 for both x and y, not reproduced when it "
            "is < 1 for both",
            "Table 2: CoG x, y JSD 2.2x and 14x CC2's",
            f"CC3/CC2 JSD, the smaller of x, y {_times(least)}; the larger {_times(most)}",
            _both(judge(least, low=0.0), judge(most, low=0.0)),
            seeds=least.record(),
        )
    )
    return [*out, _energy_trend(bands), _pca_top4(m, bands), _speed(m), _diphoton(m, bands)]


def _both(all_hold: str, any_holds: str) -> str:
    """The verdict of "both hold" from the verdicts of its weaker half (``all_hold``, judged on
    the worse of the two numbers) and its stronger half (``any_holds``, on the better):
    reproduced when the worse clearly holds, not reproduced when even the better clearly
    fails, else partly."""
    if "not yet run" in (all_hold, any_holds):
        return "not yet run"
    if all_hold == "reproduced":
        return "reproduced"
    if any_holds == "not reproduced":
        return "not reproduced"
    return "partly"


def _energy_trend(bands: dict[str, Band]) -> Claim:
    text = "CC3 performs best at higher energies: its JSDs fall with the incident energy (Fig. 9)"
    if "cc3-energy-trend" not in bands:
        return _not_run("cc3-energy-trend", text)
    b = bands["cc3-energy-trend"]
    return Claim(
        "cc3-energy-trend",
        text + ": reproduced when the mean Spearman ρ(JSD, E) is below −0.5 (a clear fall; "
        "the paper's curves fall in every case, ρ = −1), not reproduced when it is ≥ 0",
        "Fig. 9: JSDs fall from 10 to 100 GeV",
        f"mean Spearman ρ(JSD, E) = {b.text('.2f')}",
        judge(b, high=-0.5, partly_high=0.0),
        seeds=b.record(),
    )


def _pca_top4(m: Measured, bands: dict[str, Band]) -> Claim:
    text = "A PCA of the top 4 % of hits removes the angle bias"
    if "pca-top4" not in bands or not m.pca_truth_median:
        return _not_run("pca-top4", text)
    b = bands["pca-top4"]
    bias_better = m.pca_truth_median["4%"] < m.pca_truth_median["100%"]
    jsd = judge(b, high=0.0)
    if jsd == "reproduced" and bias_better:
        result = "reproduced"
    elif jsd == "not reproduced" and not bias_better:
        result = "not reproduced"
    else:
        result = "partly"
    return Claim(
        "pca-top4",
        "A PCA of the 4 % highest-energy hits removes the bias of the internal angle, "
        "and CC3 matches the truth better there (Table 4, Fig. 11): reproduced when the "
        "truth's median error is smaller at 4 % and CC3's angular-error JSD at 4 % is below "
        "its JSD at 100 % (the paper: 0.52 times)",
        "angular-error JSD 7.8e-3 (4 %) vs 1.5e-2 (100 %)",
        f"JSD 4 % / 100 % {_times(b)}; truth median error "
        f"{_fmt(m.pca_truth_median['4%'])} vs {_fmt(m.pca_truth_median['100%'])} rad",
        result,
        seeds=b.record(),
    )


def _speed(m: Measured) -> Claim:
    if not np.isfinite(m.speed_ratio):
        return _not_run("cc3-speed", "CC3 is over 6 times faster than CC2 (Fig. 14)")
    return Claim(
        "cc3-speed",
        "CC3 is over 6 times faster than CC2 on one CPU thread, including the projection "
        "to cells (Fig. 14)",
        "> 6x",
        f"{m.speed_ratio:.1f}x (paper sizes, 50 GeV)",
        verdict(m.speed_ratio > PAPER_SPEED_RATIO, partly=m.speed_ratio > 2.0),
    )


def _diphoton(m: Measured, bands: dict[str, Band]) -> Claim:
    text = "CC3 reproduces the reconstructed di-photon multiplicity vs separation (Fig. 13)"
    if "diphoton" not in bands:
        return _not_run("diphoton", text)
    b = bands["diphoton"]
    sigma = float(np.mean(_per_seed(m.diphoton_sigma)))
    threshold = max(2 * sigma, 0.1)
    return Claim(
        "diphoton",
        text + ": reproduced when the largest gap is within twice its binomial error (at "
        "least 0.1), not reproduced when it exceeds 0.25",
        "Fig. 13: CC3 within the errors of Geant4 at 5, 20, 100 GeV",
        f"largest gap in the two-photon fraction {b.text('.2f')} (binomial σ {sigma:.2f}; "
        "clustering stand-in for the reconstruction)",
        judge(b, high=threshold, partly_high=0.25),
        seeds=b.record(),
    )


def _not_run(claim_id: str, text: str) -> Claim:
    """A claim whose measurement the chapter did not make."""
    return Claim(claim_id, text, "see the paper", "not measured in this chapter", "not yet run")


def budget_curves(by_budget: Mapping[float, Measured], unit: str = "") -> dict[str, BudgetCurve]:
    """Each model claim's number at fractions of the training budget (``findings.BUDGETS``),
    over seeds, toward the paper's value (``PAPER_NUMBERS``), ratios as their log10 (as they
    are judged); claims measured at no budget are left out."""
    budgets = tuple(sorted(by_budget))
    numbers = {b: _judged(claim_numbers(by_budget[b])) for b in budgets}
    target = {k: math.log10(v) if k in RATIO_CLAIMS else v for k, v in PAPER_NUMBERS.items()}
    return {
        claim: BudgetCurve(
            budgets, tuple(band(numbers[b][claim]) for b in budgets), target[claim], unit
        )
        for claim in MODEL_CLAIMS
        if all(numbers[b][claim] for b in budgets)
    }
