"""The fit loop: it learns, resumes, guards against NaN, and refuses foreign checkpoints."""

from dataclasses import dataclass

import pytest
import torch

from calopaper.store import Store
from calopaper.training import FitConfig, fit, load_model, save_model, trained


@dataclass(frozen=True)
class LineConfig:
    scale: float = 1.0


class Line(torch.nn.Module):
    """y = a x + b fitted by least squares: a model whose optimum is known."""

    Config = LineConfig

    def __init__(self, config: LineConfig = LineConfig()):
        super().__init__()
        self.config = config
        self.linear = torch.nn.Linear(1, 1)

    def loss(self, batch):
        x, y = batch
        return ((self.linear(x) * self.config.scale - y) ** 2).mean()


class Other(Line):
    pass


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g)
    return x, 3.0 * x - 1.0


def test_fit_learns_a_line_and_records_history():
    model = Line()
    history = fit(model, _data(), _data(64, 1), FitConfig(epochs=60, lr=0.05), progress=False)
    assert history.train[-1] < 1e-3
    assert len(history.val) == 60 and 0 <= history.best_epoch < 60
    assert model.linear.weight.item() == pytest.approx(3.0, abs=0.1)


def test_same_seed_same_weights():
    a, b = Line(), Line()
    b.load_state_dict(a.state_dict())
    for model in (a, b):
        fit(model, _data(), config=FitConfig(epochs=3, seed=5), progress=False)
    assert torch.equal(a.linear.weight, b.linear.weight)


def test_resume_from_checkpoint_continues_where_it_stopped(tmp_path):
    checkpoint = tmp_path / "line.pt"
    full, resumed = Line(), Line()
    resumed.load_state_dict(full.state_dict())
    fit(full, _data(), config=FitConfig(epochs=4), progress=False)
    fit(resumed, _data(), config=FitConfig(epochs=2), checkpoint=checkpoint, progress=False)
    history = fit(
        resumed, _data(), config=FitConfig(epochs=4), checkpoint=checkpoint, progress=False
    )
    assert len(history.train) == 4
    assert torch.allclose(full.linear.weight, resumed.linear.weight)


def test_nan_loss_names_the_epoch():
    model = Line(LineConfig(scale=float("nan")))
    with pytest.raises(FloatingPointError, match="epoch 0"):
        fit(model, _data(), config=FitConfig(epochs=1), progress=False)


def test_bad_fit_config_is_named():
    with pytest.raises(ValueError, match="epochs"):
        FitConfig(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        FitConfig(lr=float("nan"))


def test_save_load_round_trip_and_foreign_checkpoint(tmp_path):
    model = Line(LineConfig(scale=2.0))
    save_model(tmp_path / "m.pt", model)
    loaded, _ = load_model(tmp_path / "m.pt", Line)
    assert loaded.config == model.config
    assert torch.equal(loaded.linear.weight, model.linear.weight)
    with pytest.raises(ValueError, match="'Line' checkpoint, not a 'Other'"):
        load_model(tmp_path / "m.pt", Other)


def test_trained_is_cached_in_the_store(tmp_path):
    calls = []

    def data():
        calls.append(1)
        return _data(), None

    store = Store(tmp_path)
    args = (Line, LineConfig(), FitConfig(epochs=2), data, {"n": 256})
    first, _ = trained(*args, store=store, progress=False)
    second, _ = trained(*args, store=store, progress=False)
    assert len(calls) == 1
    assert torch.equal(first.linear.weight, second.linear.weight)


def test_optimiser_and_schedule_are_chosen_and_left_out_of_the_key_at_their_defaults():
    """RAdam and a linear schedule learn the line too; a default config's key is the one it
    had before the two fields existed, and bad names are refused."""
    x, y = _data()
    model = Line()
    fit(model, (x, y), config=FitConfig(epochs=100, batch_size=32, lr=0.2, optimiser="radam",
                                         schedule="linear"), progress=False)  # fmt: skip
    assert abs(model.linear.weight.item() - 3.0) < 0.3
    assert "optimiser" not in FitConfig().key() and "schedule" not in FitConfig().key()
    assert FitConfig(schedule="linear").key()["schedule"] == "linear"
    for field, bad in (("optimiser", "sgd"), ("schedule", "cosine")):
        with pytest.raises(ValueError, match=field):
            FitConfig(**{field: bad})


def test_linear_schedule_falls_to_zero_and_resumes_where_it_stopped():
    from calopaper.training import _schedule

    def rates(done):
        opt = torch.optim.SGD(Line().parameters(), lr=1.0)
        schedule = _schedule(opt, FitConfig(schedule="linear"), steps=4, done=done)
        out = []
        for _ in range(4 - done):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            schedule.step()
        return out

    assert rates(0) == [1.0, 0.75, 0.5, 0.25]
    assert rates(2) == [0.5, 0.25]
