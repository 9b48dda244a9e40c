"""GPU records: a bench run on a GPU, kept in the repository as ``book/records/<gpu>-<sha>.json``.

The book is built on CPUs; a GPU is at hand only now and then. When one is, ``calopaper bench
--device cuda --record book/records`` times the networks there and writes a record: the
bench's result plus the device (name, driver, CUDA and torch versions), the date, the commit
and each row's architecture (``Generator.architecture``). The speed chapter reads the newest
record (:func:`newest`) and matches each of its rows to this build's bench by name and
architecture (:func:`gpu_column`): "matches this build", "architecture differs from this
build's" or "not in this build".

A record taken in a dry run (``calopaper.dryrun``) times networks after two optimisation steps:
a network's time does not depend on its weights. CaloClouds, whose cost depends on the number
of points it generates and whose generation ends in numpy on the CPU, has no GPU row.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from calopaper import dryrun
from calopaper.provenance import RECORDS, commit

__all__ = ["RECORDS", "device_facts", "gpu_column", "newest", "provenance", "record", "write"]


def device_facts(device: str) -> dict:
    """Name, driver, CUDA runtime and torch version of ``device`` ("cuda" or "cuda:N")."""
    import torch

    index = torch.device(device).index or 0
    try:
        driver = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader", f"-i={index}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        driver = ""
    return {
        "name": torch.cuda.get_device_name(index),
        "driver": driver,
        "cuda": torch.version.cuda,
        "torch": torch.__version__,
        "capability": ".".join(map(str, torch.cuda.get_device_capability(index))),
        "tf32": torch.backends.cuda.matmul.allow_tf32,
    }


def record(result: dict, device: str, profile: str) -> dict:
    """A record of a bench ``result`` (``bench.run.measure``) taken on ``device``."""
    return {
        "device": device_facts(device),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "profile": profile,
        "dry_run": dryrun.active(),
        "result": result,
    }


def write(rec: dict, folder: Path = RECORDS) -> Path:
    """Write ``rec`` as ``<folder>/<gpu>-<short commit>.json`` (the GPU's name in lower case,
    runs of other characters as "-") and return the path."""
    gpu = re.sub(r"[^a-z0-9]+", "-", rec["device"]["name"].lower()).strip("-")
    path = Path(folder) / f"{gpu}-{rec['commit'][:7]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=1, default=float) + "\n")
    return path


def newest(folder: Path = RECORDS) -> dict | None:
    """The GPU record with the latest date in ``folder`` (None when there is none); other files
    there (the dry run's ``paper-dryrun.json``) are not GPU records."""
    found = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]
    gpu = [r for r in found if isinstance(r, dict) and {"device", "date", "result"} <= set(r)]
    return max(gpu, key=lambda r: r["date"], default=None)


def gpu_column(rec: dict, generators: pd.DataFrame) -> pd.DataFrame:
    """The record's GPU timings of every generator, matched by name to the current build's
    bench (``generators``: ``bench.frames(result)[1]``, with its ``architecture`` column).

    Returns:
        One row per generator timed in the record: generator, GPU ms/shower at batch 1, the
        fastest batch's ms/shower with its spread and batch, and ``status``: "matches this
        build", "architecture differs from this build's" or "not in this build".
    """
    from calopaper.bench.run import frames

    timings, facts, _ = frames(rec["result"])
    current = {
        g["generator"]: g.get("architecture") or {}
        for g in generators.to_dict(orient="records")
        if g.get("device") == "cpu"
    }
    rows = []
    for g in facts.to_dict(orient="records"):
        name = g["generator"]
        mine = timings[(timings["generator"] == name) & (timings["kind"] == "batch")]
        if g.get("status") != "ok" or mine.empty:
            continue
        first = mine[mine["batch"] == 1]["ms"]
        best = mine.loc[mine["ms"].idxmin()]
        if name not in current:
            status = "not in this build"
        elif current[name] != (g.get("architecture") or {}):
            status = "architecture differs from this build's"
        else:
            status = "matches this build"
        rows.append(
            {
                "generator": name,
                "GPU ms @1": float(first.iloc[0]) if len(first) else np.nan,
                "GPU best ms": float(best["ms"]),
                "GPU spread": float(best["spread"]),
                "GPU at batch": int(best["batch"]),
                "status": status,
            }
        )
    columns = ["generator", "GPU ms @1", "GPU best ms", "GPU spread", "GPU at batch", "status"]
    return pd.DataFrame(rows, columns=columns)


def provenance(rec: dict) -> str:
    """One line naming where and when a record was measured, e.g. "measured on NVIDIA H200
    (driver 580.159.04, torch 2.11.0+cu130), 2026-12-04, commit 360c88d, paper profile (dry
    run: two optimisation steps)"."""
    d = rec["device"]
    run = " (dry run: two optimisation steps)" if rec.get("dry_run") else ""
    return (
        f"measured on {d['name']} (driver {d['driver'] or 'unknown'}, torch {d['torch']}), "
        f"{rec['date'][:10]}, commit {rec['commit'][:7]}, {rec['profile']} profile{run}"
    )
