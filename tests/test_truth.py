"""Truth showers are simulated once and then read back from the store."""

import numpy as np
import pytest

from calopaper.store import Store
from calopaper.truth import simulated


def test_simulated_is_cached_and_identical(tmp_path):
    store = Store(tmp_path)
    first = simulated("supa", "paper", 20, seed=4, store=store, progress=False)
    files = sorted((tmp_path / "supa").glob("*.h5"))
    second = simulated("supa", "paper", 20, seed=4, store=store, progress=False)
    assert len(files) == 1
    np.testing.assert_array_equal(first.points, second.points)


def test_overrides_change_the_key(tmp_path):
    store = Store(tmp_path)
    simulated("supa", "calogan", 10, store=store, progress=False, particle="e+")
    simulated("supa", "calogan", 10, store=store, progress=False, particle="pi+")
    assert len(list((tmp_path / "supa").glob("*.h5"))) == 2


def test_unknown_simulator_and_preset_are_named():
    with pytest.raises(ValueError, match="'geant4'"):
        simulated("geant4", "x", 1)
    with pytest.raises(ValueError, match="'nope'"):
        simulated("supa", "nope", 1)
