"""SAVAE, the self-attention VAE conditioned on the segmentation (savae §IV), and its pipeline.

``model`` holds the network and its config, ``data`` the preprocessing and the truth showers,
``pipeline`` the cached training, sampling and the chapter's measurements, ``paper`` the
published tables.
"""

from calopaper.models.savae.data import (
    Showers,
    cell_geometry,
    condition,
    from_unit,
    nested_split,
    to_unit,
)
from calopaper.models.savae.model import SAVAE, SAVAEConfig, geometry_specific, prepare
from calopaper.models.savae.paper import KEYS, TABLE, TABLE_II, TABLE_III, w1_table
from calopaper.models.savae.pipeline import (
    ABLATION,
    BetaSummary,
    SweepPoint,
    ablation_config,
    ablation_table,
    beta_figure,
    beta_summary,
    cell_samples,
    closest_to_paper,
    distances,
    fit,
    kl_nats,
    observables,
    offset_table,
    reconstruction_spread,
    sample,
    spread,
    sweep_point,
    sweep_table,
    tensors,
    trained,
)

__all__ = [
    "ABLATION",
    "KEYS",
    "SAVAE",
    "TABLE",
    "TABLE_II",
    "TABLE_III",
    "BetaSummary",
    "SAVAEConfig",
    "Showers",
    "SweepPoint",
    "ablation_config",
    "ablation_table",
    "beta_figure",
    "beta_summary",
    "cell_geometry",
    "cell_samples",
    "closest_to_paper",
    "condition",
    "distances",
    "fit",
    "from_unit",
    "geometry_specific",
    "kl_nats",
    "observables",
    "nested_split",
    "offset_table",
    "prepare",
    "reconstruction_spread",
    "sample",
    "spread",
    "sweep_point",
    "sweep_table",
    "tensors",
    "to_unit",
    "trained",
    "w1_table",
]
