"""CaloDVAE (calodvae): GumBolt discrete VAE with an RBM prior for CaloGAN-layout showers.

Modules: ``rbm`` (the RBM prior and its block-Gibbs sampler), ``preprocessing`` (the 504-cell
layout and the hit-only per-cell standardisation of calodvae App. 6.1), ``model`` (the
hierarchical encoder, the masked decoder, the GumBolt objective, generation).
"""

from calopaper.models.dvae.model import (
    ARCHITECTURES,
    DVAE,
    MASKS,
    DVAEConfig,
    architecture,
    relaxed_bernoulli,
)
from calopaper.models.dvae.preprocessing import (
    CALOGAN_LAYERS,
    N_CELLS,
    CellStandardiser,
    flatten_layers,
    split_layers,
)
from calopaper.models.dvae.rbm import RBM

__all__ = [
    "ARCHITECTURES",
    "CALOGAN_LAYERS",
    "DVAE",
    "DVAEConfig",
    "MASKS",
    "N_CELLS",
    "RBM",
    "CellStandardiser",
    "architecture",
    "flatten_layers",
    "relaxed_bernoulli",
    "split_layers",
]
