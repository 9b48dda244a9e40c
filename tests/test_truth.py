"""Truth showers are simulated once and then read back from the store."""

import numpy as np
import pytest

from calopaper import truth
from calopaper.sim import supa
from calopaper.store import Store
from calopaper.truth import Source, simulated


def test_simulated_is_cached_and_identical(tmp_path, monkeypatch):
    store = Store(tmp_path)
    calls = []
    real = supa.simulate
    monkeypatch.setattr(supa, "simulate", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = simulated("supa", "paper", 20, seed=4, store=store, progress=False)
    second = simulated("supa", "paper", 20, seed=4, store=store, progress=False)
    assert len(calls) == 1, "the second call must read the stored showers, not re-simulate"
    np.testing.assert_array_equal(first.points, second.points)
    simulated("supa", "paper", 20, seed=5, store=store, progress=False)
    assert len(calls) == 2, "another seed is another artifact"


def test_source_key_follows_the_simulator_code_and_the_file_bytes(tmp_path, monkeypatch):
    before = Source("supa", "gaam", 10, seed=1).key
    assert before == Source("supa", "gaam", 10, seed=1).key
    monkeypatch.setattr(truth, "code_digest", lambda modules: "edited-simulator")
    assert Source("supa", "gaam", 10, seed=1).key != before
    path = tmp_path / "showers.h5"
    path.write_bytes(b"first")
    first = Source(path=str(path)).key
    path.write_bytes(b"second")
    assert Source(path=str(path)).key != first


def test_source_refuses_missing_files_and_empty_simulations(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.h5"):
        Source(path=str(tmp_path / "nothing.h5"))
    with pytest.raises(ValueError, match="n=0"):
        Source("supa", "gaam", 0)


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
