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
