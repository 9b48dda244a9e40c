"""Chapter 01's claims: "not reproduced" on wrong measurements, "reproduced" on right ones."""

import pytest

from calopaper.claims.dataset import Measured, claims

GOOD = Measured((0.30, 0.69, 0.01), (24, 12, 24, 24), 18, 1e-12)


def verdicts(measured: Measured) -> dict[str, str]:
    return {c.id: c.verdict for c in claims(measured)}


def test_matching_measurements_reproduce_every_claim():
    assert set(verdicts(GOOD).values()) == {"reproduced"}


@pytest.mark.parametrize("fractions", [(0.60, 0.39, 0.01), (0.30, 0.30, 0.40), (0.01, 0.69, 0.30)])
def test_layer_fractions_fail_when_middle_is_not_largest_or_outer_not_smallest(fractions):
    measured = Measured(fractions, GOOD.conditioning_vector, 18, 1e-12)
    assert verdicts(measured)["layer-fractions"] == "not reproduced"


def test_conditioning_vector_fails_on_another_vector():
    measured = Measured(GOOD.fractions, (24, 24, 24, 24), 18, 1e-12)
    assert verdicts(measured)["conditioning-vector"] == "not reproduced"


def test_regrouping_fails_when_energy_is_lost():
    measured = Measured(GOOD.fractions, GOOD.conditioning_vector, 18, 1e-3)
    assert verdicts(measured)["regrouping"] == "not reproduced"
    assert "1e-03" in claims(measured)[2].ours
