"""Chapter 04's claims on synthetic measurements: each can come out reproduced and not, and a
number that differs from its threshold only by training noise is not "reproduced"."""

from dataclasses import replace

import numpy as np
import pytest

from calopaper.claims.dvae import BIAS_GOOD, KS_GOOD, Measured, claims

SEEDS = 3


def _seeds(value: float, spread: float = 0.0) -> tuple[float, ...]:
    """Three trainings' values around ``value``: value - spread, value, value + spread."""
    return tuple(value + spread * d for d in (-1.0, 0.0, 1.0))


def _pairs(value: float, n: int, spread: float = 0.0) -> tuple[tuple[float, ...], ...]:
    """Per training, ``n`` (variable, particle) KS statistics all equal to that training's."""
    return tuple((v,) * n for v in _seeds(value, spread))


GOOD = Measured(
    shape_ks=_pairs(0.02, 27, 0.002),
    sparsity_ks=_pairs(0.03, 9, 0.002),
    pion_low_truth=0.40,
    pion_low_truth_error=0.01,
    pion_low_model=_seeds(0.42, 0.005),
    pion_low_reconstruction=0.41,
    pion_low_prior_long=0.43,
    em_bias_max=_seeds(0.03, 0.002),
    em_bias_150=_seeds(0.04, 0.002),
    width_pion_model=_seeds(0.5, 0.01),
    width_pion_truth=0.5,
    width_e_model=_seeds(0.02, 0.001),
    width_e_truth=0.001,
    architectures=("I", "II", "III", "IV"),
    selected=("III", "IV", "IV"),
    gibbs_share=0.8,
    ms_per_shower=0.1,
)

BAD = {
    "dvae-shower-shapes": {"shape_ks": _pairs(0.3, 27, 0.01)},
    "dvae-sparsity": {"sparsity_ks": _pairs(0.5, 9, 0.01)},
    "dvae-pion-bimodal": {"pion_low_model": (0.0, 0.0, 0.0)},
    "dvae-energy-conditioning": {"em_bias_max": _seeds(0.4, 0.02)},
    "dvae-extrapolation": {"em_bias_150": _seeds(0.3, 0.02)},
    "dvae-pion-response": {"width_pion_model": _seeds(0.05, 0.001)},
    "dvae-deep-models": {"selected": ("I", "II", "I")},
    "dvae-gibbs-cost": {"gibbs_share": 0.2},
}
#: Claims judged over trainings (their results carry the seeds).
MODEL_CLAIMS = sorted(set(BAD) - {"dvae-deep-models", "dvae-gibbs-cost"})


def _verdicts(measured: Measured) -> dict[str, str]:
    return {c.id: c.verdict for c in claims(measured)}


def test_every_claim_is_reproduced_on_a_faithful_model():
    assert set(_verdicts(GOOD).values()) == {"reproduced"}
    assert set(_verdicts(GOOD)) == set(BAD)


def test_model_claims_carry_their_trainings():
    by_id = {c.id: c for c in claims(GOOD)}
    for claim in MODEL_CLAIMS:
        assert by_id[claim].seeds["n_seeds"] == SEEDS, claim
        assert "(3 seeds, s = " in by_id[claim].ours, claim
    assert by_id["dvae-gibbs-cost"].seeds == {}
    # one interval judges the energy bias: the record keeps it for the rebuild model
    assert by_id["dvae-energy-conditioning"].seeds["interval"] == [None, BIAS_GOOD]
    assert "interval" not in by_id["dvae-pion-bimodal"].seeds  # a condition judges it too


@pytest.mark.parametrize("claim", sorted(BAD))
def test_each_claim_can_fail(claim):
    fields = GOOD.__dict__ | BAD[claim]
    verdicts = _verdicts(Measured(**fields))
    assert verdicts[claim] == "not reproduced"
    assert all(v == "reproduced" for k, v in verdicts.items() if k != claim)


# Per claim: fields whose trainings straddle the claim's threshold (mean on it, as equal
# models that differ only by seed would), and fields clearly better than it with the same spread.
NOISE = {
    "dvae-shower-shapes": (
        {"shape_ks": _pairs(KS_GOOD, 27, 0.01)},
        {"shape_ks": _pairs(0.02, 27, 0.01)},
    ),
    "dvae-sparsity": (
        {"sparsity_ks": _pairs(KS_GOOD, 9, 0.01)},
        {"sparsity_ks": _pairs(0.02, 9, 0.01)},
    ),
    "dvae-pion-bimodal": (
        {"pion_low_model": _seeds(0.45, 0.02)},  # truth 0.40: 5 points off on average
        {"pion_low_model": _seeds(0.40, 0.01)},
    ),
    "dvae-energy-conditioning": (
        {"em_bias_max": _seeds(0.05, 0.02)},
        {"em_bias_max": _seeds(0.01, 0.005)},
    ),
    "dvae-extrapolation": (
        {"em_bias_150": _seeds(0.05, 0.02)},
        {"em_bias_150": _seeds(0.01, 0.005)},
    ),
    "dvae-pion-response": (
        {"width_pion_model": _seeds(0.625, 0.05)},  # 1.25 times the truth's 0.5
        {"width_pion_model": _seeds(0.5, 0.03)},
    ),
}


@pytest.mark.parametrize("claim", sorted(NOISE))
def test_trainings_around_the_threshold_are_not_reproduced(claim):
    noise, _ = NOISE[claim]
    assert _verdicts(Measured(**GOOD.__dict__ | noise))[claim] == "partly"


