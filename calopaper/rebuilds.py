"""Rebuilds with other seeds: do the book's verdicts hold when every seed is shifted?

A verdict is a finding only if a rebuild with other seeds gives it again. A build of the
chapters with ``CALOPAPER_SEED_OFFSET`` set (truth showers, splits, training and sampling all
shifted) publishes beside the book's results (``results.run_folder``); :func:`seed_check` sets
each model claim's verdict in the book beside those of such builds, :func:`seed_summary` says
in one line how many held, and :func:`seed_record` keeps the check, with where each build's
results came from, as a record committed with the book (``book/records/seeds-<sha>.json``,
``calopaper seeds --record``). The introduction shows the newest record
(:func:`newest_record`) beside this build's verdicts (:func:`beside_this_build`), and what more
seeds would buy (:func:`expected_agreement`, from the per-seed values the record keeps).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from calopaper.findings import ENV as SEED_OFFSET_ENV
from calopaper.provenance import RECORDS, commit
from calopaper.results import read_results, run_folder, verdict_codes

__all__ = [
    "agreement_line",
    "beside_this_build",
    "expected_agreement",
    "newest_record",
    "pairwise_agreement",
    "record_line",
    "seed_check",
    "seed_record",
    "seed_summary",
    "write_record",
]

#: The ``kind`` of a seed-check record (other records in ``book/records`` are GPU timings).
KIND = "seed check"
#: The seed counts per model at which :func:`expected_agreement` models a rebuild.
SEED_COUNTS = (3, 5, 8, 12, 20)


def _build(store: Path, offset: int, chapters: list[str]) -> dict[str, dict]:
    """The results of ``chapters`` in one build: the book's own in the data folder ``store``
    (``offset`` 0) or those of the runs with ``CALOPAPER_SEED_OFFSET=offset`` there; a chapter
    without results is left out."""
    if offset == 0:
        return {c: r for c, r in read_results(Path(store) / "results").items() if c in chapters}
    out = {}
    for chapter in chapters:
        folder = run_folder(store, chapter, {SEED_OFFSET_ENV: str(offset)}) / "results"
        run = read_results(folder).get(chapter)
        if run is not None:
            out[chapter] = run
    return out


def _read_builds(book: Path, shifted: Mapping[int, Path]) -> dict[int, dict[str, dict]]:
    """Offset -> chapter -> results, for the book (offset 0) and each shifted run; a shifted
    run's chapters are those the book has."""
    books = read_results(Path(book) / "results")
    return {0: books} | {k: _build(store, k, list(books)) for k, store in shifted.items()}


def _checked(book: Path, shifted: Mapping[int, Path]) -> tuple[dict[int, dict], pd.DataFrame]:
    """Every build's results (:func:`_read_builds`) and :func:`seed_check`'s table of them."""
    builds = _read_builds(book, shifted)
    rows = []
    for chapter, result in builds[0].items():
        if any(chapter not in b for b in builds.values()):
            continue
        others = {k: {c["id"]: c for c in b[chapter]["claims"]} for k, b in builds.items() if k}
        for claim in result["claims"]:
            if not claim.get("seeds") or any(claim["id"] not in o for o in others.values()):
                continue
            verdicts = [claim["verdict"]] + [o[claim["id"]]["verdict"] for o in others.values()]
            rows.append({
                "chapter": chapter,
                "id": claim["id"],
                "verdict": claim["verdict"],
                **{f"verdict, offset {k}": o[claim["id"]]["verdict"] for k, o in others.items()},
                "same": len(set(verdicts)) == 1,
                "flip": {"reproduced", "not reproduced"} <= set(verdicts),
            })  # fmt: skip
    if not rows:
        runs = ", ".join(f"offset {k} in {v}" for k, v in shifted.items())
        msg = f"no chapter has results both in {book} and in every shifted run ({runs})"
        raise FileNotFoundError(msg)
    return builds, pd.DataFrame(rows)


