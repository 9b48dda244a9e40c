"""Tests for calopaper.geometry: segmentations, cell geometry, spiral order and rebinning."""

import dataclasses
import re

import numpy as np
import pytest

from calopaper.geometry import (
    CALOGAN,
    GAAM_EXTRAP,
    GAAM_INNER,
    GAAM_INTERP,
    GAAM_MIDDLE,
    GAAM_OUTER,
    SAVAE_INTERP,
    SAVAE_TRAIN,
    Segmentation,
    rebin,
)

ALL_NOTATIONS = sorted(
    set(SAVAE_TRAIN + SAVAE_INTERP + GAAM_INNER + GAAM_MIDDLE + GAAM_OUTER + GAAM_INTERP)
    | set(GAAM_EXTRAP)
)
ALL_SEGMENTATIONS = [Segmentation.parse(s) for s in ALL_NOTATIONS] + list(CALOGAN.values())


def _row_col(seg, flat):
    return np.stack(np.unravel_index(flat, seg.shape), axis=1)


# --- parsing, notation, serialisation -------------------------------------------------------


def test_constant_lists_match_the_papers():
    assert SAVAE_TRAIN == ["12x12", "48x24", "48x48", "36x48*"]
    assert SAVAE_INTERP == GAAM_INTERP == ["24x24", "24x12"]
    assert GAAM_MIDDLE == SAVAE_TRAIN
    assert GAAM_OUTER == ["24x24"]
    assert GAAM_EXTRAP == ["96x24", "6x6", "9x12*"]
    assert len(GAAM_INNER) == 8


@pytest.mark.parametrize("text", ALL_NOTATIONS)
def test_parse_round_trips_through_str_and_json(text):
    seg = Segmentation.parse(text)
    n_eta, n_phi = (int(n) for n in text.rstrip("*").split("x"))
    assert seg.shape == (n_eta, n_phi)
    assert seg.n_cells == n_eta * n_phi
    assert seg.extent == (-240.0, 240.0, -240.0, 240.0)
    assert str(seg) == text
    assert Segmentation.parse(str(seg)) == seg
    again = Segmentation.from_json(seg.to_json())
    assert again == seg
    assert hash(again) == hash(seg)
    assert Segmentation.from_json(seg.to_json().encode()) == seg


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("(48,48)", "48x48"),
        ("(48, 48)", "48x48"),
        ("48,48", "48x48"),
        (" 48x48 ", "48x48"),
        ("(36,48)*", "36x48*"),
        ("(9, 12)*", "9x12*"),
    ],
)
def test_parse_accepts_the_papers_spellings(text, canonical):
    assert Segmentation.parse(text) == Segmentation.parse(canonical)


