"""Tests for calopaper.datasets: round trips, layouts, the real CaloGAN file, bad files, splits."""

from pathlib import Path

import h5py
import numpy as np
import pytest

import calopaper
from calopaper import datasets
from calopaper.datasets import (
    DatasetError,
    clouds_to_calogan,
    detect_layout,
    read_calochallenge,
    read_calogan,
    read_cells,
    read_points,
    write_calogan,
    write_cells,
    write_points,
)
from calopaper.geometry import CALOGAN, Segmentation
from calopaper.showers import PointClouds
from calopaper.splits import split

REAL_CALOGAN = (
    Path(__file__).resolve().parents[2] / "shared" / "realdata" / "HEPCAT_CaloGAN_test.h5"
)


def _clouds(n=5, seed=0, layered=False):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 40, n)
    counts[1] = 0  # an empty shower
    p = counts.sum()
    third = rng.integers(0, 3, p) if layered else rng.uniform(0, 400, p)
    points = np.column_stack(
        [rng.normal(0, 120, p), rng.normal(0, 120, p), third, rng.exponential(5, p)]
    )
    return PointClouds(
        points,
        np.concatenate([[0], np.cumsum(counts)]),
        rng.uniform(1, 100, n),
        np.tile([0.0, 0.0, 1.0], (n, 1)),
        np.full(n, 11),
        {"generator": "test", "seed": seed, "fast": True, "config": {"a": [1, 2], "b": "x"}},
    )


def _calogan_arrays(n=4, seed=0):
    rng = np.random.default_rng(seed)
    layers = {k: rng.exponential(1.0, (n, *s)) for k, s in datasets.CALOGAN_SHAPES.items()}
    return layers, rng.uniform(1, 100, n)


# --- point clouds -----------------------------------------------------------------------------


def test_points_round_trip(tmp_path):
    clouds = _clouds()
    path = tmp_path / "sub" / "clouds.h5"
    write_points(path, clouds)
    back = read_points(path)
    for name in ("points", "offsets", "incident_energy", "incident_direction", "particle"):
        np.testing.assert_array_equal(getattr(back, name), getattr(clouds, name))
    assert back.points.dtype == np.float32 and back.offsets.dtype == np.int64
    assert back.attrs == {**clouds.attrs, "calopaper_version": calopaper.__version__}
    assert detect_layout(path) == "points"
    with h5py.File(path) as f:
        assert f.attrs["format"] == datasets.FORMAT_POINTS
        assert f["points"].compression == "lzf"
    assert [p.name for p in path.parent.iterdir()] == ["clouds.h5"]


def test_points_empty(tmp_path):
    clouds = PointClouds(np.zeros((0, 4)), [0], [], np.zeros((0, 3)), [])
    write_points(tmp_path / "empty.h5", clouds)
    back = read_points(tmp_path / "empty.h5")
    assert len(back) == 0 and back.points.shape == (0, 4)


def test_points_bad_attr(tmp_path):
    clouds = _clouds()
    clouds.attrs["fn"] = print
    with pytest.raises(TypeError, match="'fn'"):
        write_points(tmp_path / "x.h5", clouds)
    assert not list(tmp_path.iterdir())


def test_points_inconsistent_offsets(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["points"] = np.zeros((3, 4), np.float32)
        f["offsets"] = np.array([0, 5])
        f["incident_energy"] = np.ones(1)
        f["incident_direction"] = np.zeros((1, 3))
        f["particle"] = np.ones(1, np.int32)
    with pytest.raises(DatasetError, match="bad.h5.*offsets"):
        read_points(path)


# --- cell images ------------------------------------------------------------------------------


def test_cells_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    segs = {"middle": Segmentation.parse("36x48*"), "inner": Segmentation.parse("9x12*")}
    layers = {
        "middle": rng.exponential(1.0, (3, 36, 48)),
        "inner": rng.exponential(1.0, (3, segs["inner"].n_cells)),  # flat input is fine too
    }
    path = tmp_path / "cells.h5"
    write_cells(path, layers, segs, [10.0, 20.0, 30.0], attrs={"model": "savae", "beta": 0.1})
    cells = read_cells(path)
    assert list(cells.layers) == ["middle", "inner"]  # insertion order kept
    assert cells.segmentations == segs
    assert cells.layers["inner"].shape == (3, *segs["inner"].shape)
    np.testing.assert_allclose(cells.layers["middle"], layers["middle"], rtol=1e-6)
    np.testing.assert_allclose(cells.incident_energy, [10, 20, 30])
    assert cells.attrs["model"] == "savae" and cells.attrs["beta"] == 0.1
    assert len(cells) == 3
    assert detect_layout(path) == "cells"


def test_cells_write_validation(tmp_path):
    seg = Segmentation.uniform(4, 4)
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\).*\(2, 4, 4\)"):
        write_cells(tmp_path / "x.h5", {"l": np.zeros((2, 3, 4))}, {"l": seg}, [1, 2])
    with pytest.raises(ValueError, match="differ"):
        write_cells(tmp_path / "x.h5", {"l": np.zeros((2, 4, 4))}, {"m": seg}, [1, 2])
    with pytest.raises(ValueError, match="reserved"):
        write_cells(
            tmp_path / "x.h5",
            {"incident_energy": np.zeros((2, 16))},
            {"incident_energy": seg},
            [1, 2],
        )
    assert not list(tmp_path.iterdir())