def seed_check(book: Path, shifted: Mapping[int, Path]) -> pd.DataFrame:
    """Every model claim (a claim with ``seeds``) of the book's results in the store ``book``
    beside the same claim of each run with ``CALOPAPER_SEED_OFFSET`` shifted: ``shifted`` maps
    each offset to the store that run published in (book/conventions.md, "Runs with other
    seeds"). One row per claim that every build has, with each build's verdict, ``same`` (one
    verdict in every build) and ``flip`` ("reproduced" in one build, "not reproduced" in
    another). A chapter missing from some build is left out.

    Raises:
        FileNotFoundError: no chapter has results in every build.
    """
    return _checked(book, shifted)[1]


def seed_summary(table: pd.DataFrame) -> str:
    """One line on ``seed_check``'s table: the claims that keep their verdict in every build,
    how often two builds agree (``pairwise_agreement``), the flips and each build's "partly"
    count.

    Example:
        >>> t = pd.DataFrame({"verdict": ["partly", "reproduced"],
        ...                   "verdict, offset 1": ["partly", "not reproduced"],
        ...                   "same": [True, False], "flip": [False, True]})
        >>> seed_summary(t)  # doctest: +NORMALIZE_WHITESPACE
        '1 of 2 model claims keep their verdict in both builds (50%); two builds agree on 50% of
        them; 1 flip between reproduced and not reproduced; partly 1 in the book, 1 with offset 1'
    """
    shifted = [c for c in table.columns if c.startswith("verdict, ")]
    every = "every build" if len(shifted) > 1 else "both builds"
    partly = [f"{(table[c] == 'partly').sum()} with {c.removeprefix('verdict, ')}" for c in shifted]
    return (
        f"{table['same'].sum()} of {len(table)} model claims keep their verdict in {every} "
        f"({table['same'].mean():.0%}); two builds agree on {pairwise_agreement(table):.0%} "
        f"of them; {table['flip'].sum()} flip between reproduced and not reproduced; partly "
        f"{(table['verdict'] == 'partly').sum()} in the book, " + ", ".join(partly)
    )


def pairwise_agreement(table: pd.DataFrame) -> float:
    """The fraction of model claims two builds give the same verdict, the mean over every pair
    of the builds in ``seed_check``'s table (its verdict columns).

    Example:
        >>> t = pd.DataFrame({"verdict": ["partly", "reproduced"],
        ...                   "verdict, offset 1": ["partly", "partly"],
        ...                   "verdict, offset 2": ["partly", "reproduced"]})
        >>> round(pairwise_agreement(t), 3)  # pairs (0, 1): 1/2, (0, 2): 2/2, (1, 2): 1/2
        0.667
    """
    columns = [c for c in table.columns if c.startswith("verdict")]
    agree = [(table[a] == table[b]).mean() for a, b in itertools.combinations(columns, 2)]
    return float(sum(agree) / len(agree))


def seed_record(book: Path, shifted: Mapping[int, Path]) -> dict:
    """:func:`seed_check`'s table as a record to commit with the book: the table, its summary
    line, the date, the checkout's commit and, per build (its offset) and chapter, the commit,
    date and CPU its results were computed with (their ``provenance``)."""
    builds, table = _checked(book, shifted)
    chapters = set(table["chapter"])

    def origin(result: dict) -> dict:
        p = result.get("provenance", {})
        return {
            "commit": p.get("commit"),
            "date": p.get("date"),
            "cpu": p.get("machine", {}).get("cpu"),
        }

    return {
        "kind": KIND,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "summary": seed_summary(table),
        "builds": {
            str(k): {c: origin(r) for c, r in b.items() if c in chapters} for k, b in builds.items()
        },
        "claims": table.to_dict(orient="records"),
        "noise": _noise(builds, table),
    }


