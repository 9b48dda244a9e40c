"""GFlash-style parameterised EM showers (Grindhammer-Peters) in sampling calorimeters.

The model follows Grindhammer & Peters (hep-ex/0001020) as implemented in Geant4's
``parameterisations/gflash`` (facts in ``reference/gflash.md``), with these choices:

* Constants are unit-consistent: E_c = 2.66 (X0 Z / A)^1.1 MeV with X0 in g/cm^2 (Geant4
  inserts X0 in mm), R_M = X0 E_s / E_c with E_s = 21.2 MeV, and each layer's homogenised
  medium (:func:`calopaper.sim.calorimeters.medium`: mass-weighted Z, 1/X0 = sum(w_i/X0_i),
  F_S = 1 / (X0 per sampling period), e_hat = 1 / (1 + 0.007 (Z_absorber - Z_active))).
  Material data are PDG values (:data:`calopaper.sim.calorimeters.MATERIALS`).
* ``readout="total"`` (cells record absorber + active energy, CaloGAN) uses the homogeneous
  parameterisation of the medium; ``readout="active"`` (ILD) the sampling-calorimeter one,
  which describes the *visible* energy, times f_vis = e_hat * f_mip of each layer, with
  per-step Gamma fluctuations of variance a^2 (1 GeV) f_vis E_vis (sigma/E = a / sqrt(E/GeV)).
* Longitudinal (gflash.md 4.2): per (sub-)shower correlated Gaussian ln T, ln alpha with the
  clamps of Geant4's sampling class, and the Gamma profile integrated exactly over every
  sampling period (scipy's regularised incomplete gamma). A layer uses the parameters of its
  own medium with the shower's two normal deviates, so the thick-absorber part of a stack
  (ILD layers 21-30) gets its own F_S. Electrons start at the front; a photon converts at a
  depth ~ Exp(9/7 X0) into an e+ e- pair sharing its energy as x, 1 - x with
  dsigma/dx ~ 1 - 4/3 x (1 - x), each member an electron shower (this makes photon showers
  0.5-0.6 X0 shallower than a full-energy electron shower started at the conversion point).
* Radial (gflash.md 4.3): f(r) = p 2r R_C^2/(r^2+R_C^2)^2 + (1-p) 2r R_T^2/(r^2+R_T^2)^2 with
  the published tau and energy dependence and, for "active" readout, the sampling
  corrections; tau at mid-step (Geant4) or at the active layer. Truncated at ``MAX_RADIUS``
  R_M. R_M in mm at a layer is that of the medium from the front up to that layer, so the
  mass-less gaps of the real ILD layout widen the shower (25 mm instead of 11 mm) smoothly.
* Spots ("total"): N_spot = spots_per_gev (E/GeV)^spot_exponent (calogan: the homogeneous
  93 ln(Z) (E/GeV)^0.876), shared over the steps in proportion to their energy with at least
  one spot per step that has energy. Our addition: tail spots are ``tail_spots`` times more
  numerous and lighter than core spots (GFlash: 1, equal spots), which keeps the energy
  profile but lets the halo reach as many cells as Geant4's soft particles do.
* Hits ("active", our addition; GFlash has no model of the hits in a thin active layer): the
  visible energy of a step is carried by Poisson(E_vis / <e_hit>) hits (at least one): with
  probability ``soft_fraction`` a soft photon-induced deposit, dN/dln(E) ~ E^soft_exponent
  below ``mip_mpv``, else a charged crossing, Moyal(mip_mpv, mip_width) / cos(theta_track) with
  cos(theta_track) ~ U(track_cos_min, 1). Energies are rescaled to E_vis per step and merged
  per layer on ``point_grid`` (the reference's 5.088/6 mm sub-cell grid) at their
  energy-weighted mean position.

Tuning: the GFlash parameters are the published central values, untouched. The hit model
(ILD: mip_width 0.02 MeV, track_cos_min 0.3, soft_fraction 0.2, soft_exponent 1.2) was chosen
against the CaloClouds-3 Geant4 reference histograms (``validation.jsd_table``), and
``tail_spots = 20`` against the occupancy of 51 real CaloGAN showers.

Points are (eta mm, phi mm, layer index, E MeV); the layer's z in mm is
``calorimeter.layer_z[layer]`` (also in ``attrs["layer_z_mm"]``). ``cell_hits`` gives the
cells with the MIP cut; ``geometry.rebin`` with ``calorimeter.layers[i].segmentation`` on one
layer's points gives dense cell images, and ``datasets.clouds_to_calogan`` the CaloGAN layout.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc, gammaincc
from tqdm import tqdm

import calopaper
from calopaper.showers import PARTICLES, PointClouds
from calopaper.sim.calorimeters import (
    CALORIMETERS,
    Calorimeter,
    Medium,
    get_calorimeter,
    medium,
)

__all__ = [
    "CALORIMETERS",
    "MAX_RADIUS",
    "Calorimeter",
    "Profiles",
    "cell_hits",
    "longitudinal_parameters",
    "place_points",
    "radial_containment",
    "radial_parameters",
    "shower_profiles",
    "simulate",
]

#: Radial profiles are truncated at this many Moliere radii.
MAX_RADIUS = 10.0
#: Mean photon conversion depth, X0.
CONVERSION_DEPTH = 9.0 / 7.0
#: Showers per random stream: block b draws from ``SeedSequence(seed, spawn_key=(b,))``.
_BLOCK = 256
#: Steps with less energy than this (MeV) get no spot.
_MIN_ENERGY = 1e-9
_NAMES = {"gamma": "gamma", "e-": "e-", "e+": "e+", 22: "gamma", 11: "e-", -11: "e+"}


def _clamped_log(x: np.ndarray) -> np.ndarray:
    """ln(max(x, e^0.1)): Geant4's max(0.1, ln(x)) that also survives x <= 0."""
    return np.log(np.maximum(x, math.exp(0.1)))


