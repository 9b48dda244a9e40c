"""Shower observables on cell images of any segmentation and on point clouds (savae, gaam, supa)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

__all__ = [
    "LABELS",
    "central_share",
    "centroid",
    "interlayer_distance",
    "label",
    "layer_observables",
    "point_layer_observables",
    "point_shower_shapes",
    "shower_shapes",
    "width",
]

# Conventions used by every function here
# - Energies are MeV and must be finite and >= 0 (a ValueError says how many are not; clip
#   model outputs with ``np.clip(x, 0, None)`` first). Coordinates are mm.
# - Outputs are float64 (N,) arrays, one value per shower. A value that is undefined for a shower
#   is NaN, never a silent 0: a centroid of a shower without energy, a savae width with fewer than
#   two non-zero cells (the (M-1)/M factor vanishes), a ratio whose denominator is 0.
#   ``metrics.compare`` drops NaNs and reports how many it dropped.
# - "Non-zero" means E > 0.


class _HasCentres(Protocol):
    """What the functions here need from ``geometry.Segmentation``."""

    def centres(self) -> tuple[np.ndarray, np.ndarray]: ...


# --------------------------------------------------------------------------------------------
# validation


def _validate_energy(x: np.ndarray, name: str) -> None:
    if not np.all((x >= 0) & (x < np.inf)):
        n_negative = int(np.count_nonzero(x < 0))
        n_nonfinite = int(x.size - np.count_nonzero(np.isfinite(x)))
        msg = (
            f"{name} has {n_negative} negative and {n_nonfinite} NaN/inf entries of {x.size}; "
            f"expected finite energies >= 0 MeV, e.g. np.clip({name}, 0, None)"
        )
        raise ValueError(msg)


def _validate_cells(cells: np.ndarray, *centres: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Flatten cells to (N, n_cells) float64 and each centre array to (n_cells,) float64."""
    cells = np.asarray(cells)
    coords = [np.asarray(c, dtype=np.float64) for c in centres]
    shape = coords[0].shape
    n_cells = coords[0].size
    if any(c.shape != shape for c in coords):
        msg = f"centre arrays of shapes {[c.shape for c in coords]}; expected one shape"
        raise ValueError(msg)
    if cells.ndim < 2 or cells.shape[1:] not in (shape, (n_cells,)):
        msg = (
            f"cells of shape {cells.shape} do not match centres of shape {shape}; "
            f"expected (N, *{shape}) or (N, {n_cells})"
        )
        raise ValueError(msg)
    if not all(np.isfinite(c).all() for c in coords):
        msg = f"centres of shape {shape} contain NaN or inf; expected finite mm"
        raise ValueError(msg)
    flat = cells.reshape(len(cells), n_cells).astype(np.float64)
    _validate_energy(flat, "cells")
    return flat, [c.reshape(n_cells) for c in coords]


