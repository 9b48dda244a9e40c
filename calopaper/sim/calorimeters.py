"""Sampling-calorimeter descriptions as data (materials, layers, cells) for the GFlash simulator."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calopaper.geometry import Segmentation

__all__ = [
    "CALOGAN",
    "CALORIMETERS",
    "E_S",
    "ILD",
    "MATERIALS",
    "Calorimeter",
    "Layer",
    "Material",
    "Medium",
    "get_calorimeter",
    "medium",
]

#: E_s of the Moliere radius R_M = X0 E_s / E_c, MeV (Geant4 GFlash sampling class since 2024).
E_S = 21.2


@dataclass(frozen=True)
class Material:
    """A pure material with the constants GFlash needs (PDG values).

    Attributes:
        name: material name.
        Z: atomic number.
        A: atomic mass, g/mol.
        density: g/cm^3.
        X0: radiation length, g/cm^2.
        dedx: minimum-ionisation stopping power, MeV cm^2/g.
    """

    name: str
    Z: float
    A: float
    density: float
    X0: float
    dedx: float

    @property
    def critical_energy(self) -> float:
        """E_c = 2.66 (X0 Z / A)^1.1 MeV with X0 in g/cm^2 (unit-consistent; gflash.md 4.1).

        Geant4 inserts X0 in mm here, which gives 182 MeV instead of 37 MeV for Si.

        Example:
            >>> round(MATERIALS["W"].critical_energy, 2)
            8.0
        """
        return 2.66 * (self.X0 * self.Z / self.A) ** 1.1


#: The materials of the shipped calorimeters (PDG "Atomic and nuclear properties").
MATERIALS = {
    "W": Material("W", 74.0, 183.84, 19.3, 6.76, 1.145),
    "Si": Material("Si", 14.0, 28.0855, 2.329, 21.82, 1.664),
    "Pb": Material("Pb", 82.0, 207.2, 11.35, 6.37, 1.122),
    "LAr": Material("LAr", 18.0, 39.948, 1.396, 19.55, 1.519),
}


@dataclass(frozen=True)
class Medium:
    """The homogenised medium of a sampling structure (gflash.md 4.1, unit-consistent).

    Mass fractions w_i = d_i rho_i / sum(d rho); Z, A mass-weighted; 1/X0 = sum(w_i / X0_i) and
    R_M = E_s / sum(w_i E_c,i / X0_i) in g/cm^2, turned into mm with the mean density over the
    full pitch (absorber + active + gap), so mass-less gaps stretch X0 and R_M in mm.

    Attributes:
        Z: effective atomic number.
        critical_energy: E_c,eff = X0 sum(w_i E_c,i / X0_i), MeV.
        X0: radiation length, mm.
        moliere_radius: R_M, mm.
        F_S: 1 / (X0 per sampling period), GFlash's sampling-frequency parameter.
        e_hat: GFlash's e/mip, 1 / (1 + 0.007 (Z_absorber - Z_active)).
        f_mip: fraction of a minimum-ionising particle's energy loss in the active material.
    """

    Z: float
    critical_energy: float
    X0: float
    moliere_radius: float
    F_S: float
    e_hat: float
    f_mip: float


@dataclass(frozen=True)
class Layer:
    """One readout layer: ``periods`` repeats of (gap, absorber, active) read out as one grid.

    Attributes:
        absorber: passive material (GFlash's material 1).
        absorber_thickness: per period, mm.
        active: active material (material 2).
        active_thickness: per period, mm.
        periods: sampling periods in the layer (may be fractional).
        gap: mass-less spacing per period in front of the absorber (PCB, support, air), mm.
        cells: (n_eta, n_phi) uniform cells over ``width``.
        width: (eta, phi) full widths of the cell grid, mm, centred on the incident axis.
    """

    absorber: Material
    absorber_thickness: float
    active: Material
    active_thickness: float
    periods: float = 1.0
    gap: float = 0.0
    cells: tuple[int, int] = (1, 1)
    width: tuple[float, float] = (480.0, 480.0)

    @property
    def thickness(self) -> float:
        """Along the calorimeter normal, mm."""
        return self.periods * (self.gap + self.absorber_thickness + self.active_thickness)

    @property
    def radiation_lengths(self) -> float:
        """Depth of the layer in X0 at normal incidence."""
        a, b = self.absorber, self.active
        x0_mm = (10 * a.X0 / a.density, 10 * b.X0 / b.density)
        return self.periods * (
            self.absorber_thickness / x0_mm[0] + self.active_thickness / x0_mm[1]
        )

    @property
    def segmentation(self) -> Segmentation:
        """The cell grid as a :class:`calopaper.geometry.Segmentation`."""
        (n_eta, n_phi), (w_eta, w_phi) = self.cells, self.width
        return Segmentation.uniform(n_eta, n_phi, (-w_eta / 2, w_eta / 2), (-w_phi / 2, w_phi / 2))


def medium(layers: tuple[Layer, ...] | list[Layer]) -> Medium:
    """The homogenised medium of one or more layers (e_hat and f_mip from the first).

    Example:
        >>> m = medium(CALOGAN.layers[:1])
        >>> round(m.X0, 1), round(m.moliere_radius, 1), round(m.critical_energy, 2)
        (15.6, 36.8, 8.97)
        >>> round(m.Z, 1), round(m.F_S, 2), round(m.e_hat, 3)
        (69.4, 2.6, 0.691)
    """
    mats = [(la.absorber, la.periods * la.absorber_thickness) for la in layers]
    mats += [(la.active, la.periods * la.active_thickness) for la in layers]
    mass = np.array([m.density * d / 10 for m, d in mats])  # g/cm^2
    w = mass / mass.sum()
    Z = float(sum(wi * m.Z for wi, (m, _) in zip(w, mats, strict=True)))
    inv_x0 = float(sum(wi / m.X0 for wi, (m, _) in zip(w, mats, strict=True)))
    ec_x0 = float(sum(wi * m.critical_energy / m.X0 for wi, (m, _) in zip(w, mats, strict=True)))
    length = sum(la.thickness for la in layers)
    rho = mass.sum() / (length / 10)  # g/cm^3 over the full pitch
    x0_mm = 10 / inv_x0 / rho
    first = layers[0]
    a, b = first.absorber, first.active
    loss = (
        a.dedx * a.density * first.absorber_thickness,
        b.dedx * b.density * first.active_thickness,
    )
    periods = sum(la.periods for la in layers)
    return Medium(
        Z=Z,
        critical_energy=ec_x0 / inv_x0,
        X0=float(x0_mm),
        moliere_radius=float(10 * E_S / ec_x0 / rho),
        F_S=float(periods) / sum(la.radiation_lengths for la in layers),
        e_hat=1 / (1 + 0.007 * (a.Z - b.Z)),
        f_mip=loss[1] / (loss[0] + loss[1]),
    )


@dataclass(frozen=True)
class Calorimeter:
    """A sampling calorimeter and its default beam, as data for :func:`gflash.simulate`.

    Attributes:
        name: preset name.
        layers: readout layers from the front.
        readout: "total" (cells record absorber + active energy, as the CaloGAN files do) or
            "active" (visible energy in the active material only).
        sampling_resolution: stochastic term a of sigma/E = a / sqrt(E/GeV) of the visible
            energy (used for "active" readout).
        mip_mpv: most probable energy of a perpendicular minimum-ionising crossing of one
            active layer (location of the Moyal distribution of "active" hits), MeV.
        mip_width: scale of that Moyal distribution, MeV.
        track_cos_min: cos(theta) of charged tracks to the layer normal is U(track_cos_min, 1).
        soft_fraction: fraction of "active" hits that are soft photon-induced deposits.
        soft_exponent: their spectrum, dN/dln(E) ~ E^soft_exponent below ``mip_mpv``.
        mip_cut: cells below ``mip_cut`` MeV are dropped by :func:`gflash.cell_hits`.
        point_grid: hits are merged per layer on a square grid of this pitch, mm (0: no merging).
        spots_per_gev: N_spot = spots_per_gev * (E/GeV)^spot_exponent per shower ("total"
            readout).
        spot_exponent: exponent of the spot number.
        tail_spots: tail spots are this many times more numerous, and lighter, than core spots
            at the same energy ("total" readout; 1 is GFlash's equal spots).
        particle: default incident particle ("gamma", "e-" or "e+").
        energy: default incident energy range (lo, hi), GeV, uniform.
        theta: default polar angle of incidence, rad.
        phi: default azimuth of incidence, rad.
    """

    name: str
    layers: tuple[Layer, ...]
    readout: str = "total"
    sampling_resolution: float = 0.0
    mip_mpv: float = 0.0
    mip_width: float = 0.0
    track_cos_min: float = 1.0
    soft_fraction: float = 0.0
    soft_exponent: float = 1.0
    mip_cut: float = 0.0
    point_grid: float = 0.0
    spots_per_gev: float = 100.0
    spot_exponent: float = 0.876
    tail_spots: float = 1.0
    particle: str = "e+"
    energy: tuple[float, float] = (1.0, 100.0)
    theta: float = 0.0
    phi: float = 0.0

    def __post_init__(self) -> None:
        _validate_calorimeter(self)

    @property
    def layer_z(self) -> np.ndarray:
        """(n_layers,) z of each layer's active centre ("active") or centre ("total"), mm."""
        thick = np.array([la.thickness for la in self.layers])
        end = np.cumsum(thick)
        if self.readout == "total":
            return end - thick / 2
        half = np.array([la.periods * la.active_thickness / 2 for la in self.layers])
        return end - half

    @property
    def front(self) -> Medium:
        """The homogenised medium of the first layer."""
        return medium(self.layers[:1])


def _validate_calorimeter(cal: Calorimeter) -> None:
    """Reject settings the simulator cannot use, naming the field and value."""
    if cal.readout not in ("total", "active"):
        msg = f"readout = {cal.readout!r} is invalid; expected 'total' or 'active'"
        raise ValueError(msg)
    if not cal.layers:
        msg = f"calorimeter {cal.name!r} has no layers; expected at least one Layer"
        raise ValueError(msg)
    for i, la in enumerate(cal.layers):
        sizes = (la.absorber_thickness, la.active_thickness, la.periods, *la.width)
        if not all(x > 0 for x in sizes) or la.gap < 0 or min(la.cells) < 1:
            msg = (
                f"layer {i} of {cal.name!r} is invalid ({la}); expected positive thicknesses, "
                f"periods and widths, a gap >= 0 and at least one cell per axis"
            )
            raise ValueError(msg)
    checks = {
        "sampling_resolution": cal.sampling_resolution >= 0,
        "mip_mpv": cal.mip_mpv > 0 or cal.readout == "total",
        "mip_width": cal.mip_width >= 0,
        "track_cos_min": 0 < cal.track_cos_min <= 1,
        "soft_fraction": 0 <= cal.soft_fraction <= 1,
        "soft_exponent": cal.soft_exponent > 0,
        "mip_cut": cal.mip_cut >= 0,
        "point_grid": cal.point_grid >= 0,
        "spots_per_gev": cal.spots_per_gev > 0,
        "tail_spots": cal.tail_spots >= 1,
    }
    for name, ok in checks.items():
        if not ok:
            msg = f"{name} = {getattr(cal, name)!r} is invalid for calorimeter {cal.name!r}"
            raise ValueError(msg)


def _ild_layers() -> tuple[Layer, ...]:
    w, si = MATERIALS["W"], MATERIALS["Si"]
    cells, width = (78, 78), (78 * 5.088, 78 * 5.088)
    # Si pitch alternates 3.125 / 9.345 mm (2.1 mm W) and 5.225 / 11.445 mm (4.2 mm W): the
    # mass-less gap in front of the absorber is 0.5 mm for odd layers and 6.72 mm for even ones.
    return tuple(
        Layer(
            w,
            2.1 if i < 20 else 4.2,
            si,
            0.525,
            gap=0.0 if i == 0 else (0.5 if i % 2 else 6.72),
            cells=cells,
            width=width,
        )
        for i in range(30)
    )


def _calogan_layers() -> tuple[Layer, ...]:
    pb, lar = MATERIALS["Pb"], MATERIALS["LAr"]
    return tuple(
        Layer(pb, 2.0, lar, 4.0, periods=depth / 6.0, cells=cells)
        for depth, cells in ((90.0, (3, 96)), (347.0, (12, 12)), (43.0, (12, 6)))
    )


#: CaloGAN-like: Pb 2 mm / LAr 4 mm, readout layers of 90, 347, 43 mm, 480 x 480 mm, cells
#: 3x96, 12x12, 12x6; cells record absorber + LAr energy. Default beam e+ U[1, 100] GeV.
CALOGAN = Calorimeter(
    name="calogan",
    layers=_calogan_layers(),
    readout="total",
    spots_per_gev=93 * math.log(69.4),
    tail_spots=20.0,
    point_grid=2.5,
    spot_exponent=0.876,
    particle="e+",
    energy=(1.0, 100.0),
)

#: ILD-like SiW ECAL of the CaloClouds-3 reference: 30 layers of 0.525 mm Si behind 2.1 mm W
#: (1-20) and 4.2 mm W (21-30), 5.088 mm cells, visible energy in Si, MIP 0.2 MeV and a cut at
#: half a MIP; hits merged on the reference's 5.088/6 mm sub-cell grid. Default beam photons
#: U[10, 90] GeV at normal incidence.
ILD = Calorimeter(
    name="ild",
    layers=_ild_layers(),
    readout="active",
    sampling_resolution=0.166,
    mip_mpv=0.157,
    mip_width=0.02,
    track_cos_min=0.3,
    soft_fraction=0.2,
    soft_exponent=1.2,
    mip_cut=0.1,
    point_grid=5.088 / 6,
    particle="gamma",
    energy=(10.0, 90.0),
)

#: The shipped calorimeters by preset name.
CALORIMETERS = {"calogan": CALOGAN, "ild": ILD}


def get_calorimeter(calorimeter: Calorimeter | str) -> Calorimeter:
    """A :class:`Calorimeter` itself or the shipped preset of that name.

    Example:
        >>> get_calorimeter("ild").name
        'ild'
    """
    if isinstance(calorimeter, Calorimeter):
        return calorimeter
    if isinstance(calorimeter, str) and calorimeter in CALORIMETERS:
        return CALORIMETERS[calorimeter]
    msg = (
        f"unknown calorimeter {calorimeter!r}; expected a Calorimeter or one of "
        f"{sorted(CALORIMETERS)}"
    )
    raise ValueError(msg)
