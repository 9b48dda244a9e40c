"""Tables for display: significant figures, scientific notation for tiny or huge values."""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import partial

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

__all__ = ["SCIENTIFIC_BELOW", "SCIENTIFIC_FROM", "number", "scientific", "styled"]

#: A column is written in scientific notation when it holds a non-zero magnitude below
#: ``SCIENTIFIC_BELOW`` or from ``SCIENTIFIC_FROM`` on; otherwise positional notation with
#: significant figures reads well across the decades in between (0.00475, 0.147, 931).
SCIENTIFIC_BELOW, SCIENTIFIC_FROM = 1e-3, 1e6


def number(x: object, digits: int = 3, scientific: bool = False) -> str:
    """One value with ``digits`` significant figures; non-numbers are returned as text.

    Positional notation keeps every digit left of the decimal point; scientific notation has a
    compact exponent. NaN is "–", integers stay integers.

    Example:
        >>> number(0.1901), number(13.3747), number(2304), number(1e-12, scientific=True)
        ('0.190', '13.4', '2304', '1.00e-12')
        >>> number(0.0), number(float("nan")), number("(48,48)"), number(12345.6), number(99.98)
        ('0', '–', '(48,48)', '12346', '100')
    """
    if isinstance(x, bool | np.bool_) or not isinstance(x, int | float | np.number):
        return str(x)
    if isinstance(x, int | np.integer):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "–"
    if x == 0 or math.isinf(x):
        return f"{x:g}"
    if scientific:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    if abs(float(f"{x:.{decimals}f}")) >= 10 ** (digits - decimals):  # 99.98 -> 100, not 100.0
        decimals = max(0, decimals - 1)
    return f"{x:.{decimals}f}"


def scientific(values: Iterable[object]) -> bool:
    """Whether numbers shown together need scientific notation (see :data:`SCIENTIFIC_BELOW`).

    Example:
        >>> scientific([0.3, 1e-12]), scientific([0.00475, 931.0, float("nan")])
        (True, False)
    """
    magnitudes = np.array(
        [abs(float(v)) for v in values if isinstance(v, float | np.floating) and v and v == v],
        dtype=float,
    )
    magnitudes = magnitudes[np.isfinite(magnitudes)]
    if magnitudes.size == 0:
        return False
    return bool(magnitudes.min() < SCIENTIFIC_BELOW or magnitudes.max() >= SCIENTIFIC_FROM)


def styled(frame: pd.DataFrame, digits: int = 3, index: bool = True) -> Styler:
    """A table for display: every float with ``digits`` significant figures.

    Each column is formatted on its own: one holding a value below 1e-3 or from 1e6 on is
    written in scientific notation (KS p-values as 1.00e-12, not 0.000000), any other in
    positional notation.
    Text and integers are shown as they are. The frame itself is not changed, so the raw values
    still go to ``results.publish``.

    Args:
        frame: the table.
        digits: significant figures of every float.
        index: show the index; pass False where it is only a row number.

    Example:
        >>> frame = pd.DataFrame({"p": [1e-12, 0.3], "W1": [0.1901, 13.3747], "n": [1, 2]})
        >>> html = styled(frame, index=False).to_html()
        >>> all(s in html for s in ("1.00e-12", "3.00e-1", "0.190", "13.4"))
        True
    """
    style = frame.style
    for column in frame.columns:
        sci = scientific(frame[column])
        style = style.format(partial(number, digits=digits, scientific=sci), [column])
    return style if index else style.hide(axis="index")