@pytest.mark.parametrize("claim", sorted(NOISE))
def test_clearly_better_trainings_are_still_reproduced(claim):
    _, better = NOISE[claim]
    assert _verdicts(Measured(**GOOD.__dict__ | better))[claim] == "reproduced"


def test_seed_noise_around_the_threshold_is_rarely_reproduced():
    """Three trainings of a model whose true median KS sits on the threshold, drawn with
    training noise: "reproduced" only about once in eleven (the band covers ~82 %), never
    most of the time."""
    rng = np.random.default_rng(0)
    verdicts = []
    for _ in range(2000):
        ks = tuple((v,) * 27 for v in rng.normal(KS_GOOD, 0.01, SEEDS))
        verdicts.append(_verdicts(replace(GOOD, shape_ks=ks))["dvae-shower-shapes"])
    reproduced = np.mean(np.array(verdicts) == "reproduced")
    assert reproduced < 0.15
    assert np.mean(np.array(verdicts) == "partly") > 0.7


def test_one_lucky_training_is_not_a_finding():
    """One training that clears the threshold beside two that do not is not reproduced."""
    ks = ((0.03,) * 27, (0.09,) * 27, (0.1,) * 27)
    assert _verdicts(replace(GOOD, shape_ks=ks))["dvae-shower-shapes"] == "partly"


def test_a_pion_gap_wholly_beyond_5_points_and_a_collapsed_mode_fail():
    gap = replace(GOOD, pion_low_model=_seeds(0.5, 0.005))
    assert _verdicts(gap)["dvae-pion-bimodal"] == "not reproduced"
    collapsed = replace(GOOD, pion_low_truth=0.01, pion_low_model=(0.01, 0.01, 0.01))
    assert _verdicts(collapsed)["dvae-pion-bimodal"] == "not reproduced"


def test_the_truths_own_error_widens_the_pion_band():
    """A model 4 points off with a precise truth is reproduced; with a truth fraction known
    only to ± 2 points (1 error) the band reaches past 5 points."""
    near = replace(GOOD, pion_low_model=(0.44, 0.44, 0.44), pion_low_truth_error=0.0)
    assert _verdicts(near)["dvae-pion-bimodal"] == "reproduced"
    assert _verdicts(replace(near, pion_low_truth_error=0.02))["dvae-pion-bimodal"] == "partly"


def test_missing_parts_are_not_yet_run():
    verdicts = _verdicts(Measured(shape_ks=((0.02,),), sparsity_ks=((0.02,),)))
    for claim in ("dvae-energy-conditioning", "dvae-extrapolation", "dvae-pion-response"):
        assert verdicts[claim] == "not yet run"
    assert verdicts["dvae-deep-models"] == "not yet run"
    assert verdicts["dvae-pion-bimodal"] == "not yet run"
    empty = _verdicts(Measured(shape_ks=(), sparsity_ks=()))
    assert empty["dvae-shower-shapes"] == empty["dvae-sparsity"] == "not yet run"


@pytest.mark.parametrize(
    ("pion_model", "e_model", "expected"),
    [
        (2.5, 0.02, "not reproduced"),  # five times broader than the truth
        (0.625, 0.02, "partly"),  # 1.25 times the truth: the band straddles the bound
        (0.8, 0.02, "not reproduced"),  # 1.6 times the truth
        (0.5, 0.4, "not reproduced"),  # as broad as the truth, but so is the e+ peak
    ],
)
def test_pion_response_is_compared_with_the_truth(pion_model, e_model, expected):
    fields = {"width_pion_model": _seeds(pion_model, 0.01), "width_e_model": _seeds(e_model)}
    assert _verdicts(Measured(**GOOD.__dict__ | fields))["dvae-pion-response"] == expected


@pytest.mark.parametrize(
    ("architectures", "selected"),
    [(("I", "II", "III", "IV"), ()), (("I", "II"), ("I", "II", "I")), (("III", "IV"), ("III",))],
)
def test_deep_models_not_yet_run_without_a_selection_or_a_deep_and_shallow_grid(
    architectures, selected
):
    fields = {"architectures": architectures, "selected": selected}
    assert _verdicts(Measured(**GOOD.__dict__ | fields))["dvae-deep-models"] == "not yet run"


def test_pion_claim_names_where_the_modes_are_lost():
    """A prior that loses the showering mode while the reconstructions keep it fails, and the
    claim says so with the encode→decode and long-run prior fractions."""
    fields = {
        "pion_low_model": _seeds(0.95, 0.005),
        "pion_low_reconstruction": 0.41,
        "pion_low_prior_long": 0.99,
    }
    (claim,) = [
        c for c in claims(Measured(**GOOD.__dict__ | fields)) if c.id == "dvae-pion-bimodal"
    ]
    assert claim.verdict == "not reproduced"
    assert "encode→decode 41.0%" in claim.ours and "1,000 sweeps 99.0%" in claim.ours


@pytest.mark.parametrize(
    ("share", "error", "expected"),
    [
        (0.8, 0.05, "reproduced"),
        (0.55, 0.1, "partly"),
        (0.56, 0.04, "partly"),  # beyond 1 error, within 2
        (0.45, 0.1, "partly"),
        (0.3, 0.1, "not reproduced"),
    ],
)
def test_gibbs_share_is_judged_on_two_standard_errors(share, error, expected):
    measured = replace(GOOD, gibbs_share=share, gibbs_share_error=error)
    assert _verdicts(measured)["dvae-gibbs-cost"] == expected
