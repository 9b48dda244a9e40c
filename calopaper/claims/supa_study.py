"""Claims of the SUPA study page (05_supa_study): rankings carry over (supa Figs. 6-8) and the
resolution table (supa Table 2).

Rankings. The paper shows ten CaloFlow variants' scores on Geant4 against SUPA and calls the
relation "roughly monotonic", with no ρ and no uncertainty. A ranking carries over when the
variants' order on one simulator predicts their order on the other better than chance, and not
through one variant alone. ρ is that of the two simulators' seed-averaged scores; like every
model claim's number it is judged with a band, ρ ± 2 standard errors (from the training
seeds, drawn again with replacement: ``chapter.rho_error``), read as exact permutation p-values
at its two ends: "reproduced" when even the band's lower end has p at most ``P_REPRODUCED``
and ρ stays positive without the smallest variant, "not reproduced" when even its upper end has
p above ``P_PARTLY``, otherwise "partly". With seven variants p <= 0.05 needs ρ >= 0.71 (with
five it needed ρ >= 0.9). Without the band, a ρ near 0.71 (p near 0.05) changed its verdict
with the machine that trained the same seeds.

Resolution. supa Table 2 gives one training per entry and no errors; its claims are orders
(1x < 3x on the diagonal; 2x and 3x summed into 1x cells worse than 1x). Each difference is
measured per training seed and judged as a ``findings.Band`` (seed mean ± 2 errors, the
test-shower bootstrap included) against 0 with ``results.judge``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calopaper.findings import Band, band
from calopaper.results import Claim, judge

__all__ = [
    "Correlation",
    "PAPER_TABLE_2",
    "P_PARTLY",
    "P_REPRODUCED",
    "Measured",
    "claims",
    "ranking_verdict",
]

#: supa Table 2: mean discrepancy by test resolution (rows) and training resolution (columns).
PAPER_TABLE_2 = pd.DataFrame(
    [[3.57, 6.35, 7.20], [np.nan, 6.78, np.nan], [np.nan, np.nan, 8.29]],
    index=["1x", "2x", "3x"],
    columns=["1x", "2x", "3x"],
)
#: The largest permutation p-value of a ranking that carries over (with ρ > 0 without the
#: smallest variant), and of one that partly does.
P_REPRODUCED = 0.05
P_PARTLY = 0.2
#: Score -> (the paper's figure, what the score is).
_SCORES = {
    "nll": ("Fig. 6", "test negative log-likelihoods"),
    "mean_discrepancy": ("Fig. 7", "mean discrepancies"),
    "average_rank": ("Fig. 8", "average ranks"),
}


@dataclass(frozen=True)
class Correlation:
    """Spearman ρ between two simulators' seed-averaged scores of the same models.

    Attributes:
        rho: ρ of the seed means.
        p: its one-sided exact permutation p-value over the models' orders
            (:func:`permutation_p`): how often an unrelated order correlates at least as well.
        rho_without: ρ without the model ``without`` (NaN with fewer than three left).
        without: the model left out: the smallest variant (the last of the models).
        per_seed: ρ of each training seed's scores (seed k on one simulator against seed k on
            the other), whose spread is the training noise of a one-seed ρ.
        models: the models compared.
        rho_error: standard error of ``rho`` over the training seeds (``chapter.rho_error``);
            0 when none was measured.
        p_band: the p-values at ρ − 2 errors and at ρ + 2 errors, the band a verdict is judged
            on; None when none was measured (then both are ``p``).
    """

    rho: float
    p: float
    rho_without: float
    without: str
    per_seed: tuple[float, ...]
    models: tuple[str, ...]
    rho_error: float = 0.0
    p_band: tuple[float, float] | None = None

    def __str__(self) -> str:
        return f"ρ = {self.rho:.2f} ± {2 * self.rho_error:.2f}, p = {self.p:.3f}"

    @property
    def p_range(self) -> tuple[float, float]:
        """(p at ρ − 2 errors, p at ρ + 2 errors): the band's worst and best p-value."""
        return self.p_band if self.p_band is not None else (self.p, self.p)

    def record(self) -> dict:
        """JSON-able (None for NaN): ρ and its error, the p-value and the band's, ρ without the
        smallest, the per-seed ρ and the models."""

        def finite(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "rho": finite(self.rho),
            "rho_error": finite(self.rho_error),
            "p": finite(self.p),
            "p_band": [finite(x) for x in self.p_range],
            "rho_without_smallest": finite(self.rho_without),
            "without": self.without,
            "per_seed_rho": [finite(r) for r in self.per_seed],
            "models": list(self.models),
        }


