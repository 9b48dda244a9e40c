"""Per-shower generation timing: the one clock every benchmark and chapter uses.

The method (CaloClouds' timing scripts): untimed warm-up calls first, then repeated timed calls
of the same batch; a ``Timing`` keeps every repetition, reports the median with the spread
(half the 16-84 % range) and the best. On a GPU each call is followed by a synchronisation, so
the clock stops when the showers exist. :func:`stored` is the one way to keep a timing: in the
store, keyed by what was timed, how, and on which machine.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from calopaper import provenance
from calopaper.store import Store, default_store

__all__ = [
    "Timing",
    "ratio_with_error",
    "set_device_policy",
    "set_threads",
    "stored",
    "time_per_shower",
    "torch_threads",
]


@dataclass(frozen=True)
class Timing:
    """Wall time of generating ``n`` showers, repeated.

    Attributes:
        n: showers per repetition.
        seconds: (repeats,) wall-clock seconds of each repetition.
        threads: CPU threads torch was allowed (``0`` = library default).
        cpu_seconds: (repeats,) CPU seconds of this process in each repetition (all its
            threads); on a machine shared with other work, one thread's CPU time is close to
            the wall time it would take alone.
    """

    n: int
    seconds: tuple[float, ...]
    threads: int = 0
    cpu_seconds: tuple[float, ...] = ()

    @property
    def ms_best(self) -> float:
        """Best (minimum) repetition in milliseconds per shower."""
        return 1e3 * min(self.seconds) / self.n

    @property
    def ms_median(self) -> float:
        """Median repetition in milliseconds per shower (the bench's headline number)."""
        return 1e3 * float(np.median(self.seconds)) / self.n

    @property
    def ms_spread(self) -> float:
        """Half the 16-84 % range of the repetitions, ms per shower (a robust 1 σ)."""
        low, high = np.percentile(self.seconds, [16, 84])
        return 1e3 * float(high - low) / 2 / self.n

    @property
    def ms_error(self) -> float:
        """Standard error of :attr:`ms_median`, ms per shower: √(π/2) · spread / √repeats (the
        median's error for normally distributed repetitions), so more repeats shrink it.

        Example:
            >>> round(Timing(1, (0.9, 1.0, 1.1, 1.0)).ms_error, 1)
            32.6
        """
        return math.sqrt(math.pi / 2) * self.ms_spread / math.sqrt(len(self.seconds))

    @property
    def cpu_ms_median(self) -> float:
        """Median repetition's process CPU time in milliseconds per shower (NaN if not kept)."""
        if not self.cpu_seconds:
            return float("nan")
        return 1e3 * float(np.median(self.cpu_seconds)) / self.n

    def __str__(self) -> str:
        return (
            f"{self.ms_median:.4g} ± {self.ms_spread:.2g} ms/shower (median of "
            f"{len(self.seconds)}; best {self.ms_best:.4g})"
        )


def ratio_with_error(numerator, numerator_error, denominator, denominator_error):
    """``numerator / denominator`` of two timings (medians), with the error propagated from
    their errors (``Timing.ms_error``, in the same unit); floats or arrays alike.

    Example:
        >>> ratio, error = ratio_with_error(3.0, 0.3, 4.0, 0.0)
        >>> ratio, round(float(error), 6)
        (0.75, 0.075)
    """
    ratio = numerator / denominator
    return ratio, ratio * np.hypot(numerator_error / numerator, denominator_error / denominator)


def set_threads(n: int) -> None:
    """Set torch's intra-op CPU threads for the whole process (``n <= 0`` leaves the default).

    The book's one thread policy: ``profiles.resolve`` calls it with the profile's
    ``THREADS`` value, so no chapter or model sets threads itself.
    """
    if n > 0:
        import torch

        torch.set_num_threads(n)


def set_device_policy(device: str) -> None:
    """The book's one GPU policy, for the whole process: on a CUDA device, cuDNN picks its
    fastest algorithms (``cudnn.benchmark``) and float32 matrix products may use TF32; nothing
    on a CPU. ``profiles.resolve`` and the bench call it, so no chapter or model sets them."""
    if str(device).startswith("cuda"):
        import torch

        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


@contextmanager
def torch_threads(n: int):
    """Temporarily limit torch's intra-op threads (``n <= 0`` leaves them unchanged)."""
    import torch

    old = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def time_per_shower(
    generate: Callable[[int], object],
    n: int,
    *,
    repeats: int = 3,
    warmup: int = 1,
    threads: int = 0,
    min_seconds: float = 0.0,
    max_repeats: int = 0,
    budget_seconds: float = float("inf"),
    device: str = "cpu",
) -> Timing:
    """Time ``generate(n)`` (which must produce ``n`` showers) ``repeats`` times or more.

    Args:
        generate: callable producing ``n`` showers; its return value is discarded.
        n: showers per call.
        repeats: timed calls at least; every one is kept (median, spread and best).
        warmup: untimed calls first (JIT, caches, lazy imports).
        threads: torch intra-op threads during the calls (0 = unchanged).
        min_seconds: keep repeating until the timed calls add up to this many seconds...
        max_repeats: ...but make at most this many timed calls (0 = ``repeats``).
        budget_seconds: no further timed call once warm-up and timed calls have taken this
            long (at least one timed call is always made): slow settings get fewer repeats.
        device: where ``generate`` computes; a CUDA device is synchronised after each call.

    Example:
        >>> t = time_per_shower(lambda n: [0] * n, 1000, repeats=2)
        >>> t.n, len(t.seconds)
        (1000, 2)
    """
    if n <= 0 or repeats <= 0:
        msg = f"need n > 0 and repeats > 0, got n={n}, repeats={repeats}"
        raise ValueError(msg)
    sync = _synchroniser(device)
    most = max(repeats, max_repeats)
    began = time.perf_counter()
    with torch_threads(threads):
        for _ in range(warmup):
            generate(n)
            sync()
        seconds: list[float] = []
        cpu: list[float] = []
        while not seconds or (
            time.perf_counter() - began < budget_seconds
            and (len(seconds) < repeats or (sum(seconds) < min_seconds and len(seconds) < most))
        ):
            start, start_cpu = time.perf_counter(), time.process_time()
            generate(n)
            sync()
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return Timing(n, tuple(seconds), threads, tuple(cpu))


def stored(
    what: dict,
    generate: Callable[[int], object],
    n: int,
    *,
    code: Iterable[str],
    store: Store | None = None,
    device: str = "cpu",
    threads: int = 0,
    repeats: int = 3,
    warmup: int = 1,
    **limits: float,
) -> Timing:
    """:func:`time_per_shower` of ``generate(n)``, measured once per machine and kept in the store.

    The key (kind "timings") holds ``what``, ``n``, the method (``repeats``, ``warmup``,
    ``limits``), ``device``, torch's threads during the calls and ``provenance.machine()``
    (CPU model, cores, GPU, versions), beside the source of ``code`` and this module: the same
    machine reads a timing back, another machine or changed code times again.

    Args:
        what: JSON-able description of what is timed (model key, segmentation, energy, ...).
        code: dotted names of the modules behind ``generate``.
        limits: ``min_seconds``, ``max_repeats``, ``budget_seconds`` of :func:`time_per_shower`.
    """
    import torch

    store = store or default_store()
    key = {
        "what": what,
        "n": n,
        "repeats": repeats,
        "warmup": warmup,
        "limits": limits,
        "device": str(device),
        "threads": threads if threads > 0 else torch.get_num_threads(),
        "machine": provenance.machine(),
    }

    def build(tmp: Path) -> None:
        t = time_per_shower(
            generate, n, repeats=repeats, warmup=warmup, threads=threads, device=device, **limits
        )
        tmp.write_text(json.dumps(asdict(t)))

    path = store.get_or_build("timings", key, build, suffix=".timing.json", code=[__name__, *code])
    fields = json.loads(path.read_text())
    return Timing(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def _synchroniser(device: str) -> Callable[[], None]:
    """A function that waits for ``device`` to finish its queued work (nothing on a CPU)."""
    if str(device).startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return lambda: None