def longitudinal_parameters(
    energy: np.ndarray, med: Medium, sampling: bool
) -> tuple[np.ndarray, ...]:
    """Means, widths and correlation of ln T and ln alpha (gflash.md 4.2).

    Args:
        energy: (N,) incident energy, GeV.
        med: the homogenised medium (Z, E_c, F_S, e_hat).
        sampling: use the sampling-calorimeter formulas (visible energy) instead of the
            homogeneous ones.

    Returns:
        mean_ln_t, mean_ln_alpha, sigma_ln_t, sigma_ln_alpha, rho: each (N,); T in X0.

    Example:
        >>> from calopaper.sim.calorimeters import ILD
        >>> m, a, *_ = longitudinal_parameters(np.array([10.0]), ILD.front, sampling=False)
        >>> round(float(np.exp(m[0])), 2), round(float(np.exp(a[0])), 2)
        (6.29, 4.28)
    """
    ln_y = np.log(np.asarray(energy, float) * 1e3 / med.critical_energy)
    t_hom = np.maximum(ln_y - 0.812, 0.1)
    a_hom = np.maximum(0.81 + (0.458 + 2.26 / med.Z) * ln_y, 0.1)
    if sampling:
        mean_t = _clamped_log(t_hom - 0.55 / med.F_S - 0.69 * (1 - med.e_hat))
        mean_a = _clamped_log(a_hom - 0.476 / med.F_S)
        widths = (-2.5 + 1.25 * ln_y, -0.82 + 0.79 * ln_y)
        rho = 0.784 - 0.023 * ln_y
    else:
        mean_t, mean_a = np.log(t_hom), np.log(a_hom)
        widths = (-1.4 + 1.26 * ln_y, -0.58 + 0.86 * ln_y)
        rho = 0.705 - 0.023 * ln_y
    # sigma = 1 / denominator, at most 0.5 (also where the denominator is <= 2).
    sigma_t, sigma_a = (np.where(d > 2.0, 1.0 / np.maximum(d, 2.0), 0.5) for d in widths)
    return mean_t, mean_a, sigma_t, sigma_a, np.clip(rho, -1.0, 1.0)


