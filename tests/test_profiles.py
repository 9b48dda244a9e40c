"""Profiles fill in what a notebook leaves at None; explicit values win; bad ones are named."""

import pytest

from calopaper.profiles import CHAPTERS, resolve, resolve_device


def test_explicit_value_wins_over_profile():
    p = resolve("01_dataset", profile="book", device="cpu", seed=0, n_showers=7, dataset_path="")
    assert p.n_showers == 7


@pytest.mark.parametrize("profile", ["smoke", "book", "paper"])
def test_every_chapter_defines_every_profile(profile):
    for chapter, table in CHAPTERS.items():
        assert set(table[profile]) == set(table["book"]), chapter


def test_unknown_profile_parameter_and_type_are_named():
    with pytest.raises(ValueError, match="'fast'"):
        resolve("01_dataset", profile="fast", device="cpu", seed=0, n_showers=None)
    with pytest.raises(ValueError, match="unknown \\['beta'\\]"):
        resolve("01_dataset", profile="book", device="cpu", seed=0, n_showers=None, beta=1.0)
    with pytest.raises(TypeError, match="n_showers='many'"):
        resolve("01_dataset", profile="book", device="cpu", seed=0, n_showers="many")


def test_device_auto_resolves_and_nonsense_is_refused():
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ValueError, match="'gpu0'"):
        resolve_device("gpu0")
