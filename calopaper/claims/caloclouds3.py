"""Claims of the CaloClouds3 chapter (06): caloclouds3 Tables 2-4, Figs. 9, 13 and 14."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from calopaper.results import Claim, verdict

__all__ = [
    "PAPER_TABLE2",
    "PAPER_TABLE3",
    "PAPER_TABLE4",
    "PAPER_SPEED_RATIO",
    "Measured",
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


@dataclass
class Measured:
    """What the chapter measured.

    Attributes:
        table2: JSD per observable (index) for columns "CaloClouds3", "CaloClouds2", "floor".
        speed_ratio: CC2 / CC3 ms per shower at 50 GeV, one thread, incl. projection, with the
            paper's network sizes (NaN when not measured).
        fixed: observable -> JSD of CC3 at each of ``energies`` (random angles).
        energies: the fixed incident energies, GeV.
        pca: "4%" and "100%" -> JSD of the CC3 angular-error histogram to the truth's.
        pca_truth_median: "4%" and "100%" -> the truth's median angular error, rad.
        diphoton_gap: the largest difference between CC3's and the truth's fraction of pairs
            resolved as two photons, over separation bins and energies (Fig. 13; NaN: not run).
        diphoton_sigma: the binomial standard error of that difference in the same bin.
    """

    table2: pd.DataFrame
    speed_ratio: float = float("nan")
    fixed: dict[str, list[float]] = field(default_factory=dict)
    energies: list[float] = field(default_factory=list)
    pca: dict[str, float] = field(default_factory=dict)
    pca_truth_median: dict[str, float] = field(default_factory=dict)
    diphoton_gap: float = float("nan")
    diphoton_sigma: float = float("nan")


def geometric_mean_ratio(numerator, denominator) -> float:
    """exp(mean(log(a / b))) over paired positive values.

    Example:
        >>> round(geometric_mean_ratio([1, 4], [1, 1]), 6)
        2.0
    """
    a = np.maximum(np.asarray(numerator, dtype=float), 1e-12)
    b = np.maximum(np.asarray(denominator, dtype=float), 1e-12)
    return float(np.exp(np.mean(np.log(a / b))))


def _fmt(x: float) -> str:
    return f"{x:.2g}"


def claims(m: Measured) -> list[Claim]:
    """The chapter's claims, judged by ``results.verdict``."""
    t = m.table2
    ratio = geometric_mean_ratio(t["CaloClouds3"], t["CaloClouds2"])
    paper_cc2, paper_cc3 = zip(*PAPER_TABLE2.values(), strict=True)
    better = [k for k in LAYER_PROFILES if t.loc[k, "CaloClouds3"] < t.loc[k, "CaloClouds2"]]
    cog_ratio = [t.loc[k, "CaloClouds3"] / max(t.loc[k, "CaloClouds2"], 1e-12) for k in COG_XY]
    cog_worse = [t.loc[k, "CaloClouds3"] > t.loc[k, "CaloClouds2"] for k in COG_XY]
    table2 = [
        Claim(
            "cc3-comparable",
            "After shrinking the networks and adding angular conditioning, CC3's kinematics "
            "stay comparable to CC2's (Table 2)",
            "Table 2: CC3/CC2 JSD, geometric mean over 10 observables "
            + _fmt(geometric_mean_ratio(paper_cc3, paper_cc2)),
            f"CC3/CC2 geometric mean {_fmt(ratio)}",
            verdict(ratio <= 2.0, partly=ratio <= 4.0),
        ),
        Claim(
            "cc3-layer-profiles",
            "CC3 has the flatter energy and occupancy profiles through the layers (Figs. 4-5)",
            "Table 2: CC3 better on energy and occupancy per layer",
            "CC3 better on " + (", ".join(better) or "neither"),
            verdict(len(better) == len(LAYER_PROFILES), partly=bool(better)),
        ),
        Claim(
            "cc3-cog-xy",
            "Without CoG calibration, CC3's transverse centre of gravity is worse than CC2's "
            "(Fig. 6)",
            "Table 2: CoG x, y JSD 2.2x and 14x CC2's",
            "CC3/CC2 JSD: " + ", ".join(_fmt(r) for r in cog_ratio),
            verdict(all(cog_worse), partly=any(cog_worse)),
        ),
    ]
    return [*table2, _energy_trend(m), _pca_top4(m), _speed(m), _diphoton(m)]


def _energy_trend(m: Measured) -> Claim:
    if not (m.fixed and len(m.energies) >= 3):
        return _not_run("cc3-energy-trend", "CC3's JSDs fall with the incident energy (Fig. 9)")
    rho = float(np.nanmean([spearmanr(m.energies, v).statistic for v in m.fixed.values()]))
    return Claim(
        "cc3-energy-trend",
        "CC3 performs best at higher energies: its JSDs fall with the incident energy (Fig. 9)",
        "Fig. 9: JSDs fall from 10 to 100 GeV",
        f"mean Spearman ρ(JSD, E) = {rho:.2f}",
        verdict(rho < -0.5, partly=rho < 0),
    )


def _pca_top4(m: Measured) -> Claim:
    if not (m.pca and m.pca_truth_median):
        return _not_run("pca-top4", "A PCA of the top 4 % of hits removes the angle bias")
    jsd_better = m.pca["4%"] < m.pca["100%"]
    bias_better = m.pca_truth_median["4%"] < m.pca_truth_median["100%"]
    return Claim(
        "pca-top4",
        "A PCA of the 4 % highest-energy hits removes the bias of the internal angle, "
        "and CC3 matches the truth better there (Table 4, Fig. 11)",
        "angular-error JSD 7.8e-3 (4 %) vs 1.5e-2 (100 %)",
        f"JSD {_fmt(m.pca['4%'])} (4 %) vs {_fmt(m.pca['100%'])} (100 %); truth median "
        f"error {_fmt(m.pca_truth_median['4%'])} vs {_fmt(m.pca_truth_median['100%'])} rad",
        verdict(jsd_better and bias_better, partly=jsd_better or bias_better),
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


def _diphoton(m: Measured) -> Claim:
    text = "CC3 reproduces the reconstructed di-photon multiplicity vs separation (Fig. 13)"
    if not np.isfinite(m.diphoton_gap):
        return _not_run("diphoton", text)
    return Claim(
        "diphoton",
        text,
        "Fig. 13: CC3 within the errors of Geant4 at 5, 20, 100 GeV",
        f"largest gap in the two-photon fraction {m.diphoton_gap:.2f} "
        f"(± {m.diphoton_sigma:.2f}; clustering stand-in for the reconstruction)",
        verdict(m.diphoton_gap <= max(2 * m.diphoton_sigma, 0.1), partly=m.diphoton_gap <= 0.25),
    )


def _not_run(claim_id: str, text: str) -> Claim:
    """A claim whose measurement the chapter did not make."""
    return Claim(claim_id, text, "see the paper", "not measured in this chapter", "not yet run")