@pytest.mark.parametrize(
    "text", ["", "abc", "48x", "48x48x2", "(48,48", "48,48)", "-4x48", "48.5x48", "12x12*", "0x48"]
)
def test_parse_rejects_bad_strings_naming_them(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        Segmentation.parse(text)


def test_parse_returns_a_segmentation_unchanged():
    seg = Segmentation.parse("36x48*")
    assert Segmentation.parse(seg) is seg


def test_parse_rejects_non_strings():
    with pytest.raises(ValueError, match="48"):
        Segmentation.parse(48)


@pytest.mark.parametrize(
    "eta_range", [(float("nan"), 240.0), (240.0, -240.0), (0.0, 0.0), (0.0,), ("a", "b")]
)
def test_parse_rejects_bad_ranges_naming_string_and_range(eta_range):
    with pytest.raises(ValueError, match=r"'36x48\*'.*eta_range"):
        Segmentation.parse("36x48*", eta_range=eta_range)


def test_parse_with_custom_ranges_scales_the_nonuniform_grids():
    seg = Segmentation.parse("9x12*", eta_range=(0.0, 120.0), phi_range=(-6.0, 6.0))
    assert seg.eta_edges == (0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 120.0)
    assert seg.phi_edges == tuple(np.linspace(-6.0, 6.0, 13).tolist())


@pytest.mark.parametrize(("n_eta", "n_phi"), [(0, 4), (4, -1), (2.5, 4), (True, 4)])
def test_uniform_rejects_bad_counts(n_eta, n_phi):
    with pytest.raises(ValueError, match=r"must be a positive integer, got"):
        Segmentation.uniform(n_eta, n_phi)


@pytest.mark.parametrize(
    ("eta_edges", "expected"),
    [
        ((0.0, 1.0, 1.0), r"\(0\.0, 1\.0, 1\.0\)"),
        ((0.0, 2.0, 1.0), r"\(0\.0, 2\.0, 1\.0\)"),
        ((0.0, float("nan")), "nan"),
        ((0.0,), r"\(0\.0,\)"),
        (("a", "b"), "'a', 'b'"),
    ],
)
def test_bad_edges_raise_naming_them(eta_edges, expected):
    with pytest.raises(ValueError, match=f"eta_edges.*{expected}"):
        Segmentation(eta_edges, (0.0, 1.0))


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"eta_edges": [0, 1]}'])
def test_from_json_rejects_other_json(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        Segmentation.from_json(text)


def test_custom_segmentation_is_frozen_hashable_and_named():
    seg = Segmentation((0, 1, 3), (-1.0, 0.0, 1.0, 2.0, 5.0))
    assert seg.eta_edges == (0.0, 1.0, 3.0)
    assert str(seg) == "custom(2x4)"
    assert str(dataclasses.replace(seg, name="mine")) == "mine"
    assert Segmentation.from_json(seg.to_json()) == seg
    assert len({seg, Segmentation((0, 1, 3), (-1, 0, 1, 2, 5)), Segmentation.parse("2x4")}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.name = "other"


def test_calogan_layers_are_480mm_square():
    assert {k: seg.shape for k, seg in CALOGAN.items()} == {0: (3, 96), 1: (12, 12), 2: (12, 6)}
    for seg in CALOGAN.values():
        assert seg.extent == (-240.0, 240.0, -240.0, 240.0)


# --- centres, sizes, conditioning ----------------------------------------------------------------


def test_centres_and_sizes_of_36x48_star():
    seg = Segmentation.parse("36x48*")
    eta, phi = seg.centres()
    d_eta, d_phi = seg.sizes()
    assert eta.shape == phi.shape == d_eta.shape == d_phi.shape == (36, 48)
    np.testing.assert_allclose(d_eta[:24], 10.0)
    np.testing.assert_allclose(d_eta[24:], 20.0)
    np.testing.assert_allclose(d_phi, 10.0)
    np.testing.assert_allclose(eta[[0, 23, 24, 35], 0], [-235.0, -5.0, 10.0, 230.0])
    np.testing.assert_allclose(phi[0, [0, 23, 24, 47]], [-235.0, -5.0, 5.0, 235.0])
    assert np.all(eta[:24] < 0) and np.all(eta[24:] > 0)
    assert d_eta.sum(0)[0] == pytest.approx(480.0)


def test_sizes_of_9x12_star_match_the_largest_training_cells():
    d_eta, d_phi = Segmentation.parse("9x12*").sizes()
    (d_12x12, _) = Segmentation.parse("12x12").sizes()
    np.testing.assert_allclose(d_eta[:6], d_12x12.max())
    np.testing.assert_allclose(d_eta[6:], 2 * d_12x12.max())
    np.testing.assert_allclose(d_phi, 40.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("48x48", [24, 24, 24, 24]),
        ("36x48*", [24, 12, 24, 24]),
        ("12x12", [6, 6, 6, 6]),
        ("24x12", [12, 12, 6, 6]),
        ("9x12*", [6, 3, 6, 6]),
        ("3x96", [1, 1, 48, 48]),
    ],
)
def test_conditioning_vector(text, expected):
    vector = Segmentation.parse(text).conditioning_vector()
    assert vector.shape == (4,)
    assert vector.tolist() == expected


# --- spiral order -------------------------------------------------------------------------------


@pytest.mark.parametrize("seg", ALL_SEGMENTATIONS, ids=str)
def test_spiral_is_a_permutation(seg):
    order = seg.spiral_order()
    assert order.dtype == np.int64
    np.testing.assert_array_equal(np.sort(order), np.arange(seg.n_cells))


@pytest.mark.parametrize("seg", ALL_SEGMENTATIONS, ids=str)
def test_spiral_steps_between_neighbours_within_the_central_square(seg):
    rc = _row_col(seg, seg.spiral_order())
    # The non-uniform grids start at eta index 23 of 36 (5 of 9), next to the 0 mm boundary, so
    # the largest square around the start reaches the upper eta edge after 25 (7) rows.
    side = {"36x48*": 25, "9x12*": 7}.get(str(seg), min(seg.shape))
    central = rc[: side * side]
    assert np.all(np.abs(np.diff(central, axis=0)).sum(1) == 1)
    # ... and those first side**2 cells form a side x side square.
    assert np.ptp(central, axis=0).tolist() == [side - 1, side - 1]


@pytest.mark.parametrize("n", [1, 2, 3, 6, 12, 24, 48])
def test_square_spiral_is_counter_clockwise_from_the_centre(n):
    seg = Segmentation.uniform(n, n)
    rc = _row_col(seg, seg.spiral_order())
    start = (n - 1) // 2  # the middle cell, or the top-left of the central four
    assert rc[0].tolist() == [start, start]
    assert np.all(np.abs(np.diff(rc, axis=0)).sum(1) == 1)
    if n > 1:  # down (+eta), right (+phi), then up: counter-clockwise as imshow(cells) draws it
        assert rc[1:4].tolist() == [[start + 1, start], [start + 1, start + 1], [start, start + 1]]


def test_spiral_known_orders():
    assert Segmentation.uniform(3, 3).spiral_order().tolist() == [4, 7, 8, 5, 2, 1, 0, 3, 6]
    assert Segmentation.uniform(2, 2).spiral_order().tolist() == [0, 2, 3, 1]
    assert Segmentation.uniform(1, 3).spiral_order().tolist() == [1, 2, 0]


@pytest.mark.parametrize(
    ("text", "start"),
    [("5x5", (2, 2)), ("4x4", (1, 1)), ("36x48*", (23, 23)), ("9x12*", (5, 5)), ("192x4", (95, 1))],
)
def test_spiral_first_cell(text, start):
    seg = Segmentation.parse(text)
    assert tuple(_row_col(seg, seg.spiral_order()[:1])[0]) == start


@pytest.mark.parametrize("text", ["192x4", "48x12", "12x48"])
def test_nonsquare_spiral_covers_peripheral_lines_alternating_sides(text):
    seg = Segmentation.parse(text)
    long_axis = int(np.argmax(seg.shape))
    side = min(seg.shape)
    rc = _row_col(seg, seg.spiral_order())[side * side :]
    # Peripheral cells come as whole lines across the short axis, alternately on each side.
    lines = rc[:, long_axis].reshape(-1, side)
    assert np.all(lines == lines[:, :1])
    centre = (seg.shape[long_axis] - 1) / 2
    sides = np.sign(lines[:, 0] - centre)
    assert np.all(sides[1:] != sides[:-1])
    assert np.all(np.abs(np.diff(rc[:side], axis=0)).sum(1) == 1)


def test_spiral_starts_at_the_cell_nearest_the_shower_centre_off_grid():
    seg = Segmentation.uniform(4, 3, eta_range=(10.0, 50.0))
    rc = _row_col(seg, seg.spiral_order())
    assert rc[0].tolist() == [0, 1]
    np.testing.assert_array_equal(np.sort(seg.spiral_order()), np.arange(12))


# --- rebin --------------------------------------------------------------------------------------


def test_rebin_known_values_and_edge_convention():
    seg = Segmentation((0.0, 1.0, 3.0), (0.0, 2.0, 4.0, 6.0))
    eta = np.array([0.5, 2.9, 1.0, 0.0, 3.0, -0.1, 0.5, 0.5, 1.5])
    phi = np.array([0.5, 5.9, 2.0, 0.0, 1.0, 1.0, 6.0, np.inf, 3.0])
    energy = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0])
    cells, overflow = rebin(eta, phi, energy, np.array([0, 8, 8, 9]), seg)
    assert cells.dtype == overflow.dtype == np.float64
    assert cells.shape == (3, 2, 3)
    # Lower edges belong to the cell ([lo, hi)); the upper outer edge, -0.1 and inf overflow.
    np.testing.assert_array_equal(cells[0], [[9.0, 0.0, 0.0], [0.0, 4.0, 2.0]])
    np.testing.assert_array_equal(cells[1], np.zeros((2, 3)))
    np.testing.assert_array_equal(cells[2], [[0.0, 0.0, 0.0], [0.0, 256.0, 0.0]])
    np.testing.assert_array_equal(overflow, [16.0 + 32.0 + 64.0 + 128.0, 0.0, 0.0])


