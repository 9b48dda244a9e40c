"""PointClouds: selection, layers, concatenation and rebinning keep showers intact."""

import numpy as np
import pytest

from calopaper.geometry import Segmentation
from calopaper.showers import PointClouds


def _clouds():
    points = np.array(
        [[0, 0, 0, 1], [10, 0, 1, 2], [-10, 5, 1, 3], [300, 0, 0, 4], [1, 1, 2, 5]], dtype=float
    )
    return PointClouds(
        points, [0, 2, 2, 5], [10, 20, 30], np.tile([0, 0, 1], (3, 1)), [22, 22, -11]
    )


def test_select_keeps_each_showers_points_in_the_requested_order():
    picked = _clouds().select([2, 0])
    assert picked.offsets.tolist() == [0, 3, 5]
    assert picked.points[:, 3].tolist() == [3, 4, 5, 1, 2]
    assert picked.incident_energy.tolist() == [30, 10]


def test_layer_keeps_every_shower_even_when_empty():
    layer1 = _clouds().layer(1)
    assert len(layer1) == 3
    assert layer1.offsets.tolist() == [0, 1, 1, 2]


def test_concatenate_round_trip():
    c = _clouds()
    joined = PointClouds.concatenate([c.select([0]), c.select([1, 2])])
    np.testing.assert_array_equal(joined.points, c.points)
    np.testing.assert_array_equal(joined.offsets, c.offsets)


def test_cells_conserve_energy_with_overflow():
    cells, overflow = _clouds().cells(Segmentation.uniform(4, 4))
    np.testing.assert_allclose(cells.sum(axis=(1, 2)) + overflow, [3, 0, 12])
    assert overflow.tolist() == [0, 0, 4]


def test_bad_offsets_are_refused():
    with pytest.raises(ValueError, match="offsets"):
        PointClouds(np.zeros((3, 4)), [0, 2], [1], [[0, 0, 1]], [22])
