"""Claims of the SUPA study page (05_supa_study): rankings carry over (supa Figs. 6-8) and the
resolution table (supa Table 2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calopaper.results import Claim, verdict

__all__ = [
    "MIN_RHO",
    "PAPER_TABLE_2",
    "Measured",
    "claims",
]

#: supa Table 2: mean discrepancy by test resolution (rows) and training resolution (columns).
PAPER_TABLE_2 = pd.DataFrame(
    [[3.57, 6.35, 7.20], [np.nan, 6.78, np.nan], [np.nan, np.nan, 8.29]],
    index=["1x", "2x", "3x"],
    columns=["1x", "2x", "3x"],
)
#: "Roughly monotonic" (supa §5.1) is read as a Spearman ρ of at least this.
MIN_RHO = 0.7
#: Score -> (the paper's figure, what the score is).
_SCORES = {
    "nll": ("Fig. 6", "test negative log-likelihoods"),
    "mean_discrepancy": ("Fig. 7", "mean discrepancies"),
    "average_rank": ("Fig. 8", "average ranks"),
}


@dataclass(frozen=True)
class Measured:
    """What the SUPA study page measured.

    Attributes:
        correlations: score ("nll", "mean_discrepancy", "average_rank") -> (ρ, low, high):
            Spearman ρ between the CaloFlow variants' scores on the reference simulator and on
            SUPA, and its bootstrap interval.
        level: the interval's coverage (e.g. 0.9).
        resolution: supa Table 2 measured here (rows test, columns training resolution).
        resolution_error: bootstrap errors of ``resolution``.
    """

    correlations: Mapping[str, tuple[float, float, float]]
    level: float
    resolution: pd.DataFrame
    resolution_error: pd.DataFrame


def _ranking_claim(name: str, rho: float, low: float, high: float, level: float) -> Claim:
    holds = rho >= MIN_RHO and low > 0
    figure, what = _SCORES[name]
    return Claim(
        f"supa-ranking-{name.replace('_', '-')}",
        f"The CaloFlow variants' {what} on SUPA and on the detailed simulator are "
        f"roughly monotonically related, so rankings on SUPA carry over (supa {figure}); "
        f"judged as Spearman ρ >= {MIN_RHO} with the lower end of its {level:.0%} bootstrap "
        "interval above 0 (partly: ρ > 0).",
        f"10 variants, 'roughly monotonic' ({figure}, no ρ given)",
        f"ρ = {rho:.2f}, {level:.0%} interval [{low:.2f}, {high:.2f}]",
        verdict(bool(holds), partly=bool(rho > 0)),
    )


def _entry(table: pd.DataFrame, test: str, train: str) -> float:
    return float(table.loc[test, train])


def claims(measured: Measured) -> list[Claim]:
    """The page's five claims: three rankings (supa Figs. 6-8) and two of supa Table 2.

    Resolution claims compare mean discrepancies with their bootstrap errors σ: a difference
    counts when it exceeds 2 σ of the difference (errors added in quadrature).

    Example:
        >>> table = pd.DataFrame([[1, 2, 3], [np.nan, 2, np.nan], [np.nan, np.nan, 3]],
        ...                      index=["1x", "2x", "3x"], columns=["1x", "2x", "3x"])
        >>> m = Measured({"nll": (1.0, 0.8, 1.0), "mean_discrepancy": (0.9, 0.5, 1.0),
        ...               "average_rank": (0.9, 0.4, 1.0)}, 0.9, table, table * 0.01)
        >>> [c.verdict for c in claims(m)]
        ['reproduced', 'reproduced', 'reproduced', 'reproduced', 'reproduced']
    """
    value, error = measured.resolution, measured.resolution_error

    def significant(test_a: str, train_a: str, test_b: str, train_b: str) -> bool:
        """Entry b exceeds entry a by more than 2 σ."""
        diff = _entry(value, test_b, train_b) - _entry(value, test_a, train_a)
        sigma = np.hypot(_entry(error, test_a, train_a), _entry(error, test_b, train_b))
        return bool(diff > 2 * sigma)

    diagonal = [_entry(value, s, s) for s in ("1x", "2x", "3x")]
    increasing = diagonal[0] < diagonal[1] < diagonal[2] and significant("1x", "1x", "3x", "3x")
    top = [_entry(value, "1x", s) for s in ("1x", "2x", "3x")]
    beyond = [significant("1x", "1x", "1x", s) for s in ("2x", "3x")]
    return [
        *(_ranking_claim(name, *measured.correlations[name], measured.level) for name in _SCORES),
        Claim(
            "supa-resolution-diagonal",
            "CaloFlow's performance degrades when the resolution increases: the mean "
            "discrepancy of a model trained and tested at 1x < 2x < 3x (supa Table 2, diagonal); "
            "judged as increasing, with 3x above 1x by more than 2 σ (partly: 3x above 1x).",
            f"3.57 / 6.78 / 8.29 (×{6.78 / 3.57:.2f} / ×{8.29 / 3.57:.2f} of 1x)",
            "{:.3g} / {:.3g} / {:.3g} (×{:.2f} / ×{:.2f} of 1x)".format(
                *diagonal, diagonal[1] / diagonal[0], diagonal[2] / diagonal[0]
            ),
            verdict(increasing, partly=diagonal[2] > diagonal[0]),
        ),
        Claim(
            "supa-resolution-downsampled",
            "Samples of models trained at 2x and 3x, summed into 1x cells, are worse than those "
            "of the model trained at 1x (supa Table 2, top row): the model does not use the "
            "finer structure to do better at 1x; judged as both above the 1x entry by more "
            "than 2 σ (partly: one of them, or both above within the errors).",
            "1x: 3.57; from 2x: 6.35; from 3x: 7.20",
            "1x: {:.3g}; from 2x: {:.3g}; from 3x: {:.3g}".format(*top),
            verdict(all(beyond), partly=any(beyond) or min(top[1:]) > top[0]),
        ),
    ]
