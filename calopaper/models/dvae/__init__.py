"""CaloDVAE (calodvae): GumBolt discrete VAE with an RBM prior for CaloGAN-layout showers.

Modules: ``rbm`` (the RBM prior and its block-Gibbs sampler), ``preprocessing`` (the 504-cell
layout and the hit-only per-cell standardisation of calodvae App. 6.1), ``model`` (the
hierarchical encoder, the masked decoder, the GumBolt objective, generation), ``data`` (one
particle's showers from a truth ``Source``, split 80/10/10) and ``pipeline`` (``configure``,
the cached ``trained``, ``sample``, the KS model selection, the energy response).
"""

from calopaper.models.dvae.data import (
    SHAPES,
    SPARSITY,
    VARIABLES,
    Showers,
    cell_samples,
    non_showering_fraction,
    read_cells,
    shower_shapes,
    supa_source,
)
from calopaper.models.dvae.model import (
    ARCHITECTURES,
    DVAE,
    MASKS,
    NEGATIVE_PHASES,
    DVAEConfig,
    architecture,
    relaxed_bernoulli,
)
from calopaper.models.dvae.pipeline import (
    ABLATIONS,
    Candidate,
    EnergyResponse,
    ablation,
    configure,
    generation_timing,
    non_showering_check,
    reconstruct,
    response_figure,
    sample,
    select,
    select_each,
    trained,
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
    "ABLATIONS",
    "ARCHITECTURES",
    "CALOGAN_LAYERS",
    "DVAE",
    "DVAEConfig",
    "MASKS",
    "NEGATIVE_PHASES",
    "N_CELLS",
    "RBM",
    "SHAPES",
    "SPARSITY",
    "VARIABLES",
    "Candidate",
    "CellStandardiser",
    "EnergyResponse",
    "Showers",
    "ablation",
    "architecture",
    "cell_samples",
    "configure",
    "flatten_layers",
    "generation_timing",
    "non_showering_check",
    "non_showering_fraction",
    "read_cells",
    "reconstruct",
    "relaxed_bernoulli",
    "response_figure",
    "sample",
    "select",
    "select_each",
    "shower_shapes",
    "split_layers",
    "supa_source",
    "trained",
]
