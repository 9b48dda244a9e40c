"""Chapter results: claims, verdicts, and what a chapter publishes to data/results/ and samples/.

A chapter ends with ``publish(chapter, claims, tables, samples)``: the claims and tables go to
``data/results/<chapter>.json`` (read by the intro page) with the trained models the chapter
used (``store.models_used``, paths in the store) and the run's provenance
(``calopaper.provenance``), every sample set the chapter evaluated to
``data/samples/<chapter>/<name>.h5``, and the claims table comes back formatted for display,
the provenance in one line at its foot.

Only the book's own runs publish there: the ``book`` profile, nothing injected, no seed offset,
no user's file. Any other run (parameters injected by papermill, another profile,
``CALOPAPER_SEED_OFFSET``, a ``dataset_path``) publishes under
``data/results/runs/<chapter>/<digest>/`` (``results/`` and ``samples/``, the digest naming
what departs from the book) and says where, so a re-run never overwrites what the intro, the
speed chapter and ``calopaper bench`` read. ``CALOPAPER_PUBLISH`` moves a run's results and
samples to ``<dir>/results/`` and ``<dir>/samples/``: a sweep (``calopaper.sweep``) gives each
run its own, while the store stays shared.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from calopaper.datasets import CellSamples, write_points
from calopaper.findings import ENV as SEED_OFFSET_ENV
from calopaper.findings import WIDTH, Band
from calopaper.findings import offset as seed_offset
from calopaper.profiles import last_resolved
from calopaper.provenance import collect, footer, injected
from calopaper.showers import PointClouds
from calopaper.store import atomic_write, default_store, models_used

__all__ = [
    "VERDICTS",
    "Claim",
    "verdict",
    "judge",
    "judged",
    "verdict_codes",
    "publish",
    "write_results",
    "read_results",
    "claims_frame",
    "run_folder",
    "scoreboard",
]

VERDICTS = ("reproduced", "partly", "not reproduced", "not yet run")


@dataclass(frozen=True)
class Claim:
    """One row of a chapter's claims table (book/conventions.md, "Claims").

    Attributes:
        id: short stable identifier, e.g. ``"supa-speed"``.
        claim: the paper's claim in one sentence.
        paper: the paper's number or figure, as text.
        ours: our measured value, as text (formatted from the computation).
        verdict: one of ``VERDICTS``.
        seeds: for a claim about trained models, the judged number over training seeds
            (``Band.record``: seed count, per-seed values, mean, spread, error, and the
            ``interval`` it was judged against when one interval judges it, ``judged``); empty
            otherwise.
    """

    id: str
    claim: str
    paper: str
    ours: str
    verdict: str
    seeds: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            msg = f"claim {self.id!r}: verdict {self.verdict!r} is not one of {VERDICTS}"
            raise ValueError(msg)


def verdict(holds: bool, partly: bool = False, *, measured: float | None = 0.0) -> str:
    """The book's one verdict rule: ``holds`` -> reproduced, else ``partly`` -> partly, else not;
    "not yet run" when ``measured``, the number judged, is None, NaN or infinite (no number).

    Example:
        >>> verdict(True), verdict(False, partly=True), verdict(False, measured=float("nan"))
        ('reproduced', 'partly', 'not yet run')
    """
    if measured is None or not math.isfinite(measured):
        return "not yet run"
    return "reproduced" if holds else "partly" if partly else "not reproduced"


def judge(band: Band, low: float = -math.inf, high: float = math.inf) -> str:
    """The verdict rule for a number measured over training seeds (``findings.Band``).

    "reproduced" when the whole band (mean ± 2 errors) lies inside the claim's interval
    (``low``, ``high``); "not reproduced" when the whole band lies outside it (on the wrong side
    of a threshold); "partly" when the band straddles a threshold; "not yet run" when the mean
    is not finite.

    Example:
        >>> from calopaper.findings import band
        >>> [judge(band(v), low=1.0) for v in ([1.5, 1.6, 1.4], [0.9, 1.2, 1.0], [0.5, 0.6])]
        ['reproduced', 'partly', 'not reproduced']
        >>> [judge(band(v), low=0.5, high=2.0) for v in ([1.0, 1.1], [1.8, 2.3], [3.0, 3.1])]
        ['reproduced', 'partly', 'not reproduced']
    """
    if not math.isfinite(band.mean):
        return "not yet run"
    return VERDICTS[int(verdict_codes(band.mean, band.error, low, high))]


def verdict_codes(mean, error, low: float = -math.inf, high: float = math.inf) -> np.ndarray:
    """:func:`judge`'s rule on seed means and their errors (numbers or arrays): the index in
    ``VERDICTS`` of each verdict, 0 reproduced, 1 partly, 2 not reproduced (for finite means).

    Example:
        >>> verdict_codes(np.array([1.5, 1.05, 0.5]), 0.05, low=1.0).tolist()
        [0, 1, 2]
    """
    lo, hi = np.subtract(mean, WIDTH * np.asarray(error)), np.add(mean, WIDTH * np.asarray(error))
    return np.where((low < lo) & (hi < high), 0, np.where((hi <= low) | (lo >= high), 2, 1))


def judged(band: Band, low: float = -math.inf, high: float = math.inf) -> dict:
    """A claim's ``verdict`` and ``seeds`` for a number judged by :func:`judge` against one
    interval: the band's record with the ``interval`` it was judged against (an open end as
    None), so that a rebuild's noise can be modelled from the record alone
    (``rebuilds.expected_agreement``). Use it as ``Claim(id, claim, paper, ours,
    **judged(band, high=...))``.

    Example:
        >>> from calopaper.findings import band
        >>> j = judged(band([1.5, 1.6, 1.4]), low=1.0)
        >>> j["verdict"], j["seeds"]["interval"], j["seeds"]["n_seeds"]
        ('reproduced', [1.0, None], 3)
    """
    ends = [end if math.isfinite(end) else None for end in (low, high)]
    return {"verdict": judge(band, low, high), "seeds": band.record() | {"interval": ends}}


def publish(
    chapter: str,
    claims: list[Claim],
    tables: dict | None = None,
    samples: Mapping[str, CellSamples | PointClouds] | None = None,
    root: Path | None = None,
):
    """Write a chapter's results and samples; return its claims table, formatted for display.

    Args:
        chapter: the notebook's name, e.g. ``"02_savae"``.
        claims: the chapter's claims, computed by its library ``claims`` function.
        tables: JSON-able tables (``DataFrame.to_dict(orient="records")``) for the results file.
        samples: name -> sample set, written to ``<root>/samples/<chapter>/<name>.h5``.
        root: the folder to publish under (default: ``$CALOPAPER_PUBLISH``, else the store's
            root).

    Returns:
        A pandas ``Styler`` of the claims table (claim | paper | ours | verdict), with the
        provenance footer.
    """
    parameters = last_resolved(chapter)
    injected_values = _departures(injected(_kernel_history()), parameters)
    provenance = collect(parameters, injected_values)
    if root is None and not os.environ.get("CALOPAPER_PUBLISH") and injected_values:
        root = _rerun_root(chapter, injected_values)
    root = _publish_root(root)
    for name, sample in (samples or {}).items():
        path = root / "samples" / chapter / f"{name}.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(sample, PointClouds):
            write_points(path, sample)
        else:
            sample.write(path)
    store_root = default_store().root.resolve()
    models = [
        str(p.relative_to(store_root)) if p.is_relative_to(store_root) else str(p)
        for p in models_used(clear=True)
        if p.exists()
    ]
    write_results(
        chapter, claims, tables, root=root / "results", models=models, provenance=provenance
    )
    frame = pd.DataFrame([asdict(c) for c in claims]).drop(columns=["id", "seeds"])
    bottom = [{"selector": "caption", "props": "caption-side: bottom; font-size: 0.85em"}]
    styler = frame.style.hide(axis="index").set_table_styles(bottom)
    return styler.set_caption(f"Provenance: {footer(provenance)}")


def _departures(injected_values: dict[str, str], parameters: dict) -> dict[str, str]:
    """What makes a run not the book's: the parameters papermill injected, a seed offset
    (``findings.offset``), a profile other than ``book`` and a user's ``dataset_path``.

    Example:
        >>> _departures({"beta": "0.01"}, {"profile": "smoke", "dataset_path": ""})
        {'beta': '0.01', 'profile': 'smoke'}
    """
    departures = dict(injected_values)
    if seed_offset():
        departures[SEED_OFFSET_ENV] = str(seed_offset())
    if parameters.get("profile", "book") != "book":
        departures.setdefault("profile", str(parameters["profile"]))
    if parameters.get("dataset_path"):
        departures.setdefault("dataset_path", str(parameters["dataset_path"]))
    return departures


def run_folder(store_root: Path, chapter: str, departures: dict[str, str]) -> Path:
    """Where a run of ``chapter`` that departs from the book by ``departures`` publishes:
    ``<store>/results/runs/<chapter>/<digest of the departures>/``.

    Example:
        >>> run_folder(Path("data"), "03_gaam", {"CALOPAPER_SEED_OFFSET": "1"}).parent
        PosixPath('data/results/runs/03_gaam')
    """
    digest = hashlib.sha256(json.dumps(departures, sort_keys=True).encode()).hexdigest()
    return Path(store_root) / "results" / "runs" / chapter / digest[:12]


def _rerun_root(chapter: str, injected_values: dict[str, str]) -> Path:
    """``data/results/runs/<chapter>/<digest of the injected values>/``, announced."""
    root = run_folder(default_store().root, chapter, injected_values)
    names = ", ".join(f"{k}={v}" for k, v in injected_values.items())
    print(f"{chapter}: run with {names}, so it is not the book's; its results and samples "
          f"are in {root}")  # fmt: skip
    return root


def _kernel_history() -> list[str]:
    """The cells the running IPython kernel has executed (empty outside one, or under nbval)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    return list(shell.user_ns.get("In", [])) if shell is not None else []


