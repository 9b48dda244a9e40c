"""CaloClouds pipeline: train once through the store, generate, project to cells, time.

The verbs every model family shares: ``configure`` (a version's config, normalised on its
training showers), ``fit`` (ShowerFlow, then the EDM teacher, then the one-step student),
the cached ``trained`` (keyed by the version's sizes, the training settings, the truth's
``Source.key`` and this package's code) and ``sample``/``generated`` (stored sample sets).
The point model is trained on random batches of points drawn across showers, each point
carrying its shower's conditioning: the network treats points independently, so no padded
showers are needed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from calopaper import training
from calopaper.datasets import read_points, write_points
from calopaper.models.caloclouds.calibration import centre_of_gravity, flow_features
from calopaper.models.caloclouds.data import prepare
from calopaper.models.caloclouds.model import (
    CaloClouds,
    CaloCloudsConfig,
    Distillation,
    EDMObjective,
    version,
)
from calopaper.showers import PointClouds
from calopaper.sim import gflash
from calopaper.store import Store, default_store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "TrainConfig",
    "configure",
    "fit",
    "generated",
    "point_set",
    "project",
    "trained",
]

#: Code whose source is part of every stored model, sample set and timing: the modules that
#: prepare the data, define, train and run the models (not the chapter's evaluation or figures).
CODE = tuple(
    f"calopaper.models.caloclouds.{name}"
    for name in ("calibration", "data", "diffusion", "model", "pipeline", "pointnet", "showerflow")
) + ("calopaper.training",)


@dataclass(frozen=True)
class TrainConfig:
    """How the three parts are trained (Adam through ``training.fit``).

    Attributes:
        flow_epochs, flow_batch, flow_lr: ShowerFlow, over the training showers.
        points: points drawn across showers for the point model (per epoch set).
        point_epochs, point_batch, point_lr: the EDM teacher.
        distill_epochs, distill_lr: consistency distillation (same points and batch size).
        distill_steps: N, the Karras noise levels of the distillation (18 in the paper).
        seed: seeds the point draw and every fit.
    """

    flow_epochs: int = 30
    flow_batch: int = 64
    flow_lr: float = 3e-3
    points: int = 200_000
    point_epochs: int = 4
    point_batch: int = 2048
    point_lr: float = 2e-3
    distill_epochs: int = 1
    distill_lr: float = 2e-4
    distill_steps: int = 18
    seed: int = 0


def configure(name: str, prepared: PointClouds, **sizes) -> CaloCloudsConfig:
    """The paper's config of ``name`` ("cc3"/"cc2") normalised on ``prepared`` training showers.

    ``sizes`` replace the paper's sizes (``flow_affine``, ``flow_hidden``, ``hidden``...).
    """
    base = version(name, **sizes)
    f = prepared.points.astype(np.float64).copy()
    if base.angular:
        f[:, 3] = np.log(np.maximum(f[:, 3], 1e-12))
    cog = centre_of_gravity(prepared)
    return version(
        name,
        **sizes,
        point_mean=tuple(f.mean(0)),
        point_std=tuple(f.std(0) + 1e-6),
        cog_mean=tuple(cog.mean(0)),
        cog_std=tuple(cog.std(0) + 1e-6),
    )


def point_set(
    model: CaloClouds, prepared: PointClouds, n: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random points across showers with their shower's conditioning.

    Returns:
        features (n, 4) as the network sees them (depth = layer index + U(-0.5, 0.5)), and
        conditioning (n, c).
    """
    rng = np.random.default_rng([seed, 4])
    pick = rng.integers(0, len(prepared.points), n)
    points = prepared.points[pick].astype(np.float64)
    points[:, 2] += rng.uniform(-0.5, 0.5, n)
    event = prepared.event_index[pick]
    counts = np.diff(prepared.offsets)
    cond = model.point_conditioning(
        prepared.incident_energy[event], prepared.incident_direction[event], counts[event]
    )
    return torch.as_tensor(model.normalise(points), dtype=torch.float32), cond


