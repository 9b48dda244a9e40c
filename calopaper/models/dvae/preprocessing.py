"""CaloGAN cells as one 504-vector, and calodvae's hit-only per-cell standardisation (App. 6.1)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["CALOGAN_LAYERS", "N_CELLS", "CellStandardiser", "flatten_layers", "split_layers"]

#: Layer name -> (n_eta, n_phi) of the CaloGAN calorimeter (calodvae Table 5), in the order the
#: flattened vector concatenates them: 3 x 96 + 12 x 12 + 12 x 6 = 288 + 144 + 72 = 504 cells.
CALOGAN_LAYERS = {"layer_0": (3, 96), "layer_1": (12, 12), "layer_2": (12, 6)}
N_CELLS = sum(a * b for a, b in CALOGAN_LAYERS.values())


def flatten_layers(layers: Mapping[str, np.ndarray]) -> np.ndarray:
    """Unroll the three CaloGAN layers row-major and concatenate them (calodvae §2.1).

    Args:
        layers: ``"layer_0"`` (N, 3, 96), ``"layer_1"`` (N, 12, 12), ``"layer_2"`` (N, 12, 6),
            MeV (e.g. a ``datasets.read_calogan`` dict; other keys are ignored).

    Returns:
        (N, 504) float32, MeV: cells 0-287 layer 0, 288-431 layer 1, 432-503 layer 2.

    Example:
        >>> layers = {k: np.ones((2, *s)) for k, s in CALOGAN_LAYERS.items()}
        >>> flatten_layers(layers).shape
        (2, 504)
    """
    missing = [k for k in CALOGAN_LAYERS if k not in layers]
    if missing:
        msg = f"missing CaloGAN layers {missing}; expected keys {list(CALOGAN_LAYERS)}"
        raise ValueError(msg)
    n = len(layers["layer_0"])
    return np.concatenate(
        [np.asarray(layers[k], dtype=np.float32).reshape(n, -1) for k in CALOGAN_LAYERS], axis=1
    )


def split_layers(cells: np.ndarray | Tensor) -> dict[str, np.ndarray]:
    """Inverse of :func:`flatten_layers`: (N, 504) -> the three layer images (numpy, float32).

    Example:
        >>> {k: v.shape for k, v in split_layers(np.zeros((2, 504))).items()}
        {'layer_0': (2, 3, 96), 'layer_1': (2, 12, 12), 'layer_2': (2, 12, 6)}
    """
    if isinstance(cells, Tensor):
        cells = cells.detach().cpu().numpy()
    cells = np.asarray(cells, dtype=np.float32)
    if cells.ndim != 2 or cells.shape[1] != N_CELLS:
        msg = f"cells of shape {cells.shape}; expected (N, {N_CELLS}) flattened CaloGAN showers"
        raise ValueError(msg)
    out, start = {}, 0
    for name, shape in CALOGAN_LAYERS.items():
        size = shape[0] * shape[1]
        out[name] = cells[:, start : start + size].reshape(-1, *shape)
        start += size
    return out


class CellStandardiser(nn.Module):
    """Per-cell standardisation of hit cells that keeps empty cells exactly 0 (calodvae App. 6.1).

    For cell i, the mean μ_i and standard deviation σ_i are computed over the showers in which
    the cell is hit (E > 0). A hit becomes (E - μ_i)/σ_i + s_i, where the shift
    s_i = ε - min_hits (E - μ_i)/σ_i whenever that minimum is below ε (else 0), so every hit
    of the fitted data maps to >= ε and stays distinguishable from an empty cell, which maps to
    exactly 0. The reference code shifts only when the minimum is negative; ours also lifts a cell
    whose hits all had the same value (σ_i = 0 is replaced by 1, as scikit-learn does), which
    would otherwise map to 0. Cells never hit keep μ = 0, σ = 1, s = 0.

    The inverse maps y > 0 to max((y - s_i) σ_i + μ_i, 0) and y <= 0 to 0: a generated value
    below the fitted minimum becomes a small deposit, clipped at 0 MeV.

    The statistics live in buffers (saved with the model). Build one with :meth:`fit`, or from
    the tuple :meth:`to_config` returns (that is how ``DVAEConfig.standardisation`` stores it).

    Args:
        n_cells: number of cells.
        statistics: ``(mean, std, shift)`` sequences of length ``n_cells``; empty = identity.

    Example:
        >>> x = torch.tensor([[0.0, 10.0], [2.0, 30.0], [4.0, 0.0]])
        >>> s = CellStandardiser.fit(x, epsilon=0.01)
        >>> s(x).round(decimals=2)
        tensor([[0.0000, 0.0100],
                [0.0100, 2.0100],
                [2.0100, 0.0000]])
        >>> torch.allclose(s.inverse(s(x)), x)
        True
    """

    def __init__(self, n_cells: int, statistics: tuple = ()) -> None:
        super().__init__()
        if statistics:
            mean, std, shift = (torch.tensor(s, dtype=torch.float32) for s in statistics)
            if not mean.shape == std.shape == shift.shape == (n_cells,):
                msg = (
                    f"standardisation statistics of lengths {[len(s) for s in statistics]}; "
                    f"expected (mean, std, shift) with {n_cells} values each"
                )
                raise ValueError(msg)
            if not torch.all(std > 0):
                msg = "standardisation std must be > 0 for every cell"
                raise ValueError(msg)
        else:
            mean, std, shift = torch.zeros(n_cells), torch.ones(n_cells), torch.zeros(n_cells)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.register_buffer("shift", shift)

    @classmethod
    def fit(cls, cells: np.ndarray | Tensor, epsilon: float = 0.01) -> CellStandardiser:
        """Fit on (N, n_cells) energies >= 0 (MeV); ``epsilon`` is the smallest hit value."""
        x = torch.as_tensor(np.asarray(cells, dtype=np.float64))
        if x.ndim != 2 or not torch.all(torch.isfinite(x)) or torch.any(x < 0):
            msg = f"cells of shape {tuple(x.shape)}; expected (N, n_cells) finite energies >= 0"
            raise ValueError(msg)
        if not epsilon > 0:
            msg = f"epsilon={epsilon!r}; expected a small positive number such as 0.01"
            raise ValueError(msg)
        hit = x > 0
        count = hit.sum(0)
        safe = count.clamp(min=1)
        mean = torch.where(hit, x, 0.0).sum(0) / safe
        var = torch.where(hit, (x - mean) ** 2, 0.0).sum(0) / safe
        std = torch.where(var > 0, var.sqrt(), 1.0)
        z_min = torch.where(hit, (x - mean) / std, torch.inf).min(0).values
        shift = torch.where((count > 0) & (z_min < epsilon), epsilon - z_min, 0.0)
        stats = tuple(tuple(float(f"{v:.9g}") for v in t.tolist()) for t in (mean, std, shift))
        return cls(x.shape[1], stats)

    def to_config(self) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
        """``(mean, std, shift)`` as tuples of floats (JSON-able, for ``DVAEConfig``)."""
        return tuple(tuple(t.tolist()) for t in (self.mean, self.std, self.shift))

    def forward(self, x: Tensor) -> Tensor:
        """(N, n_cells) MeV -> standardised values; hits >= ε (on the fitted data), empty = 0."""
        return torch.where(x > 0, (x - self.mean) / self.std + self.shift, 0.0)

    def inverse(self, y: Tensor) -> Tensor:
        """Standardised values -> (N, n_cells) MeV >= 0; y <= 0 means an empty cell."""
        return torch.where(y > 0, ((y - self.shift) * self.std + self.mean).clamp(min=0.0), 0.0)
