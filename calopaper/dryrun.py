"""The paper profile's dry run: the papers' model sizes on tiny data, two optimisation steps.

``CALOPAPER_DRYRUN=1`` proves that a chapter starts at paper scale without a GPU or the
papers' compute. In the ``paper`` profile it keeps every architecture, per-shower shape, batch
size and sampler setting, but

- cuts each dataset to a few batches (the ``paper`` values that :data:`SIZES` replaces),
- stops every training after :data:`STEPS` optimisation steps (``training.fit``), and
- keeps its artifacts in a store of its own (:func:`store_root`), so a dry-run model is
  never read as a trained one.

Weights after two steps are as good as untrained; a network's generation time does not depend
on its weights, so the dry run is also how ``calopaper bench`` times the paper-sized networks
on a GPU (``book/records/``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["ENV", "SIZES", "STEPS", "active", "store_root"]

#: The switch: any value but "", "0" turns the dry run on.
ENV = "CALOPAPER_DRYRUN"
#: Optimisation steps of every training in a dry run.
STEPS = 2

#: Per chapter, the ``paper`` profile values a dry run replaces: data sizes, never architectures,
#: batch sizes or sampler settings. Each training split still holds at least two batches.
SIZES: dict[str, dict[str, Any]] = {
    "01_dataset": {"n_showers": 200, "n_images": 100},
    # batch 128: 0.7 x 400 showers = 280 training showers
    "02_savae": {"n_showers": 400, "n_samples": 40, "sweep_showers": 40, "n_timing": 10},
    "03_gaam": {"n_showers": 100, "n_samples": 10, "n_timing": 4},
    # batch 100: 0.8 x 300 showers = 240 training showers
    "04_dvae": {"n_showers": 300, "n_response": 20, "n_timing": 20},
    "05_supa": {"n_showers": 300, "n_bench": 100, "n_gflash": 200},
    # batch 256: 0.7 x 800 showers = 560 training showers
    "05_supa_study": {"n_showers": 800, "n_boot": 5},
    # point_batch 2048: 5000 points; ShowerFlow batches are the showers themselves
    "06_caloclouds3": {
        "n_train": 200,
        "n_test": 20,
        "n_fixed": 4,
        "n_diphoton": 10,
        "points": 5000,
        "n_timing": 3,
        "n_boot": 3,
    },
    "07_speed": {},
}


def active() -> bool:
    """Whether ``CALOPAPER_DRYRUN`` is set (to anything but "" or "0")."""
    return os.environ.get(ENV, "") not in ("", "0")


def store_root() -> Path:
    """The dry run's own store: ``<temp dir>/calopaper-dryrun`` (``CALOPAPER_DATA`` wins)."""
    return Path(tempfile.gettempdir()) / "calopaper-dryrun"
