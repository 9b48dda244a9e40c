"""Run the bench: every generator timed one way, per batch size, thread count, device, energy.

One measurement is ``timing.stored``: one warm-up call dropped, then timed calls of the same
batch until at least ``min_repeats`` calls and ``min_seconds`` (at most ``max_repeats``, and no
more than ``budget_seconds``); the median ms/shower with its spread, kept in the store per
machine, so a rebuild on the same machine reads it back. A scan over batch sizes stops after a
call longer than ``max_call_seconds`` or before one predicted to take eight times that; a
generator whose first one-thread call took an eighth of that is not timed with more threads
(on two busy cores a second thread made GAAM's calls 10-30 times slower); the plan's
``required_batch`` is always timed on one thread (the claims compare generators there).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from calopaper import dryrun, timing
from calopaper.bench.floor import count_macs, matmul_rate
from calopaper.bench.registry import BenchContext, Entry, collect
from calopaper.provenance import machine
from calopaper.store import Store, default_store
from calopaper.timing import set_device_policy, torch_threads

__all__ = ["PLANS", "Plan", "devices", "machine", "measure", "plan_of"]

#: Modules whose source is part of the stored timings' key.
CODE = (
    "calopaper.bench",
    "calopaper.timing",
    "calopaper.models",
    "calopaper.sim",
    "calopaper.training",
)


@dataclass(frozen=True)
class Plan:
    """What to time and how long.

    Attributes:
        batches: showers per call, in increasing order (one thread).
        threads: torch CPU threads; 0 stands for all cores (``os.cpu_count()``).
        more_threads_batches: the batches timed with more than one thread (a subset).
        min_repeats, min_seconds, max_repeats: timed calls per measurement (see module doc).
        budget_seconds: no more timed calls once a measurement (with its warm-up) took this
            long; at least one is made.
        max_call_seconds: a batch scan stops after a call longer than this, or before a
            batch whose call would take eight times this if time per call grew in proportion
            to the batch.
        count_call_seconds: multiply-adds are counted (one call under torch's FLOP counter,
            about ten times slower for thousands of small operations) only for generators
            whose first one-thread call took at most this long.
        required_batch: timed on one thread whatever the stop rule (the batch at which the
            claims compare generators); 0: none.
        energy_batch: showers per call when timing against incident energy (one thread; at
            most the largest batch the scan reached).
        max_energies: time at most this many of a generator's energies, the lowest and the
            highest first (0: all).
    """

    batches: tuple[int, ...] = (1, 16, 128, 1024)
    threads: tuple[int, ...] = (1, 0)
    more_threads_batches: tuple[int, ...] = (1, 128, 1024)
    min_repeats: int = 3
    min_seconds: float = 0.25
    max_repeats: int = 30
    budget_seconds: float = 3.0
    max_call_seconds: float = 4.0
    count_call_seconds: float = 0.5
    required_batch: int = 128
    energy_batch: int = 128
    max_energies: int = 0

    def __post_init__(self) -> None:
        if not self.batches or list(self.batches) != sorted(set(self.batches)):
            msg = f"Plan.batches = {self.batches!r} must be increasing and non-empty"
            raise ValueError(msg)
        if min(self.batches) < 1 or self.min_repeats < 1 or self.energy_batch < 1:
            msg = f"batches, min_repeats and energy_batch must be >= 1 in {self!r}"
            raise ValueError(msg)


#: The plan of each profile; ``calopaper bench --quick`` uses ``smoke``.
PLANS = {
    "smoke": Plan(
        batches=(1, 16),
        threads=(1,),
        min_repeats=1,
        min_seconds=0.0,
        max_repeats=1,
        budget_seconds=1.0,
        max_call_seconds=0.5,
        count_call_seconds=0.1,
        required_batch=0,
        energy_batch=8,
        max_energies=2,
    ),
    "book": Plan(),
    "paper": Plan(
        batches=(1, 4, 16, 64, 256, 1024),
        more_threads_batches=(1, 4, 16, 64, 256, 1024),
        min_seconds=1.0,
        max_repeats=20,
        budget_seconds=60.0,
        max_call_seconds=60.0,
        count_call_seconds=600.0,
    ),
}


def plan_of(profile: str) -> Plan:
    """The timing plan of ``profile``; in a dry run (``calopaper.dryrun``) the smoke plan: a dry
    run proves that everything runs, its timings are not measurements."""
    return PLANS["smoke" if dryrun.active() else profile]


def devices(device: str = "auto") -> list[str]:
    """``"auto"``: the CPU and, when present, the GPU; otherwise just ``device``."""
    if device != "auto":
        return [device]
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def _thread_counts(plan: Plan) -> list[int]:
    """The plan's thread counts with 0 replaced by the number of cores, without repeats."""
    return sorted({n if n > 0 else os.cpu_count() or 1 for n in plan.threads})


