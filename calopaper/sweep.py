"""Parameter sweeps of a chapter: every point of a grid is one papermill run, run as a Dask task.

``calopaper sweep NOTEBOOK -p NAME V1 V2 ...`` (``calopaper.cli``) runs the cartesian product of
the given values. Where the runs go:

- on this machine by default: a ``distributed.LocalCluster`` of ``workers`` processes (default:
  one per core, at most one per run), one run at a time each;
- on the workers of an existing Dask scheduler (``--scheduler ADDRESS``);
- on a SLURM or HTCondor cluster through dask-jobqueue (``--cluster slurm|htcondor``), whose
  jobs are started as the runs need them (``jobqueue_cluster``). The data folder must then be on
  a file system that the jobs see under the same path.

One Dask worker thread runs one papermill run; the kernel it starts gets that thread's share of
the machine's cores as ``OMP_NUM_THREADS``, which torch follows in the ``paper`` profile (the
``smoke`` and ``book`` profiles use one torch thread, book/conventions.md, "Threads"), and
trains its models one after another (``CALOPAPER_WORKERS=1``, ``calopaper.parallel``).

Layout. A sweep named ``NAME`` lives in ``<data>/sweeps/NAME/``: ``sweep.json`` (the chapter and
every run's parameters) and one folder per run, named after its parameters (``run_id``), holding
the executed notebook ``<chapter>.ipynb``, what the chapter published (``results/<chapter>.json``
and ``samples/<chapter>/``), papermill's log and ``run.json`` (status, error, seconds).

Results beside the store. Trained models, simulated truth and samples in the store are shared
by every run (``<data>`` as for the book, ``CALOPAPER_DATA``), so a model that two runs need is
trained once and a rerun trains nothing. What a chapter publishes would collide, since every run
writes ``results/<chapter>.json``: each run's kernel gets ``CALOPAPER_PUBLISH`` set to its own
folder, and ``results.publish`` writes there instead.

Resume and interruption. A run is executed in a hidden sibling folder that is renamed into
place once papermill has finished, so a run folder is always complete. A rerun of the same
command skips the runs that are done and executes the failed and missing ones; a failed run's
folder keeps the notebook with its traceback. Ctrl-C stops the local workers and removes the
unfinished hidden folders.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from calopaper import parallel
from calopaper.profiles import (
    CHAPTERS,
    PROFILE_NAMES,
    ParameterError,
    check_value,
    declared_parameters,
    parameters_cell,
)
from calopaper.store import atomic_write, default_store

__all__ = [
    "BOOK",
    "SweepError",
    "RunInterrupted",
    "Run",
    "Sweep",
    "parse_value",
    "parse_grid",
    "parse_options",
    "notebook_path",
    "run_id",
    "plan",
    "execute",
    "summary",
    "jobqueue_cluster",
]

#: The folder of the chapter notebooks; a bare chapter name (``02_savae``) is looked up here.
BOOK = Path(__file__).resolve().parents[1] / "book"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=+-]*")
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_.+-]+")

# Runs papermill in a child process, so each run gets its own environment (CALOPAPER_PUBLISH,
# thread counts) and parameters keep their Python types (lists too) through JSON.
_PAPERMILL = "import json, sys, papermill; papermill.execute_notebook(**json.loads(sys.argv[1]))"


class SweepError(ValueError):
    """A sweep's input is wrong (notebook, parameter, value, name or cluster option)."""


class RunInterrupted(RuntimeError):
    """Papermill was stopped by a signal (Ctrl-C, a batch system's SIGTERM)."""


@dataclass(frozen=True)
class Run:
    """One point of a sweep: the parameters papermill injects, and the folder name they give."""

    id: str
    parameters: dict[str, Any]


