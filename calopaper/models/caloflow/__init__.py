"""CaloFlow-style model (Krause & Shih 2021, as used in supa §5): two conditional zuko flows.

Modules: ``model`` (flow I for the layer energies, flow II for the normalised voxels, the
capacity variants of supa Fig. 6), ``data`` (showers of a truth ``Source`` binned at 1x, 2x or
3x, split 70/10/20, and supa §4's marginals) and ``pipeline`` (the cached ``trained``,
``sample``, ``log_prob`` and the cached ``evaluate``).
"""

from calopaper.models.caloflow.data import PARTS, SPLIT, Voxels, marginals
from calopaper.models.caloflow.model import VARIANTS, CaloFlow, CaloFlowConfig, variant
from calopaper.models.caloflow.pipeline import (
    CODE,
    Evaluation,
    evaluate,
    log_prob,
    sample,
    trained,
)

__all__ = [
    "CODE",
    "PARTS",
    "SPLIT",
    "VARIANTS",
    "CaloFlow",
    "CaloFlowConfig",
    "Evaluation",
    "Voxels",
    "evaluate",
    "log_prob",
    "marginals",
    "sample",
    "trained",
    "variant",
]
