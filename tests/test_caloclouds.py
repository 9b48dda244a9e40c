"""Contract tests of the CaloClouds pieces: ShowerFlow, EDM preconditioning, Heun, distillation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from calopaper.models.caloclouds import (
    CaloClouds,
    ConsistencyDistiller,
    Denoiser,
    FlowConfig,
    PointwiseNet,
    ShowerFlow,
    heun_sample,
    karras_sigmas,
    one_step_sample,
    prepare,
    version,
)
from calopaper.models.caloclouds.diffusion import SIGMA_MAX, SIGMA_MIN
from calopaper.sim import gflash

MU, S = 0.7, 0.3  # the 1-d Gaussian data of the sampler oracles


class GaussianNet(nn.Module):
    """The network whose EDM denoiser is exact for data ~ N(MU, S^2), plus a trainable part."""

    def __init__(self):
        super().__init__()
        self.residual = nn.Linear(2, 1)
        nn.init.zeros_(self.residual.weight)
        nn.init.zeros_(self.residual.bias)
        self.sigma_data = 0.5

    def forward(self, x_in, c_noise, cond, index=None):
        sigma = (4 * c_noise).exp()
        sigma = sigma[index] if index is not None else sigma
        x = x_in * torch.sqrt(sigma**2 + self.sigma_data**2)
        exact = (S**2 * x + sigma**2 * MU) / (S**2 + sigma**2)
        c_skip = self.sigma_data**2 / (sigma**2 + self.sigma_data**2)
        c_out = sigma * self.sigma_data / torch.sqrt(sigma**2 + self.sigma_data**2)
        return (exact - c_skip * x) / c_out + self.residual(torch.cat([x_in, c_noise], -1))


def test_showerflow_log_prob_of_samples_is_finite_and_conditioning_is_used():
    torch.manual_seed(0)
    flow = ShowerFlow(FlowConfig(features=6, context=2, affine=2, spline=1, hidden=16))
    c = torch.tensor([[0.1, 0.0]] * 50 + [[0.9, 1.0]] * 50)
    x = flow.sample(c)
    assert x.shape == (100, 6)
    assert torch.isfinite(flow(c).log_prob(x)).all()
    torch.manual_seed(1)
    low = flow.sample(c[:1].expand(50, 2))
    torch.manual_seed(1)
    high = flow.sample(c[-1:].expand(50, 2))
    assert not torch.allclose(low, high)
    assert not torch.allclose(flow(c[:50]).log_prob(x[:50]), flow(c[50:]).log_prob(x[:50]))


def test_showerflow_rejects_bad_sizes():
    with pytest.raises(ValueError, match="affine"):
        FlowConfig(affine=0)


@pytest.mark.parametrize("sigma", [0.01, 0.5, 3.0, 80.0])
def test_edm_preconditioning_identities(sigma):
    denoiser = Denoiser(nn.Identity())
    c_skip, c_out, c_in = denoiser.scalings(torch.tensor(sigma))
    sd = denoiser.sigma_data
    assert float(c_in) == pytest.approx(1 / math.sqrt(sigma**2 + sd**2))
    assert float(c_skip + c_out**2 / sd**2) == pytest.approx(1.0)  # unit-variance target
    assert float(c_skip) == pytest.approx(sd**2 / (sigma**2 + sd**2))


def test_denoiser_limits_and_boundary_condition():
    net = PointwiseNet(4, 4, 8)
    x, cond = torch.randn(10, 4), torch.rand(10, 4)
    edm = Denoiser(net)
    assert torch.allclose(edm(x, 1e-6, cond), x, atol=1e-4)  # D(x; 0) -> x
    student = Denoiser(net, boundary=True)
    assert torch.equal(student(x, SIGMA_MIN, cond), x)  # consistency boundary: f(x, sigma_min) = x


def test_per_shower_context_equals_per_point_context():
    net = PointwiseNet(4, 4, 8)
    x, cond = torch.randn(6, 4), torch.rand(2, 4)
    index = torch.tensor([0, 0, 0, 1, 1, 1])
    denoiser = Denoiser(net)
    assert torch.allclose(denoiser(x, 2.0, cond, index), denoiser(x, 2.0, cond[index]), atol=1e-6)


@pytest.mark.parametrize(("steps", "tolerance"), [(18, 0.05), (100, 2e-3)])
def test_heun_sampler_solves_the_gaussian_flow_ode(steps, tolerance):
    """For N(MU, S^2) data the ODE maps x_T to MU + (x_T - MU) S / sqrt(S^2 + T^2).

    Heun is second order: 18 Karras steps land within 0.04, 100 within 1e-3.
    """
    denoiser = Denoiser(GaussianNet())
    noise = torch.linspace(-2, 2, 9)[:, None]
    cond = torch.zeros(9, 1)
    out = heun_sample(lambda x, s: denoiser(x, s, cond), noise, karras_sigmas(steps))
    x_t = noise * SIGMA_MAX
    exact = MU + (x_t - MU) * S / math.sqrt(S**2 + SIGMA_MAX**2)
    assert float((out - exact).abs().max()) < tolerance


def test_karras_schedule_ends_and_order():
    s = karras_sigmas(18)
    assert float(s[0]) == pytest.approx(SIGMA_MAX)
    assert float(s[-2]) == pytest.approx(SIGMA_MIN)
    assert float(s[-1]) == 0.0
    assert bool(torch.all(s[:-1] > s[1:]))
    with pytest.raises(ValueError, match="n >= 2"):
        karras_sigmas(1)


def test_distilled_one_step_sampler_learns_the_gaussian():
    """Undistilled, one step from sigma_max collapses onto the mean; distilled, it spreads.

    The student's trainable part is linear, so the spread is only roughly right (0.4 for 0.3).
    """
    torch.manual_seed(0)
    distiller = ConsistencyDistiller(Denoiser(GaussianNet()), steps=6)
    cond = torch.zeros(5000, 1)
    before = one_step_sample(distiller.student, torch.randn(5000, 1), cond)
    optimiser = torch.optim.Adam(distiller.student.parameters(), lr=2e-2)
    data = (MU + S * torch.randn(1024, 1), torch.zeros(1024, 1))
    for _ in range(100):
        loss = distiller.loss(data)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        distiller.update_target()
    noise = torch.randn(5000, 1)
    out = one_step_sample(distiller.student, noise, cond)
    assert torch.equal(out, distiller.student(noise * SIGMA_MAX, SIGMA_MAX, cond))
    assert float(before.std()) < 0.05 * S
    assert float(out.mean()) == pytest.approx(MU, abs=0.1)
    assert 0.5 * S < float(out.std()) < 2 * S


def _tiny(name: str) -> CaloClouds:
    torch.manual_seed(0)
    return CaloClouds(version(name, flow_affine=2, flow_spline=1, flow_hidden=8, hidden=4))


@pytest.mark.parametrize("name", ["cc3", "cc2"])
def test_generate_returns_calibrated_showers(name):
    model = _tiny(name)
    clouds = model.generate(np.array([20.0, 40.0]), generator=torch.Generator().manual_seed(3))
    assert len(clouds) == 2
    assert np.all(clouds.points[:, 3] > 0)
    assert set(np.unique(clouds.points[:, 2])) <= set(range(30))


@pytest.mark.parametrize(
    ("energy", "direction", "match"),
    [
        (50.0, [0.0, 0.0, 2.0], "unit vector"),
        (50.0, [0.0, 1.0, 0.0], "unit vector"),
        (500.0, [0.0, 0.0, 1.0], "outside the trained range"),
        (float("nan"), [0.0, 0.0, 1.0], "outside the trained range"),
    ],
)
def test_bad_conditions_get_a_clear_error(energy, direction, match):
    with pytest.raises(ValueError, match=match):
        _tiny("cc3").generate(np.array([energy]), np.array([direction]))


def test_prepare_conserves_layer_energy_and_bins_at_centres():
    clouds = gflash.simulate("ild", 3, seed=2, energy=20.0)
    for sub_cells, at_centre in ((5, False), (6, True)):
        points = prepare(clouds, sub_cells, at_centre)
        before, _ = clouds.layer_totals(30)
        after, n = points.layer_totals(30)
        assert np.allclose(before, after, rtol=1e-4, atol=1e-3)
        assert n.sum() <= len(clouds.points)


def test_paper_sized_model_has_the_papers_networks_and_the_trained_models_points():
    from calopaper.models.caloclouds.model import VERSIONS
    from calopaper.models.caloclouds.papersized import ARCHITECTURE, PaperSized

    trained = _tiny("cc3")
    big = PaperSized(trained)
    assert {k: getattr(big.config, k) for k in ARCHITECTURE} == {
        k: VERSIONS["cc3"][k] for k in ARCHITECTURE
    }
    assert sum(p.numel() for p in big.parameters()) > 10 * sum(
        p.numel() for p in trained.parameters()
    )
    energy, direction = np.array([20.0, 40.0]), np.tile([0.0, 0.0, 1.0], (2, 1))
    expected = trained.sample_layers(energy, direction, torch.Generator().manual_seed(3))
    drawn = big.sample_layers(energy, direction, torch.Generator().manual_seed(3))
    assert np.array_equal(drawn[0], expected[0]) and np.array_equal(drawn[1], expected[1])
    again = big.sample_layers(energy, direction, torch.Generator().manual_seed(4))
    assert np.array_equal(again[0], expected[0])  # kept, not redrawn
    clouds = big.generate(energy, generator=torch.Generator().manual_seed(3))
    assert np.diff(clouds.offsets).sum() <= expected[0].sum()


@pytest.mark.parametrize("version", ["cc3", "cc2"])
def test_non_finite_flow_draws_count_as_no_points(version):
    from calopaper.models.caloclouds.calibration import MAX_LAYER_POINTS, flow_layers

    x = np.ones((3, 5 + 2 * 30))
    x[0, :] = np.nan
    x[1, :] = np.inf
    x[2, 10] = 1e300
    counts, energy, _ = flow_layers(x, version, ((0.0, 0.0, 15.0), (1.0, 1.0, 5.0)))
    assert counts.dtype == np.int64 and counts.min() >= 0 and counts.max() <= MAX_LAYER_POINTS
    assert np.isfinite(energy).all() and counts[0].sum() == 0


def test_jsd_table_of_a_model_that_generates_nothing_is_nan():
    from calopaper.models.caloclouds.evaluation import jsd_table

    truth = {"hits": np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]])}
    empty = {"hits": np.zeros((2, 3))}
    table = jsd_table(truth, {"model": empty, "copy": truth}, boot=4)
    assert np.isnan(table.loc["hits", "model"]) and np.isnan(table.loc["hits", "model error"])
    assert table.loc["hits", "copy"] == 0.0


def test_replicas_differ_by_seed_and_a_budget_starts_from_the_full_trainings_snapshots(
    data_root,
):
    """``trained(replica=k)`` trains with ``findings.replica_seed``; ``budget=0.5`` takes
    ShowerFlow and the teacher from the snapshots of the full training and distils a student
    for half the epochs."""
    from calopaper.findings import replica_seed
    from calopaper.models.caloclouds import pipeline
    from calopaper.models.caloclouds.pipeline import TrainConfig, distil_epochs, model_key, trained
    from calopaper.store import Store
    from calopaper.truth import Source

    store = Store(data_root)
    source = Source("gflash", "ild", 20, seed=3)
    train = TrainConfig(flow_epochs=4, flow_batch=8, points=1024, point_epochs=2,
                        point_batch=256, distill_epochs=2, distill_steps=4, seed=5)  # fmt: skip
    sizes = {"flow_affine": 1, "flow_spline": 1, "flow_hidden": 8, "hidden": 4}
    options = {"sizes": sizes, "store": store, "progress": False}
    full, history = trained("cc2", train, source, **options)
    other, _ = trained("cc2", train, source, replica=1, **options)
    assert model_key("cc2", train, source, sizes, replica=1)["train"]["seed"] == replica_seed(5, 1)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(full.state_dict().values(), other.state_dict().values(), strict=True)
    )
    half, half_history = trained("cc2", train, source, budget=0.5, **options)
    assert len(half_history["flow"]["loss"]) == 2 and len(half_history["teacher"]["loss"]) == 1
    assert half_history["flow"]["loss"] == history["flow"]["loss"][:2]
    assert len(half_history["student"]["loss"]) == distil_epochs(train, 0.5) == 1
    kept = pipeline._load(
        pipeline._trained_path(
            "cc2", train, source, sizes, 0, 1.0, device="cpu", store=store, progress=False
        )
    )
    snapshot = kept["snapshots"]["0.5"]["flow"]
    assert all(torch.equal(half.flow.state_dict()[k], w) for k, w in snapshot.items())
    assert not all(torch.equal(full.flow.state_dict()[k], w) for k, w in snapshot.items())
    again, _ = trained("cc2", train, source, budget=0.5, **options)  # read back from the store
    pairs = zip(half.state_dict().values(), again.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_corrections_are_identity_by_default_and_scale_points_energy_and_position():
    """A config's corrections: the default asks for the flow's points unchanged; a CC3 factor
    multiplies them, CC2's two polynomials compose, and the energy factor and CoG shift act on
    every point."""
    from dataclasses import replace

    model = _tiny("cc3")
    counts = np.array([[10, 20, 0], [0, 0, 0]])
    assert np.array_equal(model.corrected_counts(counts), counts)
    model.config = replace(model.config, occupancy_real=(0.5, 0.0))
    assert model.corrected_counts(counts).tolist() == [[5, 10, 0], [0, 0, 0]]
    cc2 = _tiny("cc2")
    cc2.config = replace(cc2.config, occupancy_real=(2.0, 0.0), occupancy_fake=(1.0, 30.0))
    assert cc2.corrected_counts(np.array([[10, 20]])).tolist() == [[30, 60]]  # (2*30+30)/30 = 3
    energy = np.array([20.0, 40.0])
    base = _tiny("cc3").generate(energy, generator=torch.Generator().manual_seed(3))
    model = _tiny("cc3")
    model.config = replace(model.config, energy_scale=2.0, cog_shift=(1.0, -2.0))
    moved = model.generate(energy, generator=torch.Generator().manual_seed(3))
    assert np.allclose(moved.points[:, 3], 2 * base.points[:, 3], rtol=1e-5)
    assert np.allclose(moved.points[:, :2], base.points[:, :2] - [1.0, -2.0], atol=1e-4)


def test_measured_corrections_undo_a_known_bias():
    """A model that makes showers 2 mm off in x, with every point energy halved: ``measure``
    finds the shift and an energy factor near 2 on training showers, and the corrected model
    matches the truth's mean CoG and mean cell energy."""
    from calopaper.models.caloclouds.calibration import centre_of_gravity
    from calopaper.models.caloclouds.corrections import measure
    from calopaper.models.caloclouds.pipeline import impact_points, project

    truth = gflash.simulate("ild", 60, seed=4, energy=30.0)

    class Biased:
        """Replays the truth's own showers, shifted and with halved energies, as its model."""

        def __init__(self):
            self.config = version("cc3")

        def generate(self, energy, direction, generator=None):
            points = truth.points.astype(np.float64).copy()
            points[:, 0] += 2.0
            points[:, 3] *= 0.5
            points[:, 0] -= self.config.cog_shift[0]
            points[:, 3] *= self.config.energy_scale
            from dataclasses import replace as swap

            return swap(truth, points=points)

    model = measure(Biased(), truth, prepare(truth, 5, at_centre=False), n=60)
    assert model.config.cog_shift[0] == pytest.approx(2.0, abs=1e-6)
    made = model.generate(truth.incident_energy, truth.incident_direction)
    cog = centre_of_gravity(made)[:, 0].mean() - centre_of_gravity(truth)[:, 0].mean()
    assert abs(cog) < 1e-6
    impact = impact_points(60, 0)
    ratio = project(made, impact).points[:, 3].mean() / project(truth, impact).points[:, 3].mean()
    assert ratio == pytest.approx(1.0, abs=0.02)