def _validate_points(
    offsets: np.ndarray, **columns: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Check ragged point columns against offsets; return event index (P,) and float64 columns."""
    offsets = np.asarray(offsets)
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
    shapes = {k: v.shape for k, v in arrays.items()}
    first = next(iter(arrays.values()))
    if first.ndim != 1 or any(v.shape != first.shape for v in arrays.values()):
        msg = f"point columns must be 1-D arrays of one length, got shapes {shapes}"
        raise ValueError(msg)
    if (
        offsets.ndim != 1
        or offsets.size < 1
        or not np.issubdtype(offsets.dtype, np.integer)
        or offsets[0] != 0
        or offsets[-1] != first.size
        or np.any(np.diff(offsets) < 0)
    ):
        msg = (
            f"offsets of shape {offsets.shape} and dtype {offsets.dtype} do not describe "
            f"{first.size} points; expected non-decreasing integers from 0 to {first.size}"
        )
        raise ValueError(msg)
    _validate_energy(arrays["energy"], "energy")
    for k, v in arrays.items():
        if k != "energy" and not np.isfinite(v).all():
            msg = f"point column {k!r} contains NaN or inf; expected finite values"
            raise ValueError(msg)
    index = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    return index, arrays


# --------------------------------------------------------------------------------------------
# energy-weighted moments


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den == 0 (no warning)."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


#: Rows per block when centring cell coordinates; bounds the (rows, n_cells) temporaries.
_BLOCK_ELEMENTS = 1 << 22


def _spread(total: np.ndarray, ss: np.ndarray, m: np.ndarray, bessel: bool) -> np.ndarray:
    """Width from total = sum E, ss = sum E (x - mean)^2 and M = number of non-zero deposits.

    With ``bessel`` the variance is divided by (M-1)/M (savae Eq. 2) and is NaN for M <= 1;
    without, a single deposit has width exactly 0. NaN where total == 0.
    """
    var = _divide(ss, total)
    if bessel:
        var = _divide(var * m, m - 1.0)
        var[m <= 1] = np.nan
    else:
        var[m == 1] = 0.0
    return np.sqrt(var)


def _cell_moments(
    flat: np.ndarray, coords: Sequence[np.ndarray], bessel: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(mean, width) per coordinate for validated (N, n_cells) cells.

    The variance is summed about the mean (two passes), not as <x^2> - <x>^2, which loses
    ~sqrt(eps) |x| (1e-6 mm at 200 mm) to cancellation.
    """
    n, n_cells = flat.shape
    total = flat.sum(axis=1)
    m = np.count_nonzero(flat > 0, axis=1)
    block = max(1, _BLOCK_ELEMENTS // max(n_cells, 1))
    out = []
    for x in coords:
        mean = _divide(flat @ x, total)
        shift = np.nan_to_num(mean)
        ss = np.empty(n)
        for i in range(0, n, block):
            rows = slice(i, i + block)
            ss[rows] = np.einsum("nc,nc->n", flat[rows], (x - shift[rows, None]) ** 2)
        out.append((mean, _spread(total, ss, m, bessel)))
    return out


def _point_moments(
    group: np.ndarray,
    n_groups: int,
    energy: np.ndarray,
    coords: Sequence[np.ndarray],
    bessel: bool,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(mean, width) per coordinate for points grouped by ``group`` (P,) into ``n_groups``."""
    total = np.bincount(group, energy, n_groups)
    m = np.bincount(group, energy > 0, n_groups)
    out = []
    for x in coords:
        mean = _divide(np.bincount(group, energy * x, n_groups), total)
        ss = np.bincount(group, energy * (x - mean[group]) ** 2, n_groups)
        out.append((mean, _spread(total, ss, m, bessel)))
    return out


def centroid(cells: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Energy-weighted mean coordinate per shower, savae Eq. (1) / gaam Eq. (5.1).

    Args:
        cells: (N, n_eta, n_phi) or (N, n_cells) cell energies, MeV, >= 0.
        centres: one coordinate of the cell centres, mm, shaped like one image: (n_eta, n_phi)
            or (n_cells,), e.g. ``segmentation.centres()[0]`` for eta-bar.

    Returns:
        (N,) float64, mm; NaN for a shower with no energy.

    Example:
        >>> centroid(np.array([[1.0, 0.0, 3.0]]), np.array([-10.0, 0.0, 10.0]))
        array([5.])
    """
    flat, x = _validate_cells(cells, centres)
    return _cell_moments(flat, x, bessel=False)[0][0]


def width(cells: np.ndarray, centres: np.ndarray, bessel: bool = True) -> np.ndarray:
    """Energy-weighted shower width per shower along one coordinate.

    With ``bessel=True`` (default) this is savae Eq. (2) / gaam Eq. (5.2),
    sigma = sqrt(sum E (x - xbar)^2 / ((M-1)/M sum E)) with M the number of non-zero cells,
    and NaN where M <= 1. With ``bessel=False`` it is supa's layer lateral width sigma_i,
    sqrt(<x^2> - <x>^2), which is 0 for a single hot cell. Both are NaN without energy.

    Args:
        cells: (N, n_eta, n_phi) or (N, n_cells) cell energies, MeV, >= 0.
        centres: one coordinate of the cell centres, mm, shaped like one image.
        bessel: apply the (M-1)/M factor of savae Eq. (2).

    Returns:
        (N,) float64, mm.

    Example:
        >>> cells = np.array([[1.0, 0.0, 1.0]])
        >>> x = np.array([-3.0, 0.0, 3.0])
        >>> width(cells, x), width(cells, x, bessel=False)
        (array([4.24264069]), array([3.]))
    """
    flat, x = _validate_cells(cells, centres)
    return _cell_moments(flat, x, bessel)[0][1]


def _layer_dict(moments: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    (eta_mean, sigma_eta), (phi_mean, sigma_phi) = moments
    return {
        "eta_mean": eta_mean,
        "phi_mean": phi_mean,
        "sigma_eta": sigma_eta,
        "sigma_phi": sigma_phi,
    }


def layer_observables(
    cells: np.ndarray, segmentation: _HasCentres, bessel: bool = True
) -> dict[str, np.ndarray]:
    """savae Eqs. (1)-(2) on one layer of any segmentation.

    Args:
        cells: (N, n_eta, n_phi) or (N, n_cells) cell energies, MeV, >= 0.
        segmentation: a ``geometry.Segmentation`` (anything with ``centres()`` returning the
            (eta, phi) cell-centre arrays in mm, each (n_eta, n_phi)).
        bessel: apply the (M-1)/M factor of savae Eq. (2) to the widths.

    Returns:
        ``{"eta_mean", "phi_mean", "sigma_eta", "sigma_phi"}``, each (N,) float64 in mm; NaN as
        documented in :func:`centroid` and :func:`width`.
    """
    flat, coords = _validate_cells(cells, *segmentation.centres())
    return _layer_dict(_cell_moments(flat, coords, bessel))


def point_layer_observables(
    eta: np.ndarray,
    phi: np.ndarray,
    energy: np.ndarray,
    offsets: np.ndarray,
    bessel: bool = True,
) -> dict[str, np.ndarray]:
    """savae Eqs. (1)-(2) on point clouds, each point taken as a deposit at (eta, phi).

    M counts the points with E > 0, so the result equals :func:`layer_observables` on cells
    when every point sits at a different cell centre. To restrict to one layer of a
    multi-layer cloud, pass ``energy=np.where(layer == i, E, 0)``: zero-energy points count
    nowhere.

    Args:
        eta, phi: (P,) point coordinates, mm.
        energy: (P,) point energies, MeV, >= 0.
        offsets: (N + 1,) int; the points of shower i are ``offsets[i]:offsets[i+1]``.
        bessel: apply the (M-1)/M factor of savae Eq. (2) to the widths.

    Returns:
        ``{"eta_mean", "phi_mean", "sigma_eta", "sigma_phi"}``, each (N,) float64 in mm.

    Example:
        >>> eta, phi, energy = [-1.0, 1.0, 5.0], [0.0, 0.0, 2.0], [1.0, 1.0, 2.0]
        >>> obs = point_layer_observables(eta, phi, energy, offsets=[0, 2, 3])
        >>> obs["eta_mean"], obs["sigma_eta"]
        (array([0., 5.]), array([1.41421356,        nan]))
    """
    index, col = _validate_points(offsets, eta=eta, phi=phi, energy=energy)
    n = len(offsets) - 1
    return _layer_dict(_point_moments(index, n, col["energy"], [col["eta"], col["phi"]], bessel))


def interlayer_distance(
    obs_inner: dict[str, np.ndarray], obs_middle: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """gaam Eq. (5.3): C_eta = eta-bar_inner - eta-bar_middle, likewise C_phi.

    Args:
        obs_inner, obs_middle: outputs of :func:`layer_observables` (or the point version) for
            the same N showers in the inner and middle layers.

    Returns:
        ``{"C_eta", "C_phi"}``, each (N,) float64, mm.

    Example:
        >>> interlayer_distance({"eta_mean": np.array([1.0]), "phi_mean": np.array([2.0])},
        ...                     {"eta_mean": np.array([0.5]), "phi_mean": np.array([3.0])})
        {'C_eta': array([0.5]), 'C_phi': array([-1.])}
    """
    shapes = {
        k: (np.shape(obs_inner[k]), np.shape(obs_middle[k])) for k in ("eta_mean", "phi_mean")
    }
    if any(a != b for a, b in shapes.values()):
        msg = f"inner and middle observables must cover the same showers, got shapes {shapes}"
        raise ValueError(msg)
    return {
        "C_eta": np.asarray(obs_inner["eta_mean"], np.float64) - obs_middle["eta_mean"],
        "C_phi": np.asarray(obs_inner["phi_mean"], np.float64) - obs_middle["phi_mean"],
    }


def central_share(cells: np.ndarray, segmentation: _HasCentres) -> float:
    """Share of a sample's layer energy in the (up to) four cells nearest the centre (gaam Fig. 10).

    The four cells around the centre of an even grid, the central cell and its nearest
    neighbours of an odd one (every cell tied with the fourth nearest counts).

    Args:
        cells: (N, n_eta, n_phi) or (N, n_cells) cell energies, MeV, >= 0.
        segmentation: the cells' ``geometry.Segmentation``.

    Returns:
        Energy in those cells over all energy, summed over the N showers (NaN without energy).

    Example:
        >>> from calopaper.geometry import Segmentation
        >>> cells = np.zeros((1, 4, 4)); cells[0, 1:3, 1:3] = 1.0; cells[0, 0, 0] = 4.0
        >>> central_share(cells, Segmentation.parse("4x4"))
        0.5
    """
    flat, (eta, phi) = _validate_cells(cells, *segmentation.centres())
    distance = np.hypot(eta, phi)
    near = distance <= np.sort(distance)[min(3, distance.size - 1)] + 1e-9
    total = flat.sum()
    return float(flat[:, near].sum() / total) if total > 0 else float("nan")


# --------------------------------------------------------------------------------------------
# supa section 4 / calodvae Table 1 shower shapes


def _top_cells(flat: np.ndarray, k: int) -> np.ndarray:
    """(N, k) largest cell energies per row, descending (zero-padded for fewer cells)."""
    if flat.shape[1] < k:
        flat = np.pad(flat, ((0, 0), (0, k - flat.shape[1])))
    part = np.partition(flat, flat.shape[1] - k, axis=1)[:, -k:]
    return np.sort(part, axis=1)[:, ::-1]


def _shapes(
    layer_energy: np.ndarray,
    top: np.ndarray,
    brightest: Sequence[int],
    incident_energy: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Everything derived from layer energies (N, L) and the brightest deposits (N, L, k)."""
    n_layers = layer_energy.shape[1]
    layers = range(n_layers)
    depth_index = np.arange(n_layers, dtype=np.float64)
    e_tot = layer_energy.sum(axis=1)
    out = {f"E_{i}": layer_energy[:, i] for i in layers}
    out["E_tot"] = e_tot
    if incident_energy is not None:
        out["E_tot_over_E_inc"] = _divide(e_tot, 1000.0 * incident_energy)
    out |= {f"f_{i}": _divide(layer_energy[:, i], e_tot) for i in layers}
    out |= {
        f"E_ratio_{i}": _divide(top[:, i, 0] - top[:, i, 1], top[:, i, 0] + top[:, i, 1])
        for i in layers
    }
    out |= {
        f"brightest_{k}_{i}": _divide(top[:, i, k - 1], layer_energy[:, i])
        for k in brightest
        for i in layers
    }
    hit = layer_energy > 0
    depth = n_layers - 1 - np.argmax(hit[:, ::-1], axis=1)
    out["depth"] = np.where(hit.any(axis=1), depth, np.nan)
    out["l_d"] = layer_energy @ depth_index
    out["s_d"] = _divide(out["l_d"], e_tot)
    spread = layer_energy * (depth_index - out["s_d"][:, None]) ** 2
    out["sigma_sd"] = np.sqrt(_divide(spread.sum(axis=1), e_tot))
    return out


def _validate_shapes_args(
    n: int, brightest: Sequence[int], incident_energy: np.ndarray | None
) -> np.ndarray | None:
    if any(int(k) != k or k < 1 for k in brightest):
        msg = f"brightest={tuple(brightest)!r}; expected positive integers k (k-th brightest cell)"
        raise ValueError(msg)
    if incident_energy is None:
        return None
    e_inc = np.asarray(incident_energy, dtype=np.float64)
    if e_inc.size != n:
        msg = f"incident_energy of shape {e_inc.shape} does not match {n} showers; expected ({n},)"
        raise ValueError(msg)
    return e_inc.reshape(n)


def shower_shapes(
    layers: Sequence[np.ndarray],
    *,
    segmentations: Sequence[_HasCentres] | None = None,
    incident_energy: np.ndarray | None = None,
    brightest: Sequence[int] = (1, 2),
) -> dict[str, np.ndarray]:
    """The shower-shape variables of supa section 4 and calodvae Table 1 on cell images.

    Layers are numbered 0, 1, ... in the order given (the "depth" unit of s_d). Keys, each an
    (N,) float64 array (units in :data:`LABELS`):

    - ``E_i`` layer energy, ``E_tot`` = sum_i E_i (MeV); ``E_tot_over_E_inc`` = E_tot /
      (1000 E_inc) if ``incident_energy`` (GeV) is given.
    - ``f_i`` = E_i / E_tot.
    - ``E_ratio_i`` = (E_[1] - E_[2]) / (E_[1] + E_[2]) of the brightest and second brightest
      cell (1 for a single hot cell).
    - ``brightest_{k}_{i}`` = E_[k] / E_i for each k in ``brightest`` (0 if fewer than k cells).
    - ``depth`` d = deepest layer with E_i > 0; ``l_d`` = sum_i i E_i (MeV);
      ``s_d`` = l_d / E_tot; ``sigma_sd`` = sqrt(sum_i E_i (i - s_d)^2 / E_tot) (layers).
    - ``sparsity_i``: fraction of the layer's cells with E > 0 (supa / calodvae's "layer
      sparsity"; CaloChallenge's ``sparsity`` is one minus this).
    - with ``segmentations``: ``eta_mean_i``, ``phi_mean_i`` (supa's layer centroids) and
      ``width_eta_i``, ``width_phi_i``: supa's lateral width sigma_i = sqrt(<x^2> - <x>^2)
      *without* savae's (M-1)/M factor (see :func:`width`), in mm.

    Ratios with a zero denominator are NaN (e.g. ``f_i`` of an empty shower, ``E_ratio_i`` of an
    empty layer); ``depth`` is NaN for an empty shower.

    Args:
        layers: per layer (N, n_eta, n_phi) or (N, n_cells) cell energies, MeV, >= 0.
        segmentations: per layer, a ``geometry.Segmentation`` matching the layer's cells.
        incident_energy: (N,) GeV.
        brightest: the k of the k-th brightest cell fractions.

    Returns:
        A flat dict of (N,) float64 arrays, keys in the order listed above.

    Example:
        >>> inner = np.array([[[0.0, 1.0], [3.0, 0.0]]])
        >>> middle = np.array([[[4.0, 4.0], [0.0, 0.0]]])
        >>> s = shower_shapes([inner, middle])
        >>> [float(s[k][0]) for k in ("E_tot", "s_d", "E_ratio_0", "sparsity_1")]
        [12.0, 0.6666666666666666, 0.5, 0.5]
    """
    arrays = [np.asarray(x) for x in layers]
    if not arrays or any(a.ndim < 2 or len(a) != len(arrays[0]) for a in arrays):
        msg = f"layers of shapes {[a.shape for a in arrays]}; expected (N, ...) arrays with one N"
        raise ValueError(msg)
    n = len(arrays[0])
    e_inc = _validate_shapes_args(n, brightest, incident_energy)
    if segmentations is not None and len(segmentations) != len(layers):
        msg = f"{len(segmentations)} segmentations for {len(layers)} layers; expected one per layer"
        raise ValueError(msg)
    flats = [a.reshape(n, -1).astype(np.float64) for a in arrays]
    for i, f in enumerate(flats):
        _validate_energy(f, f"layers[{i}]")
    k = max([2, *brightest])
    top = np.stack([_top_cells(f, k) for f in flats], axis=1)
    layer_energy = np.stack([f.sum(axis=1) for f in flats], axis=1)
    out = _shapes(layer_energy, top, brightest, e_inc)
    out |= {
        f"sparsity_{i}": np.count_nonzero(f > 0, axis=1) / f.shape[1] for i, f in enumerate(flats)
    }
    if segmentations is not None:
        for i, (cells, seg) in enumerate(zip(layers, segmentations, strict=True)):
            obs = layer_observables(cells, seg, bessel=False)
            out[f"eta_mean_{i}"] = obs["eta_mean"]
            out[f"phi_mean_{i}"] = obs["phi_mean"]
            out[f"width_eta_{i}"] = obs["sigma_eta"]
            out[f"width_phi_{i}"] = obs["sigma_phi"]
    return out


def point_shower_shapes(
    eta: np.ndarray,
    phi: np.ndarray,
    layer: np.ndarray,
    energy: np.ndarray,
    offsets: np.ndarray,
    *,
    n_layers: int,
    incident_energy: np.ndarray | None = None,
    brightest: Sequence[int] = (1, 2),
) -> dict[str, np.ndarray]:
    """:func:`shower_shapes` on point clouds (supa's point-cloud generalisation).

    Points play the role of cells: ``E_ratio_i`` and ``brightest_{k}_{i}`` use the brightest
    points of layer i. ``sparsity_i`` is not defined for points (supa section 4) and is absent;
    ``eta_mean_i``, ``phi_mean_i``, ``width_eta_i``, ``width_phi_i`` are always present.

    Args:
        eta, phi: (P,) point coordinates, mm.
        layer: (P,) integer-valued layer index in [0, n_layers) (column 2 of SUPA points).
        energy: (P,) MeV, >= 0.
        offsets: (N + 1,) int; the points of shower i are ``offsets[i]:offsets[i+1]``.
        n_layers: number of layers; fixes the keys even if a sample leaves a layer empty.
        incident_energy: (N,) GeV.
        brightest: the k of the k-th brightest point fractions.

    Returns:
        A flat dict of (N,) float64 arrays (see :func:`shower_shapes`).

    Example:
        >>> s = point_shower_shapes([0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0, 0, 1], [1.0, 3.0, 4.0],
        ...                         [0, 3], n_layers=2)
        >>> float(s["f_1"][0]), float(s["E_ratio_0"][0]), float(s["eta_mean_0"][0])
        (0.5, 0.5, 1.5)
    """
    index, col = _validate_points(offsets, eta=eta, phi=phi, layer=layer, energy=energy)
    layer_index = col["layer"].astype(np.int64)
    if np.any(layer_index != col["layer"]) or np.any((layer_index < 0) | (layer_index >= n_layers)):
        found = np.unique(col["layer"])[:10]
        msg = f"layer values {found} (first 10 distinct); expected integers in [0, {n_layers})"
        raise ValueError(msg)
    n = len(offsets) - 1
    e_inc = _validate_shapes_args(n, brightest, incident_energy)
    e = col["energy"]
    group = index * n_layers + layer_index
    n_groups = n * n_layers
    # rank points by energy within each (shower, layer) group, brightest first
    order = np.lexsort((-e, group))
    counts = np.bincount(group, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(e)) - starts[group[order]]
    k = max([2, *brightest])
    keep = rank < k
    top = np.zeros((n_groups, k))
    top[group[order][keep], rank[keep]] = e[order][keep]
    layer_energy = np.bincount(group, e, n_groups).reshape(n, n_layers)
    out = _shapes(layer_energy, top.reshape(n, n_layers, k), brightest, e_inc)
    moments = _point_moments(group, n_groups, e, [col["eta"], col["phi"]], bessel=False)
    (eta_mean, width_eta), (phi_mean, width_phi) = (
        (m.reshape(n, n_layers), w.reshape(n, n_layers)) for m, w in moments
    )
    for i in range(n_layers):
        out[f"eta_mean_{i}"] = eta_mean[:, i]
        out[f"phi_mean_{i}"] = phi_mean[:, i]
        out[f"width_eta_{i}"] = width_eta[:, i]
        out[f"width_phi_{i}"] = width_phi[:, i]
    return out


# --------------------------------------------------------------------------------------------
# axis labels

_FIXED_LABELS = {
    "eta_mean": r"$\bar\eta$ [mm]",
    "phi_mean": r"$\bar\phi$ [mm]",
    "sigma_eta": r"$\sigma_\eta$ [mm]",
    "sigma_phi": r"$\sigma_\phi$ [mm]",
    "C_eta": r"$C_\eta$ [mm]",
    "C_phi": r"$C_\phi$ [mm]",
    "E_tot": r"$E_\mathrm{tot}$ [MeV]",
    "E_tot_over_E_inc": r"$E_\mathrm{tot}/E_\mathrm{inc}$",
    "depth": r"depth $d$ [layer]",
    "l_d": r"$l_d$ [MeV]",
    "s_d": r"$s_d$ [layer]",
    "sigma_sd": r"$\sigma_{s_d}$ [layer]",
}

_LAYER_LABELS = {
    r"E_(\d+)": r"$E_{{{i}}}$ [MeV]",
    r"f_(\d+)": r"$f_{{{i}}}$",
    r"E_ratio_(\d+)": r"$E_{{\mathrm{{ratio}},{i}}}$",
    r"sparsity_(\d+)": r"sparsity, layer {i}",
    r"eta_mean_(\d+)": r"$\langle\eta_{{{i}}}\rangle$ [mm]",
    r"phi_mean_(\d+)": r"$\langle\phi_{{{i}}}\rangle$ [mm]",
    r"width_eta_(\d+)": r"$\sigma_{{\eta,{i}}}$ [mm]",
    r"width_phi_(\d+)": r"$\sigma_{{\phi,{i}}}$ [mm]",
}


def label(key: str) -> str:
    """LaTeX axis label with unit for an observable key of this module.

    Example:
        >>> label("E_1"), label("brightest_2_0")
        ('$E_{1}$ [MeV]', '$E_{[2]}/E_{0}$')
    """
    if key in _FIXED_LABELS:
        return _FIXED_LABELS[key]
    for pattern, template in _LAYER_LABELS.items():
        if match := re.fullmatch(pattern, key):
            return template.format(i=match[1])
    if match := re.fullmatch(r"brightest_(\d+)_(\d+)", key):
        return rf"$E_{{[{match[1]}]}}/E_{{{match[2]}}}$"
    msg = (
        f"unknown observable key {key!r}; expected one of {sorted(_FIXED_LABELS)} "
        "or a per-layer key like 'E_0', 'brightest_1_0'"
    )
    raise ValueError(msg)


class _Labels(dict):
    """A dict of labels that also answers any valid key it does not list (via :func:`label`)."""

    def __missing__(self, key: str) -> str:
        try:
            return label(key)
        except ValueError as error:
            raise KeyError(key) from error


#: LaTeX axis labels with units for every key of this module, listed for three layers and the
#: default ``brightest=(1, 2)``; other valid keys (more layers, other k) are answered on lookup.
LABELS: dict[str, str] = _Labels(
    {key: label(key) for key in _FIXED_LABELS}
    | {
        key.format(i=i): label(key.format(i=i))
        for i in range(3)
        for key in (
            "E_{i}",
            "f_{i}",
            "E_ratio_{i}",
            "brightest_1_{i}",
            "brightest_2_{i}",
            "sparsity_{i}",
            "eta_mean_{i}",
            "phi_mean_{i}",
            "width_eta_{i}",
            "width_phi_{i}",
        )
    }
)