@pytest.mark.parametrize("text", ["48x48", "36x48*", "9x12*", "192x4", "3x96"])
def test_rebin_conserves_energy_including_overflow(text):
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 400, 50)
    counts[[3, 17]] = 0  # empty showers
    offsets = np.concatenate([[0], np.cumsum(counts)])
    n_points = offsets[-1]
    eta = rng.normal(0.0, 150.0, n_points).astype(np.float32)
    phi = rng.normal(0.0, 150.0, n_points).astype(np.float32)
    energy = rng.exponential(5.0, n_points).astype(np.float32)
    cells, overflow = rebin(eta, phi, energy, offsets, Segmentation.parse(text))
    shower = np.repeat(np.arange(len(counts)), counts)
    expected = np.bincount(shower, weights=energy.astype(np.float64), minlength=len(counts))
    np.testing.assert_allclose(cells.sum((1, 2)) + overflow, expected, rtol=1e-6)
    assert overflow.sum() > 0.01 * expected.sum()  # the test exercises overflow
    outside = (np.abs(eta) >= 240) | (np.abs(phi) >= 240)
    expected_overflow = np.bincount(
        shower[outside], weights=energy[outside].astype(np.float64), minlength=len(counts)
    )
    np.testing.assert_allclose(overflow, expected_overflow, rtol=1e-6)


