"""calopaper sweep: a sweep of a toy chapter on a LocalCluster, a failing run, resume, the
dask-jobqueue job scripts, the β figure from a sweep, and one-line errors for bad input.

The toy chapter (tests/data/toy_chapter.ipynb) has a parameters cell, a claim and a ``publish``
like a book chapter, and runs in a second: the sweep's contract does not depend on a chapter's
content, and the chapters themselves are executed by tests/test_notebooks.py."""

import json
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from calopaper import sweep
from calopaper.cli import main
from calopaper.models.savae.chapter import SCAN_COLUMNS, beta_figure, scan_from_sweep

# Two points that complete, and a bad value that passes the up-front type check but that the
# chapter refuses (no showers), so its run fails.
TOY = Path(__file__).parent / "data" / "toy_chapter.ipynb"
GRID = {"profile": ["smoke"], "n_showers": [20, 30, 0]}
BAD = "ValueError: the toy chapter needs n_showers > 0"
NAME = "smoke-grid"
# the dashboard on a free port: 8787 may be taken by another test's cluster
QUIET = {"scheduler_options": {"dashboard_address": ":0"}}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tmp_path_factory.mktemp("sweep-data")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """Two single-threaded worker processes, their scratch space in a temporary folder."""
    scratch = tmp_path_factory.mktemp("dask-scratch")
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            local_directory=os.fspath(scratch),
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def swept(client, data):
    plan = sweep.plan(TOY, GRID, name=NAME, root=data)
    return plan, plan.run(client, progress=False)


def _done(frame):
    return frame[frame["n_showers"] > 0].sort_values("n_showers")


def test_two_point_smoke_sweep_writes_each_run_and_the_summary(swept):
    plan, frame = swept
    assert len(frame) == 3 and set(frame["run"]) == {r.id for r in plan.runs}
    done = _done(frame)
    assert done["status"].tolist() == ["done", "done"]
    assert done["n_showers"].tolist() == [20, 30]
    for row in done.itertuples():
        executed = json.loads(row.notebook.read_text())
        assert executed["metadata"]["papermill"]["parameters"]["n_showers"] == row.n_showers
        assert row.notebook.parent == plan.folder / row.run
        results = json.loads(row.results.read_text())
        assert results["chapter"] == "toy_chapter" and results["claims"]
        assert row.results.is_relative_to(plan.folder / row.run)
        assert sum(bool(c.get("outputs")) for c in executed["cells"]) == 2
    claims = [c["id"] for c in json.loads(done["results"].iloc[0].read_text())["claims"]]
    assert set(claims) <= set(frame.columns)
    assert (
        done[claims].isin(["reproduced", "partly", "not reproduced", "not yet run"]).all(axis=None)
    )
    # nothing was published to the shared results folder, nor left half-written
    assert not (plan.data / "results").exists()
    assert not list(plan.folder.glob(".*"))
    assert sweep.summary(NAME, plan.data).equals(frame)


def test_the_summary_renders_as_a_page_linking_every_run(swept, monkeypatch, capsys):
    plan, frame = swept
    monkeypatch.setenv("CALOPAPER_DATA", os.fspath(plan.data))
    assert main(["sweep", "summary", NAME, "--html"]) == 0
    index = Path(capsys.readouterr().out.strip().splitlines()[-1].split(" at ")[-1])
    text = index.read_text()
    assert f"Sweep {NAME}" in text and all(run in text for run in frame["run"])


def test_a_bad_parameter_fails_its_run_and_the_others_complete(swept):
    _, frame = swept
    failed = frame[frame["n_showers"] == 0].iloc[0]
    assert failed["status"] == "failed" and failed["results"] is None
    assert failed["error"].startswith(BAD)
    executed = json.loads(failed["notebook"].read_text())
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert any(o["output_type"] == "error" and o["traceback"] for o in outputs)
    assert executed["metadata"]["papermill"]["exception"] is True
    assert (_done(frame)["status"] == "done").all()


