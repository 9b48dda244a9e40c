"""Calorimeter layer segmentations, cell geometry, spiral order and point-to-cell rebinning."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CALOGAN",
    "GAAM_EXTRAP",
    "GAAM_INNER",
    "GAAM_INTERP",
    "GAAM_MIDDLE",
    "GAAM_OUTER",
    "SAVAE_INTERP",
    "SAVAE_TRAIN",
    "Segmentation",
    "rebin",
]

_DEFAULT_RANGE = (-240.0, 240.0)
_ACCEPTED = "'48x48', '(48,48)', '48,48', '36x48*' or '9x12*'"
# "(48, 48)", "48x48", "48,48", each optionally followed by "*"; parentheses must pair up.
_NOTATION = re.compile(r"^(\()?\s*(\d+)\s*[x,]\s*(\d+)\s*(?(1)\))\s*(\*?)$")
# Steps of the spiral in (row, column) = (eta index, phi index): down, right, up, left.
_SPIRAL_DIRECTIONS = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])


def _validate_count(axis: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        msg = f"n_{axis} must be a positive integer, got {n!r}"
        raise ValueError(msg)
    return int(n)


def _validate_range(axis: str, value: tuple[float, float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        msg = f"{axis}_range must be two finite numbers lo < hi in mm, got {value!r}"
        raise ValueError(msg)
    return lo, hi


def _validate_edges(axis: str, edges: object) -> tuple[float, ...]:
    try:
        values = np.asarray(edges, dtype=np.float64)
    except (TypeError, ValueError):
        values = np.zeros(0)
    if values.ndim != 1 or len(values) < 2:
        msg = f"{axis}_edges must be a flat sequence of at least 2 edges in mm, got {edges!r}"
        raise ValueError(msg)
    if not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
        msg = f"{axis}_edges must be finite and strictly increasing, got {tuple(values.tolist())!r}"
        raise ValueError(msg)
    return tuple(values.tolist())


@dataclass(frozen=True, repr=False)
class Segmentation:
    """A rectangular grid of cells over one calorimeter layer, with arbitrary per-axis edges.

    Cells are indexed ``[i, j]`` with row ``i`` along eta and column ``j`` along phi; flat cell
    indices are row-major (``i * n_phi + j``). Cell ``[i, j]`` covers the half-open box
    ``eta_edges[i] <= eta < eta_edges[i + 1]``, ``phi_edges[j] <= phi < phi_edges[j + 1]``.

    Attributes:
        eta_edges: (n_eta + 1,) cell edges along eta in mm, strictly increasing.
        phi_edges: (n_phi + 1,) cell edges along phi in mm, strictly increasing.
        name: the papers' notation ("48x48", "36x48*"), or "" for a custom grid.
    """

    eta_edges: tuple[float, ...]
    phi_edges: tuple[float, ...]
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "eta_edges", _validate_edges("eta", self.eta_edges))
        object.__setattr__(self, "phi_edges", _validate_edges("phi", self.phi_edges))
        object.__setattr__(self, "name", str(self.name))

    @classmethod
    def uniform(
        cls,
        n_eta: int,
        n_phi: int,
        eta_range: tuple[float, float] = _DEFAULT_RANGE,
        phi_range: tuple[float, float] = _DEFAULT_RANGE,
        name: str | None = None,
    ) -> Segmentation:
        """Equal-width cells: ``n_eta`` over ``eta_range`` and ``n_phi`` over ``phi_range`` (mm).

        ``name`` defaults to ``f"{n_eta}x{n_phi}"``.

        Example:
            >>> seg = Segmentation.uniform(12, 6)
            >>> seg.shape, seg.extent, str(seg)
            ((12, 6), (-240.0, 240.0, -240.0, 240.0), '12x6')
        """
        n_eta, n_phi = _validate_count("eta", n_eta), _validate_count("phi", n_phi)
        eta_lo, eta_hi = _validate_range("eta", eta_range)
        phi_lo, phi_hi = _validate_range("phi", phi_range)
        return cls(
            tuple(np.linspace(eta_lo, eta_hi, n_eta + 1).tolist()),
            tuple(np.linspace(phi_lo, phi_hi, n_phi + 1).tolist()),
            f"{n_eta}x{n_phi}" if name is None else name,
        )

    @classmethod
    def parse(
        cls,
        text: Segmentation | str,
        eta_range: tuple[float, float] = _DEFAULT_RANGE,
        phi_range: tuple[float, float] = _DEFAULT_RANGE,
    ) -> Segmentation:
        """Build a segmentation from the papers' ``(n_eta, n_phi)`` notation (a ``Segmentation``
        comes back unchanged).

        Uniform grids are written "48x48", "(48,48)", "(48, 48)" or "48,48". The two non-uniform
        grids of gaam §3 carry a "*": "36x48*" splits the eta range at its midpoint into 24 cells
        below and 12 cells above (10 mm and 20 mm over ±240 mm); "9x12*" has six eta cells of the
        largest training size (range/12, i.e. 40 mm as in 12x12) followed by three twice as large
        (80 mm). Both are uniform in phi.

        Raises:
            ValueError: naming ``text`` if it is not one of these forms or has a zero count, or
                naming the range if a range is not finite and increasing.

        Example:
            >>> seg = Segmentation.parse("(36, 48)*")
            >>> str(seg), seg.shape
            ('36x48*', (36, 48))
            >>> [seg.eta_edges[k] for k in (0, 24, 36)]
            [-240.0, 0.0, 240.0]
        """
        if isinstance(text, Segmentation):
            return text
        match = _NOTATION.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            msg = f"unknown segmentation {text!r}; expected e.g. {_ACCEPTED}"
            raise ValueError(msg)
        n_eta, n_phi, star = int(match[2]), int(match[3]), match[4]
        name = f"{n_eta}x{n_phi}{star}"
        try:
            n_eta, n_phi = _validate_count("eta", n_eta), _validate_count("phi", n_phi)
            eta_lo, eta_hi = _validate_range("eta", eta_range)
            phi_lo, phi_hi = _validate_range("phi", phi_range)
        except ValueError as err:
            msg = f"cannot build segmentation {text!r}: {err}"
            raise ValueError(msg) from None
        if not star:
            return cls.uniform(n_eta, n_phi, eta_range, phi_range, name=name)
        if (n_eta, n_phi) == (36, 48):
            mid = 0.5 * (eta_lo + eta_hi)
            eta = np.concatenate([np.linspace(eta_lo, mid, 25), np.linspace(mid, eta_hi, 13)[1:]])
        elif (n_eta, n_phi) == (9, 12):
            width = (eta_hi - eta_lo) / 12
            eta = eta_lo + width * np.array([0, 1, 2, 3, 4, 5, 6, 8, 10, 12], dtype=np.float64)
            eta[-1] = eta_hi
        else:
            msg = (
                f"unknown non-uniform segmentation {text!r}; "
                "the papers define only '36x48*' and '9x12*'"
            )
            raise ValueError(msg)
        phi = np.linspace(phi_lo, phi_hi, n_phi + 1)
        return cls(tuple(eta.tolist()), tuple(phi.tolist()), name)

    @classmethod
    def from_json(cls, text: str | bytes) -> Segmentation:
        """Inverse of :meth:`to_json`; ``text`` as stored in an HDF5 attribute.

        Example:
            >>> seg = Segmentation.parse("9x12*")
            >>> Segmentation.from_json(seg.to_json()) == seg
            True
        """
        if isinstance(text, bytes):
            text = text.decode()
        try:
            data = json.loads(text)
            return cls(tuple(data["eta_edges"]), tuple(data["phi_edges"]), data.get("name", ""))
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as err:
            msg = (
                f"not a Segmentation JSON: {text[:200]!r} ({err!r}); expected an object with "
                "'eta_edges', 'phi_edges' and 'name'"
            )
            raise ValueError(msg) from None

    def to_json(self) -> str:
        """The segmentation as a JSON object string (edges in mm and the name); exact round trip."""
        edges = {"eta_edges": list(self.eta_edges), "phi_edges": list(self.phi_edges)}
        return json.dumps({**edges, "name": self.name})

    def __str__(self) -> str:
        n_eta, n_phi = self.shape
        return self.name or f"custom({n_eta}x{n_phi})"

    @property
    def notation(self) -> str:
        """The papers' typography: ``"(36,48)*"`` for ``"36x48*"``, ``"(48,48)"`` for ``"48x48"``.

        Example:
            >>> Segmentation.parse("36x48*").notation
            '(36,48)*'
        """
        text = str(self)
        if not self.name:
            return text
        star = "*" if text.endswith("*") else ""
        return "(" + text.rstrip("*").replace("x", ",") + ")" + star

    def __repr__(self) -> str:
        return f"Segmentation({str(self)!r}, shape={self.shape}, extent={self.extent})"

    @property
    def shape(self) -> tuple[int, int]:
        """(n_eta, n_phi), the number of cells per axis."""
        return len(self.eta_edges) - 1, len(self.phi_edges) - 1

    @property
    def n_cells(self) -> int:
        """n_eta * n_phi."""
        n_eta, n_phi = self.shape
        return n_eta * n_phi

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(eta_lo, eta_hi, phi_lo, phi_hi) in mm, the outer edges of the layer."""
        return self.eta_edges[0], self.eta_edges[-1], self.phi_edges[0], self.phi_edges[-1]

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates ``(eta, phi)``, each (n_eta, n_phi) float64 in mm.

        Example:
            >>> eta, phi = Segmentation.uniform(2, 3, phi_range=(0.0, 30.0)).centres()
            >>> eta[:, 0].tolist(), phi[0].tolist()
            ([-120.0, 120.0], [5.0, 15.0, 25.0])
        """
        eta, phi = np.asarray(self.eta_edges), np.asarray(self.phi_edges)
        return np.meshgrid(0.5 * (eta[1:] + eta[:-1]), 0.5 * (phi[1:] + phi[:-1]), indexing="ij")

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """GAAM's per-cell sizes ``(d_eta, d_phi)``, each (n_eta, n_phi) float64 in mm (gaam §4.1).

        Example:
            >>> d_eta, d_phi = Segmentation.parse("9x12*").sizes()
            >>> d_eta[:, 0].tolist(), float(d_phi[0, 0])
            ([40.0, 40.0, 40.0, 40.0, 40.0, 40.0, 80.0, 80.0, 80.0], 40.0)
        """
        return np.meshgrid(np.diff(self.eta_edges), np.diff(self.phi_edges), indexing="ij")

    def conditioning_vector(self) -> np.ndarray:
        """SAVAE's geometry condition [eta-, eta+, phi-, phi+] (savae §IV), (4,) int64.

        eta- (eta+) is the number of cells per row whose centre lies at eta < 0 (> 0); likewise
        for phi. A cell centred exactly on 0 (odd uniform grids) counts on neither side.

        Example:
            >>> Segmentation.parse("48x48").conditioning_vector()
            array([24, 24, 24, 24])
            >>> Segmentation.parse("36x48*").conditioning_vector()
            array([24, 12, 24, 24])
        """
        eta, phi = (np.asarray(edges[:-1]) + np.diff(edges) / 2 for edges in self._edges())
        return np.array([(eta < 0).sum(), (eta > 0).sum(), (phi < 0).sum(), (phi > 0).sum()])

    def summary(self) -> dict[str, object]:
        """One table row: notation, number of cells, the cell sizes and SAVAE's condition.

        Example:
            >>> Segmentation.parse("36x48*").summary()  # doctest: +NORMALIZE_WHITESPACE
            {'segmentation': '(36,48)*', 'cells': 1728, 'Δη [mm]': '10 / 20', 'Δφ [mm]': '10',
             '[η−, η+, φ−, φ+]': '[24, 12, 24, 24]'}
        """
        d_eta, d_phi = (np.unique(np.diff(edges)) for edges in self._edges())
        return {
            "segmentation": self.notation,
            "cells": self.n_cells,
            "Δη [mm]": " / ".join(f"{v:g}" for v in d_eta),
            "Δφ [mm]": " / ".join(f"{v:g}" for v in d_phi),
            "[η−, η+, φ−, φ+]": str(self.conditioning_vector().tolist()),
        }

    def spiral_order(self) -> np.ndarray:
        """Flat row-major cell indices in GAAM's spiral order (gaam §4.3, App. A), (n_cells,) int64.

        Convention (index space, shown as ``imshow(cells)``: row = eta index growing downwards,
        column = phi index growing to the right):

        - Start: the cell whose half-open interval ``(lo, hi]`` contains the shower centre
          coordinate 0 on each axis, clipped to the grid. For a uniform grid symmetric about 0
          this is the central cell ``((n_eta - 1) // 2, (n_phi - 1) // 2)``: the middle cell for
          odd sizes and the top-left (smallest row and column) of the four central cells for
          even sizes. For non-uniform grids the spiral runs over cell indices, not mm: 36x48*
          starts at ``(23, 23)``, the last 10 mm eta cell below 0; 9x12* at ``(5, 5)``.
        - Counter-clockwise in this display: legs go down (+row), right (+column), up (-row),
          left (-column) with lengths 1, 1, 2, 2, 3, 3, ..., so each completed turn covers a
          square around the start and consecutive cells share an edge. (Drawn with eta along x
          and phi along y, ``imshow(cells.T, origin="lower")``, the path is a rotation of this one
          and still counter-clockwise.)
        - Non-square grids: the path is the same as for the central square until it reaches the
          boundary in one dimension; afterwards it keeps the spiral's sequence of legs but skips
          the cells outside the grid, so it covers whole peripheral lines alternately on one side
          and the other (rows above and below for n_eta > n_phi; columns left and right
          otherwise), each traversed in the spiral's counter-clockwise sense.

        Example:
            >>> Segmentation.uniform(3, 3).spiral_order().tolist()
            [4, 7, 8, 5, 2, 1, 0, 3, 6]
            >>> Segmentation.uniform(2, 2).spiral_order().tolist()
            [0, 2, 3, 1]
        """
        shape = np.array(self.shape)
        start = [
            int(np.clip(np.searchsorted(edges, 0.0, side="left") - 1, 0, n - 1))
            for edges, n in zip(self._edges(), shape, strict=True)
        ]
        # Enough legs for the covered square to reach every grid edge from any start cell.
        n_turns = 2 * int(shape.max()) + 2
        lengths = np.repeat(np.arange(1, n_turns + 1), 2)
        steps = np.repeat(_SPIRAL_DIRECTIONS[np.arange(len(lengths)) % 4], lengths, axis=0)
        path = np.concatenate([[start], start + np.cumsum(steps, axis=0)])
        path = path[np.all((path >= 0) & (path < shape), axis=1)]
        return (path[:, 0] * shape[1] + path[:, 1]).astype(np.int64)

    def _edges(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.eta_edges, self.phi_edges


def _validate_points(
    eta: np.ndarray, phi: np.ndarray, energy: np.ndarray, offsets: np.ndarray
) -> None:
    if not (eta.ndim == phi.ndim == energy.ndim == 1 and len(eta) == len(phi) == len(energy)):
        msg = (
            "eta, phi and energy must be 1-d arrays of equal length, got shapes "
            f"{eta.shape}, {phi.shape}, {energy.shape}"
        )
        raise ValueError(msg)
    for label, values in (("eta", eta), ("phi", phi)):
        bad = np.flatnonzero(np.isnan(values))
        if len(bad):
            msg = f"{label} is NaN at {len(bad)} points (first at index {bad[0]}); expected numbers"
            raise ValueError(msg)
    bad = np.flatnonzero(~np.isfinite(energy))
    if len(bad):
        msg = (
            f"energy is not finite at {len(bad)} points (first at index {bad[0]}: {energy[bad[0]]})"
        )
        raise ValueError(msg)
    if (
        offsets.ndim != 1
        or len(offsets) == 0
        or offsets[0] != 0
        or offsets[-1] != len(eta)
        or np.any(np.diff(offsets) < 0)
    ):
        msg = (
            f"offsets must be non-decreasing integers from 0 to {len(eta)} (the number of points), "
            f"got {offsets!r}"
        )
        raise ValueError(msg)


def rebin(
    eta: np.ndarray,
    phi: np.ndarray,
    energy: np.ndarray,
    offsets: np.ndarray,
    segmentation: Segmentation | str,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum point energies into the cells of ``segmentation``, per shower.

    Cells are half-open, ``[lo, hi)`` on each axis: a point exactly on an inner edge goes to the
    upper cell, and one on the upper outer edge of the layer is outside. Points outside the grid
    (including at +-inf) are summed into ``overflow``, so no energy is dropped:
    ``cells.sum((1, 2)) + overflow`` equals each shower's point-energy sum up to float64 rounding.

    Args:
        eta: (P,) point eta coordinates, mm.
        phi: (P,) point phi coordinates, mm.
        energy: (P,) point energies, MeV.
        offsets: (N + 1,) int; shower ``k`` holds points ``offsets[k]:offsets[k + 1]``
            (repeated values are empty showers).
        segmentation: a :class:`Segmentation` or its notation, e.g. "36x48*".

    Returns:
        cells: (N, n_eta, n_phi) float64, MeV.
        overflow: (N,) float64, MeV, the energy of each shower's points outside the grid.

    Raises:
        ValueError: on NaN coordinates, non-finite energies, mismatched lengths or bad offsets.

    Example:
        >>> cells, overflow = rebin(
        ...     eta=np.array([-100.0, 100.0, 100.0, 0.0, 300.0]),
        ...     phi=np.array([50.0, 50.0, -50.0, 0.0, 0.0]),
        ...     energy=np.array([1.0, 2.0, 4.0, 8.0, 16.0]),
        ...     offsets=np.array([0, 3, 3, 5]),
        ...     segmentation="2x2",
        ... )
        >>> cells.tolist()
        [[[0.0, 1.0], [4.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 8.0]]]
        >>> overflow.tolist()
        [0.0, 0.0, 16.0]
    """
    seg = Segmentation.parse(segmentation)
    eta, phi, energy = np.asarray(eta), np.asarray(phi), np.asarray(energy)
    offsets = np.asarray(offsets)
    if offsets.dtype.kind not in "iu":
        msg = f"offsets must be integers, got dtype {offsets.dtype} ({offsets!r})"
        raise ValueError(msg)
    _validate_points(eta, phi, energy, offsets)
    (n_eta, n_phi), n_cells, n_showers = seg.shape, seg.n_cells, len(offsets) - 1
    row = np.searchsorted(np.asarray(seg.eta_edges), eta, side="right") - 1
    col = np.searchsorted(np.asarray(seg.phi_edges), phi, side="right") - 1
    # Unsigned view turns index -1 (below the first edge) into a huge number: one test per axis.
    inside = (row.view(np.uintp) < n_eta) & (col.view(np.uintp) < n_phi)
    shower = np.repeat(np.arange(n_showers), np.diff(offsets))
    # Cells of all showers first, then one overflow bin per shower, so both are views.
    flat = np.where(inside, shower * n_cells + row * n_phi + col, n_showers * n_cells + shower)
    sums = np.bincount(
        flat, weights=energy.astype(np.float64, copy=False), minlength=n_showers * (n_cells + 1)
    )
    return sums[: n_showers * n_cells].reshape(n_showers, n_eta, n_phi), sums[n_showers * n_cells :]


#: savae Table I training geometries (middle layer); also gaam Table 1's middle layer.
SAVAE_TRAIN = ["12x12", "48x24", "48x48", "36x48*"]
#: savae Table I / gaam Table 2 interpolation geometries (middle layer).
SAVAE_INTERP = ["24x24", "24x12"]
#: gaam Table 1, inner layer.
GAAM_INNER = ["48x4", "48x12", "48x24", "48x48", "192x4", "192x12", "192x24", "192x48"]
#: gaam Table 1, middle layer.
GAAM_MIDDLE = list(SAVAE_TRAIN)
#: gaam Table 1, outer layer.
GAAM_OUTER = ["24x24"]
#: gaam Table 2, interpolation (middle layer).
GAAM_INTERP = list(SAVAE_INTERP)
#: gaam Table 2, extrapolation (middle layer).
GAAM_EXTRAP = ["96x24", "6x6", "9x12*"]
#: The CaloGAN layers (480 x 480 mm each), by layer index: (3, 96), (12, 12), (12, 6).
CALOGAN = {
    0: Segmentation.uniform(3, 96),
    1: Segmentation.uniform(12, 12),
    2: Segmentation.uniform(12, 6),
}
