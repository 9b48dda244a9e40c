"""Claims of the SUPA chapter (05): speed (supa Table 1), reference statistics, punch-through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from calopaper.results import Claim, verdict

__all__ = [
    "GEANT4_MS",
    "HEPCAT_POSITRONS",
    "PAPER_MS",
    "QUOTED_MS",
    "REFERENCE_CODE_MS",
    "REFERENCE_ENERGY_GEV",
    "REFERENCE_STATISTICS",
    "Measured",
    "claims",
    "energy_deviation",
]

#: ms per shower in supa Table 1: SUPA's reference code, and Geant4 in the CaloGAN geometry.
PAPER_MS, GEANT4_MS = 100.0, 1772.0
#: ms per shower of the reference code's first release on the book's build machine
#: (``reference/supa.md``).
REFERENCE_CODE_MS = 147.0
#: The quoted rows of the speed table: label -> ms per shower.
QUOTED_MS = {
    "SUPA reference code (paper, Table 1)": PAPER_MS,
    "SUPA reference code, first release (measured here)": REFERENCE_CODE_MS,
    "Geant4, CaloGAN geometry (paper, Table 1)": GEANT4_MS,
}
#: Mean deposits and energy (GeV) per readout layer of the reference code's first release at
#: 65 GeV (``reference/supa.md``).
REFERENCE_STATISTICS = {"deposits": (28, 867, 316), "energy [GeV]": (21.6, 42.7, 0.68)}
REFERENCE_ENERGY_GEV = REFERENCE_STATISTICS["energy [GeV]"]
#: Mean energy fractions f_0, f_1, f_2 and fractions of non-zero cells in layers 0, 1, 2 of 51
#: real Geant4 positrons in the CaloGAN layout (the HEPCAT test file, not shipped).
HEPCAT_POSITRONS = (0.193, 0.806, 0.0017, 0.45, 0.80, 0.29)


def energy_deviation(layer_energy_gev: Sequence[float]) -> float:
    """Largest relative difference of our mean layer energies from the reference code's.

    Example:
        >>> round(energy_deviation([21.6, 42.7, 0.748]), 3)
        0.1
    """
    reference = np.asarray(REFERENCE_ENERGY_GEV)
    return float(np.max(np.abs(np.asarray(layer_energy_gev) - reference) / reference))


@dataclass(frozen=True)
class Measured:
    """What chapter 05 measured.

    Attributes:
        ms_per_shower: our time per shower of the ``paper`` preset, ms (one CPU core).
        layer_energy_gev: mean energy per readout layer of ``paper`` showers, GeV.
        pion_punch_through: fraction of SUPA ``calogan`` π+ that light fewer than 3 of the
            144 cells of layer 1.
    """

    ms_per_shower: float
    layer_energy_gev: tuple[float, float, float]
    pion_punch_through: float


def claims(measured: Measured) -> list[Claim]:
    """The chapter's four claims (supa Table 1 and §1, the reference code, calodvae §3).

    Example:
        >>> rows = claims(Measured(0.05, (21.6, 42.7, 0.68), 0.4))
        >>> [c.verdict for c in rows]
        ['reproduced', 'reproduced', 'reproduced', 'reproduced']
    """
    ms = measured.ms_per_shower
    deviation = energy_deviation(measured.layer_energy_gev)
    punch = measured.pion_punch_through
    return [
        Claim(
            "supa-speed-table1",
            "SUPA generates a shower in about 100 ms (supa Table 1).",
            f"{PAPER_MS:.0f} ms/shower",
            f"{ms:.3f} ms/shower (vectorised, 1 core)",
            verdict(ms <= PAPER_MS),
        ),
        Claim(
            "supa-vs-geant4",
            "SUPA is up to six orders of magnitude faster than Geant4 (supa §1).",
            f"{GEANT4_MS:.0f} ms vs {PAPER_MS:.0f} ms per shower",
            f"{GEANT4_MS / ms:.2g}× faster than the paper's Geant4 time",
            verdict(GEANT4_MS / ms >= 1e4, partly=True),
        ),
        Claim(
            "supa-reference-statistics",
            "Our implementation reproduces the reference code's layer energies (first release, "
            "65 GeV).",
            " / ".join(f"{e:g}" for e in REFERENCE_ENERGY_GEV) + " GeV",
            " / ".join(f"{e:.2f}" for e in measured.layer_energy_gev) + " GeV",
            verdict(deviation < 0.1, partly=deviation < 0.3),
        ),
        Claim(
            "supa-pion-bimodal",
            "π+ layer sparsity is bimodal because of punch-through (calodvae §3), in SUPA "
            "`calogan`.",
            "bimodal (Geant4)",
            f"{punch:.0%} of π+ light < 3 cells of layer 1",
            verdict(0.1 < punch < 0.9),
        ),
    ]
