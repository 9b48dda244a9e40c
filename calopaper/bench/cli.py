"""``calopaper bench`` without a simulator: time everything, print the table, write the results."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd

from calopaper.bench.report import measured, summary
from calopaper.bench.run import PLANS, measure, plan_of

__all__ = ["CHAPTER", "run"]

#: The results file the full bench writes: ``data/results/07_speed.json``.
CHAPTER = "07_speed"


def run(
    *,
    profile: str,
    quick: bool = False,
    only: list[str] | None = None,
    batches: list[int] | None = None,
    device: str = "auto",
    train: bool = False,
    as_json: bool = False,
    record: str | None = None,
    plan: str | None = None,
) -> int:
    """Time every generator of ``profile`` (``quick``: the smoke plan, CPU only), print the
    summary table or, with ``as_json``, the whole result; a full run also writes the results
    file with the speed claims. ``record``: a folder to write a GPU record in (``records``);
    ``device`` must then be a CUDA device, and no results file is written. ``plan``: the
    timing plan of another profile (``PLANS``)."""
    if record and not device.startswith("cuda"):
        msg = f"--record needs --device cuda (a GPU record), got --device {device}"
        raise ValueError(msg)
    from calopaper.claims.speed import claims
    from calopaper.results import write_results

    timing = PLANS["smoke"] if quick else PLANS[plan] if plan else plan_of(profile)
    if batches:
        timing = replace(timing, batches=tuple(sorted(set(batches))))
    result = measure(
        profile,
        timing,
        device="cpu" if quick else device,
        train=train,
        only=only,
        progress=not as_json,
    )
    table = summary(result)
    found = claims(measured(result))
    if as_json:
        print(json.dumps(result | {"claims": [asdict(c) for c in found]}, default=str))
    else:
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        for claim in found:
            print(f"{claim.id}: {claim.ours} -> {claim.verdict}")
    if record:
        from calopaper.bench import records

        path = records.write(records.record(result, device, profile), Path(record))
        print(f"bench: GPU record written to {path}", file=sys.stderr)
    elif not quick and not only:
        tables = {"bench": result, "summary": table.to_dict(orient="records")}
        write_results(CHAPTER, found, tables)
    return 0
