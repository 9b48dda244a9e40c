"""Tests of the GFlash-style simulator, its calorimeters and its validation against Geant4."""

import re
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from calopaper.sim import gflash, validation
from calopaper.sim.calorimeters import CALOGAN, ILD, MATERIALS, Calorimeter, Layer, medium

REAL_CALOGAN = Path(__file__).resolve().parents[2] / "shared/realdata/HEPCAT_CaloGAN_test.h5"

#: A deep, finely sampled Pb/LAr stack (0.096 X0 per step, 77 X0 in all): no leakage.
FINE = Calorimeter(
    name="fine",
    layers=(Layer(MATERIALS["Pb"], 0.5, MATERIALS["LAr"], 1.0, periods=800.0, cells=(1, 1)),),
    readout="total",
    tail_spots=1.0,
)


def _profiles(cal, n, energy, particle=11, theta=0.0, seed=0):
    rng = np.random.default_rng(seed)
    direction = np.tile([np.sin(theta), 0.0, np.cos(theta)], (n, 1))
    profiles = gflash.shower_profiles(cal, np.full(n, energy), np.full(n, particle), direction, rng)
    return profiles, rng


def _step_centres(profiles):
    return 0.5 * (profiles.depth[:, 1:] + profiles.depth[:, :-1])


def test_medium_matches_the_reference_numbers():
    # gflash.md 4.7 (unit-consistent recipe): CaloGAN Pb 2 / LAr 4 mm.
    m = medium(CALOGAN.layers)
    assert m.X0 == pytest.approx(15.6, abs=0.05)
    assert m.moliere_radius == pytest.approx(36.8, abs=0.1)
    assert m.critical_energy == pytest.approx(8.97, abs=0.01)
    assert (m.Z, m.F_S, m.e_hat) == pytest.approx((69.4, 2.60, 0.691), abs=0.05)
    # ILD: F_S 1.65 (2.1 mm W) and 0.83 (4.2 mm W), e_hat 0.704; 24 X0 in all.
    assert medium(ILD.layers[:20]).F_S == pytest.approx(1.65, abs=0.01)
    assert medium(ILD.layers[20:]).F_S == pytest.approx(0.83, abs=0.01)
    assert medium(ILD.layers).e_hat == pytest.approx(0.704, abs=0.001)
    assert sum(la.radiation_lengths for la in ILD.layers) == pytest.approx(24.15, abs=0.05)


def test_ild_layer_positions_reproduce_the_reference_geometry():
    _, geometry = validation.load_reference()
    bottom = geometry["layer_bottom_pos"]
    centre = bottom - bottom[0] + float(geometry["cell_thickness"]) / 2
    np.testing.assert_allclose(ILD.layer_z - ILD.layer_z[0], centre - centre[0], atol=2e-3)


def test_longitudinal_mean_depth_is_the_gamma_mean():
    profiles, _ = _profiles(FINE, 400, 50.0)
    e = profiles.recorded
    assert profiles.shower_recorded() / 50e3 == pytest.approx(1.0, abs=1e-6)  # no leakage
    mean_depth = (e * _step_centres(profiles)).sum(1) / e.sum(1)
    T, alpha = profiles.T[:, 0], profiles.alpha[:, 0]
    np.testing.assert_allclose(mean_depth, T * alpha / (alpha - 1), rtol=2e-3)


def test_longitudinal_fluctuations_follow_the_parameterisation():
    n = 4000
    profiles, _ = _profiles(FINE, n, 50.0)
    ln_t, ln_a = np.log(profiles.T[:, 0]), np.log(profiles.alpha[:, 0])
    mean_t, mean_a, sigma_t, sigma_a, rho = (
        float(x[0]) for x in gflash.longitudinal_parameters(np.array([50.0]), FINE.front, False)
    )
    assert ln_t.mean() == pytest.approx(mean_t, abs=4 * sigma_t / np.sqrt(n))
    assert ln_a.mean() == pytest.approx(mean_a, abs=4 * sigma_a / np.sqrt(n))
    assert ln_t.std() == pytest.approx(sigma_t, rel=0.05)
    assert ln_a.std() == pytest.approx(sigma_a, rel=0.05)
    assert np.corrcoef(ln_t, ln_a)[0, 1] == pytest.approx(rho, abs=0.03)
    # Mean profile = mean of the Gamma densities at each shower's (T, alpha), fine steps.
    from scipy.stats import gamma

    pdf = gamma.pdf(
        _step_centres(profiles), profiles.alpha, scale=profiles.T / (profiles.alpha - 1)
    )
    expected = (pdf * np.diff(profiles.depth, axis=1)).mean(0)
    np.testing.assert_allclose(profiles.recorded.mean(0) / 50e3, expected, atol=2e-4)