def parse_value(text: str) -> Any:
    """A command-line value: a Python literal, else the text itself.

    Numbers, ``True``/``False``/``None`` are read as papermill's ``-p`` reads them; lists and
    quoted strings are read too (papermill would pass ``[1, 2]`` as a string).

    Example:
        >>> parse_value("4"), parse_value("1e-3"), parse_value("[1, 2]"), parse_value("e+")
        (4, 0.001, [1, 2], 'e+')
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_grid(options: Sequence[Sequence[str]]) -> dict[str, list[Any]]:
    """``-p NAME V1 V2 ...`` options (as argparse collects them) -> name -> parsed values.

    Example:
        >>> parse_grid([["beta", "1e-5", "1e-4"], ["seed", "1"]])
        {'beta': [1e-05, 0.0001], 'seed': [1]}
    """
    grid = {}
    for name, *values in options:
        if name in grid:
            msg = f"parameter {name} is given twice; list all its values after one -p {name}"
            raise SweepError(msg)
        grid[name] = [parse_value(v) for v in values]
    return grid


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` cluster options -> keyword arguments, values read by ``parse_value``.

    Example:
        >>> parse_options(["cores=4", "memory=16GB", "job_extra_directives=['--gres=gpu:1']"])
        {'cores': 4, 'memory': '16GB', 'job_extra_directives': ['--gres=gpu:1']}
    """
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            msg = f"cluster option {pair!r} is not KEY=VALUE, e.g. memory=16GB"
            raise SweepError(msg)
        options[key] = parse_value(value)
    return options


def notebook_path(notebook: str | os.PathLike) -> Path:
    """The notebook file: a path, or a chapter name or file name in the book folder.

    Raises:
        SweepError: no such notebook.

    Example:
        >>> notebook_path("01_dataset").name
        '01_dataset.ipynb'
    """
    for path in (Path(notebook), BOOK / f"{notebook}.ipynb", BOOK / str(notebook)):
        if path.suffix == ".ipynb" and path.is_file():
            return path.resolve()
    chapters = sorted(p.stem for p in BOOK.glob("[0-9]*.ipynb"))
    msg = f"unknown notebook {str(notebook)!r}; expected a .ipynb path or one of {chapters}"
    raise SweepError(msg)


def run_id(parameters: Mapping[str, Any]) -> str:
    """A run's folder name: ``name=value`` pairs joined by commas.

    Values that are not short plain words or numbers (a path, a list with odd characters) are
    cleaned up, and a digest of the parameters is added to keep the name unique.

    Example:
        >>> run_id({"profile": "smoke", "betas": [1e-06, 1e-05]})
        'profile=smoke,betas=1e-06+1e-05'
    """

    def text(value: Any) -> str:
        if isinstance(value, list | tuple):
            return "+".join(text(v) for v in value)
        return value if isinstance(value, str) else repr(value)

    words = [f"{k}={text(v)}" for k, v in parameters.items()]
    plain = all(_SAFE_VALUE.fullmatch(text(v) or "_") for v in parameters.values())
    name = ",".join(words)
    if plain and len(name) <= 120:
        return name
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:8]
    cleaned = re.sub(r"[^A-Za-z0-9_.+=,-]+", "-", name)[:100]
    return f"{cleaned}-{digest}"


def _validate_grid(
    chapter: str, declared: Mapping[str, Any], grid: Mapping[str, Sequence[Any]], profile: str
) -> dict[str, list[Any]]:
    """Check names and value types up front, as ``profiles.resolve`` will in every run."""
    values = {}
    for name, given in grid.items():
        if name not in declared:
            msg = f"unknown parameter {name} for {chapter}; expected one of {sorted(declared)}"
            raise SweepError(msg)
        given = list(given)
        if not given:
            msg = f"parameter {name} has no values; give at least one: -p {name} V1 [V2 ...]"
            raise SweepError(msg)
        profiles = grid.get("profile", [profile])
        checked = []
        for value in given:
            if name == "profile" and value not in PROFILE_NAMES:
                msg = f"unknown profile {value!r}; expected one of {PROFILE_NAMES}"
                raise SweepError(msg)
            for p in profiles if value is not None else ():
                table = CHAPTERS.get(chapter, {}).get(p, {})
                reference = declared[name] if declared[name] is not None else table.get(name)
                try:
                    value = check_value(name, value, reference)
                except ParameterError as e:
                    raise SweepError(str(e)) from None
            if value in checked:
                msg = f"parameter {name} lists {value!r} twice"
                raise SweepError(msg)
            checked.append(value)
        values[name] = checked
    return values


