"""The speed chapter's figures: ms/shower against batch size and energy, and the scoreboard."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from calopaper import plotting

__all__ = ["batch_curves", "energy_curves", "scoreboard"]

#: House-colour name of each bench family.
_FAMILY_COLOUR = {
    "SUPA": "SUPA",
    "reference simulator": "GFlash",
    "SAVAE": "SAVAE",
    "GAAM": "GAAM",
    "CaloDVAE": "CaloDVAE",
    "CaloFlow": "CaloFlow",
    "CaloClouds": "CaloClouds3",
}


def _colour(generator: str, family: str) -> str:
    for name in ("unconditional ARM", "geometry-specific", "CC2", "CC3"):
        if generator.startswith(name):
            return plotting.colour({"CC2": "CaloClouds2", "CC3": "CaloClouds3"}.get(name, name))
    return plotting.colour(_FAMILY_COLOUR.get(family, generator))


def _styles(names: list[str]) -> dict[str, str]:
    """Line styles that tell apart the rows of one family (same colour)."""
    return dict(zip(names, ["-", "--", ":", "-.", (0, (5, 1)), (0, (1, 1))] * 4, strict=False))


def _legend(fig, axes) -> None:
    """One legend under the figure, in columns of at most eight entries, with every labelled
    line of ``axes`` once."""
    handles = {}
    for ax in axes:
        handles |= dict(zip(*ax.get_legend_handles_labels()[::-1], strict=True))
    if handles:
        fig.legend(
            handles.values(),
            handles.keys(),
            loc="outside lower center",
            ncols=-(-len(handles) // 8),
            frameon=False,
            fontsize="small",
        )


def batch_curves(timings: pd.DataFrame, device: str = "cpu"):
    """ms/shower (median, spread as error bars) against batch size, one panel per thread count.

    Returns:
        The figure (log-log axes; one line per generator in its family's colour).
    """
    rows = timings[(timings["kind"] == "batch") & (timings["device"] == device)]
    counts = sorted(rows["threads"].unique())
    n = max(1, len(counts))
    fig, axes = plt.subplots(
        1, n, figsize=(7 * n, 5.5), layout="constrained", squeeze=False, sharey=True
    )
    for ax, threads in zip(axes[0], counts, strict=False):
        _curves(ax, rows[rows["threads"] == threads], "batch")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="showers per call (batch size)",
            title=f"{device.upper()}, {threads} thread{'s' if threads > 1 else ''}",
        )
    axes[0][0].set_ylabel("generation time [ms / shower]")
    _legend(fig, axes[0])
    return fig


def _curves(ax, rows: pd.DataFrame, x: str, label=lambda name, line: name) -> None:
    """One ms/shower curve (with its spread) per generator against column ``x``."""
    for family, group in rows.groupby("family", sort=False):
        styles = _styles(list(group["generator"].unique()))
        for name, line in group.groupby("generator", sort=False):
            line = line.sort_values(x)
            style = {"color": _colour(name, family), "ls": styles[name], "marker": "o", "ms": 3}
            style |= {"capsize": 2, "label": label(name, line)}
            ax.errorbar(line[x], line["ms"], yerr=line["spread"], **style)


def energy_curves(timings: pd.DataFrame, device: str = "cpu", ax=None):
    """ms/shower against incident energy for the generators whose cost depends on it (on
    ``ax``, or a new figure's); returns the figure."""
    rows = timings[(timings["kind"] == "energy") & (timings["device"] == device)]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    _curves(
        ax, rows, "energy", label=lambda name, line: f"{name} (batch {line['batch'].iloc[0]:.0f})"
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="incident energy [GeV]",
        ylabel="generation time [ms / shower]",
        title=f"{device.upper()}, 1 thread",
    )
    ax.legend(frameon=False, fontsize="x-small", loc="center left", bbox_to_anchor=(1, 0.5))
    return ax.figure


#: Above this high-level AUC the scoreboard's points crowd the top edge: their labels hang below.
CROWDED_AUC = 0.97
#: Least vertical distance, in AUC, between two labels less than a decade of time apart.
LABEL_GAP = 0.03
#: A label right of its point sits this factor further in time.
RIGHT = 1.3
#: The line from a moved label to its point.
LEADER = {"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 0, "shrinkB": 4}


def _auc_labels(ax, points: list[tuple[float, float, str]]) -> None:
    """Label (ms/shower, AUC, name) points without overlaps: those above ``CROWDED_AUC`` in a
    column hanging below the top edge, the others right of their point, each moved down until
    it keeps ``LABEL_GAP`` from every label placed before it within a decade of time; a moved
    label gets a line to its point."""
    crowded = sorted(p for p in points if p[1] > CROWDED_AUC)
    labels = [(ms, CROWDED_AUC - 0.035 * (i + 1)) for i, (ms, _, _) in enumerate(crowded)]
    rest = sorted((p for p in points if p[1] <= CROWDED_AUC), key=lambda p: -p[1])
    placed = list(zip(crowded, labels, strict=True))
    for ms, auc, name in rest:
        x, y = ms * RIGHT, auc
        while clash := [
            yo for xo, yo in labels if abs(np.log10(x / xo)) < 1 and abs(y - yo) < LABEL_GAP
        ]:
            y = min(clash) - LABEL_GAP
        labels.append((x, y))
        placed.append(((ms, auc, name), (x, y)))
    for (ms, auc, name), (x, y) in placed:
        moved = x == ms or y != auc
        ax.annotate(name, (ms, auc), xytext=(x, y), fontsize="small", va="center",
                    arrowprops=LEADER if moved else None)  # fmt: skip


def scoreboard(board: pd.DataFrame, simulators: dict[str, float], titles: dict[str, str]):
    """Every generator's high-level classifier AUC (± ``scoreboard.error_bar``: its spread over
    trainings, else over folds) against its ms/shower on one CPU thread, in one panel: a
    marker per truth, the family's colour, each point labelled;
    the grey band spans the generators' floors (truth against an independent truth sample) and
    a dotted line marks each truth's simulator. When most AUCs exceed 0.99 the AUC cannot rank
    them, and the y axis is the Fréchet physics distance over its floor instead.

    Args:
        board: ``scoreboard.table`` (rows with status "ok" are drawn).
        simulators: truth -> ms/shower of the simulator that made it.
        titles: truth -> its name in the legend.
    """
    from calopaper.bench.scoreboard import error_bar
    from calopaper.bench.scoreboard import saturated as fpd_axis

    done = board[board["status"] == "ok"].sort_values("ms/shower")
    fig, ax = plt.subplots(figsize=(11, 6.2), layout="constrained")
    saturated = fpd_axis(board)
    if saturated:
        y = done["FPD"] / done["FPD floor"].clip(lower=1e-12)
        ax.set(yscale="log", ylabel="FPD / its floor (1 = as close as a second truth sample)")
        ax.axhline(1.0, color="0.5", lw=1)
    else:
        y = done["AUC high"]
        floors = done["AUC high floor"]
        if not done.empty:
            ax.axhspan(floors.min(), floors.max(), color="0.85", label="floors: truth vs truth")
        ax.set(
            ylim=(0.45, 1.02), ylabel="classifier AUC, high-level features (0.5 = no difference)"
        )
    markers = dict(zip(titles, "osD^vP", strict=False))
    points = []
    for k, ((_, row), value) in enumerate(zip(done.iterrows(), y, strict=True)):
        colour = _colour(row["generator"], row.get("family", ""))
        spread = 0.0 if saturated else error_bar(row)
        ax.errorbar(row["ms/shower"], value, yerr=spread, color=colour, capsize=2,
                    marker=markers.get(row["truth"], "o"), ms=7, zorder=3)  # fmt: skip
        points.append((row["ms/shower"], value, row["generator"]))
        if saturated:
            ax.annotate(row["generator"], (row["ms/shower"], value), fontsize="small",
                        xytext=(6, 6 if k % 2 else -12), textcoords="offset points")  # fmt: skip
    if not saturated:
        _auc_labels(ax, points)
    for truth, ms in simulators.items():
        if np.isfinite(ms) and ms > 0:
            ax.axvline(ms, color="0.35", ls=":", lw=1)
            ax.text(ms, 1.0, f" {truth} simulator", transform=ax.get_xaxis_transform(),
                    rotation=90, va="top", fontsize="x-small", color="0.35")  # fmt: skip
    for truth in dict.fromkeys(done["truth"]):
        ax.scatter([], [], marker=markers.get(truth, "o"), color="0.3", label=titles[truth])
    xs = [x for x in [*done["ms/shower"], *simulators.values()] if np.isfinite(x) and x > 0]
    if xs:  # whole decades, so that both ends carry a label
        ax.set_xlim(10 ** np.floor(np.log10(min(xs) / 3)), 10 ** np.ceil(np.log10(max(xs) * 3)))
    if done.empty:
        ax.text(0.5, 0.5, "no generator has common-scale numbers yet", ha="center",
                va="center", transform=ax.transAxes, color="0.4")  # fmt: skip
    ax.set(xscale="log", xlabel="generation time [ms / shower, 1 CPU thread]")
    ax.xaxis.set_minor_formatter(NullFormatter())
    if ax.get_legend_handles_labels()[1]:
        ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig
