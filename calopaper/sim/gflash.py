"""GFlash-style parameterised electromagnetic showers (Grindhammer-Peters) in sampling calorimeters.

The model follows Grindhammer & Peters (hep-ex/0001020) as implemented in Geant4's
``parameterisations/gflash`` (facts in ``reference/gflash.md``), with these choices:

* Material constants are unit-consistent: E_c = 2.66 (X0 Z / A)^1.1 MeV with X0 in g/cm^2
  (Geant4 inserts X0 in mm), R_M = X0 E_s / E_c with E_s = 21.2 MeV, and the homogenised
  medium of :mod:`calopaper.sim.calorimeters` (mass-weighted Z, 1/X0 = sum(w_i / X0_i),
  F_S = 1 / (X0 per sampling period), e_hat = 1 / (1 + 0.007 (Z_abs - Z_act))).
* A calorimeter whose cells record all deposited energy (``readout="total"``, CaloGAN) uses
  the homogeneous parameterisation of the effective medium for the profiles; one that records
  the active material only (``readout="active"``, ILD) uses the sampling-calorimeter formulas,
  which describe the *visible* energy, scaled by f_vis = e_hat * f_mip of each layer.
* Longitudinal: per shower, correlated Gaussian ln T and ln alpha (gflash.md 4.2, with the
  clamps of Geant4's sampling class), and the Gamma profile integrated exactly over every
  sampling period; photons start at a depth ~ Exp(9/7 X0), electrons at 0.
* Radial: core + tail, f(r) = p 2r R_C^2/(r^2+R_C^2)^2 + (1-p) 2r R_T^2/(r^2+R_T^2)^2 with the
  depth (tau) and energy dependence of gflash.md 4.3, truncated at ``MAX_RADIUS`` R_M. R_M in
  mm at a layer is that of the medium from the front up to that layer, so the mass-less gaps of
  a real layout widen the shower smoothly.
* Spots ("total" readout): N_spot = spots_per_gev (E/GeV)^spot_exponent, shared over the steps
  in proportion to their energy with at least one spot per step that has energy, each step's
  energy split equally among its spots (GFlash's rule). The CaloGAN preset uses the homogeneous
  93 ln(Z) (E/GeV)^0.876.
* Hits ("active" readout, our addition; GFlash has no model of the hits of a thin active
  layer): the visible energy of a layer is fluctuated with a Gamma of variance a^2 (1 GeV)
  f_vis E_vis (stochastic term a), carried by charged-particle crossings whose number is
  Poisson(E_vis / <e_cross>) (at least one), each crossing a Landau-like (Moyal) MIP deposit
  times its path length 1/cos(theta_track), cos(theta_track) ~ U(track_cos_min, 1); a crossing's
  energy is split between the two halves of its track segment, the layer's energies are
  renormalised to E_vis and the deposits are merged per layer on the ``point_grid`` (the
  reference's sub-cell grid) at their energy-weighted mean position.

Output points are (eta mm, phi mm, layer index, E MeV); the layer's z in mm is
``calorimeter.layer_z[layer]`` (also stored in ``attrs["layer_z_mm"]``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc, gammaincc
from tqdm.auto import tqdm

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
        (6.29, 4.16)
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
        >>> float(radial_containment(1.0, 1.0, 1.0, 0.5))
        0.5
    """
    m2, top = min(radius, MAX_RADIUS) ** 2, MAX_RADIUS**2

    def cdf(scale: np.ndarray) -> np.ndarray:
        return m2 / (m2 + scale**2) * (top + scale**2) / top

    return p * cdf(np.asarray(r_core)) + (1 - p) * cdf(np.asarray(r_tail))


