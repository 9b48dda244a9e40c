"""GPU records: written, found, matched to the current build by architecture; the committed one."""

import json

import numpy as np
import pandas as pd
import pytest

from calopaper.bench import records, report
from calopaper.cli import main

FACTS = {"name": "NVIDIA H200", "driver": "580.1", "cuda": "13.0", "torch": "2.11.0",
         "capability": "9.0"}  # fmt: skip


def _result(architectures: dict[str, dict]) -> dict:
    """A bench result: each generator timed at batches 1 and 16 on the GPU."""
    timings = [
        {
            "generator": name,
            "device": "cuda",
            "threads": 1,
            "kind": "batch",
            "batch": b,
            "energy": None,
            "ms": ms,
            "spread": ms / 10,
        }  # fmt: skip
        for name in architectures
        for b, ms in ((1, 2.0), (16, 0.5))
    ]
    facts = [
        {"generator": name, "device": "cuda", "status": "ok", "architecture": a}
        for name, a in architectures.items()
    ]
    return {"timings": timings, "generators": facts, "matmul": [], "machine": {}}


def _record(monkeypatch, result: dict) -> dict:
    monkeypatch.setattr(records, "device_facts", lambda device: FACTS)
    monkeypatch.setenv("CALOPAPER_COMMIT", "abcdef0123456789")
    return records.record(result, "cuda", "paper")


def test_a_record_round_trips_and_names_its_gpu_and_commit(monkeypatch, tmp_path):
    rec = _record(monkeypatch, _result({"SAVAE (48,48)": {"hidden": 64}}))
    path = records.write(rec, tmp_path)
    assert path.name == "nvidia-h200-abcdef0.json"
    back = records.newest(tmp_path)
    assert back == json.loads(json.dumps(rec))
    assert back["device"]["driver"] == "580.1" and back["commit"].startswith("abcdef0")
    assert "NVIDIA H200" in records.provenance(back) and "abcdef0" in records.provenance(back)


def test_newest_takes_the_latest_date(monkeypatch, tmp_path):
    old = _record(monkeypatch, _result({})) | {"date": "2026-01-01T00:00:00+00:00"}
    new = old | {"date": "2026-06-01T00:00:00+00:00", "commit": "1234567"}
    records.write(new, tmp_path), records.write(old, tmp_path)
    assert records.newest(tmp_path)["commit"] == "1234567"
    assert records.newest(tmp_path / "none") is None
    (tmp_path / "paper-dryrun.json").write_text('{"01_dataset": []}')  # not a GPU record
    assert records.newest(tmp_path)["commit"] == "1234567"


def test_rows_are_matched_to_this_build_by_architecture(monkeypatch):
    rec = _record(monkeypatch, _result({"a": {"hidden": [64]}, "b": {"hidden": [64]}, "c": {}}))
    build = pd.DataFrame(
        [
            {"generator": "a", "device": "cpu", "architecture": {"hidden": [64]}},
            {"generator": "b", "device": "cpu", "architecture": {"hidden": [32]}},
        ]
    )
    gpu = records.gpu_column(rec, build).set_index("generator")
    assert gpu.loc["a", "status"] == "matches this build"
    assert gpu.loc["b", "status"] == "architecture differs from this build's"
    assert gpu.loc["c", "status"] == "not in this build"
    assert gpu.loc["a", "GPU ms @1"] == 2.0 and gpu.loc["a", "GPU best ms"] == 0.5
    assert gpu.loc["a", "GPU at batch"] == 16


def test_the_papers_gpu_figures_meet_only_matching_gpu_rows(monkeypatch):
    rec = _record(monkeypatch, _result({report.SAVAE: {"h": 1}, report.GAAM_MIDDLE: {"h": 1}}))
    build = pd.DataFrame(
        [
            {"generator": report.SAVAE, "device": "cpu", "architecture": {"h": 1}},
            {"generator": report.GAAM_MIDDLE, "device": "cpu", "architecture": {"h": 2}},
        ]
    )
    table = report.gpu_paper_table(records.gpu_column(rec, build)).set_index("generator")
    assert table.loc[report.SAVAE, "ours on the GPU, best [ms/shower]"] == 0.5
    assert table.loc[report.SAVAE, "at batch"] == 16
    assert np.isnan(table.loc[report.GAAM_MIDDLE, "ours on the GPU, best [ms/shower]"])
    assert report.SUPA not in table.index  # a CPU figure in its paper


def test_a_record_needs_a_gpu(data_root):
    with pytest.raises(SystemExit, match="--record needs --device cuda"):
        main(["bench", "--quick", "--record", str(data_root), "--device", "cpu"])


@pytest.mark.skipif(records.newest() is None, reason="no record committed")
def test_the_committed_record_says_where_when_and_what():
    rec = records.newest()
    assert {"name", "driver", "cuda", "torch"} <= set(rec["device"])
    assert len(rec["commit"].rstrip("+")) == 40 and rec["date"][:4] >= "2026"
    ok = [g for g in rec["result"]["generators"] if g["status"] == "ok"]
    assert ok and all(g["architecture"] for g in ok)
    assert all(t["device"].startswith("cuda") for t in rec["result"]["timings"])
