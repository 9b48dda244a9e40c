"""The book's scoreboard: every generator's fidelity (from its chapter's saved samples) against
its speed, per shared truth, with the truth's own floor and its simulator's speed.

Fidelity is the mean over shared observables of W1(model, truth) / σ_truth, on unbinned
per-shower values (``metrics.wasserstein``). The floor is the same number between two halves
of the truth, taken to the model's sample sizes with ``metrics.floor_scale``. Observables:
``gaam-middle`` (cell images in several segmentations): savae's centroids and widths (Eqs. 1-2)
and the energy sum, per segmentation both files have; ``calogan`` (three CaloGAN layers): the
calodvae shower shapes and sparsities (``observables.shower_shapes``); ``ild`` (point clouds):
energy sum, number of points and the energy-weighted centre of gravity in x, y and layer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from calopaper import metrics

__all__ = ["SIMULATOR", "TRUTHS", "fidelity", "observables_of", "table"]

#: The truths generators share: name -> what the scoreboard calls it.
TRUTHS = {
    "gaam-middle": "SUPA `gaam`, middle layer (65 GeV γ)",
    "calogan": "SUPA `calogan` e+ (CaloGAN cells)",
    "ild": "reference simulator `ild` (point clouds)",
}
#: The bench row of the simulator that made each truth (its speed is the reference line).
SIMULATOR = {
    "gaam-middle": "SUPA gaam",
    "calogan": "SUPA calogan",
    "ild": "reference simulator ild",
}
#: The segmentations of the middle layer compared (savae Tables II-III).
_MIDDLE = ("48x48", "36x48*", "24x24", "24x12")


def _read(path: Path):
    """A sample file as cell images or point clouds (whichever layout it has)."""
    import h5py

    from calopaper.datasets import read_cells, read_points

    with h5py.File(path, "r") as f:
        points = "points" in f
    return read_points(path) if points else read_cells(path)


def _middle(images) -> dict[str, np.ndarray]:
    from calopaper.models.savae import observables

    layers = {k: v for k, v in images.layers.items() if k in _MIDDLE}
    found = observables(layers)
    out = {f"{s}: {k}": v for s, values in found.items() for k, v in values.items()}
    out |= {f"{s}: E_sum": v.reshape(len(v), -1).sum(axis=1) for s, v in layers.items()}
    return out


def _calogan(images) -> dict[str, np.ndarray]:
    from calopaper.observables import shower_shapes

    layers = [images.layers[f"layer_{k}"] for k in range(3)]
    return shower_shapes(layers)


def _points(clouds) -> dict[str, np.ndarray]:
    points, offsets = np.asarray(clouds.points, float), np.asarray(clouds.offsets)
    counts = np.diff(offsets)
    starts = offsets[:-1][counts > 0]
    energy = np.zeros(len(counts))
    energy[counts > 0] = np.add.reduceat(points[:, 3], starts)
    out = {"E_sum": energy, "n_points": counts.astype(float)}
    for column, name in ((0, "x"), (1, "y"), (2, "layer")):
        weighted = np.zeros(len(counts))
        weighted[counts > 0] = np.add.reduceat(points[:, column] * points[:, 3], starts)
        out[f"CoG {name}"] = np.divide(
            weighted, energy, out=np.zeros_like(energy), where=energy > 0
        )
    return out


def observables_of(truth: str, path: Path) -> dict[str, np.ndarray]:
    """Per-shower observables of a saved sample set compared on ``truth``'s scoreboard.

    Raises:
        ValueError: an unknown truth name.
    """
    readers = {"gaam-middle": _middle, "calogan": _calogan, "ild": _points}
    if truth not in readers:
        msg = f"unknown scoreboard truth {truth!r}; expected one of {sorted(readers)}"
        raise ValueError(msg)
    return readers[truth](_read(path))


def _score(truth: dict[str, np.ndarray], model: dict[str, np.ndarray]) -> float:
    """Mean over shared observables of W1 / σ_truth (finite values only)."""
    values = []
    for key in sorted(set(truth) & set(model)):
        t, m = truth[key][np.isfinite(truth[key])], model[key][np.isfinite(model[key])]
        if len(t) > 1 and len(m) > 0 and np.std(t) > 0:
            values.append(metrics.wasserstein(t, m) / np.std(t))
    return float(np.mean(values)) if values else np.nan


def fidelity(truth: str, samples: Path, truth_samples: Path, seed: int = 0) -> dict:
    """Mean W1/σ_truth of a model's samples and the truth's floor at the same sample sizes.

    Returns:
        ``{"fidelity", "floor", "n_model", "n_truth"}``.
    """
    ref = observables_of(truth, truth_samples)
    model = observables_of(truth, samples)
    n_truth, n_model = len(next(iter(ref.values()))), len(next(iter(model.values())))
    half = np.random.default_rng(seed).permutation(n_truth)
    a, b = half[: n_truth // 2], half[n_truth // 2 :]
    floor = _score({k: v[a] for k, v in ref.items()}, {k: v[b] for k, v in ref.items()})
    scale = metrics.floor_scale("w1", (len(a), len(b)), (n_model, n_truth))
    return {
        "fidelity": _score(ref, model),
        "floor": floor * scale,
        "n_model": n_model,
        "n_truth": n_truth,
    }


def table(generators: pd.DataFrame, speed: pd.DataFrame, root: Path, seed: int = 0) -> pd.DataFrame:
    """One row per generator with saved samples: truth, fidelity, floor, ms/shower.

    Args:
        generators: the bench's generator facts (``frames(result)[1]``) with ``samples`` and
            ``truth_samples`` relative to ``<root>/samples``.
        speed: ``report.summary``: the fastest ms/shower on one thread per generator.
        root: the folder holding ``samples/``.
        seed: seed of the truth's split into halves behind each floor.

    Returns:
        Columns generator, family, truth, fidelity, floor, n_model, n_truth, ms/shower, status; a
        generator whose sample files are missing keeps a row with the reason.
    """
    best = speed.set_index(["generator", "device"])["best ms (1 thread)"]
    rows = []
    for g in generators.to_dict(orient="records"):
        if not g.get("samples") or g.get("device") != "cpu" or g.get("truth") not in TRUTHS:
            continue
        paths = [root / "samples" / f"{g[k]}.h5" for k in ("samples", "truth_samples")]
        row = {"generator": g["generator"], "family": g["family"], "truth": g["truth"]}
        row["ms/shower"] = best.get((g["generator"], "cpu"), np.nan)
        missing = [str(p.relative_to(root)) for p in paths if not p.exists()]
        if missing:
            rows.append(row | {"status": f"no saved samples: {', '.join(missing)}"})
            continue
        found = fidelity(g["truth"], *paths, seed=seed)
        rows.append(row | found | {"status": "ok"})
    columns = ["generator", "family", "truth", "fidelity", "floor", "n_model", "n_truth"]
    columns.append("ms/shower")
    return pd.DataFrame(rows, columns=[*columns, "status"])
