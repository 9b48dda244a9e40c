"""CaloFlow-style model (Krause & Shih 2021, as used in supa §5): two conditional zuko flows.

Modules: ``model`` (flow I for the layer energies, flow II for the normalised voxels, the
capacity variants of supa Fig. 6), ``data`` (showers of a truth ``Source`` binned at 1x, 2x or
3x, split 70/10/20, and supa §4's marginals) and ``pipeline`` (the cached ``trained``,
``sample``, ``log_prob`` and the cached ``evaluate``).
"""

# The package's names are its modules' public names (each module's ``__all__``).
from calopaper.models.caloflow import data, model, pipeline
from calopaper.models.caloflow.data import *  # noqa: F403
from calopaper.models.caloflow.model import *  # noqa: F403
from calopaper.models.caloflow.pipeline import *  # noqa: F403

__all__ = [*data.__all__, *model.__all__, *pipeline.__all__]
