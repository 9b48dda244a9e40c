"""Independent cached computations run side by side in worker processes.

A chapter often trains several models that do not depend on one another: the variants of an
ablation, one model per calorimeter layer. With one torch thread per training (the ``book``
profile's thread policy, ``profiles.THREADS``) each uses one core, so on the 2-core build
machine two can run at once. :func:`run` hands the calls that have something to build to
worker processes, then makes every call again here, in order. Each call must keep its result in
the store (``store.get_or_build``): the second call reads what a worker stored, so what the
caller gets — the return values, the models it used (``store.models_used``) — is what a serial
run gives, and a call whose artifacts are all stored spawns nothing.

Timing is not disturbed: ``run`` returns only once its workers have exited, and the chapters
time their models after training them.

Workers die with their chapter: each checks every :data:`WATCH_SECONDS` whether the process
that started it is still there and exits once it is gone, however it died (``kill -9``
included), so an interrupted build leaves no idle workers behind. Nothing they held blocks a
rerun: the store's locks are released with the process, and its writes are atomic.

The number of workers is ``CALOPAPER_WORKERS`` when set, else the profile's (``set_workers``,
called by ``profiles.resolve``); 0 means one worker per core the process may use divided by
torch's threads. Workers are spawned, not forked (a forked notebook kernel or torch thread
pool is not safe to use), so each call must be picklable: a module-level function or a
``functools.partial`` of one.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import TypeVar

from tqdm import tqdm

from calopaper.store import NotStored, building_allowed, only_stored

__all__ = ["run", "set_workers", "workers"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

#: Environment variable that overrides the profile's number of workers (a sweep sets it to 1).
ENV = "CALOPAPER_WORKERS"

_policy = 1
#: How often a worker checks that the process that started it is still there, seconds.
WATCH_SECONDS = 1.0


def set_workers(n: int) -> None:
    """Set how many worker processes :func:`run` may use (``n <= 0``: as many as cores per
    torch thread)."""
    global _policy
    _policy = n


def workers() -> int:
    """Worker processes :func:`run` uses now: ``$CALOPAPER_WORKERS``, else the policy of
    :func:`set_workers`; a value ``<= 0`` is resolved to cores // torch threads (at least 1).

    Raises:
        ValueError: ``CALOPAPER_WORKERS`` is not an integer.
    """
    setting = os.environ.get(ENV, "").strip()
    try:
        n = int(setting) if setting else _policy
    except ValueError:
        msg = f"{ENV}={setting!r} is not an integer number of worker processes"
        raise ValueError(msg) from None
    if n > 0:
        return n
    import torch

    return max(1, len(os.sched_getaffinity(0)) // max(1, torch.get_num_threads()))


def run(
    calls: Mapping[K, Callable[[], T]], n_workers: int | None = None, *, progress: bool = True
) -> dict[K, T]:
    """``{key: call() for key, call in calls.items()}``, the missing artifacts built in workers.

    Each call is first made here inside ``store.only_stored()``: one whose artifacts are all
    stored simply returns. When two or more calls have something to build and there is more
    than one worker, those calls run in worker processes, and are then made here again.

    Args:
        calls: picklable callables without arguments, each caching its result in the store.
        n_workers: worker processes (default: :func:`workers`). With one worker nothing is
            spawned and the calls run here in order.
        progress: show a progress bar over the calls the workers make.

    Returns:
        Every call's result, made in this process, in the order of ``calls``.

    Raises:
        Exception: the first exception a worker raised (with the worker's traceback as its
            cause); the calls not yet started are cancelled.
    """
    n = n_workers or workers()
    if n == 1 or not building_allowed():  # inside an outer pre-pass: only read the store
        return {key: call() for key, call in calls.items()}
    results, missing = {}, []
    with only_stored():
        for key, call in calls.items():
            try:
                results[key] = call()
            except NotStored:
                missing.append(key)
    if len(missing) > 1:
        _run_in_workers([calls[key] for key in missing], min(n, len(missing)), progress)
    results |= {key: calls[key]() for key in missing}
    return {key: results[key] for key in calls}


def _run_in_workers(calls: list[Callable[[], object]], n: int, progress: bool) -> None:
    """Run ``calls`` in ``n`` spawned processes with this process's torch threads."""
    import torch

    context = get_context("spawn")
    initargs = (torch.get_num_threads(), os.getpid())
    with ProcessPoolExecutor(n, mp_context=context, initializer=_start, initargs=initargs) as pool:
        futures = [pool.submit(_quietly, call) for call in calls]
        finished = as_completed(futures)
        desc = f"{len(calls)} builds in {n} processes"
        try:
            bar = tqdm(finished, total=len(calls), desc=desc, disable=not progress, leave=False)
            for future in bar:
                future.result()  # re-raises a worker's exception
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _start(threads: int, parent: int) -> None:
    """Worker set-up, before any call is unpickled: no nested workers, the caller's torch
    threads (``OMP_NUM_THREADS``, which torch reads when the first call imports it), and a
    watch on the caller (:func:`_exit_with`)."""
    os.environ[ENV] = "1"
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="watch").start()


def _exit_with(parent: int) -> None:
    """End this process once ``parent`` is no longer its parent (it died and this one was
    handed to another), checking every :data:`WATCH_SECONDS`."""
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def _quietly(call: Callable[[], object]) -> None:
    """Make ``call`` with its progress bars and messages discarded (the caller shows its own);
    its result is dropped, the caller reads it back from the store."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        call()
