"""CaloDVAE: a GumBolt discrete VAE with an RBM prior, hierarchical posterior and output masking."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from calopaper.models.dvae.preprocessing import N_CELLS, CellStandardiser
from calopaper.models.dvae.rbm import RBM, uniform

__all__ = [
    "ARCHITECTURES",
    "DVAE",
    "DVAEConfig",
    "MASKS",
    "NEGATIVE_PHASES",
    "architecture",
    "relaxed_bernoulli",
]

#: What multiplies the energy head in the training MSE: "sampled" is the paper's relaxed mask
#: x_m drawn from the hit head; "true" is the shower's own hit pattern 1[x > 0].
MASKS = ("sampled", "true")

#: Where the RBM samples of the negative phase come from: "restart" draws fresh chains from
#: Bernoulli(1/2) visible states every step (the reference code's paper state, 40 sweeps);
#: "persistent" carries ``n_chains`` chains over from step to step (PCD, Tieleman 2008).
NEGATIVE_PHASES = ("restart", "persistent")

#: calodvae Table 2: encoder and decoder hidden widths, hierarchy levels, latent nodes per level.
ARCHITECTURES: dict[str, dict] = {
    "I": {
        "encoder_hidden": (400, 300, 200),
        "decoder_hidden": (200, 300, 400),
        "n_levels": 2,
        "n_latent": 64,
    },
    "II": {
        "encoder_hidden": (400, 350, 300, 200),
        "decoder_hidden": (200, 300, 350, 400),
        "n_levels": 4,
        "n_latent": 128,
    },
    "III": {
        "encoder_hidden": (400, 350, 300, 250, 200),
        "decoder_hidden": (200, 250, 300, 350, 400),
        "n_levels": 4,
        "n_latent": 128,
    },
    "IV": {
        "encoder_hidden": (500, 450, 400, 350, 300),
        "decoder_hidden": (300, 350, 400, 450, 500),
        "n_levels": 6,
        "n_latent": 150,
    },
}

#: Logits are clamped to this magnitude (the reference code's ±88, where exp overflows float32).
_LOGIT_LIMIT = 88.0


@dataclass(frozen=True)
class DVAEConfig:
    """Everything that defines a CaloDVAE (calodvae §2.3, App. 6.4; GumBolt objective).

    Attributes:
        n_cells: cells per shower (504 for the flattened CaloGAN layers).
        encoder_hidden: hidden widths of each hierarchy level's encoder MLP (ReLU).
        decoder_hidden: hidden widths of the decoder; all but the last form the shared trunk, the
            last is the first layer of each of the two heads (hit logits, energies).
        n_levels: hierarchy levels of the approximate posterior q(z_k | z_<k, x, e).
        n_latent: binary latent units per level; the RBM has n_levels * n_latent / 2 units on
            each side.
        tau_z: Gumbel/concrete temperature of the relaxed latents in training (paper: 1/5..1/9).
        tau_xm: temperature of the relaxed output mask x_m in training.
        beta: KL weight reached at the end of the annealing (1 = the ELBO).
        anneal_fraction: the KL weight grows linearly from 0 to ``beta`` over this fraction of
            the training steps (reference code: 0.3).
        energy_scale: the incident energy enters encoder and decoder as e / energy_scale; the
            default 1 GeV concatenates the raw energy in GeV as the paper and reference code.
        leaky_slope: negative slope of the energy head's output activation in training; 0 is the
            paper's ReLU, whose cells can die (an output negative for every shower gets no
            gradient again and the cell is never hit). Evaluation and generation always use ReLU.
        mask_in_loss: the mask in the training MSE on x = x_m ⊙ x_e. "sampled" (the paper): x_m
            is the relaxed sample of the hit head, drawn independently of whether the cell is hit
            in the shower, so the MSE-optimal x_e of a cell with hit probability p is about
            p times its mean hit value and uncertain cells come out too soft. "true": x_m is the
            shower's hit pattern, which makes the MSE + BCE the likelihood of a zero-inflated
            model (the hit head then learns from the BCE alone). Generation is the same for both.
        negative_phase: "restart" (fresh chains each step, the reference code) or
            "persistent" (PCD), see :data:`NEGATIVE_PHASES`.
        n_chains: block-Gibbs chains for the negative phase of the RBM gradient (reference: 128).
        gibbs_steps_train: Gibbs sweeps of those chains per training step (reference: 40).
        rbm_visible_bias: initial visible biases of the RBM (reference code: 0.5).
        gibbs_steps_sample: Gibbs sweeps from a random start when generating.
        standardisation: ``CellStandardiser.fit(train_cells).to_config()``, i.e. per-cell
            (mean, std, shift) of calodvae App. 6.1; empty = identity (no standardisation).
    """

    n_cells: int = N_CELLS
    encoder_hidden: tuple[int, ...] = ARCHITECTURES["I"]["encoder_hidden"]
    decoder_hidden: tuple[int, ...] = ARCHITECTURES["I"]["decoder_hidden"]
    n_levels: int = 2
    n_latent: int = 64
    tau_z: float = 1 / 5
    tau_xm: float = 1 / 5
    beta: float = 1.0
    anneal_fraction: float = 0.3
    energy_scale: float = 1.0
    leaky_slope: float = 0.0
    mask_in_loss: str = "sampled"
    negative_phase: str = "restart"
    n_chains: int = 128
    gibbs_steps_train: int = 40
    rbm_visible_bias: float = 0.5
    gibbs_steps_sample: int = 100
    standardisation: tuple = ()

    def __post_init__(self) -> None:
        for name in ("encoder_hidden", "decoder_hidden"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "standardisation", tuple(tuple(s) for s in self.standardisation))
        _validate_config(self)

    @property
    def n_units(self) -> int:
        """All binary latent units, n_levels * n_latent."""
        return self.n_levels * self.n_latent

    def __repr__(self) -> str:  # the standardisation holds 3 x n_cells numbers
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if f.name != "standardisation"
        ]
        state = "fitted" if self.standardisation else "identity"
        return f"DVAEConfig({', '.join(shown)}, standardisation=<{state}>)"


def _validate_config(c: DVAEConfig) -> None:
    """Raise ValueError naming the first invalid field of ``c``."""
    positive_ints = ("n_cells", "n_levels", "n_latent", "n_chains", "gibbs_steps_train")
    for name in (*positive_ints, "gibbs_steps_sample"):
        value = getattr(c, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            msg = f"DVAEConfig.{name}={value!r}; expected a positive int"
            raise ValueError(msg)
    for name in ("encoder_hidden", "decoder_hidden"):
        widths = getattr(c, name)
        if not widths or any(
            isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths
        ):
            msg = f"DVAEConfig.{name}={widths!r}; expected a non-empty tuple of positive ints"
            raise ValueError(msg)
    for name in ("tau_z", "tau_xm", "energy_scale"):
        value = getattr(c, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            msg = f"DVAEConfig.{name}={value!r}; expected a finite number > 0"
            raise ValueError(msg)
    if not 0 <= c.leaky_slope < 1:
        msg = f"DVAEConfig.leaky_slope={c.leaky_slope!r}; expected a slope in [0, 1)"
        raise ValueError(msg)
    if c.negative_phase not in NEGATIVE_PHASES:
        msg = f"DVAEConfig.negative_phase={c.negative_phase!r}; expected one of {NEGATIVE_PHASES}"
        raise ValueError(msg)
    if not math.isfinite(c.rbm_visible_bias):
        msg = f"DVAEConfig.rbm_visible_bias={c.rbm_visible_bias!r}; expected a finite number"
        raise ValueError(msg)
    if c.mask_in_loss not in MASKS:
        msg = f"DVAEConfig.mask_in_loss={c.mask_in_loss!r}; expected one of {MASKS}"
        raise ValueError(msg)
    if not (math.isfinite(c.beta) and c.beta >= 0):
        msg = f"DVAEConfig.beta={c.beta!r}; expected a finite KL weight >= 0"
        raise ValueError(msg)
    if not 0 <= c.anneal_fraction <= 1:
        msg = f"DVAEConfig.anneal_fraction={c.anneal_fraction!r}; expected a fraction in [0, 1]"
        raise ValueError(msg)
    if c.n_units % 2:
        msg = (
            f"n_levels * n_latent = {c.n_units} is odd; the RBM splits the latents into two "
            "equal halves, so it must be even"
        )
        raise ValueError(msg)
    if c.standardisation and (
        len(c.standardisation) != 3 or any(len(s) != c.n_cells for s in c.standardisation)
    ):
        msg = (
            f"DVAEConfig.standardisation has {len(c.standardisation)} rows; expected "
            f"(mean, std, shift) with n_cells={c.n_cells} values each, or ()"
        )
        raise ValueError(msg)


def architecture(name: str, scale: float = 1.0, **overrides) -> DVAEConfig:
    """A ``DVAEConfig`` with the sizes of calodvae Table 2's model ``name`` ("I" ... "IV").

    Args:
        name: the architecture, a key of :data:`ARCHITECTURES`.
        scale: multiplies every hidden width and the latent nodes per level (rounded, >= 1;
            latents rounded to an even count); 1 gives the paper's sizes.
        **overrides: other ``DVAEConfig`` fields (temperatures, standardisation, ...).

    Example:
        >>> c = architecture("I", scale=0.5, tau_z=1 / 7)
        >>> c.encoder_hidden, c.n_levels, c.n_latent
        ((200, 150, 100), 2, 32)
    """
    if name not in ARCHITECTURES:
        msg = f"unknown CaloDVAE architecture {name!r}; expected one of {list(ARCHITECTURES)}"
        raise ValueError(msg)
    if not (math.isfinite(scale) and scale > 0):
        msg = f"architecture scale={scale!r}; expected a number > 0"
        raise ValueError(msg)
    sizes = dict(ARCHITECTURES[name])
    for key in ("encoder_hidden", "decoder_hidden"):
        sizes[key] = tuple(max(1, round(w * scale)) for w in sizes[key])
    sizes["n_latent"] = max(2, 2 * round(sizes["n_latent"] * scale / 2))
    return replace(DVAEConfig(), **sizes, **overrides)


def relaxed_bernoulli(
    logits: Tensor, tau: float, hard: bool, generator: torch.Generator | None = None
) -> Tensor:
    """A Bernoulli(σ(logits)) sample, relaxed by the Gumbel (concrete) trick unless ``hard``.

    With logistic noise L = log u - log(1 - u), u ~ U(0, 1): the relaxed sample is
    σ((logits + L) / tau) (GumBolt, Maddison et al. 2017), differentiable in ``logits``; the hard
    one is 1[logits + L > 0], which is exactly Bernoulli(σ(logits)).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> relaxed_bernoulli(torch.tensor([-50.0, 50.0]), 0.2, hard=True, generator=g)
        tensor([0., 1.])
    """
    u = uniform(tuple(logits.shape), generator, logits.device).clamp(1e-7, 1 - 1e-7)
    noisy = logits + torch.log(u) - torch.log1p(-u)
    return (noisy > 0).to(logits.dtype) if hard else torch.sigmoid(noisy / tau)


def _mlp(sizes: list[int], final_activation: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if final_activation or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DVAE(nn.Module):
    """CaloDVAE (calodvae §2.3, Fig. 1) with the GumBolt objective (Khoshaman & Amin 2018).

    - Encoder: level k's MLP maps [y, e/e_s, ζ_<k] to logits l_k of q(z_k | z_<k, x, e); y is the
      standardised shower (``CellStandardiser``), e the incident energy in GeV. In training the
      latents are relaxed, ζ_k = σ((l_k + L)/τ_z) with logistic noise L; in evaluation they are
      hard Bernoulli samples.
    - Prior: an RBM over all n_levels * n_latent latents, the first half visible, the second half
      hidden (calodvae §2.2).
    - Decoder: a shared trunk maps [z, e/e_s] to x_0, two heads give hit logits and energies;
      the output is x = x_m ⊙ ReLU(x_e) with x_m a relaxed (training) or hard (evaluation)
      Bernoulli(σ(hit logits)) mask ("output masking").
    - Loss (``loss``): Σ_cells (x - y)^2 + Σ_cells BCE(hit logits, 1[y > 0]) + γ KL (x with
      the sampled mask, or with the true hit pattern if ``mask_in_loss="true"``), with the
      GumBolt KL surrogate log q(ζ) + E(ζ) - E(v⁻, h⁻): log q(ζ) = -Σ BCE(l, ζ); E the RBM
      energy; (v⁻, h⁻) block-Gibbs samples (fresh chains each step, or persistent ones),
      whose energy's gradient stands in for ∇ log Z = -⟨∇E⟩_p. γ grows linearly from 0 to
      ``beta`` over ``anneal_fraction`` of training (``set_progress``, called by
      ``training.fit``). Batch means throughout.
    - ``sample``: RBM samples by block Gibbs from a random start, then the decoder.

    Samples are (n, n_cells) float32 MeV, for CaloGAN the flattened layers 3 x 96 + 12 x 12 +
    12 x 6 (``preprocessing.split_layers`` gives them back as images).
    """

    Config = DVAEConfig

    def __init__(self, config: DVAEConfig = DVAEConfig()) -> None:
        super().__init__()
        self.config = c = config
        self.standardiser = CellStandardiser(c.n_cells, c.standardisation)
        self.encoders = nn.ModuleList(
            _mlp([c.n_cells + 1 + k * c.n_latent, *c.encoder_hidden, c.n_latent], False)
            for k in range(c.n_levels)
        )
        *trunk, head = c.decoder_hidden
        self.trunk = _mlp([c.n_units + 1, *trunk], True)
        width = trunk[-1] if trunk else c.n_units + 1
        self.hit_head = _mlp([width, head, c.n_cells], False)
        self.energy_head = _mlp([width, head, c.n_cells], False)
        self.prior = RBM(c.n_units // 2, c.n_units // 2, visible_bias=c.rbm_visible_bias)
        self.register_buffer("chains", (torch.rand(c.n_chains, c.n_units // 2) < 0.5).float())
        self._progress = 1.0

    # -- schedule --------------------------------------------------------------------------

    def set_progress(self, fraction: float) -> None:
        """Tell the model the fraction of training done (drives the KL annealing)."""
        self._progress = float(fraction)

    @property
    def kl_weight(self) -> float:
        """γ = beta * min(progress / anneal_fraction, 1); beta once training is over."""
        c = self.config
        if c.anneal_fraction == 0:
            return c.beta
        return c.beta * min(self._progress / c.anneal_fraction, 1.0)

    # -- networks --------------------------------------------------------------------------

    def _condition(self, energy: Tensor, n: int) -> Tensor:
        device = self.prior.weight.device
        energy = torch.as_tensor(energy, dtype=torch.float32, device=device).reshape(-1)
        if energy.shape != (n,):
            msg = f"incident energies of shape {tuple(energy.shape)}; expected ({n},) in GeV"
            raise ValueError(msg)
        return (energy / self.config.energy_scale)[:, None]

    def encode(
        self, y: Tensor, condition: Tensor, hard: bool, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Hierarchical posterior: (logits, samples), each (N, n_units), levels in order.

        Args:
            y: (N, n_cells) standardised showers.
            condition: (N, 1) e / energy_scale.
            hard: binary samples (evaluation) instead of relaxed ones (training).
        """
        logits, samples = [], []
        for encoder in self.encoders:
            level = encoder(torch.cat([y, condition, *samples], dim=1))
            level = level.clamp(-_LOGIT_LIMIT, _LOGIT_LIMIT)
            logits.append(level)
            samples.append(relaxed_bernoulli(level, self.config.tau_z, hard, generator))
        return torch.cat(logits, dim=1), torch.cat(samples, dim=1)

    def decode(self, z: Tensor, condition: Tensor) -> tuple[Tensor, Tensor]:
        """Decoder heads: (hit logits, energy activations before ReLU), each (N, n_cells)."""
        x0 = self.trunk(torch.cat([z, condition], dim=1))
        return self.hit_head(x0), self.energy_head(x0)

    def _output(self, mask: Tensor, activation: Tensor) -> Tensor:
        """x = x_m ⊙ ReLU(x_e); leaky in training when ``leaky_slope`` > 0."""
        if self.training and self.config.leaky_slope > 0:
            return mask * F.leaky_relu(activation, self.config.leaky_slope)
        return mask * F.relu(activation)

    # -- objective -------------------------------------------------------------------------

    def _negative_phase(self) -> Tensor:
        """RBM visible samples after ``gibbs_steps_train`` sweeps: fresh chains from a random
        start ("restart") or the persistent chains advanced (kept only in training)."""
        c = self.config
        if c.negative_phase == "restart":
            return self.prior.sample(c.n_chains, c.gibbs_steps_train)[0]
        v, _ = self.prior.gibbs(self.chains, c.gibbs_steps_train)
        if self.training:
            self.chains.copy_(v)
        return v

    def loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        """Negative GumBolt objective of a batch (cells (N, n_cells) MeV, energies (N,) GeV)."""
        cells, energy = batch[0], batch[1]
        y = self.standardiser(cells)
        condition = self._condition(energy, len(cells))
        hard = not self.training
        logits, zeta = self.encode(y, condition, hard)
        hit_logits, activation = self.decode(zeta, condition)
        hit = (y > 0).to(y.dtype)
        if self.training and self.config.mask_in_loss == "true":
            mask = hit
        else:
            mask = relaxed_bernoulli(hit_logits, self.config.tau_xm, hard)
        x = self._output(mask, activation)
        reconstruction = ((x - y) ** 2).sum(1).mean()
        hit_loss = F.binary_cross_entropy_with_logits(hit_logits, hit, reduction="none")
        log_q = -F.binary_cross_entropy_with_logits(logits, zeta, reduction="none").sum(1)
        half = self.config.n_units // 2
        positive = self.prior.energy(zeta[:, :half], zeta[:, half:])
        v = self._negative_phase()
        negative = self.prior.energy(v, self.prior.hidden_probability(v).detach())
        kl = log_q.mean() + positive.mean() - negative.mean()
        return reconstruction + hit_loss.sum(1).mean() + self.kl_weight * kl

    # -- generation ------------------------------------------------------------------------

    def _showers(self, z: Tensor, condition: Tensor, generator: torch.Generator | None) -> Tensor:
        """Decode binary latents ``z`` into showers [MeV] with a hard output mask."""
        hit_logits, activation = self.decode(z, condition)
        mask = relaxed_bernoulli(hit_logits, self.config.tau_xm, hard=True, generator=generator)
        return self.standardiser.inverse(self._output(mask, activation)).float()

    @torch.no_grad()
    def reconstruct(
        self, cells: Tensor, energy: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """Encode showers and decode them again: hard posterior samples z ~ q(z | x, e), then
        the decoder, as in generation but with the latents of the encoder instead of the RBM.

        Args:
            cells: (N, n_cells) showers, MeV.
            energy: (N,) incident energies, GeV.

        Returns:
            (N, n_cells) float32 reconstructed showers, MeV.
        """
        condition = self._condition(energy, len(cells))
        _, z = self.encode(self.standardiser(cells), condition, hard=True, generator=generator)
        return self._showers(z, condition, generator)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        cond: Tensor,
        generator: torch.Generator | None = None,
        gibbs_steps: int | None = None,
    ) -> Tensor:
        """Generate ``n`` showers at the incident energies ``cond``.

        Args:
            n: number of showers.
            cond: (n,) incident energies, GeV (any energy; the paper also asks for 150 GeV,
                beyond the 1-100 GeV of training).
            generator: random stream for the Gibbs chains and the output mask; the same seed
                gives the same showers.
            gibbs_steps: Gibbs sweeps from the random start (default ``gibbs_steps_sample``).

        Returns:
            (n, n_cells) float32 cell energies, MeV, >= 0 (CaloGAN: 3 x 96 + 12 x 12 + 12 x 6
            flattened row-major, see ``preprocessing.split_layers``).
        """
        condition = self._condition(cond, n)
        steps = self.config.gibbs_steps_sample if gibbs_steps is None else gibbs_steps
        v, h = self.prior.sample(n, steps, generator)
        return self._showers(torch.cat([v, h], dim=1), condition, generator)
