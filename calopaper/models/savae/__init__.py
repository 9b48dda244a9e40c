"""SAVAE, the self-attention VAE conditioned on the segmentation (savae §IV).

``model`` holds the network and its config, ``data`` the preprocessing and the truth showers,
``pipeline`` the cached training, sampling and the measurements of a model, ``chapter``
chapter 2's configurations and studies (ablation, main model, β scan), ``bench`` its bench rows
and ``paper`` the published tables.
"""

# The package's names are its modules' public names (each module's ``__all__``).
from calopaper.models.savae import data, model, paper, pipeline
from calopaper.models.savae.data import *  # noqa: F403
from calopaper.models.savae.model import *  # noqa: F403
from calopaper.models.savae.paper import *  # noqa: F403
from calopaper.models.savae.pipeline import *  # noqa: F403

__all__ = [*data.__all__, *model.__all__, *paper.__all__, *pipeline.__all__]
