"""CaloDVAE: the RBM's Gibbs sampler against exact enumeration, the standardisation's inverse,
the relaxations, the configs of calodvae Table 2, a tiny model that learns, and the pipeline's
store keys."""

import math

import numpy as np
import pytest
import torch

from calopaper.datasets import write_calogan
from calopaper.models.dvae import (
    ARCHITECTURES,
    CALOGAN_LAYERS,
    DVAE,
    N_CELLS,
    RBM,
    CellStandardiser,
    DVAEConfig,
    EnergyResponse,
    Showers,
    architecture,
    configure,
    flatten_layers,
    pipeline,
    relaxed_bernoulli,
    sample,
    split_layers,
    trained,
)
from calopaper.timing import torch_threads
from calopaper.training import FitConfig, fit
from calopaper.truth import Source


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one thread is faster than two fighting over a busy machine."""
    with torch_threads(1):
        yield


def _tiny_rbm(seed=0, n_visible=3, n_hidden=3, scale=1.5):
    torch.manual_seed(seed)
    rbm = RBM(n_visible, n_hidden)
    with torch.no_grad():
        rbm.weight.copy_(scale * torch.randn(n_visible, n_hidden))
        rbm.visible_bias.copy_(torch.randn(n_visible))
        rbm.hidden_bias.copy_(torch.randn(n_hidden))
    return rbm


def _state_index(states):
    """Row of 0/1 units -> its index in the lexicographic order of ``exact_distribution``."""
    weights = 2 ** torch.arange(states.shape[1] - 1, -1, -1)
    return (states.long() * weights).sum(1)


def test_exact_distribution_is_the_normalised_boltzmann_weight():
    rbm = _tiny_rbm()
    states, p = rbm.exact_distribution()
    assert states.shape == (64, 6) and float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    v, h = states[:, :3], states[:, 3:]
    energy = (
        -(v @ rbm.visible_bias)
        - (h @ rbm.hidden_bias)
        - torch.einsum("ni,ij,nj->n", v, rbm.weight, h)
    )
    expected = torch.exp(-energy.double()) / torch.exp(-energy.double()).sum()
    torch.testing.assert_close(p, expected)


def test_block_gibbs_samples_the_exact_boltzmann_distribution():
    """3 + 3 units: 64 joint states, 40,000 chains of 30 sweeps each; every state's frequency
    must lie within 5 binomial standard deviations of its exact probability."""
    rbm = _tiny_rbm()
    _, p = rbm.exact_distribution()
    n = 40_000
    v, h = rbm.sample(n, steps=30, generator=torch.Generator().manual_seed(1))
    counts = torch.bincount(_state_index(torch.cat([v, h], 1)), minlength=64).double()
    sigma = torch.sqrt(p * (1 - p) / n)
    assert torch.all((counts / n - p).abs() <= 5 * sigma + 1e-4), (counts / n - p) / sigma
    # and the states are far from uniform, so the test can fail
    assert float((p - 1 / 64).abs().max()) > 10 * float(sigma.max())


def test_gibbs_is_reproducible_and_checks_its_arguments():
    rbm = _tiny_rbm()
    a = rbm.sample(5, 3, torch.Generator().manual_seed(2))
    b = rbm.sample(5, 3, torch.Generator().manual_seed(2))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="Gibbs sweep"):
        rbm.gibbs(a[0], 0)
    with pytest.raises(ValueError, match="n_visible"):
        RBM(0, 3)
    with pytest.raises(ValueError, match="<= 20"):
        RBM(11, 10).exact_distribution()


def _sparse_showers(n=400, n_cells=N_CELLS, seed=0):
    rng = np.random.default_rng(seed)
    hit = rng.random((n, n_cells)) < 0.1
    return (hit * rng.exponential(300.0, (n, n_cells))).astype(np.float32)


def test_standardisation_is_invertible_keeps_zeros_and_lifts_hits():
    x = _sparse_showers()
    x[:, 5] = 0.0  # a cell never hit
    x[:, 6] = np.where(x[:, 6] > 0, 42.0, 0.0)  # a cell whose hits are all equal (std 0)
    scaler = CellStandardiser.fit(x, epsilon=0.01)
    y = scaler(torch.tensor(x))
    assert torch.all(y[torch.tensor(x) == 0] == 0)
    assert float(y[torch.tensor(x) > 0].min()) == pytest.approx(0.01, rel=1e-4)
    assert float(y[:, 6].max()) == pytest.approx(0.01, rel=1e-4)
    hits = torch.tensor(x[:, 7] > 0)
    assert float(y[hits, 7].std()) == pytest.approx(1.0, rel=0.05)  # standardised hits
    torch.testing.assert_close(scaler.inverse(y), torch.tensor(x), rtol=1e-5, atol=1e-3)
    rebuilt = CellStandardiser(N_CELLS, scaler.to_config())
    torch.testing.assert_close(rebuilt(torch.tensor(x)), y)


def test_standardisation_inverse_clips_at_zero_and_rejects_bad_input():
    scaler = CellStandardiser.fit(np.array([[0.001], [10.0], [0.0]]))
    assert float(scaler.inverse(torch.tensor([[1e-6]]))[0, 0]) == 0.0  # below the fitted minimum
    assert float(scaler.inverse(torch.tensor([[-1.0]]))[0, 0]) == 0.0  # "empty"
    with pytest.raises(ValueError, match="energies >= 0"):
        CellStandardiser.fit(np.array([[-1.0]]))
    with pytest.raises(ValueError, match="expected \\(mean, std, shift\\)"):
        CellStandardiser(3, ((0.0,), (1.0,), (0.0,)))


def test_flatten_and_split_round_trip_in_calogan_order():
    x = np.arange(2 * N_CELLS, dtype=np.float32).reshape(2, N_CELLS)
    layers = split_layers(x)
    assert layers["layer_0"][1, 2, 95] == x[1, 287] and layers["layer_2"][0, 0, 0] == x[0, 432]
    np.testing.assert_array_equal(flatten_layers(layers), x)
    with pytest.raises(ValueError, match="504"):
        split_layers(np.zeros((2, 500)))


def test_hard_relaxed_bernoulli_is_bernoulli_and_relaxed_one_is_smooth():
    logits = torch.full((200_000,), 0.7)
    hard = relaxed_bernoulli(logits, 0.2, hard=True, generator=torch.Generator().manual_seed(0))
    p = 1 / (1 + math.exp(-0.7))
    assert float(hard.mean()) == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / len(logits)))
    logits = torch.zeros(1000, requires_grad=True)
    soft = relaxed_bernoulli(logits, 0.2, hard=False, generator=torch.Generator().manual_seed(0))
    assert torch.all((soft >= 0) & (soft <= 1)) and ((soft - 0.5).abs() > 0.4).float().mean() > 0.5
    soft.sum().backward()
    assert torch.all(logits.grad >= 0) and float(logits.grad.mean()) > 0


def test_table_2_architectures():
    assert ARCHITECTURES["IV"]["encoder_hidden"] == (500, 450, 400, 350, 300)
    sizes = {name: (c["n_levels"], c["n_latent"]) for name, c in ARCHITECTURES.items()}
    assert sizes == {"I": (2, 64), "II": (4, 128), "III": (4, 128), "IV": (6, 150)}
    model = DVAE(architecture("IV", scale=0.1))
    assert model.prior.n_visible == model.prior.n_hidden == 6 * 16 // 2
    assert architecture("II").decoder_hidden == (200, 300, 350, 400)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_levels": 3, "n_latent": 3}, "odd"),
        ({"tau_z": 0.0}, "tau_z"),
        ({"encoder_hidden": ()}, "encoder_hidden"),
        ({"anneal_fraction": 2.0}, "anneal_fraction"),
        ({"standardisation": ((0.0,), (1.0,), (0.0,))}, "standardisation"),
        ({"negative_phase": "cd"}, "negative_phase"),
        ({"rbm_visible_bias": math.nan}, "rbm_visible_bias"),
    ],
)
def test_bad_configs_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DVAEConfig(**kwargs)


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="'V'"):
        architecture("V")


def test_kl_weight_anneals_linearly_then_stays():
    model = DVAE(architecture("I", scale=0.05, beta=0.5, anneal_fraction=0.3))
    weights = []
    for fraction in (0.0, 0.15, 0.3, 0.9):
        model.set_progress(fraction)
        weights.append(model.kl_weight)
    assert weights == pytest.approx([0.0, 0.25, 0.5, 0.5])


def test_rbm_gradient_is_positive_minus_negative_phase():
    """d loss / d a = γ (⟨v⟩_chains - ⟨ζ_v⟩_posterior) for the visible biases (GumBolt)."""
    config = architecture(
        "I", scale=0.05, n_chains=64, gibbs_steps_train=1, negative_phase="persistent"
    )
    model = DVAE(config).train()
    x = torch.tensor(_sparse_showers(16))
    e = torch.linspace(1.0, 100.0, 16)
    torch.manual_seed(3)
    model.loss((x, e)).backward()  # moves the persistent chains to the states it used
    torch.manual_seed(3)  # replay the posterior samples of that loss call
    with torch.no_grad():
        _, zeta = model.encode(model.standardiser(x), model._condition(e, 16), hard=False)
    half = config.n_units // 2
    expected = model.kl_weight * (model.chains.mean(0) - zeta[:, :half].mean(0))
    torch.testing.assert_close(model.prior.visible_bias.grad, expected, rtol=1e-4, atol=1e-5)


def test_reference_negative_phase_restarts_its_chains_and_biases_start_at_half():
    """The reference code's default: fresh Bernoulli(1/2) chains each step (the stored chains
    stay put), visible biases 0.5, hidden biases 0."""
    model = DVAE(architecture("I", scale=0.05, n_chains=32)).train()
    assert model.config.negative_phase == "restart" and model.config.gibbs_steps_train == 40
    assert torch.all(model.prior.visible_bias == 0.5) and torch.all(model.prior.hidden_bias == 0)
    before = model.chains.clone()
    model.loss((torch.tensor(_sparse_showers(8)), torch.linspace(1.0, 100.0, 8))).backward()
    assert torch.equal(model.chains, before)
    assert model.prior.visible_bias.grad is not None


def test_reconstruction_and_sweeps_of_the_prior():
    """encode→decode gives showers of the input's shape; the sweeps of generation can be set."""
    model = DVAE(architecture("I", scale=0.05)).eval()
    x, e = _sparse_showers(6), np.linspace(1.0, 100.0, 6).astype(np.float32)
    assert pipeline.reconstruct(model, x, e, 0).shape == (6, N_CELLS)
    assert sample(model, 6, e, 1, gibbs_steps=1000).shape == (6, N_CELLS)
    check = pipeline.non_showering_check(model, x, e, (1, 5), 0)
    assert list(check) == ["truth", "reconstruction", "prior, 1 sweeps", "prior, 5 sweeps"]
    assert all(0 <= v <= 1 for v in check.values())