def test_rebin_accepts_notation_and_handles_no_points():
    cells, overflow = rebin(np.zeros(0), np.zeros(0), np.zeros(0), np.array([0, 0, 0]), "36x48*")
    assert cells.shape == (2, 36, 48)
    assert not cells.any() and overflow.tolist() == [0.0, 0.0]
    cells, overflow = rebin(np.zeros(0), np.zeros(0), np.zeros(0), np.array([0]), "6x6")
    assert cells.shape == (0, 6, 6) and overflow.shape == (0,)


@pytest.mark.parametrize("axis", ["eta", "phi"])
def test_rebin_rejects_nan_coordinates(axis):
    coords = {"eta": np.zeros(3), "phi": np.zeros(3)}
    coords[axis][1] = np.nan
    with pytest.raises(ValueError, match=f"{axis} is NaN at 1 points \\(first at index 1\\)"):
        rebin(coords["eta"], coords["phi"], np.ones(3), np.array([0, 3]), "6x6")


@pytest.mark.parametrize(
    ("energy", "offsets", "match"),
    [
        (np.array([1.0, np.nan, 1.0]), np.array([0, 3]), "energy is not finite"),
        (np.ones(3), np.array([0, 2]), r"offsets must .* from 0 to 3.*\[0, 2\]"),
        (np.ones(3), np.array([0, 2, 1, 3]), r"offsets must be non-decreasing"),
        (np.ones(3), np.array([1, 3]), r"offsets must .*\[1, 3\]"),
        (np.ones(3), np.array([0.0, 3.0]), "offsets must be integers"),
        (np.ones(2), np.array([0, 3]), r"equal length, got shapes \(3,\), \(3,\), \(2,\)"),
    ],
)
def test_rebin_rejects_bad_inputs(energy, offsets, match):
    with pytest.raises(ValueError, match=match):
        rebin(np.zeros(3), np.zeros(3), energy, offsets, "6x6")


def test_rebin_matches_histogram2d_per_shower():
    rng = np.random.default_rng(2)
    seg = Segmentation.parse("9x12*")
    eta, phi = rng.uniform(-260, 260, (2, 1000))
    energy = rng.uniform(0, 1, 1000)
    offsets = np.array([0, 400, 1000])
    cells, _ = rebin(eta, phi, energy, offsets, seg)
    for k in range(2):
        part = slice(offsets[k], offsets[k + 1])
        expected, _, _ = np.histogram2d(
            eta[part], phi[part], bins=[seg.eta_edges, seg.phi_edges], weights=energy[part]
        )
        np.testing.assert_allclose(cells[k], expected, rtol=1e-12)
