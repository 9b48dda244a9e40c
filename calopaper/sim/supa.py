"""SUPA, the surrogate particle-propagation shower simulator (supa section 3, Algorithm 1)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
from tqdm.auto import tqdm

import calopaper
from calopaper.showers import PARTICLES, PointClouds

__all__ = ["PRESETS", "SupaConfig", "simulate"]

#: Showers per random stream. Every block of ``_BLOCK`` consecutive attempts draws from its own
#: stream ``SeedSequence(seed, spawn_key=(block,))``, so the output does not depend on how many
#: blocks are simulated at once.
_BLOCK = 256

_FAMILIES = {"e+": "electron", "e-": "electron", "gamma": "photon", "pi+": "pion"}


@dataclass(frozen=True)
class SupaConfig:
    """Every constant of the SUPA simulator (defaults: the reference code's first release).

    Lengths are in SUPA units (the slice thickness is 2 of them) unless marked mm; ``mm_per_unit``
    converts transverse positions to mm on output. Slices are numbered 0, 1, ... from the front.

    Attributes:
        particle: incident particle, one of "e+", "e-", "gamma", "pi+".
        energy_min: lower end of the uniform incident-energy distribution, GeV.
        energy_max: upper end (equal to ``energy_min`` for a fixed energy), GeV.
        incident_theta: polar angle of the incident direction to the z axis, rad, in [0, pi/2).
        incident_phi: azimuth of the incident direction, rad.
        slice_thickness: distance Δz between slices, SUPA units (Algorithm 1: 2).
        n_slices: slices that are propagated (reference: 24, i.e. slices 0..23); particles that
            reach slice ``n_slices`` leave the detector and their energy counts as leaked.
        readout_edges: readout layer g collects the stops in slices
            ``readout_edges[g] <= slice < readout_edges[g + 1]`` (reference: 5..8, 9..17, 18..27).
        p_stop_scale: c in ``p_stop[l] = c (l / p_stop_norm)**p_stop_exponent``.
        p_stop_exponent: exponent of ``p_stop`` (first release 1.25, HEAD 0.75).
        p_stop_norm: the slice that normalises ``p_stop`` (reference: 27).
        min_stop_slice: particles stop only in slices ``l > min_stop_slice`` (reference: 6).
        split_early: split probability in slices ``l <= min_stop_slice``.
        split_late: in slices ``l > min_stop_slice`` a particle that did not stop splits when its
            uniform draw u < ``split_late`` (+ ``p_stop[l]`` if ``split_late_adds_stop``).
        split_late_adds_stop: HEAD's rule ``u < p_stop[l] + 0.3``; False is the first release's
            ``u < 0.8``.
        theta_min: lower end of the uniform opening angle θ of a split, rad.
        theta_max: upper end of θ, rad.
        epsilon_fraction: the asymmetry is ε ~ U[-f θ, f θ] with f = ``epsilon_fraction``.
        skip_empty: drop (and redraw) showers that leave any readout layer empty, as the
            reference's main loop does.
        mm_per_unit: mm per SUPA length unit, applied to the transverse output coordinates.
        min_energy_mev: particles below this energy never split and stop at the first slice where
            stopping is allowed (0 disables; makes the topology energy dependent), MeV.
        start_mean_e: mean of the exponential start delay of e± showers, slices (floored).
        start_mean_gamma: mean of the exponential conversion delay of photon showers, slices.
        pion_interaction_mean: mean depth of the π+ hadronic interaction, slices; a π+ that does
            not interact before ``n_slices`` punches through as a minimum-ionising track.
        pion_visible_min: lower end of the uniform fraction of the energy left at the interaction
            that a π+ shower deposits (the rest is invisible or leaves the calorimeter).
        pion_visible_max: upper end of that fraction.
        mip_mev_per_slice: energy a minimum-ionising π+ deposits per slice it crosses inside a
            readout layer, MeV.
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
    start_mean_e: float = 0.0
    start_mean_gamma: float = 0.0
    pion_interaction_mean: float = 24.0
    pion_visible_min: float = 0.3
    pion_visible_max: float = 0.7
    mip_mev_per_slice: float = 30.0

    def __post_init__(self) -> None:
        _validate_config(self)

    @property
    def n_layers(self) -> int:
        """Number of readout layers."""
        return len(self.readout_edges) - 1

    def p_stop(self) -> np.ndarray:
        """(n_slices,) float64 stop probability per slice (0 where stopping is not allowed).

        Example:
            >>> SupaConfig().p_stop()[[6, 7, 23]].round(3)
            array([0.   , 0.165, 0.735])
        """
        slices = np.arange(self.n_slices)
        p = self.p_stop_scale * (slices / self.p_stop_norm) ** self.p_stop_exponent
        return np.where(slices > self.min_stop_slice, np.minimum(p, 1.0), 0.0)

    def p_split(self) -> np.ndarray:
        """(n_slices,) float64 split probability per slice (Algorithm 1's p_decay).

        Example:
            >>> SupaConfig().p_split()[[6, 7, 23]].round(3)
            array([0.8  , 0.635, 0.065])
        """
        p_stop = self.p_stop()
        late = self.split_late + (p_stop if self.split_late_adds_stop else 0.0)
        late = np.clip(late - p_stop, 0.0, 1.0 - p_stop)
        return np.where(np.arange(self.n_slices) > self.min_stop_slice, late, self.split_early)

    def attrs(self) -> dict:
        """The fields as JSON-able scalars (tuples become JSON strings), for ``PointClouds.attrs``.

        Example:
            >>> SupaConfig().attrs()["readout_edges"]
            '[5, 9, 18, 28]'
        """
        return {
            k: json.dumps(list(v)) if isinstance(v, tuple) else v for k, v in asdict(self).items()
        }


def _validate_config(c: SupaConfig) -> None:
    """Raise ValueError naming the first field of ``c`` that is out of range."""
    for f in fields(c):
        value = getattr(c, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            msg = f"SupaConfig.{f.name} must be finite, got {value!r}"
            raise ValueError(msg)
    if c.particle not in _FAMILIES:
        msg = f"SupaConfig.particle {c.particle!r} unknown; expected one of {sorted(_FAMILIES)}"
        raise ValueError(msg)
    checks = [
        ("energy_min", c.energy_min > 0, "> 0 GeV"),
        ("energy_max", c.energy_max >= c.energy_min, f">= energy_min = {c.energy_min}"),
        ("incident_theta", 0 <= c.incident_theta < math.pi / 2, "in [0, pi/2)"),
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
        ("start_mean_e", c.start_mean_e >= 0, ">= 0 slices"),
        ("start_mean_gamma", c.start_mean_gamma >= 0, ">= 0 slices"),
        ("pion_interaction_mean", c.pion_interaction_mean > 0, "> 0 slices"),
        ("pion_visible_min", 0 <= c.pion_visible_min <= 1, "in [0, 1]"),
        ("pion_visible_max", c.pion_visible_min <= c.pion_visible_max <= 1, "in [min, 1]"),
        ("mip_mev_per_slice", c.mip_mev_per_slice >= 0, ">= 0 MeV"),
    ]
    for name, ok, expected in checks:
        if not ok:
            msg = f"SupaConfig.{name} = {getattr(c, name)!r} is invalid; expected {expected}"
            raise ValueError(msg)
    # the larger daughter deflection 3θ/4 must stay below 90 degrees
    if c.theta_max * (0.5 + c.epsilon_fraction) >= math.pi / 2:
        msg = f"SupaConfig.theta_max = {c.theta_max!r} is invalid; daughters would turn backwards"
        raise ValueError(msg)
    edges = c.readout_edges
    if (
        len(edges) < 2
        or not all(isinstance(e, int) and e >= 0 for e in edges)
        or any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=False))
        or edges[0] > c.min_stop_slice + 1
        or edges[-1] < c.n_slices
    ):
        msg = (
            f"SupaConfig.readout_edges = {edges!r} is invalid; expected >= 2 strictly increasing "
            f"ints covering every slice where particles can stop "
            f"({c.min_stop_slice + 1}..{c.n_slices - 1})"
        )
        raise ValueError(msg)


