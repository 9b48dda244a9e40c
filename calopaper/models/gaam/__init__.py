"""GAAM (gaam): one geometry-aware autoregressive model per calorimeter layer.

Modules: ``model`` (the conditional MADE over the spiral cell order; ``conditional=False`` is the
unconditional ARM), ``data`` (one layer of the truth showers, split and turned into padded
sequences), ``pipeline`` (training through the store, stored samples, and chapter 3's
middle-layer model for other chapters).
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
    DEFAULTS,
    FIT,
    LayerModel,
    generation_ms,
    middle_layer_model,
    middle_layer_samples,
    middle_layer_source,
    source,
    stored_samples,
    trained,
)

__all__ = [
    "DEFAULTS",
    "FIT",
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
    "middle_layer_model",
    "middle_layer_samples",
    "middle_layer_source",
    "source",
    "stored_samples",
    "to_classes",
    "trained",
    "validate_layer",
]