# --- CaloGAN / CaloChallenge ------------------------------------------------------------------


def test_calogan_round_trip(tmp_path):
    layers, energy = _calogan_arrays()
    path = tmp_path / "calogan.h5"
    write_calogan(path, layers, energy)
    with h5py.File(path) as f:
        assert f["energy"].shape == (4, 1) and f["overflow"].shape == (4, 3)
    data = read_calogan(path)
    assert set(data) == {"layer_0", "layer_1", "layer_2", "energy", "overflow"}
    for k in datasets.CALOGAN_SHAPES:
        np.testing.assert_allclose(data[k], layers[k], rtol=1e-6)
        assert data[k].dtype == np.float32
    np.testing.assert_allclose(data["energy"], energy, rtol=1e-6)
    np.testing.assert_array_equal(data["overflow"], 0)
    assert detect_layout(path) == "calogan"
    # A read dict goes straight back in.
    write_calogan(path, data, data["energy"], data["overflow"])
    np.testing.assert_array_equal(read_calogan(path)["layer_1"], data["layer_1"])


def test_calogan_write_validation(tmp_path):
    layers, energy = _calogan_arrays()
    with pytest.raises(ValueError, match=r"missing \['layer_1'\]"):
        write_calogan(
            tmp_path / "x.h5", {k: v for k, v in layers.items() if k != "layer_1"}, energy
        )
    with pytest.raises(ValueError, match=r"layer_2 has shape \(4, 6, 12\)"):
        write_calogan(tmp_path / "x.h5", {**layers, "layer_2": np.zeros((4, 6, 12))}, energy)
    with pytest.raises(ValueError, match="overflow"):
        write_calogan(tmp_path / "x.h5", layers, energy, overflow=np.zeros((4, 2)))


def test_calochallenge(tmp_path):
    path = tmp_path / "challenge.h5"
    with h5py.File(path, "w") as f:
        f["incident_energies"] = np.array([[1000.0], [65536.0]])
        f["showers"] = np.arange(2 * 368, dtype=np.float64).reshape(2, 368)
    energies, showers = read_calochallenge(path)
    np.testing.assert_allclose(energies, [1.0, 65.536])
    assert showers.shape == (2, 368) and showers.dtype == np.float32
    assert detect_layout(path) == "calochallenge"


def test_clouds_to_calogan_conserves_energy(tmp_path):
    clouds = _clouds(n=6, layered=True)
    out = clouds_to_calogan(clouds)
    assert out["layer_0"].shape == (6, 3, 96) and out["overflow"].shape == (6, 3)
    layer = clouds.points[:, 2].astype(int)
    for index in range(3):
        expected = np.bincount(
            clouds.event_index[layer == index], clouds.points[layer == index, 3], minlength=6
        )
        got = out[f"layer_{index}"].sum((1, 2)) + out["overflow"][:, index]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert out["overflow"].sum() > 0  # the Gaussian tails leave the 480 mm grid
    # one point at the centre of layer 1, cell (6, 6) of the 12x12 grid
    single = PointClouds([[20.0, 20.0, 1, 7.0]], [0, 1], [10.0], [[0, 0, 1]], [11])
    cells = clouds_to_calogan(single)["layer_1"]
    assert cells[0, 6, 6] == 7.0 and cells.sum() == 7.0
    path = tmp_path / "sim.h5"
    write_calogan(path, out, out["energy"], out["overflow"])
    np.testing.assert_allclose(read_calogan(path)["layer_2"], out["layer_2"])
    assert CALOGAN[2].shape == (12, 6)


def test_clouds_to_calogan_needs_layers():
    with pytest.raises(ValueError, match="readout-layer"):
        clouds_to_calogan(_clouds(layered=False))


@pytest.mark.skipif(not REAL_CALOGAN.is_file(), reason="../shared/realdata is not available")
def test_real_calogan_file():
    data = read_calogan(REAL_CALOGAN)
    assert data["layer_0"].shape == (51, 3, 96)
    assert data["layer_1"].shape == (51, 12, 12)
    assert data["layer_2"].shape == (51, 12, 6)
    assert data["energy"].shape == (51,) and data["overflow"].shape == (51, 3)
    assert 1.0 < data["energy"].min() and data["energy"].max() < 100.0
    sums = np.stack([data[f"layer_{i}"].sum((1, 2)) for i in range(3)], axis=1)
    ratio = sums.sum(1) / (data["energy"] * 1000.0)
    assert 0.9 < ratio.mean() < 1.05
    fractions = (sums / sums.sum(1, keepdims=True)).mean(0)
    np.testing.assert_allclose(fractions, [0.193, 0.806, 0.0017], atol=0.02)
    assert detect_layout(REAL_CALOGAN) == "calogan"


