"""One contract test for every generative model (STYLE.md item 8).

Each model module contributes a ``Case`` to ``CASES``: a tiny model, a training batch and a
sampling condition. Every case must give a finite scalar loss whose gradients reach every
parameter, samples of the documented shape with non-negative energies, identical outputs after
a save/load round trip, and identical samples for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from calopaper.training import load_model, save_model


@dataclass(frozen=True)
class Case:
    """name; build() -> model; batch() -> tuple of tensors; cond(n) -> condition for sample;
    shape(n) -> expected sample shape."""

    name: str
    build: Callable[[], torch.nn.Module]
    batch: Callable[[], tuple]
    cond: Callable[[int], object]
    shape: Callable[[int], tuple]


CASES: list[Case] = []


def _ids(cases):
    return [c.name for c in cases]


def _energies(samples) -> torch.Tensor:
    """The energy tensor of a sample (models return a tensor or a tuple whose first item is)."""
    return samples[0] if isinstance(samples, tuple) else samples


@pytest.fixture(params=CASES, ids=_ids(CASES))
def case(request):
    torch.manual_seed(0)
    return request.param


@pytest.mark.skipif(not CASES, reason="no models yet")
def test_loss_is_a_finite_scalar_with_gradients_everywhere(case):
    model = case.build()
    loss = model.loss(case.batch())
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reaches {missing}"


@pytest.mark.skipif(not CASES, reason="no models yet")
def test_samples_have_the_documented_shape_and_non_negative_energies(case):
    model = case.build().eval()
    energies = _energies(model.sample(5, case.cond(5), generator=torch.Generator().manual_seed(1)))
    assert tuple(energies.shape) == case.shape(5)
    assert energies.dtype == torch.float32
    assert torch.all(energies >= 0) and torch.all(torch.isfinite(energies))


@pytest.mark.skipif(not CASES, reason="no models yet")
def test_same_seed_same_samples(case):
    model = case.build().eval()
    a = _energies(model.sample(4, case.cond(4), generator=torch.Generator().manual_seed(3)))
    b = _energies(model.sample(4, case.cond(4), generator=torch.Generator().manual_seed(3)))
    assert torch.equal(a, b)


@pytest.mark.skipif(not CASES, reason="no models yet")
def test_save_load_round_trip_gives_identical_outputs(case, tmp_path):
    model = case.build().eval()
    save_model(tmp_path / "model.pt", model)
    loaded, _ = load_model(tmp_path / "model.pt", type(model))
    batch = case.batch()
    with torch.no_grad():
        torch.manual_seed(7)
        expected = model.loss(batch)
        torch.manual_seed(7)
        assert torch.equal(loaded.loss(batch), expected)
    a = _energies(model.sample(3, case.cond(3), generator=torch.Generator().manual_seed(2)))
    b = _energies(loaded.sample(3, case.cond(3), generator=torch.Generator().manual_seed(2)))
    assert torch.equal(a, b)
