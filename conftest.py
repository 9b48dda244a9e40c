"""Test-session set-up shared by tests/ and the chapters run through nbval (book/*.ipynb).

Every chapter executed by the tests runs in the ``smoke`` profile and writes to a private data
folder, so a test run never overwrites the book's results. nbval executes each chapter once,
cell by cell; the outputs of its cells are written back into a copy of the chapter
(``$CALOPAPER_EXECUTED/<chapter>.ipynb``, with ``<chapter>.done`` once its last cell has run),
which ``tests/test_notebooks.py`` checks and renders instead of executing the chapter again.
"""

import json
import os
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

#: Environment variable naming the folder of the chapters as nbval executed them.
EXECUTED = "CALOPAPER_EXECUTED"
#: The chapter that benches the others' stored models: it runs after them.
SPEED = "07_speed"


def pytest_configure(config):
    os.environ["CALOPAPER_PROFILE"] = "smoke"
    if "PYTEST_XDIST_WORKER" in os.environ:  # one worker per core: one thread each
        # torch may be imported already, so set its threads too; the classifiers' OpenMP takes
        # torch's (fidelity.classifier_auc). Two threads per worker on two cores made the
        # classifier tests some 60 times slower (OpenMP threads spin while they wait).
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from calopaper.timing import set_threads

        set_threads(1)
    if "CALOPAPER_DATA" not in os.environ:
        os.environ["CALOPAPER_DATA"] = tempfile.mkdtemp(prefix="calopaper-test-data-")
    if EXECUTED not in os.environ:
        os.environ[EXECUTED] = tempfile.mkdtemp(prefix="calopaper-test-executed-")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """After an nbval cell ran: its outputs into the chapter's executed copy."""
    outcome = yield
    notebook = getattr(item.parent, "nb", None)
    if notebook is None or not hasattr(item, "test_outputs"):
        return  # not a cell of a chapter
    if item.test_outputs is not None:  # None: the kernel had died before the cell
        item.cell.outputs = item.test_outputs
    failures = notebook.metadata.setdefault("calopaper_failed_cells", [])
    if outcome.excinfo is not None:
        failures.append(item.name)
    folder, stem = Path(os.environ[EXECUTED]), Path(item.parent.fspath).stem
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.ipynb"
    partial = path.with_suffix(".partial")
    nbformat.write(notebook, partial)
    partial.replace(path)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    if item.cell is code[-1]:
        (folder / f"{stem}.done").write_text(json.dumps(failures))


def _waits_for_chapters(item) -> bool:
    """True for an item that waits until every chapter has run: the speed chapter's cells and
    the tests that use ``nbval_chapters``."""
    if getattr(item.parent, "nb", None) is not None:
        return Path(item.parent.fspath).stem == SPEED
    return "nbval_chapters" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items):
    """The files with an item that waits for every chapter go last, so that a worker reaches
    them when the chapters are done instead of idling beside a chapter still running
    (``--dist loadfile`` hands whole files out in this order)."""
    waiting = {item.path for item in items if _waits_for_chapters(item)}
    items.sort(key=lambda item: item.path in waiting)  # stable: the rest keep their order


def chapters_in(session) -> list[str]:
    """The chapters (notebook stems) whose cells nbval runs in this session."""
    return sorted({Path(i.parent.fspath).stem for i in session.items if hasattr(i.parent, "nb")})


def wait_for(chapters: list[str], timeout: float = 1800.0) -> dict[str, list[str]]:
    """Wait until nbval has run every cell of ``chapters`` (in any worker).

    Returns:
        Chapter -> names of its failed cells.

    Raises:
        TimeoutError: a chapter not finished within ``timeout`` seconds.
    """
    folder, deadline = Path(os.environ[EXECUTED]), time.monotonic() + timeout
    while missing := [c for c in chapters if not (folder / f"{c}.done").exists()]:
        if time.monotonic() > deadline:
            msg = f"nbval did not finish {missing} within {timeout:.0f} s"
            raise TimeoutError(msg)
        time.sleep(2)
    return {c: json.loads((folder / f"{c}.done").read_text()) for c in chapters}


def pytest_runtest_setup(item):
    """The speed chapter times the other chapters' models: its first cell waits for them.

    Chapters are collected (and handed to workers) before any other test, and the speed
    chapter after every test, so every chapter this waits for is running or done.
    """
    notebook = getattr(item.parent, "nb", None)
    if notebook is None or Path(item.parent.fspath).stem != SPEED:
        return
    if item.cell is next(c for c in notebook.cells if c.cell_type == "code"):
        wait_for([c for c in chapters_in(item.session) if c != SPEED])


@pytest.fixture(scope="session")
def nbval_chapters(request) -> tuple[Path, dict[str, list[str]]]:
    """The folder of the chapters as nbval executed them in this session, and their failed
    cells by chapter, once every chapter of the session has finished."""
    return Path(os.environ[EXECUTED]), wait_for(chapters_in(request.session))
