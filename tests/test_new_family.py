"""A sixth model family added by the registration steps of book/conventions.md ("Adding a model
family"): its package (here ``model.py`` and ``bench.py`` of a toy package written to a temporary
folder), one ``Case`` for the contract test and one line in the bench's ``PROVIDERS``."""

from __future__ import annotations

import sys
import textwrap

import pytest
import test_models as contract
import torch

from calopaper import bench
from calopaper.bench import report, run

#: ``toyfamily/model.py``: a config dataclass and a network with ``loss`` and ``sample``.
MODEL = '''
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ToyConfig:
    n_cells: int = 6


class Toy(torch.nn.Module):
    """Independent log-normal cell energies (MeV), conditioned on nothing."""

    Config = ToyConfig

    def __init__(self, config: ToyConfig):
        super().__init__()
        self.config = config
        self.mean = torch.nn.Parameter(torch.zeros(config.n_cells))
        self.log_std = torch.nn.Parameter(torch.zeros(config.n_cells))

    def loss(self, batch):
        z = (torch.log1p(batch[0]) - self.mean) / self.log_std.exp()
        return (0.5 * z**2 + self.log_std).sum(1).mean()

    @torch.no_grad()
    def sample(self, n, cond, generator=None):
        noise = torch.randn(n, self.config.n_cells, generator=generator).to(self.mean.device)
        return torch.expm1(self.mean + self.log_std.exp() * noise).clamp(min=0.0)
'''

#: ``toyfamily/bench.py``: the family's bench rows.
BENCH = """
from calopaper.bench.registry import Generator, architecture
from toyfamily.model import Toy, ToyConfig


def generators(ctx):
    model = Toy(ToyConfig()).eval()
    return [
        Generator(
            name="toy family",
            paper="toy",
            truth="",
            generate=lambda n, energy: model.sample(n, None),
            note="independent log-normal cells",
            architecture=architecture(model.config, ("n_cells",)),
        )
    ]
"""


@pytest.fixture
def toyfamily(tmp_path, monkeypatch):
    """The toy family's package, importable as ``toyfamily``."""
    package = tmp_path / "toyfamily"
    package.mkdir()
    (package / "__init__.py").write_text('"""A toy model family."""\n')
    (package / "model.py").write_text(textwrap.dedent(MODEL))
    (package / "bench.py").write_text(textwrap.dedent(BENCH))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield __import__("toyfamily.model").model
    for name in [m for m in sys.modules if m.startswith("toyfamily")]:
        del sys.modules[name]


def _case(toyfamily) -> contract.Case:
    """The one ``Case`` the family adds to ``tests/test_models.py``'s ``CASES``."""
    g = torch.Generator().manual_seed(0)
    return contract.Case(
        "toy",
        lambda: toyfamily.Toy(toyfamily.ToyConfig()),
        lambda: (torch.rand(8, 6, generator=g) * 100,),
        lambda n: None,
        lambda n: (n, 6),
    )


def test_a_new_family_passes_the_contract_test(toyfamily, tmp_path):
    case = _case(toyfamily)
    contract.test_loss_is_a_finite_scalar_with_gradients_everywhere(case)
    contract.test_samples_have_the_documented_shape_and_non_negative_energies(case)
    contract.test_the_generator_alone_decides_the_samples(case)
    contract.test_save_load_round_trip_gives_identical_outputs(case, tmp_path)
    contract.test_loss_and_sampling_keep_to_the_models_device(case)


def test_the_contract_test_fails_a_family_that_reseeds_torch(toyfamily):
    case = _case(toyfamily)
    sample = toyfamily.Toy.sample

    def reseeding(self, n, cond, generator=None):
        torch.manual_seed(0)
        return sample(self, n, cond)

    toyfamily.Toy.sample = reseeding
    with pytest.raises(AssertionError, match="global RNG"):
        contract.test_the_generator_alone_decides_the_samples(case)


def test_a_new_family_appears_in_the_bench(toyfamily, monkeypatch, data_root):
    providers = bench.registry.PROVIDERS | {"Toy": "toyfamily.bench:generators"}
    monkeypatch.setattr(bench.registry, "PROVIDERS", providers)
    plan = run.Plan(batches=(2,), threads=(1,), min_repeats=1, min_seconds=0.0, max_repeats=1,
                    budget_seconds=1.0, energy_batch=2)  # fmt: skip
    result = run.measure("smoke", plan, device="cpu", only=["Toy"], root=data_root)
    assert report.summary(result).set_index("generator").loc["toy family", "status"] == "ok"
    timings = bench.frames(result)[0]
    assert (timings[timings["generator"] == "toy family"]["ms"] > 0).all()