@dataclass(frozen=True)
class Measured:
    """What the SUPA study page measured.

    Attributes:
        correlations: score ("nll", "mean_discrepancy", "average_rank") -> the Spearman
            correlation of the CaloFlow variants' seed-averaged scores on the detailed
            simulator and on SUPA (``chapter.spearman``).
        resolution: supa Table 2 measured here, one table per training seed (rows test,
            columns training resolution).
        resolution_error: the test-shower bootstrap errors of the entries (the seeds' mean).
    """

    correlations: Mapping[str, Correlation]
    resolution: Sequence[pd.DataFrame]
    resolution_error: pd.DataFrame

    @property
    def resolution_mean(self) -> pd.DataFrame:
        """supa Table 2 averaged over the training seeds."""
        return sum(self.resolution) / len(self.resolution)


def ranking_verdict(c: Correlation) -> str:
    """The verdict of a ranking claim (module docstring).

    Example:
        >>> c = Correlation(0.9, 0.01, 0.8, "9", (0.9,), tuple("1234567"))
        >>> ranking_verdict(c)
        'reproduced'
        >>> ranking_verdict(Correlation(0.75, 0.033, 0.6, "9", (0.7,), tuple("1234567"),
        ...                             0.1, (0.12, 0.004)))
        'partly'
    """
    if not (math.isfinite(c.rho) and math.isfinite(c.p)):
        return "not yet run"
    worst, best = c.p_range
    if worst <= P_REPRODUCED and c.rho_without > 0:
        return "reproduced"
    return "partly" if best <= P_PARTLY else "not reproduced"


def _ranking_claim(name: str, c: Correlation) -> Claim:
    figure, what = _SCORES[name]
    seeds = band([r for r in c.per_seed if math.isfinite(r)] or [math.nan])
    return Claim(
        f"supa-ranking-{name.replace('_', '-')}",
        f"The CaloFlow variants' {what} on SUPA and on the detailed simulator are "
        f"roughly monotonically related, so rankings on SUPA carry over (supa {figure}); "
        "judged by Spearman ρ of the seed-averaged scores ± 2 errors, read as exact "
        "permutation p-values over the variants' orders: reproduced when p <= "
        f"{P_REPRODUCED} across the band, with ρ > 0 without the smallest variant; not "
        f"reproduced when p > {P_PARTLY} across it; partly otherwise.",
        f"10 variants, 'roughly monotonic' ({figure}, no ρ or uncertainty given)",
        f"ρ = {c.rho:.2f} ± {2 * c.rho_error:.2f}, p = {c.p:.3f} (band {c.p_range[1]:.3f}–"
        f"{c.p_range[0]:.3f}; {len(c.models)} variants, seed means); without variant "
        f"{c.without}: ρ = {c.rho_without:.2f}; one seed's ρ: {seeds.text('.2f')}",
        ranking_verdict(c),
        seeds=seeds.record() | c.record(),
    )


def _differences(measured: Measured, a: tuple[str, str], b: tuple[str, str]) -> Band:
    """Entry b − entry a (each (test, train)) per training seed, with the bootstrap errors of
    the two entries added in quadrature."""
    values = [float(t.loc[b] - t.loc[a]) for t in measured.resolution]
    error = float(np.hypot(measured.resolution_error.loc[a], measured.resolution_error.loc[b]))
    return band(values, bootstrap_error=error)


