"""House plot style: one colour per model across the book, truth filled grey, ratio panels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import NullLocator

from calopaper.geometry import Segmentation

__all__ = [
    "COLOURS",
    "colour",
    "palette",
    "style",
    "ratio_axes",
    "hist_compare",
    "comparison_grid",
    "count_bins",
    "distributions",
    "binned_compare",
    "draw_cells",
    "image_grid",
    "shower_grid",
    "history",
    "budget_curves",
]

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


#: Colours for things that are not models (segmentations, particles, presets): Dark2, which
#: shares no colour with ``COLOURS``.
_OTHER = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def palette(names: Sequence[str]) -> dict[str, str]:
    """Distinct colours, apart from the model colours, for segmentations, particles and the like.

    Example:
        >>> palette(["e+", "photon"])
        {'e+': '#1b9e77', 'photon': '#d95f02'}
    """
    return {name: _OTHER[i % len(_OTHER)] for i, name in enumerate(names)}


def style() -> None:
    """Apply the book's matplotlib style (mplhep's HEP style, smaller figures)."""
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    plt.rcParams.update({"figure.figsize": (6, 4.5), "font.size": 12, "figure.dpi": 90})


def ratio_axes(fig=None, n_columns: int = 1, width: float = 4.5, height: float = 4.5):
    """Figure with ``n_columns`` (main, ratio) axis pairs; returns (fig, main_axes, ratio_axes).

    The pairs have no minor ticks along x, nor the ratio panels along y: in grids of dozens of
    panels they were hardly visible and took half the time of rendering the figure.
    """
    fig = fig or plt.figure(figsize=(width * n_columns, height))
    grid = fig.add_gridspec(2, n_columns, height_ratios=(3, 1), hspace=0.05, wspace=0.35)
    mains, ratios = [], []
    for j in range(n_columns):
        main = fig.add_subplot(grid[0, j])
        ratio = fig.add_subplot(grid[1, j], sharex=main)
        main.xaxis.set_minor_locator(NullLocator())  # shared with the ratio panel
        ratio.yaxis.set_minor_locator(NullLocator())
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


def comparison_grid(
    truth: Mapping[str, Mapping[str, np.ndarray]],
    models: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    keys: Sequence[str],
    *,
    bins: int | Mapping[str, int | np.ndarray] = 40,
    xlabels: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
    colours: Mapping[str, str] | None = None,
    truth_label: str = "truth",
    panel: tuple[float, float] = (4.6, 4.4),
    n_columns: int | None = None,
):
    """Truth against models for several cases (rows) and observables (columns), ratio panels below.

    Args:
        truth: case -> observable key -> (N,) truth values; a case is e.g. a segmentation.
        models: model name -> case -> key -> values; a model missing a case is left out there.
        keys: the observables, one column each.
        bins: bins per histogram (spanning the truth's 0.5-99.5 % range), or key -> bins or
            explicit edges (keys not named get 40 bins).
        xlabels: key -> axis label with unit (default: ``observables.LABELS``).
        titles: case -> title of its row (default: the case itself).
        colours: colours for names without a house colour (see ``palette``).
        panel: (width, height) of one panel in inches.
        n_columns: wrap a case's observables onto rows of at most this many panels (default
            4: more panels per row leave their axis labels unreadable at page width).

    Returns:
        The figure.
    """
    from calopaper.observables import LABELS

    xlabels = xlabels or LABELS
    cases = list(truth)
    width = min(n_columns or 4, len(keys))
    lines = [(case, keys[i : i + width]) for case in cases for i in range(0, len(keys), width)]
    fig = plt.figure(figsize=(panel[0] * width, panel[1] * len(lines)), layout="constrained")
    rows = fig.subfigures(len(lines), 1, squeeze=False)[:, 0]
    for row, (case, line) in zip(rows, lines, strict=True):
        _, mains, ratios = ratio_axes(fig=row, n_columns=width)
        for key, ax, ax_ratio in zip(line, mains, ratios, strict=False):
            hist_compare(
                truth[case][key],
                {m: by_case[case][key] for m, by_case in models.items() if case in by_case},
                bins=bins.get(key, 40) if isinstance(bins, Mapping) else bins,
                ax=ax,
                ax_ratio=ax_ratio,
                xlabel=xlabels[key],
                truth_label=truth_label,
                colours=colours,
            )
        for ax in (*mains[len(line) :], *ratios[len(line) :]):
            ax.set_visible(False)
        if line[0] == keys[0]:
            mains[0].set_title((titles or {}).get(case, case), loc="left", fontsize=12)
    return fig


def count_bins(fractions: np.ndarray, n_cells: int, max_bins: int = 40) -> np.ndarray:
    """Bin edges at half-integer cell counts for fractions k / n_cells (e.g. a layer's sparsity).

    Edges span the 0.5-99.5 % range of the counts, several counts per bin when there are more
    than ``max_bins``, so that no bin holds one count more than its neighbour.

    Example:
        >>> (count_bins(np.array([0.1, 0.2, 0.3]), 10) * 10).tolist()
        [0.5, 1.5, 2.5, 3.5]
    """
    counts = np.round(np.asarray(fractions) * n_cells)
    lo, hi = np.floor(np.percentile(counts, 0.5)), np.ceil(np.percentile(counts, 99.5))
    step = max(1, int(np.ceil((hi - lo + 1) / max_bins)))
    return (np.arange(lo, hi + step + 1, step) - 0.5) / n_cells


def distributions(
    samples: Mapping[str, Mapping[str, np.ndarray]],
    keys: Sequence[str],
    n_columns: int,
    *,
    bins: int = 40,
    density: bool = True,
    xlabels: Mapping[str, str] | None = None,
    colours: Mapping[str, str] | None = None,
    panel: tuple[float, float] = (3.7, 3.2),
):
    """Several samples without a truth: one panel per observable, a step line per sample.

    Args:
        samples: name -> observable key -> (N,) values (NaNs are dropped); a single sample is
            drawn filled.
        keys: the observables, one panel each, filled row by row.
        n_columns: panels per row.
        bins: bins spanning the finite values of all samples.
        density: unit-area histograms ("density"), else counts ("showers").
        xlabels: key -> axis label with unit (default: ``observables.label``).
        colours: colours for names without a house colour (see ``palette``).
        panel: (width, height) of one panel in inches.

    Returns:
        The figure.
    """
    from calopaper.observables import label

    n_rows = -(-len(keys) // n_columns)
    size = (panel[0] * n_columns, panel[1] * n_rows)
    fig, axes = plt.subplots(n_rows, n_columns, figsize=size, layout="constrained", squeeze=False)
    for key, ax in zip(keys, axes.flat, strict=False):
        finite = {name: np.asarray(s[key], float) for name, s in samples.items()}
        finite = {name: v[np.isfinite(v)] for name, v in finite.items()}
        pooled = np.concatenate(list(finite.values()))
        lo, hi = (pooled.min(), pooled.max()) if pooled.size else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        for name, values in finite.items():
            counts = _density(values, edges) if density else np.histogram(values, edges)[0]
            line = (colours or {}).get(name) or colour(name)
            ax.stairs(counts, edges, color=line, lw=1.8, label=name, fill=len(samples) == 1)
        xlabel = (xlabels or {}).get(key) or label(key)
        ax.set(xlabel=xlabel, ylabel="density" if density else "showers")
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    if len(samples) > 1:
        axes.flat[0].legend(frameon=False, fontsize="small")
    return fig


def binned_compare(
    edges: np.ndarray,
    truth_counts: np.ndarray,
    models: Mapping[str, np.ndarray],
    *,
    ax=None,
    xlabel: str = "",
    truth_label: str = "truth",
    colours: Mapping[str, str] | None = None,
):
    """Histograms given as counts on shared ``edges``, each normalised to unit sum.

    The truth is filled grey (or its house colour), the models are step lines, as in
    ``hist_compare`` but for distributions that are only available binned (e.g. published
    reference histograms).

    Args:
        edges: (n_bins + 1,) bin edges.
        truth_counts: (n_bins,) reference counts.
        models: name -> (n_bins,) counts.
        ax: axes to draw on (a new figure when missing).
        xlabel: axis label with unit.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(layout="constrained")
    grey = COLOURS.get(truth_label, COLOURS["truth"])
    ax.stairs(_unit_sum(truth_counts), edges, fill=True, color=grey, alpha=0.5, label=truth_label)
    for name, counts in models.items():
        line = (colours or {}).get(name) or colour(name)
        ax.stairs(_unit_sum(counts), edges, color=line, lw=1.8, label=name)
    ax.set(xlabel=xlabel, ylabel="fraction")
    return ax


def _unit_sum(counts: np.ndarray) -> np.ndarray:
    """Counts over their sum; all zeros when empty."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else counts


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
    # Minor ticks add nothing to a cell image and cost most of a many-panel figure's drawing.
    ax.minorticks_off()
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=label, fraction=0.046, pad=0.04).minorticks_off()
    return mesh


def image_grid(
    panels: Sequence[tuple[str, np.ndarray, Segmentation]],
    n_columns: int,
    *,
    share: str = "all",
    zoom: float | None = None,
    panel: float = 4.2,
    label: str = "energy [MeV]",
):
    """Layer images on their true cells, one panel each, with logarithmic colour scales.

    Args:
        panels: (title, image (n_cells,) or (n_eta, n_phi) in MeV, segmentation) per panel,
            filled row by row.
        n_columns: panels per row.
        share: one colour scale for ``"all"`` panels, per ``"row"``, per ``"column"``, or per
            panel (``"none"``).
        zoom: show only |η|, |φ| <= zoom mm.
        panel: panel size in inches.

    Returns:
        The figure (one colour bar for ``share="all"``, one per panel otherwise).
    """
    if share not in ("all", "row", "column", "none"):
        msg = f"share={share!r}; expected 'all', 'row', 'column' or 'none'"
        raise ValueError(msg)
    n_rows = -(-len(panels) // n_columns)
    fig, axes = plt.subplots(
        n_rows,
        n_columns,
        figsize=(panel * n_columns, panel * n_rows),
        layout="constrained",
        squeeze=False,
    )
    group = {
        "all": lambda i: 0,
        "row": lambda i: i // n_columns,
        "column": lambda i: i % n_columns,
        "none": lambda i: i,
    }[share]
    limits = {}
    for i, (_, image, _) in enumerate(panels):
        positive = np.asarray(image)[np.asarray(image) > 0]
        if positive.size:
            lo, hi = limits.get(group(i), (np.inf, 0.0))
            limits[group(i)] = (min(lo, np.percentile(positive, 1)), max(hi, positive.max()))
    for i, (ax, (title, image, segmentation)) in enumerate(zip(axes.flat, panels, strict=False)):
        vmin, vmax = limits.get(group(i), (None, None))
        mesh = draw_cells(
            ax, image, segmentation, vmin=vmin, vmax=vmax, label=label, colorbar=share != "all"
        )
        ax.set_title(title, fontsize=11)
        if zoom is not None:
            ax.set_xlim(-zoom, zoom)
            ax.set_ylim(-zoom, zoom)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    if share == "all" and panels:
        fig.colorbar(mesh, ax=axes, label=label, fraction=0.02).minorticks_off()
    return fig


def shower_grid(
    rows: Mapping[str, np.ndarray],
    segmentation: Segmentation,
    *,
    n_showers: int = 3,
    zoom: float | None = None,
):
    """``n_showers`` single showers and the average, one row per source (savae Figs. 4-5 style).

    Args:
        rows: source name (model or "truth") -> (N, n_cells) images in MeV, same segmentation.
        segmentation: the images' segmentation.
        n_showers: single showers per row before the average.
        zoom: show only |η|, |φ| <= zoom mm.
    """
    panels = []
    for name, images in rows.items():
        panels += [(f"{name}, shower {k + 1}", images[k], segmentation) for k in range(n_showers)]
        panels.append((f"{name}, average", images.mean(axis=0), segmentation))
    return image_grid(panels, n_showers + 1, zoom=zoom)


def history(
    histories: Mapping[str, object],
    *,
    ax=None,
    ylabel: str = "loss per shower",
    logy: bool = True,
):
    """Training (dashed) and validation (solid) loss per epoch of each model.

    Args:
        histories: label -> ``training.History`` (``train`` and ``val`` lists).
        ax: axes to draw on (a new figure when missing).
        ylabel: what the loss is, with its unit.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    names = [n for n in histories if n not in COLOURS]
    extra = palette(names)
    for label, h in histories.items():
        line = COLOURS.get(label) or extra[label]
        epochs = np.arange(1, len(h.train) + 1)
        ax.plot(epochs, h.train, color=line, ls="--", label=f"{label}, training")
        if h.val:
            ax.plot(epochs[: len(h.val)], h.val, color=line, label=f"{label}, validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize="x-small", frameon=False)
    return ax


def budget_curves(
    curves: Mapping[str, object],
    *,
    ax=None,
    ylabel: str = "value",
    paper_label: str = "paper",
):
    """Budget curves (``findings.BudgetCurve``): each claim's number at ¼, ½ and 1 × the
    training budget, the seed mean with its ± 2-error band, and the paper's value dotted.

    Args:
        curves: label -> ``BudgetCurve`` (sharing one y unit).
        ax: axes to draw on (a new figure when missing).
        ylabel: what the number is, with its unit.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    colours = palette(list(curves))
    for label, curve in curves.items():
        x = np.asarray(curve.budgets)
        mean = np.array([b.mean for b in curve.bands])
        half = np.array([2 * b.error for b in curve.bands])
        ax.errorbar(x, mean, yerr=half, color=colours[label], marker="o", capsize=3, label=label)
        ax.axhline(curve.target, color=colours[label], ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [f"{b:.2g}" for b in x])
    unit = next(iter(curves.values())).unit if curves else ""
    ax.set_xlabel(f"fraction of the training budget{f' ({unit})' if unit else ''}")
    ax.set_ylabel(ylabel)
    ax.plot([], [], color="grey", ls=":", lw=1, label=paper_label)
    ax.legend(fontsize="x-small", frameon=False)
    return ax
