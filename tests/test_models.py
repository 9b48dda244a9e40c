"""One contract test for every generative model (STYLE.md item 8).

Each model module contributes a ``Case`` to ``CASES``: a tiny model, a training batch and a
sampling condition. Every case must give a finite scalar loss whose gradients reach every
parameter, samples of the documented shape with non-negative energies, identical outputs after
a save/load round trip, and identical samples for the same seed.
"""

from __future__ import annotations

import contextlib
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


def _dvae_batch() -> tuple:
    """Six sparse CaloGAN showers (504 cells, MeV) and their incident energies (GeV)."""
    g = torch.Generator().manual_seed(0)
    cells = (torch.rand(6, 504, generator=g) < 0.1) * torch.rand(6, 504, generator=g) * 1000
    return cells, torch.linspace(1.0, 100.0, 6)


def _dvae() -> torch.nn.Module:
    from calopaper.models.dvae import DVAE, CellStandardiser, architecture

    scaler = CellStandardiser.fit(_dvae_batch()[0])
    config = architecture("I", scale=0.05, gibbs_steps_sample=5, standardisation=scaler.to_config())
    return DVAE(config)


CASES.append(
    Case("dvae", _dvae, _dvae_batch, lambda n: torch.linspace(1.0, 150.0, n), lambda n: (n, 504))
)


def _gaam_batch() -> tuple:
    """Five 3x4 showers (MeV, spiral order) padded to 16 positions, and their cell sizes (mm)."""
    g = torch.Generator().manual_seed(0)
    energy = torch.zeros(5, 16)
    energy[:, :12] = (torch.rand(5, 12, generator=g) < 0.5) * torch.rand(5, 12, generator=g) * 60
    sizes = torch.zeros(5, 16, 2)
    sizes[:, :12] = torch.tensor([160.0, 120.0])
    return energy, sizes


def _gaam(conditional: bool) -> Callable[[], torch.nn.Module]:
    from calopaper.models.gaam import GAAM, GAAMConfig

    config = GAAMConfig(16, 9, hidden=(8, 8), channels=3, kernel=2, conditional=conditional)
    return lambda: GAAM(config)


CASES.append(Case("gaam", _gaam(True), _gaam_batch, lambda n: "4x4", lambda n: (n, 4, 4)))
CASES.append(
    Case("unconditional-arm", _gaam(False), _gaam_batch, lambda n: "4x4", lambda n: (n, 4, 4))
)

_SAVAE_TINY = {"latent_dim": 2, "hidden": 8, "heads": 2, "max_tokens": 4}


def _savae_batch() -> tuple:
    """Three sparse 4x4 and three 2x2 showers (MeV) as ``savae.prepare`` tensors."""
    from calopaper.models.savae import SAVAEConfig, prepare

    g = torch.Generator().manual_seed(0)
    images = {}
    for name, shape in (("4x4", (4, 4)), ("2x2", (2, 2))):
        hits = torch.rand(3, *shape, generator=g) < 0.6
        images[name] = (hits * torch.rand(3, *shape, generator=g) * 1e3).numpy()
    return prepare(images, SAVAEConfig(segmentations=("4x4", "2x2"), **_SAVAE_TINY))


def _savae() -> torch.nn.Module:
    from calopaper.models.savae import SAVAE, SAVAEConfig

    return SAVAE(SAVAEConfig(segmentations=("4x4", "2x2"), **_SAVAE_TINY))


CASES.append(Case("savae", _savae, _savae_batch, lambda n: "3x5", lambda n: (n, 3, 5)))


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


class _HostReached(Exception):
    """A value reached the host (``.cpu()``, ``.numpy()``, ``int(t)``) or decided a shape
    (boolean masks): every operation before it kept to one device; meta tensors hold no values,
    so the check ends there."""


class _OneDevice(torch.overrides.TorchFunctionMode):
    """Fails an operation that mixes tensors of two devices (a 0-dim CPU tensor is a scalar and
    may meet any device) and stops where a result is brought to the host.

    With the model on the ``meta`` device, a tensor created on the CPU inside a device path (the
    mistake that only a GPU shows) meets a meta tensor and fails here, without a GPU.
    """

    HOST = {torch.Tensor.cpu, torch.Tensor.numpy, torch.Tensor.tolist, torch.Tensor.item}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        leaves = torch.utils._pytree.tree_leaves((args, kwargs))
        tensors = [t for t in leaves if isinstance(t, torch.Tensor)]
        devices = {t.device.type for t in tensors if not (t.device.type == "cpu" and t.ndim == 0)}
        if len(devices) > 1:
            raise AssertionError(f"{func.__name__} mixes devices {sorted(devices)}")
        to_host = func is torch.Tensor.to and "cpu" in map(str, (*args[1:], *kwargs.values()))
        if (func in self.HOST or to_host) and "meta" in devices:
            raise _HostReached
        try:
            return func(*args, **kwargs)
        except (RuntimeError, NotImplementedError) as e:
            if "meta" in devices and "meta" in str(e):
                raise _HostReached from e  # a value-dependent operation
            raise


def _on_meta(model: torch.nn.Module, case: Case) -> None:
    """The case's loss and sampling with the model and the batch on the meta device, each up to
    its first value-dependent step (``_HostReached``): SAVAE's encoder groups showers by their
    token counts and GAAM's loss keeps cells by value, so their losses are checked up to there;
    every family's samples come back to the CPU by design, for numpy."""
    model = model.to("meta")
    batch = tuple(t.to("meta") for t in case.batch())
    for step in (
        lambda: model.loss(batch),
        lambda: model.sample(3, case.cond(3), generator=torch.Generator().manual_seed(0)),
    ):
        with contextlib.suppress(_HostReached), _OneDevice():
            step()


@pytest.mark.skipif(not CASES, reason="no models yet")
def test_loss_and_sampling_keep_to_the_models_device(case):
    _on_meta(case.build(), case)


def test_the_device_check_catches_a_cpu_tensor_in_a_device_path():
    class Planted(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(4))

        def loss(self, batch):
            return (batch[0] * self.w + torch.ones(4)).sum()  # torch.ones(4) stays on the CPU

    planted = Case("planted", Planted, lambda: (torch.ones(2, 4),), lambda n: None, lambda n: ())
    with pytest.raises(AssertionError, match=r"mixes devices \['cpu', 'meta'\]"):
        _on_meta(Planted(), planted)