def _sample_radius(
    rng: np.random.Generator, r_core: np.ndarray, r_tail: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """Radii (units of R_M) from the core + tail profile truncated at ``MAX_RADIUS``."""
    scale = np.where(rng.random(p.shape) < p, r_core, r_tail)
    u = rng.random(p.shape) * MAX_RADIUS**2 / (MAX_RADIUS**2 + scale**2)
    return scale * np.sqrt(u / (1 - u))


@dataclass
class Profiles:
    """Per-shower longitudinal development over the calorimeter's sampling steps.

    Attributes:
        energy: (N,) incident energy, GeV.
        particle: (N,) PDG codes.
        direction: (N, 3) unit vectors of incidence.
        start: (N,) shower start depth along the axis, X0 (photon conversion; 0 for e+-).
        T: (N,) depth of the maximum of the Gamma profile (from ``start``), X0.
        alpha: (N,) shape parameter of the Gamma profile.
        tau_scale: (N,) divide a depth (from ``start``) by this to get GFlash's tau.
        step_layer: (S,) readout layer of each step.
        depth: (N, S + 1) step edges along the axis, X0.
        recorded: (N, S) energy the cells record per step, MeV (deposited energy for "total"
            readout, visible energy for "active"), after sampling fluctuations.
    """

    energy: np.ndarray
    particle: np.ndarray
    direction: np.ndarray
    start: np.ndarray
    T: np.ndarray
    alpha: np.ndarray
    tau_scale: np.ndarray
    step_layer: np.ndarray
    depth: np.ndarray
    recorded: np.ndarray

    def __len__(self) -> int:
        return len(self.energy)


def _steps(cal: Calorimeter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampling steps: (S,) layer index, (S + 1,) edges in X0 and (S + 1,) edges in mm."""
    sub = [max(1, math.ceil(la.periods - 1e-9)) for la in cal.layers]
    layer = np.repeat(np.arange(len(cal.layers)), sub)
    x0 = np.repeat([la.radiation_lengths / k for la, k in zip(cal.layers, sub, strict=True)], sub)
    mm = np.repeat([la.thickness / k for la, k in zip(cal.layers, sub, strict=True)], sub)
    return layer, np.concatenate([[0.0], np.cumsum(x0)]), np.concatenate([[0.0], np.cumsum(mm)])


def _gamma_cdf_steps(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(N, S) Gamma probability between consecutive columns of x (N, S + 1), tail-accurate."""
    a = alpha[:, None]
    lower, upper = gammainc(a, x), gammaincc(a, x)
    tail = x[:, :-1] > a
    diff = np.where(tail, upper[:, :-1] - upper[:, 1:], lower[:, 1:] - lower[:, :-1])
    return np.maximum(diff, 0.0)


def shower_profiles(
    calorimeter: Calorimeter | str,
    energy: np.ndarray,
    particle: np.ndarray,
    direction: np.ndarray,
    rng: np.random.Generator,
) -> Profiles:
    """Draw each shower's start, T and alpha and integrate its energy over the sampling steps.

    Args:
        calorimeter: a :class:`Calorimeter` or preset name.
        energy: (N,) incident energies, GeV.
        particle: (N,) PDG codes (22, 11 or -11).
        direction: (N, 3) unit vectors with a positive z component.
        rng: random generator.

    Returns:
        The :class:`Profiles`; ``recorded`` integrates E * Gamma(t - start; alpha, beta) over the
        steps (gflash.md 4.2), scaled by f_vis and fluctuated for "active" readout.
    """
    cal = get_calorimeter(calorimeter)
    sampling = cal.readout == "active"
    energy = np.asarray(energy, float)
    n = len(energy)
    mean_t, mean_a, sigma_t, sigma_a, rho = longitudinal_parameters(energy, cal.front, sampling)
    z1, z2 = rng.standard_normal((2, n))
    c1, c2 = np.sqrt((1 + rho) / 2), np.sqrt((1 - rho) / 2)
    T = np.maximum(np.exp(mean_t + sigma_t * (c1 * z1 + c2 * z2)), 1.0)
    alpha = np.maximum(np.exp(mean_a + sigma_a * (c1 * z1 - c2 * z2)), 1.1)
    beta = (alpha - 1) / T
    start = np.where(np.asarray(particle) == 22, rng.exponential(CONVERSION_DEPTH, n), 0.0)
    mean_alpha = np.exp(mean_a)
    tau_scale = T * alpha / (alpha - 1) * (mean_alpha - 1) / mean_alpha

    step_layer, x0_edges, _ = _steps(cal)
    depth = x0_edges[None, :] / np.asarray(direction)[:, 2:3]
    fraction = _gamma_cdf_steps(alpha, beta[:, None] * np.maximum(depth - start[:, None], 0.0))
    deposit = energy[:, None] * 1e3 * fraction
    if sampling:
        f_vis = np.array([medium([la]).e_hat * medium([la]).f_mip for la in cal.layers])
        deposit = deposit * f_vis[step_layer]
    if cal.sampling_resolution > 0:
        # Var = a^2 (1 GeV) f E_vis per step gives sigma/E = a / sqrt(E/GeV) for the shower.
        f_step = f_vis[step_layer] if sampling else np.ones(len(step_layer))
        scale = cal.sampling_resolution**2 * 1e3 * f_step
        deposit = rng.gamma(deposit / scale, scale)
    recorded = np.where(deposit > _MIN_ENERGY, deposit, 0.0)
    return Profiles(
        energy, np.asarray(particle), direction, start, T, alpha, tau_scale, step_layer, depth, recorded
    )


def _merge(
    shower: np.ndarray, step: np.ndarray, xy: np.ndarray, e: np.ndarray, grid: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum deposits per (shower, step, grid square) at their energy-weighted mean position.

    Returns shower, step, xy (M, 2) and energy of the merged deposits, sorted by shower, step.
    """
    half = 1 << 20
    ij = np.clip(np.floor(xy / grid).astype(np.int64), -half + 1, half - 1) + half
    key = ((shower.astype(np.int64) * (step.max() + 1) + step) << 42) | (ij[:, 0] << 21) | ij[:, 1]
    unique, inverse = np.unique(key, return_inverse=True)
    energy = np.bincount(inverse, weights=e)
    pos = np.stack([np.bincount(inverse, weights=e * c) for c in xy.T], 1) / energy[:, None]
    group = unique >> 42
    n_steps = step.max() + 1
    return group // n_steps, group % n_steps, pos, energy


def place_points(
    calorimeter: Calorimeter | str, profiles: Profiles, rng: np.random.Generator
) -> PointClouds:
    """Turn longitudinal profiles into points: spots ("total") or merged hits ("active").

    Per shower the point energies sum to ``profiles.recorded.sum(1)`` (float32 rounding).

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
    n, rec = len(profiles), profiles.recorded
    if active:
        c0 = cal.track_cos_min
        mean_path = -math.log(c0) / (1 - c0) if c0 < 1 else 1.0
        mean_cross = (cal.mip_mpv + cal.mip_width * (np.euler_gamma + math.log(2))) * mean_path
        counts = rng.poisson(rec / mean_cross)
    else:
        spots = cal.spots_per_gev * profiles.energy**cal.spot_exponent
        expected = spots[:, None] * rec / (profiles.energy[:, None] * 1e3)
        counts = np.floor(expected + rng.random(rec.shape)).astype(np.int64)
    counts = np.where(rec > 0, np.maximum(counts, 1), 0)
    flat = counts.ravel()
    shower, step = np.divmod(np.repeat(np.arange(flat.size), flat), rec.shape[1])
    layer = profiles.step_layer[step]
    size = len(shower)

    _, _, z_edges = _steps(cal)
    depth = profiles.depth
    if active:
        # Hits sit in the active material at the back of each step.
        u = np.ones(size)
        if cal.mip_width > 0:
            e = cal.mip_mpv - cal.mip_width * np.log(rng.standard_normal(size) ** 2)
        else:
            e = np.full(size, cal.mip_mpv)
        cos_track = rng.uniform(cal.track_cos_min, 1.0, size)
        e = e / cos_track
        norm = np.bincount(shower * rec.shape[1] + step, weights=e, minlength=rec.size)
        e = e * (rec.ravel() / np.where(norm > 0, norm, 1.0))[shower * rec.shape[1] + step]
        z = cal.layer_z[layer]
    else:
        u = rng.random(size)
        e = (rec / np.maximum(counts, 1)).ravel()[shower * rec.shape[1] + step]
        z = z_edges[step] + u * np.diff(z_edges)[step]
    t = depth[shower, step] + u * (depth[shower, step + 1] - depth[shower, step])
    tau = np.maximum(t - profiles.start[shower], 0.0) / profiles.tau_scale[shower]

    media = [medium([la]) for la in cal.layers]
    Z, F_S, e_hat = (np.array([getattr(m, k) for m in media]) for k in ("Z", "F_S", "e_hat"))
    r_m = np.array([medium(cal.layers[: i + 1]).moliere_radius for i in range(len(cal.layers))])
    params = radial_parameters(
        tau, profiles.energy[shower], Z[layer], F_S[layer], e_hat[layer], active
    )
    r = _sample_radius(rng, *params) * r_m[layer]
    psi = rng.uniform(0.0, 2 * np.pi, size)
    perp = r * np.cos(psi), r * np.sin(psi)  # in the plane normal to the axis
    d = profiles.direction[shower]
    cos_t = d[:, 2]
    sin_t = np.sqrt(np.maximum(1 - cos_t**2, 0.0))
    cos_p, sin_p = np.where(sin_t > 0, d[:, 0] / np.where(sin_t > 0, sin_t, 1), 1.0), np.where(
        sin_t > 0, d[:, 1] / np.where(sin_t > 0, sin_t, 1), 0.0
    )
    # Project along the axis onto the layer plane: stretched by 1/cos(theta) in the incidence plane.
    along = perp[0] / cos_t
    xy = np.stack(
        [
            z * d[:, 0] / cos_t + along * cos_p - perp[1] * sin_p,
            z * d[:, 1] / cos_t + along * sin_p + perp[1] * cos_p,
        ],
        1,
    )
    if active:
        # Split each crossing between the two halves of its track segment in the active layer.
        half = cal.layers[0].active_thickness * np.sqrt(1 - cos_track**2) / cos_track / 4
        phi_track = rng.uniform(0.0, 2 * np.pi, size)
        offset = np.stack([half * np.cos(phi_track), half * np.sin(phi_track)], 1)
        xy = np.concatenate([xy - offset, xy + offset])
        shower, step, e = np.tile(shower, 2), np.tile(step, 2), np.tile(e / 2, 2)
    if cal.point_grid > 0 and len(e):
        shower, step, xy, e = _merge(shower, step, xy, e, cal.point_grid)
    else:
        order = np.lexsort((step, shower))
        shower, step, xy, e = shower[order], step[order], xy[order], e[order]
    points = np.column_stack([xy, profiles.step_layer[step], e])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(shower, minlength=n))])
    return PointClouds(
        points, offsets, profiles.energy, profiles.direction, profiles.particle, {}
    )


def _validate_energy(energy: object, n: int) -> tuple[float, float] | np.ndarray:
    """A (lo, hi) range, or (n,) per-shower values for an ndarray; GeV in GFlash's [0.1, 1e4]."""
    per_shower = isinstance(energy, np.ndarray) and energy.ndim == 1
    try:
        values = np.asarray(energy, dtype=float)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if not per_shower:
        values = np.broadcast_to(values, (2,)) if values.ndim == 0 else values
    shape_ok = values.shape == ((n,) if per_shower else (2,))
    if not (shape_ok and np.all((values >= 0.1) & (values <= 1e4)) and values[0] <= values[-1]):
        msg = (
            f"energy = {energy!r} is invalid; expected a value, a (lo, hi) range or an array of "
            f"{n} values, in GeV within GFlash's [0.1, 10000]"
        )
        if not per_shower or not shape_ok or not np.all((values >= 0.1) & (values <= 1e4)):
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
    if name not in _NAMES:
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
