"""Figures rendered once per content through the store: a warm rebuild glues stored PNGs.

Rendering a many-panel matplotlib figure to PNG costs seconds of CPU, the largest part of a
chapter's rebuild once its data come from the store. :func:`cached` draws a figure with a
library function only when that function's arguments or the plotting code changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from calopaper.store import Store, default_store

if TYPE_CHECKING:
    from IPython.display import Image
    from matplotlib.figure import Figure

__all__ = ["cached", "digest"]

#: Code whose source is part of a stored figure's key.
CODE = ("calopaper.plotting", __name__)


def _feed(h: hashlib._Hash, obj: object) -> None:
    """Feed a canonical byte form of ``obj`` (arrays, containers, dataclasses, scalars) to ``h``."""
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"array{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(obj, dict):
        h.update(b"dict")
        for key in sorted(obj, key=repr):
            _feed(h, key)
            _feed(h, obj[key])
    elif isinstance(obj, list | tuple):
        h.update(f"{type(obj).__name__}{len(obj)}".encode())
        for item in obj:
            _feed(h, item)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(type(obj).__qualname__.encode())
        for f in dataclasses.fields(obj):
            _feed(h, f.name)
            _feed(h, getattr(obj, f.name))
    elif obj is None or isinstance(obj, bool | int | float | str | np.generic):
        h.update(f"{type(obj).__name__}:{obj!r}".encode())
    else:
        msg = f"cannot key a figure on {type(obj).__name__} {obj!r}"
        raise TypeError(msg)


def digest(*args: object, **kwargs: object) -> str:
    """SHA-256 hex digest of the arguments' content (numpy arrays by dtype, shape and bytes).

    Example:
        >>> digest(np.zeros(2), bins=3) == digest(np.zeros(2), bins=3) != digest(np.ones(2), bins=3)
        True
    """
    h = hashlib.sha256()
    _feed(h, (args, kwargs))
    return h.hexdigest()


def cached(
    draw: Callable[..., Figure], *args: object, store: Store | None = None, **kwargs
) -> Image:
    """``draw(*args, **kwargs)`` as a PNG image, rendered only if not stored yet.

    The key holds ``draw``'s qualified name, :func:`digest` of the arguments and the source of
    ``calopaper.plotting``; the PNG is what the notebook's inline backend would show
    (``bbox_inches="tight"`` at the style's dpi). Glue the result like a figure.

    Args:
        draw: a library function returning a matplotlib ``Figure`` (closed after rendering).
        *args, **kwargs: its arguments: arrays, dicts, lists, scalars, dataclasses.

    Raises:
        TypeError: an argument whose content cannot be keyed (e.g. an open file).
    """
    import matplotlib.pyplot as plt
    from IPython.display import Image

    store = store or default_store()
    key = {"draw": f"{draw.__module__}.{draw.__qualname__}", "arguments": digest(*args, **kwargs)}

    def build(tmp: Path) -> None:
        fig = draw(*args, **kwargs)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(fig)
        tmp.write_bytes(buffer.getvalue())

    path = store.get_or_build("figures", key, build, suffix=".png", code=CODE)
    return Image(data=path.read_bytes(), format="png")
