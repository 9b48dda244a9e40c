"""Splitting showers into training, validation and test parts, and the training sets built on a
split."""

from __future__ import annotations

import numpy as np

__all__ = ["SplitShowers", "split"]


def split(
    n: int, fractions: tuple[float, ...] = (0.7, 0.1, 0.2), seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Disjoint random index sets covering ``range(n)``, e.g. train/validation/test.

    Sizes are ``round(cumsum(fractions) * n)`` differences, so they add up to ``n``; each index
    array is sorted (h5py fancy indexing needs increasing indices).

    Args:
        n: number of items.
        fractions: non-negative, summing to 1 (within 1e-9).
        seed: seed of the shuffling; the same seed gives the same split.

    Returns:
        One int64 index array per fraction.

    Raises:
        ValueError: negative ``n``, or fractions that are negative, NaN or do not sum to 1.

    Example:
        >>> [len(s) for s in split(10)]
        [7, 1, 2]
        >>> np.sort(np.concatenate(split(10, (0.5, 0.5), seed=3))).tolist() == list(range(10))
        True
    """
    _validate_split(n, fractions)
    edges = np.rint(np.cumsum(fractions) * n).astype(np.int64)
    edges[-1] = n
    order = np.random.default_rng(seed).permutation(n)
    return tuple(np.sort(part) for part in np.split(order, edges[:-1]))


def _validate_split(n: int, fractions: tuple[float, ...]) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        msg = f"split size n = {n!r}; expected a non-negative integer"
        raise ValueError(msg)
    values = np.asarray(fractions, dtype=np.float64)
    if (
        values.ndim != 1
        or len(values) == 0
        or not np.all(np.isfinite(values))
        or np.any(values < 0)
        or abs(values.sum() - 1.0) > 1e-9
    ):
        msg = (
            f"split fractions {tuple(fractions)!r} (sum {float(values.sum())!r}); "
            "expected one or more non-negative numbers summing to 1"
        )
        raise ValueError(msg)


class SplitShowers:
    """Base of a training set: showers split into named parts.

    A subclass provides ``cells`` ((N, C) float32 MeV), ``incident_energy`` ((N,) GeV) and
    ``parts`` (name, e.g. "train", "val", "test" -> sorted shower indices).
    """

    cells: np.ndarray
    incident_energy: np.ndarray
    parts: dict[str, np.ndarray]

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(cells [MeV], energies [GeV]) of one part.

        Raises:
            ValueError: a part the split does not have.
        """
        if name not in self.parts:
            msg = f"unknown part {name!r}; expected one of {tuple(self.parts)}"
            raise ValueError(msg)
        index = self.parts[name]
        return self.cells[index], self.incident_energy[index]

    def tensors(self, name: str):
        """``part(name)`` as torch tensors: cells as they are, energies as float32."""
        import torch

        cells, energy = self.part(name)
        return torch.from_numpy(cells), torch.from_numpy(np.asarray(energy, np.float32))
