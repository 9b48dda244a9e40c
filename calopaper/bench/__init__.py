"""``calopaper bench``: every generator of the book timed one way (book chapter 7).

A model family offers itself through ``generators(ctx) -> list[Generator]`` (``registry``);
``run`` times them (``timing.stored``: warm-up dropped, repeated calls, median and spread,
stored per machine; batch sizes, threads, devices, incident energies); ``floor``
counts multiply-adds and measures the machine's matmul rate; ``report`` makes the tables.
"""

from calopaper.bench.registry import (
    PROVIDERS,
    BenchContext,
    Entry,
    Generator,
    Unavailable,
    architecture,
    collect,
)
from calopaper.bench.report import at_batch, summary
from calopaper.bench.run import (
    PLANS,
    Plan,
    devices,
    frames,
    machine,
    measure,
    plan_of,
)

__all__ = [
    "PLANS",
    "PROVIDERS",
    "BenchContext",
    "Entry",
    "Generator",
    "Plan",
    "Unavailable",
    "architecture",
    "at_batch",
    "collect",
    "devices",
    "frames",
    "machine",
    "measure",
    "plan_of",
    "summary",
]