def _publish_root(root: Path | None) -> Path:
    """``root``, else ``$CALOPAPER_PUBLISH`` (a sweep run's own folder), else the store's root."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get("CALOPAPER_PUBLISH") or default_store().root)


def _results_dir(root: Path | None) -> Path:
    return Path(root) if root is not None else _publish_root(None) / "results"


def write_results(
    chapter: str,
    claims: list[Claim],
    tables: dict | None = None,
    root: Path | None = None,
    models: list[str] | None = None,
    provenance: dict | None = None,
) -> Path:
    """Write ``data/results/<chapter>.json`` atomically: ``{"chapter", "claims": [...],
    "tables": {...}, "models": [...]}``, ``models`` the trained models behind the results
    (paths relative to the store's root).

    Tables must be JSON-serialisable (use ``DataFrame.to_dict()`` for frames).
    """
    path = _results_dir(root) / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "chapter": chapter,
        "claims": [asdict(c) for c in claims],
        "tables": tables or {},
        "models": list(models or []),
        "provenance": provenance or {},
    }
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


def scoreboard(claims: pd.DataFrame) -> pd.DataFrame:
    """Per chapter, how many claims got each verdict (columns in ``VERDICTS`` order).

    Args:
        claims: ``claims_frame()``: one row per claim with ``chapter`` and ``verdict``.

    Example:
        >>> frame = pd.DataFrame({"chapter": ["a", "a", "b"],
        ...                       "verdict": ["reproduced", "partly", "not yet run"]})
        >>> scoreboard(frame).loc["a"].tolist()
        [1, 1, 0, 0]
    """
    counts = pd.crosstab(claims["chapter"], claims["verdict"])
    return counts.reindex(columns=list(VERDICTS), fill_value=0).rename_axis(None, axis=1)
