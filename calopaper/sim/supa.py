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


def _simulate_blocks(cfg: SupaConfig, seed: int, first_block: int, n_blocks: int) -> dict:
    """Simulate the attempts of blocks ``first_block .. first_block + n_blocks - 1``.

    Returns a dict with ``points`` (P, 4) float32 sorted by shower, ``counts`` (n,) points per
    shower, ``energy`` (n,) float32 GeV, ``leaked`` (n,) float64 MeV and ``layer_counts``
    (n, n_layers) points per readout layer, for n = n_blocks * _BLOCK attempts.
    """
    n = n_blocks * _BLOCK
    n_layers, n_slices, dz = cfg.n_layers, cfg.n_slices, np.float32(cfg.slice_thickness)
    rngs = [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
        for b in range(first_block, first_block + n_blocks)
    ]
    block_starts = np.arange(n_blocks + 1) * _BLOCK
    u_shower = np.concatenate([rng.random((3, _BLOCK)) for rng in rngs], axis=1)

    # per-shower quantities: energy, start delay, incident slopes
    energy = (cfg.energy_min + (cfg.energy_max - cfg.energy_min) * u_shower[0]).astype(np.float32)
    e_mev = energy.astype(np.float64) * 1e3
    family = _FAMILIES[cfg.particle]
    mean_delay = {
        "electron": cfg.start_mean_e,
        "photon": cfg.start_mean_gamma,
        "pion": cfg.pion_interaction_mean,
    }[family]
    delay = np.minimum(np.floor(-mean_delay * np.log1p(-u_shower[1])), n_slices).astype(np.int64)
    tan_theta = math.tan(cfg.incident_theta)
    slope0 = (tan_theta * math.cos(cfg.incident_phi), tan_theta * math.sin(cfg.incident_phi))
    layer_of_slice = np.full(max(n_slices, cfg.readout_edges[-1]), -1)
    for g, (lo, hi) in enumerate(zip(cfg.readout_edges[:-1], cfg.readout_edges[1:], strict=True)):
        layer_of_slice[lo:hi] = g

    records = []  # (shower id, x, y, layer, E MeV) per batch of deposits
    shower_e, mip_total = e_mev, np.zeros(n)
    if family == "pion":
        # minimum-ionising track before the interaction: one point per readout layer, placed at
        # the middle of the slices it crossed there, with mip_mev_per_slice per crossed slice
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
        records.append((sid, z[sid, g] * slope0[0], z[sid, g] * slope0[1], g, mip[sid, g]))
        visible = cfg.pion_visible_min + (cfg.pion_visible_max - cfg.pion_visible_min) * u_shower[2]
        shower_e = visible * (e_mev - mip_total)
    starts = delay < n_slices
    shower_e = np.where(starts, shower_e, 0.0).astype(np.float32)
    leaked = e_mev - mip_total - shower_e

    # the root particles: one per shower that starts inside the detector, already moved
    # straight through the slices of its delay
    sid = np.flatnonzero(starts).astype(np.int32)
    x = (delay[sid] * dz * slope0[0]).astype(np.float32)
    y = (delay[sid] * dz * slope0[1]).astype(np.float32)
    sx = np.full(sid.size, slope0[0], np.float32)
    sy = np.full(sid.size, slope0[1], np.float32)
    e = shower_e[sid]
    max_delay = int(delay[sid].max(initial=0))

    p_stop = cfg.p_stop().astype(np.float32)
    split_below = (cfg.p_stop() + cfg.p_split()).astype(np.float32)
    e_min = np.float32(cfg.min_energy_mev)
    theta_lo, theta_span = np.float32(cfg.theta_min), np.float32(cfg.theta_max - cfg.theta_min)
    eps_scale, two_pi = np.float32(2 * cfg.epsilon_fraction), np.float32(2 * math.pi)
    for age in range(n_slices):
        if sid.size == 0:
            break
        if age + max_delay >= n_slices:  # showers that started late reach the back
            out = age + delay[sid] >= n_slices
            leaked += np.bincount(sid[out], e[out], minlength=n)
            sid, x, y, sx, sy, e = (a[~out] for a in (sid, x, y, sx, sy, e))
        u = _draw(rngs, np.searchsorted(sid, block_starts), np.empty(sid.size, np.float32))
        split = u < split_below[age]
        if age > cfg.min_stop_slice:
            stop = u < p_stop[age]
            if e_min > 0:
                stop |= e < e_min
            layer = layer_of_slice[age + delay[sid[stop]]] if max_delay else layer_of_slice[age]
            records.append((sid[stop], x[stop], y[stop], layer, e[stop]))
            split &= ~stop
        if e_min > 0:
            split &= e >= e_min
        counts = split.astype(np.int64) + 1
        if age > cfg.min_stop_slice:
            counts[stop] = 0
        parent = np.repeat(np.arange(sid.size), counts)
        sp = np.flatnonzero(split)
        first = (np.cumsum(counts) - counts)[sp]  # index of the first daughter of each split
        new = [a[parent] for a in (sid, x, y, sx, sy, e)]
        sid, x, y, sx, sy, e_new = new

        # split kinematics in the parent frame (z along the parent), then rotated into the
        # parent direction v by the half-turn R = 2 n n^T - I about n = (v + z)/|v + z|
        d = _draw(rngs, np.searchsorted(sid[first], block_starts), np.empty((sp.size, 3), np.float32))
        theta = theta_lo + theta_span * d[:, 0]
        eps = (d[:, 1] - np.float32(0.5)) * eps_scale * theta
        phi = two_pi * d[:, 2]
        cos_phi, sin_phi = np.cos(phi), np.sin(phi)
        px, py = sx[first], sy[first]
        r = np.sqrt(1 + px * px + py * py)
        rp1 = 1 + r
        inv = 1 / (r * rp1)
        e_parent = e[sp]
        e1 = e_parent * (theta / 2 + eps) / theta  # the less deflected daughter gets more
        for k, tan_k, e_k in ((0, np.tan(theta / 2 - eps), e1), (1, -np.tan(theta / 2 + eps), e_parent - e1)):
            dx, dy = tan_k * cos_phi, tan_k * sin_phi
            c = (px * dx + py * dy + rp1) * inv
            dzr = c * rp1 - 1
            sx[first + k] = (c * px - dx) / dzr
            sy[first + k] = (c * py - dy) / dzr
            e_new[first + k] = e_k
        e = e_new
        x += dz * sx
        y += dz * sy
    leaked += np.bincount(sid, e, minlength=n)

    sid_all = np.concatenate([r[0] for r in records])
    layer_all = np.concatenate([np.broadcast_to(r[3], r[0].shape) for r in records])
    order = np.argsort(sid_all, kind="stable")
    points = np.empty((sid_all.size, 4), np.float32)
    points[:, 2] = layer_all[order]
    for col, k in ((0, 1), (1, 2), (3, 4)):
        points[:, col] = np.concatenate([r[k] for r in records])[order]
    points[:, :2] *= np.float32(cfg.mm_per_unit)
    layer_counts = np.bincount(sid_all * n_layers + layer_all, minlength=n * n_layers)
    return {
        "points": points,
        "counts": np.bincount(sid_all, minlength=n),
        "energy": energy,
        "leaked": leaked,
        "layer_counts": layer_counts.reshape(n, n_layers),
    }


