"""The ``paper`` profile holds what the papers state (each value cited), and every chapter
starts at paper scale: the dry run (marker ``paper_dryrun``, its own CI step)."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from calopaper import dryrun
from calopaper.profiles import CHAPTERS

BOOK = Path(__file__).resolve().parents[1] / "book"

#: (chapter, parameter, value the paper states, where).
STATED = [
    ("02_savae", "epochs", 500, "savae §IV: 500 epochs"),
    ("03_gaam", "epochs", 200, "gaam §4.3: up to 200 epochs"),
    (
        "03_gaam",
        "inner_segmentations",
        ["48x4", "48x12", "48x24", "48x48", "192x4", "192x12", "192x24", "192x48"],
        "gaam Table 1",
    ),  # fmt: skip
    ("04_dvae", "epochs", 100, "calodvae App. Table 3"),
    ("04_dvae", "batch_size", 100, "calodvae App. Table 3"),
    ("04_dvae", "lr", 1e-4, "calodvae App. Table 3 (e+, π+)"),
    ("04_dvae", "grid_architectures", ["I", "II", "III", "IV"], "calodvae Table 2"),
    ("04_dvae", "grid_tau_z", [1 / 5, 1 / 7, 1 / 9], "calodvae App. Table 3"),
    ("04_dvae", "grid_tau_xm", [1 / 5, 1 / 7, 1 / 9], "calodvae App. Table 3"),
    ("04_dvae", "width_scale", 1.0, "calodvae Table 2's widths"),
    ("06_caloclouds3", "distill_steps", 18, "official CaloClouds code: N = 18 Karras levels"),
    ("06_caloclouds3", "flow_batch", 62, "caloclouds3 §3.3: batch 62"),
    ("06_caloclouds3", "flow_lr", 2e-4, "caloclouds3 §3.3: Adam, 0.0002"),
    (
        "06_caloclouds3",
        "cc3_hidden",
        32,
        "official code: CC3 PointwiseNet 32-64-128-64-32",
    ),
    ("06_caloclouds3", "cc2_flow_affine", 60, "caloclouds3 §3.3: reduced from 60 affine"),
    ("06_caloclouds3", "cc2_flow_spline", 10, "caloclouds3 §3.3: and 10 spline couplings"),
]


@pytest.mark.parametrize("chapter, name, value, where", STATED, ids=[s[3] for s in STATED])
def test_the_paper_profile_holds_what_the_paper_states(chapter, name, value, where):
    assert CHAPTERS[chapter]["paper"][name] == pytest.approx(value), where


def _run(chapter: str, data: Path) -> float:
    """Seconds of a papermill run of ``chapter`` in the paper profile's dry run."""
    # the profile through the environment, as `make book` sets it: a run with injected
    # parameters would publish beside the book's results, where the speed chapter does not look
    env = os.environ | {dryrun.ENV: "1", "CALOPAPER_DATA": str(data), "CALOPAPER_PROFILE": "paper"}
    out = data / "notebooks" / f"{chapter}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    command = [sys.executable, "-m", "papermill", str(BOOK / f"{chapter}.ipynb"), str(out)]
    command += ["-k", "python3", "--cwd", str(BOOK)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{chapter} failed in the dry run:\n{done.stderr[-4000:]}"
    return time.perf_counter() - began


@pytest.fixture(scope="module")
def dry_store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dryrun")


#: Chapter -> ``dryrun.summarise`` of its trainings, filled by the dry run of each chapter.
MEASURED: dict[str, list[dict]] = {}


@pytest.mark.paper_dryrun
@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_chapter_starts_at_paper_scale(chapter, dry_store, record_property):
    report = dry_store / dryrun.REPORT
    before = len(report.read_text().splitlines()) if report.exists() else 0
    seconds = _run(chapter, dry_store)
    rows = (
        [json.loads(s) for s in report.read_text().splitlines()[before:]] if report.exists() else []
    )
    too_big = [r for r in rows if r["estimate_mb"] > 24 * 1024]
    assert not too_big, f"models of {chapter} need more than 24 GiB per step: {too_big}"
    largest = max(rows, key=lambda r: r["parameters"], default=None)
    line = f"{chapter}: {seconds:.0f} s, {len(rows)} trainings"
    if largest:
        line += (
            f"; largest {largest['model']} ({largest['description']}): "
            f"{largest['parameters']:,} parameters, ~{largest['estimate_mb']:.0f} MiB per step "
            f"at batch {largest['batch_size']}"
        )
    print(line)
    record_property("dry_run", line)
    MEASURED[chapter] = dryrun.summarise(rows)


@pytest.mark.paper_dryrun
def test_the_committed_dry_run_record_is_this_runs():
    """The chapters' paper-scale tables read ``book/records/paper-dryrun.json``: parameter counts
    must match exactly, memory within 10 % (activations depend on the data's sparsity)."""
    if set(MEASURED) != set(CHAPTERS):
        pytest.skip("needs the dry run of every chapter in this session")
    record = json.loads(dryrun.RECORD.read_text()) if dryrun.RECORD.exists() else {}

    def same(a: list[dict], b: list[dict]) -> bool:
        key = lambda rows: [(r["model"], r["trainings"], r["parameters"], r["batch"]) for r in rows]  # noqa: E731
        memory = [(r["memory [MiB]"], q["memory [MiB]"]) for r, q in zip(a, b, strict=False)]
        return key(a) == key(b) and all(abs(x - y) <= 0.1 * max(x, y, 1) for x, y in memory)

    stale = [c for c in CHAPTERS if not same(MEASURED[c], record.get(c, []))]
    if stale:
        dryrun.RECORD.parent.mkdir(parents=True, exist_ok=True)
        dryrun.RECORD.write_text(json.dumps(MEASURED, indent=1, sort_keys=True) + "\n")
    assert not stale, f"{dryrun.RECORD} was stale for {stale}: rewritten, commit it"


LIBRARY = Path(__file__).resolve().parents[1] / "calopaper"


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_profile_value_is_read(chapter):
    """A value a profile sets must be read as ``p.<name>`` by the chapter or the library (a
    static check: it catches a value that nothing reads, not which chapter reads it)."""
    cells = json.loads((BOOK / f"{chapter}.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    code += "\n".join(path.read_text() for path in LIBRARY.rglob("*.py"))
    names = set().union(*(set(values) for values in CHAPTERS[chapter].values()))
    unread = sorted(n for n in names if not re.search(rf"\bp\.{n}\b", code))
    assert not unread, f"{chapter}: the profiles set {unread}, which nothing reads"
