"""Chapter results: the claims tables and metric tables each chapter writes to data/results/."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from calopaper.store import atomic_write, default_store

__all__ = ["VERDICTS", "Claim", "write_results", "read_results", "claims_frame"]

VERDICTS = ("reproduced", "partly", "not reproduced", "not yet run")


@dataclass(frozen=True)
class Claim:
    """One row of a chapter's claims table (DESIGN.md section 5).

    Attributes:
        id: short stable identifier, e.g. ``"supa-speed"``.
        claim: the paper's claim in one sentence.
        paper: the paper's number or figure, as text.
        ours: our measured value, as text (formatted from the computation).
        verdict: one of ``VERDICTS``.
    """

    id: str
    claim: str
    paper: str
    ours: str
    verdict: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            msg = f"claim {self.id!r}: verdict {self.verdict!r} is not one of {VERDICTS}"
            raise ValueError(msg)


def _results_dir(root: Path | None) -> Path:
    return Path(root) if root is not None else default_store().root / "results"


def write_results(
    chapter: str, claims: list[Claim], tables: dict | None = None, root: Path | None = None
) -> Path:
    """Write ``data/results/<chapter>.json`` = ``{"claims": [...], "tables": {...}}`` atomically.

    Tables must be JSON-serialisable (use ``DataFrame.to_dict()`` for frames).
    """
    path = _results_dir(root) / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"chapter": chapter, "claims": [asdict(c) for c in claims], "tables": tables or {}}
    with atomic_write(path) as tmp:
        Path(tmp).write_text(json.dumps(payload, indent=1, default=float))
    return path


def read_results(root: Path | None = None) -> dict[str, dict]:
    """All chapters' results, by chapter name (empty when no chapter has run)."""
    folder = _results_dir(root)
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def claims_frame(root: Path | None = None) -> pd.DataFrame:
    """One table of every chapter's claims, with a ``chapter`` column first."""
    rows = [
        {"chapter": chapter, **claim}
        for chapter, result in read_results(root).items()
        for claim in result["claims"]
    ]
    columns = ["chapter", "id", "claim", "paper", "ours", "verdict"]
    return pd.DataFrame(rows, columns=columns)