def _noise(builds: dict[int, dict[str, dict]], table: pd.DataFrame) -> list[dict]:
    """For each claim of ``table`` that one interval judges in the book's build
    (``results.judged``): that interval and, per build (its offset), the per-seed values and the
    band's standard error."""
    out = []
    for chapter, claim_id in zip(table["chapter"], table["id"], strict=True):
        seeds = {
            str(k): next(c["seeds"] for c in b[chapter]["claims"] if c["id"] == claim_id)
            for k, b in builds.items()
        }
        if "interval" not in seeds["0"]:
            continue
        out.append({
            "chapter": chapter,
            "id": claim_id,
            "interval": seeds["0"]["interval"],
            "values": {k: s["values"] for k, s in seeds.items()},
            "errors": {k: s["error"] for k, s in seeds.items()},
        })  # fmt: skip
    return out


def _extra_error(values: dict[str, list[float]], errors: dict[str, float]) -> float:
    """The part of a claim's recorded errors beyond s/√n over its seeds (its bootstrap error),
    as a root mean square over the builds."""
    squares = [
        max(0.0, errors[k] ** 2 - (np.var(v, ddof=1) / len(v) if len(v) > 1 else 0.0))
        for k, v in values.items()
    ]
    return float(np.sqrt(np.mean(squares)))


