"""What makes a verdict a finding: several training seeds, their spread, and budget curves.

A verdict about a trained model rests on ``n_seeds`` trainings that differ only in their seeds
(:func:`training_seeds`: initial weights, batch order and sampling; the truth is the same,
except where a chapter draws one truth per training, as the SUPA study does). The
number a claim judges becomes a :class:`Band`: the mean over seeds with ± 2 standard errors
(s/√n over seeds, combined in quadrature with a test-shower bootstrap error where the claim has
one), and ``results.judge`` gives "reproduced" only when the whole band clears the claim's
threshold. A :class:`BudgetCurve` is the same measurement at ¼, ½ and 1 × a chapter's training
budget; it says whether a gap to the paper closes with more training or stays.

``CALOPAPER_SEED_OFFSET`` shifts every chapter's ``seed`` (truth and training alike) by an
integer (:func:`offset`); such a run is not the book's and publishes beside it
(``results.publish``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BUDGETS",
    "ENV",
    "SEED_STRIDE",
    "Band",
    "BudgetCurve",
    "band",
    "offset",
    "replica_seed",
    "training_seeds",
]

#: Environment variable: an integer added to every chapter's ``seed``.
ENV = "CALOPAPER_SEED_OFFSET"
#: Distance between a chapter's training seeds, so that runs with seeds offset by a few never
#: share a training seed.
SEED_STRIDE = 10_000
#: The fractions of a chapter's training budget a budget curve measures.
BUDGETS = (0.25, 0.5, 1.0)
#: Half-width of a verdict's band, in standard errors of the seed mean.
WIDTH = 2


def offset() -> int:
    """``$CALOPAPER_SEED_OFFSET`` as an integer (0 when unset).

    Raises:
        ValueError: the variable is set to something that is not an integer.
    """
    text = os.environ.get(ENV, "").strip()
    try:
        return int(text) if text else 0
    except ValueError:
        msg = f"{ENV}={text!r} is not an integer"
        raise ValueError(msg) from None


def replica_seed(seed: int, replica: int) -> int:
    """The training seed of the ``replica``-th training (0, 1, ...) of a model from ``seed``;
    replica 0 trains with ``seed`` itself.

    Example:
        >>> replica_seed(3, 0), replica_seed(3, 2)
        (3, 20003)
    """
    return seed + SEED_STRIDE * replica


def training_seeds(seed: int, n: int) -> list[int]:
    """The training seeds of a model trained ``n`` times from a chapter's ``seed``.

    Example:
        >>> training_seeds(3, 3)
        [3, 10003, 20003]
    """
    if n < 1:
        msg = f"n_seeds must be at least 1, got {n}"
        raise ValueError(msg)
    return [replica_seed(seed, k) for k in range(n)]


@dataclass(frozen=True)
class Band:
    """One claim's number over training seeds, with the band a verdict is judged on.

    Attributes:
        values: the number for each training seed.
        extra_error: a further standard error combined in quadrature (e.g. the test-shower
            bootstrap of the seed mean); 0 when the claim has none.
    """

    values: tuple[float, ...]
    extra_error: float = 0.0

    @property
    def n(self) -> int:
        """Number of seeds."""
        return len(self.values)

    @property
    def mean(self) -> float:
        """Mean over seeds (NaN when any seed's value is not finite)."""
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def spread(self) -> float:
        """Standard deviation over seeds (ddof = 1; 0 for one seed)."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else 0.0

    @property
    def error(self) -> float:
        """Standard error of the mean: s/√n over seeds and ``extra_error`` in quadrature."""
        return math.hypot(self.spread / math.sqrt(max(self.n, 1)), self.extra_error)

    @property
    def lo(self) -> float:
        """Lower end of the band, mean − 2 errors (``WIDTH``)."""
        return self.mean - WIDTH * self.error

    @property
    def hi(self) -> float:
        """Upper end of the band, mean + 2 errors (``WIDTH``)."""
        return self.mean + WIDTH * self.error

    def text(self, fmt: str = ".3g", unit: str = "") -> str:
        """The mean ± 2 errors and the seed count, e.g. ``"0.42 ± 0.06 (3 seeds, s = 0.05)"``.

        Example:
            >>> Band((1.0, 2.0, 3.0)).text(".2f")
            '2.00 ± 1.15 (3 seeds, s = 1.00)'
        """
        seeds = f"{self.n} seed{'s' if self.n != 1 else ''}"
        if self.n > 1:
            seeds += f", s = {self.spread:{fmt}}"
        return f"{self.mean:{fmt}}{unit} ± {WIDTH * self.error:{fmt}}{unit} ({seeds})"

    def record(self) -> dict:
        """The band as the results file keeps it, per claim."""
        return {
            "n_seeds": self.n,
            "values": [float(v) for v in self.values],
            "mean": self.mean,
            "spread": self.spread,
            "error": self.error,
        }


def band(values: Sequence[float] | float, bootstrap_error: float = 0.0) -> Band:
    """A :class:`Band` of per-seed values (a single number is one seed).

    Example:
        >>> b = band([0.9, 1.1], bootstrap_error=0.0)
        >>> round(b.mean, 3), round(b.error, 3), b.n
        (1.0, 0.1, 2)
    """
    values = np.atleast_1d(np.asarray(values, dtype=float))
    return Band(tuple(float(v) for v in values), float(bootstrap_error))


@dataclass(frozen=True)
class BudgetCurve:
    """One claim's number at fractions of the training budget, to settle "budget" as a cause.

    Attributes:
        budgets: fractions of the chapter's budget (``BUDGETS``).
        bands: the number over seeds at each fraction.
        target: the paper's value the number should approach.
        unit: what a budget of 1 means, e.g. ``"40 epochs"``.
    """

    budgets: tuple[float, ...]
    bands: tuple[Band, ...]
    target: float
    unit: str = ""

    @property
    def gaps(self) -> np.ndarray:
        """|mean − target| at each budget."""
        return np.abs(np.array([b.mean for b in self.bands]) - self.target)

    @property
    def shrink_per_doubling(self) -> float:
        """By how much the gap shrinks per doubling of the budget (> 1: it closes), from the
        smallest to the largest budget."""
        doublings = math.log2(self.budgets[-1] / self.budgets[0])
        first, last = self.gaps[0], self.gaps[-1]
        if last == 0:
            return math.inf
        return float((first / last) ** (1 / doublings)) if first > 0 else 0.0

    @property
    def converging(self) -> bool:
        """Whether the gap at the full budget is smaller than at the smallest by more than the
        two numbers' combined 2-error band."""
        return bool(self._gap_change > self._noise)

    @property
    def diverging(self) -> bool:
        """Whether the gap at the full budget is larger than at the smallest by more than the
        two numbers' combined 2-error band."""
        return bool(-self._gap_change > self._noise)

    @property
    def _gap_change(self) -> float:
        return float(self.gaps[0] - self.gaps[-1])

    @property
    def _noise(self) -> float:
        first, last = self.bands[0], self.bands[-1]
        return 2 * math.hypot(first.error, last.error)

    def finding(self) -> str:
        """What the page says: converging toward the paper, moving away from it, or flat.

        Example:
            >>> flat = BudgetCurve((0.25, 0.5, 1.0), (band([2, 2.1]), band([2, 2.1]),
            ...                    band([2.05, 2.0])), target=1.0)
            >>> flat.finding()[:75]
            'flat: a finding about the method at this scale (the gap changes by a factor'
        """
        rate = self.shrink_per_doubling
        grows = 1 / rate if rate > 0 else math.inf
        if self.converging:
            return f"converging toward the paper (the gap shrinks by {rate:.2f} per doubling)"
        if self.diverging:
            return (
                f"moving away from the paper (the gap grows by {grows:.2f} per doubling): "
                "a finding about the method at this scale"
            )
        return (
            "flat: a finding about the method at this scale (the gap changes by a factor "
            f"{grows:.2f} per doubling, within the seeds' bands)"
        )

    def record(self) -> dict:
        """The curve as the results file keeps it."""
        return {
            "budgets": list(self.budgets),
            "unit": self.unit,
            "target": self.target,
            "bands": [b.record() for b in self.bands],
            "shrink_per_doubling": self.shrink_per_doubling,
            "finding": self.finding(),
        }