def test_sample_checks_the_condition_and_is_reproducible():
    model = DVAE(architecture("I", scale=0.05)).eval()
    with pytest.raises(ValueError, match="incident energies"):
        model.sample(3, torch.ones(4))
    a = model.sample(3, torch.full((3,), 150.0), generator=torch.Generator().manual_seed(0))
    assert a.shape == (3, N_CELLS) and a.dtype == torch.float32 and torch.all(a >= 0)


def test_a_tiny_dvae_learns_the_energy_scale_and_the_hit_pattern():
    """8 cells; cells 0-3 share the incident energy (1:2:3:4), cells 4-7 are never hit."""
    rng = np.random.default_rng(0)
    energy = rng.uniform(1.0, 100.0, 1000).astype(np.float32)
    pattern = np.array([1, 2, 3, 4, 0, 0, 0, 0], np.float32) / 10
    cells = 1000.0 * energy[:, None] * pattern * rng.uniform(0.9, 1.1, (1000, 1)).astype(np.float32)
    scaler = CellStandardiser.fit(cells)
    config = DVAEConfig(
        n_cells=8,
        encoder_hidden=(32,),
        decoder_hidden=(32, 32),
        n_levels=2,
        n_latent=4,
        standardisation=scaler.to_config(),
    )
    torch.manual_seed(0)
    model = DVAE(config)
    data = (torch.tensor(cells), torch.tensor(energy))
    fit(model, data, config=FitConfig(epochs=10, batch_size=50, lr=3e-3), progress=False)
    requested = torch.tensor([10.0, 50.0, 90.0]).repeat_interleave(200)
    samples = model.sample(600, requested, generator=torch.Generator().manual_seed(1))
    total = samples.sum(1).reshape(3, 200).mean(1) / 1000  # GeV
    torch.testing.assert_close(total, torch.tensor([10.0, 50.0, 90.0]), rtol=0.15, atol=1.5)
    assert float((samples[:, 4:] > 0).float().mean()) < 0.02
    assert float((samples[:, :4] > 0).float().mean()) > 0.9