@pytest.mark.parametrize("cal", [replace(CALOGAN, point_grid=0.0), ILD], ids=["calogan", "ild"])
def test_radial_containment_matches_the_parameterisation(cal):
    profiles, rng = _profiles(cal, 200, 30.0)
    clouds = gflash.place_points(cal, profiles, rng)
    active = cal.readout == "active"
    t = profiles.depth[:, :-1] + (1.0 if active else 0.5) * np.diff(profiles.depth, axis=1)
    tau = (t - profiles.start[:, None]) / profiles.tau_scale
    media = [medium([la]) for la in cal.layers]
    lay = profiles.step_layer
    constants = (np.array([getattr(m, k) for m in media])[lay] for k in ("Z", "F_S", "e_hat"))
    params = gflash.radial_parameters(tau, profiles.energy[:, None], *constants, active)
    r_m = np.array([medium(cal.layers[: i + 1]).moliere_radius for i in range(len(cal.layers))])
    x, y, layer, e = clouds.points.T.astype(float)
    r = np.hypot(x, y) / r_m[layer.astype(int)]
    w = profiles.recorded
    for radius, textbook in ((1.0, 0.90), (2.0, 0.95)):
        implied = (w * gflash.radial_containment(radius, *params)).sum() / w.sum()
        assert e[r < radius].sum() / e.sum() == pytest.approx(implied, abs=0.005)
        assert implied == pytest.approx(textbook, abs=0.03)


@pytest.mark.parametrize("cal", [CALOGAN, ILD], ids=["calogan", "ild"])
@pytest.mark.parametrize("particle", [22, 11])
def test_points_carry_the_recorded_energy(cal, particle):
    profiles, rng = _profiles(cal, 50, 20.0, particle=particle, theta=0.2)
    clouds = gflash.place_points(cal, profiles, rng)
    sums = np.bincount(clouds.event_index, weights=clouds.points[:, 3], minlength=50)
    np.testing.assert_allclose(sums, profiles.shower_recorded(), rtol=1e-5)
    assert np.all(clouds.points[:, 3] > 0)
    layers = clouds.points[:, 2]
    assert set(np.unique(layers)) <= set(range(len(cal.layers)))
    assert np.all(np.diff(layers + 1000 * clouds.event_index) >= 0)  # sorted by shower, layer


def test_total_readout_records_the_contained_energy():
    clouds = gflash.simulate("calogan", 100, seed=3, energy=50.0)
    per_shower = np.bincount(clouds.event_index, weights=clouds.points[:, 3]) / 50e3
    assert per_shower.max() <= 1 + 1e-5
    assert per_shower.mean() == pytest.approx(0.995, abs=0.01)  # Geant4 file: 0.994


def test_ild_visible_energy_and_sampling_resolution():
    clouds = gflash.simulate("ild", 100, seed=3, energy=50.0)
    visible = np.bincount(clouds.event_index, weights=clouds.points[:, 3]) / 50e3
    assert visible.mean() == pytest.approx(0.0245, rel=0.1)  # reference: 1223 MeV at <E> 50 GeV
    # Electrons in a uniform 60-layer stack: sigma/E = a / sqrt(E/GeV) (the two W thicknesses
    # of the real layout add the longitudinal fluctuations to the raw visible sum).
    uniform = replace(
        ILD, layers=tuple(replace(la, absorber_thickness=2.1) for la in ILD.layers) * 2
    )
    clouds = gflash.simulate(uniform, 400, seed=3, energy=50.0, particle="e-")
    visible = np.bincount(clouds.event_index, weights=clouds.points[:, 3])
    assert visible.std() / visible.mean() == pytest.approx(0.166 / np.sqrt(50), rel=0.15)


def test_same_seed_same_showers():
    a = gflash.simulate("ild", 300, seed=7)
    b = gflash.simulate("ild", 300, seed=7)
    c = gflash.simulate("ild", 300, seed=8)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.incident_energy, b.incident_energy)
    assert a.attrs == b.attrs
    assert not np.array_equal(a.incident_energy, c.incident_energy)


def test_photons_start_deeper_than_electrons():
    def mean_layer(particle):
        clouds = gflash.simulate("ild", 300, seed=1, particle=particle, energy=40.0)
        layer, e = clouds.points[:, 2], clouds.points[:, 3]
        return (layer * e).sum() / e.sum()

    # Conversion after 9/7 X0, then two half-energy showers: about 0.6 X0 = 1 layer deeper.
    assert 0.5 < mean_layer("gamma") - mean_layer("e-") < 1.6


