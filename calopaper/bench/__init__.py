"""``calopaper bench``: every generator of the book timed one way (book chapter 7).

A model family offers itself through ``generators(ctx) -> list[Generator]`` (``registry``);
``run`` times them (``timing.stored``: warm-up dropped, repeated calls, median and spread,
stored per machine; batch sizes, threads, devices, incident energies); ``floor``
counts multiply-adds and measures the machine's matmul rate; ``report`` makes the tables.
"""

from calopaper.bench.registry import BenchContext, Generator, Unavailable, collect
from calopaper.bench.report import summary
from calopaper.bench.run import PLANS, frames, measure, plan_of

__all__ = [
    "PLANS",
    "BenchContext",
    "Generator",
    "Unavailable",
    "collect",
    "frames",
    "measure",
    "plan_of",
    "summary",
]