def _row(entry: Entry, device: str, **fields) -> dict:
    """A timing row of ``entry`` (times NaN until ``fields`` give them), or why it has none."""
    g = entry.generator
    row = {"generator": entry.name, "family": entry.family}
    row |= {"paper": g.paper, "truth": g.truth} if g else {"paper": "", "truth": ""}
    row |= {"device": device, "threads": None, "batch": None, "energy": None}
    row |= dict.fromkeys(("ms", "spread", "error", "best", "cpu_ms"), np.nan)
    return row | {"repeats": 0, "status": "ok" if g else entry.reason} | fields


def _time(
    entry: Entry, plan: Plan, device: str, threads: int, batch: int, energy, store: Store
) -> dict:
    """One measurement (``timing.stored``) as a timing row."""
    g = entry.generator
    what = {"generator": entry.name, "energy": energy, "models": _models_digest(store.root)}
    t = timing.stored(
        what,
        lambda n: g.generate(n, energy),
        batch,
        code=CODE,
        store=store,
        device=device,
        threads=threads,
        repeats=plan.min_repeats,
        min_seconds=plan.min_seconds,
        max_repeats=plan.max_repeats,
        budget_seconds=plan.budget_seconds,
    )
    found = {"ms": t.ms_median, "spread": t.ms_spread, "error": t.ms_error, "best": t.ms_best}
    found["cpu_ms"] = t.cpu_ms_median
    return _row(
        entry, device, threads=threads, batch=batch, energy=energy, **found, repeats=len(t.seconds)
    )


def _too_long(last: dict, batch: int, plan: Plan) -> bool:
    """Whether a batch scan stops before ``batch`` (see ``Plan.max_call_seconds``)."""
    call = last["ms"] * last["batch"] / 1e3
    return call > plan.max_call_seconds or call * batch / last["batch"] > 8 * plan.max_call_seconds


def _chosen(energies: tuple[float, ...], most: int) -> list[float]:
    """At most ``most`` of the energies (0: all): the lowest, the highest, then the others."""
    ordered = sorted(energies)
    if most <= 0 or len(ordered) <= most:
        return ordered
    return sorted([ordered[0], ordered[-1], *ordered[1:-1]][:most])


def _first_call(rows: list[dict]) -> float:
    """Seconds of the first one-thread call of a scan (0 when there is none)."""
    first = [r for r in rows if r["threads"] == 1 and r["kind"] == "batch"][:1]
    return first[0]["ms"] * first[0]["batch"] / 1e3 if first else 0.0


