"""Claims tables round-trip through data/results and refuse unknown verdicts."""

import pytest

from calopaper.results import Claim, claims_frame, write_results


def test_claims_round_trip(tmp_path):
    claim = Claim("x", "A beats B", "70%", "65%", "partly")
    write_results("02_savae", [claim], {"w1": {"a": 1.0}}, root=tmp_path)
    frame = claims_frame(tmp_path)
    assert frame.loc[0, "chapter"] == "02_savae"
    assert frame.loc[0, "ours"] == "65%"


def test_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="'maybe'"):
        Claim("x", "c", "p", "o", "maybe")


def test_no_results_gives_an_empty_table(tmp_path):
    assert claims_frame(tmp_path).empty