#: Named configurations. "paper": Algorithm 1 with the first-release reference settings at
#: 65 GeV, 1 SUPA unit = 1 mm; "head": the same with the reference HEAD's p_stop and split rule;
#: "gaam": 65 GeV photons scaled to CaloGAN-like widths; "calogan": e+/γ/π+ at U[1, 100] GeV
#: in the CaloGAN 480 x 480 mm layers. See ``simulate`` for how the scales were chosen.
PRESETS: dict[str, SupaConfig] = {
    "paper": SupaConfig(),
    "head": SupaConfig(
        p_stop_scale=1.0, p_stop_exponent=0.75, split_early=0.6, split_late=0.3,
        split_late_adds_stop=True,
    ),
    "gaam": SupaConfig(particle="gamma", mm_per_unit=4.0, start_mean_gamma=9 / 7),
    "calogan": SupaConfig(
        energy_min=1.0, energy_max=100.0, mm_per_unit=4.0, skip_empty=False,
        start_mean_e=1.0, start_mean_gamma=9 / 7, min_energy_mev=10.0,
    ),
}  # fmt: skip


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

    Appends one record ``(shower id (m,), x (m,), y (m,), layer (scalar or (m,)), E (m,) MeV)``
    per slice to ``records``, each sorted by shower id, and adds the energy of particles that
    reach slice ``n_slices`` to ``leaked`` (n,) MeV. Shower i runs ``delay[i]`` slices late:
    its root particle starts at slice ``delay[i]``, where it has moved straight from the origin,
    and p_stop, p_split and the stop threshold follow the age ``slice - delay[i]``.

    The particles are kept sorted by shower, so that the particles of block b (showers
    ``b * _BLOCK ...``) are contiguous and draw their uniforms from stream b in a fixed order.
    """
    n, n_slices = len(delay), cfg.n_slices
    dz = np.float32(cfg.slice_thickness)
    block_starts = np.arange(len(rngs) + 1) * _BLOCK
    layer_of_slice = np.full(max(n_slices, cfg.readout_edges[-1]), -1)
    for g, (lo, hi) in enumerate(zip(cfg.readout_edges[:-1], cfg.readout_edges[1:], strict=True)):
        layer_of_slice[lo:hi] = g
    p_stop = cfg.p_stop().astype(np.float32)
    split_below = (cfg.p_stop() + cfg.p_split()).astype(np.float32)
    e_min = np.float32(cfg.min_energy_mev)
    theta_lo, theta_span = np.float32(cfg.theta_min), np.float32(cfg.theta_max - cfg.theta_min)
    eps_scale, two_pi = np.float32(2 * cfg.epsilon_fraction), np.float32(2 * math.pi)

    # particle state: shower id, position (x, y) and slopes (dx/dz, dy/dz) in SUPA units, energy
    slope = _incident_slope(cfg)
    sid = np.flatnonzero(delay < n_slices).astype(np.int32)
    x = (delay[sid] * cfg.slice_thickness * slope[0]).astype(np.float32)
    y = (delay[sid] * cfg.slice_thickness * slope[1]).astype(np.float32)
    sx = np.full(sid.size, slope[0], np.float32)
    sy = np.full(sid.size, slope[1], np.float32)
    e = shower_e[sid]
    max_delay = int(delay[sid].max(initial=0))

    for age in range(n_slices):
        if sid.size == 0:
            break
        if age + max_delay >= n_slices:  # late showers reach the back of the detector
            out = age + delay[sid] >= n_slices
            leaked += np.bincount(sid[out], e[out], minlength=n)
            sid, x, y, sx, sy, e = (a[~out] for a in (sid, x, y, sx, sy, e))
        u = _draw(rngs, np.searchsorted(sid, block_starts), np.empty(sid.size, np.float32))
        if age > cfg.min_stop_slice:
            moves = u >= p_stop[age]
            if e_min > 0:  # low-energy particles stop as soon as they may
                moves &= e >= e_min
            i = np.flatnonzero(~moves)
            layer = layer_of_slice[age + delay[sid[i]]] if max_delay else layer_of_slice[age]
            records.append((sid.take(i), x.take(i), y.take(i), layer, e.take(i)))
            split = moves & (u < split_below[age])
            counts = np.add(moves, split, dtype=np.intp)
        else:
            split = u < split_below[age]
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
        for k, tan_k, e_k in daughters:
            dx, dy = tan_k * cos_phi, tan_k * sin_phi
            c = (px * dx + py * dy + rp1) * inv
            dz_rot = c * rp1 - 1
            sx[k] = (c * px - dx) / dz_rot
            sy[k] = (c * py - dy) / dz_rot
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
    """Simulate ``n`` SUPA showers (supa section 3, Algorithm 1).

    TODO docstring
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
        lo, hi = (energy, energy) if np.ndim(energy) == 0 else energy
        config = replace(config, energy_min=float(lo), energy_max=float(hi))
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
            if kept + kept_at.size > n:  # the last chunk: keep the first n - kept showers
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
