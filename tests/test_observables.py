"""Known-value and consistency tests for calopaper.observables."""

from __future__ import annotations

import numpy as np
import pytest

from calopaper.geometry import Segmentation
from calopaper.observables import (
    LABELS,
    centroid,
    interlayer_distance,
    label,
    layer_observables,
    point_layer_observables,
    point_shower_shapes,
    shower_shapes,
    width,
)

# ---------------------------------------------------------------------------------------------
# centroid and width (savae Eqs. 1-2)


def test_two_equal_cells_at_plus_minus_d():
    d = 7.5
    cells = np.array([[2.0, 0.0, 2.0]])
    x = np.array([-d, 0.0, d])
    assert centroid(cells, x) == pytest.approx([0.0], abs=1e-12)
    # weighted variance d^2, M = 2: savae divides by (M-1)/M = 1/2
    assert width(cells, x) == pytest.approx([d * np.sqrt(2.0)], rel=1e-12)
    assert width(cells, x, bessel=False) == pytest.approx([d], rel=1e-12)


def test_unequal_cells_known_values():
    cells = np.array([[1.0, 3.0]])
    x = np.array([0.0, 4.0])
    assert centroid(cells, x) == pytest.approx([3.0], rel=1e-12)
    # weighted variance (1*9 + 3*1)/4 = 3; times M/(M-1) = 2
    assert width(cells, x) == pytest.approx([np.sqrt(6.0)], rel=1e-12)
    assert width(cells, x, bessel=False) == pytest.approx([np.sqrt(3.0)], rel=1e-12)


def test_single_hot_cell_and_empty_shower():
    cells = np.array([[0.0, 5.0, 0.0], [0.0, 0.0, 0.0]])
    x = np.array([-1.0, 3.0, 1.0])
    np.testing.assert_array_equal(centroid(cells, x), [3.0, np.nan])
    np.testing.assert_array_equal(width(cells, x), [np.nan, np.nan])  # M <= 1: undefined
    np.testing.assert_array_equal(width(cells, x, bessel=False), [0.0, np.nan])


def test_outputs_are_float64_from_float32():
    cells = np.ones((2, 3, 4), dtype=np.float32)
    eta, _ = Segmentation.uniform(3, 4).centres()
    assert centroid(cells, eta).dtype == np.float64
    assert width(cells, eta).dtype == np.float64