def plan(
    notebook: str | os.PathLike,
    grid: Mapping[str, Sequence[Any]],
    name: str | None = None,
    root: str | os.PathLike | None = None,
) -> Sweep:
    """Validate a sweep and list its runs; nothing is written or started.

    Args:
        notebook: a chapter name (``"02_savae"``) or a notebook path.
        grid: parameter name -> the values to sweep; the runs are their cartesian product.
            Unless ``profile`` is swept, every run gets ``$CALOPAPER_PROFILE`` (default
            ``book``), as the chapter itself would.
        name: the sweep's name (default ``<chapter>-<swept names>``).
        root: the data folder (default: the store's root, ``CALOPAPER_DATA``).

    Raises:
        SweepError: an unknown notebook, parameter or profile, an empty value list, a value of
            the wrong type, or a bad name; the message is one line.
    """
    path = notebook_path(notebook)
    chapter = path.stem
    try:
        declared = declared_parameters(parameters_cell(path))
    except ParameterError as e:
        raise SweepError(str(e)) from None
    except (SyntaxError, ValueError, KeyError) as e:
        message = " ".join(f"{type(e).__name__}: {e}".split())
        msg = f"cannot read the parameters cell of {path}: {message}"
        raise SweepError(msg) from None
    profile = os.environ.get("CALOPAPER_PROFILE", "book")
    values = _validate_grid(chapter, declared, grid, profile)
    if "profile" in declared and "profile" not in values:
        values = {"profile": [profile], **values}
    name = name or "-".join([chapter, *grid])
    if not _NAME.fullmatch(name):
        msg = f"bad sweep name {name!r}; use letters, digits and _ . = + -"
        raise SweepError(msg)
    runs = [dict(zip(values, point, strict=True)) for point in itertools.product(*values.values())]
    data = Path(root if root is not None else default_store().root).resolve()
    return Sweep(
        name=name,
        chapter=chapter,
        notebook=path,
        data=data,
        runs=tuple(Run(run_id(p), p) for p in runs),
    )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity
        return os.cpu_count() or 1


