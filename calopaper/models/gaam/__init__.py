"""GAAM (gaam): one geometry-aware autoregressive model per calorimeter layer.

Modules: ``model`` (the conditional MADE over the spiral cell order; ``conditional=False`` is the
unconditional ARM), ``data`` (one layer of the truth showers, split and turned into padded
sequences), ``pipeline`` (training through the store, stored samples), ``chapter`` (chapter 3's
models configured from its parameters; its middle-layer GAAM for chapter 2) and ``bench``.
"""

# The package's names are its modules' public names (each module's ``__all__``).
from calopaper.models.gaam import data, model, pipeline
from calopaper.models.gaam.data import *  # noqa: F403
from calopaper.models.gaam.model import *  # noqa: F403
from calopaper.models.gaam.pipeline import *  # noqa: F403

__all__ = [*data.__all__, *model.__all__, *pipeline.__all__]
