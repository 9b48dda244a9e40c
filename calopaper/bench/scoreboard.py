"""The book's scoreboard: every generator on the common fidelity scale against its speed.

The scale is the CaloChallenge evaluation (``calopaper.fidelity``): a classifier's AUC between
a generator's showers and its truth's, on high-level features (the chapter's shower
observables; bounded and comparable across truths) and on low-level ones (cells over incident
energy), and the Fréchet physics distance; each with its floor, the same measurement between
the truth and an independent truth sample. Each chapter measures its own models and publishes
the rows in its results (``tables["fidelity"]``, one row per generator); the scoreboard reads
them, so every number it shows is the one on the generator's page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from calopaper.results import read_results

__all__ = ["COLUMNS", "SIMULATOR", "TRUTHS", "error_bar", "saturated", "table"]

#: The truths generators share: name -> what the scoreboard calls it.
TRUTHS = {
    "gaam-middle": "SUPA `gaam`, middle layer (65 GeV γ)",
    "gaam-inner": "SUPA `gaam`, inner layer (65 GeV γ)",
    "gaam-outer": "SUPA `gaam`, outer layer (65 GeV γ)",
    "calogan": "SUPA `calogan` e+ (CaloGAN cells)",
    "ild": "reference simulator `ild` (point clouds)",
}
#: The bench row of the simulator that made each truth (its speed is the reference line).
SIMULATOR = {
    "gaam-middle": "SUPA gaam",
    "calogan": "SUPA calogan",
    "ild": "reference simulator ild",
}
#: The common-scale columns the scoreboard shows (``fidelity.COLUMNS``' names).
COLUMNS = ("AUC high", "AUC high ±", "AUC high floor", "seeds", "AUC high seed s", "AUC low",
           "AUC low floor", "FPD", "FPD seed s", "FPD floor")  # fmt: skip


def _rows(results: dict[str, dict]) -> dict[tuple[str, str], dict]:
    """(chapter, generator) -> that chapter's common-scale row."""
    return {
        (chapter, row["generator"]): row
        for chapter, r in results.items()
        for row in r.get("tables", {}).get("fidelity", [])
        if row.get("generator")
    }


def table(generators: pd.DataFrame, speed: pd.DataFrame, root: Path | None = None) -> pd.DataFrame:
    """One row per generator with a truth in :data:`TRUTHS`: its common-scale numbers from its
    chapter's results and its fastest ms/shower on one CPU thread.

    Args:
        generators: the bench's generator facts (``frames(result)[1]``); ``samples`` names the
            chapter whose numbers are the generator's (``"<chapter>/<name>"``).
        speed: ``report.summary``: the fastest ms/shower on one thread per generator.
        root: the folder holding the chapters' results (default: the book's).

    Returns:
        Columns generator, family, truth, chapter, :data:`COLUMNS`, ms/shower, status; a
        generator whose chapter has no common-scale row for it keeps a row with the reason.
    """
    best = speed.set_index(["generator", "device"])["best ms (1 thread)"]
    found = _rows(read_results(root))
    rows = []
    for g in generators.to_dict(orient="records"):
        if g.get("device") != "cpu" or g.get("truth") not in TRUTHS or not g.get("samples"):
            continue
        chapter = g["samples"].split("/")[0]
        row = {"generator": g["generator"], "family": g["family"], "truth": g["truth"]}
        row |= {"chapter": chapter, "ms/shower": best.get((g["generator"], "cpu"), np.nan)}
        scale = found.get((chapter, g["generator"]))
        if scale is None:
            rows.append(row | {"status": f"no common-scale row in {chapter}'s results yet"})
            continue
        rows.append(row | {k: scale.get(k, np.nan) for k in COLUMNS} | {"status": "ok"})
    columns = ["generator", "family", "truth", "chapter", *COLUMNS, "ms/shower", "status"]
    return pd.DataFrame(rows, columns=columns)


def saturated(board: pd.DataFrame) -> bool:
    """Whether most generators' high-level AUC exceeds 0.99: the classifier then no longer ranks
    them, and the scoreboard shows the Fréchet physics distance over its floor instead."""
    done = board[board["status"] == "ok"]
    return bool(len(done)) and float((done["AUC high"] > 0.99).mean()) > 0.5


def error_bar(row: dict | pd.Series) -> float:
    """The uncertainty the scoreboard draws on a generator's high-level AUC: the standard
    deviation over its trainings where it has several ("AUC high seed s"), else over the
    classifier's folds ("AUC high ±").

    Example:
        >>> error_bar({"seeds": 3, "AUC high seed s": 0.04, "AUC high ±": 0.01})
        0.04
        >>> error_bar({"seeds": 1, "AUC high seed s": float("nan"), "AUC high ±": 0.01})
        0.01
    """
    seeds = row.get("seeds", 1)
    several = np.isfinite(seeds) and seeds > 1 and np.isfinite(row.get("AUC high seed s", np.nan))
    return float(row["AUC high seed s"] if several else row["AUC high ±"])