def test_incident_angle_moves_the_centroid_by_depth_tan_theta():
    theta, phi = 0.4, 0.7
    clouds = gflash.simulate("ild", 200, seed=2, particle="e-", energy=30.0, theta=theta, phi=phi)
    x, y, layer, e = clouds.points.T.astype(float)
    for i in range(4, 20):
        m = layer == i
        z = ILD.layer_z[i]
        cx, cy = (x[m] * e[m]).sum() / e[m].sum(), (y[m] * e[m]).sum() / e[m].sum()
        assert cx == pytest.approx(z * np.tan(theta) * np.cos(phi), abs=1.0)
        assert cy == pytest.approx(z * np.tan(theta) * np.sin(phi), abs=1.0)
    direction = clouds.incident_direction[0]
    np.testing.assert_allclose(
        direction, [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], 1e-6
    )


def test_defaults_and_output_conventions():
    clouds = gflash.simulate(gflash.CALORIMETERS["calogan"], 20, seed=0)
    assert len(clouds) == 20 and np.all(clouds.particle == -11)
    assert np.all((clouds.incident_energy >= 1) & (clouds.incident_energy <= 100))
    assert clouds.attrs["calorimeter"] == "calogan"
    assert all(isinstance(v, str | int | float | bool) for v in clouds.attrs.values())
    ild = gflash.simulate("ild", 20, seed=0)
    assert np.all(ild.particle == 22)
    assert np.all((ild.incident_energy >= 10) & (ild.incident_energy <= 90))
    per_shower = gflash.simulate("ild", 3, energy=np.array([10.0, 20.0, 30.0]))
    assert per_shower.incident_energy.tolist() == [10.0, 20.0, 30.0]
    # The config is JSON-able data that round-trips through replace (store keys, overrides).
    assert asdict(replace(ILD, particle="e-"))["particle"] == "e-"


def test_calogan_points_rebin_exactly_into_calogan_cells():
    from calopaper.datasets import clouds_to_calogan

    clouds = gflash.simulate("calogan", 30, seed=4)
    images = clouds_to_calogan(clouds)
    total = sum(images[f"layer_{i}"].sum((1, 2)) for i in range(3)) + images["overflow"].sum(1)
    points = np.bincount(clouds.event_index, weights=clouds.points[:, 3].astype(float))
    np.testing.assert_allclose(total, points, rtol=1e-5)


def test_layer_cells_through_geometry_rebin():
    from calopaper.geometry import rebin

    clouds = gflash.simulate("ild", 5, seed=6)
    mask = clouds.points[:, 2] == 12
    offsets = np.concatenate([[0], np.cumsum(np.bincount(clouds.event_index[mask], minlength=5))])
    eta, phi, _, energy = clouds.points[mask].T
    cells, overflow = rebin(eta, phi, energy, offsets, ILD.layers[12].segmentation)
    assert cells.shape == (5, 78, 78)
    layer_energy = np.bincount(clouds.event_index[mask], weights=energy, minlength=5)
    np.testing.assert_allclose(cells.sum((1, 2)) + overflow, layer_energy, rtol=1e-6)
    assert overflow.sum() < 1e-3 * layer_energy.sum()


def test_cell_hits_apply_the_mip_cut():
    clouds = gflash.simulate("ild", 10, seed=5)
    cells = gflash.cell_hits(clouds, "ild")
    assert cells.points[:, 3].min() >= ILD.mip_cut
    assert len(cells.points) < len(clouds.points)
    kept = np.bincount(cells.event_index, weights=cells.points[:, 3], minlength=10)
    total = np.bincount(clouds.event_index, weights=clouds.points[:, 3], minlength=10)
    assert np.all(kept <= total + 1e-3) and np.all(kept > 0.9 * total)
    size = 5.088
    offset = (cells.points[:, :2] + 78 * size / 2) / size - 0.5
    np.testing.assert_allclose(offset, np.round(offset), atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"energy": 0.0}, "0.0"),
        ({"energy": -5.0}, "-5.0"),
        ({"energy": float("nan")}, "nan"),
        ({"energy": (50.0, 10.0)}, "(50.0, 10.0)"),
        ({"energy": np.array([1.0, np.nan])}, "nan"),
        ({"particle": "pi+"}, "'pi+'"),
        ({"theta": 1.6}, "1.6"),
        ({"phi": float("inf")}, "inf"),
    ],
)
def test_bad_inputs_name_the_value(kwargs, shown):
    with pytest.raises(ValueError, match=re.escape(shown)):
        gflash.simulate("ild", 2, **kwargs)


