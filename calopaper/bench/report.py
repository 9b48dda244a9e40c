"""The bench's tables: one row per generator, and the ms/shower curves behind the plots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from calopaper.bench.run import frames

__all__ = ["at_batch", "summary"]


def _best(timings: pd.DataFrame, generator: str, device: str, threads: int | None) -> pd.Series:
    """The fastest batch-scan row of a generator (median ms/shower) on a device and threads."""
    rows = timings[
        (timings["generator"] == generator)
        & (timings["device"] == device)
        & (timings["kind"] == "batch")
    ]
    if threads is not None:
        rows = rows[rows["threads"] == threads]
    return rows.loc[rows["ms"].idxmin()] if len(rows) else None


def summary(result: dict) -> pd.DataFrame:
    """One row per generator and device: ms/shower at batch 1 and at its best batch (one
    thread, all threads), MACs per shower, the matmul floor, training time, or why not timed.

    Columns: generator, device, ms @1 (1 thread), best ms (1 thread), at batch,
    best ms (all threads), MACs/shower, floor ms, × floor, training [s], status.
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
            "best ms (all threads)": every["ms"] if every is not None else np.nan,
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
    if timings.empty:
        return np.nan
    rows = timings[
        (timings["generator"] == generator)
        & (timings["device"] == device)
        & (timings["kind"] == "batch")
        & (timings["batch"] == batch)
        & (timings["threads"] == threads)
    ]
    return float(rows["ms"].iloc[0]) if len(rows) else np.nan


#: Row labels the speed claims read.
SUPA, SAVAE, GAAM_MIDDLE = "SUPA paper", "SAVAE (48,48)", "GAAM middle (48,48)"
CC2, CC3, DVAE = "CC2", "CC3", "CaloDVAE e+"


def _scan(timings: pd.DataFrame, generator: str, kind: str = "batch") -> pd.DataFrame:
    """One generator's one-thread CPU rows of a kind ("batch" or "energy")."""
    if timings.empty:
        return timings
    return timings[
        (timings["generator"] == generator)
        & (timings["device"] == "cpu")
        & (timings["threads"] == 1)
        & (timings["kind"] == kind)
    ]


def _fastest(timings: pd.DataFrame, generator: str) -> float:
    rows = _scan(timings, generator)
    return float(rows["ms"].min()) if len(rows) else np.nan


def _paired(timings: pd.DataFrame, a: str, b: str, column: str) -> pd.DataFrame:
    """Median ms/shower of ``a`` and ``b`` at the values of ``column`` both were timed at."""
    kind = "energy" if column == "energy" else "batch"
    left = _scan(timings, a, kind).set_index(column)["ms"]
    right = _scan(timings, b, kind).set_index(column)["ms"]
    return pd.concat({a: left, b: right}, axis=1).dropna().sort_index()


def measured(result: dict):
    """The numbers :mod:`calopaper.claims.speed` judges, read from a bench result."""
    from calopaper.bench.providers import GIBBS_PREFIX
    from calopaper.claims.speed import Measured

    timings = frames(result)[0]
    same = _paired(timings, SAVAE, GAAM_MIDDLE, "batch")
    energies = _paired(timings, CC2, CC3, "energy")
    gibbs = _paired(timings, DVAE, GIBBS_PREFIX + "e+", "batch")
    last = same.iloc[-1] if len(same) else None
    return Measured(
        supa_ms=_fastest(timings, SUPA),
        savae_ms=float(last[SAVAE]) if last is not None else np.nan,
        gaam_ms=float(last[GAAM_MIDDLE]) if last is not None else np.nan,
        batch=int(same.index[-1]) if len(same) else 0,
        gaam_middle_ms=_fastest(timings, GAAM_MIDDLE),
        cc2_ms=tuple(energies[CC2]) if len(energies) else (),
        cc3_ms=tuple(energies[CC3]) if len(energies) else (),
        gibbs_share=tuple(gibbs[GIBBS_PREFIX + "e+"] / gibbs[DVAE]) if len(gibbs) else (),
    )
