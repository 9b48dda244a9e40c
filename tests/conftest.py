"""Shared fixtures: every test starts from fixed seeds and a clean matplotlib state."""

import os
import random

import matplotlib
import pytest

matplotlib.use("Agg")  # tests only; the book itself must keep the inline backend


@pytest.fixture(autouse=True)
def _reset_state():
    random.seed(0)
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