def _measure_entry(entry: Entry, plan: Plan, device: str, store: Store) -> tuple[list[dict], dict]:
    """Timing rows of one generator and its static facts (MACs, training time)."""
    g = entry.generator
    facts = {"generator": entry.name, "family": entry.family, "paper": g.paper, "truth": g.truth}
    facts |= {"device": device, "macs": np.nan, "training_seconds": g.training_seconds}
    facts |= {"samples": g.samples, "truth_samples": g.truth_samples, "energies": list(g.energies)}
    facts |= {"note": g.note, "architecture": g.architecture}
    rows = []
    threads = _thread_counts(plan) if (device == "cpu" and g.network and not g.one_thread) else [1]
    for n_threads in threads:
        scan: list[dict] = []
        # a generator whose first one-thread call took over an eighth of max_call_seconds (e.g.
        # one making cell after cell, in thousands of small operations) is not timed with more
        # threads, where each small operation can cost ten times more
        if n_threads > 1 and _first_call(rows) > plan.max_call_seconds / 8:
            break
        batches = plan.batches if n_threads == 1 else plan.more_threads_batches
        stopped = False
        for batch in [b for b in batches if g.max_batch is None or b <= g.max_batch]:
            stopped = stopped or bool(scan) and _too_long(scan[-1], batch, plan)
            if stopped and not (n_threads == 1 and batch == plan.required_batch):
                continue
            row = _time(entry, plan, device, n_threads, batch, None, store)
            scan.append(row | {"kind": "batch"})
        rows += scan
    if g.macs is not None:
        facts["macs"] = g.macs(None)
    elif g.network and _first_call(rows) <= plan.count_call_seconds:
        with torch_threads(1):
            facts["macs"] = count_macs(g.generate, None)
    reached = max((r["batch"] for r in rows if r["threads"] == 1), default=plan.energy_batch)
    for energy in _chosen(g.energies, plan.max_energies):
        batch = min(plan.energy_batch, reached)
        row = _time(entry, plan, device, 1, batch, energy, store)
        rows.append(row | {"kind": "energy"})
    return rows, facts


def measure(
    profile: str,
    plan: Plan,
    *,
    device: str = "auto",
    train: bool = False,
    only: list[str] | None = None,
    root: Path | None = None,
    progress: bool = False,
) -> dict:
    """Time every generator of ``profile`` on each device (``timing.stored``: a rebuild on the
    same machine and code, with the same models in the store, reads the timings back).

    Returns:
        ``{"timings": [...], "generators": [...], "matmul": [...], "machine": {...}}``: one
        timing row per (generator, device, threads, batch, energy), one row of facts per
        generator and device (MACs per shower, training seconds, sample sets, note; or the
        reason it was not timed), the measured matmul rate per device and thread count.
    """
    store = Store(root) if root is not None else default_store()
    timings, facts, rates = [], [], []
    for dev in devices(device):
        set_device_policy(dev)
        ctx = BenchContext(profile, dev, train, root)
        for n_threads in _thread_counts(plan) if dev == "cpu" else [1]:
            rates.append(
                {"device": dev, "threads": n_threads, "macs_per_s": matmul_rate(n_threads, dev)}
            )
        with torch_threads(1):
            entries = collect(ctx, only)
        for entry in entries:
            if progress:
                print(f"bench: {entry.name} on {dev}", flush=True)
            if entry.generator is None:
                facts.append(_row(entry, dev))
                continue
            if dev != "cpu" and not entry.generator.network:
                continue  # a numpy simulator runs on the CPU whatever the device
            try:
                rows, fact = _measure_entry(entry, plan, dev, store)
            except Exception as e:  # noqa: BLE001 - one failing generator is a row, not a crash
                facts.append(_row(entry, dev, status=f"error: {type(e).__name__}: {e}"))
                continue
            timings += rows
            facts.append(fact | {"status": "ok"})
    return {"timings": timings, "generators": facts, "matmul": rates, "machine": machine()}


def _models_digest(root: Path) -> str:
    """Digest of the names of the trained models in the store (a new model re-runs the bench)."""
    names = sorted(str(p.relative_to(root)) for p in (root / "models").rglob("*.pt"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def frames(result: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The result of :func:`measure` as (timings, generators, matmul) DataFrames."""
    return tuple(pd.DataFrame(result[k]) for k in ("timings", "generators", "matmul"))