def test_impact_points_lie_within_a_cell_and_projection_returns_the_shower_frame():
    """Projected at an impact point, a shower's cells come back about its own axis: the same
    total energy within the MIP cut, a centre of gravity near 0 rather than at the cell edges."""
    from calopaper.models.caloclouds.calibration import centre_of_gravity
    from calopaper.models.caloclouds.data import CELL
    from calopaper.models.caloclouds.pipeline import impact_points, project

    impact = impact_points(200, 0)
    assert impact.shape == (200, 2) and impact.min() >= 0 and impact.max() < CELL
    clouds = gflash.simulate("ild", 200, seed=2, energy=20.0)
    cells = project(clouds, impact)
    assert abs(centre_of_gravity(cells)[:, :2].mean()) < 0.1
    assert cells.points[:, 3].sum() == pytest.approx(project(clouds).points[:, 3].sum(), rel=0.02)


def test_cog_histograms_count_showers_beyond_their_range_in_the_outermost_bins():
    from calopaper.models.caloclouds.evaluation import OBSERVABLES, cog_table, shower_histograms
    from calopaper.showers import PointClouds

    cells = PointClouds(
        [[10.0, 0.0, 3, 5.0], [0.5, -9.0, 3, 5.0]], [0, 1, 2], [10.0, 10.0],
        [[0, 0, 1], [0, 0, 1]], [22, 22],
    )  # fmt: skip
    h = shower_histograms(cells)
    x, y = h["center of gravity in X"].sum(0), h["center of gravity in Y"].sum(0)
    assert x.sum() == 2 and x[-1] == 1 and y[0] == 1
    assert len(x) == len(OBSERVABLES["center of gravity in X"][0]) - 1
    table = cog_table({"two": cells})
    assert table.loc["two", "outside ±3 mm [%]"] == 100.0
    assert table.loc["two", "x mean [mm]"] == pytest.approx(5.25)
