"""Chapter 05's claims: "not reproduced" on wrong measurements, "reproduced" on right ones."""

import pytest

from calopaper.claims.supa import REFERENCE_ENERGY_GEV, Measured, claims, energy_deviation

GOOD = Measured(0.05, REFERENCE_ENERGY_GEV, 0.4)


def verdicts(measured: Measured) -> dict[str, str]:
    return {c.id: c.verdict for c in claims(measured)}


def test_matching_measurements_reproduce_every_claim():
    assert set(verdicts(GOOD).values()) == {"reproduced"}


def test_speed_fails_when_slower_than_the_paper():
    assert verdicts(Measured(150.0, REFERENCE_ENERGY_GEV, 0.4))["supa-speed-table1"] == (
        "not reproduced"
    )


@pytest.mark.xfail(strict=True, reason="cannot fail: issue 10")
def test_speedup_over_geant4_fails_when_slower_than_geant4():
    measured = Measured(5000.0, REFERENCE_ENERGY_GEV, 0.4)
    assert verdicts(measured)["supa-vs-geant4"] == "not reproduced"


def test_speedup_over_geant4_is_partly_below_four_orders_of_magnitude():
    assert verdicts(Measured(1.0, REFERENCE_ENERGY_GEV, 0.4))["supa-vs-geant4"] == "partly"


@pytest.mark.parametrize(
    ("energies", "expected"),
    [
        ((21.6, 42.7, 0.70), "reproduced"),
        ((21.6, 42.7, 0.80), "partly"),
        ((10.0, 42.7, 0.68), "not reproduced"),
    ],
)
def test_reference_statistics_by_largest_relative_deviation(energies, expected):
    assert verdicts(Measured(0.05, energies, 0.4))["supa-reference-statistics"] == expected


def test_energy_deviation_is_zero_on_the_reference():
    assert energy_deviation(REFERENCE_ENERGY_GEV) == 0.0


@pytest.mark.parametrize("punch", [0.0, 0.05, 0.95, 1.0])
def test_pion_bimodality_fails_without_both_modes(punch):
    measured = Measured(0.05, REFERENCE_ENERGY_GEV, punch)
    assert verdicts(measured)["supa-pion-bimodal"] == "not reproduced"
