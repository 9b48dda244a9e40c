"""CaloClouds2 and CaloClouds3 (caloclouds3): ShowerFlow + one-step distilled point diffusion.

Modules: ``diffusion`` (EDM preconditioning, loss, Karras/Heun sampler, consistency
distillation; shared by both versions), ``pointnet`` (the ConcatSquash PointwiseNet),
``showerflow`` (the zuko ShowerFlow), ``data`` (ILD photons, barrel directions, the
location-agnostic sub-cell points), ``calibration`` (flow targets, layer assignment, energy
calibration), ``model`` (the two versions as one module), ``cells`` (projection to cells at an
impact point), ``corrections`` (the fixed corrections measured after training), ``pipeline``
(configure, fit, the cached ``trained``, generation), ``papersized`` (untrained paper-sized
networks for timing) and ``evaluation`` (the paper's observables and Jensen-Shannon tables).
"""

# The package's names are its modules' public names (each module's ``__all__``).
from calopaper.models.caloclouds import data, diffusion, model, pipeline, pointnet, showerflow
from calopaper.models.caloclouds.data import *  # noqa: F403
from calopaper.models.caloclouds.diffusion import *  # noqa: F403
from calopaper.models.caloclouds.model import *  # noqa: F403
from calopaper.models.caloclouds.pipeline import *  # noqa: F403
from calopaper.models.caloclouds.pointnet import *  # noqa: F403
from calopaper.models.caloclouds.showerflow import *  # noqa: F403

__all__ = [
    *data.__all__,
    *diffusion.__all__,
    *model.__all__,
    *pipeline.__all__,
    *pointnet.__all__,
    *showerflow.__all__,
]
