"""SAVAE, the self-attention VAE conditioned on the segmentation (savae §IV).

``model`` holds the network and its config, ``data`` the preprocessing and the truth showers,
``pipeline`` the cached training, sampling and the measurements of a model, ``chapter``
chapter 2's configurations and studies (ablation, main model, β scan), ``bench`` its bench rows
and ``paper`` the published tables.
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
    ScanPoint,
    cell_samples,
    distances,
    kl_nats,
    observables,
    offset_table,
    reconstruction_spread,
    sample,
    scan_point,
    spread,
    tensors,
    trained,
)

__all__ = [
    "KEYS",
    "SAVAE",
    "TABLE",
    "TABLE_II",
    "TABLE_III",
    "SAVAEConfig",
    "ScanPoint",
    "Showers",
    "cell_geometry",
    "cell_samples",
    "condition",
    "distances",
    "from_unit",
    "geometry_specific",
    "kl_nats",
    "nested_split",
    "observables",
    "offset_table",
    "prepare",
    "reconstruction_spread",
    "sample",
    "scan_point",
    "spread",
    "tensors",
    "to_unit",
    "trained",
    "w1_table",
]