def radial_parameters(
    tau: np.ndarray, energy: np.ndarray, Z: float, F_S: float, e_hat: float, sampling: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Core radius R_C, tail radius R_T (units of R_M) and core fraction p (gflash.md 4.3).

    Args:
        tau: shower depth in units of the shower's mean depth (broadcast with ``energy``).
        energy: incident energy, GeV.
        Z, F_S, e_hat: medium constants (F_S, e_hat only enter when ``sampling``).
        sampling: add the sampling-calorimeter corrections.

    Returns:
        R_C, R_T (> 0) and p (in [0, 1]), broadcast shape.

    Example:
        >>> rc, rt, p = radial_parameters(1.0, 50.0, 72.3, 1.65, 0.704, sampling=False)
        >>> round(float(rc), 3), round(float(rt), 3), round(float(p), 3)
        (0.126, 0.698, 0.866)
    """
    tau, ln_e = np.asarray(tau, float), np.log(np.asarray(energy, float))
    r_core = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * Z) * tau
    k4 = 0.3585 + 0.0412 * ln_e
    r_tail = (0.659 - 0.00309 * Z) * (np.exp(-2.59 * (tau - 0.645)) + np.exp(k4 * (tau - 0.645)))
    x = (0.401 + 0.00187 * Z - tau) / (1.313 - 0.0686 * ln_e)
    p = (2.632 - 0.00094 * Z) * np.exp(x - np.exp(x))
    if sampling:
        r_core = r_core - 0.0203 * (1 - e_hat) + 0.0397 / F_S * np.exp(-tau)
        r_tail = r_tail - 0.14 * (1 - e_hat) - 0.495 / F_S * np.exp(-tau)
        p = p + (1 - e_hat) * (0.348 - 0.642 / F_S * np.exp(-((tau - 1) ** 2)))
    return np.maximum(r_core, 1e-3), np.maximum(r_tail, 1e-3), np.clip(p, 0.0, 1.0)


def radial_containment(
    radius: float, r_core: np.ndarray, r_tail: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """Fraction of the (truncated) radial profile within ``radius`` (all in units of R_M).

    Example:
        >>> float(radial_containment(10.0, 0.1, 1.0, 0.5))
        1.0
        >>> round(float(radial_containment(1.0, 0.1, 1.0, 0.5)), 3)  # core 0.99, tail 0.505
        0.748
    """
    m2, top = min(radius, MAX_RADIUS) ** 2, MAX_RADIUS**2

    def cdf(scale: np.ndarray) -> np.ndarray:
        return m2 / (m2 + scale**2) * (top + scale**2) / top

    return p * cdf(np.asarray(r_core)) + (1 - p) * cdf(np.asarray(r_tail))


def _sample_radius(rng: np.random.Generator, scale: np.ndarray) -> np.ndarray:
    """Radii from 2 r R^2 / (r^2 + R^2)^2 truncated at ``MAX_RADIUS`` (units of R_M)."""
    u = rng.random(scale.shape) * MAX_RADIUS**2 / (MAX_RADIUS**2 + scale**2)
    return scale * np.sqrt(u / (1 - u))


@dataclass
class Profiles:
    """Longitudinal development of a batch of showers over the calorimeter's sampling steps.

    A photon converts at ``start`` into an e+ e- pair; each pair member and each incident
    electron is one row (a "sub-shower") with its own T and alpha.

    Attributes:
        incident_energy: (N,) GeV.
        particle: (N,) PDG codes.
        direction: (N, 3) unit vectors of incidence.
        shower: (R,) index of the incident shower each row belongs to.
        energy: (R,) energy of the row's electron, GeV.
        start: (R,) start depth along the axis, X0 (photon conversion; 0 for e+-).
        T: (R, S) depth of the maximum of the Gamma profile (from ``start``), X0, with the
            parameters of each step's medium (constant along a row in a uniform calorimeter).
        alpha: (R, S) shape parameter of the Gamma profile.
        tau_scale: (R, S) divide a depth (from ``start``) by this to get GFlash's tau.
        step_layer: (S,) readout layer of each step.
        depth: (R, S + 1) step edges along the axis, X0.
        recorded: (R, S) energy the cells record per step, MeV: deposited energy for "total"
            readout, visible energy (sampling-fluctuated) for "active".
    """

    incident_energy: np.ndarray
    particle: np.ndarray
    direction: np.ndarray
    shower: np.ndarray
    energy: np.ndarray
    start: np.ndarray
    T: np.ndarray
    alpha: np.ndarray
    tau_scale: np.ndarray
    step_layer: np.ndarray
    depth: np.ndarray
    recorded: np.ndarray

    def __len__(self) -> int:
        return len(self.incident_energy)

    def shower_recorded(self) -> np.ndarray:
        """(N,) total recorded energy of each incident shower, MeV."""
        return np.bincount(self.shower, weights=self.recorded.sum(1), minlength=len(self))


def _steps(cal: Calorimeter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampling steps: (S,) layer index, (S + 1,) edges in X0 and (S + 1,) edges in mm."""
    sub = [max(1, math.ceil(la.periods - 1e-9)) for la in cal.layers]
    layer = np.repeat(np.arange(len(cal.layers)), sub)
    x0 = np.repeat([la.radiation_lengths / k for la, k in zip(cal.layers, sub, strict=True)], sub)
    mm = np.repeat([la.thickness / k for la, k in zip(cal.layers, sub, strict=True)], sub)
    return layer, np.concatenate([[0.0], np.cumsum(x0)]), np.concatenate([[0.0], np.cumsum(mm)])


def _gamma_cdf_steps(alpha: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """P(alpha, hi) - P(alpha, lo) elementwise, via the upper function in the tail (accurate)."""
    tail = lo > alpha
    lower = np.where(tail, gammaincc(alpha, hi), gammainc(alpha, lo))
    upper = np.where(tail, gammaincc(alpha, lo), gammainc(alpha, hi))
    return np.maximum(upper - lower, 0.0)


def _pair_fraction(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n,) electron energy fraction x of a pair, dsigma/dx ~ 1 - 4/3 x (1 - x) (Bethe-Heitler,
    complete screening), by rejection (acceptance >= 2/3)."""
    x = rng.random(n)
    todo = rng.random(n) > 1 - 4 / 3 * x * (1 - x)
    while todo.any():
        x[todo] = rng.random(todo.sum())
        todo[todo] = rng.random(todo.sum()) > 1 - 4 / 3 * x[todo] * (1 - x[todo])
    return x


def shower_profiles(
    calorimeter: Calorimeter | str,
    energy: np.ndarray,
    particle: np.ndarray,
    direction: np.ndarray,
    rng: np.random.Generator,
) -> Profiles:
    """Draw each (sub-)shower's start, T and alpha and integrate its energy over the steps.

    Args:
        calorimeter: a :class:`Calorimeter` or preset name.
        energy: (N,) incident energies, GeV.
        particle: (N,) PDG codes (22, 11 or -11).
        direction: (N, 3) unit vectors with a positive z component.
        rng: random generator.

    Returns:
        The :class:`Profiles`; ``recorded`` integrates E * Gamma(t - start; alpha, beta) over
        the steps (gflash.md 4.2), scaled by f_vis and fluctuated for "active" readout.
    """
    cal = get_calorimeter(calorimeter)
    sampling = cal.readout == "active"
    incident, particle = np.asarray(energy, float), np.asarray(particle)
    direction = np.asarray(direction, float)
    photon = particle == 22
    conversion = rng.exponential(CONVERSION_DEPTH, len(incident))
    x = _pair_fraction(rng, int(photon.sum()))
    shower = np.concatenate([np.arange(len(incident)), np.flatnonzero(photon)])
    first = np.ones(len(incident))
    first[photon] = x
    sub = np.concatenate([first, 1 - x])
    energy = incident[shower] * sub
    start = np.where(photon, conversion, 0.0)[shower]
    n = len(shower)

    # Each layer's profile follows the parameterisation of its own medium (one group per
    # distinct medium), with the same two normal deviates per row.
    step_layer, x0_edges, _ = _steps(cal)
    media = [medium([la]) for la in cal.layers]
    keys = [(m.Z, m.critical_energy, m.F_S, m.e_hat) for m in media]
    distinct = list(dict.fromkeys(keys))
    step_group = np.array([distinct.index(keys[la]) for la in step_layer])
    z1, z2 = rng.standard_normal((2, n))
    params = []
    for key in distinct:
        mean_t, mean_a, sigma_t, sigma_a, rho = longitudinal_parameters(
            energy, media[keys.index(key)], sampling
        )
        c1, c2 = np.sqrt((1 + rho) / 2), np.sqrt((1 - rho) / 2)
        T = np.maximum(np.exp(mean_t + sigma_t * (c1 * z1 + c2 * z2)), 1.0)
        alpha = np.maximum(np.exp(mean_a + sigma_a * (c1 * z1 - c2 * z2)), 1.1)
        mean_alpha = np.exp(mean_a)
        params.append((T, alpha, T * alpha / (alpha - 1) * (mean_alpha - 1) / mean_alpha))
    T, alpha, tau_scale = (np.stack([p[i] for p in params], 1)[:, step_group] for i in range(3))
    beta = (alpha - 1) / T

    depth = x0_edges[None, :] / direction[shower, 2:3]
    since = np.maximum(depth - start[:, None], 0.0)
    fraction = _gamma_cdf_steps(alpha, beta * since[:, :-1], beta * since[:, 1:])
    deposit = energy[:, None] * 1e3 * fraction
    f_step = np.ones(len(step_layer))
    if sampling:
        f_vis = np.array([medium([la]).e_hat * medium([la]).f_mip for la in cal.layers])
        f_step = f_vis[step_layer]
        deposit = deposit * f_step
    if cal.sampling_resolution > 0:
        # Var = a^2 (1 GeV) f E_vis per step gives sigma/E = a / sqrt(E/GeV) for the shower.
        scale = cal.sampling_resolution**2 * 1e3 * f_step
        deposit = rng.gamma(deposit / scale, scale)
    recorded = np.where(deposit > _MIN_ENERGY, deposit, 0.0)
    return Profiles(
        incident,
        particle,
        direction,
        shower,
        energy,
        start,
        T,
        alpha,
        tau_scale,
        step_layer,
        depth,
        recorded,
    )


def _merge(
    shower: np.ndarray, layer: np.ndarray, xy: np.ndarray, e: np.ndarray, grid: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum deposits per (shower, layer, grid square) at their energy-weighted mean position.

    Returns shower, layer, xy (M, 2) and energy of the merged deposits, sorted by shower, layer.
    """
    half = 1 << 20
    n_layers = int(layer.max()) + 1
    ij = np.clip(np.floor(xy / grid).astype(np.int64), -half + 1, half - 1) + half
    key = ((shower.astype(np.int64) * n_layers + layer) << 42) | (ij[:, 0] << 21) | ij[:, 1]
    unique, inverse = np.unique(key, return_inverse=True)
    energy = np.bincount(inverse, weights=e)
    pos = np.stack([np.bincount(inverse, weights=e * c) for c in xy.T], 1) / energy[:, None]
    # Keep each merged point inside its square also after the cast to float32, so rebinning
    # onto cells whose edges lie on the grid stays exact.
    lo = (np.stack([(unique >> 21) & ((1 << 21) - 1), unique & ((1 << 21) - 1)], 1) - half) * grid
    lo32, hi32 = lo.astype(np.float32), (lo + grid).astype(np.float32)
    lo32 = np.where(lo32 < lo, np.nextafter(lo32, np.float32(np.inf)), lo32)
    hi32 = np.where(hi32 >= lo + grid, np.nextafter(hi32, np.float32(-np.inf)), hi32)
    pos = np.clip(pos.astype(np.float32), lo32, hi32).astype(np.float64)
    group = unique >> 42
    return group // n_layers, group % n_layers, pos, energy


def _mean_hit_energy(cal: Calorimeter) -> float:
    """Mean of :func:`_hit_energies` before renormalisation, MeV."""
    c0, k = cal.track_cos_min, cal.soft_exponent
    mean_path = -math.log(c0) / (1 - c0) if c0 < 1 else 1.0
    mip = (cal.mip_mpv + cal.mip_width * (np.euler_gamma + math.log(2))) * mean_path
    soft = cal.mip_mpv * k / (k + 1)
    return (1 - cal.soft_fraction) * mip + cal.soft_fraction * soft


def _hit_energies(cal: Calorimeter, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size,) raw hit energies, MeV: charged crossings, Moyal(mip_mpv, mip_width) over
    U(track_cos_min, 1) path cosines, or with probability ``soft_fraction`` a soft deposit with
    dN/dln(E) ~ E^soft_exponent below ``mip_mpv`` (photon-induced electrons)."""
    mip = cal.mip_mpv - cal.mip_width * np.log(rng.standard_normal(size) ** 2)
    mip = mip / rng.uniform(cal.track_cos_min, 1.0, size)
    soft = cal.mip_mpv * rng.random(size) ** (1 / cal.soft_exponent)
    return np.where(rng.random(size) < cal.soft_fraction, soft, mip)


def place_points(
    calorimeter: Calorimeter | str, profiles: Profiles, rng: np.random.Generator
) -> PointClouds:
    """Turn longitudinal profiles into points: spots ("total") or merged hits ("active").

    Per shower the point energies sum to ``profiles.shower_recorded()`` (float32 rounding).

    Args:
        calorimeter: the calorimeter the profiles were drawn for.
        profiles: from :func:`shower_profiles`.
        rng: random generator.

    Returns:
        ``PointClouds`` with points (eta mm, phi mm, layer index, E MeV), sorted by shower and
        layer; attrs are left empty.
    """
    cal = get_calorimeter(calorimeter)
    active = cal.readout == "active"
    rec = profiles.recorded
    # GFlash's tau per (row, step): hits in the active layer at the back of a step ("active"),
    # spots at mid-step as in Geant4 ("total").
    depth = profiles.depth
    t = depth[:, :-1] + (1.0 if active else 0.5) * np.diff(depth, axis=1)
    tau = np.maximum(t - profiles.start[:, None], 0.0) / profiles.tau_scale
    media = [medium([la]) for la in cal.layers]
    Z, F_S, e_hat = (np.array([getattr(m, k) for m in media]) for k in ("Z", "F_S", "e_hat"))
    lay = profiles.step_layer
    r_core, r_tail, p = radial_parameters(
        tau, profiles.energy[:, None], Z[lay], F_S[lay], e_hat[lay], active
    )
    # Deposits per (row, step, component), component 0 = core, 1 = tail.
    share = np.stack([p, 1 - p], -1)  # energy fraction of each component
    if active:
        counts = rng.poisson(rec / _mean_hit_energy(cal))
        counts = np.where(rec > 0, np.maximum(counts, 1), 0)
        cell = np.repeat(np.arange(rec.size), counts.ravel())
        core = rng.random(len(cell)) < p.ravel()[cell]
        e = _hit_energies(cal, len(cell), rng)
        norm = np.bincount(cell, weights=e, minlength=rec.size)
        e = e * (rec.ravel() / np.where(norm > 0, norm, 1.0))[cell]
        cell = 2 * cell + ~core
    else:
        # Tail spots are tail_spots times more numerous per unit energy than core spots; each
        # component keeps exactly its energy share, split equally among its spots.
        spots = cal.spots_per_gev * profiles.energy**cal.spot_exponent
        weight = share * np.array([1.0, cal.tail_spots])
        n_step = spots[:, None] * rec / (profiles.energy[:, None] * 1e3)
        expected = (n_step / weight.sum(-1))[..., None] * weight
        counts = np.floor(expected + rng.random(expected.shape)).astype(np.int64)
        has = (rec[..., None] > 0) & (share > 0)
        counts = np.where(has, np.maximum(counts, 1), 0)
        cell = np.repeat(np.arange(counts.size), counts.ravel())
        energy = rec[..., None] * share / np.maximum(counts, 1)
        e = energy.ravel()[cell]
    row, step = np.divmod(cell // 2, rec.shape[1])
    layer = lay[step]
    size = len(cell)
    radius = np.where(cell % 2 == 0, r_core.ravel()[cell // 2], r_tail.ravel()[cell // 2])
    r_m = np.array([medium(cal.layers[: i + 1]).moliere_radius for i in range(len(cal.layers))])
    r = _sample_radius(rng, radius) * r_m[layer]
    psi = rng.uniform(0.0, 2 * np.pi, size)
    if active:
        z = cal.layer_z[layer]
    else:
        _, _, z_edges = _steps(cal)
        z = z_edges[step] + rng.random(size) * np.diff(z_edges)[step]
    shower = profiles.shower[row]
    xy = _to_layer_plane(r * np.cos(psi), r * np.sin(psi), z, profiles.direction[shower])
    if cal.point_grid > 0 and size:
        shower, layer, xy, e = _merge(shower, layer, xy, e, cal.point_grid)
    else:
        order = np.argsort(shower * len(lay) + step, kind="stable")
        shower, layer, xy, e = shower[order], layer[order], xy[order], e[order]
    points = np.column_stack([xy, layer, e])
    counts = np.bincount(shower, minlength=len(profiles))
    return PointClouds(
        points,
        np.concatenate([[0], np.cumsum(counts)]),
        profiles.incident_energy,
        profiles.direction,
        profiles.particle,
        {},
    )


def _to_layer_plane(
    u: np.ndarray, v: np.ndarray, z: np.ndarray, direction: np.ndarray
) -> np.ndarray:
    """(P, 2) layer-plane (eta, phi) of points at depth z (mm) offset by (u, v) from the axis.

    (u, v) are taken in the plane normal to the axis, u in the plane of incidence; projecting
    along the axis stretches u by 1 / cos(theta). The axis enters at (0, 0) on the front face.
    """
    cos_t = direction[:, 2]
    if np.all(cos_t == 1.0):
        return np.stack([u, v], 1)
    sin_t = np.sqrt(np.maximum(1 - cos_t**2, 0.0))
    safe = np.where(sin_t > 0, sin_t, 1.0)
    cos_p = np.where(sin_t > 0, direction[:, 0] / safe, 1.0)
    sin_p = np.where(sin_t > 0, direction[:, 1] / safe, 0.0)
    along = u / cos_t
    return np.stack(
        [
            z * direction[:, 0] / cos_t + along * cos_p - v * sin_p,
            z * direction[:, 1] / cos_t + along * sin_p + v * cos_p,
        ],
        1,
    )


def _validate_energy(energy: object, n: int) -> tuple[float, float] | np.ndarray:
    """A (lo, hi) range, or (n,) per-shower values for a 1-d ndarray; GeV in [0.1, 1e4]."""
    per_shower = isinstance(energy, np.ndarray) and energy.ndim == 1
    try:
        values = np.asarray(energy, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if per_shower:
        ok = values.shape == (n,)
    else:
        values = np.repeat(values, 2) if values.size == 1 else values
        ok = values.shape == (2,) and values[0] <= values[1]
    if not (ok and np.all((values >= 0.1) & (values <= 1e4))):
        msg = (
            f"energy = {energy!r} is invalid; expected a value, a (lo, hi) range with lo <= hi "
            f"or an ndarray of {n} values, in GeV within GFlash's range [0.1, 10000]"
        )
        raise ValueError(msg)
    return values.copy() if per_shower else (float(values[0]), float(values[1]))


def _validate_angles(theta: object, phi: object, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n,) polar angles in [0, pi/2) and finite azimuths, rad."""
    try:
        t = np.broadcast_to(np.asarray(theta, dtype=float), (n,))
        p = np.broadcast_to(np.asarray(phi, dtype=float), (n,))
    except (TypeError, ValueError) as err:
        msg = f"theta = {theta!r}, phi = {phi!r} are invalid; expected floats or {n} values, rad"
        raise ValueError(msg) from err
    if not np.all((t >= 0) & (t < np.pi / 2)):
        msg = f"theta = {theta!r} is invalid; expected angles in [0, pi/2) rad"
        raise ValueError(msg)
    if not np.all(np.isfinite(p)):
        msg = f"phi = {phi!r} is invalid; expected finite angles, rad"
        raise ValueError(msg)
    return t, p


def simulate(
    calorimeter: Calorimeter | str,
    n: int,
    seed: int = 0,
    *,
    particle: str | int | None = None,
    energy: float | tuple[float, float] | np.ndarray | None = None,
    theta: float | np.ndarray | None = None,
    phi: float | np.ndarray | None = None,
    progress: bool = False,
) -> PointClouds:
    """Simulate ``n`` GFlash-style showers in a calorimeter.

    Showers are drawn in blocks of 256, block b from ``SeedSequence(seed, spawn_key=(b,))``,
    so the same arguments give the same showers.

    Args:
        calorimeter: a :class:`Calorimeter` or a key of ``CALORIMETERS`` ("calogan", "ild").
        n: number of showers.
        seed: non-negative random seed.
        particle: "gamma", "e-" or "e+" (or PDG 22, 11, -11); default the calorimeter's.
        energy: a fixed energy, a (lo, hi) uniform range or an (n,) ndarray, GeV; default the
            calorimeter's range (calogan U[1, 100], ild U[10, 90]).
        theta: polar angle of incidence to the calorimeter normal, rad, in [0, pi/2); scalar
            or (n,); default the calorimeter's (0).
        phi: azimuth of incidence, rad (the shower axis moves along (cos phi, sin phi)).
        progress: show a tqdm bar over blocks.

    Returns:
        ``PointClouds`` with points (eta mm, phi mm, layer index, E MeV): spots of deposited
        energy for "total" readout (calogan), merged visible hits for "active" readout (ild).
        The shower enters at (0, 0) on the front face; at depth z (mm, see
        ``calorimeter.layer_z``) its axis is at z tan(theta) (cos phi, sin phi).

    Raises:
        ValueError: on an unknown calorimeter or particle, n < 1, a negative seed, energies
            outside [0.1, 10000] GeV or NaN, or angles outside their range.

    Example:
        >>> clouds = simulate("ild", 3, seed=1, energy=20.0)
        >>> len(clouds), clouds.incident_energy.tolist()
        (3, [20.0, 20.0, 20.0])
    """
    cal = get_calorimeter(calorimeter)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        msg = f"n = {n!r} is invalid; expected a positive number of showers"
        raise ValueError(msg)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        msg = f"seed = {seed!r} is invalid; expected a non-negative int"
        raise ValueError(msg)
    name = cal.particle if particle is None else particle
    if not isinstance(name, str | int | np.integer) or name not in _NAMES:
        msg = f"particle = {name!r} is invalid; expected 'gamma', 'e-' or 'e+' (or 22, 11, -11)"
        raise ValueError(msg)
    name = _NAMES[name]
    energies = _validate_energy(cal.energy if energy is None else energy, n)
    thetas, phis = _validate_angles(
        cal.theta if theta is None else theta, cal.phi if phi is None else phi, n
    )
    blocks = []
    for block, lo in enumerate(tqdm(range(0, n, _BLOCK), disable=not progress, desc="gflash")):
        rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(block,)))
        k = min(_BLOCK, n - lo)
        if isinstance(energies, tuple):
            e = rng.uniform(*energies, k)
        else:
            e = energies[lo : lo + k]
        t, p = thetas[lo : lo + k], phis[lo : lo + k]
        direction = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], 1)
        pdg = np.full(k, PARTICLES[name])
        blocks.append(place_points(cal, shower_profiles(cal, e, pdg, direction, rng), rng))
    clouds = PointClouds.concatenate(blocks)
    clouds.attrs = {
        "generator": "calopaper.sim.gflash",
        "calopaper_version": calopaper.__version__,
        "calorimeter": cal.name,
        "readout": cal.readout,
        "seed": int(seed),
        "particle": name,
        "energy": json.dumps(energies if isinstance(energies, tuple) else "per shower"),
        "theta": float(thetas[0]) if np.all(thetas == thetas[0]) else "per shower",
        "phi": float(phis[0]) if np.all(phis == phis[0]) else "per shower",
        "points_column_2": "layer index",
        "layer_z_mm": json.dumps(np.round(cal.layer_z, 4).tolist()),
    }
    return clouds