def simulate(
    config: SupaConfig,
    n: int,
    seed: int = 0,
    *,
    energy: float | tuple[float, float] | None = None,
    particle: str | None = None,
    progress: bool = False,
    chunk_size: int = 4096,
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
            out = _simulate_blocks(config, int(seed), block, blocks_per_chunk)
            block += blocks_per_chunk
            keep = (out["layer_counts"] > 0).all(1) if config.skip_empty else np.ones(
                len(out["energy"]), bool
            )
            last = np.flatnonzero(keep)[: n - kept]
            size = last[-1] + 1 if kept + keep.sum() >= n else keep.size
            attempts += size
            keep[size:] = False
            out["keep"] = keep
            parts.append(out)
            kept += int(keep.sum())
            bar.update(int(keep.sum()))

    counts = np.concatenate([p["counts"][p["keep"]] for p in parts])
    points = np.concatenate([p["points"][np.repeat(p["keep"], p["counts"])] for p in parts])
    leaked = np.concatenate([p["leaked"][p["keep"]] for p in parts])
    incident = np.concatenate([p["energy"][p["keep"]] for p in parts])
    theta, phi = config.incident_theta, config.incident_phi
    direction = (math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta))
    attrs = {
        "generator": "calopaper.sim.supa",
        "calopaper_version": calopaper.__version__,
        "seed": int(seed),
        **config.attrs(),
        "acceptance": kept / attempts,
        "n_attempts": attempts,
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
