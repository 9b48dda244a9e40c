"""Validation of the GFlash simulator against Geant4: the CaloClouds-3 ILD reference histograms.

GFlash's ILD hit model (``mip_width``, ``track_cos_min``, ``soft_fraction``, ``soft_exponent``
of ``calorimeters.ILD``) was chosen against the hit histograms of the reference (:data:`TUNED`),
so their divergences measure the quality of that fit; the energy profiles, the energy sum and
the centres of gravity (:data:`VALIDATION`) were not used and validate the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from calopaper import plotting
from calopaper.metrics import floor_scale, jensen_shannon
from calopaper.showers import PointClouds
from calopaper.store import Store, default_store
from calopaper.truth import Source

__all__ = [
    "HISTOGRAMS",
    "REFERENCE_PATH",
    "TUNED",
    "VALIDATION",
    "ReferenceHistogram",
    "centroid_gap",
    "centroids",
    "comparison_figure",
    "hit_energy_scale",
    "ild_comparison",
    "ild_histograms",
    "jsd_table",
    "load_reference",
]

#: The CaloClouds-3 Geant4 reference histograms shipped with calopaper (Apache-2.0, see NOTICE).
REFERENCE_PATH = Path(__file__).with_name("data") / "caloclouds3_geant4_reference.npz"

#: Histogram name -> (npz key, description). Energies as in the file: GeV weights for the
#: radius/layer profiles, MeV for the hit spectrum and the energy sum.
HISTOGRAMS = {
    "hits_vs_radius": ("counts_0", "hits vs radius, 0-500 mm in 32 bins"),
    "energy_vs_radius": ("counts_1", "energy (GeV) vs radius, 0-500 mm in 32 bins"),
    "hits_vs_layer": ("counts_2", "hits vs layer, 30 bins"),
    "energy_vs_layer": ("counts_3", "energy (GeV) vs layer, 30 bins"),
    "hit_energy": ("counts_4", "hit energies, log 1e-3-100 MeV in 100 bins"),
    "hits_per_shower": ("counts_5", "hits per shower, 0-10000 in 50 bins"),
    "energy_sum": ("counts_6", "visible energy per shower, 0-10000 MeV in 50 bins"),
    "cog_x": ("counts_7", "energy-weighted mean x, -200-200 mm in 2000 bins"),
    "cog_depth": ("counts_8", "energy-weighted mean layer position, 60 bins"),
    "cog_z": ("counts_9", "energy-weighted mean z, -260-140 mm in 2000 bins"),
}
#: The histograms the ILD hit model was tuned on (fit quality, not validation).
TUNED = ("hits_vs_radius", "hits_vs_layer", "hit_energy", "hits_per_shower")
#: The histograms no GFlash or hit-model parameter was chosen on (validation).
VALIDATION = tuple(name for name in HISTOGRAMS if name not in TUNED)


@dataclass(frozen=True)
class ReferenceHistogram:
    """One binned reference distribution.

    Attributes:
        edges: (n_bins + 1,) bin edges.
        counts: (n_bins,) summed over the reference's 100k showers.
        description: what is histogrammed, with units.
    """

    edges: np.ndarray
    counts: np.ndarray
    description: str


def _edges(ref: dict) -> dict[str, np.ndarray]:
    """Bin edges of each histogram (CaloClouds-3 ``bin_standard_metrics.py``, caloclouds.md 2.7)."""
    x_lim, y_lim, z_lim = (np.sort(np.asarray(lim, float)) for lim in ref["xyz_limits"])
    layers = np.arange(31) - 0.5
    return {
        "hits_vs_radius": np.linspace(0.0, 500.0, 33),
        "energy_vs_radius": np.linspace(0.0, 500.0, 33),
        "hits_vs_layer": layers,
        "energy_vs_layer": layers,
        "hit_energy": np.logspace(-3, 2, 101),
        "hits_per_shower": np.linspace(0.0, 10000.0, 51),
        "energy_sum": np.linspace(0.0, 10000.0, 51),
        "cog_x": np.linspace(*x_lim, 2001),
        "cog_depth": np.linspace(*y_lim, 61),
        "cog_z": np.linspace(*z_lim, 2001),
    }


def load_reference(path: str | Path = REFERENCE_PATH) -> tuple[dict[str, ReferenceHistogram], dict]:
    """The Geant4 reference histograms and the geometry keys of the npz.

    Returns:
        histograms by name (see ``HISTOGRAMS``), and the geometry: ``layer_bottom_pos`` (30,)
        mm, ``cell_thickness`` mm, ``gun_xz_pos`` (2,) mm, ``xyz_limits`` (3, 2) mm.

    Example:
        >>> hists, geometry = load_reference()
        >>> hists["hits_vs_layer"].counts.shape, round(float(geometry["cell_thickness"]), 3)
        ((30,), 0.525)
    """
    with np.load(path) as f:
        ref = {k: f[k] for k in f.files}
    edges = _edges(ref)
    hists = {
        name: ReferenceHistogram(edges[name], ref[key].astype(float), text)
        for name, (key, text) in HISTOGRAMS.items()
    }
    geometry = {
        k: ref[k] for k in ("layer_bottom_pos", "cell_thickness", "gun_xz_pos", "xyz_limits")
    }
    return hists, geometry


def hit_energy_scale(hists: dict[str, ReferenceHistogram]) -> float:
    """The reference's hit-energy axis relative to its energy sums (about 2.92).

    In the file, hits vs radius and energy vs radius give 1223 MeV / 3130 hits = 0.39 MeV per
    hit, but the mean of the hit-energy spectrum (bin centres) is only 0.134 MeV for the same
    hits. We divide our hit energies by this ratio before histogramming ``hit_energy`` so the
    spectrum is compared on the reference's own axis; all other histograms use MeV / GeV as
    the sums do (which agree with the visible energy expected for 0.525 mm Si behind W).

    Example:
        >>> round(hit_energy_scale(load_reference()[0]), 2)
        2.92
    """
    spectrum = hists["hit_energy"]
    centres = np.sqrt(spectrum.edges[1:] * spectrum.edges[:-1])
    spectrum_mean = spectrum.counts @ centres / spectrum.counts.sum()
    per_hit = hists["energy_vs_radius"].counts.sum() * 1e3 / hists["hits_vs_radius"].counts.sum()
    return float(per_hit / spectrum_mean)


def ild_histograms(
    clouds: PointClouds, geometry: dict | None = None, energy_scale: float | None = None
) -> dict[str, np.ndarray]:
    """The reference histograms computed from ILD point clouds (column 2 = layer index 0..29).

    The radius is measured from the incident axis (0, 0); the centre of gravity is shifted to
    the reference's gun position and its depth uses the reference's layer positions.

    Args:
        clouds: showers from ``gflash.simulate("ild", ...)`` at normal incidence.
        geometry: the npz geometry keys (default: from :func:`load_reference`).
        energy_scale: hit energies are divided by this for ``hit_energy`` (default
            :func:`hit_energy_scale` of the reference; 1 histograms MeV).

    Returns:
        counts by name, on the bins of :func:`load_reference`.
    """
    if geometry is None or energy_scale is None:
        hists, reference_geometry = load_reference()
        geometry = reference_geometry if geometry is None else geometry
        energy_scale = hit_energy_scale(hists) if energy_scale is None else energy_scale
    edges = _edges(geometry)
    x, y, layer, e = (c.astype(np.float64) for c in clouds.points.T)
    r = np.hypot(x, y)
    e_sum = np.bincount(clouds.event_index, weights=e, minlength=len(clouds))
    cog = centroids(clouds, geometry)
    values = {
        "hits_vs_radius": (r, None),
        "energy_vs_radius": (r, e / 1e3),
        "hits_vs_layer": (layer, None),
        "energy_vs_layer": (layer, e / 1e3),
        "hit_energy": (e / energy_scale, None),
        "hits_per_shower": (np.diff(clouds.offsets), None),
        "energy_sum": (e_sum, None),
        **{k: (v, None) for k, v in cog.items()},
    }
    return {
        k: np.histogram(v, edges[k], weights=w)[0].astype(float) for k, (v, w) in values.items()
    }


def centroids(clouds: PointClouds, geometry: dict | None = None) -> dict[str, np.ndarray]:
    """Energy-weighted centre of gravity of every shower with energy, as the reference bins it.

    Returns:
        ``"cog_x"`` and ``"cog_z"`` (transverse, shifted to the reference's gun position) and
        ``"cog_depth"`` (the reference's layer positions), each (N,) float64 in mm.
    """
    geometry = load_reference()[1] if geometry is None else geometry
    x, y, layer, e = (c.astype(np.float64) for c in clouds.points.T)
    event, n = clouds.event_index, len(clouds)
    e_sum = np.bincount(event, weights=e, minlength=n)
    has = e_sum > 0
    depth = geometry["layer_bottom_pos"][layer.astype(np.int64)] + geometry["cell_thickness"] / 2
    gun_x, gun_z = np.asarray(geometry["gun_xz_pos"], float)
    mean = {
        name: np.bincount(event, weights=e * v, minlength=n)[has] / e_sum[has]
        for name, v in (("cog_x", x), ("cog_depth", depth), ("cog_z", y))
    }
    return {
        "cog_x": mean["cog_x"] + gun_x,
        "cog_depth": mean["cog_depth"],
        "cog_z": mean["cog_z"] + gun_z,
    }


def ild_comparison(
    n: int, seed: int, store: Store | None = None, progress: bool = False
) -> dict[str, dict[str, np.ndarray]]:
    """Reference histograms of two independent GFlash ``ild`` samples, through the store.

    The two samples are ``Source("gflash", "ild", n, seed)`` and the same with ``seed + 1``;
    the second supplies the floor of :func:`jsd_table`. Histogramming 10⁴ showers costs tens of
    seconds, so the histograms (and the first sample's centroids) are stored, keyed by both
    sources' keys and this module's code, and a rebuild reads them back.

    Returns:
        ``"ours"`` and ``"independent"``: histogram name -> counts (see :func:`ild_histograms`);
        ``"centroids"``: the first sample's :func:`centroids`.
    """
    store = store or default_store()
    sources = [Source("gflash", "ild", n, s) for s in (seed, seed + 1)]
    key = {"sources": [s.key for s in sources]}

    def build(tmp: Path) -> None:
        arrays = {}
        for label, source in zip(("ours", "independent"), sources, strict=True):
            clouds = source.clouds(store, progress=progress)
            arrays |= {f"{label}/{k}": v for k, v in ild_histograms(clouds).items()}
            if label == "ours":
                arrays |= {f"centroids/{k}": v for k, v in centroids(clouds).items()}
        np.savez(tmp, **arrays)

    path = store.get_or_build("gflash/ild_histograms", key, build, suffix=".npz", code=[__name__])
    result: dict[str, dict[str, np.ndarray]] = {"ours": {}, "independent": {}, "centroids": {}}
    with np.load(path) as f:
        for name in f.files:
            label, k = name.split("/")
            result[label][k] = f[name]
    return result


def jsd_table(
    ours: dict[str, np.ndarray],
    independent: dict[str, np.ndarray],
    n_showers: int,
    path: str | Path = REFERENCE_PATH,
) -> pd.DataFrame:
    """Jensen-Shannon divergence (base 2, shapes normalised, 1e-10 in empty bins) per histogram.

    ``metrics.jensen_shannon`` of our counts and the reference counts on the same bins; hit
    energies on the reference's axis (:func:`hit_energy_scale`). Beside it the floor, what a
    simulator identical to Geant4 would score at the comparison's sample sizes: the divergence
    between ``ours`` and an ``independent`` sample of the same size (``n_showers`` each), taken
    from (n, n) to the comparison's (n, n_reference) showers by ``metrics.floor_scale`` (the
    reference's 10⁵ Geant4 showers cannot be simulated here).

    Args:
        ours, independent: :func:`ild_histograms` of two independent samples of ``n_showers``
            ILD photons each (normal incidence, 10-90 GeV like the reference).
        n_showers: showers in each of them.
        path: the reference npz.

    Returns:
        One row per histogram name (see ``HISTOGRAMS``), columns ``"JSD vs Geant4"``,
        ``"floor"`` (0 is identical, 1 disjoint), ``"role"`` ("tuned" for :data:`TUNED`,
        "validation" otherwise) and ``"histogram"`` (its description).

    With 10k showers (seeds 2022, 2023): energy vs radius / layer 0.00044 / 0.0030, energy sum
    0.0010, centre of gravity x / depth / z 0.24 / 0.022 / 0.068 (validation); hits vs radius /
    layer 0.0037 / 0.0020, hit energy 0.0076, hits per shower 0.012 (tuned). The centroid gap
    is explained by :func:`centroid_gap`.
    """
    hists, _ = load_reference(path)
    n_reference = int(hists["hits_per_shower"].counts.sum())
    scale = floor_scale("jsd", (n_showers, n_showers), (n_showers, n_reference))
    columns = {
        "JSD vs Geant4": [jensen_shannon(ours[k], hists[k].counts) for k in HISTOGRAMS],
        "floor": [scale * jensen_shannon(ours[k], independent[k]) for k in HISTOGRAMS],
        "role": ["tuned" if k in TUNED else "validation" for k in HISTOGRAMS],
        "histogram": [hists[k].description for k in HISTOGRAMS],
    }
    return pd.DataFrame(columns, index=list(HISTOGRAMS))


def centroid_gap(
    cog_x: np.ndarray, path: str | Path = REFERENCE_PATH, seed: int = 0
) -> pd.DataFrame:
    """What the centre-of-gravity x divergence consists of: offset and scatter.

    Rows: our centroids as simulated; shifted by the difference of the means (the reference's
    x centroid sits 0.38 mm off its recorded gun position, its z centroid does not); shifted
    and smeared by a Gaussian (seed ``seed``) that brings our spread up to the reference's.

    Args:
        cog_x: (N,) our centre-of-gravity x per shower (:func:`centroids`), mm.

    Returns:
        Columns ``"mean [mm]"``, ``"std [mm]"``, ``"JSD vs Geant4"``; the last row is Geant4's.
    """
    reference = load_reference(path)[0]["cog_x"]
    centres = (reference.edges[1:] + reference.edges[:-1]) / 2
    weights = reference.counts / reference.counts.sum()
    ref_mean = float(weights @ centres)
    ref_std = float(np.sqrt(weights @ (centres - ref_mean) ** 2))
    shift = ref_mean - float(np.mean(cog_x))
    smear = np.sqrt(max(ref_std**2 - float(np.var(cog_x)), 0.0))
    noise = np.random.default_rng(seed).normal(0.0, smear, len(cog_x))
    variants = {
        "GFlash as simulated": cog_x,
        "GFlash shifted by the mean offset": cog_x + shift,
        "GFlash shifted and smeared to Geant4's spread": cog_x + shift + noise,
    }
    rows = {
        label: {
            "mean [mm]": float(np.mean(v)),
            "std [mm]": float(np.std(v)),
            "JSD vs Geant4": jensen_shannon(
                np.histogram(v, reference.edges)[0].astype(float), reference.counts
            ),
        }
        for label, v in variants.items()
    }
    rows["Geant4 (reference)"] = {"mean [mm]": ref_mean, "std [mm]": ref_std, "JSD vs Geant4": 0.0}
    return pd.DataFrame(rows).T


def comparison_figure(
    ours: dict[str, np.ndarray],
    names: list[str],
    jsd: dict[str, float],
    roles: dict[str, str],
    path: str | Path = REFERENCE_PATH,
):
    """Our histograms against the reference's, one panel per name, four per row.

    Args:
        ours: :func:`ild_histograms` counts by name.
        names: the histograms to draw, in order (a multiple of four).
        jsd, roles: the ``"JSD vs Geant4"`` and ``"role"`` columns of :func:`jsd_table`, by name.

    Returns:
        The figure; radial profiles and the hit spectrum on a logarithmic y axis.
    """
    reference, _ = load_reference(path)
    rows = -(-len(names) // 4)
    fig, axes = plt.subplots(rows, 4, figsize=(20, 4.25 * rows), layout="constrained")
    logy = {"hits_vs_radius", "energy_vs_radius", "hit_energy"}
    for name, ax in zip(names, axes.flat, strict=False):
        ref = reference[name]
        plotting.binned_compare(
            ref.edges, ref.counts, {"GFlash": ours[name]}, ax=ax, truth_label="Geant4"
        )
        ax.set_xlabel(ref.description, fontsize=10)
        ax.set_title(f"JSD {jsd[name]:.4f} ({roles[name]})", fontsize=11)
        ax.set_yscale("log" if name in logy else "linear")
        ax.set_xscale("log" if name == "hit_energy" else "linear")
    axes.flat[0].legend(frameon=False, fontsize=10)
    return fig