def test_sampled_mask_shrinks_uncertain_cells_and_the_true_mask_does_not():
    """4 cells, each hit with probability 1/2 by U[50, 150] MeV, independent of everything; a
    large KL weight keeps the latents uninformative. With the paper's sampled mask the MSE-optimal
    energy output is p times the mean hit value (in standardised units), so generated hits are
    too soft; with the shower's own hit pattern in the MSE they are not."""
    rng = np.random.default_rng(0)
    cells = ((rng.random((1000, 4)) < 0.5) * rng.uniform(50, 150, (1000, 4))).astype(np.float32)
    data = (torch.tensor(cells), torch.full((1000,), 50.0))
    scaler = CellStandardiser.fit(cells)
    mean_hit = {}
    for mask in ("sampled", "true"):
        config = DVAEConfig(
            n_cells=4,
            encoder_hidden=(16,),
            decoder_hidden=(16, 16),
            n_levels=1,
            n_latent=2,
            beta=10.0,
            leaky_slope=0.02,
            mask_in_loss=mask,
            standardisation=scaler.to_config(),
        )
        torch.manual_seed(0)
        model = DVAE(config)
        fit(model, data, config=FitConfig(epochs=10, batch_size=50, lr=3e-3), progress=False)
        samples = model.sample(2000, torch.full((2000,), 50.0), torch.Generator().manual_seed(1))
        mean_hit[mask] = float(samples[samples > 0].mean())
    assert mean_hit["true"] == pytest.approx(100.0, rel=0.05)
    assert mean_hit["sampled"] < 85.0
    with pytest.raises(ValueError, match="mask_in_loss"):
        DVAEConfig(mask_in_loss="oracle")