def _brute_force(cells: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> dict[str, np.ndarray]:
    """Eqs. (1)-(2) shower by shower, straight from the paper."""
    out = {k: [] for k in ("eta_mean", "phi_mean", "sigma_eta", "sigma_phi")}
    for image in cells:
        e = image.ravel()
        m = np.count_nonzero(e)
        for name, x in (("eta", eta.ravel()), ("phi", phi.ravel())):
            mean = np.sum(x * e) / np.sum(e)
            out[f"{name}_mean"].append(mean)
            out[f"sigma_{name}"].append(
                np.sqrt(np.sum(e * (x - mean) ** 2) / ((m - 1) / m * e.sum()))
            )
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("text", ["12x12", "48x24", "36x48*", "9x12*"])
def test_layer_observables_match_paper_formula(text):
    seg = Segmentation.parse(text)
    rng = np.random.default_rng(0)
    cells = rng.exponential(size=(20, *seg.shape)) * (rng.random((20, *seg.shape)) < 0.3)
    expected = _brute_force(cells, *seg.centres())
    for layout in (cells, cells.reshape(20, -1)):
        obs = layer_observables(layout, seg)
        for key, value in expected.items():
            np.testing.assert_allclose(obs[key], value, rtol=1e-10, err_msg=key)


def _clouds_at_cell_centres(seg: Segmentation, n: int, seed: int):
    """Showers whose points sit at distinct cell centres, and the same showers as cells."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 8, size=n)  # includes empty and single-point showers
    eta_c, phi_c = (c.ravel() for c in seg.centres())
    cells = np.zeros((n, seg.n_cells))
    index = np.concatenate([rng.choice(seg.n_cells, size=k, replace=False) for k in counts])
    event = np.repeat(np.arange(n), counts)
    energy = rng.exponential(10.0, size=index.size)
    cells[event, index] = energy
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return eta_c[index], phi_c[index], energy, offsets, cells


@pytest.mark.parametrize("bessel", [True, False])
def test_point_observables_equal_cell_observables_at_cell_centres(bessel):
    seg = Segmentation.parse("36x48*")
    eta, phi, energy, offsets, cells = _clouds_at_cell_centres(seg, 200, seed=1)
    points = point_layer_observables(eta, phi, energy, offsets, bessel=bessel)
    images = layer_observables(cells, seg, bessel=bessel)
    for key in images:
        np.testing.assert_allclose(points[key], images[key], rtol=1e-10, atol=1e-9, err_msg=key)


def test_point_observables_select_a_layer_with_zero_energy():
    # shower 0 has points in layers 0 and 1; selecting layer 0 must ignore the layer-1 point
    eta = np.array([-2.0, 2.0, 50.0])
    phi = np.zeros(3)
    energy = np.array([1.0, 1.0, 10.0])
    layer = np.array([0, 0, 1])
    obs = point_layer_observables(eta, phi, np.where(layer == 0, energy, 0.0), [0, 3])
    assert obs["eta_mean"] == pytest.approx([0.0])
    assert obs["sigma_eta"] == pytest.approx([2.0 * np.sqrt(2.0)])


def test_interlayer_distance():
    inner = {"eta_mean": np.array([1.0, 2.0]), "phi_mean": np.array([0.0, -1.0])}
    middle = {"eta_mean": np.array([0.5, 2.5]), "phi_mean": np.array([1.0, 1.0])}
    c = interlayer_distance(inner, middle)
    np.testing.assert_allclose(c["C_eta"], [0.5, -0.5])
    np.testing.assert_allclose(c["C_phi"], [-1.0, -2.0])
    with pytest.raises(ValueError, match=r"\(2,\).*\(1,\)"):
        interlayer_distance(inner, {k: v[:1] for k, v in middle.items()})


# ---------------------------------------------------------------------------------------------
# shower shapes (supa section 4, calodvae Table 1)


@pytest.fixture
def three_layer_shower():
    """Three showers in three layers of shapes (2, 2), (2, 3), (1, 2); the third is empty."""
    layer0 = np.array([[[0, 1], [3, 0]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]], dtype=np.float32)
    layer1 = np.array([[[4, 4, 0], [0, 0, 0]], [[0, 2, 0], [0, 0, 0]], np.zeros((2, 3))])
    layer2 = np.array([[[0, 0]], [[2, 0]], [[0, 0]]], dtype=np.float64)
    return [layer0, layer1, layer2]


def test_shower_shapes_by_hand(three_layer_shower):
    s = shower_shapes(three_layer_shower, incident_energy=np.array([0.012, 0.008, 1.0]))
    nan = np.nan
    expected = {
        "E_0": [4, 0, 0],
        "E_1": [8, 2, 0],
        "E_2": [0, 2, 0],
        "E_tot": [12, 4, 0],
        "E_tot_over_E_inc": [1.0, 0.5, 0.0],
        "f_0": [1 / 3, 0, nan],
        "f_1": [2 / 3, 0.5, nan],
        "f_2": [0, 0.5, nan],
        "E_ratio_0": [0.5, nan, nan],  # (3 - 1) / (3 + 1)
        "E_ratio_1": [0.0, 1.0, nan],  # two equal cells; one hot cell
        "E_ratio_2": [nan, 1.0, nan],
        "brightest_1_0": [0.75, nan, nan],
        "brightest_1_1": [0.5, 1.0, nan],
        "brightest_1_2": [nan, 1.0, nan],
        "brightest_2_0": [0.25, nan, nan],
        "brightest_2_1": [0.5, 0.0, nan],
        "brightest_2_2": [nan, 0.0, nan],
        "depth": [1, 2, nan],
        "l_d": [8, 6, 0],  # 0*4 + 1*8; 1*2 + 2*2
        "s_d": [2 / 3, 1.5, nan],
        "sigma_sd": [np.sqrt(2 / 9), 0.5, nan],  # sqrt(sum i^2 E_i / E_tot - s_d^2)
        "sparsity_0": [0.5, 0, 0],
        "sparsity_1": [2 / 6, 1 / 6, 0],
        "sparsity_2": [0, 0.5, 0],
    }
    assert set(s) == set(expected)
    for key, value in expected.items():
        assert s[key].dtype == np.float64
        assert s[key].shape == (3,)
        np.testing.assert_allclose(s[key], value, rtol=1e-12, atol=1e-15, err_msg=key)


def test_shower_shapes_lateral_widths_without_bessel(three_layer_shower):
    segs = [Segmentation.uniform(2, 2), Segmentation.uniform(2, 3), Segmentation.uniform(1, 2)]
    s = shower_shapes(three_layer_shower, segmentations=segs, brightest=(3,))
    assert "brightest_3_1" in s and "brightest_1_1" not in s
    for i, (cells, seg) in enumerate(zip(three_layer_shower, segs, strict=True)):
        eta, phi = seg.centres()
        np.testing.assert_array_equal(s[f"eta_mean_{i}"], centroid(cells, eta))
        np.testing.assert_array_equal(s[f"phi_mean_{i}"], centroid(cells, phi))
        np.testing.assert_array_equal(s[f"width_eta_{i}"], width(cells, eta, bessel=False))
        np.testing.assert_array_equal(s[f"width_phi_{i}"], width(cells, phi, bessel=False))
    # layer 1 of shower 0: two equal cells at phi = -160, 0 mm -> lateral phi width 80 mm
    assert s["width_phi_1"][0] == pytest.approx(80.0)


def test_point_shower_shapes_equal_cell_shower_shapes():
    segs = [Segmentation.uniform(3, 96), Segmentation.uniform(12, 12), Segmentation.uniform(12, 6)]
    columns, events, cells = [], [], []
    for i, seg in enumerate(segs):
        eta, phi, energy, offsets, c = _clouds_at_cell_centres(seg, 100, seed=10 + i)
        columns.append((eta, phi, np.full(eta.size, i), energy))
        events.append(np.repeat(np.arange(100), np.diff(offsets)))
        cells.append(c)
    # merge the three per-layer clouds into one cloud per shower, ordered by shower
    event = np.concatenate(events)
    order = np.argsort(event, kind="stable")
    columns = [np.concatenate(column)[order] for column in zip(*columns, strict=True)]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(event, minlength=100))])
    e_inc = np.full(100, 0.05)
    points = point_shower_shapes(
        *columns, offsets, n_layers=3, incident_energy=e_inc, brightest=(1, 2, 5)
    )
    images = shower_shapes(cells, segmentations=segs, incident_energy=e_inc, brightest=(1, 2, 5))
    assert set(images) - set(points) == {"sparsity_0", "sparsity_1", "sparsity_2"}
    for key, value in points.items():
        np.testing.assert_allclose(value, images[key], rtol=1e-10, atol=1e-9, err_msg=key)


def test_labels_cover_every_key(three_layer_shower):
    segs = [Segmentation.uniform(2, 2), Segmentation.uniform(2, 3), Segmentation.uniform(1, 2)]
    keys = list(shower_shapes(three_layer_shower, segmentations=segs, incident_energy=np.ones(3)))
    keys += ["eta_mean", "phi_mean", "sigma_eta", "sigma_phi", "C_eta", "C_phi", "brightest_4_7"]
    for key in keys:
        assert LABELS[key].startswith(("$", "depth", "sparsity")), key
    assert LABELS["E_0"] == r"$E_{0}$ [MeV]"
    assert "[mm]" in LABELS["eta_mean"]
    with pytest.raises(ValueError, match="unknown observable key 'E_x'"):
        label("E_x")
    with pytest.raises(KeyError, match="E_x"):
        LABELS["E_x"]


# ---------------------------------------------------------------------------------------------
# bad inputs


def test_shape_mismatch_names_the_shapes():
    eta, _ = Segmentation.uniform(12, 12).centres()
    with pytest.raises(ValueError, match=r"\(5, 12, 6\).*\(12, 12\)"):
        centroid(np.ones((5, 12, 6)), eta)
    with pytest.raises(ValueError, match=r"\(5, 12, 6\).*\(12, 12\)"):
        layer_observables(np.ones((5, 12, 6)), Segmentation.uniform(12, 12))
    with pytest.raises(ValueError, match=r"\(12, 12\)"):
        width(np.ones(144), eta)  # a single image without the shower axis


def test_negative_or_nan_energies_are_rejected():
    x = np.array([0.0, 1.0])
    with pytest.raises(ValueError, match="1 negative and 0 NaN"):
        centroid(np.array([[1.0, -0.5]]), x)
    with pytest.raises(ValueError, match="0 negative and 1 NaN"):
        shower_shapes([np.array([[1.0, np.nan]])])
    with pytest.raises(ValueError, match="negative"):
        point_layer_observables([0.0], [0.0], [-1.0], [0, 1])


def test_bad_point_inputs():
    with pytest.raises(ValueError, match=r"offsets .* 2 points"):
        point_layer_observables([0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [0, 1])
    with pytest.raises(ValueError, match=r"shapes"):
        point_layer_observables([0.0, 1.0], [0.0], [1.0, 1.0], [0, 2])
    with pytest.raises(ValueError, match=r"expected integers in \[0, 3\)"):
        point_shower_shapes([0.0], [0.0], [3.0], [1.0], [0, 1], n_layers=3)


def test_bad_shower_shape_inputs(three_layer_shower):
    with pytest.raises(ValueError, match=r"\(3, 2, 2\).*\(2, 2, 3\)"):
        shower_shapes([three_layer_shower[0], three_layer_shower[1][:2]])
    with pytest.raises(ValueError, match="2 segmentations for 3 layers"):
        shower_shapes(three_layer_shower, segmentations=[Segmentation.uniform(2, 2)] * 2)
    with pytest.raises(ValueError, match=r"incident_energy of shape \(2,\)"):
        shower_shapes(three_layer_shower, incident_energy=np.ones(2))
    with pytest.raises(ValueError, match="brightest"):
        shower_shapes(three_layer_shower, brightest=(0,))
