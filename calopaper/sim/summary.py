"""What the SUPA chapter shows of simulated showers, computed once per source (store).

Binning 10⁴ point clouds into images and computing their shower shapes takes tens of seconds;
the chapter needs the results on every build. These functions store them as ``.npz``, keyed by
the sources' keys (simulator, preset, size, seed and the simulators' code) and by the code below,
so a rebuild reads them back and a changed simulator recomputes them.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from calopaper import observables
from calopaper.datasets import clouds_to_calogan
from calopaper.sim import supa
from calopaper.store import Store, default_store
from calopaper.truth import Source

__all__ = ["calogan_shapes", "event_figure", "probability_figure", "supa_summary"]

#: Code whose source is part of the stored summaries' key.
CODE = (__name__, "calopaper.observables", "calopaper.geometry", "calopaper.datasets")
_SEP = "::"  # separates a group from a name in the npz keys


def _store_arrays(store: Store, kind: str, key: dict, compute) -> dict[str, np.ndarray]:
    """``compute()`` (a dict of arrays) through the store as an npz; read back on a rebuild."""

    def build(tmp: Path) -> None:
        np.savez(tmp, **compute())

    path = store.get_or_build(kind, key, build, suffix=".npz", code=CODE)
    with np.load(path) as f:
        return {name: f[name] for name in f.files}


def supa_summary(source: Source, store: Store | None = None) -> dict:
    """A SUPA source's showers as the chapter shows them, at the reference code's 1x grids.

    Returns:
        ``"images"``: layer -> (N, n_eta, n_phi) float32 MeV on ``supa.reference_grids(1)``;
        ``"shapes"``: ``observables.shower_shapes`` of those images; ``"energy"`` (3, N)
        float64 MeV and ``"counts"`` (3, N) points per readout layer; ``"incident_energy"``
        (N,) GeV; ``"event0"`` the first shower's (P, 4) points; ``"widths"`` (3, 2) the
        ``supa.layer_widths``; ``"acceptance"`` the kept fraction of the attempts.
    """
    store = store or default_store()
    grids = supa.reference_grids(1, supa.PRESETS[source.preset].mm_per_unit)

    def compute() -> dict[str, np.ndarray]:
        clouds = source.clouds(store, progress=False)
        images = {k: clouds.cells(grids[k], layer=k)[0] for k in range(3)}
        shapes = observables.shower_shapes(
            list(images.values()), segmentations=list(grids.values())
        )
        energy, counts = clouds.layer_totals(3)
        return {
            **{f"images{_SEP}{k}": v.astype(np.float32) for k, v in images.items()},
            **{f"shapes{_SEP}{k}": v for k, v in shapes.items()},
            "energy": energy,
            "counts": counts,
            "incident_energy": clouds.incident_energy,
            "event0": clouds.event(0),
            "widths": supa.layer_widths(clouds),
            "acceptance": np.float64(clouds.attrs.get("acceptance", 1.0)),
        }

    arrays = _store_arrays(store, "summaries/supa", {"source": source.key}, compute)
    summary: dict = {"images": {}, "shapes": {}}
    for name, value in arrays.items():
        group, _, key = name.partition(_SEP)
        if key:
            summary[group][int(key) if group == "images" else key] = value
        else:
            summary[name] = value[()] if value.ndim == 0 else value
    return summary


def calogan_shapes(sources: dict[str, Source], store: Store | None = None) -> dict[str, dict]:
    """``observables.shower_shapes`` of each source's showers in the CaloGAN cells, stored.

    Args:
        sources: label -> a simulator source (SUPA ``calogan``, GFlash ``calogan``).

    Returns:
        label -> variable -> (N,) array, with the incident energy (``E_tot_over_E_inc``).
    """
    store = store or default_store()

    def compute() -> dict[str, np.ndarray]:
        arrays = {}
        for label, source in sources.items():
            d = clouds_to_calogan(source.clouds(store, progress=False))
            layers = [d[f"layer_{k}"] for k in range(3)]
            shapes = observables.shower_shapes(layers, incident_energy=d["energy"])
            arrays |= {f"{label}{_SEP}{k}": v for k, v in shapes.items()}
        return arrays

    key = {"sources": {label: s.key for label, s in sources.items()}}
    arrays = _store_arrays(store, "summaries/calogan_shapes", key, compute)
    shapes: dict[str, dict] = {label: {} for label in sources}
    for name, value in arrays.items():
        label, _, k = name.partition(_SEP)
        shapes[label][k] = value
    return shapes


def probability_figure(config: supa.SupaConfig, ax=None) -> Figure:
    """Stop, split and pass probability per slice; dotted lines separate the readout layers
    (on ``ax``, or a new figure's)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    p_stop, p_split = config.p_stop(), config.p_split()
    for label, p in {"stop": p_stop, "split": p_split, "pass": 1 - p_stop - p_split}.items():
        ax.stairs(p, np.arange(config.n_slices + 1) - 0.5, label=label, lw=2)
    ax.vlines(np.asarray(config.readout_edges[1:-1]) - 0.5, 0, 1, color="0.5", ls=":")
    ax.set(xlabel="slice $l$", ylabel="probability per slice")
    ax.legend(frameon=False)
    return ax.figure


def event_figure(event: np.ndarray, n_layers: int = 3) -> Figure:
    """One shower's (P, 4) points (eta mm, phi mm, layer, E MeV), a scatter panel per layer.

    Marker size grows with the deposit's energy, colour is log10(E / MeV).
    """
    fig, axes = plt.subplots(1, n_layers, figsize=(5 * n_layers, 4.8), layout="constrained")
    for layer, ax in enumerate(axes):
        eta, phi, _, energy = event[event[:, 2] == layer].T
        size = 4 + 40 * energy / event[:, 3].max()
        scatter = ax.scatter(eta, phi, s=size, c=np.log10(energy), cmap="viridis")
        title = f"layer {layer}: {len(energy)} deposits, {energy.sum() / 1e3:.1f} GeV"
        ax.set(title=title, xlabel=r"$\eta$ [mm]", ylabel=r"$\phi$ [mm]", aspect="equal")
    fig.colorbar(scatter, ax=axes, label=r"$\log_{10}(E$ / MeV$)$")
    return fig
