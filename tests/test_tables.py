"""calopaper.tables: what a displayed table shows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from calopaper.tables import number, styled


@pytest.mark.parametrize(
    ("value", "scientific", "text"),
    [
        (0.1901, False, "0.190"),
        (13.3747, False, "13.4"),
        (0.000001, True, "1.00e-6"),
        (np.float32(0.25), False, "0.250"),
        (np.int64(10000), False, "10000"),
        (-0.01, False, "-0.0100"),
        (np.nan, False, "–"),
        ("n/a", True, "n/a"),
        (True, False, "True"),
    ],
)
def test_number(value, scientific, text):
    assert number(value, 3, scientific) == text


def _cells(style) -> list[str]:
    """The text of every data cell of a rendered table."""
    return re.findall(r"<td [^>]*>([^<]*)</td>", style.to_html())


def test_p_values_spanning_decades_are_scientific_and_the_frame_is_unchanged():
    frame = pd.DataFrame({"p": [1e-12, 0.3], "KS": [0.0101, 0.19], "model": ["I", "II"]})
    shown = _cells(styled(frame, index=False))
    assert "1.00e-12" in shown and "3.00e-1" in shown
    assert "0.0101" in shown and "0.190" in shown and "II" in shown
    assert "0.000000" not in shown
    assert frame.loc[0, "p"] == 1e-12


def test_multiindex_columns_and_hidden_index():
    columns = pd.MultiIndex.from_product([["e+", "pi+"], ["value", "floor"]])
    frame = pd.DataFrame([[0.5, 0.02, 0.3, 0.0001]], columns=columns, index=["E_0"])
    style = styled(frame, digits=2, index=False)
    shown = _cells(style)
    assert "0.50" in shown and "0.020" in shown and "1.0e-4" in shown
    assert "E_0" not in style.to_html()


def test_decades_between_tiny_and_huge_stay_positional():
    frame = pd.DataFrame({"x": [0.00475, 0.147, 931.2, 1772.0]})
    assert _cells(styled(frame, index=False)) == ["0.00475", "0.147", "931", "1772"]
