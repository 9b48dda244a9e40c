"""SUPA, the surrogate particle-propagation shower simulator (supa section 3, Algorithm 1)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
from tqdm import tqdm

import calopaper
from calopaper.geometry import Segmentation
from calopaper.observables import point_layer_observables
from calopaper.showers import PARTICLES, PointClouds

__all__ = ["PRESETS", "ROTATIONS", "SupaConfig", "layer_widths", "reference_grids", "simulate"]

#: Showers per random stream: the attempts ``b * _BLOCK ... (b + 1) * _BLOCK - 1`` draw all their
#: numbers from ``SeedSequence(seed, spawn_key=(b,))``, so the output does not depend on how many
#: blocks are simulated at once (``chunk_size``).
_BLOCK = 256

_FAMILIES = {"e+": "electron", "e-": "electron", "gamma": "photon", "pi+": "pion"}

#: How a split's daughter directions, drawn in the parent's frame, are turned into the lab:
#: "half-turn" maps z exactly onto the parent direction (symmetric in x and y); "reference" applies
#: the reference code's matrix M as written (see ``simulate``).
ROTATIONS = ("half-turn", "reference")


@dataclass(frozen=True)
class SupaConfig:
    """Every constant of the SUPA simulator; the defaults are the reference's first release.

    Lengths are in SUPA units (a slice is 2 of them thick) unless marked mm; ``mm_per_unit``
    turns the transverse positions into mm on output. Slices are numbered 0, 1, ... from the
    front; the particle starts at the origin and meets slice l at depth ``l * slice_thickness``.

    Attributes:
        particle: incident particle, one of "e+", "e-", "gamma", "pi+" (a PDG code is turned
            into its name).
        energy_min: lower end of the uniform incident-energy distribution, GeV.
        energy_max: upper end (equal to ``energy_min`` for a fixed energy), GeV.
        incident_theta: polar angle of the incident direction to the z axis, rad, in [0, pi/2).
        incident_phi: azimuth of the incident direction, rad.
        slice_thickness: distance Δz between slices, SUPA units (Algorithm 1: 2).
        n_slices: slices that are propagated (reference: 24, i.e. 0..23); particles that reach
            slice ``n_slices`` leave the detector and their energy counts as leaked.
        readout_edges: readout layer g collects the stops in slices
            ``readout_edges[g] <= l < readout_edges[g + 1]`` (reference: 5..8, 9..17, 18..27).
        p_stop_scale: c in ``p_stop[l] = min(1, c (l / p_stop_norm) ** p_stop_exponent)``.
        p_stop_exponent: the exponent of ``p_stop`` (first release 1.25, HEAD 0.75).
        p_stop_norm: the slice that normalises ``p_stop`` (reference: 27).
        min_stop_slice: particles stop only in slices ``l > min_stop_slice`` (reference: 6).
        split_early: split probability in slices ``l <= min_stop_slice`` (first release 0.8).
        split_late: in slices ``l > min_stop_slice`` a particle whose uniform draw u did not
            stop it splits if u < ``split_late`` (+ ``p_stop[l]`` if ``split_late_adds_stop``).
        split_late_adds_stop: False is the first release's ``u < 0.8``, True HEAD's
            ``u < p_stop[l] + 0.3``.
        theta_min: lower end of the uniform opening angle θ of a split, rad (π/32).
        theta_max: upper end of θ, rad (π/16).
        epsilon_fraction: the asymmetry is ε ~ U[-f θ, f θ] with f = ``epsilon_fraction`` (1/4).
        skip_empty: drop and redraw showers that leave a readout layer empty, as the
            reference's main loop does.
        mm_per_unit: mm per SUPA length unit, applied to the transverse output coordinates.
        min_energy_mev: particles below this energy never split and stop at the first slice where
            stopping is allowed (0 disables it), MeV; makes low-energy showers shorter and sparser.
        angle_energy_mev: splits of particles below this energy E_a open wider, θ times
            ``(E_a / E) ** angle_energy_exponent`` (capped at ``theta_cap``), which gives showers a
            soft, wide halo (0 disables it), MeV.
        angle_energy_exponent: the exponent of that widening.
        theta_cap: the largest opening angle after widening, rad.
        rotation: "half-turn" or "reference", see :data:`ROTATIONS` and ``simulate``.
        max_polar_angle: the steepest angle to the z axis a particle may move at, rad; a
            daughter turned further by the accumulated splits keeps its azimuth at this polar
            angle instead of running sideways or backwards. It sets the reach of the
            ``angle_energy_mev`` halo (about 10 % of the calogan daughters move at it) and is
            practically never reached with the paper's angles (4 in 5e7 daughters).
        start_mean_e: mean of the exponential start delay of e± showers, slices (floored; 0
            starts every shower at slice 0 as in the paper).
        start_mean_gamma: mean of the exponential conversion delay of photons, slices (floored).
        pion_interaction_mean: mean depth of the π+ hadronic interaction, slices (floored); a π+
            that does not interact before ``n_slices`` punches through as a minimum-ionising track.
        pion_visible_min: lower end of the uniform fraction of the energy left at the interaction
            that the π+ shower carries (the rest is invisible or escapes), in [0, 1].
        pion_visible_max: upper end of that fraction.
        mip_mev_per_slice: energy a minimum-ionising π+ leaves per slice it crosses in a readout
            layer, MeV.
    """

    particle: str = "e+"
    energy_min: float = 65.0
    energy_max: float = 65.0
    incident_theta: float = 0.0
    incident_phi: float = 0.0
    slice_thickness: float = 2.0
    n_slices: int = 24
    readout_edges: tuple[int, ...] = (5, 9, 18, 28)
    p_stop_scale: float = 0.9
    p_stop_exponent: float = 1.25
    p_stop_norm: float = 27.0
    min_stop_slice: int = 6
    split_early: float = 0.8
    split_late: float = 0.8
    split_late_adds_stop: bool = False
    theta_min: float = math.pi / 32
    theta_max: float = math.pi / 16
    epsilon_fraction: float = 0.25
    skip_empty: bool = True
    mm_per_unit: float = 1.0
    min_energy_mev: float = 0.0
    angle_energy_mev: float = 0.0
    angle_energy_exponent: float = 1.0
    theta_cap: float = 1.0
    rotation: str = "half-turn"
    max_polar_angle: float = 1.2
    start_mean_e: float = 0.0
    start_mean_gamma: float = 0.0
    pion_interaction_mean: float = 24.0
    pion_visible_min: float = 0.3
    pion_visible_max: float = 0.7
    mip_mev_per_slice: float = 30.0

    def __post_init__(self) -> None:
        names = {code: name for name, code in PARTICLES.items()}
        if isinstance(self.particle, int | np.integer) and self.particle in names:
            object.__setattr__(self, "particle", names[int(self.particle)])  # a PDG code
        _validate_config(self)

    @property
    def n_layers(self) -> int:
        """Number of readout layers."""
        return len(self.readout_edges) - 1

    def p_stop(self) -> np.ndarray:
        """(n_slices,) float64 stop probability per slice (0 where stopping is not allowed).

        Example:
            >>> SupaConfig().p_stop()[[6, 7, 23]].round(3)
            array([0.   , 0.166, 0.737])
        """
        return np.array([_thresholds(self, k, k)[0] for k in range(self.n_slices)])

    def p_split(self) -> np.ndarray:
        """(n_slices,) float64 split probability per slice (Algorithm 1's p_decay).

        Example:
            >>> SupaConfig().p_split()[[6, 7, 23]].round(3)
            array([0.8  , 0.634, 0.063])
        """
        stop, split = np.array([_thresholds(self, k, k) for k in range(self.n_slices)]).T
        return split - stop

    def attrs(self) -> dict:
        """The fields as JSON-able scalars (tuples become JSON strings) for ``PointClouds.attrs``.

        Example:
            >>> SupaConfig().attrs()["readout_edges"]
            '[5, 9, 18, 28]'
        """
        return {
            k: json.dumps(list(v)) if isinstance(v, tuple) else v for k, v in asdict(self).items()
        }


def _thresholds(cfg: SupaConfig, slice_: int, age: np.ndarray | int) -> tuple:
    """Thresholds on a particle's uniform draw u at slice ``slice_`` for showers of age ``age``.

    The particle stops if u < stop, splits if stop <= u < split and passes otherwise. The age
    is the number of slices since the shower started (equal to the slice without a start
    delay); before the start (age < 0) the particle always passes. Stopping needs
    ``slice_ > min_stop_slice``; the first release's rule is stop = 0.9 (age/27)^1.25 and
    split = 0.8, HEAD's stop = (age/27)^0.75 and split = stop + 0.3 (0.6 before slice 7).

    Returns:
        (stop, split), float64 arrays shaped like ``age`` (0-d for a scalar age).
    """
    age = np.asarray(age, dtype=float)
    if slice_ > cfg.min_stop_slice:
        ratio = np.maximum(age, 0.0) / cfg.p_stop_norm
        stop = np.minimum(cfg.p_stop_scale * ratio**cfg.p_stop_exponent, 1.0)
        split = cfg.split_late + (stop if cfg.split_late_adds_stop else 0.0)
        split = np.clip(split, stop, 1.0)
    else:
        stop, split = np.zeros_like(age), np.full_like(age, cfg.split_early)
    started = age >= 0
    return np.where(started, stop, 0.0), np.where(started, split, 0.0)


def _validate_config(c: SupaConfig) -> None:
    """Raise ValueError naming the first field of ``c`` that is out of range."""
    for f in fields(c):
        value = getattr(c, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            msg = f"SupaConfig.{f.name} must be finite, got {value!r}"
            raise ValueError(msg)
    if c.rotation not in ROTATIONS:
        msg = f"SupaConfig.rotation = {c.rotation!r} is unknown; expected one of {ROTATIONS}"
        raise ValueError(msg)
    if c.particle not in _FAMILIES:
        msg = f"SupaConfig.particle = {c.particle!r} is unknown; expected one of {list(_FAMILIES)}"
        raise ValueError(msg)
    checks = [
        ("energy_min", c.energy_min > 0, "> 0 GeV"),
        ("energy_max", c.energy_max >= c.energy_min, f">= energy_min = {c.energy_min}"),
        ("incident_theta", 0 <= c.incident_theta < math.pi / 2, "in [0, pi/2) rad"),
        ("slice_thickness", c.slice_thickness > 0, "> 0"),
        ("n_slices", isinstance(c.n_slices, int) and c.n_slices >= 1, "an int >= 1"),
        ("p_stop_scale", c.p_stop_scale >= 0, ">= 0"),
        ("p_stop_exponent", c.p_stop_exponent > 0, "> 0"),
        ("p_stop_norm", c.p_stop_norm > 0, "> 0"),
        ("min_stop_slice", isinstance(c.min_stop_slice, int) and c.min_stop_slice >= 0, ">= 0"),
        ("split_early", 0 <= c.split_early <= 1, "in [0, 1]"),
        ("split_late", 0 <= c.split_late <= 1, "in [0, 1]"),
        ("theta_min", c.theta_min > 0, "> 0 rad"),
        ("theta_max", c.theta_max >= c.theta_min, f">= theta_min = {c.theta_min}"),
        ("epsilon_fraction", 0 <= c.epsilon_fraction < 0.5, "in [0, 0.5)"),
        ("mm_per_unit", c.mm_per_unit > 0, "> 0 mm"),
        ("min_energy_mev", c.min_energy_mev >= 0, ">= 0 MeV"),
        ("angle_energy_mev", c.angle_energy_mev >= 0, ">= 0 MeV"),
        ("angle_energy_exponent", c.angle_energy_exponent >= 0, ">= 0"),
        ("theta_cap", c.theta_cap >= c.theta_max, f">= theta_max = {c.theta_max}"),
        ("max_polar_angle", 0 < c.max_polar_angle < math.pi / 2, "in (0, pi/2) rad"),
        ("start_mean_e", c.start_mean_e >= 0, ">= 0 slices"),
        ("start_mean_gamma", c.start_mean_gamma >= 0, ">= 0 slices"),
        ("pion_interaction_mean", c.pion_interaction_mean >= 0, ">= 0 slices"),
        ("pion_visible_min", 0 <= c.pion_visible_min <= 1, "in [0, 1]"),
        ("pion_visible_max", c.pion_visible_min <= c.pion_visible_max <= 1, "in [min, 1]"),
        ("mip_mev_per_slice", c.mip_mev_per_slice >= 0, ">= 0 MeV"),
    ]
    for name, ok, expected in checks:
        if not ok:
            msg = f"SupaConfig.{name} = {getattr(c, name)!r} is invalid; expected {expected}"
            raise ValueError(msg)
    # the larger daughter deflection, (1/2 + f) θ, must stay below 90 degrees
    if max(c.theta_max, c.theta_cap) * (0.5 + c.epsilon_fraction) >= math.pi / 2:
        msg = (
            f"SupaConfig.theta_max/theta_cap = {c.theta_max!r}/{c.theta_cap!r} is invalid; "
            f"expected (1/2 + epsilon_fraction) * theta < pi/2 so daughters move forward"
        )
        raise ValueError(msg)
    edges = c.readout_edges
    if (
        not isinstance(edges, tuple)
        or len(edges) < 2
        or not all(isinstance(e, int) and e >= 0 for e in edges)
        or any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=False))
        or edges[0] > c.min_stop_slice + 1
        or edges[-1] < c.n_slices
    ):
        msg = (
            f"SupaConfig.readout_edges = {edges!r} is invalid; expected a tuple of >= 2 strictly "
            f"increasing ints covering every slice where particles can stop "
            f"({c.min_stop_slice + 1}..{c.n_slices - 1})"
        )
        raise ValueError(msg)


_CALOGAN = SupaConfig(
    energy_min=1.0,
    energy_max=100.0,
    readout_edges=(5, 8, 20, 28),
    skip_empty=False,
    mm_per_unit=10.0,
    min_energy_mev=1.0,
    angle_energy_mev=300.0,
    start_mean_gamma=9 / 7,
)

#: Named configurations (see ``simulate`` for how the realistic ones were tuned):
#: "paper" Algorithm 1 with the first-release reference settings, 65 GeV, 1 SUPA unit = 1 mm;
#: "reference" the reference code's first release exactly, its rotation matrix included;
#: "head" the same with the reference HEAD's p_stop and split rule; "calogan" e+ (or γ, π+ via
#: ``particle``) at U[1, 100] GeV tuned towards real CaloGAN showers; "gaam" the calogan
#: tuning for 65 GeV photons at the centre (the gaam/savae data set).
PRESETS: dict[str, SupaConfig] = {
    "paper": SupaConfig(),
    "reference": SupaConfig(rotation="reference"),
    "head": SupaConfig(
        p_stop_scale=1.0,
        p_stop_exponent=0.75,
        split_early=0.6,
        split_late=0.3,
        split_late_adds_stop=True,
    ),
    "gaam": replace(_CALOGAN, particle="gamma", energy_min=65.0, energy_max=65.0),
    "calogan": _CALOGAN,
}


def layer_widths(clouds: PointClouds, n_layers: int = 3) -> np.ndarray:
    """(n_layers, 2) mean over showers of the energy-weighted std of x and y per readout layer.

    The transverse spread the reference code's rotation makes anisotropic (``simulate``), in the
    clouds' units (SUPA units for ``mm_per_unit = 1``); showers without energy in a layer are
    left out of that layer's mean.

    Example:
        >>> layer_widths(simulate(PRESETS["paper"], 200, seed=0)).shape
        (3, 2)
    """
    layer, (x, y, e) = clouds.points[:, 2], clouds.points[:, [0, 1, 3]].T
    widths = []
    for g in range(n_layers):
        obs = point_layer_observables(x, y, np.where(layer == g, e, 0), clouds.offsets, False)
        widths.append([np.nanmean(obs["sigma_eta"]), np.nanmean(obs["sigma_phi"])])
    return np.array(widths)


def reference_grids(resolution: int = 1, mm_per_unit: float = 1.0) -> dict[int, Segmentation]:
    """The reference code's image grids per readout layer, at 1x, 2x or 3x resolution.

    At 1x these are the CaloGAN cell counts over the reference's regions of interest: layer 0
    (3, 96) over ±5 units, layer 1 (12, 12) over ±10, layer 2 (12, 6) over ±15; ``resolution``
    multiplies every count (supa §5.2, Table 2).

    Args:
        resolution: 1, 2 or 3 (any positive int works).
        mm_per_unit: the preset's ``mm_per_unit``, so the grids cover the same showers.

    Example:
        >>> reference_grids(3)[0].shape, reference_grids(1)[1].extent
        ((9, 288), (-10.0, 10.0, -10.0, 10.0))
    """
    if not isinstance(resolution, int) or resolution < 1:
        msg = f"resolution must be a positive int (1 = 1x), got {resolution!r}"
        raise ValueError(msg)
    layout = {0: (3, 96, 5.0), 1: (12, 12, 10.0), 2: (12, 6, 15.0)}
    return {
        layer: Segmentation.uniform(
            n_eta * resolution,
            n_phi * resolution,
            (-half * mm_per_unit, half * mm_per_unit),
            (-half * mm_per_unit, half * mm_per_unit),
        )
        for layer, (n_eta, n_phi, half) in layout.items()
    }


def _draw(rngs: list, bounds: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Fill ``out[bounds[b]:bounds[b+1]]`` (float32) from the stream of block b."""
    for rng, lo, hi in zip(rngs, bounds[:-1], bounds[1:], strict=True):
        if hi > lo:
            rng.random(dtype=np.float32, out=out[lo:hi])
    return out


def _start(cfg: SupaConfig, u: np.ndarray) -> tuple:
    """Per-shower initial conditions from three uniform draws per shower, ``u`` (3, n).

    Returns energy (n,) float32 GeV, start delay (n,) int64 slices, the energy each shower
    hands to the propagation (n,) float32 MeV, the energy already lost (n,) float64 MeV, and a
    list with the minimum-ionising records of pions (see ``_propagate`` for the record layout).
    """
    n, n_slices = u.shape[1], cfg.n_slices
    energy = (cfg.energy_min + (cfg.energy_max - cfg.energy_min) * u[0]).astype(np.float32)
    e_mev = energy.astype(np.float64) * 1e3
    family = _FAMILIES[cfg.particle]
    mean_delay = {
        "electron": cfg.start_mean_e,
        "photon": cfg.start_mean_gamma,
        "pion": cfg.pion_interaction_mean,
    }[family]
    delay = np.minimum(np.floor(-mean_delay * np.log1p(-u[1])), n_slices).astype(np.int64)

    records, shower_e, mip_total = [], e_mev, np.zeros(n)
    if family == "pion":
        # the track before the interaction is minimum ionising: one point per readout layer, at
        # the middle of the slices it crossed there, with mip_mev_per_slice per crossed slice
        slope = _incident_slope(cfg)
        lo = np.asarray(cfg.readout_edges[:-1])
        hi = np.minimum(np.asarray(cfg.readout_edges[1:]), n_slices)
        crossed = np.clip(np.minimum(hi, delay[:, None]) - lo, 0, None)  # (n, n_layers)
        mip = crossed * cfg.mip_mev_per_slice
        mip_sum = mip.sum(1)
        mip *= np.minimum(1.0, e_mev / np.where(mip_sum > 0, mip_sum, 1.0))[:, None]
        mip = mip.astype(np.float32)
        mip_total = mip.sum(1, dtype=np.float64)
        z = (lo + (crossed - 1) / 2) * cfg.slice_thickness
        sid, g = np.nonzero(crossed)
        records.append((sid, z[sid, g] * slope[0], z[sid, g] * slope[1], g, mip[sid, g]))
        visible = cfg.pion_visible_min + (cfg.pion_visible_max - cfg.pion_visible_min) * u[2]
        shower_e = visible * (e_mev - mip_total)
    shower_e = np.where(delay < n_slices, shower_e, 0.0).astype(np.float32)
    return energy, delay, shower_e, e_mev - mip_total - shower_e, records


def _incident_slope(cfg: SupaConfig) -> tuple[float, float]:
    """(dx/dz, dy/dz) of the incident direction."""
    t = math.tan(cfg.incident_theta)
    return t * math.cos(cfg.incident_phi), t * math.sin(cfg.incident_phi)


def _propagate(
    cfg: SupaConfig,
    rngs: list,
    delay: np.ndarray,
    shower_e: np.ndarray,
    leaked: np.ndarray,
    records: list,
) -> None:
    """Algorithm 1 for all showers at once, slice by slice.

    Appends one record ``(shower id (m,), x (m,), y (m,), layer, E (m,) MeV)`` per slice to
    ``records``, each sorted by shower id, and adds the energy of particles that reach slice
    ``n_slices`` to ``leaked`` (n,) MeV. The root particle of shower i passes straight
    through the slices before ``delay[i]``; from there its shower develops with the thresholds
    of its age ``slice - delay[i]`` (see ``_thresholds``).

    The particles are kept sorted by shower, so that the particles of block b (showers
    ``b * _BLOCK ...``) are contiguous and draw their uniforms from stream b in a fixed order.
    """
    n, n_slices = len(delay), cfg.n_slices
    dz = np.float32(cfg.slice_thickness)
    block_starts = np.arange(len(rngs) + 1) * _BLOCK
    layer_of_slice = np.full(max(n_slices, cfg.readout_edges[-1]), -1)
    for g, (lo, hi) in enumerate(zip(cfg.readout_edges[:-1], cfg.readout_edges[1:], strict=True)):
        layer_of_slice[lo:hi] = g
    # thresholds[k] holds (stop, split) for the ages -n_slices .. n_slices - 1 at slice k
    ages = np.arange(-n_slices, n_slices)
    thresholds = np.array([_thresholds(cfg, k, ages) for k in range(n_slices)], np.float32)
    e_min = np.float32(cfg.min_energy_mev)
    theta_lo, theta_span = np.float32(cfg.theta_min), np.float32(cfg.theta_max - cfg.theta_min)
    eps_scale, two_pi = np.float32(2 * cfg.epsilon_fraction), np.float32(2 * math.pi)
    max_slope_inv = np.float32(1 / math.tan(cfg.max_polar_angle))

    # particle state: shower id, position (x, y) and slopes (dx/dz, dy/dz) in SUPA units, energy
    slope = _incident_slope(cfg)
    sid = np.flatnonzero((delay < n_slices) & (shower_e > 0)).astype(np.int32)
    x, y = np.zeros(sid.size, np.float32), np.zeros(sid.size, np.float32)
    sx = np.full(sid.size, slope[0], np.float32)
    sy = np.full(sid.size, slope[1], np.float32)
    e = shower_e[sid]
    delayed = bool(delay[sid].any())

    for slice_ in range(n_slices):
        if sid.size == 0:
            break
        u = _draw(rngs, np.searchsorted(sid, block_starts), np.empty(sid.size, np.float32))
        if delayed:  # per-particle thresholds for the age of its shower
            age_index = (slice_ + n_slices) - delay.take(sid)
            stop_below, split_below = thresholds[slice_].take(age_index, 1)
        else:
            stop_below, split_below = thresholds[slice_, :, slice_ + n_slices]
        if slice_ > cfg.min_stop_slice:
            moves = u >= stop_below
            if e_min > 0:  # low-energy particles stop as soon as they may
                moves &= e >= e_min
            i = np.flatnonzero(~moves)
            records.append((sid.take(i), x.take(i), y.take(i), layer_of_slice[slice_], e.take(i)))
            split = moves & (u < split_below)
            counts = np.add(moves, split, dtype=np.intp)
        else:
            split = u < split_below
            if e_min > 0:
                split &= e >= e_min
            counts = np.add(split, 1, dtype=np.intp)
        # every particle is replaced by its 0 (stop), 1 (pass) or 2 (split) children, in order
        parent = np.arange(sid.size).repeat(counts)
        sp = np.flatnonzero(split)
        first = np.cumsum(counts)[sp] - 2  # where the first daughter of each split sits
        e_parent = e.take(sp)
        sid, x, y, sx, sy, e = (a.take(parent) for a in (sid, x, y, sx, sy, e))

        # split: opening angle θ, asymmetry ε, azimuth φ; daughter 0 leaves at θ/2 - ε on one
        # side and daughter 1 at θ/2 + ε on the other, in the parent frame, and the less
        # deflected one carries the larger energy share. The parent-frame direction d is turned
        # into the parent direction v by the half-turn R = 2 n n^T - I about n = (v + z)/|v + z|,
        # which maps z to v; with v ∝ (sx, sy, 1), r = |(sx, sy, 1)| and d = (dx, dy, 1):
        # R d ∝ c (sx, sy, 1 + r) - d with c = (sx dx + sy dy + 1 + r) / (r (1 + r)).
        d = np.empty((sp.size, 3), np.float32)
        _draw(rngs, np.searchsorted(sid.take(first), block_starts), d)
        theta = theta_lo + theta_span * d[:, 0]
        if cfg.angle_energy_mev > 0:  # softer particles open wider
            wide = (np.float32(cfg.angle_energy_mev) / e_parent) ** np.float32(
                cfg.angle_energy_exponent
            )
            theta = np.minimum(theta * np.maximum(wide, 1), np.float32(cfg.theta_cap))
        eps = (d[:, 1] - np.float32(0.5)) * eps_scale * theta
        phi = two_pi * d[:, 2]
        cos_phi, sin_phi = np.cos(phi), np.sin(phi)
        px, py = sx.take(first), sy.take(first)
        r = np.sqrt(1 + px * px + py * py)
        rp1 = 1 + r
        inv = 1 / (r * rp1)
        e0 = e_parent * (theta / 2 + eps) / theta
        daughters = (
            (first, np.tan(theta / 2 - eps), e0),
            (first + 1, -np.tan(theta / 2 + eps), e_parent - e0),
        )
        if cfg.rotation == "reference":
            n2 = np.sqrt(1 + py * py)
            inv_m1 = 1 / (n2 * r)
        for k, tan_k, e_k in daughters:
            dx, dy = tan_k * cos_phi, tan_k * sin_phi
            if cfg.rotation == "reference":  # t = M d, rows of M: m1 = m2 x m3, m2, m3
                tx = (px * (py * dy + 1) - (1 + py * py) * dx) * inv_m1
                ty = (py - dy) / n2
                tz = (px * dx + py * dy + 1) / r
            else:
                c = (px * dx + py * dy + rp1) * inv
                tx, ty, tz = c * px - dx, c * py - dy, c * rp1 - 1
            # slope = t / z, but at most tan(max_polar_angle) for steep or backward daughters
            z = np.maximum(tz, np.hypot(tx, ty) * max_slope_inv)
            sx[k] = tx / z
            sy[k] = ty / z
            e[k] = e_k
        x += dz * sx
        y += dz * sy
    leaked += np.bincount(sid, e, minlength=n)


def _assemble(records: list, cfg: SupaConfig, n: int) -> tuple:
    """Merge the records into points ordered by shower, dropping showers with an empty layer.

    Returns keep (n,) bool, counts (n_kept,) int64 and points (P, 4) float32
    (eta mm, phi mm, layer, E MeV); within a shower the points follow the record order.
    """
    n_layers = cfg.n_layers
    showers = np.arange(n + 1)
    per_record = np.stack([np.diff(np.searchsorted(r[0], showers)) for r in records])  # (R, n)
    layer_counts = np.zeros((n_layers, n), np.int64)
    for (sid, _, _, layer, _), c in zip(records, per_record, strict=True):
        if np.ndim(layer) == 0:
            layer_counts[layer] += c
        else:
            layer_counts += np.bincount(layer * n + sid, minlength=n_layers * n).reshape(-1, n)
    keep = (layer_counts > 0).all(0) if cfg.skip_empty else np.ones(n, bool)

    # counting sort: record r of shower i goes to offset[i] + (points of i in records < r)
    first_in_record = np.cumsum(per_record, 1) - per_record
    per_record *= keep
    counts = per_record.sum(0)
    start = np.cumsum(counts) - counts + np.cumsum(per_record, 0) - per_record
    shift = start - first_in_record
    points = np.empty((counts.sum(), 4), np.float32)
    for r, (sid, x, y, layer, e) in enumerate(records):
        dest = shift[r].take(sid) + np.arange(sid.size)
        if cfg.skip_empty and not keep.all():
            m = keep.take(sid)
            dest, x, y, e = dest[m], x[m], y[m], e[m]
            layer = layer if np.ndim(layer) == 0 else layer[m]
        points[dest, 0] = x
        points[dest, 1] = y
        points[dest, 2] = layer
        points[dest, 3] = e
    points[:, :2] *= np.float32(cfg.mm_per_unit)
    return keep, counts[keep], points


def _simulate_blocks(cfg: SupaConfig, seed: int, first_block: int, n_blocks: int) -> dict:
    """Simulate the ``n_blocks * _BLOCK`` attempts of blocks ``first_block, ...``.

    Returns a dict with ``keep`` (n,) bool (the attempts that are kept), and for the kept
    showers ``counts`` (k,) points per shower, ``points`` (P, 4) float32 sorted by shower,
    ``energy`` (k,) float32 GeV and ``leaked`` (k,) float64 MeV.
    """
    n = n_blocks * _BLOCK
    rngs = [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
        for b in range(first_block, first_block + n_blocks)
    ]
    u = np.concatenate([rng.random((3, _BLOCK)) for rng in rngs], axis=1)
    energy, delay, shower_e, leaked, records = _start(cfg, u)
    _propagate(cfg, rngs, delay, shower_e, leaked, records)
    keep, counts, points = _assemble(records, cfg, n)
    return {
        "keep": keep,
        "counts": counts,
        "points": points,
        "energy": energy[keep],
        "leaked": leaked[keep],
    }


def simulate(
    config: SupaConfig,
    n: int,
    seed: int = 0,
    *,
    energy: float | tuple[float, float] | None = None,
    particle: str | None = None,
    progress: bool = False,
    chunk_size: int = 1024,
    return_leaked: bool = False,
) -> PointClouds | tuple[PointClouds, np.ndarray]:
    """Simulate ``n`` SUPA showers (supa section 3, Algorithm 1), vectorised over showers.

    Algorithm. The incident particle starts at the origin moving along its incident direction.
    At every slice l = 0 .. n_slices - 1 each live particle draws u ~ U(0, 1): it *stops* if
    l > min_stop_slice and u < p_stop[l], and its (x, y) and energy become a point of the readout
    layer that contains slice l; otherwise it *splits* if u is below the split threshold (see
    ``SupaConfig.p_split``); otherwise it *passes* straight on to slice l + 1. A split draws
    θ ~ U[theta_min, theta_max], ε ~ U[-θ/4, θ/4] and an azimuth φ ~ U[0, 2π). In the parent's
    frame the daughters leave at θ/2 - ε and θ/2 + ε on opposite sides at azimuth φ and carry
    E (θ/2 + ε)/θ and E (θ/2 - ε)/θ: the less deflected daughter gets more, energy is
    conserved and the transverse momenta nearly balance. Their directions are turned into the
    parent direction v by R = 2 n n^T - I with n = (v + z)/|v + z|, the half-turn about the
    bisector of v and z, which maps z to v exactly, symmetric in x and y (``rotation="half-turn"``).
    Each daughter then moves one slice along its direction.

    The reference code's rotation (``rotation="reference"``, preset ``reference``) instead
    multiplies d by M with rows m3 = v/|v|, m2 = (0, -m3_z, m3_y)/|.| and m1 = m2 x m3. Its own
    comment says M maps v to z (M^T would map z to v); to first order in the small angles M d
    still follows v, and for v = z it is a half-turn about z, but m2 is built from the y and z
    components of v only, so the map is not symmetric in x and y beyond first order: at 65 GeV the
    energy-weighted widths of readout layers 1 and 2 come out about 5 % and 10 % wider in y than in
    x, as in the reference code (2.15 / 2.27 and 4.08 / 4.48 reference units over 2,000 showers),
    while the half-turn gives equal widths. All particles of a chunk of showers advance together
    as float32 arrays, slice by slice.

    Paper versus reference code. Where Algorithm 1 is ambiguous or differs from the code, the
    defaults follow the code's first release (``afbb6b4``):

    - readout layers: Algorithm 1 lists slices (5..9), (10..18), (19..28); the code uses 5..8,
      9..17, 18..27 (``readout_edges=(5, 9, 18, 28)``). As stops need l > 6 and only slices
      0..23 are propagated, layer 0 effectively holds slices 7-8 and layer 2 slices 18-23.
    - opening angle: Algorithm 1 has θ ~ U(π/2, π/4); the code draws θ in [π/32, π/16].
    - split probability (Algorithm 1's unspecified p_decay): the first release splits when
      u < 0.8 after the stop check, i.e. p_split = 0.8 - p_stop[l] for l > 6 and 0.8 for l <= 6,
      with p_stop[l] = 0.9 (l/27)^1.25. The HEAD commit uses p_stop[l] = (l/27)^0.75 and splits
      when u < p_stop[l] + 0.3 (l > 6) or u < 0.6 (l <= 6): ``PRESETS["head"]``.
    - daughters: Algorithm 1 moves both to the same side along a random axis (x or y) and
      gives the larger energy to the more deflected one; the code, and this function, put
      them on opposite sides at a uniform azimuth, along the parent's direction, and give the
      larger energy to the less deflected one.
    - the code skips events with an empty readout layer; with ``skip_empty`` this function
      redraws until n showers are kept and records ``attrs["acceptance"]``.

    Particles still moving after the last slice (that reach slice ``n_slices``) are never read
    out: their energy counts as leaked, and so do the invisible and punch-through parts of π+
    below. With ``return_leaked`` the leaked energy of each shower is returned, and the points'
    energies plus the leaked energy equal the incident energy (to float32 rounding);
    ``attrs["leaked_fraction"]`` is its share of the total incident energy.

    Particle types (calopaper extensions; the paper has one kind of shower):

    - e± and γ start late by floor(Exp(mean)) slices with mean ``start_mean_e`` or
      ``start_mean_gamma``: the particle passes straight through until then, and the shower then
      develops with the stop and split thresholds of its age (slices since the start) instead
      of the slice index, while stopping is still allowed from slice ``min_stop_slice + 1`` on
      and the readout layer follows the slice, so later showers sit deeper and leak more.
    - π+ interact after floor(Exp(``pion_interaction_mean``)) slices. Until then the track is
      minimum ionising: ``mip_mev_per_slice`` per crossed slice of a readout layer, as one point
      per layer at the mean depth of the slices crossed there. The hadronic shower then carries a
      fraction U[pion_visible_min, pion_visible_max] (0.3-0.7) of the remaining energy; the rest
      (nuclear binding, neutrons, leakage behind an EM calorimeter about one interaction length
      deep) is leaked. With the default mean of 24 slices e^-1 = 37 % of the π+ punch through
      with one point per layer, so the layer sparsity is bimodal (calodvae section 3).

    Presets. ``paper`` (1 SUPA unit = 1 mm) reproduces the reference's first-release numbers at
    65 GeV: mean points per layer 27.9 / 883 / 323 (reference 28 / 867 / 316; the expectation of
    the branching process is 27.9 / 882 / 323) and energies 21.5 / 42.8 / 0.69 GeV (reference
    21.6 / 42.7 / 0.68), with an empty layer in fewer than 0.1 % of the attempts. ``head``
    keeps 32 % of the attempts (reference 31 %) and, over all attempts, gives 19.8 / 50.6 / 1.6
    points per layer (reference 20 / 51 / 1.7).
    ``calogan`` was tuned against the 51 real Geant4 positrons of ``HEPCAT_CaloGAN_test.h5``
    (1.5-99 GeV), both binned into the CaloGAN cells (3 x 96, 12 x 12, 12 x 6 over ±240 mm);
    the numbers below are for 5000 simulated positrons:

    - ``readout_edges = (5, 8, 20, 28)``, i.e. layer 0 = the stops in slice 7 and layer 2 those
      in slices 20-23, gives the layer energy fractions 0.169 / 0.829 / 0.0015
      (real 0.193 / 0.806 / 0.0017); e± start at once (``start_mean_e = 0``) as in the paper.
    - ``mm_per_unit = 10``: the energy-weighted width of layer 1 in its 40 mm cells is 31 mm
      (real 29 mm; at 1 mm per unit all energy falls into the four central cells, 20 mm, and
      without the halo below it is 25 mm). Half of the layer-0 energy lies within |η| < 7 mm
      and half of layer 1 within 13 mm, several of the finest cells that the gaam/savae
      chapters regroup into (2.5 mm for 192 cells in η, 10 mm for 48 in φ).
    - ``angle_energy_mev = 300`` (exponent 1) with ``max_polar_angle = 1.2`` adds a soft halo:
      the non-zero cell fractions of layers 1 and 2 become 0.70 and 0.23 (real 0.80 and 0.29;
      0.17 and 0.12 without the halo), 99.9 % of the layer-1 energy stays inside the 480 mm
      layer (real 99.9 %), and the layer-2 width is 77 mm (real 59-66 mm). Layer 0 stays much
      sparser than real, 0.02 versus 0.45, as only about 10 SUPA particles stop in slice 7.
    - ``min_energy_mev = 1`` shortens low-energy showers, so that the layer-2 sparsity grows
      with the energy (non-zero fraction 0.11 / 0.26 / 0.32 at 18 / 51 / 84 GeV; real
      0.12 / 0.31 / 0.42 at 16 / 53 / 84 GeV).
    - γ convert after floor(Exp(9/7)) slices: the photon mean free path is 9/7 radiation
      lengths, and one slice is taken as the e± radiation scale (a SUPA e± splits within
      about one slice). Layer fractions 0.143 / 0.852 / 0.005; 8 % leave layer 0 empty.
    - π+ (defaults above) deposit 25 % of their energy on average; about half of them have at
      most 3 points in layer 1.

    ``gaam`` is the calogan tuning for 65 GeV photons at the centre, as in the gaam data set.

    Random numbers. The attempts are grouped in blocks of 256 that each draw from their own
    stream ``SeedSequence(seed, spawn_key=(block,))``, so the same arguments give identical
    showers whatever ``chunk_size``, and the first n showers of a larger request are the
    showers of the smaller one.

    Args:
        config: the simulator constants, e.g. ``PRESETS["paper"]``.
        n: number of showers to return (> 0).
        seed: non-negative seed.
        energy: overrides the config's energy: a fixed value or a (min, max) range, GeV.
        particle: overrides ``config.particle`` ("e+", "e-", "gamma" or "pi+").
        progress: show a tqdm bar over the kept showers.
        chunk_size: attempts simulated at once (rounded down to a multiple of 256); bounds the
            memory (tens of kB per attempt) and does not change the output.
        return_leaked: also return the leaked energy per shower.

    Returns:
        ``PointClouds`` with points (P, 4) float32 = (eta = x * mm_per_unit [mm],
        phi = y * mm_per_unit [mm], readout layer 0..n_layers-1, E [MeV]), incident_energy (n,)
        GeV, incident_direction (n, 3) = (sin θ cos φ, sin θ sin φ, cos θ) of the incident
        angles, particle (n,) PDG codes, and attrs = ``config.attrs()`` plus generator,
        calopaper_version, seed, acceptance, n_attempts and leaked_fraction. With
        ``return_leaked`` a tuple (clouds, leaked (n,) float64 MeV).

    Raises:
        ValueError: n, seed, energy, particle or a config field out of range (named).
        RuntimeError: fewer than 1 % of the attempts are kept with ``skip_empty``.

    Example:
        >>> clouds = simulate(PRESETS["paper"], 3, seed=1)
        >>> len(clouds), np.unique(clouds.points[:, 2]).tolist()
        (3, [0.0, 1.0, 2.0])
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        msg = f"n = {n!r} is invalid; expected a positive number of showers"
        raise ValueError(msg)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        msg = f"seed = {seed!r} is invalid; expected a non-negative int"
        raise ValueError(msg)
    if particle is not None:
        config = replace(config, particle=particle)
    if energy is not None:
        bounds = np.asarray(energy, dtype=float).reshape(-1)
        if bounds.size not in (1, 2) or np.ndim(energy) > 1:
            msg = f"energy = {energy!r} is invalid; expected a value or a (min, max) pair in GeV"
            raise ValueError(msg)
        config = replace(config, energy_min=float(bounds[0]), energy_max=float(bounds[-1]))
    blocks_per_chunk = max(1, int(chunk_size) // _BLOCK)
    max_attempts = 100 * n + 100 * _BLOCK

    parts, kept, attempts, block = [], 0, 0, 0
    with tqdm(total=n, disable=not progress, unit="shower", desc="supa") as bar:
        while kept < n:
            if attempts >= max_attempts:
                msg = (
                    f"only {kept} of {attempts} SUPA showers had every readout layer non-empty; "
                    f"set skip_empty=False or change the config"
                )
                raise RuntimeError(msg)
            part = _simulate_blocks(config, int(seed), block, blocks_per_chunk)
            block += blocks_per_chunk
            kept_at = np.flatnonzero(part["keep"])
            if kept + kept_at.size >= n:  # the last chunk: keep the first n - kept showers
                k = n - kept
                n_points = part["counts"][:k].sum()
                part = {
                    "counts": part["counts"][:k],
                    "points": part["points"][:n_points],
                    "energy": part["energy"][:k],
                    "leaked": part["leaked"][:k],
                }
                kept_at = kept_at[:k]
                attempts += kept_at[-1] + 1
            else:
                attempts += part["keep"].size
            parts.append(part)
            kept += kept_at.size
            bar.update(kept_at.size)

    counts, points, incident, leaked = (
        np.concatenate([p[k] for p in parts]) for k in ("counts", "points", "energy", "leaked")
    )
    theta, phi = config.incident_theta, config.incident_phi
    direction = (math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta))
    attrs = {
        "generator": "calopaper.sim.supa",
        "calopaper_version": calopaper.__version__,
        "seed": int(seed),
        **config.attrs(),
        "acceptance": kept / attempts,
        "n_attempts": int(attempts),
        "leaked_fraction": float(leaked.sum() / (incident.sum(dtype=np.float64) * 1e3)),
    }
    clouds = PointClouds(
        points,
        np.concatenate([[0], np.cumsum(counts)]),
        incident,
        np.tile(np.asarray(direction, np.float32), (n, 1)),
        np.full(n, PARTICLES[config.particle], np.int32),
        attrs,
    )
    return (clouds, leaked) if return_leaked else clouds
