"""The bench's simulators: SUPA's presets and the reference simulator in both calorimeters.

The model families' generators live beside each family (``models/<family>/bench.py``).
"""

from __future__ import annotations

from calopaper.bench.registry import BenchContext, Generator

__all__ = ["reference_simulator", "supa"]

#: Incident energies (GeV) at which energy-dependent generators are timed.
CALOGAN_ENERGIES = (1.0, 10.0, 100.0)
ILD_ENERGIES = (10.0, 50.0, 90.0)


def supa(ctx: BenchContext) -> list[Generator]:
    """SUPA, every preset (numpy, one process): supa Table 1's speed."""
    from calopaper.sim import supa as sim

    def make(preset: str) -> Generator:
        config = sim.PRESETS[preset]
        return Generator(
            name=f"SUPA {preset}",
            paper="supa",
            truth="calogan" if preset == "calogan" else "gaam-middle" if preset == "gaam" else "",
            generate=lambda n, energy: sim.simulate(config, n, seed=0, energy=energy),
            energies=CALOGAN_ENERGIES if config.energy_max > config.energy_min else (),
            note=f"SUPA preset {preset!r}, vectorised numpy, {config.particle}",
            network=False,
        )

    return [make(preset) for preset in sim.PRESETS]


def reference_simulator(ctx: BenchContext) -> list[Generator]:
    """The book's detailed reference simulator (GFlash-style) in both calorimeters."""
    from calopaper.sim import gflash

    def make(name: str, energies: tuple[float, ...]) -> Generator:
        return Generator(
            name=f"reference simulator {name}",
            paper="caloclouds3" if name == "ild" else "calodvae",
            truth=name,
            generate=lambda n, energy: gflash.simulate(name, n, seed=0, energy=energy),
            energies=energies,
            note=f"GFlash-style parameterised shower in the {name} calorimeter (numpy)",
            network=False,
        )

    return [make("calogan", CALOGAN_ENERGIES), make("ild", ILD_ENERGIES)]