# --- bad files --------------------------------------------------------------------------------

READERS = [read_points, read_cells, read_calogan, read_calochallenge, detect_layout]


@pytest.mark.parametrize("reader", READERS)
def test_missing_file(tmp_path, reader):
    with pytest.raises(DatasetError, match="nope.h5: no such file"):
        reader(tmp_path / "nope.h5")


@pytest.mark.parametrize("reader", READERS)
def test_text_file(tmp_path, reader):
    path = tmp_path / "notes.h5"
    path.write_text("this is not HDF5\n" * 20)
    with pytest.raises(DatasetError, match="notes.h5: not a readable HDF5 file"):
        reader(path)


@pytest.mark.parametrize("reader", [read_calogan, detect_layout])
def test_truncated_file(tmp_path, reader):
    layers, energy = _calogan_arrays(n=50)
    path = tmp_path / "cut.h5"
    write_calogan(path, layers, energy)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="cut.h5"):
        reader(path)


def test_corrupt_data(tmp_path):
    layers, energy = _calogan_arrays(n=50)
    path = tmp_path / "corrupt.h5"
    write_calogan(path, layers, energy)
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third : third + 20000] = b"\xff" * 20000  # garbage inside the compressed chunks
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="corrupt.h5: reading failed"):
        read_calogan(path)


def test_calogan_missing_layer(tmp_path):
    layers, energy = _calogan_arrays()
    path = tmp_path / "partial.h5"
    with h5py.File(path, "w") as f:
        f["layer_0"], f["layer_2"], f["energy"] = (
            layers["layer_0"],
            layers["layer_2"],
            energy[:, None],
        )
    message = r"partial.h5: missing datasets \['layer_1'\].*layer_0 \(N,3,96\), layer_1 \(N,12,12\)"
    with pytest.raises(DatasetError, match=message):
        read_calogan(path)


def test_calogan_wrong_shape(tmp_path):
    layers, energy = _calogan_arrays()
    path = tmp_path / "shape.h5"
    with h5py.File(path, "w") as f:
        f["layer_0"], f["layer_2"] = layers["layer_0"], layers["layer_2"]
        f["layer_1"] = np.zeros((4, 12, 11))
        f["energy"] = energy[:, None]
    with pytest.raises(DatasetError, match=r"layer_1 has shape \(4, 12, 11\), not \(N=4,12,12\)"):
        read_calogan(path)
    with h5py.File(path, "a") as f:
        del f["layer_1"]
        f["layer_1"] = np.zeros((3, 12, 12))  # wrong number of showers
    with pytest.raises(DatasetError, match=r"layer_1 has shape \(3, 12, 12\)"):
        read_calogan(path)


def test_unknown_layout(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["something"] = np.zeros(3)
    with pytest.raises(DatasetError, match=r"other.h5: unknown layout.*\['something'\]"):
        detect_layout(path)
    with pytest.raises(DatasetError, match="missing datasets"):
        read_calogan(path)
    with pytest.raises(DatasetError, match="segmentation"):
        read_cells(path)
    with h5py.File(path, "a") as f:
        f.attrs["format"] = "calopaper-points-v9"
    with pytest.raises(DatasetError, match="unsupported format 'calopaper-points-v9'"):
        detect_layout(path)


def test_wrong_reader_for_layout(tmp_path):
    path = tmp_path / "clouds.h5"
    write_points(path, _clouds())
    with pytest.raises(DatasetError, match="clouds.h5: missing datasets.*CaloGAN"):
        read_calogan(path)


# --- splits -----------------------------------------------------------------------------------


def test_split_disjoint_covering_seeded():
    parts = split(1001, (0.7, 0.1, 0.2), seed=5)
    assert [len(p) for p in parts] == [701, 100, 200]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(1001))
    assert all(np.all(np.diff(p) > 0) for p in parts)
    again = split(1001, (0.7, 0.1, 0.2), seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    other = split(1001, (0.7, 0.1, 0.2), seed=6)
    assert not np.array_equal(parts[0], other[0])
    assert [len(p) for p in split(0)] == [0, 0, 0]
    assert [len(p) for p in split(3, (1.0, 0.0))] == [3, 0]


@pytest.mark.parametrize(
    "fractions", [(0.5, 0.6), (-0.1, 1.1), (float("nan"), 1.0), (0.7, 0.1, 0.19), ()]
)
def test_split_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        split(10, fractions)


def test_split_bad_n():
    with pytest.raises(ValueError, match="-1"):
        split(-1)
