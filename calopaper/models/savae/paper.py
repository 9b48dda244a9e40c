"""savae's published numbers (Tables II-III, §V timing) and our W1 tables beside them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from calopaper.geometry import Segmentation
from calopaper.metrics import Distance
from calopaper.models.gaam import paper as gaam_paper

__all__ = [
    "KEYS",
    "GPU",
    "MS_PER_SHOWER",
    "SYMBOLS",
    "TABLE",
    "TABLE_II",
    "TABLE_III",
    "paper_ratios",
    "w1_table",
]

#: The segmentations of savae Tables II-III: two training and two unseen ones.
TABLE = ("48x48", "36x48*", "24x24", "24x12")
#: The observables of savae Eqs. (1)-(2), in the tables' row order.
KEYS = ("eta_mean", "phi_mean", "sigma_eta", "sigma_phi")
SYMBOLS = {"eta_mean": "η̄", "phi_mean": "φ̄", "sigma_eta": "σ_η", "sigma_phi": "σ_φ"}

#: savae Table II: (GAAM, SAVAE) W1 per segmentation, one pair per observable of ``KEYS``. The
#: paper does not state the unit; its GAAM σ rows for (24,12) repeat those of (24,24).
TABLE_II = {
    "48x48": [(5.95e-4, 2.91e-4), (4.05e-4, 1.88e-4), (4.35e-3, 4.56e-4), (7.07e-3, 4.70e-4)],
    "36x48*": [(1.25e-2, 1.58e-4), (4.54e-4, 8.37e-5), (1.18e-3, 3.87e-4), (1.24e-3, 2.60e-4)],
    "24x24": [(2.90e-4, 7.47e-5), (6.21e-4, 1.29e-4), (8.98e-3, 4.07e-4), (4.22e-3, 4.18e-4)],
    "24x12": [(4.77e-4, 1.79e-4), (1.02e-3, 1.35e-4), (8.98e-3, 2.76e-3), (4.22e-3, 1.46e-3)],
}
#: savae Table III (App. A): (SAVAE, geometry-specific) W1, laid out as ``TABLE_II``.
TABLE_III = {
    "48x48": [(2.91e-4, 1.82e-4), (1.88e-4, 1.06e-4), (4.56e-4, 1.79e-4), (4.70e-4, 4.03e-4)],
    "36x48*": [(1.58e-4, 1.37e-4), (8.37e-5, 0.48e-4), (3.87e-4, 1.01e-4), (2.60e-4, 2.48e-4)],
    "24x24": [(7.47e-5, 7.89e-4), (1.29e-4, 1.12e-4), (4.07e-4, 3.98e-4), (4.18e-4, 3.77e-4)],
    "24x12": [(1.79e-4, 4.23e-4), (1.35e-4, 0.99e-5), (2.76e-3, 1.64e-3), (1.46e-3, 1.39e-3)],
}
#: savae §V: generation time per shower on a GPU, ms (GAAM's is gaam §5's middle layer).
MS_PER_SHOWER = {"SAVAE": 0.568, "GAAM": gaam_paper.MS_PER_SHOWER["middle"]}
#: The hardware of savae §V's SAVAE time.
GPU = "NVIDIA RTX A5000"


def paper_ratios(table: Mapping[str, list[tuple[float, float]]]) -> np.ndarray:
    """The paper's second/first W1 ratio of every entry, (16,) in ``TABLE`` x ``KEYS`` order.

    Example:
        >>> paper_ratios(TABLE_II)[:2].round(3).tolist()
        [0.489, 0.464]
    """
    return np.array([b / a for name in TABLE for a, b in table[name]])


def w1_table(
    pair: tuple[str, str],
    w1: Mapping[str, Mapping[str, Mapping[str, Distance]]],
    paper: Mapping[str, list[tuple[float, float]]],
) -> pd.DataFrame:
    """savae Table II or III beside ours: one row per segmentation of ``TABLE`` and observable.

    Args:
        pair: the two models, in the paper's column order, e.g. ``("GAAM", "SAVAE")``.
        w1: model -> segmentation -> observable -> ``metrics.Distance`` (``metrics.compare_all``).
        paper: ``TABLE_II`` or ``TABLE_III``.

    Returns:
        Columns: segmentation, quantity, paper W1 of both models, ours in mm, the larger
        bootstrap error, the truth floor, and the second/first ratio, paper's and ours.
    """
    first, second = pair
    rows = []
    for name in TABLE:
        for (paper_a, paper_b), key in zip(paper[name], KEYS, strict=True):
            a, b = w1[first][name][key], w1[second][name][key]
            rows.append(
                {
                    "segmentation": Segmentation.parse(name).notation,
                    "quantity": SYMBOLS[key],
                    f"paper {first}": paper_a,
                    f"paper {second}": paper_b,
                    f"{first} [mm]": a.value,
                    f"{second} [mm]": b.value,
                    "± (bootstrap)": max(a.error, b.error),
                    "truth floor [mm]": a.floor,
                    f"paper {second}/{first}": paper_b / paper_a,
                    f"ours {second}/{first}": b.value / a.value,
                }
            )
    return pd.DataFrame(rows)
