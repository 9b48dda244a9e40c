"""The calopaper command: simulate writes a readable file, bench prints timings, bad input fails."""

import numpy as np
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


def test_simulate_calogan_layout_reads_back(tmp_path):
    from calopaper.datasets import read_calogan

    out = tmp_path / "calogan.h5"
    argv = ["simulate", "supa", "--preset", "calogan", "-n", "6", "--particle", "gamma"]
    assert main([*argv, "--energy", "10:20", "--format", "calogan", "-o", str(out)]) == 0
    data = read_calogan(out)
    assert data["layer_0"].shape == (6, 3, 96) and data["layer_2"].shape == (6, 12, 6)
    assert data["overflow"].shape == (6, 3)
    assert 10 <= data["energy"].min() <= data["energy"].max() <= 20


def test_simulate_calochallenge_layout_at_3x(tmp_path):
    from calopaper.datasets import read_calochallenge

    out = tmp_path / "cc.h5"
    argv = ["simulate", "gflash", "--preset", "calogan", "-n", "3", "--energy", "50"]
    assert main([*argv, "--format", "calochallenge", "--grid", "3x", "-o", str(out)]) == 0
    energy, showers = read_calochallenge(out)
    assert showers.shape == (3, 9 * 504)
    np.testing.assert_allclose(energy, 50.0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grid", "2x"], "--format points"),
        (["--format", "calogan", "--grid", "2x"], "calochallenge"),
        (["--particle", "pi+", "--simulator-is-gflash"], "'pi\\+'"),
        (["--energy", "5:1"], "'5:1'"),
        (["--energy", "lots"], "'lots'"),
    ],
)
def test_nonsensical_simulate_options_are_named(tmp_path, extra, message):
    simulator = "gflash" if "--simulator-is-gflash" in extra else "supa"
    extra = [x for x in extra if x != "--simulator-is-gflash"]
    argv = ["simulate", simulator, "--preset", "calogan", "-n", "2", "-o", str(tmp_path / "x.h5")]
    with pytest.raises(SystemExit, match=message):
        main([*argv, *extra])


def test_ild_is_not_a_calogan_layout(tmp_path):
    argv = ["simulate", "gflash", "--preset", "ild", "-n", "2", "--format", "calogan"]
    with pytest.raises(SystemExit, match="CaloGAN layers"):
        main([*argv, "-o", str(tmp_path / "x.h5")])
