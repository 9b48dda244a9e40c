"""House plot style: one colour per model across the book, truth filled grey, ratio panels."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from calopaper.geometry import Segmentation

__all__ = ["COLOURS", "colour", "style", "ratio_axes", "hist_compare", "draw_cells"]

#: One colour per model or data source, used by every chapter.
COLOURS = {
    "truth": "0.6",
    "SUPA": "0.6",
    "Geant4": "0.3",
    "GFlash": "#8c564b",
    "SAVAE": "#1f77b4",
    "GAAM": "#d62728",
    "unconditional ARM": "#ff7f0e",
    "geometry-specific": "#9467bd",
    "CaloDVAE": "#2ca02c",
    "CaloClouds2": "#17becf",
    "CaloClouds3": "#e377c2",
    "CaloFlow": "#bcbd22",
}


def colour(name: str) -> str:
    """House colour of a model; unknown names get a stable colour from the default cycle."""
    if name in COLOURS:
        return COLOURS[name]
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return cycle[sum(map(ord, name)) % len(cycle)]


def style() -> None:
    """Apply the book's matplotlib style (mplhep's HEP style, smaller figures)."""
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    plt.rcParams.update({"figure.figsize": (6, 4.5), "font.size": 12, "figure.dpi": 90})


def ratio_axes(fig=None, n_columns: int = 1, width: float = 4.5, height: float = 4.5):
    """Figure with ``n_columns`` (main, ratio) axis pairs; returns (fig, main_axes, ratio_axes)."""
    fig = fig or plt.figure(figsize=(width * n_columns, height))
    grid = fig.add_gridspec(2, n_columns, height_ratios=(3, 1), hspace=0.05, wspace=0.35)
    mains, ratios = [], []
    for j in range(n_columns):
        main = fig.add_subplot(grid[0, j])
        ratio = fig.add_subplot(grid[1, j], sharex=main)
        main.tick_params(labelbottom=False)
        mains.append(main)
        ratios.append(ratio)
    return fig, mains, ratios


def hist_compare(
    truth: np.ndarray,
    models: Mapping[str, np.ndarray],
    bins: int | np.ndarray = 40,
    *,
    ax=None,
    ax_ratio=None,
    xlabel: str = "",
    truth_label: str = "truth",
    density: bool = True,
    logy: bool = False,
    colours: Mapping[str, str] | None = None,
):
    """Truth as a grey filled histogram, models as step lines, model/truth ratio underneath.

    Args:
        truth: (N,) per-shower values (NaNs are dropped).
        models: name -> (M,) values, drawn in their house colours.
        bins: number of bins (edges span the truth's 0.5-99.5 % range) or explicit edges.
        ax, ax_ratio: axes to draw on; created by ``ratio_axes`` when missing.
        xlabel: axis label with unit.
        colours: name -> colour for models without a house colour (e.g. segmentations).
    Returns:
        The bin edges used.
    """
    if ax is None:
        _, (ax,), (ax_ratio,) = ratio_axes()
    truth = np.asarray(truth, dtype=float)
    truth = truth[np.isfinite(truth)]
    if np.ndim(bins) == 0:
        lo, hi = np.percentile(truth, [0.5, 99.5]) if len(truth) else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        bins = np.linspace(lo, hi, int(bins) + 1)
    reference = _density(truth, bins) if density else np.histogram(truth, bins)[0]
    truth_colour = COLOURS.get(truth_label, COLOURS["truth"])
    ax.stairs(reference, bins, fill=True, color=truth_colour, alpha=0.6, label=truth_label)
    colours = colours or {}
    for name, values in models.items():
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        counts = _density(values, bins) if density else np.histogram(values, bins)[0]
        line = colours.get(name) or colour(name)
        ax.stairs(counts, bins, color=line, lw=1.6, label=name)
        if ax_ratio is not None:
            ratio = np.full(len(counts), np.nan)
            np.divide(counts, reference, out=ratio, where=reference > 0)
            ax_ratio.stairs(ratio, bins, color=line, lw=1.4)
    if logy:
        ax.set_yscale("log")
    ax.set_ylabel("density" if density else "showers")
    ax.legend(fontsize="small", frameon=False)
    if ax_ratio is not None:
        ax_ratio.axhline(1.0, color="0.4", lw=0.8, ls="--")
        ax_ratio.set_ylim(0.0, 2.0)
        ax_ratio.set_ylabel("ratio", fontsize="small")
        ax_ratio.set_xlabel(xlabel)
    else:
        ax.set_xlabel(xlabel)
    return bins


def _density(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Histogram normalised to unit area; all zeros when no value falls in the bins."""
    counts = np.histogram(values, bins)[0].astype(float)
    total = counts.sum()
    return counts / (total * np.diff(bins)) if total > 0 else counts


def draw_cells(
    ax,
    cells: np.ndarray,
    segmentation: Segmentation,
    *,
    log: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    label: str = "energy [MeV]",
    colorbar: bool = True,
):
    """Draw one layer image on its true cell edges (non-uniform segmentations included).

    Args:
        ax: matplotlib axes.
        cells: (n_eta, n_phi) or (n_cells,) energies in MeV.
        segmentation: the cells' ``Segmentation``; eta runs along x, phi along y.
        log: logarithmic colour scale (empty cells drawn blank).
    Returns:
        The ``QuadMesh``.
    """
    image = np.asarray(cells, dtype=float).reshape(segmentation.shape)
    if log:
        positive = image[image > 0]
        vmin = vmin if vmin is not None else (positive.min() if positive.size else 1e-3)
        vmax = vmax if vmax is not None else (positive.max() if positive.size else 1.0)
        norm = LogNorm(vmin=vmin, vmax=max(vmax, vmin * 1.0001))
        image = np.where(image > 0, image, np.nan)
        mesh = ax.pcolormesh(
            segmentation.eta_edges, segmentation.phi_edges, image.T, norm=norm, cmap=cmap
        )
    else:
        mesh = ax.pcolormesh(
            segmentation.eta_edges, segmentation.phi_edges, image.T, vmin=vmin, vmax=vmax, cmap=cmap
        )
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\eta$ [mm]")
    ax.set_ylabel(r"$\phi$ [mm]")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=label, fraction=0.046, pad=0.04)
    return mesh
