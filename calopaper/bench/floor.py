"""How fast a generator could be: its multiply-adds per shower against the machine's matmul rate.

A network's floor is ``MACs per shower / MACs per second`` of a large fp32 matrix product on the
same threads and device: no generator that must do those multiply-adds can be faster, and the
ratio of measured time to floor says how much goes elsewhere (Python, small kernels, sampling
loops, memory traffic).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from calopaper.timing import torch_threads

__all__ = ["count_macs", "matmul_rate"]


def count_macs(
    generate: Callable[[int, float | None], object], energy: float | None, n: int = 1
) -> float:
    """Multiply-adds each further shower costs in ``generate``, counted by torch (not timed).

    ``torch.utils.flop_counter.FlopCounterMode`` counts the FLOPs of matrix products,
    convolutions and attention (2 per multiply-add); element-wise work is not counted. The count
    is the difference between calls of ``2 n`` and ``n`` showers, divided by ``n``: work done
    once per call (e.g. SAVAE's per-segmentation cell weights, 20 M multiply-adds against 0.5 M
    per shower) is what a large batch amortises, and the floor is compared with the best batch.

    Returns:
        MACs per shower (0.0 for code without torch matrix products, e.g. numpy simulators).
    """
    from torch.utils.flop_counter import FlopCounterMode

    flops = []
    for size in (n, 2 * n):
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            generate(size, energy)
        flops.append(counter.get_total_flops())
    return max(flops[1] - flops[0], 0) / 2 / n


def matmul_rate(threads: int = 1, device: str = "cpu", size: int = 1024, seconds: float = 0.2):
    """Multiply-adds per second of a ``size``² fp32 matrix product (best of repeated calls).

    Args:
        threads: torch intra-op threads (CPU; 0 = unchanged).
        device: "cpu" or "cuda".
        size: matrix side.
        seconds: time spent measuring (after one warm-up product).
    """
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    best = float("inf")
    with torch_threads(threads):
        torch.mm(a, b)
        sync()
        spent = 0.0
        while spent < seconds or best == float("inf"):
            start = time.perf_counter()
            torch.mm(a, b)
            sync()
            elapsed = time.perf_counter() - start
            best, spent = min(best, elapsed), spent + elapsed
    return size**3 / best
