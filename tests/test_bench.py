"""calopaper bench: the registry, one timing method, MAC counts, the store guard, the CLI."""

import json
import sys
import types
from dataclasses import replace

import numpy as np
import pytest
import torch

from calopaper import bench
from calopaper.bench import report, run
from calopaper.cli import main

TINY = run.Plan(
    batches=(1, 4),
    threads=(1,),
    min_repeats=2,
    min_seconds=0.0,
    max_repeats=2,
    budget_seconds=1.0,
    energy_batch=2,
)


def _family(ctx: bench.BenchContext) -> list:
    """A fake family: a 10 -> 20 linear map (200 MACs per shower) and one row it cannot offer."""
    layer = torch.nn.Linear(10, 20)

    def generate(n: int, energy: float | None) -> object:
        return layer(torch.full((n, 10), energy or 1.0))

    return [
        bench.Generator("linear", "none", "toy", generate, energies=(1.0, 2.0)),
        bench.Generator("single", "none", "", generate, max_batch=1, one_thread=True),
        bench.Unavailable("no such model here", "missing"),
    ]


def _broken(ctx: bench.BenchContext) -> list:
    raise RuntimeError("boom")


@pytest.fixture
def fake_families(monkeypatch):
    module = types.ModuleType("fake_bench_families")
    module.family, module.broken = _family, _broken
    monkeypatch.setitem(sys.modules, "fake_bench_families", module)
    providers = {
        "toy": "fake_bench_families:family",
        "broken": "fake_bench_families:broken",
        "absent": "calopaper.models.no_such_family.bench:generators",
    }
    monkeypatch.setattr(bench.registry, "PROVIDERS", providers)


def test_every_family_gives_rows_or_reasons(fake_families, data_root):
    result = run.measure("smoke", TINY, device="cpu", root=data_root)
    table = report.summary(result).set_index("generator")
    assert table.loc["linear", "MACs/shower"] == 200
    assert table.loc["linear", "status"] == "ok"
    assert table.loc["missing", "status"] == "no such model here"
    assert table.loc["broken", "status"] == "error: RuntimeError: boom"
    assert table.loc["absent", "status"].startswith("not available: no module calopaper.models")
    timings = pd_rows(result, "linear")
    assert sorted(timings[timings["kind"] == "batch"]["batch"]) == [1, 4]
    assert sorted(timings[timings["kind"] == "energy"]["energy"]) == [1.0, 2.0]
    assert (timings["repeats"] == 2).all() and (timings["ms"] > 0).all()


def test_a_row_is_timed_within_its_batch_and_thread_limits(fake_families, data_root):
    plan = replace(TINY, threads=(1, 2), more_threads_batches=(1, 4))
    timings = pd_rows(run.measure("smoke", plan, device="cpu", root=data_root), "single")
    assert timings["batch"].tolist() == [1] and timings["threads"].tolist() == [1]


def pd_rows(result, name):
    timings = bench.frames(result)[0]
    return timings[timings["generator"] == name]


def test_unknown_family_is_named(fake_families, data_root):
    with pytest.raises(ValueError, match="'nope'"):
        bench.collect(bench.BenchContext("smoke", root=data_root), ["nope"])


def test_store_refuses_to_train_without_train(data_root):
    guarded = bench.BenchContext("smoke", root=data_root).store
    built = guarded.get_or_build("samples/x", {"a": 1}, lambda tmp: tmp.write_text("x"))
    assert built.exists()
    with pytest.raises(bench.Unavailable, match="models/toy .* not in the store"):
        guarded.get_or_build("models/toy", {"a": 1}, lambda tmp: tmp.write_text("x"))
    trusting = bench.BenchContext("smoke", train=True, root=data_root).store
    assert trusting.get_or_build("models/toy", {"a": 1}, lambda tmp: tmp.write_text("x")).exists()
    assert guarded.get_or_build("models/toy", {"a": 1}, lambda tmp: None).exists()


def test_timings_are_read_back(fake_families, data_root):
    first = run.measure("smoke", TINY, device="cpu", root=data_root)
    stored = sorted((data_root / "timings").glob("*.timing.json"))
    again = run.measure("smoke", TINY, device="cpu", root=data_root)
    assert first["timings"] == again["timings"]
    assert sorted((data_root / "timings").glob("*.timing.json")) == stored


def test_measured_pairs_batches_and_energies():
    rows = []
    for name, ms in (("SAVAE (48,48)", 0.1), ("GAAM middle (48,48)", 20.0)):
        rows += [
            {
                "generator": name,
                "device": "cpu",
                "threads": 1,
                "kind": "batch",
                "batch": b,
                "energy": None,
                "ms": ms / b,
            }
            for b in (1, 64)
        ]
    for name, ms in ((report.CC2, 100.0), (report.CC3, 10.0)):
        rows += [
            {
                "generator": name,
                "device": "cpu",
                "threads": 1,
                "kind": "energy",
                "batch": 64,
                "energy": e,
                "ms": ms * e,
            }
            for e in (10.0, 90.0)
        ]
    m = report.measured({"timings": rows, "generators": [], "matmul": []})
    assert m.batch == 64 and np.isclose(m.gaam_ms / m.savae_ms, 200.0)
    assert m.gaam_middle_ms == pytest.approx(20.0 / 64)
    assert m.cc2_ms == (1000.0, 9000.0) and m.cc3_ms == (100.0, 900.0)
    assert np.isnan(m.supa_ms) and m.gibbs_share == ()


def test_bench_quick_runs_every_family(data_root, capsys):
    assert main(["bench", "--quick", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    status = {g["generator"]: g["status"] for g in result["generators"]}
    assert status["SUPA paper"] == "ok" and status["reference simulator ild"] == "ok"
    assert all(s == "ok" or "store" in s or "not available" in s for s in status.values())
    assert {c["id"] for c in result["claims"]} >= {"speed-supa", "speed-savae-gaam"}
    assert not (data_root / "results" / "07_speed.json").exists()


def test_measured_gibbs_share_carries_the_timings_errors():
    from calopaper.models.dvae.bench import GIBBS_PREFIX

    def row(name: str, batch: int, ms: float, error: float) -> dict:
        return {"generator": name, "device": "cpu", "threads": 1, "kind": "batch",
                "batch": batch, "energy": None, "ms": ms, "spread": 3 * error,
                "error": error}  # fmt: skip

    rows = [row(report.DVAE, 1, 4.0, 0.4), row(GIBBS_PREFIX + "e+", 1, 3.0, 0.0)]
    rows += [row(report.DVAE, 16, 1.0, 0.0), row(GIBBS_PREFIX + "e+", 16, 0.6, 0.06)]
    m = report.measured({"timings": rows, "generators": [], "matmul": []})
    assert m.gibbs_share == pytest.approx((0.75, 0.6))
    assert m.gibbs_share_error == pytest.approx((0.075, 0.06))


def test_the_scoreboard_draws_before_any_chapter_saved_samples():
    import io

    import pandas as pd

    from calopaper.bench import plots
    from calopaper.bench.scoreboard import COLUMNS

    columns = ["generator", "family", "truth", "status", "ms/shower", *COLUMNS]
    fig = plots.scoreboard(pd.DataFrame(columns=columns), {"ild": 3.0}, {"ild": "ILD photons"})
    fig.savefig(io.BytesIO(), format="png")  # drawing a log axis with no data used to raise
    assert any("no generator" in t.get_text() for t in fig.axes[0].texts)
