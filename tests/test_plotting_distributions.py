"""plotting.distributions and plotting.binned_compare draw what they are given."""

import numpy as np
from matplotlib.patches import StepPatch

from calopaper import plotting


def test_distributions_draws_every_sample_on_shared_bins():
    rng = np.random.default_rng(0)
    samples = {
        "a": {"x": rng.normal(0, 1, 500), "y": np.full(500, 2.0)},
        "b": {"x": rng.normal(1, 1, 300), "y": np.append(np.full(299, 2.0), np.nan)},
    }
    fig = plotting.distributions(samples, ["x", "y"], 3, bins=20, xlabels={"x": "x", "y": "y"})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    steps = [p for p in visible[0].patches if isinstance(p, StepPatch)]
    assert len(steps) == 2
    edges = [p.get_data().edges for p in steps]
    np.testing.assert_array_equal(edges[0], edges[1])
    for p in steps:  # unit area
        values, e = p.get_data().values, p.get_data().edges
        assert abs(np.sum(values * np.diff(e)) - 1.0) < 1e-9


def test_binned_compare_normalises_to_unit_sum():
    edges = np.arange(5.0)
    ax = plotting.binned_compare(edges, np.array([1, 2, 3, 4]), {"GFlash": np.array([0, 0, 5, 5])})
    values = [p.get_data().values for p in ax.patches if isinstance(p, StepPatch)]
    assert len(values) == 2
    for v in values:
        assert abs(v.sum() - 1.0) < 1e-12