def fit(
    config: CaloCloudsConfig,
    train: TrainConfig,
    prepared: PointClouds,
    *,
    device: str = "cpu",
    progress: bool = False,
    checkpoints: Path | None = None,
) -> tuple[CaloClouds, dict[str, training.History]]:
    """Train ShowerFlow, the EDM teacher and the distilled student on ``prepared`` showers."""
    training.seed_everything(train.seed)
    model = CaloClouds(config)
    cog = (config.cog_mean, config.cog_std)
    x = flow_features(prepared, config.version, cog, seed=train.seed)
    c = model.flow_conditioning(prepared.incident_energy, prepared.incident_direction)
    ckpt = (lambda stage: checkpoints / f"{stage}.pt") if checkpoints else (lambda stage: None)
    histories = {}
    histories["flow"] = training.fit(
        model.flow,
        (torch.as_tensor(x, dtype=torch.float32), c),
        None,
        FitConfig(train.flow_epochs, train.flow_batch, train.flow_lr, grad_clip=10.0,
                  seed=train.seed),
        device=device, checkpoint=ckpt("flow"), progress=progress, description="ShowerFlow",
    )  # fmt: skip
    points = point_set(model, prepared, train.points, seed=train.seed)
    histories["teacher"] = training.fit(
        EDMObjective(model.teacher),
        points,
        None,
        FitConfig(train.point_epochs, train.point_batch, train.point_lr, grad_clip=10.0,
                  seed=train.seed),
        device=device, checkpoint=ckpt("teacher"), progress=progress, description="EDM teacher",
    )  # fmt: skip
    distiller = Distillation(model.teacher, steps=train.distill_steps)
    histories["student"] = training.fit(
        distiller,
        points,
        None,
        FitConfig(train.distill_epochs, train.point_batch, train.distill_lr, grad_clip=10.0,
                  seed=train.seed + 1),
        device=device, checkpoint=ckpt("student"), progress=progress, description="distillation",
    )  # fmt: skip
    model.student.load_state_dict(distiller.student.state_dict())
    model.teacher.requires_grad_(True)
    return model.cpu().eval(), histories


def trained(
    name: str,
    train: TrainConfig,
    source: Source,
    *,
    sizes: dict | None = None,
    device: str = "cpu",
    store: Store | None = None,
    progress: bool = True,
) -> tuple[CaloClouds, dict[str, list[float]]]:
    """A trained CaloClouds ``name`` on ``source``'s showers: from the store or trained now.

    Returns:
        The model (CPU, eval mode) and, per part ("flow", "teacher", "student"), its
        per-epoch training losses ("loss") and training wall time ("seconds").
    """
    store = store or default_store()
    sizes = dict(sizes or {})
    key = {"version": name, "sizes": sizes, "train": asdict(train), "data": source.key}
    kind = "models/caloclouds"
    checkpoints = store.root / "checkpoints" / store.key(kind, key, CODE)

    def build(tmp: Path) -> None:
        clouds = source.clouds(store=store, progress=progress)
        config = version(name, **sizes)
        prepared = prepare(clouds, config.sub_cells, at_centre=not config.angular, seed=train.seed)
        config = configure(name, prepared, **sizes)
        checkpoints.mkdir(parents=True, exist_ok=True)
        model, histories = fit(
            config, train, prepared, device=device, progress=progress, checkpoints=checkpoints
        )
        payload = {
            "class": "CaloClouds",
            "config": asdict(config),
            "model": model.state_dict(),
            "history": json.dumps(
                {k: {"loss": h.train, "seconds": h.seconds} for k, h in histories.items()}
            ),
        }
        torch.save(payload, tmp)

    path = store.get_or_build(kind, key, build, suffix=".pt", code=CODE)
    for stage in ("flow", "teacher", "student"):
        (checkpoints / f"{stage}.pt").unlink(missing_ok=True)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("class") != "CaloClouds":
        msg = f"{path} holds a {state.get('class')!r} checkpoint, not a 'CaloClouds' one"
        raise ValueError(msg)
    model = CaloClouds(CaloCloudsConfig(**state["config"]))
    model.load_state_dict(state["model"])
    return model.eval(), json.loads(state["history"])


def project(clouds: PointClouds) -> PointClouds:
    """Points -> ILD 5.088 mm cells with the MIP cut (0.1 MeV, half a MIP), as read out."""
    return gflash.cell_hits(clouds, "ild")


def generated(
    model: CaloClouds,
    energy: np.ndarray,
    direction: np.ndarray | None = None,
    *,
    seed: int = 0,
    batch: int = 100,
    store: Store | None = None,
    key: dict | None = None,
) -> PointClouds:
    """Generated showers for these conditions; stored when ``key`` (the model identity) is given."""
    energy = np.asarray(energy, dtype=np.float64)
    direction = np.tile([0.0, 0.0, 1.0], (len(energy), 1)) if direction is None else direction

    def make() -> PointClouds:
        parts = [
            model.generate(
                energy[i : i + batch],
                direction[i : i + batch],
                torch.Generator().manual_seed(seed + i),
            )
            for i in range(0, len(energy), batch)
        ]
        return PointClouds.concatenate(parts)

    if key is None:
        return make()
    config = {"model": key, "energy": energy.tolist(), "direction": np.round(direction, 6).tolist(),
              "seed": seed}  # fmt: skip

    def build(tmp: Path) -> None:
        write_points(tmp, make())

    path = (store or default_store()).get_or_build("samples/caloclouds", config, build, code=CODE)
    return read_points(path)