def _write_showers(path, energy_scale=1.0, n=40):
    """A tiny CaloGAN-layout file; ``energy_scale`` changes only the incident energies."""
    rng = np.random.default_rng(0)
    layers = {
        name: ((rng.random((n, *shape)) < 0.2) * rng.exponential(100.0, (n, *shape)))
        for name, shape in CALOGAN_LAYERS.items()
    }
    write_calogan(path, layers, energy_scale * rng.uniform(1.0, 100.0, n))


def test_an_edited_user_file_retrains_the_model(data_root, tmp_path):
    """The model key holds the file's SHA-256, not its path: after the incident energies are
    rewritten (same cells, so the same standardisation and config) the model is rebuilt."""
    path = tmp_path / "showers.h5"
    _write_showers(path)

    def model():
        showers = Showers.load(Source(path=str(path)), split_seed=1)
        config = configure(showers, "I", scale=0.02, n_chains=8, gibbs_steps_sample=2)
        return trained(config, FitConfig(epochs=1, batch_size=16), showers, device="cpu")[0]

    def stored():
        return sorted((data_root / "models" / "dvae").glob("*.pt"))

    first = model()
    assert len(stored()) == 1
    model()
    assert len(stored()) == 1, "unchanged bytes must load the stored model"
    _write_showers(path, energy_scale=0.5)
    second = model()
    assert len(stored()) == 2, "an edited file must retrain, not load the stale model"
    assert first.config == second.config
    assert sample(first, 4, 50.0, 0).shape == (4, N_CELLS)


def test_energy_response_bias_width_and_table():
    """Truth E_tot exactly 50 GeV; the model's 40 or 60 GeV: mean bias 0, σ/mean 0.2."""
    truth = np.zeros((4, N_CELLS), np.float32)
    truth[:, 0] = 50e3
    model = truth.copy()
    model[:, 0] = [40e3, 60e3, 40e3, 60e3]
    response = EnergyResponse({("truth", 50.0): truth, ("DVAE", 50.0): model}, (50.0,))
    assert response.labels == ["truth", "DVAE"]
    assert response.bias("DVAE", (50.0,)) == pytest.approx((0.0,))
    assert response.relative_width("DVAE", 50.0) == pytest.approx(0.2)
    (row,) = response.rows()
    assert row["DVAE / truth mean"] == pytest.approx(1.0) and row["truth width [GeV]"] == 0.0
    assert np.isnan(response.total("other", 50.0)).all()
