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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from calopaper import findings, training
from calopaper.datasets import read_points, write_points
from calopaper.models.caloclouds import corrections
from calopaper.models.caloclouds.calibration import centre_of_gravity, flow_features
from calopaper.models.caloclouds.cells import impact_points, project
from calopaper.models.caloclouds.data import prepare
from calopaper.models.caloclouds.model import (
    CaloClouds,
    CaloCloudsConfig,
    Distillation,
    EDMObjective,
    version,
)
from calopaper.showers import PointClouds
from calopaper.store import Store, default_store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "TrainConfig",
    "configure",
    "distil",
    "distil_epochs",
    "fit",
    "generated",
    "impact_points",
    "model_key",
    "point_set",
    "project",
    "trained",
]

#: Code whose source is part of every stored model, sample set and timing: the modules that
#: prepare the data, define, train and run the models (not the chapter's evaluation or figures).
CODE = tuple(
    f"calopaper.models.caloclouds.{name}"
    for name in (
        "calibration",
        "cells",
        "corrections",
        "data",
        "diffusion",
        "model",
        "pipeline",
        "pointnet",
        "showerflow",
    )
) + ("calopaper.training",)


@dataclass(frozen=True)
class TrainConfig:
    """How the three parts are trained (Adam through ``training.fit``).

    Attributes:
        flow_epochs, flow_batch, flow_lr: ShowerFlow, over the training showers.
        flow_schedule: ShowerFlow's learning rate, "constant" or "linear" (to 0; the paper).
        points: points drawn across showers for the point model (per epoch set).
        point_epochs, point_batch, point_lr: the EDM teacher.
        distill_epochs, distill_lr: consistency distillation (same points and batch size).
        distill_steps: N, the Karras noise levels of the distillation (18 in the paper).
        point_optimiser: "adam" or "radam" (the official code's) for the teacher and student.
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
    flow_schedule: str = "constant"
    point_optimiser: str = "adam"
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
    snapshots: dict[float, dict] | None = None,
) -> tuple[CaloClouds, dict[str, training.History]]:
    """Train ShowerFlow, the EDM teacher and the distilled student on ``prepared`` showers.

    ``snapshots``, when given, is filled with fraction -> {"flow", "teacher"}: the weights of
    ShowerFlow and of the teacher's objective after that fraction of their epochs
    (``training.SNAPSHOTS``), from which :func:`trained` builds a model at a fraction of the
    budget.
    """
    training.seed_everything(train.seed)
    model = CaloClouds(config)
    cog = (config.cog_mean, config.cog_std)
    x = flow_features(prepared, config.version, cog, seed=train.seed)
    c = model.flow_conditioning(prepared.incident_energy, prepared.incident_direction)
    ckpt = (lambda stage: checkpoints / f"{stage}.pt") if checkpoints else (lambda stage: None)
    kept = {"flow": {}, "teacher": {}} if snapshots is not None else {}
    histories = {}
    histories["flow"] = training.fit(
        model.flow,
        (torch.as_tensor(x, dtype=torch.float32), c),
        None,
        FitConfig(train.flow_epochs, train.flow_batch, train.flow_lr, grad_clip=10.0,
                  seed=train.seed, schedule=train.flow_schedule),
        device=device, checkpoint=ckpt("flow"), progress=progress, description="ShowerFlow",
        snapshots=kept.get("flow"),
    )  # fmt: skip
    points = point_set(model, prepared, train.points, seed=train.seed)
    histories["teacher"] = training.fit(
        EDMObjective(model.teacher),
        points,
        None,
        FitConfig(train.point_epochs, train.point_batch, train.point_lr, grad_clip=10.0,
                  seed=train.seed, optimiser=train.point_optimiser),
        device=device, checkpoint=ckpt("teacher"), progress=progress, description="EDM teacher",
        snapshots=kept.get("teacher"),
    )  # fmt: skip
    histories["student"] = distil(
        model, train, points, device=device, progress=progress, checkpoint=ckpt("student")
    )
    if snapshots is not None:
        for f in training.SNAPSHOTS:
            snapshots[f] = {stage: kept[stage][f] for stage in ("flow", "teacher")}
    return model.cpu().eval(), histories


def distil_epochs(train: TrainConfig, budget: float = 1.0) -> int:
    """Epochs of the consistency distillation at ``budget`` (a fraction of the training
    budget): ``budget`` x ``train.distill_epochs``, rounded, at least one (as
    ``training.trained`` shortens a model whose training depends on its progress).

    Example:
        >>> [distil_epochs(TrainConfig(distill_epochs=3), b) for b in (0.25, 0.5, 1.0)]
        [1, 2, 3]
    """
    return max(1, round(budget * train.distill_epochs))


def distil(
    model: CaloClouds,
    train: TrainConfig,
    points: tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int | None = None,
    device: str = "cpu",
    progress: bool = False,
    checkpoint: Path | None = None,
) -> training.History:
    """Distil ``model``'s teacher into its one-step student on ``points`` (``point_set``) for
    ``epochs`` (default ``train.distill_epochs``); the student's weights are replaced."""
    distiller = Distillation(model.teacher, steps=train.distill_steps)
    epochs = train.distill_epochs if epochs is None else epochs
    history = training.fit(
        distiller,
        points,
        None,
        FitConfig(epochs, train.point_batch, train.distill_lr, grad_clip=10.0,
                  seed=train.seed + 1, optimiser=train.point_optimiser),
        device=device, checkpoint=checkpoint, progress=progress, description="distillation",
    )  # fmt: skip
    model.student.load_state_dict(distiller.student.state_dict())
    model.teacher.requires_grad_(True)
    return history


