"""CaloDVAE (calodvae): GumBolt discrete VAE with an RBM prior for CaloGAN-layout showers.

Modules: ``rbm`` (the RBM prior and its block-Gibbs sampler), ``preprocessing`` (the 504-cell
layout and the hit-only per-cell standardisation of calodvae App. 6.1), ``model`` (the
hierarchical encoder, the masked decoder, the GumBolt objective, generation), ``data`` (one
particle's showers from a truth ``Source``, split 80/10/10) and ``pipeline`` (``configure``,
the cached ``trained``, ``sample``, the KS model selection, the energy response).
"""

# The package's names are its modules' public names (each module's ``__all__``).
from calopaper.models.dvae import data, model, pipeline, preprocessing, rbm
from calopaper.models.dvae.data import *  # noqa: F403
from calopaper.models.dvae.model import *  # noqa: F403
from calopaper.models.dvae.pipeline import *  # noqa: F403
from calopaper.models.dvae.preprocessing import *  # noqa: F403
from calopaper.models.dvae.rbm import *  # noqa: F403

__all__ = [*data.__all__, *model.__all__, *pipeline.__all__, *preprocessing.__all__, *rbm.__all__]
