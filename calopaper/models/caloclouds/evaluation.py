"""The paper's observables on cells, their Jensen-Shannon tables, the PCA angle, and figures.

caloclouds3 §4: every observable is a histogram summed over showers (cell energies, energy and
occupancy per layer and per ring about the shower axis, total energy and occupancy, centre of
gravity), compared by the Jensen-Shannon divergence (base 2, 1e-10 in empty bins). Histograms
are kept per shower, so bootstrap errors (resampling the model's showers) and the floor (an
independent truth sample of the model's size) cost one matrix product each. The same
observables as per-shower values (``shower_observables``) and the cells in a window about the
shower axis (``axis_window``) are the features of the book's common fidelity scale.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from calopaper.metrics import jensen_shannon
from calopaper.models.caloclouds.data import CELL, LAYER_Z, N_LAYERS, layer_shift
from calopaper.plotting import binned_compare, colour
from calopaper.showers import PointClouds

__all__ = [
    "OBSERVABLES",
    "ANGLES",
    "shower_histograms",
    "shower_observables",
    "axis_window",
    "jsd_table",
    "jsd_per_observable",
    "cog_table",
    "pca_errors",
    "angle_histograms",
    "draw_binned",
    "figure_grid",
    "binned_figure",
    "observable_panels",
    "overlay",
    "count_photons",
    "two_photon_fraction",
    "half_separation",
    "WILSON_LEVEL",
    "MIN_WIDTH",
]

#: name -> (bin edges, x label, what is histogrammed); the paper's cell-level binning
#: (caloclouds.md 2.7) except the centre of gravity (2000 bins over the box in the paper,
#: here 60 bins over +-3 mm, where our showers' centroids lie; a centre of gravity outside
#: counts in the outermost bin: ``COG_XY``).
OBSERVABLES = {
    "total visible energy": (np.linspace(0, 4000, 51), "visible energy per shower [MeV]", "shower"),
    "energy per cell": (np.logspace(-2, np.log10(1100), 101), "cell energy [MeV]", "cell"),
    "energy per layer": (np.arange(N_LAYERS + 1) - 0.5, "layer", "energy"),
    "energy per unit radius": (np.arange(41) * CELL, "radius [mm]", "energy"),
    "total occupancy": (np.linspace(0, 3000, 51), "cells above the MIP cut per shower", "shower"),
    "occupancy per layer": (np.arange(N_LAYERS + 1) - 0.5, "layer", "count"),
    "occupancy per unit radius": (np.arange(41) * CELL, "radius [mm]", "count"),
    "center of gravity in X": (np.linspace(-3, 3, 61), "CoG x [mm]", "shower"),
    "center of gravity in Y": (np.linspace(-3, 3, 61), "CoG y [mm]", "shower"),
    "center of gravity in Z": (np.linspace(0, 30, 61), "CoG depth [layer]", "shower"),
}
#: Centre-of-gravity histograms: values beyond their edges fill the first and last bins
#: (under- and overflow), so that no shower leaves the histogram.
COG_XY = ("center of gravity in X", "center of gravity in Y")
#: Confidence level of the Wilson intervals of the two-photon fractions: one standard deviation.
WILSON_LEVEL = 0.6827
#: The narrowest logistic transition ``half_separation`` fits, mm (a twentieth of a cell): a
#: sharp transition is located by the pairs next to it, not by a vanishing width.
MIN_WIDTH = 0.25
#: Angular errors of the PCA direction (caloclouds3 §4.3): name -> (edges, label).
ANGLES = {
    "phi": (np.linspace(-0.15, 0.15, 41), "error in φ [rad]"),
    "theta": (np.linspace(-0.15, 0.15, 41), "error in θ [rad]"),
    "angular error": (np.linspace(0, 0.3, 41), "angular error [rad]"),
}


def _rows(event: np.ndarray, values: np.ndarray, edges: np.ndarray, n: int, weights=None):
    """(n, bins) per-shower histogram of ``values`` (out-of-range values dropped)."""
    b = np.searchsorted(edges, values, side="right") - 1
    ok = (b >= 0) & (b < len(edges) - 1) & np.isfinite(values)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[ok]
    flat = np.bincount(
        event[ok] * (len(edges) - 1) + b[ok], weights=w, minlength=n * (len(edges) - 1)
    )
    return flat.reshape(n, len(edges) - 1)


def _per_shower(cells: PointClouds) -> dict[str, np.ndarray]:
    """(N,) total visible energy (MeV), total occupancy and energy-weighted centre of gravity
    (x, y in mm, depth in layers; 0 for an empty shower) of projected cells."""
    n = len(cells)
    event = cells.event_index
    x, y, layer, e = (cells.points[:, k].astype(np.float64) for k in range(4))
    e_sum = np.bincount(event, weights=e, minlength=n)
    safe = np.where(e_sum > 0, e_sum, 1.0)
    cog = [np.bincount(event, weights=e * v, minlength=n) / safe for v in (x, y, layer)]
    return {
        "total visible energy": e_sum,
        "total occupancy": np.diff(cells.offsets).astype(np.float64),
        "center of gravity in X": cog[0],
        "center of gravity in Y": cog[1],
        "center of gravity in Z": cog[2],
    }


def shower_histograms(cells: PointClouds) -> dict[str, np.ndarray]:
    """Per-shower histograms (N, bins) of every ``OBSERVABLES`` entry from projected cells.

    The radius is measured from the shower axis at each layer (z_layer p / p_z).
    """
    n = len(cells)
    event = cells.event_index
    x, y, layer, e = (cells.points[:, k].astype(np.float64) for k in range(4))
    layer_i = layer.astype(np.int64)
    d = cells.incident_direction.astype(np.float64)[event]
    z = LAYER_Z[layer_i]
    r = np.hypot(x - z * d[:, 0] / d[:, 2], y - z * d[:, 1] / d[:, 2])
    per_shower = _per_shower(cells)
    per_cell = {
        "energy per cell": (e, None),
        "energy per layer": (layer, e),
        "energy per unit radius": (r, e),
        "occupancy per layer": (layer, None),
        "occupancy per unit radius": (r, None),
    }
    out = {}
    for name, (edges, _, _) in OBSERVABLES.items():
        if name in per_shower:
            values = per_shower[name]
            if name in COG_XY:  # under- and overflow into the outermost bins
                values = np.clip(values, edges[0], np.nextafter(edges[-1], edges[0]))
            out[name] = _rows(np.arange(n), values, edges, n)
        else:
            values, weights = per_cell[name]
            out[name] = _rows(event, values, edges, n, weights)
    return out


def cog_table(cells: dict[str, PointClouds]) -> pd.DataFrame:
    """Transverse centre of gravity per sample: mean and width (standard deviation) in x and y,
    mm, and the share of showers outside the histograms' ±3 mm (in their outermost bins).

    Args:
        cells: projected cells by sample name, in the shower's frame (axis at 0).
    """
    rows = {}
    for name, c in cells.items():
        per = _per_shower(c)
        x, y = per[COG_XY[0]], per[COG_XY[1]]
        limit = OBSERVABLES[COG_XY[0]][0][-1]
        outside = (np.abs(x) > limit) | (np.abs(y) > limit)
        rows[name] = {
            "x mean [mm]": x.mean(),
            "x width [mm]": x.std(),
            "y mean [mm]": y.mean(),
            "y width [mm]": y.std(),
            "outside ±3 mm [%]": 100 * outside.mean(),
        }
    return pd.DataFrame(rows).T


def shower_observables(cells: PointClouds) -> dict[str, np.ndarray]:
    """The chapter's observables as per-shower values, the high-level features of the book's
    common fidelity scale (``calopaper.fidelity``).

    Args:
        cells: projected cells (x mm, y mm, layer index, E MeV).

    Returns:
        name -> (N,): "total visible energy" (MeV), "total occupancy" (cells above the MIP
        cut), "center of gravity in X"/"Y" (mm)/"Z" (layers), and per layer k = 00..29
        "energy in layer k" (MeV) and "occupancy in layer k" (cells): 65 features.

    Example:
        >>> from calopaper.sim import gflash
        >>> cells = gflash.cell_hits(gflash.simulate("ild", 3, energy=10.0), "ild")
        >>> obs = shower_observables(cells)
        >>> len(obs), obs["energy in layer 05"].shape
        (65, (3,))
    """
    n = len(cells)
    slot = cells.event_index * N_LAYERS + cells.points[:, 2].astype(np.int64)
    energy = np.bincount(
        slot, weights=cells.points[:, 3].astype(np.float64), minlength=n * N_LAYERS
    )
    count = np.bincount(slot, minlength=n * N_LAYERS).astype(np.float64)
    energy, count = energy.reshape(n, N_LAYERS), count.reshape(n, N_LAYERS)
    return (
        _per_shower(cells)
        | {f"energy in layer {k:02d}": energy[:, k] for k in range(N_LAYERS)}
        | {f"occupancy in layer {k:02d}": count[:, k] for k in range(N_LAYERS)}
    )


def axis_window(cells: PointClouds, half: int) -> np.ndarray:
    """(N, 30 * (2 half + 1)²) cell energies (MeV) in a window of ``2 half + 1`` cells a side
    about each shower's axis, row-major over (layer, x, y): the low-level features of the
    common fidelity scale (the profile's ``fidelity_window`` is ``half``).

    The axis enters at (0, 0) and crosses layer k at z_k p / p_z (``data.layer_shift``); in each
    layer the window's middle cell is the one holding the axis point. Cell ``floor(x / CELL)``
    counts cells from the grid's edge at 0 (the ILD layers have an even number of cells), so
    at orthogonal incidence the 5 x 5 window spans −2 to +3 cell widths, −10.2 to +15.3 mm.

    Example:
        >>> from calopaper.sim import gflash
        >>> cells = gflash.cell_hits(gflash.simulate("ild", 2, energy=10.0), "ild")
        >>> w = axis_window(cells, 2)
        >>> w.shape, bool(w.sum() <= cells.points[:, 3].sum() + 1e-3)
        ((2, 750), True)
    """
    n, size = len(cells), 2 * half + 1
    event = cells.event_index
    layer = cells.points[:, 2].astype(np.int64)
    axis = layer_shift(cells.incident_direction.astype(np.float64)[event], layer)
    cell = np.floor(cells.points[:, :2].astype(np.float64) / CELL)
    ij = (cell - np.floor(axis / CELL)).astype(np.int64) + half
    inside = np.all((ij >= 0) & (ij < size), axis=1)
    slot = ((event * N_LAYERS + layer) * size + ij[:, 0]) * size + ij[:, 1]
    out = np.bincount(
        slot[inside], weights=cells.points[inside, 3].astype(np.float64),
        minlength=n * N_LAYERS * size * size,
    )  # fmt: skip
    return out.reshape(n, N_LAYERS * size * size)


def jsd(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """``metrics.jensen_shannon`` (base 2), or NaN when either histogram is empty: a model whose
    showers put nothing in a histogram has no distribution to compare (its table shows NaN)."""
    if not (np.any(p_counts) and np.any(q_counts)):
        return np.nan
    return jensen_shannon(p_counts, q_counts)


def jsd_per_observable(
    truth: dict[str, np.ndarray], model: dict[str, np.ndarray], names=None
) -> dict[str, float]:
    """:func:`jsd` of the summed per-shower histograms (``shower_histograms``) of ``model`` to
    ``truth``, for each of ``names`` (default: every observable of ``truth``)."""
    return {k: jsd(truth[k].sum(0), model[k].sum(0)) for k in (names or truth)}


def _jsd_with_error(
    truth: np.ndarray, model: np.ndarray, rng: np.random.Generator, boot: int
) -> tuple[float, float]:
    """JSD of the summed histograms and its bootstrap std over the model's showers; NaN for
    both when the model's showers leave the histogram empty (a JSD needs two distributions),
    and resamples that leave it empty are left out of the std."""
    draws = rng.multinomial(len(model), np.full(len(model), 1 / len(model)), size=boot)
    value = jsd(truth.sum(0), model.sum(0))
    if np.isnan(value):
        return np.nan, np.nan
    spread = np.std([jsd(truth.sum(0), h) for w in draws if (h := w @ model).any()])
    return value, float(spread)


def jsd_table(
    truth: dict[str, np.ndarray],
    models: dict[str, dict[str, np.ndarray]],
    truth_b: dict[str, np.ndarray] | None = None,
    *,
    boot: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """JSD (base 2) of each model's summed histograms against the truth's, with bootstrap errors.

    Args:
        truth: per-shower histograms of the reference truth (``shower_histograms``).
        models: name -> per-shower histograms of its showers.
        truth_b: an independent truth sample of the models' size: its JSD is the floor.
        boot: bootstrap resamples of the model's showers for the error.

    Returns:
        One row per observable; columns "<model>" and "<model> error", and "floor".
    """
    rng = np.random.default_rng(seed)
    columns: dict[str, list[float]] = {}
    for name, hists in {**models, **({"floor": truth_b} if truth_b is not None else {})}.items():
        values = [_jsd_with_error(truth[k], hists[k], rng, boot) for k in truth]
        columns[name] = [v for v, _ in values]
        if name != "floor":
            columns[f"{name} error"] = [s for _, s in values]
    return pd.DataFrame(columns, index=list(truth))


def pca_errors(cells: PointClouds, fraction: float = 1.0) -> dict[str, np.ndarray]:
    """Angular errors of the energy-weighted PCA direction of each shower's cells (§4.3).

    Args:
        cells: projected cells (x mm, y mm, layer index, E MeV) with incident directions.
        fraction: use only this fraction of each shower's highest-energy cells (at least 3).

    Returns:
        (N,) "phi", "theta" and "angular error", rad. Local frame: x along the beam, so the
        polar angle to the beam is arccos(p_x) and phi rotates about x: atan2(p_y, p_z).
    """
    n = len(cells)
    out = {k: np.full(n, np.nan) for k in ANGLES}
    for i in range(n):
        pts = cells.event(i).astype(np.float64)
        if len(pts) < 3:
            continue
        keep = max(3, int(np.ceil(fraction * len(pts))))
        pts = pts[np.argsort(-pts[:, 3])[:keep]]
        xyz = np.column_stack([pts[:, 0], pts[:, 1], LAYER_Z[pts[:, 2].astype(np.int64)]])
        w = pts[:, 3] / pts[:, 3].sum()
        centred = xyz - w @ xyz
        _, vectors = np.linalg.eigh((centred * w[:, None]).T @ centred)
        v = vectors[:, -1] * np.sign(vectors[2, -1] or 1.0)
        p = cells.incident_direction[i].astype(np.float64)
        out["angular error"][i] = np.arccos(np.clip(v @ p, -1, 1))
        out["theta"][i] = np.arccos(np.clip(v[0], -1, 1)) - np.arccos(np.clip(p[0], -1, 1))
        out["phi"][i] = np.arctan2(v[1], v[2]) - np.arctan2(p[1], p[2])
    return out


def angle_histograms(errors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(N, bins) one-hot rows of the angular errors on ``ANGLES`` bins (for ``jsd_table``)."""
    n = len(next(iter(errors.values())))
    return {k: _rows(np.arange(n), errors[k], edges, n) for k, (edges, _) in ANGLES.items()}


def draw_binned(
    ax,
    ax_ratio,
    edges: np.ndarray,
    truth: np.ndarray,
    models: dict[str, np.ndarray],
    *,
    xlabel: str,
    truth_label: str = "truth",
    logx: bool = False,
    logy: bool = False,
) -> None:
    """``plotting.binned_compare`` of summed counts on ``ax``, each model over the truth on
    ``ax_ratio`` underneath."""
    binned_compare(edges, truth, models, ax=ax, truth_label=truth_label)
    ref = np.asarray(truth, float) / max(float(np.sum(truth)), 1e-300)
    for name, counts in models.items():
        c = np.asarray(counts, float) / max(float(np.sum(counts)), 1e-300)
        ratio = np.divide(c, ref, out=np.full(len(c), np.nan), where=ref > 0)
        ax_ratio.stairs(ratio, edges, color=colour(name), lw=1.2)
    ax_ratio.axhline(1, color="0.4", lw=0.8, ls="--")
    ax_ratio.set(ylim=(0.0, 2.0), xlabel=xlabel, ylabel="ratio")
    ax.set_xlabel("")
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")


def figure_grid(names: list[str], columns: int = 3, width: float = 4.2):
    """A figure with a (main, ratio) axis pair per name; returns (fig, {name: (ax, ax_ratio)})."""
    rows = -(-len(names) // columns)
    fig = plt.figure(figsize=(width * columns, 4.2 * rows), layout="constrained")
    grid = fig.add_gridspec(2 * rows, columns, height_ratios=[3, 1] * rows)
    axes = {}
    for k, name in enumerate(names):
        r, c = divmod(k, columns)
        ax = fig.add_subplot(grid[2 * r, c])
        axes[name] = (ax, fig.add_subplot(grid[2 * r + 1, c], sharex=ax))
        ax.tick_params(labelbottom=False)
    return fig, axes


def binned_figure(
    panels: dict[str, tuple[np.ndarray, str, dict[str, np.ndarray]]],
    *,
    truth_label: str = "truth",
    columns: int = 3,
    logx: tuple[str, ...] = ("energy per cell",),
):
    """One (main, ratio) panel per entry ``name -> (edges, x label, {label: counts})``.

    The first label of each panel is the reference (filled), the others are models.
    """
    fig, axes = figure_grid(list(panels), columns)
    for name, (edges, xlabel, counts) in panels.items():
        ax, ax_ratio = axes[name]
        (ref_label, ref), *models = counts.items()
        draw_binned(ax, ax_ratio, edges, ref, dict(models), xlabel=xlabel,
                    truth_label=ref_label, logx=name in logx, logy=True)  # fmt: skip
        ax.set_title(name, fontsize="medium")
    next(iter(axes.values()))[0].legend(frameon=False, fontsize="small")
    return fig


def observable_panels(
    histograms: dict[str, dict[str, np.ndarray]], names: list[str]
) -> dict[str, tuple[np.ndarray, str, dict[str, np.ndarray]]]:
    """``binned_figure`` panels of ``OBSERVABLES`` from per-shower histograms by label."""
    return {
        k: (
            OBSERVABLES[k][0],
            OBSERVABLES[k][1],
            {lab: h[k].sum(0) for lab, h in histograms.items()},
        )
        for k in names
    }


def overlay(a: PointClouds, b: PointClouds, separation: np.ndarray) -> PointClouds:
    """Two showers per event, ``b``'s shifted by ``separation`` (N,) mm along x (Fig. 12)."""
    shifted = b.points.copy()
    shifted[:, 0] += np.repeat(np.asarray(separation, dtype=np.float32), np.diff(b.offsets))
    points, counts = [], np.diff(a.offsets) + np.diff(b.offsets)
    for i in range(len(a)):
        points += [a.event(i), shifted[b.offsets[i] : b.offsets[i + 1]]]
    return PointClouds(
        np.concatenate(points),
        np.concatenate([[0], np.cumsum(counts)]),
        a.incident_energy + b.incident_energy,
        a.incident_direction,
        a.particle,
        dict(a.attrs),
    )


def count_photons(cells: PointClouds, seed_fraction: float = 0.05, n_cells: int = 78) -> np.ndarray:
    """(N,) photons found by a simple clustering of the layer-summed cell energies.

    Our stand-in for the paper's Key4hep reconstruction: a cell is a cluster seed when its
    energy summed over the layers is the largest in its 3 x 3 neighbourhood and at least
    ``seed_fraction`` of the event's energy; the number of seeds is the number of photons.
    """
    from scipy.ndimage import maximum_filter

    n = len(cells)
    ij = np.floor(cells.points[:, :2] / CELL + n_cells / 2).astype(np.int64)
    inside = np.all((ij >= 0) & (ij < n_cells), axis=1)
    images = np.zeros((n, n_cells, n_cells))
    np.add.at(images, (cells.event_index[inside], ij[inside, 0], ij[inside, 1]),
              cells.points[inside, 3])  # fmt: skip
    total = images.sum((1, 2), keepdims=True)
    peaks = (images == maximum_filter(images, size=(1, 3, 3))) & (images >= seed_fraction * total)
    return (peaks & (images > 0)).sum((1, 2))


def two_photon_fraction(
    separation: np.ndarray, found: np.ndarray, edges: np.ndarray, level: float = WILSON_LEVEL
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of pairs resolved as (at least) two photons per separation bin, with its Wilson
    score interval (``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` at
    ``level``, by default one standard deviation): unlike the binomial error √(f(1 − f)/n),
    it does not shrink to zero at a fraction of 0 or 1 in a bin of a few pairs. NaN in empty
    bins.

    Returns:
        (fraction, lower end, upper end), one value per bin.

    Example:
        >>> sep, found = np.array([1.0, 2.0, 11.0]), np.array([1, 2, 2])
        >>> f, lo, hi = two_photon_fraction(sep, found, np.array([0.0, 10.0, 20.0]))
        >>> f.tolist(), np.round(lo, 2).tolist(), np.round(hi, 2).tolist()
        ([0.5, 1.0], [0.21, 0.5], [0.79, 1.0])
    """
    from scipy.stats import binomtest

    b = np.digitize(separation, edges) - 1
    ok = (b >= 0) & (b < len(edges) - 1)
    n = np.bincount(b[ok], minlength=len(edges) - 1)
    k = np.bincount(b[ok], weights=(np.asarray(found) >= 2)[ok], minlength=len(edges) - 1)
    f, lo, hi = (np.full(len(n), np.nan) for _ in range(3))
    for i in np.flatnonzero(n):
        ci = binomtest(int(round(k[i])), int(n[i])).proportion_ci(level, method="wilson")
        f[i], lo[i], hi[i] = k[i] / n[i], ci.low, ci.high
    return f, lo, hi


def half_separation(
    separation: np.ndarray, found: np.ndarray, max_separation: float | None = None
) -> tuple[float, float]:
    """The separation at which half the pairs are resolved as two photons (Fig. 13's
    transition), and its standard error.

    A logistic curve P(two photons | d) = 1 / (1 + exp(−(d − d50) / w)) is fitted to the pairs
    themselves (maximum likelihood on each pair's 0/1 outcome: no bins, so no bin of a few
    pairs decides), and d50's error is that of the fit: the inverse of the observed Fisher
    information of (d50, w), the standard error of a logistic regression, with the gap
    between the pairs on either side of d50 added in quadrature as a uniform spread
    (gap / √12). A sharp transition (the pairs on either side all resolved / all not) drives
    the width to its lower bound ``MIN_WIDTH`` and the Fisher error to nothing it can be
    trusted with: the crossing is then known as well as the pairs next to it locate it, and
    its error is gap / √12 alone. On logistic pairs (d50 12 mm, width 2 mm, 100 pairs over
    0-30 mm) and on a sharp step, the error matches the spread of d50 over samples.

    Args:
        separation: (n,) separation of each pair, mm.
        found: (n,) photons found in each pair (``count_photons``).
        max_separation: the largest separation drawn (default: the largest in the sample).

    Returns:
        (d50, error), mm. When no pair is resolved, d50 is ``max_separation`` (the transition
        lies beyond what was drawn, a lower bound); when every pair is, 0; the error is then
        the mean gap between pairs. The error is at most ``max_separation``.

    Example:
        >>> d = np.linspace(0, 30, 301)
        >>> d50, err = half_separation(d, np.where(d > 10.05, 2, 1))
        >>> bool(abs(d50 - 10.05) < 0.05), bool(0 < err < MIN_WIDTH)
        (True, True)
    """
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    d = np.asarray(separation, dtype=np.float64)
    y = (np.asarray(found) >= 2).astype(np.float64)
    top = float(d.max()) if max_separation is None else float(max_separation)
    spacing = top / max(len(d), 1)
    if not y.any() or y.all():
        return (top if not y.any() else 0.0), spacing

    def nll(theta: np.ndarray) -> float:
        eta = (d - theta[0]) / theta[1]
        return -float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)))

    start = np.array([0.5 * (np.median(d[y < 1]) + np.median(d[y > 0])), 2.0])
    fit = minimize(nll, start, method="L-BFGS-B", bounds=[(-top, 2 * top), (MIN_WIDTH, 10 * top)])
    d50, w = (float(v) for v in fit.x)
    eta = (d - d50) / w
    weight = expit(eta) * expit(-eta)
    grad = np.stack([-np.ones_like(d) / w, -eta / w])  # ∂η/∂(d50, w)
    info = (grad * weight) @ grad.T
    below, above = d[d <= d50], d[d > d50]
    gap = (above.min() if len(above) else top) - (below.max() if len(below) else 0.0)
    if w <= 1.05 * MIN_WIDTH:  # a sharp transition: the pairs next to it locate it
        return d50, float(gap / np.sqrt(12))
    with np.errstate(divide="ignore", invalid="ignore"):
        var = float(np.linalg.inv(info)[0, 0]) if np.linalg.det(info) > 0 else np.inf
    error = float(np.hypot(np.sqrt(var) if np.isfinite(var) else top, gap / np.sqrt(12)))
    return d50, min(error, top)  # a few pairs without a clear transition: no better than the range
