"""parallel.run: missing artifacts built in spawned workers, every result read back here."""

import json
import os
from functools import partial
from pathlib import Path

import pytest

from calopaper import parallel, store
from calopaper.store import NotStored, Store, only_stored


def stored_square(root: str, x: int) -> dict:
    """x² as a stored model artifact that records the process that built it."""

    def build(tmp: Path) -> None:
        if x < 0:
            msg = f"negative x={x}"
            raise ValueError(msg)
        tmp.write_text(json.dumps({"square": x * x, "pid": os.getpid()}))

    path = Store(root).get_or_build("models/toy", {"x": x}, build, suffix=".toy.json")
    return json.loads(path.read_text())


def calls(root: Path, xs) -> dict:
    return {x: partial(stored_square, str(root), x) for x in xs}


def test_missing_artifacts_are_built_in_workers_and_read_back_here(tmp_path):
    stored_square(str(tmp_path), 1)  # already stored: not handed to a worker

    results = parallel.run(calls(tmp_path, [3, 1, 2]), n_workers=2, progress=False)

    assert list(results) == [3, 1, 2]
    assert [r["square"] for r in results.values()] == [9, 1, 4]
    assert results[1]["pid"] == os.getpid()
    assert {results[2]["pid"], results[3]["pid"]}.isdisjoint({os.getpid()})
    used = store.models_used()
    for x in (1, 2, 3):
        key = Store(tmp_path).path_for("models/toy", {"x": x}, ".toy.json")
        assert key.resolve() in used
    files = sorted(tmp_path.rglob("*"))
    assert parallel.run(calls(tmp_path, [3, 1, 2]), n_workers=2, progress=False) == results
    assert sorted(tmp_path.rglob("*")) == files  # all stored: nothing built, nothing spawned


def test_one_worker_runs_the_calls_here_in_order(tmp_path):
    results = parallel.run(calls(tmp_path, [2, 1]), n_workers=1, progress=False)

    assert [r["pid"] for r in results.values()] == [os.getpid()] * 2


def test_a_workers_exception_reaches_the_caller(tmp_path):
    with pytest.raises(ValueError, match="negative x=-1"):
        parallel.run(calls(tmp_path, [2, -1]), n_workers=2, progress=False)


def test_only_stored_refuses_to_build(tmp_path):
    stored_square(str(tmp_path), 4)
    with only_stored():
        assert stored_square(str(tmp_path), 4)["square"] == 16
        with pytest.raises(NotStored):
            stored_square(str(tmp_path), 5)
    assert stored_square(str(tmp_path), 5)["square"] == 25


def test_no_workers_inside_only_stored(tmp_path):
    with only_stored(), pytest.raises(NotStored):
        parallel.run(calls(tmp_path, [6, 7]), n_workers=2, progress=False)
    assert not list(tmp_path.rglob("*.toy.json"))


def test_workers_setting(monkeypatch):
    monkeypatch.setattr(parallel, "_policy", 3)
    monkeypatch.delenv(parallel.ENV, raising=False)
    assert parallel.workers() == 3
    monkeypatch.setenv(parallel.ENV, "1")
    assert parallel.workers() == 1
    monkeypatch.setenv(parallel.ENV, "0")
    assert 1 <= parallel.workers() <= len(os.sched_getaffinity(0))
    monkeypatch.setenv(parallel.ENV, "two")
    with pytest.raises(ValueError, match="CALOPAPER_WORKERS='two'"):
        parallel.workers()
