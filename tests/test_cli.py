"""The calopaper command: simulate writes a readable file, bench prints timings, bad input fails."""

import pytest

from calopaper.cli import main
from calopaper.datasets import read_points


def test_simulate_supa_writes_point_clouds(tmp_path, capsys):
    out = tmp_path / "showers.h5"
    assert (
        main(["simulate", "supa", "--preset", "paper", "-n", "5", "--seed", "3", "-o", str(out)])
        == 0
    )
    clouds = read_points(out)
    assert len(clouds) == 5
    assert "wrote 5" in capsys.readouterr().out


def test_bench_prints_ms_per_shower(capsys):
    assert main(["bench", "supa", "--preset", "head", "-n", "20", "--repeats", "1"]) == 0
    assert "ms/shower" in capsys.readouterr().out


def test_unknown_preset_and_bad_count_are_named(tmp_path):
    with pytest.raises(SystemExit, match="'nope'"):
        main(["simulate", "supa", "--preset", "nope", "-n", "5", "-o", str(tmp_path / "x.h5")])
    with pytest.raises(SystemExit):
        main(["simulate", "supa", "--preset", "paper", "-n", "0", "-o", str(tmp_path / "x.h5")])