def _share_of_cores() -> int:
    """This worker thread's share of its machine's cores, shared by every Dask worker thread
    on the same host (never more threads than cores, whatever the deployment)."""
    from distributed import get_client, get_worker
    from distributed.comm import get_address_host

    worker = get_worker()
    host = get_address_host(worker.address)
    workers = get_client().scheduler_info()["workers"].values()
    threads = sum(w["nthreads"] for w in workers if w["host"] == host)
    return max(1, _usable_cores() // max(threads, worker.state.nthreads))


def _error_of(notebook: Path, log: Path) -> str:
    """The one-line error of a failed run: the notebook's exception, else the log's last line."""
    if notebook.is_file():
        for cell in json.loads(notebook.read_text()).get("cells", []):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    first = (output.get("evalue") or "").strip().splitlines() or [""]
                    return f"{output.get('ename')}: {first[0]}"
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "papermill failed without a message"


def execute(
    run: Run, notebook: Path, folder: Path, data: Path, threads: int | None = None
) -> dict[str, Any]:
    """Execute one run with papermill (a Dask task); return its record, also in ``run.json``.

    Args:
        run: its parameters.
        notebook: the chapter notebook; the kernel runs in its folder.
        folder: the run's folder, replaced (renamed into place) when papermill has finished.
        data: the data folder of the store (``CALOPAPER_DATA`` of the kernel).
        threads: the kernel's CPU threads; ``None``: this worker thread's share of its
            machine's cores (``_share_of_cores``).

    Raises:
        RunInterrupted: papermill was stopped by a signal; nothing is left behind.
    """
    if threads is None:
        threads = _share_of_cores()
    staging = folder.with_name(f".{folder.name}.tmp-{os.urandom(4).hex()}")
    staging.mkdir(parents=True)
    try:
        output = staging / notebook.name
        log = staging / "papermill.log"
        env = dict(os.environ, CALOPAPER_DATA=str(data), CALOPAPER_PUBLISH=str(staging))
        env[parallel.ENV] = "1"  # the sweep's workers share the cores; no nested workers
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[variable] = str(threads)
        env.pop("MPLBACKEND", None)  # figures stay in the executed notebook, as in the book
        call = {
            "input_path": str(notebook),
            "output_path": str(output),
            "parameters": run.parameters,
            "kernel_name": "python3",
            "cwd": str(notebook.parent),
            "progress_bar": False,
        }
        start = time.perf_counter()
        with log.open("w") as out:
            code = subprocess.call(
                [sys.executable, "-c", _PAPERMILL, json.dumps(call)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if code in (-signal.SIGINT, -signal.SIGTERM):
            msg = f"run {run.id} was stopped by signal {-code}"
            raise RunInterrupted(msg)
        results = Path("results") / f"{notebook.stem}.json"
        record = {
            "run": run.id,
            "chapter": notebook.stem,
            "parameters": run.parameters,
            "status": "done" if code == 0 else "failed",
            "error": None if code == 0 else _error_of(output, log),
            "seconds": round(time.perf_counter() - start, 1),
            "threads": threads,
            "host": socket.gethostname(),
            "notebook": notebook.name if output.is_file() else None,
            "results": str(results) if (staging / results).is_file() else None,
        }
        (staging / "run.json").write_text(json.dumps(record, indent=1))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _record(folder: Path) -> dict[str, Any] | None:
    path = folder / "run.json"
    return json.loads(path.read_text()) if path.is_file() else None


@dataclass(frozen=True)
class Sweep:
    """A validated sweep (``plan``): its runs and where they go.

    Attributes:
        name: the sweep's name; its folder is ``<data>/sweeps/<name>``.
        chapter: the notebook's name, e.g. ``"02_savae"``.
        notebook: the notebook file.
        data: the data folder (the store's root).
        runs: every run of the grid.
    """

    name: str
    chapter: str
    notebook: Path
    data: Path
    runs: tuple[Run, ...]

    @property
    def folder(self) -> Path:
        return self.data / "sweeps" / self.name

    def todo(self) -> list[Run]:
        """The runs that are not done (missing or failed)."""
        return [r for r in self.runs if (_record(self.folder / r.id) or {}).get("status") != "done"]

    def _write_spec(self) -> None:
        path = self.folder / "sweep.json"
        spec = json.loads(path.read_text()) if path.is_file() else {"runs": {}}
        if spec.get("chapter", self.chapter) != self.chapter:
            msg = (
                f"sweep {self.name} holds runs of {spec['chapter']}, not {self.chapter}; "
                "choose another --name"
            )
            raise SweepError(msg)
        spec |= {"chapter": self.chapter, "notebook": str(self.notebook)}
        spec["runs"] |= {r.id: r.parameters for r in self.runs}
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps(spec, indent=1))

    def _write_failure(self, run: Run, error: str) -> dict[str, Any]:
        """The record of a run whose task failed before papermill could report (worker lost)."""
        record = {"run": run.id, "chapter": self.chapter, "parameters": run.parameters}
        record |= {"status": "failed", "error": error, "notebook": None, "results": None}
        shutil.rmtree(self.folder / run.id, ignore_errors=True)
        with atomic_write(self.folder / run.id / "run.json") as tmp:
            tmp.write_text(json.dumps(record, indent=1))
        return record

    def run(
        self,
        client: Any = None,
        *,
        workers: int | None = None,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Execute the runs that are not done; return the sweep's ``summary``.

        Args:
            client: a ``distributed.Client`` (of a scheduler, or of ``jobqueue_cluster``);
                default: a ``LocalCluster`` of ``workers`` processes, closed afterwards.
            workers: local worker processes (default: one per core, at most one per run).
            progress: show a progress bar over the runs.

        Raises:
            KeyboardInterrupt: after cancelling the runs; finished runs are kept.
        """
        from distributed import as_completed
        from tqdm import tqdm

        todo = self.todo()
        self._write_spec()
        if not todo:
            return summary(self.name, self.data)
        cluster = threads = None
        if client is None:
            from distributed import Client, LocalCluster

            cores = _usable_cores()
            workers = max(1, min(workers or cores, len(todo)))
            threads = max(1, cores // workers)
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            client = Client(cluster)
        futures = {
            client.submit(
                execute, r, self.notebook, self.folder / r.id, self.data, threads, pure=False
            ): r
            for r in todo
        }
        bar = tqdm(total=len(todo), desc=self.name, unit="run", disable=not progress)
        try:
            for future in as_completed(futures):
                run = futures[future]
                try:
                    record = future.result()
                except Exception as e:  # the task itself failed: lost worker, full disk...
                    record = self._write_failure(run, f"{type(e).__name__}: {e}")
                if record["status"] != "done":
                    bar.write(f"failed: {run.id}: {record['error']}", file=sys.stderr)
                bar.update()
        except KeyboardInterrupt:
            client.cancel(list(futures))
            raise
        finally:
            bar.close()
            if cluster is not None:
                client.close()
                cluster.close()
                for staging in self.folder.glob(".*.tmp-*"):
                    shutil.rmtree(staging, ignore_errors=True)
        return summary(self.name, self.data)


def summary(name: str, root: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per run of a sweep: its parameters, status and the verdict of each claim.

    Args:
        name: the sweep's name.
        root: the data folder (default: the store's root).

    Returns:
        Columns ``run``, the parameters, ``status`` (done, failed or pending), ``seconds``,
        ``error`` (one line), ``notebook`` and ``results`` (paths, or None), then one column per
        claim id of the chapter, holding the run's verdict.

    Raises:
        SweepError: no sweep of that name.
    """
    data = Path(root) if root is not None else default_store().root
    folder = data / "sweeps" / name
    path = folder / "sweep.json"
    if not path.is_file():
        known = sorted(p.name for p in folder.parent.glob("*") if (p / "sweep.json").is_file())
        msg = f"no sweep named {name!r} in {folder.parent}; sweeps there: {known}"
        raise SweepError(msg)
    rows = []
    for rid, parameters in json.loads(path.read_text())["runs"].items():
        record = _record(folder / rid) or {"status": "pending"}
        row = {"run": rid, **parameters, "status": record["status"]}
        row |= {"seconds": record.get("seconds"), "error": record.get("error")}
        for key in ("notebook", "results"):
            row[key] = folder / rid / record[key] if record.get(key) else None
        if row["results"] is not None:
            claims = json.loads(row["results"].read_text())["claims"]
            row |= {c["id"]: c["verdict"] for c in claims}
        rows.append(row)
    return pd.DataFrame(rows)


@contextlib.contextmanager
def jobqueue_cluster(kind: str, options: Mapping[str, Any], jobs: int) -> Iterator[Any]:
    """A SLURM or HTCondor cluster of dask-jobqueue that starts up to ``jobs`` jobs as needed.

    Each job is one Dask worker (``processes=1`` unless given) that runs ``cores`` runs at once;
    on SLURM, ``job_cpu`` books more CPUs per job than it runs runs (for multi-threaded runs).

    Args:
        kind: ``"slurm"`` or ``"htcondor"``.
        options: keyword arguments of ``SLURMCluster`` or ``HTCondorCluster`` (``cores``,
            ``memory``, ``walltime``, ``queue``, ``account``, ``job_extra_directives``...);
            what is not given comes from the site's dask-jobqueue configuration.
        jobs: the most jobs to run at once.

    Yields:
        The cluster (``job_script()`` shows what it submits); closed on exit.

    Raises:
        SweepError: an unknown kind, an unknown option or a missing resource.
    """
    import dask
    import dask_jobqueue

    classes = {"slurm": dask_jobqueue.SLURMCluster, "htcondor": dask_jobqueue.HTCondorCluster}
    if kind not in classes:
        msg = f"unknown cluster {kind!r}; expected one of {sorted(classes)}"
        raise SweepError(msg)
    options = dict(options)
    for key in ("cores", "memory"):
        if key not in options and dask.config.get(f"jobqueue.{kind}.{key}", None) is None:
            msg = (
                f"the {kind} cluster needs --cluster-option {key}=... (e.g. cores=4 memory=16GB), "
                "or a site dask-jobqueue configuration that sets it"
            )
            raise SweepError(msg)
    if dask.config.get(f"jobqueue.{kind}.processes", None) is None:
        options.setdefault("processes", 1)
    try:
        cluster = classes[kind](**options)
    except (TypeError, ValueError) as e:
        msg = f"cannot set up the {kind} cluster: {str(e).strip().splitlines()[0]}"
        raise SweepError(msg) from None
    try:
        cluster.adapt(minimum_jobs=0, maximum_jobs=jobs)
        yield cluster
    finally:
        cluster.close()
