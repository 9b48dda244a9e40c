"""CaloClouds2 and CaloClouds3 (caloclouds3): ShowerFlow + one-step distilled point diffusion.

Modules: ``diffusion`` (EDM preconditioning, loss, Karras/Heun sampler, consistency
distillation; shared by both versions), ``pointnet`` (the ConcatSquash PointwiseNet),
``showerflow`` (the zuko ShowerFlow), ``data`` (ILD photons, barrel directions, the
location-agnostic sub-cell points), ``calibration`` (flow targets, layer assignment, energy
calibration), ``model`` (the two versions as one module), ``pipeline`` (configure, fit, the
cached ``trained``, generation, projection to cells, timing) and ``evaluation`` (the paper's
observables and Jensen-Shannon tables).
"""

from calopaper.models.caloclouds.data import BarrelSource, barrel_directions, prepare
from calopaper.models.caloclouds.diffusion import (
    ConsistencyDistiller,
    Denoiser,
    edm_loss,
    heun_sample,
    karras_sigmas,
    one_step_sample,
)
from calopaper.models.caloclouds.model import VERSIONS, CaloClouds, CaloCloudsConfig, version
from calopaper.models.caloclouds.pipeline import (
    TrainConfig,
    configure,
    fit,
    generated,
    project,
    trained,
)
from calopaper.models.caloclouds.pointnet import PointwiseNet
from calopaper.models.caloclouds.showerflow import FlowConfig, ShowerFlow

__all__ = [
    "VERSIONS",
    "BarrelSource",
    "CaloClouds",
    "CaloCloudsConfig",
    "ConsistencyDistiller",
    "Denoiser",
    "FlowConfig",
    "PointwiseNet",
    "ShowerFlow",
    "TrainConfig",
    "barrel_directions",
    "configure",
    "edm_loss",
    "fit",
    "generated",
    "heun_sample",
    "karras_sigmas",
    "one_step_sample",
    "prepare",
    "project",
    "trained",
    "version",
]