def test_rerun_resumes_through_the_cli_on_a_scheduler(swept, client, data, monkeypatch, capsys):
    """A rerun skips the done run and retries the failed one (on the running scheduler)."""
    plan, frame = swept
    done = plan.folder / _done(frame)["run"].iloc[0] / "run.json"
    stamp = done.stat().st_mtime_ns
    monkeypatch.setenv("CALOPAPER_DATA", os.fspath(data))
    args = ["sweep", str(TOY), "--name", NAME, "--scheduler", client.scheduler.address]
    args += ["-p", "profile", "smoke", "-p", "n_showers", "20", "0"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "1 already done, 1 to run" in out and "1 of 2 runs done" in out
    assert out.count("failed: ") == 1 and BAD in out
    assert done.stat().st_mtime_ns == stamp

    assert main(["sweep", "summary", NAME]) == 0
    table = capsys.readouterr().out
    assert table.count(" done ") == 2 and table.count(" failed ") == 1
    assert "n_showers" in table.splitlines()[0]


def test_savae_beta_figure_from_a_sweep_summary(tmp_path):
    """Runs that split the βs (and one that repeats a β) pool into one β sweep."""
    paths = []
    for i, betas in enumerate([[1e-5, 1e-4], [1e-4, 1e-3]]):
        rows = [{"beta": b} | {c: float(i) for c in SCAN_COLUMNS.values()} for b in betas]
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps({"tables": {"beta_sweep": rows}}))
    summary = pd.DataFrame({"status": ["done", "done", "failed"], "results": [*paths, None]})
    table = scan_from_sweep(summary)
    assert table["beta"].tolist() == [1e-5, 1e-4, 1e-3]
    assert table[SCAN_COLUMNS["kl"]].tolist() == [0.0, 0.5, 1.0]
    fig = beta_figure(table)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_slurm_job_script_books_the_resources():
    options = sweep.parse_options(
        ["cores=4", "memory=16GB", "walltime=02:00:00", "account=calo", "job_cpu=8"]
    )
    with sweep.jobqueue_cluster("slurm", options | QUIET, jobs=3) as cluster:
        script = cluster.job_script()
    for line in ("--cpus-per-task=8", "--mem=15G", "-t 02:00:00", "-A calo"):
        assert f"#SBATCH {line}" in script
    assert sys.executable in script and "--nthreads 4" in script


def test_htcondor_job_script_books_the_resources():
    options = sweep.parse_options(["cores=2", "memory=8GB", "disk=20GB"])
    with sweep.jobqueue_cluster("htcondor", options | QUIET, jobs=1) as cluster:
        script = cluster.job_script()
    assert "MY.DaskWorkerCores = 2" in script and "RequestCpus = MY.DaskWorkerCores" in script
    assert "MY.DaskWorkerMemory = 8000000000" in script
    assert "MY.DaskWorkerDisk = 20000000000" in script
    assert sys.executable in script and "--nthreads 2" in script


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no_such_chapter", "-p", "seed", "1"], "unknown notebook 'no_such_chapter'"),
        (["01_dataset", "-p", "no_such_parameter", "1"], "unknown parameter no_such_parameter"),
        (["01_dataset", "-p", "seed"], "parameter seed has no values"),
        (["01_dataset", "-p", "n_showers", "ten"], "parameter n_showers='ten' has type str"),
        (["01_dataset", "-p", "seed", "1", "-p", "seed", "2"], "parameter seed is given twice"),
        (["01_dataset", "-p", "profile", "huge"], "unknown profile 'huge'"),
        (["01_dataset", "-p", "seed", "1", "--cluster-option", "cores=4"], "needs --cluster"),
        (
            ["01_dataset", "-p", "seed", "1", "--cluster", "slurm"],
            "the slurm cluster needs --cluster-option cores=",
        ),
        (["summary", "no_such_sweep"], "no sweep named 'no_such_sweep'"),
    ],
)
def test_bad_input_is_one_line_naming_it(args, message, data_root):
    with pytest.raises(SystemExit) as raised:
        main(["sweep", *args])
    text = str(raised.value.code)
    assert message in text and "\n" not in text
    assert not (data_root / "sweeps").exists() or args[0] == "summary"
