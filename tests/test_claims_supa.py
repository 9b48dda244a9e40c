"""Chapter 05's claims: "not reproduced" on wrong measurements, "reproduced" on right ones."""

import pytest

from calopaper.claims.supa import (
    REFERENCE_ENERGY_GEV,
    Measured,
    claims,
    energy_deviation,
    punch_through_bounds,
)

GOOD = Measured(0.01, REFERENCE_ENERGY_GEV, 0.5)


def verdicts(measured: Measured) -> dict[str, str]:
    return {c.id: c.verdict for c in claims(measured)}


def test_matching_measurements_reproduce_every_claim():
    assert set(verdicts(GOOD).values()) == {"reproduced"}


@pytest.mark.parametrize(
    ("ms", "expected"), [(100.0, "reproduced"), (200.0, "partly"), (400.0, "not reproduced")]
)
def test_speed_is_judged_against_the_reference_code(ms, expected):
    assert verdicts(Measured(ms, REFERENCE_ENERGY_GEV, 0.5))["supa-speed"] == expected


@pytest.mark.parametrize(
    ("ms", "expected"),
    [(0.01, "reproduced"), (1.0, "partly"), (5.0, "not reproduced"), (5000.0, "not reproduced")],
)
def test_speedup_over_geant4_by_orders_of_magnitude(ms, expected):
    assert verdicts(Measured(ms, REFERENCE_ENERGY_GEV, 0.5))["supa-vs-geant4"] == expected


@pytest.mark.parametrize(
    ("energies", "expected"),
    [
        ((21.6, 42.7, 0.70), "reproduced"),
        ((21.6, 42.7, 0.80), "partly"),
        ((10.0, 42.7, 0.68), "not reproduced"),
    ],
)
def test_reference_statistics_by_largest_relative_deviation(energies, expected):
    assert verdicts(Measured(0.01, energies, 0.5))["supa-reference-statistics"] == expected


def test_energy_deviation_is_zero_on_the_reference():
    assert energy_deviation(REFERENCE_ENERGY_GEV) == 0.0


@pytest.mark.parametrize("punch", [0.0, 0.2, 0.8, 1.0])
def test_pion_punch_through_fails_outside_what_the_preset_implies(punch):
    lo, hi = punch_through_bounds()
    assert not lo <= punch <= hi
    assert verdicts(Measured(0.01, REFERENCE_ENERGY_GEV, punch))["supa-pion-bimodal"] == (
        "not reproduced"
    )