def test_bad_calorimeter_and_counts_are_rejected():
    with pytest.raises(ValueError, match="'atlas'"):
        gflash.simulate("atlas", 2)
    with pytest.raises(ValueError, match="n = 0"):
        gflash.simulate("ild", 0)
    with pytest.raises(ValueError, match="seed = -1"):
        gflash.simulate("ild", 2, seed=-1)
    with pytest.raises(ValueError, match="soft_fraction = 1.5"):
        replace(ILD, soft_fraction=1.5)


def test_ild_histograms_are_close_to_geant4():
    ours, independent = (
        validation.ild_histograms(gflash.simulate("ild", 400, seed=s)) for s in (11, 12)
    )
    frame = validation.jsd_table(ours, independent, 400)
    assert list(frame.index) == list(validation.HISTOGRAMS)
    table = frame["JSD vs Geant4"]
    assert all(0 <= v <= 1 for v in table)
    assert all(0 <= v <= 1 for v in frame["floor"])
    assert set(frame.loc[list(validation.TUNED), "role"]) == {"tuned"}
    assert set(frame.loc[list(validation.VALIDATION), "role"]) == {"validation"}
    # Loose bounds at 400 showers (20k showers: 0.0004 ... 0.011, see jsd_table).
    for name in ("energy_vs_radius", "hits_vs_radius", "energy_vs_layer", "hits_vs_layer"):
        assert table[name] < 0.01, name
    for name in ("hit_energy", "energy_sum", "hits_per_shower"):
        assert table[name] < 0.05, name


def test_floor_is_taken_at_the_comparisons_sizes():
    """Two independent samples of n showers: JSD(n, n) scaled to (n, 10⁵) by (1/n + 1/N)/(2/n)."""
    sizes = {k: h.counts.size for k, h in validation.load_reference()[0].items()}
    hist = {k: np.full(n, 100.0) for k, n in sizes.items()}
    other = {k: np.where(np.arange(n) % 2, 90.0, 110.0) for k, n in sizes.items()}
    frame = validation.jsd_table(hist, other, 1000)
    from calopaper.metrics import jensen_shannon

    expected = jensen_shannon(hist["energy_sum"], other["energy_sum"]) * (1e-3 + 1e-5) / 2e-3
    assert frame.loc["energy_sum", "floor"] == pytest.approx(expected)


def test_centroid_gap_is_offset_and_scatter():
    """A centroid sample with Geant4's mean and spread scores near 0; ours scores far above."""
    hists, _ = validation.load_reference()
    reference = hists["cog_x"]
    centres = (reference.edges[1:] + reference.edges[:-1]) / 2
    p = reference.counts / reference.counts.sum()
    like_geant4 = np.random.default_rng(0).choice(centres, 20000, p=p)
    table = validation.centroid_gap(like_geant4)
    assert table["JSD vs Geant4"].iloc[0] < 0.01
    narrow = np.random.default_rng(1).normal(0.0, 0.27, 20000)
    table = validation.centroid_gap(narrow)
    assert table["JSD vs Geant4"].iloc[0] > 0.1
    assert table["JSD vs Geant4"].iloc[2] < 0.02


def test_jsd_of_the_reference_with_itself_is_zero():
    hists, _ = validation.load_reference()
    from calopaper.metrics import jensen_shannon

    assert jensen_shannon(hists["hit_energy"].counts, hists["hit_energy"].counts) == 0.0


@pytest.mark.skipif(not REAL_CALOGAN.exists(), reason="../shared/realdata is not available")
def test_calogan_layer_fractions_near_real_geant4():
    from calopaper.datasets import clouds_to_calogan, read_calogan

    real = read_calogan(REAL_CALOGAN)
    energy = np.repeat(real["energy"].ravel().astype(float), 4)
    ours = _layer_summary(
        clouds_to_calogan(gflash.simulate("calogan", len(energy), seed=0, energy=energy))
    )
    theirs = _layer_summary(real)
    np.testing.assert_allclose(ours["layer_fraction"], theirs["layer_fraction"], atol=0.03)
    np.testing.assert_allclose(
        ours["nonzero_fraction"][:2], theirs["nonzero_fraction"][:2], atol=0.1
    )


def _layer_summary(layers: dict) -> dict:
    """Mean layer energy fractions and non-zero cell fractions of CaloGAN-layout showers."""
    from calopaper.observables import shower_shapes

    shapes = shower_shapes([layers[f"layer_{i}"] for i in range(3)])
    return {
        "layer_fraction": np.array([np.nanmean(shapes[f"f_{i}"]) for i in range(3)]),
        "nonzero_fraction": np.array([np.mean(shapes[f"sparsity_{i}"]) for i in range(3)]),
    }
