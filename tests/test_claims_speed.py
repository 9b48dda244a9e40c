"""Every speed claim can fail: synthetic timings that contradict it give "not reproduced"."""

from dataclasses import replace

import pytest

from calopaper.claims import speed

GOOD = speed.Measured(
    supa_ms=0.05,
    savae_ms=0.05,
    gaam_ms=15.0,
    batch=64,
    gaam_middle_ms=12.0,
    cc2_ms=(80.0, 150.0, 220.0),
    cc3_ms=(10.0, 20.0, 30.0),
    gibbs_share=(0.7, 0.8),
)

BAD = {
    "speed-supa": replace(GOOD, supa_ms=5.0),  # 19x the reference code, not 1000x
    "speed-savae-gaam": replace(GOOD, savae_ms=2.0),  # 7.5x, not 247x
    "speed-gaam-middle": replace(GOOD, gaam_middle_ms=200.0),  # slower than the paper's GPU
    "speed-cc3-cc2": replace(GOOD, cc3_ms=(100.0, 200.0, 300.0)),  # CC3 slower than CC2
    "speed-dvae-gibbs": replace(GOOD, gibbs_share=(0.2, 0.3)),  # the decoder dominates
}


def _verdicts(m: speed.Measured) -> dict[str, str]:
    return {c.id: c.verdict for c in speed.claims(m)}


def test_good_timings_reproduce_every_claim():
    assert set(_verdicts(GOOD).values()) == {"reproduced"}


@pytest.mark.parametrize("claim", sorted(BAD))
def test_contradicting_timings_are_not_reproduced(claim):
    assert _verdicts(BAD[claim])[claim] == "not reproduced"


def test_partly_between_goal_and_paper():
    assert _verdicts(replace(GOOD, gaam_middle_ms=50.0))["speed-gaam-middle"] == "partly"
    assert _verdicts(replace(GOOD, cc3_ms=(40.0, 75.0, 110.0)))["speed-cc3-cc2"] == "partly"


def test_missing_generators_are_not_yet_run():
    verdicts = _verdicts(speed.Measured())
    assert set(verdicts.values()) == {"not yet run"}
    assert list(verdicts) == [
        "speed-savae-gaam",
        "speed-gaam-middle",
        "speed-dvae-gibbs",
        "speed-supa",
        "speed-cc3-cc2",
    ]


@pytest.mark.parametrize(
    ("shares", "errors", "expected"),
    [
        ((0.7, 0.8), (0.05, 0.05), "reproduced"),
        ((0.7, 0.55), (0.05, 0.1), "partly"),  # one batch within 2 errors of half
        ((0.7, 0.62), (0.05, 0.07), "partly"),  # beyond 1 error, within 2: not yet a finding
        ((0.3, 0.45), (0.05, 0.1), "partly"),
        ((0.3, 0.35), (0.05, 0.05), "not reproduced"),
    ],
)
def test_gibbs_share_is_judged_beyond_two_standard_errors(shares, errors, expected):
    measured = replace(GOOD, gibbs_share=shares, gibbs_share_error=errors)
    assert _verdicts(measured)["speed-dvae-gibbs"] == expected
