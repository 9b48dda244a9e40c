"""One contract test for every generative model (STYLE.md item 8).

Each model module contributes ``Case``s to ``CASES``: a tiny model, a training batch and a
sampling condition. Every case with a batch must give a finite scalar loss whose gradients
reach every parameter; every case with a condition must give samples of the documented shape
with non-negative energies, identical outputs after a save/load round trip, identical samples
for the same generator seed and different ones for another, and leave torch's global random
state alone. CaloClouds trains three objectives apart (ShowerFlow, EDM teacher, distillation),
so those are loss cases of their own and the whole model is a sampling case.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from calopaper.training import load_model, save_model


def _energies(samples) -> torch.Tensor:
    """The energy tensor of a sample (models return a tensor or a tuple whose first item is)."""
    return samples[0] if isinstance(samples, tuple) else samples


@dataclass(frozen=True)
class Case:
    """name; build() -> model; batch() -> tuple of tensors (None: no loss of its own);
    cond(n) -> condition for sample (None: not a sampler); shape(n) -> expected shape of
    ``energies(samples)``, of ``dtype``; on_device: sampling keeps to the model's device
    (False where generation runs on the CPU by design)."""

    name: str
    build: Callable[[], torch.nn.Module]
    batch: Callable[[], tuple] | None
    cond: Callable[[int], object] | None = None
    shape: Callable[[int], tuple] | None = None
    energies: Callable[[object], torch.Tensor] = _energies
    dtype: torch.dtype = torch.float32
    on_device: bool = True


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


def _caloflow_batch() -> tuple:
    """Six showers of 4 + 6 voxels (MeV, an always-empty voxel) and their energies (GeV)."""
    g = torch.Generator().manual_seed(0)
    cells = torch.rand(6, 10, generator=g) * 1000
    cells[:, 3] = 0.0
    return cells, torch.linspace(1.0, 100.0, 6)


def _caloflow() -> torch.nn.Module:
    from calopaper.models.caloflow import CaloFlow, CaloFlowConfig

    model = CaloFlow(CaloFlowConfig((4, 6), 2, 16, 4, 2, 16, 1))
    model.loss(_caloflow_batch())  # the standardisation takes its statistics from a first batch
    return model


CASES.append(
    Case("caloflow", _caloflow, _caloflow_batch, lambda n: torch.linspace(1.0, 100.0, n),
         lambda n: (n, 10))
)  # fmt: skip


def _caloclouds(name: str) -> Callable[[], torch.nn.Module]:
    from calopaper.models.caloclouds import CaloClouds, version

    tiny = {"flow_affine": 2, "flow_spline": 1, "flow_hidden": 8, "hidden": 4}
    return lambda: CaloClouds(version(name, **tiny))


def _points_batch() -> tuple:
    """Twenty normalised points (x, y, depth, energy) and their showers' CC3 conditioning."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(20, 4, generator=g), torch.rand(20, 4, generator=g)


def _layer_energies(clouds) -> torch.Tensor:
    """(N, 30) energy per shower and layer, MeV, of generated ``PointClouds``."""
    return torch.from_numpy(clouds.layer_totals(30)[0].T)


def _cc3_cond(n: int) -> np.ndarray:
    """(n, 4) [E GeV, direction]: orthogonal incidence from 10 to 100 GeV."""
    return np.column_stack([np.linspace(10.0, 100.0, n), np.tile([0.0, 0.0, 1.0], (n, 1))])


for _name, _cond in (("cc3", _cc3_cond), ("cc2", lambda n: np.linspace(20.0, 80.0, n))):
    CASES.append(
        Case(f"caloclouds-{_name}", _caloclouds(_name), None, _cond, lambda n: (n, 30),
             _layer_energies, torch.float64, on_device=False)
    )  # fmt: skip


def _caloclouds_flow() -> torch.nn.Module:
    return _caloclouds("cc3")().flow


def _flow_batch() -> tuple:
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 60, generator=g), torch.rand(6, 4, generator=g)


def _edm() -> torch.nn.Module:
    from calopaper.models.caloclouds.model import EDMObjective

    return EDMObjective(_caloclouds("cc3")().teacher)


def _distillation() -> torch.nn.Module:
    from calopaper.models.caloclouds.model import Distillation

    return Distillation(_caloclouds("cc3")().teacher, steps=4)


CASES += [
    Case("caloclouds-showerflow", _caloclouds_flow, _flow_batch),
    Case("caloclouds-edm", _edm, _points_batch),
    Case("caloclouds-distillation", _distillation, _points_batch),
]


def _ids(cases):
    return [c.name for c in cases]


LOSS_CASES = [c for c in CASES if c.batch is not None]
SAMPLE_CASES = [c for c in CASES if c.cond is not None]


@pytest.fixture(params=LOSS_CASES, ids=_ids(LOSS_CASES))
def trainable(request):
    torch.manual_seed(0)
    return request.param


@pytest.fixture(params=SAMPLE_CASES, ids=_ids(SAMPLE_CASES))
def case(request):
    torch.manual_seed(0)
    return request.param


def _sample(model, case: Case, n: int, seed: int) -> torch.Tensor:
    """``case.energies`` of ``n`` samples drawn with a generator seeded ``seed``."""
    return case.energies(
        model.sample(n, case.cond(n), generator=torch.Generator().manual_seed(seed))
    )


def test_loss_is_a_finite_scalar_with_gradients_everywhere(trainable):
    model = trainable.build()
    loss = model.loss(trainable.batch())
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reaches {missing}"


def test_samples_have_the_documented_shape_and_non_negative_energies(case):
    energies = _sample(case.build().eval(), case, 5, seed=1)
    assert tuple(energies.shape) == case.shape(5)
    assert energies.dtype == case.dtype
    assert torch.all(energies >= 0) and torch.all(torch.isfinite(energies))


def test_the_generator_alone_decides_the_samples(case):
    model = case.build().eval()
    state = torch.get_rng_state()
    a = _sample(model, case, 16, seed=3)
    assert torch.equal(torch.get_rng_state(), state), "sampling drew from torch's global RNG"
    torch.manual_seed(99)  # another global state changes nothing
    assert torch.equal(_sample(model, case, 16, seed=3), a)
    assert not torch.equal(_sample(model, case, 16, seed=4), a)


def test_save_load_round_trip_gives_identical_outputs(case, tmp_path):
    model = case.build().eval()
    save_model(tmp_path / "model.pt", model)
    loaded, _ = load_model(tmp_path / "model.pt", type(model))
    if case.batch is not None:
        batch = case.batch()
        with torch.no_grad():
            torch.manual_seed(7)
            expected = model.loss(batch)
            torch.manual_seed(7)
            assert torch.equal(loaded.loss(batch), expected)
    assert torch.equal(_sample(model, case, 3, seed=2), _sample(loaded, case, 3, seed=2))


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
    steps = []
    if case.batch is not None:
        batch = tuple(t.to("meta") for t in case.batch())
        steps.append(lambda: model.loss(batch))
    if case.cond is not None and case.on_device:
        generator = torch.Generator().manual_seed(0)
        steps.append(lambda: model.sample(3, case.cond(3), generator=generator))
    for step in steps:
        with contextlib.suppress(_HostReached), _OneDevice():
            step()


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_loss_and_sampling_keep_to_the_models_device(case):
    torch.manual_seed(0)
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