def expected_agreement(
    record: dict, n_seeds: tuple[int, ...] = SEED_COUNTS, draws: int = 20_000, seed: int = 0
) -> pd.DataFrame:
    """What rebuilds would give with ``n`` seeds of every model, modelled from a
    :func:`seed_record`'s per-seed values.

    For each claim judged by one interval, ``n`` values are drawn (with replacement) from the
    per-seed values of all the recorded builds together, so a training's number keeps whatever
    shape its scatter has, and judged as the book judges them (``results.verdict_codes``): the
    seed mean ± ``WIDTH`` errors, the error being s/√n and the claim's bootstrap error (what the
    recorded errors hold beyond s/√n) in quadrature. From ``draws`` such builds come each
    verdict's chance p_v.

    Returns:
        One row per seed count: ``claims`` modelled, ``agree`` (the mean over them of the
        chance that two independent builds give one verdict, Σ p_v²), ``partly`` (the expected
        number of "partly" verdicts among them in one build) and ``flips`` (the expected number
        that one build finds reproduced and another not reproduced, 2 p_R p_NR summed).

    Raises:
        ValueError: the record keeps no per-seed values (a record written before it did), or a
            seed count is below 2 (one seed has no spread to judge a band by).
    """
    if min(n_seeds) < 2:
        raise ValueError(f"every seed count must be at least 2, got {tuple(n_seeds)}")
    if not record.get("noise"):
        msg = f"the seed record of {record.get('date', '?')} keeps no per-seed values to model"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    rows = []
    for n in n_seeds:
        chances = []
        for claim in record["noise"]:
            values = np.concatenate([np.asarray(v, float) for v in claim["values"].values()])
            extra = _extra_error(claim["values"], claim["errors"])
            drawn = rng.choice(values, (draws, n))
            error = np.hypot(drawn.std(axis=1, ddof=1) / np.sqrt(n), extra)
            low, high = claim["interval"]
            low, high = -np.inf if low is None else low, np.inf if high is None else high
            codes = verdict_codes(drawn.mean(axis=1), error, low, high)
            chances.append(np.bincount(codes, minlength=3) / draws)
        p = np.array(chances)
        rows.append({
            "seeds": n,
            "claims": len(p),
            "agree": float((p**2).sum(axis=1).mean()),
            "partly": float(p[:, 1].sum()),
            "flips": float((2 * p[:, 0] * p[:, 2]).sum()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def agreement_line(table: pd.DataFrame, target: float = 0.9) -> str:
    """One line on :func:`expected_agreement`'s table: how often two builds agree at its
    fewest seeds, and the fewest seeds of every model that reach ``target``.

    Example:
        >>> t = pd.DataFrame({"seeds": [3, 8], "claims": [12, 12], "agree": [0.78, 0.91]})
        >>> agreement_line(t)  # doctest: +NORMALIZE_WHITESPACE
        'With 3 seeds of every model, two builds agree on 78% of the 12 claims one interval
        judges; 90% is first reached with 8 seeds (modelled: 3, 8).'
    """
    seeds, claims, agree = (table[c].iloc[0] for c in ("seeds", "claims", "agree"))
    reached = table.loc[table["agree"] >= target, "seeds"]
    counts = ", ".join(str(n) for n in table["seeds"])
    need = (
        f"is first reached with {reached.iloc[0]} seeds"
        if len(reached)
        else f"is not reached with up to {table['seeds'].iloc[-1]} seeds"
    )
    return (
        f"With {seeds} seeds of every model, two builds agree on {agree:.0%} of the {claims} "
        f"claims one interval judges; {target:.0%} {need} "
        f"(modelled: {counts})."
    )


def write_record(record: dict, folder: Path = RECORDS) -> Path:
    """Write a :func:`seed_record` as ``<folder>/seeds-<short commit>.json``; return the path."""
    path = Path(folder) / f"seeds-{record['commit'][:7]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def newest_record(folder: Path = RECORDS) -> dict | None:
    """The seed-check record with the latest date in ``folder``; None when there is none."""
    found = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("seeds-*.json"))]
    return max((r for r in found if r.get("kind") == KIND), key=lambda r: r["date"], default=None)


def record_line(record: dict) -> str:
    """One line on a record: its date, the commits its builds' results were computed at, and
    its summary.

    Example:
        >>> rec = {"date": "2026-12-06T12:00:00+00:00", "summary": "1 of 1 model claims ...",
        ...        "builds": {"0": {"a": {"commit": "abcdef0123"}}, "1": {"a": {"commit": None}}}}
        >>> record_line(rec)
        'Recorded on 2026-12-06, from results computed at commits abcdef0: 1 of 1 model claims ....'
    """
    commits = {
        o["commit"][:7] for b in record["builds"].values() for o in b.values() if o["commit"]
    }
    return (
        f"Recorded on {record['date'][:10]}, from results computed at commits "
        f"{', '.join(sorted(commits))}: {record['summary']}."
    )


def beside_this_build(record: dict, claims: pd.DataFrame) -> pd.DataFrame:
    """The record's verdicts of each model claim beside this build's (``claims``:
    ``results.claims_frame()``): chapter, claim id, "this build", the record's book build
    ("book, recorded") and shifted builds ("offset k"), and "same" (one verdict in every
    recorded build). A claim this build no longer has reads "–" under "this build".

    Example:
        >>> rec = {"claims": [{"chapter": "a", "id": "x", "verdict": "partly",
        ...                    "verdict, offset 1": "reproduced", "same": False, "flip": False}]}
        >>> now = pd.DataFrame({"chapter": ["a"], "id": ["x"], "verdict": ["reproduced"]})
        >>> beside_this_build(rec, now).to_dict(orient="records")  # doctest: +NORMALIZE_WHITESPACE
        [{'chapter': 'a', 'id': 'x', 'this build': 'reproduced', 'book, recorded': 'partly',
          'offset 1': 'reproduced', 'same': False}]
    """
    recorded = pd.DataFrame(record["claims"]).drop(columns="flip")
    recorded = recorded.rename(columns={"verdict": "book, recorded"})
    recorded.columns = [c.removeprefix("verdict, ") for c in recorded.columns]
    now = claims[["chapter", "id", "verdict"]].rename(columns={"verdict": "this build"})
    table = recorded.merge(now, on=["chapter", "id"], how="left").fillna({"this build": "–"})
    first = ["chapter", "id", "this build"]
    return table[first + [c for c in table.columns if c not in first]]
