"""parallel.run: missing artifacts built in spawned workers, every result read back here."""

import json
import os
import signal
import subprocess
import sys
import time
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


def slow_artifact(root: str, name: str, seconds: float) -> str:
    """A stored artifact that takes ``seconds`` to build and marks its builder's pid first."""

    def build(tmp: Path) -> None:
        (Path(root) / f"started-{name}").write_text(str(os.getpid()))
        time.sleep(seconds)
        tmp.write_text(name)

    return Store(root).get_or_build("models/slow", {"name": name}, build, suffix=".txt").read_text()


_BUILD = """
import sys
from functools import partial
sys.path.insert(0, {tests!r})
from calopaper import parallel
from test_parallel import slow_artifact
calls = {{n: partial(slow_artifact, {root!r}, n, {seconds}) for n in ("a", "b")}}
print(parallel.run(calls, n_workers=2, progress=False))
"""


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting for its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_die_with_a_killed_chapter_and_a_rerun_completes(tmp_path):
    def build(seconds: float) -> subprocess.Popen:
        code = _BUILD.format(tests=str(Path(__file__).parent), root=str(tmp_path), seconds=seconds)
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)

    chapter = build(600)
    markers = [tmp_path / "started-a", tmp_path / "started-b"]
    deadline = time.monotonic() + 120
    while not all(m.exists() for m in markers) and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [int(m.read_text()) for m in markers]
    assert all(_alive(pid) for pid in workers)

    chapter.send_signal(signal.SIGKILL)
    chapter.wait()
    chapter.stdout.close()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived their chapter by 10 s"

    rerun = build(0.1)
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0 and out.strip() == "{'a': 'a', 'b': 'b'}"
