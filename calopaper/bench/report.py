"""The bench's tables: one row per generator, and the ms/shower curves behind the plots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from calopaper.bench.run import frames
from calopaper.claims.supa import GEANT4_MS
from calopaper.claims.supa import PAPER_MS as SUPA_MS
from calopaper.models.gaam import paper as gaam
from calopaper.models.savae import paper as savae
from calopaper.timing import ratio_with_error

__all__ = ["PAPER_FIGURES", "at_batch", "energy_ratio", "measured", "paper_table", "summary"]


def _rows(t: pd.DataFrame, generator: str, device="cpu", kind="batch", threads=1) -> pd.DataFrame:
    """A generator's timing rows of a kind ("batch" or "energy") on a device, on ``threads``
    threads (``None``: more than one)."""
    if t.empty:
        return t
    rows = t[(t["generator"] == generator) & (t["device"] == device) & (t["kind"] == kind)]
    return rows[rows["threads"] > 1] if threads is None else rows[rows["threads"] == threads]


def _best(timings: pd.DataFrame, generator: str, device: str, threads: int | None) -> pd.Series:
    """The fastest batch-scan row of a generator (median ms/shower) on a device, on one thread
    (``threads=1``) or on more (``None``); None when there is no such row."""
    rows = _rows(timings, generator, device, "batch", threads)
    return rows.loc[rows["ms"].idxmin()] if len(rows) else None


def summary(result: dict) -> pd.DataFrame:
    """One row per generator and device: ms/shower at batch 1 and at its best batch (one
    thread, all threads), MACs per shower, the matmul floor, training time, or why not timed.

    Columns: generator, device, ms @1 (1 thread), best ms (1 thread), spread, at batch,
    best ms (all cores) (NaN: not timed with more threads), MACs/shower, floor ms, × floor,
    training [s], status.
    """
    timings, generators, matmul = frames(result)
    rows = []
    for g in generators.to_dict(orient="records"):
        row = {"generator": g["generator"], "device": g["device"]}
        ok = g.get("status") == "ok" and len(timings)
        one = _best(timings, g["generator"], g["device"], 1) if ok else None
        every = _best(timings, g["generator"], g["device"], None) if ok else None
        first = at_batch(timings, g["generator"], g["device"], 1, 1) if ok else np.nan
        rate = matmul[(matmul["device"] == g["device"]) & (matmul["threads"] == 1)]
        macs = g.get("macs", np.nan)
        macs = np.nan if macs is None or macs == 0 else macs
        floor = 1e3 * macs / float(rate["macs_per_s"].iloc[0]) if len(rate) else np.nan
        best = one["ms"] if one is not None else np.nan
        row |= {
            "ms @1 (1 thread)": first,
            "best ms (1 thread)": best,
            "spread": one["spread"] if one is not None else np.nan,
            "at batch": one["batch"] if one is not None else np.nan,
            "best ms (all cores)": every["ms"] if every is not None else np.nan,
            "MACs/shower": macs,
            "floor ms": floor,
            "× floor": best / floor if floor and floor > 0 else np.nan,
            "training [s]": g.get("training_seconds"),
            "status": g.get("status", ""),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def at_batch(
    timings: pd.DataFrame, generator: str, device: str, batch: int, threads: int = 1
) -> float:
    """Median ms/shower of a generator at one batch size (NaN when not measured)."""
    rows = _rows(timings, generator, device, "batch", threads)
    rows = rows[rows["batch"] == batch] if len(rows) else rows
    return float(rows["ms"].iloc[0]) if len(rows) else np.nan


#: Row labels the speed claims read; CC2 and CC3 at the paper's network sizes (the book's CC2
#: is shrunk to fit its training budget, see ``models.caloclouds.bench``).
SUPA, SAVAE, GAAM_MIDDLE = "SUPA paper", "SAVAE (48,48)", "GAAM middle (48,48)"
CC2, CC3, DVAE = "CC2 (paper sizes)", "CC3 (paper sizes)", "CaloDVAE e+"


def _fastest(timings: pd.DataFrame, generator: str) -> float:
    rows = _rows(timings, generator)
    return float(rows["ms"].min()) if len(rows) else np.nan


def _paired(timings: pd.DataFrame, a: str, b: str, column: str, value: str = "ms") -> pd.DataFrame:
    """``value`` (median ms/shower, or its ``"spread"`` or ``"error"``) of ``a`` and ``b`` at the
    values of ``column`` both were timed at."""
    kind = "energy" if column == "energy" else "batch"
    left = _rows(timings, a, kind=kind).set_index(column)[value]
    right = _rows(timings, b, kind=kind).set_index(column)[value]
    return pd.concat({a: left, b: right}, axis=1).dropna().sort_index()


def energy_ratio(timings: pd.DataFrame, slow: str, fast: str) -> float:
    """Mean over the incident energies both were timed at of ms(slow) / ms(fast) (one thread);
    NaN when they share none."""
    both = _paired(timings, slow, fast, "energy")
    return float((both[slow] / both[fast]).mean()) if len(both) else np.nan


def measured(result: dict):
    """The numbers :mod:`calopaper.claims.speed` judges, read from a bench result."""
    from calopaper.claims.speed import Measured
    from calopaper.models.dvae.bench import GIBBS_PREFIX

    timings = frames(result)[0]
    same = _paired(timings, SAVAE, GAAM_MIDDLE, "batch")
    energies = _paired(timings, CC2, CC3, "energy")
    gibbs = _paired(timings, DVAE, GIBBS_PREFIX + "e+", "batch")
    error = (
        _paired(timings, DVAE, GIBBS_PREFIX + "e+", "batch", "error")
        if "error" in timings
        else gibbs * 0.0
    )
    share, share_error = ratio_with_error(
        gibbs[GIBBS_PREFIX + "e+"], error[GIBBS_PREFIX + "e+"], gibbs[DVAE], error[DVAE]
    )
    last = same.iloc[-1] if len(same) else None
    return Measured(
        supa_ms=_fastest(timings, SUPA),
        savae_ms=float(last[SAVAE]) if last is not None else np.nan,
        gaam_ms=float(last[GAAM_MIDDLE]) if last is not None else np.nan,
        batch=int(same.index[-1]) if len(same) else 0,
        gaam_middle_ms=_fastest(timings, GAAM_MIDDLE),
        cc2_ms=tuple(energies[CC2]) if len(energies) else (),
        cc3_ms=tuple(energies[CC3]) if len(energies) else (),
        gibbs_share=tuple(share),
        gibbs_share_error=tuple(share_error),
    )


#: Each paper's timing figure: bench row -> (paper, figure, hardware).
PAPER_FIGURES = {
    "SAVAE (48,48)": (
        "savae §V",
        f"{savae.MS_PER_SHOWER['SAVAE']} ms/shower",
        f"GPU ({savae.GPU}), batches",
    ),
    **{
        f"GAAM {layer} {cells}": (
            source,
            f"{gaam.MS_PER_SHOWER[layer]} ms/shower",
            f"GPU ({gaam.GPU})",
        )
        for layer, cells, source in (
            ("inner", "(192,12)", "gaam §5"),
            ("middle", "(48,48)", "gaam §5, savae §V"),
            ("outer", "(24,24)", "gaam §5"),
        )
    },
    "SUPA paper": (
        "supa Table 1",
        f"{SUPA_MS:.0f} ms/shower (Geant4: {GEANT4_MS:.0f})",
        "CPU (not stated)",
    ),
    DVAE: ("calodvae checklist 3d", "not given; Gibbs sampling dominates", "—"),
    CC2: ("caloclouds3 §6, Fig. 14", "CC3 > 6× faster than CC2", "1 CPU thread"),
    CC3: ("caloclouds3 §6, Fig. 14", "~100× faster than Geant4", "1 CPU thread"),
}


def paper_table(table: pd.DataFrame) -> pd.DataFrame:
    """Each paper's timing figure beside ours (``summary`` rows on the CPU), GPU figures marked."""
    ours = table[table["device"] == "cpu"].set_index("generator")
    rows = []
    for name, (paper, figure, hardware) in PAPER_FIGURES.items():
        row = ours.loc[name] if name in ours.index else None
        timed = row is not None and row["status"] == "ok"
        rows.append(
            {
                "generator": name,
                "paper": paper,
                "paper's figure": figure,
                "paper's hardware": hardware,
                "ours @1 [ms/shower]": row["ms @1 (1 thread)"] if timed else np.nan,
                "ours best [ms/shower]": row["best ms (1 thread)"] if timed else np.nan,
                "at batch": row["at batch"] if timed else np.nan,
                "our hardware": "1 CPU thread" if timed else "not timed",
            }
        )
    return pd.DataFrame(rows)


def gpu_paper_table(gpu: pd.DataFrame) -> pd.DataFrame:
    """The papers' GPU figures beside our GPU record (``records.gpu_column``), for the rows of
    :data:`PAPER_FIGURES` timed on a GPU in the paper; ours only where the record's
    architecture matches this build's (NaN otherwise)."""
    on_gpu = gpu.set_index("generator").to_dict(orient="index")
    rows = []
    for name, (paper, figure, hardware) in PAPER_FIGURES.items():
        if not hardware.startswith("GPU"):
            continue
        g = on_gpu.get(name)
        same = g is not None and g["status"] == "matches this build"
        rows.append(
            {
                "generator": name,
                "paper": paper,
                "paper's figure (GPU)": figure,
                "ours on the GPU @1 [ms/shower]": g["GPU ms @1"] if same else np.nan,
                "ours on the GPU, best [ms/shower]": g["GPU best ms"] if same else np.nan,
                "at batch": g["GPU at batch"] if same else np.nan,
            }
        )
    return pd.DataFrame(rows)
