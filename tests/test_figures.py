"""Figures through the store: drawn once per content, redrawn when the data change."""

import numpy as np
import pytest

from calopaper import figures, plotting


def test_a_figure_is_drawn_once_per_content(data_root, monkeypatch):
    calls = []
    draw = plotting.distributions

    def counting(*args, **kwargs):
        calls.append(1)
        return draw(*args, **kwargs)

    monkeypatch.setattr(counting, "__qualname__", "distributions")
    monkeypatch.setattr(counting, "__module__", "calopaper.plotting")
    shapes = {"SUPA": {"E_0": np.arange(100.0)}}
    first = figures.cached(counting, shapes, ["E_0"], 1)
    again = figures.cached(counting, shapes, ["E_0"], 1)
    assert first.data == again.data and first.data[:4] == b"\x89PNG" and len(calls) == 1
    figures.cached(counting, {"SUPA": {"E_0": np.arange(100.0) + 1}}, ["E_0"], 1)
    assert len(calls) == 2


def test_arguments_without_a_content_key_are_refused():
    with pytest.raises(TypeError, match="cannot key"):
        figures.digest(object())
