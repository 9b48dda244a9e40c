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
    """One legend right of the figure with every labelled line of ``axes`` once."""
    handles = {}
    for ax in axes:
        handles |= dict(zip(*ax.get_legend_handles_labels()[::-1], strict=True))
    if handles:
        fig.legend(
            handles.values(),
            handles.keys(),
            loc="outside right center",
            frameon=False,
            fontsize="x-small",
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


def scoreboard(board: pd.DataFrame, simulators: dict[str, float], titles: dict[str, str]):
    """Fidelity (mean W1/σ_truth) against ms/shower, one panel per shared truth; a dash in
    the same colour under each generator is the truth's floor at that generator's sample sizes.

    Args:
        board: ``scoreboard.table`` rows with status "ok".
        simulators: truth -> ms/shower of the simulator that made it (dotted vertical line).
        titles: truth -> panel title.
    """
    done = board[board["status"] == "ok"]
    truths = [t for t in titles if t in set(done["truth"])] or list(titles)[:1]
    fig, axes = plt.subplots(
        1, len(truths), figsize=(5.5 * len(truths), 5), layout="constrained", squeeze=False
    )
    for ax, truth in zip(axes[0], truths, strict=True):
        part = done[done["truth"] == truth]
        for _, row in part.iterrows():
            where = (row["ms/shower"], row["fidelity"])
            name, colour = row["generator"], _colour(row["generator"], row.get("family", ""))
            ax.scatter(*where, color=colour, s=40, zorder=3)
            ax.scatter(row["ms/shower"], row["floor"], color=colour, marker="_", s=300, lw=2)
            ax.annotate(name, where, fontsize="x-small", xytext=(4, 4), textcoords="offset points")
        ax.scatter([], [], color="0.4", marker="_", s=300, lw=2, label="truth floor, its sizes")
        if np.isfinite(simulators.get(truth, np.nan)):
            ax.axvline(simulators[truth], color="0.3", ls=":", lw=1, label="its simulator")
        xs = [*part["ms/shower"], simulators.get(truth, np.nan)]
        xs = [x for x in xs if np.isfinite(x) and x > 0]
        if xs:  # whole decades, so that both ends carry a label
            ax.set_xlim(10 ** np.floor(np.log10(min(xs) / 3)), 10 ** np.ceil(np.log10(max(xs) * 3)))
        if part.empty:  # a log axis with nothing on it cannot be drawn
            ax.text(0.5, 0.5, "no generator of this truth\nhas saved samples yet", ha="center",
                    va="center", transform=ax.transAxes, color="0.4")  # fmt: skip
        ax.set(
            xscale="log",
            yscale="linear" if part.empty else "log",
            xlabel="generation time [ms / shower, 1 CPU thread]",
            title=titles[truth],
        )
        ax.xaxis.set_minor_formatter(NullFormatter())  # labels on decades only
        ax.legend(frameon=False, fontsize="x-small")
    axes[0][0].set_ylabel(r"mean $W_1 / \sigma_\mathrm{truth}$ (lower is better)")
    return fig
