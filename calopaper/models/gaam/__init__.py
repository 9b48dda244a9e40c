"""GAAM (gaam): one geometry-aware autoregressive model per calorimeter layer.

Modules: ``model`` (the conditional MADE over the spiral cell order; ``conditional=False`` is the
unconditional ARM), ``data`` (one layer of the truth showers, split and turned into padded
sequences), ``pipeline`` (training through the store, stored samples), ``chapter`` (chapter 3's
models configured from its parameters; its middle-layer GAAM for chapter 2) and ``bench``.
"""

from calopaper.models.gaam.data import (
    LAYERS,
    SPLIT,
    TRAINING_SEGMENTATIONS,
    LayerData,
    validate_layer,
)
from calopaper.models.gaam.model import (
    GAAM,
    GAAMConfig,
    MaskedLinear,
    hidden_degrees,
    to_classes,
)
from calopaper.models.gaam.pipeline import (
    LayerModel,
    generation_ms,
    source,
    stored_samples,
    trained,
)

__all__ = [
    "GAAM",
    "LAYERS",
    "SPLIT",
    "TRAINING_SEGMENTATIONS",
    "GAAMConfig",
    "LayerData",
    "LayerModel",
    "MaskedLinear",
    "generation_ms",
    "hidden_degrees",
    "source",
    "stored_samples",
    "to_classes",
    "trained",
    "validate_layer",
]
