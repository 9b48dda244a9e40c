"""Cell grids at 1x, 2x and 3x resolution for simulated showers (supa §5.2), and downsampling.

The 1x grid of a simulator preset is the readout the preset was made for: the CaloGAN cells
(``geometry.CALOGAN``, 480 x 480 mm) for SUPA's ``calogan`` and ``gaam`` presets and for the
reference simulator's ``calogan`` calorimeter, the reference code's regions of interest
(``sim.supa.reference_grids``) for SUPA's other presets (``paper``, ``head``, ...), and each
layer's own cells for the reference simulator's ``ild``. A scale s splits every cell into
s x s equal cells, i.e. the edges ``linspace(lo, hi, (n - 1) s + 1)`` of an axis with n edges
at 1x, as in the reference code; at any scale the cells of grid s nest in those of grid 1, so
summing s x s blocks (:func:`downsample`) gives exactly the 1x binning of the same points.
"""

from __future__ import annotations

import numpy as np

from calopaper import geometry
from calopaper.geometry import Segmentation
from calopaper.showers import PointClouds

__all__ = ["RESOLUTIONS", "bin_layers", "downsample", "layer_grids", "parse_resolution", "refine"]

#: The resolutions of supa Table 2 by name.
RESOLUTIONS = {"1x": 1, "2x": 2, "3x": 3}

#: SUPA presets made for the CaloGAN cells; the others use the reference code's regions.
_CALOGAN_PRESETS = ("calogan", "gaam")


def parse_resolution(text: str | int) -> int:
    """The scale of a resolution name: "1x" -> 1, "2x" -> 2, "3x" -> 3 (ints pass through).

    Example:
        >>> parse_resolution("2x"), parse_resolution(3)
        (2, 3)
    """
    if isinstance(text, int) and not isinstance(text, bool) and text in RESOLUTIONS.values():
        return text
    if text in RESOLUTIONS:
        return RESOLUTIONS[text]
    msg = f"unknown resolution {text!r}; expected one of {list(RESOLUTIONS)}"
    raise ValueError(msg)


def _refine_edges(edges: tuple[float, ...], scale: int) -> tuple[float, ...]:
    edges_array = np.asarray(edges, dtype=np.float64)
    if scale == 1:
        return tuple(edges_array.tolist())
    steps = np.arange(scale) / scale
    inner = edges_array[:-1, None] + np.diff(edges_array)[:, None] * steps
    return tuple(np.append(inner.ravel(), edges_array[-1]).tolist())


def refine(segmentation: Segmentation, scale: int) -> Segmentation:
    """``segmentation`` with every cell split into ``scale`` x ``scale`` equal cells.

    On a uniform axis with n edges over [lo, hi] the new edges are ``linspace(lo, hi,
    (n - 1) * scale + 1)`` (the reference code's rule); the old edges stay edges.

    Example:
        >>> refine(Segmentation.uniform(12, 6), 3).shape
        (36, 18)
        >>> refine(Segmentation.uniform(2, 1, (0, 2), (0, 1)), 2).eta_edges
        (0.0, 0.5, 1.0, 1.5, 2.0)
    """
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or scale < 1:
        msg = f"scale must be a positive int (1 = 1x), got {scale!r}"
        raise ValueError(msg)
    if scale == 1:
        return segmentation
    (n_eta, n_phi) = segmentation.shape
    name = f"{n_eta * scale}x{n_phi * scale}"
    return Segmentation(
        _refine_edges(segmentation.eta_edges, int(scale)),
        _refine_edges(segmentation.phi_edges, int(scale)),
        name,
    )


def layer_grids(simulator: str, preset: str, scale: int | str = 1) -> dict[int, Segmentation]:
    """Per readout layer, the grid of a simulator preset at resolution ``scale`` (1, 2, 3 or "2x").

    Example:
        >>> {k: g.shape for k, g in layer_grids("supa", "calogan", "2x").items()}
        {0: (6, 192), 1: (24, 24), 2: (24, 12)}
        >>> layer_grids("supa", "paper")[1].extent
        (-10.0, 10.0, -10.0, 10.0)
    """
    scale = parse_resolution(scale) if isinstance(scale, str) else scale
    if simulator == "supa":
        from calopaper.sim import supa

        if preset not in supa.PRESETS:
            msg = f"unknown supa preset {preset!r}; expected one of {sorted(supa.PRESETS)}"
            raise ValueError(msg)
        if preset in _CALOGAN_PRESETS:
            base = dict(geometry.CALOGAN)
        else:
            base = supa.reference_grids(1, supa.PRESETS[preset].mm_per_unit)
    elif simulator == "gflash":
        from calopaper.sim.calorimeters import get_calorimeter

        base = {k: layer.segmentation for k, layer in enumerate(get_calorimeter(preset).layers)}
    else:
        msg = f"unknown simulator {simulator!r}; expected 'supa' or 'gflash'"
        raise ValueError(msg)
    return {k: refine(seg, scale) for k, seg in base.items()}


def bin_layers(
    clouds: PointClouds, grids: dict[int, Segmentation]
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Layered point clouds (column 2 = layer index) summed into each layer's grid.

    Args:
        clouds: showers whose ``points[:, 2]`` are the layer indices of ``grids``.
        grids: layer index -> grid (e.g. :func:`layer_grids`).

    Returns:
        images: layer -> (N, n_eta, n_phi) float32 MeV; overflow: (N, n_layers) float32 MeV
        outside each layer's grid, so that images plus overflow hold every point's energy.

    Raises:
        ValueError: points in a layer that ``grids`` lacks (e.g. z in mm instead of layers).
    """
    layer = clouds.points[:, 2]
    known = np.isin(layer, list(grids))
    if not known.all():
        msg = (
            f"points in layers {np.unique(layer[~known])[:5].tolist()} have no grid; expected "
            f"layer indices {sorted(grids)} in points[:, 2]"
        )
        raise ValueError(msg)
    event, n = clouds.event_index, len(clouds)
    images, overflow = {}, np.zeros((n, len(grids)), np.float32)
    for column, (k, seg) in enumerate(sorted(grids.items())):
        mask = layer == k
        offsets = np.concatenate([[0], np.cumsum(np.bincount(event[mask], minlength=n))])
        eta, phi, _, energy = clouds.points[mask].T
        cells, outside = geometry.rebin(eta, phi, energy, offsets, seg)
        images[k] = cells.astype(np.float32)
        overflow[:, column] = outside
    return images, overflow


def downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """Sum ``factor`` x ``factor`` blocks of cells: a 2x or 3x image back on the 1x grid.

    Args:
        images: (N, n_eta * factor, n_phi * factor) cell energies, MeV.
        factor: the block size (2 takes 2x to 1x).

    Returns:
        (N, n_eta, n_phi) with the same total energy per shower.

    Example:
        >>> downsample(np.arange(16.0).reshape(1, 4, 4), 2).tolist()
        [[[10.0, 18.0], [42.0, 50.0]]]
    """
    images = np.asarray(images)
    n, rows, cols = images.shape
    if isinstance(factor, bool) or not isinstance(factor, int | np.integer) or factor < 1:
        msg = f"factor must be a positive int, got {factor!r}"
        raise ValueError(msg)
    if rows % factor or cols % factor:
        msg = f"images of {rows}x{cols} cells do not split into {factor}x{factor} blocks"
        raise ValueError(msg)
    return images.reshape(n, rows // factor, factor, cols // factor, factor).sum(axis=(2, 4))
