"""The one fit loop for every model: device, seeds, progress, checkpoints, resume, NaN guard."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from tqdm import tqdm

from calopaper import dryrun
from calopaper.device import resolve_device
from calopaper.findings import BUDGETS
from calopaper.store import Store, atomic_write, default_store

__all__ = [
    "SNAPSHOTS",
    "FitConfig",
    "History",
    "fit",
    "save_model",
    "load_model",
    "trained",
    "seed_everything",
]

#: The optimisers and learning-rate schedules of ``FitConfig``.
OPTIMISERS = ("adam", "radam")
SCHEDULES = ("constant", "linear")
#: The fractions of its epochs at which a training keeps its weights (budget curves).
SNAPSHOTS = tuple(b for b in BUDGETS if b < 1)


@dataclass(frozen=True)
class FitConfig:
    """Optimisation settings shared by every model.

    Attributes:
        epochs: passes over the training data.
        batch_size: showers per optimisation step.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        patience: stop after this many epochs without a better validation loss (0 = never).
        grad_clip: clip the gradient norm to this value (0 = no clipping).
        seed: seeds torch, numpy and the batch order.
        optimiser: "adam" or "radam" (rectified Adam, as the CaloClouds code trains).
        schedule: "constant" learning rate, or "linear": from ``lr`` down to 0 over the steps.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 0
    grad_clip: float = 0.0
    seed: int = 0
    optimiser: str = "adam"
    schedule: str = "constant"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) <= 0:
                msg = f"FitConfig.{name} must be positive, got {getattr(self, name)!r}"
                raise ValueError(msg)
        for name in ("lr", "weight_decay", "patience", "grad_clip"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                msg = f"FitConfig.{name} must be a finite number >= 0 (lr > 0), got {value!r}"
                raise ValueError(msg)
        for name, allowed in (("optimiser", OPTIMISERS), ("schedule", SCHEDULES)):
            value = getattr(self, name)
            if value not in allowed:
                msg = f"FitConfig.{name} = {value!r} is invalid; expected one of {allowed}"
                raise ValueError(msg)

    def key(self) -> dict:
        """The settings as a store key: ``optimiser`` and ``schedule`` are left out at their
        defaults, so that models trained before they existed keep their keys."""
        out = asdict(self)
        for name in ("optimiser", "schedule"):
            if out[name] == FitConfig.__dataclass_fields__[name].default:
                del out[name]
        return out


@dataclass
class History:
    """Per-epoch mean losses and what the loop did."""

    train: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0
    stopped_early: bool = False
    cpu_seconds: float = 0.0  # process CPU time of the epochs (wall time: ``seconds``)


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch's global state; return a torch generator for the batch order."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _as_dataset(data: Dataset | torch.Tensor | tuple) -> Dataset:
    if isinstance(data, Dataset):
        return data
    tensors = data if isinstance(data, tuple | list) else (data,)
    return TensorDataset(*[torch.as_tensor(t) for t in tensors])


def _to(batch, device: str):
    return tuple(t.to(device, non_blocking=True) for t in batch)


def _dry_run_footprint(model, batch, device: str, description: str, first: bool):
    """In a dry run, ``dryrun.footprint`` of the first training step, reported to the store;
    otherwise a context that does nothing."""
    if not (first and dryrun.active()):
        return contextlib.nullcontext()
    labels = {"model": type(model).__name__, "description": description}
    labels |= {"batch_size": len(batch[0]), "device": str(device)}
    return dryrun.footprint(model, default_store().root, **labels)


def _mean_loss(model, loader: DataLoader, device: str) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in loader:
            batch = _to(batch, device)
            total += float(model.loss(batch)) * len(batch[0])
            count += len(batch[0])
    return total / max(count, 1)


def fit(
    model: torch.nn.Module,
    train: Dataset | torch.Tensor | tuple,
    val: Dataset | torch.Tensor | tuple | None = None,
    config: FitConfig = FitConfig(),
    *,
    device: str = "auto",
    checkpoint: Path | None = None,
    progress: bool = True,
    description: str = "training",
    snapshots: dict[float, dict] | None = None,
) -> History:
    """Train ``model`` by minimising ``model.loss(batch)`` with Adam.

    The model protocol: ``loss(batch) -> scalar Tensor`` where ``batch`` is a
    tuple of tensors (the columns of ``train``); a model that defines ``set_progress(f)`` is told
    the fraction ``f`` of training done before every step (for annealing schedules).

    Args:
        model: the model; moved to ``device``.
        train, val: a Dataset, a tensor, or a tuple of tensors with showers along dim 0.
        config: optimisation settings.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        checkpoint: file written atomically after every epoch; if it exists, training resumes
            from it (same model class required).
        progress: show a tqdm bar over epochs.
        snapshots: when given, filled with fraction -> the weights ``fit`` would have returned
            had training stopped after that fraction of ``config.epochs`` (each of
            ``SNAPSHOTS``; at least one epoch), for budget curves.

    In a dry run (``calopaper.dryrun``) training stops after ``dryrun.STEPS`` optimisation
    steps, and the first step's memory (``dryrun.footprint``) is reported to the store.

    Returns:
        The loss history. With ``val``, the weights of the best validation epoch are restored.

    Raises:
        FloatingPointError: the loss became NaN or infinite (the epoch and step are named).
    """
    device = resolve_device(device)
    generator = seed_everything(config.seed)
    model.to(device)
    pinned = str(device).startswith("cuda")  # page-locked batches copy to a GPU faster
    train_loader = DataLoader(
        _as_dataset(train),
        batch_size=config.batch_size,
        shuffle=True,
        generator=generator,
        pin_memory=pinned,
    )
    val_loader = (
        DataLoader(_as_dataset(val), batch_size=config.batch_size, pin_memory=pinned)
        if val is not None
        else None
    )
    optimiser = _optimiser(model, config)
    history, start, best_state = History(), 0, None
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        _check_class(state, model, checkpoint)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        generator.set_state(state["generator"])
        history = History(**state["history"])
        start = len(history.train)
        best_state = state.get("best")
        if snapshots is not None:
            snapshots.update(state.get("snapshots", {}))
    snapshot_epochs: dict[int, list[float]] = {}
    for f in SNAPSHOTS:  # two fractions may round to one epoch (few epochs)
        snapshot_epochs.setdefault(max(1, round(f * config.epochs)) - 1, []).append(f)
    steps_per_epoch = len(train_loader)
    # a resumed training continues its schedule
    schedule = _schedule(
        optimiser, config, config.epochs * steps_per_epoch, start * steps_per_epoch
    )
    max_steps, taken = (dryrun.STEPS if dryrun.active() else math.inf), 0
    began, began_cpu = time.perf_counter(), time.process_time()
    bar = tqdm(range(start, config.epochs), desc=description, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for step, batch in enumerate(train_loader):
            if taken >= max_steps:
                break
            taken += 1
            if hasattr(model, "set_progress"):
                model.set_progress(
                    (epoch * steps_per_epoch + step) / (config.epochs * steps_per_epoch)
                )
            batch = _to(batch, device)
            with _dry_run_footprint(model, batch, device, description, first=taken == 1):
                loss = model.loss(batch)
                if not torch.isfinite(loss.detach()):
                    msg = f"{description}: loss is {loss.item()} at epoch {epoch}, step {step}"
                    raise FloatingPointError(msg)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimiser.step()
                schedule.step()
            total += loss.item() * len(batch[0])
            count += len(batch[0])
        history.train.append(total / count)
        if val_loader is not None:
            history.val.append(_mean_loss(model, val_loader, device))
            if history.best_epoch < 0 or history.val[-1] < history.val[history.best_epoch]:
                history.best_epoch = epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        bar.set_postfix(loss=f"{history.train[-1]:.4g}", val=f"{(history.val or [np.nan])[-1]:.4g}")
        history.seconds += time.perf_counter() - began
        history.cpu_seconds += time.process_time() - began_cpu
        began, began_cpu = time.perf_counter(), time.process_time()
        if snapshots is not None and epoch in snapshot_epochs:
            weights = best_state if best_state is not None else model.state_dict()
            for f in snapshot_epochs[epoch]:
                snapshots[f] = {k: v.detach().clone() for k, v in weights.items()}
        if checkpoint is not None:
            _save_checkpoint(
                checkpoint, model, optimiser, generator, history, best_state, snapshots or {}
            )
        if config.patience and epoch - history.best_epoch >= config.patience:
            history.stopped_early = True
            break
        if taken >= max_steps:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    if snapshots is not None:  # stopped before a snapshot's epoch: it is the final model
        for f in SNAPSHOTS:
            snapshots.setdefault(f, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model.eval()
    return history


def _optimiser(model: torch.nn.Module, config: FitConfig) -> torch.optim.Optimizer:
    """Adam or RAdam over ``model``'s parameters with ``config``'s rate and weight decay."""
    # fused: one kernel over all parameters; on a CPU the per-tensor loop took ~20 % of a GAAM
    # step (a 1.8M-parameter MADE), the fused update about a sixth of that.
    if config.optimiser == "radam":
        return torch.optim.RAdam(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay, foreach=True
        )
    return torch.optim.Adam(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True
    )


def _schedule(
    optimiser: torch.optim.Optimizer, config: FitConfig, steps: int, done: int = 0
) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning rate per step: constant, or falling linearly to 0 over ``steps``, of which
    ``done`` were taken before (a resumed training)."""
    if config.schedule == "linear":
        return torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: max(0.0, 1.0 - (step + done) / max(steps, 1))
        )
    return torch.optim.lr_scheduler.LambdaLR(optimiser, lambda _: 1.0)


def _check_class(state: dict, model: torch.nn.Module, path: Path) -> None:
    name = type(model).__name__
    if state.get("class") != name:
        msg = f"{path} holds a {state.get('class')!r} checkpoint, not a {name!r} one"
        raise ValueError(msg)


def _save_checkpoint(path, model, optimiser, generator, history, best_state, snapshots) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        torch.save(
            {
                "class": type(model).__name__,
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "generator": generator.get_state(),
                "history": asdict(history),
                "best": best_state,
                "snapshots": snapshots,
            },
            tmp,
        )


def save_model(
    path: Path,
    model: torch.nn.Module,
    history: History | None = None,
    snapshots: dict[float, dict] | None = None,
) -> None:
    """Save config, weights, history and the weights at ``SNAPSHOTS`` (``fit``) so that
    ``load_model`` rebuilds the model at its full budget or at a snapshot."""
    payload = {
        "class": type(model).__name__,
        "config": asdict(model.config),
        "model": {k: v.cpu() for k, v in model.state_dict().items()},
        "history": asdict(history) if history is not None else None,
        "snapshots": {
            str(f): {k: v.cpu() for k, v in w.items()} for f, w in (snapshots or {}).items()
        },
    }
    with atomic_write(path) as tmp:
        torch.save(payload, tmp)


def load_model(
    path: Path, cls: type, device: str = "cpu", budget: float = 1.0
) -> tuple[torch.nn.Module, History | None]:
    """Rebuild a model saved by ``save_model``; a checkpoint of another class is refused.

    ``cls`` must take its config dataclass as the only constructor argument and expose the
    config class as ``cls.Config``. ``budget`` < 1 loads the weights kept after that fraction
    of the epochs (one of ``SNAPSHOTS``); the history is the full training's.
    """
    device = resolve_device(device)
    state = torch.load(path, map_location=device, weights_only=True)
    model = cls(cls.Config(**state["config"]))
    _check_class(state, model, path)
    weights = state["model"]
    if budget != 1.0:
        kept = state.get("snapshots", {})
        if str(budget) not in kept:
            msg = f"{path} keeps no weights at budget {budget!r}; it keeps {sorted(kept)}"
            raise ValueError(msg)
        weights = kept[str(budget)]
    model.load_state_dict(weights)
    model.to(device).eval()
    history = History(**state["history"]) if state["history"] else None
    return model, history


def trained(
    cls: type,
    config,
    fit_config: FitConfig,
    data: Callable[[], tuple],
    data_key: dict,
    *,
    device: str = "auto",
    store: Store | None = None,
    progress: bool = True,
    code: tuple = (),
    budget: float = 1.0,
) -> tuple[torch.nn.Module, History]:
    """A model trained with these configs on this data, from the store or trained now.

    ``budget`` < 1 (one of ``SNAPSHOTS``) returns the model after that fraction of the epochs:
    the snapshot kept during the full training, or, for a model whose training depends on its
    progress (``set_progress``: annealing schedules), a model trained for that fraction of the
    epochs.

    Args:
        cls: the model class (``cls(config)`` builds it; ``cls.Config`` is its config class).
        config: the model's frozen config dataclass.
        fit_config: optimisation settings.
        data: returns ``(train, val)`` for ``fit``; only called when training is needed.
        data_key: JSON-able description of the data (e.g. simulator preset, n, seed, split).
        code: extra modules whose source is part of the key (the model's module always is).

    Returns:
        The trained model (on ``device``, eval mode) and its history. Interrupted training
        resumes from ``data/checkpoints/``.
    """
    import importlib

    store = store or default_store()
    if budget != 1.0 and hasattr(cls, "set_progress"):
        epochs = max(1, round(budget * fit_config.epochs))
        fit_config, budget = replace(fit_config, epochs=epochs), 1.0
    kind = f"models/{cls.__name__.lower()}"
    key = {
        "config": asdict(config),
        "fit": fit_config.key(),
        "data": data_key,
        "snapshots": list(SNAPSHOTS),
    }
    modules = (importlib.import_module(cls.__module__), *code)
    checkpoint = store.root / "checkpoints" / f"{store.key(kind, key, modules)}.pt"

    def build(tmp: Path) -> None:
        seed_everything(fit_config.seed)  # the initial weights depend on the seed only
        model = cls(config)
        train, val = data()
        snapshots = {}
        history = fit(
            model,
            train,
            val,
            fit_config,
            device=device,
            checkpoint=checkpoint,
            progress=progress,
            description=cls.__name__,
            snapshots=snapshots,
        )
        save_model(tmp, model, history, snapshots)

    path = store.get_or_build(kind, key, build, suffix=".pt", code=modules)
    checkpoint.unlink(missing_ok=True)
    return load_model(path, cls, device, budget)
