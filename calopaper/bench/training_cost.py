"""Training time per chapter, from the models each chapter's results name.

A chapter's ``publish`` writes into ``data/results/<chapter>.json`` the trained models it
loaded or built (``store.models_used``), and every trained model in the store keeps its loss
history with the training time: wall seconds (``History.seconds``; per part for CaloClouds'
flow, teacher and student) and, where recorded, the process's CPU seconds
(``History.cpu_seconds``). A chapter's training time is the sum over its models, so it is
the time an empty store costs that chapter in the profile it last ran in.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from calopaper.results import read_results

__all__ = ["ALL", "training_seconds", "training_times"]


def training_seconds(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of training a stored model; CPU is NaN when not recorded.

    A history is either ``History`` as a dict or CaloClouds' JSON text of parts
    (``{"flow": {"seconds": ...}, ...}``), whose times are summed.
    """
    import torch

    history = torch.load(path, map_location="cpu", weights_only=True).get("history") or {}
    if isinstance(history, str):
        parts = json.loads(history).values()
        return float(sum(part.get("seconds", 0.0) for part in parts)), np.nan
    return float(history.get("seconds", 0.0)), float(history.get("cpu_seconds", np.nan))


#: The last row's label: every model once (chapters share some, e.g. GAAM's middle layer).
ALL = "all chapters (each model once)"


def training_times(
    root: Path, results: Path | None = None, skip: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Per chapter with trained models: how many, their training wall and CPU seconds; the
    last row (:data:`ALL`) counts every model once.

    Args:
        root: the store's folder (model paths in the results are relative to it).
        results: the folder of the chapters' results files (default: ``<root>/results``).
        skip: chapters left out (the speed chapter, which loads the others' models).

    Returns:
        Columns chapter, models, training [s], training CPU [s] (NaN when a model did not
        record it), missing (models named in the results but no longer in the store).
    """
    named = {
        chapter: [root / name for name in result.get("models", [])]
        for chapter, result in read_results(results or root / "results").items()
        if chapter not in skip
    }
    every = list(dict.fromkeys(p for paths in named.values() for p in paths))
    rows = []
    for chapter, paths in [*named.items(), (ALL, every)]:
        if not paths:
            continue
        found = np.array([training_seconds(p) for p in paths if p.exists()]).reshape(-1, 2)
        rows.append(
            {
                "chapter": chapter,
                "models": len(found),
                "training [s]": float(found[:, 0].sum()),
                "training CPU [s]": float(found[:, 1].sum()),
                "missing": len(paths) - len(found),
            }
        )
    columns = ["chapter", "models", "training [s]", "training CPU [s]", "missing"]
    return pd.DataFrame(rows, columns=columns)
