"""The paper profile's dry run: the papers' model sizes on tiny data, two optimisation steps.

``CALOPAPER_DRYRUN=1`` proves that a chapter starts at paper scale without a GPU or the
papers' compute. In the ``paper`` profile it keeps every architecture, per-shower shape, batch
size and sampler setting, but

- cuts each dataset to a few batches (the ``paper`` values that :data:`SIZES` replaces),
- stops every training after :data:`STEPS` optimisation steps (``training.fit``), and
- keeps its artifacts in a store of its own (:func:`store_root`), so a dry-run model is
  never read as a trained one.

Weights after two steps are as good as untrained; a network's generation time does not depend
on its weights, so the dry run is also how ``calopaper bench`` times the paper-sized networks
on a GPU (``book/records/``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "ENV",
    "RECORD",
    "REPORT",
    "SIZES",
    "STEPS",
    "active",
    "footprint",
    "models_table",
    "report",
    "store_root",
    "summarise",
]

#: The switch: any value but "", "0" turns the dry run on.
ENV = "CALOPAPER_DRYRUN"
#: Optimisation steps of every training in a dry run.
STEPS = 2
#: The file in the store where every dry-run training reports its model's size and memory.
REPORT = "dryrun/models.jsonl"
#: The committed summary of the last dry run, per chapter (``make dryrun`` checks it).
RECORD = Path(__file__).resolve().parents[1] / "book" / "records" / "paper-dryrun.json"

#: Per chapter, the ``paper`` profile values a dry run replaces: data sizes, never architectures,
#: batch sizes or sampler settings. Each training split still holds at least two batches.
SIZES: dict[str, dict[str, Any]] = {
    "01_dataset": {"n_showers": 200, "n_images": 100},
    # batch 128: 0.7 x 400 showers = 280 training showers
    "02_savae": {
        "n_seeds": 1,
        "n_showers": 400,
        "n_samples": 40,
        "n_fidelity": 40,
        "sweep_showers": 40,
        "n_timing": 10,
    },
    "03_gaam": {"n_seeds": 1, "n_showers": 100, "n_samples": 10, "n_timing": 4},
    # batch 100: 0.8 x 300 showers = 240 training showers
    "04_dvae": {"n_seeds": 1, "n_showers": 300, "n_response": 20, "n_timing": 20},
    "05_supa": {"n_showers": 300, "n_bench": 100, "n_gflash": 200},
    # batch 256: 0.7 x 800 showers = 560 training showers
    "05_supa_study": {"n_seeds": 1, "n_showers": 800, "n_boot": 5},
    # point_batch 2048: 5000 points; ShowerFlow batches are the showers themselves
    "06_caloclouds3": {
        "n_seeds": 1,
        "n_train": 200,
        "cc3_n_train": 200,
        "n_test": 20,
        "n_fixed": 4,
        "n_diphoton": 10,
        "points": 5000,
        "n_timing": 3,
        "n_boot": 3,
    },
    "07_speed": {"batches": [1, 16]},
}


def active() -> bool:
    """Whether ``CALOPAPER_DRYRUN`` is set (to anything but "" or "0")."""
    return os.environ.get(ENV, "") not in ("", "0")


def store_root() -> Path:
    """The dry run's own store: ``<temp dir>/calopaper-dryrun`` (``CALOPAPER_DATA`` wins)."""
    return Path(tempfile.gettempdir()) / "calopaper-dryrun"


@contextmanager
def footprint(network, root: Path, **labels) -> Iterator[None]:
    """Measure the memory of the training step run inside the block and :func:`report` it to
    the store at ``root``, with ``labels`` (model, batch size, device...).

    The row's keys besides the labels: ``parameters`` (count); ``weights_mb``;
    ``activations_mb``, the tensors autograd saves for the backward pass (each storage once,
    the weights not counted); ``estimate_mb``, weights, gradients and Adam's two moments
    (4 x the weights) plus the activations, an estimate of the step's peak; ``cuda_peak_mb``,
    the allocator's measured peak during the block on a GPU (NaN on a CPU). MiB throughout.
    """
    import torch

    parameters = list(network.parameters())
    owned = {p.untyped_storage().data_ptr() for p in parameters}
    saved: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in owned:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    cuda = bool(parameters) and parameters[0].is_cuda
    if cuda:
        torch.cuda.reset_peak_memory_stats(parameters[0].device)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield
    weights = sum(p.numel() * p.element_size() for p in parameters)
    mib = 2.0**20
    stats = labels | {
        "parameters": sum(p.numel() for p in parameters),
        "weights_mb": weights / mib,
        "activations_mb": sum(saved.values()) / mib,
        "estimate_mb": (4 * weights + sum(saved.values())) / mib,
        "cuda_peak_mb": torch.cuda.max_memory_allocated(parameters[0].device) / mib
        if cuda
        else float("nan"),
    }
    report(stats, root)


def report(row: dict, root: Path) -> None:
    """Append one training's ``row`` (model, batch size, :func:`footprint`) to ``root/REPORT``
    (one JSON object per line; worker processes append to the same file)."""
    path = Path(root) / REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def summarise(rows: list[dict]) -> list[dict]:
    """One row per model class of a chapter's dry-run reports: the trainings, and the largest
    model's parameters, batch size and estimated memory per step (MiB, rounded)."""
    by_model: dict[str, list[dict]] = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    out = []
    for model, trained in sorted(by_model.items()):
        largest = max(trained, key=lambda r: r["parameters"])
        out.append(
            {
                "model": model,
                "trainings": len(trained),
                "parameters": largest["parameters"],
                "batch": largest["batch_size"],
                "memory [MiB]": round(largest["estimate_mb"]),
            }
        )
    return out


def models_table(chapter: str, record: Path = RECORD):
    """The paper-sized models of ``chapter`` from the committed dry-run record, as a DataFrame
    (empty when the chapter trains none or the record is missing)."""
    import pandas as pd

    columns = ["model", "trainings", "parameters", "batch", "memory [MiB]"]
    rows = json.loads(Path(record).read_text()).get(chapter, []) if Path(record).exists() else []
    return pd.DataFrame(rows, columns=columns)
