"""1x/2x/3x grids: nested cells, energy conserved, 2x and 3x summed back equal direct 1x binning."""

import numpy as np
import pytest

from calopaper.geometry import Segmentation
from calopaper.grids import bin_layers, downsample, layer_grids, parse_resolution, refine
from calopaper.sim import gflash, supa


@pytest.fixture(scope="module")
def showers():
    return supa.simulate(supa.PRESETS["calogan"], 30, seed=5)


def test_refined_edges_follow_the_reference_linspace_and_nest():
    seg = Segmentation.uniform(12, 6, (-100.0, 100.0), (-150.0, 150.0))
    fine = refine(seg, 3)
    assert fine.shape == (36, 18)
    np.testing.assert_allclose(fine.eta_edges, np.linspace(-100, 100, (13 - 1) * 3 + 1), rtol=1e-12)
    np.testing.assert_allclose(fine.eta_edges[::3], seg.eta_edges, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("simulator", "preset", "shapes_2x"),
    [
        ("supa", "calogan", {0: (6, 192), 1: (24, 24), 2: (24, 12)}),
        ("supa", "paper", {0: (6, 192), 1: (24, 24), 2: (24, 12)}),
        ("gflash", "calogan", {0: (6, 192), 1: (24, 24), 2: (24, 12)}),
    ],
)
def test_layer_grids_scale_the_cell_counts(simulator, preset, shapes_2x):
    assert {k: g.shape for k, g in layer_grids(simulator, preset, "2x").items()} == shapes_2x


def test_energy_is_conserved_at_every_resolution(showers):
    totals = np.bincount(showers.event_index, showers.points[:, 3], len(showers))
    for scale in (1, 2, 3):
        images, overflow = bin_layers(showers, layer_grids("supa", "calogan", scale))
        binned = sum(im.sum((1, 2)) for im in images.values()) + overflow.sum(1)
        np.testing.assert_allclose(binned, totals, rtol=1e-5)


@pytest.mark.parametrize("scale", [2, 3])
def test_downsampling_equals_direct_1x_binning(showers, scale):
    direct, _ = bin_layers(showers, layer_grids("supa", "calogan", 1))
    fine, _ = bin_layers(showers, layer_grids("supa", "calogan", scale))
    for k in direct:
        np.testing.assert_allclose(downsample(fine[k], scale), direct[k], rtol=1e-5, atol=1e-3)


def test_reference_simulator_points_bin_too():
    clouds = gflash.simulate("calogan", 4, seed=1, energy=20.0)
    images, overflow = bin_layers(clouds, layer_grids("gflash", "calogan", 2))
    assert images[1].shape == (4, 24, 24)
    assert overflow.shape == (4, 3)


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="'4x'"):
        parse_resolution("4x")
    with pytest.raises(ValueError, match="3x3 blocks"):
        downsample(np.zeros((1, 4, 4)), 3)
    with pytest.raises(ValueError, match="'nope'"):
        layer_grids("supa", "nope")