def model_key(name: str, train: TrainConfig, source: Source, sizes: dict | None = None,
              *, replica: int = 0, budget: float = 1.0) -> dict:  # fmt: skip
    """The store identity of :func:`trained`'s model (also the identity its samples carry):
    the version, its sizes, the training settings with the ``replica``'s training seed, the
    truth's key, and the ``budget`` when below 1."""
    train = replace(train, seed=findings.replica_seed(train.seed, replica))
    key = {"version": name, "sizes": dict(sizes or {}), "train": asdict(train), "data": source.key}
    return key if budget == 1.0 else {**key, "budget": budget}


def trained(
    name: str,
    train: TrainConfig,
    source: Source,
    *,
    sizes: dict | None = None,
    replica: int = 0,
    budget: float = 1.0,
    device: str = "cpu",
    store: Store | None = None,
    progress: bool = True,
) -> tuple[CaloClouds, dict[str, list[float]]]:
    """A trained CaloClouds ``name`` on ``source``'s showers: from the store or trained now.

    Args:
        replica: the k-th training (0, 1, ...) of the same model on the same showers, with the
            training seed ``findings.replica_seed(train.seed, replica)`` (point draw, initial
            weights, batch order, distillation noise).
        budget: a fraction of the training budget (``training.SNAPSHOTS``) for budget curves:
            ShowerFlow and the teacher as they were after that fraction of their epochs in the
            full training (snapshots kept while it ran, so they cost no training), and a student
            distilled anew from that teacher for that fraction of the distillation epochs
            (``distil_epochs``): a student needs the teacher of its own budget, so it cannot be
            a snapshot of the full distillation.

    Returns:
        The model (CPU, eval mode) and, per part ("flow", "teacher", "student"), its
        per-epoch training losses ("loss") and training wall time ("seconds"; for a snapshot,
        the full training's seconds times its share of the epochs).
    """
    options = {"device": device, "store": store or default_store(), "progress": progress}
    path = _trained_path(name, train, source, dict(sizes or {}), replica, budget, **options)
    state = _load(path)
    return state["model"], state["history"]