def claims(measured: Measured) -> list[Claim]:
    """The page's five claims: three rankings (supa Figs. 6-8) and two of supa Table 2.

    Example:
        >>> table = pd.DataFrame([[1, 2, 3], [np.nan, 2, np.nan], [np.nan, np.nan, 3]],
        ...                      index=["1x", "2x", "3x"], columns=["1x", "2x", "3x"])
        >>> c = Correlation(0.9, 0.01, 0.8, "9", (0.9, 0.7), tuple("1234567"))
        >>> m = Measured(dict.fromkeys(("nll", "mean_discrepancy", "average_rank"), c),
        ...              [table, table * 1.1], table * 0.01)
        >>> [c.verdict for c in claims(m)]
        ['reproduced', 'reproduced', 'reproduced', 'reproduced', 'reproduced']
    """
    value = measured.resolution_mean
    diagonal = [float(value.loc[s, s]) for s in ("1x", "2x", "3x")]
    rise = _differences(measured, ("1x", "1x"), ("3x", "3x"))
    diagonal_verdict = judge(rise, low=0.0)
    if diagonal_verdict == "reproduced" and not diagonal[0] < diagonal[1] < diagonal[2]:
        diagonal_verdict = "partly"  # 3x above 1x, but 2x out of order
    top = [float(value.loc["1x", s]) for s in ("1x", "2x", "3x")]
    above = {s: _differences(measured, ("1x", "1x"), ("1x", s)) for s in ("2x", "3x")}
    judged = [judge(b, low=0.0) for b in above.values()]
    top_verdict = (
        "reproduced"
        if all(v == "reproduced" for v in judged)
        else "not reproduced"
        if "not reproduced" in judged
        else "partly"
    )
    n = len(measured.resolution)
    n_text = f"{n} seed{'s' if n != 1 else ''}"
    return [
        *(_ranking_claim(name, measured.correlations[name]) for name in _SCORES),
        Claim(
            "supa-resolution-diagonal",
            "CaloFlow's performance degrades when the resolution increases: the mean "
            "discrepancy of a model trained and tested at 1x < 2x < 3x (supa Table 2, diagonal; "
            "one training per entry, no errors); judged as 3x − 1x over training seeds, ± 2 "
            "errors above 0, with the seed means in order (partly: the band straddles 0 or 2x "
            "is out of order).",
            f"3.57 / 6.78 / 8.29 (×{6.78 / 3.57:.2f} / ×{8.29 / 3.57:.2f} of 1x)",
            "{:.3g} / {:.3g} / {:.3g} (×{:.2f} / ×{:.2f} of 1x; {} seeds); 3x − 1x: {}".format(
                *diagonal,
                diagonal[1] / diagonal[0],
                diagonal[2] / diagonal[0],
                n,
                rise.text(),
            ),  # fmt: skip
            diagonal_verdict,
            seeds=rise.record(),
        ),
        Claim(
            "supa-resolution-downsampled",
            "Samples of models trained at 2x and 3x, summed into 1x cells, are worse than those "
            "of the model trained at 1x (supa Table 2, top row): the model does not use the "
            "finer structure to do better at 1x; judged as both differences to the 1x entry, "
            "over training seeds, ± 2 errors above 0 (partly: a band straddles 0; not "
            "reproduced: a band wholly at or below 0).",
            "1x: 3.57; from 2x: 6.35; from 3x: 7.20",
            "1x: {:.3g}; from 2x: {:.3g}; from 3x: {:.3g} ({}); 2x − 1x: {}; 3x − 1x: {}".format(
                *top, n_text, above["2x"].text(), above["3x"].text()
            ),
            top_verdict,
            seeds={s: b.record() for s, b in above.items()},
        ),
    ]