def cell_hits(clouds: PointClouds, calorimeter: Calorimeter | str) -> PointClouds:
    """Sum points into each layer's cells and drop cells below the calorimeter's MIP cut.

    Sparse cell images: one point per cell with energy, at the cell centre. Points outside a
    layer's grid are dropped. For dense (N, n_eta, n_phi) images of one layer use
    ``geometry.rebin`` with ``calorimeter.layers[layer].segmentation`` on that layer's points.

    Args:
        clouds: showers from :func:`simulate` (column 2 = layer index).
        calorimeter: the calorimeter they were simulated in.

    Returns:
        ``PointClouds`` of cells (eta mm, phi mm, layer index, E MeV) with E >= ``mip_cut``.

    Example:
        >>> cells = cell_hits(simulate("ild", 2, energy=10.0), "ild")
        >>> bool(cells.points[:, 3].min() >= 0.1)
        True
    """
    cal = get_calorimeter(calorimeter)
    layer = clouds.points[:, 2].astype(np.int64)
    if len(layer) and (layer.min() < 0 or layer.max() >= len(cal.layers)):
        msg = f"layer indices {layer.min()}..{layer.max()} do not fit calorimeter {cal.name!r}"
        raise ValueError(msg)
    n_cells = np.array([la.cells for la in cal.layers])
    width = np.array([la.width for la in cal.layers])
    size = width / n_cells
    xy = clouds.points[:, :2].astype(np.float64)
    ij = np.floor((xy + width[layer] / 2) / size[layer]).astype(np.int64)
    inside = np.all((ij >= 0) & (ij < n_cells[layer]), axis=1)
    shower = clouds.event_index[inside]
    layer, ij = layer[inside], ij[inside]
    n_layers, stride = len(cal.layers), int(n_cells.max())
    key = ((shower * n_layers + layer) * stride + ij[:, 0]) * stride + ij[:, 1]
    unique, inverse = np.unique(key, return_inverse=True)
    energy = np.bincount(inverse, weights=clouds.points[inside, 3].astype(np.float64))
    keep = energy >= cal.mip_cut
    unique, energy = unique[keep], energy[keep]
    rest, j = np.divmod(unique, stride)
    rest, i = np.divmod(rest, stride)
    shower, layer = np.divmod(rest, n_layers)
    centre = (np.stack([i, j], 1) + 0.5) * size[layer] - width[layer] / 2
    points = np.column_stack([centre, layer, energy])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(shower, minlength=len(clouds)))])
    return PointClouds(
        points,
        offsets,
        clouds.incident_energy,
        clouds.incident_direction,
        clouds.particle,
        {**clouds.attrs, "cells": True, "mip_cut_mev": cal.mip_cut},
    )