def _trained_path(
    name: str,
    train: TrainConfig,
    source: Source,
    sizes: dict,
    replica: int,
    budget: float,
    *,
    device: str,
    store: Store,
    progress: bool,
) -> Path:
    """The stored file of :func:`trained`'s model, built first when missing."""
    key = model_key(name, train, source, sizes, replica=replica, budget=budget)
    seeded = replace(train, seed=findings.replica_seed(train.seed, replica))
    kind = "models/caloclouds"
    checkpoints = store.root / "checkpoints" / store.key(kind, key, CODE)

    def showers() -> tuple[PointClouds, PointClouds]:
        """The training showers as simulated and as prepared for the model."""
        clouds = source.clouds(store=store, progress=progress)
        config = version(name, **sizes)
        at_centre = not config.angular
        return clouds, prepare(clouds, config.sub_cells, at_centre=at_centre, seed=seeded.seed)

    def build_full(tmp: Path) -> None:
        clouds, prepared = showers()
        config = configure(name, prepared, **sizes)
        checkpoints.mkdir(parents=True, exist_ok=True)
        snapshots = {}
        model, histories = fit(
            config, seeded, prepared, device=device, progress=progress,
            checkpoints=checkpoints, snapshots=snapshots,
        )  # fmt: skip
        corrections.measure(model, clouds, prepared, seed=seeded.seed)
        history = {k: {"loss": h.train, "seconds": h.seconds} for k, h in histories.items()}
        _save(tmp, model.config, model, history, snapshots)

    def build_fraction(tmp: Path) -> None:
        options = {"device": device, "store": store, "progress": progress}
        full = _load(_trained_path(name, train, source, sizes, replica, 1.0, **options))
        model, history = full["model"], full["history"]
        weights = full["snapshots"][str(budget)]
        model.flow.load_state_dict(weights["flow"])
        EDMObjective(model.teacher).load_state_dict(weights["teacher"])
        for part in ("flow", "teacher"):
            losses = history[part]["loss"]
            n = max(1, round(budget * len(losses)))
            history[part] = {"loss": losses[:n],
                             "seconds": history[part]["seconds"] * n / len(losses)}  # fmt: skip
        clouds, prepared = showers()
        points = point_set(model, prepared, seeded.points, seed=seeded.seed)
        checkpoints.mkdir(parents=True, exist_ok=True)
        h = distil(
            model, seeded, points, epochs=distil_epochs(seeded, budget), device=device,
            progress=progress, checkpoint=checkpoints / "student.pt",
        )  # fmt: skip
        history["student"] = {"loss": h.train, "seconds": h.seconds}
        corrections.measure(model, clouds, prepared, seed=seeded.seed)
        _save(tmp, model.config, model.cpu().eval(), history, {})

    build = build_full if budget == 1.0 else build_fraction
    path = store.get_or_build(kind, key, build, suffix=".pt", code=CODE)
    for stage in ("flow", "teacher", "student"):
        (checkpoints / f"{stage}.pt").unlink(missing_ok=True)
    return path


def _save(path: Path, config: CaloCloudsConfig, model: CaloClouds, history: dict,
          snapshots: dict) -> None:  # fmt: skip
    """Write a trained model: config, weights, loss history and the snapshots of ``fit``."""
    payload = {
        "class": "CaloClouds",
        "config": asdict(config),
        "model": model.state_dict(),
        "history": json.dumps(history),
        "snapshots": {str(f): w for f, w in snapshots.items()},
    }
    torch.save(payload, path)


def _load(path: Path) -> dict:
    """{"model" (CPU, eval mode), "history", "snapshots"} of a model written by ``_save``."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("class") != "CaloClouds":
        msg = f"{path} holds a {state.get('class')!r} checkpoint, not a 'CaloClouds' one"
        raise ValueError(msg)
    model = CaloClouds(CaloCloudsConfig(**state["config"]))
    model.load_state_dict(state["model"])
    return {"model": model.eval(), "history": json.loads(state["history"]),
            "snapshots": state.get("snapshots", {})}  # fmt: skip


def generated(
    model: CaloClouds,
    energy: np.ndarray,
    direction: np.ndarray | None = None,
    *,
    seed: int = 0,
    batch: int = 100,
    steps: int = 0,
    store: Store | None = None,
    key: dict | None = None,
) -> PointClouds:
    """Generated showers for these conditions; stored when ``key`` (the model identity) is given.

    ``steps``: 0 for the one-step student, else the teacher with the Heun sampler on that many
    noise levels (``CaloClouds.generate``).
    """
    energy = np.asarray(energy, dtype=np.float64)
    direction = np.tile([0.0, 0.0, 1.0], (len(energy), 1)) if direction is None else direction

    def make() -> PointClouds:
        parts = [
            model.generate(
                energy[i : i + batch],
                direction[i : i + batch],
                torch.Generator().manual_seed(seed + i),
                steps=steps,
            )
            for i in range(0, len(energy), batch)
        ]
        return PointClouds.concatenate(parts)

    if key is None:
        return make()
    config = {"model": key, "energy": energy.tolist(), "direction": np.round(direction, 6).tolist(),
              "seed": seed} | ({"steps": steps} if steps else {})  # fmt: skip

    def build(tmp: Path) -> None:
        write_points(tmp, make())

    path = (store or default_store()).get_or_build("samples/caloclouds", config, build, code=CODE)
    return read_points(path)
