"""Shared fixtures: every test starts from fixed seeds, a clean matplotlib state and no chapter
resolved (``profiles.last_resolved``, which decides where ``results.publish`` writes)."""

import os
import random

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")  # tests only; the book itself must keep the inline backend


@pytest.fixture(autouse=True)
def _reset_state():
    from calopaper import profiles

    profiles._LAST.clear()
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 - legacy global state, reset for code that still uses it
    torch.manual_seed(0)
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
    matplotlib.rcdefaults()
    matplotlib.use("Agg")


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """A private, empty data/ folder for the store."""
    monkeypatch.setenv("CALOPAPER_DATA", os.fspath(tmp_path / "data"))
    return tmp_path / "data"
