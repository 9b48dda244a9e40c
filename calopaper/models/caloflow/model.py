"""CaloFlow-style model (Krause & Shih 2021, as used in supa §5): two conditional zuko flows.

Flow I learns the layer energies given the incident energy E; flow II the normalised voxels
(each layer's cells divided by that layer's energy) given E and the layer energies. A shower
is sampled by drawing the layer energies from flow I, the normalised voxels from flow II, and
scaling each layer to its energy.

Variables (``CaloFlow.encode``), with E in GeV and cells in MeV:

- context c = log10(E / 10 GeV) (from -1 to 1 over 1-100 GeV);
- flow I: y_i = log10((E_i + u_i) / E_MeV) per layer, u_i ~ U[0, 1 MeV) dequantisation, so an
  empty layer is a finite value below log10(1 MeV / E);
- flow II: z = logit(x) per voxel with x = (v / E_i + w) / (1 + δ), w ~ U[0, δ), δ =
  ``noise``: a voxel's share of its layer plus noise, so empty voxels have a density. Given
  flow I's y the normalised voxels are conditioned on [c, y].

Generation undoes this: voxels whose share is below ``threshold`` are set to 0 (CaloFlow's
threshold, in units of the layer energy) and each layer is rescaled to the energy drawn from
flow I, so the layer energies of a sample are flow I's exactly (CaloFlow's renormalisation).
The threshold sits a decade above δ: cut at δ itself, about a tenth of the noise-only voxels of
the book's briefly trained flows crossed it (layer 0 of SUPA came out 13 % occupied instead of
2 %), as the flows cannot separate them sharply from the faintest real deposits. Both flows
standardise their inputs with a data-dependent affine map initialised from the first training
batch (as Glow's ActNorm), stored with the weights.

Departures from CaloFlow, for the 2-core budget: flow II is a coupling flow (zuko's NICE /
RealNVP with affine couplings and alternating masks over the flattened voxels) instead of a
MAF, so that sampling is one pass instead of one pass per voxel; flow I is a rational-quadratic
spline MAF (``zuko.flows.NSF``) as in CaloFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import zuko
from torch import Tensor, nn

__all__ = ["VARIANTS", "CaloFlow", "CaloFlowConfig", "variant"]

#: Smallest share of a layer kept when an empty layer's energy is rebuilt, MeV.
_LAYER_NOISE_MEV = 1.0
_LOG10_E_REF = 1.0  # log10 of 10 GeV


@dataclass(frozen=True)
class CaloFlowConfig:
    """Sizes of a CaloFlow-style model.

    Attributes:
        layer_sizes: cells per layer, in layer order (CaloGAN: (288, 144, 72)).
        transforms_energy: spline transforms of flow I (layer energies).
        hidden_energy: hidden units per layer of flow I's networks.
        bins: spline bins of flow I.
        transforms_voxels: affine coupling transforms of flow II (normalised voxels).
        hidden_voxels: hidden units per layer of flow II's coupling networks.
        depth: hidden layers of every network.
        noise: δ, the dequantisation noise of a voxel's share of its layer energy.
        threshold: generated voxels whose share of their layer energy is below this are set
            to 0 (>= ``noise``).
    """

    layer_sizes: tuple[int, ...] = (288, 144, 72)
    transforms_energy: int = 4
    hidden_energy: int = 64
    bins: int = 8
    transforms_voxels: int = 6
    hidden_voxels: int = 256
    depth: int = 2
    noise: float = 1e-5
    threshold: float = 1e-4

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_sizes", tuple(int(n) for n in self.layer_sizes))
        counts = ("transforms_energy", "hidden_energy", "bins", "transforms_voxels")
        counts += ("hidden_voxels", "depth")
        bad = [name for name in counts if int(getattr(self, name)) < 1]
        if not self.layer_sizes or min(self.layer_sizes) < 1:
            bad.append("layer_sizes")
        if not 0 < self.noise < 0.01:
            bad.append("noise")
        if not self.noise <= self.threshold < 0.1:
            bad.append("threshold")
        if bad:
            msg = f"CaloFlowConfig fields {bad} are invalid in {self!r}; expected counts >= 1, "
            msg += "non-empty layer_sizes, 0 < noise < 0.01 and noise <= threshold < 0.1"
            raise ValueError(msg)

    @property
    def n_voxels(self) -> int:
        """Cells of all layers together."""
        return sum(self.layer_sizes)

    @property
    def n_layers(self) -> int:
        """Readout layers."""
        return len(self.layer_sizes)


#: Capacity variants 1 (largest) ... 10 (smallest) of supa Fig. 6: (transforms and hidden units
#: of flow II, transforms and hidden units of flow I). The paper trains all ten; label numbers
#: increase as capacity decreases.
VARIANTS = {
    1: (8, 256, 6, 64),
    2: (8, 128, 6, 64),
    3: (6, 128, 4, 64),
    4: (6, 64, 4, 32),
    5: (4, 64, 4, 32),
    6: (4, 32, 3, 32),
    7: (3, 32, 3, 16),
    8: (2, 32, 2, 16),
    9: (2, 16, 2, 8),
    10: (2, 8, 1, 8),
}


def variant(k: int, layer_sizes: tuple[int, ...] = (288, 144, 72), **fields) -> CaloFlowConfig:
    """The capacity variant ``k`` of :data:`VARIANTS` (1 = largest) for these layers.

    Example:
        >>> variant(10, (144,)).hidden_voxels
        8
    """
    if k not in VARIANTS:
        msg = f"unknown CaloFlow variant {k!r}; expected one of {list(VARIANTS)}"
        raise ValueError(msg)
    t2, h2, t1, h1 = VARIANTS[k]
    base = CaloFlowConfig(layer_sizes, t1, h1, 8, t2, h2)
    return replace(base, **fields)


def _sample(distribution, shape: tuple, generator: torch.Generator | None, device) -> Tensor:
    """Draw from a zuko flow with a standard-normal base, the base draws from ``generator``."""
    eps = torch.randn(shape, generator=generator).to(device)
    return distribution.transform.inv(eps)


class _Standardise(nn.Module):
    """x -> (x - mean) / std per feature, the statistics taken from the first batch it sees."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))
        self.register_buffer("ready", torch.zeros((), dtype=torch.bool))

    def initialise(self, x: Tensor) -> None:
        if not bool(self.ready):
            self.mean.copy_(x.mean(0).detach())
            self.std.copy_(x.std(0).detach().clamp_min(1e-3) if len(x) > 1 else self.std)
            self.ready.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def inverse(self, x: Tensor) -> Tensor:
        return x * self.std + self.mean

    def log_det(self) -> Tensor:
        """log |d(standardised)/dx|, summed over features."""
        return -torch.log(self.std).sum()


class CaloFlow(nn.Module):
    """Flow I (layer energies | E) and flow II (normalised voxels | E, layer energies).

    ``loss((cells, energy))`` is the mean negative log-likelihood per shower in the flows'
    variables (module docstring); ``sample(n, cond)`` returns (n, n_voxels) cells in MeV.
    """

    Config = CaloFlowConfig

    def __init__(self, config: CaloFlowConfig) -> None:
        super().__init__()
        self.config = config
        n_layers, n_voxels, depth = config.n_layers, config.n_voxels, config.depth
        self.energy_flow = zuko.flows.NSF(
            n_layers,
            1,
            bins=config.bins,
            transforms=config.transforms_energy,
            hidden_features=[config.hidden_energy] * depth,
        )
        self.voxel_flow = zuko.flows.NICE(
            n_voxels,
            1 + n_layers,
            transforms=config.transforms_voxels,
            hidden_features=[config.hidden_voxels] * depth,
        )
        self.energy_scale = _Standardise(n_layers)
        self.voxel_scale = _Standardise(n_voxels)
        self.register_buffer("layer_index", torch.repeat_interleave(
            torch.arange(n_layers), torch.tensor(config.layer_sizes)
        ))  # fmt: skip

    # ---------------------------------------------------------------- variables
    def encode(
        self, cells: Tensor, energy: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(cells [MeV] (N, n_voxels), E [GeV] (N,)) -> context c (N, 1), y (N, L), z (N, V).

        Draws the dequantisation noise (from ``generator`` when given).
        """
        cells = cells.to(torch.float32)
        n = len(cells)
        e_mev = energy.to(torch.float32).reshape(n, 1) * 1000.0
        c = torch.log10(e_mev / 1000.0) - _LOG10_E_REF
        layers = torch.zeros(n, self.config.n_layers, device=cells.device)
        layers.index_add_(1, self.layer_index, cells)
        u = torch.rand(layers.shape, generator=generator, device=cells.device)
        y = torch.log10((layers + _LAYER_NOISE_MEV * u) / e_mev)
        share = cells / layers[:, self.layer_index].clamp_min(1e-12)
        w = torch.rand(cells.shape, generator=generator, device=cells.device)
        x = (share + self.config.noise * w) / (1 + self.config.noise)
        x = x.clamp(1e-7, 1 - 1e-7)
        z = torch.log(x) - torch.log1p(-x)
        return c, y, z

    def _log_prob(self, c: Tensor, y: Tensor, z: Tensor) -> Tensor:
        ys, zs = self.energy_scale(y), self.voxel_scale(z)
        log_p1 = self.energy_flow(c).log_prob(ys) + self.energy_scale.log_det()
        context = torch.cat([c, ys], dim=1)
        log_p2 = self.voxel_flow(context).log_prob(zs) + self.voxel_scale.log_det()
        return log_p1 + log_p2

    def loss(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """Mean NLL per shower of a batch (cells (B, n_voxels) MeV, energy (B,) GeV)."""
        c, y, z = self.encode(*batch)
        if self.training:
            self.energy_scale.initialise(y)
            self.voxel_scale.initialise(z)
        return -self._log_prob(c, y, z).mean()

    @torch.no_grad()
    def log_prob(
        self, cells: Tensor, energy: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """(N,) log-density per shower in the flows' variables (nats), one noise draw."""
        return self._log_prob(*self.encode(cells, energy, generator))

    # ---------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(self, n: int, cond: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``n`` showers at incident energies ``cond`` (n,) GeV -> (n, n_voxels) MeV, >= 0.

        The standard-normal base draws come from ``generator`` (CPU), so the same seed gives the
        same showers.
        """
        device = self.layer_index.device
        e_mev = cond.to(device, torch.float32).reshape(n, 1) * 1000.0
        c = torch.log10(e_mev / 1000.0) - _LOG10_E_REF
        ys = _sample(self.energy_flow(c), (n, self.config.n_layers), generator, device)
        layers = 10 ** self.energy_scale.inverse(ys) * e_mev
        layers = torch.where(layers < _LAYER_NOISE_MEV, torch.zeros_like(layers), layers)
        context = torch.cat([c, ys], dim=1)
        zs = _sample(self.voxel_flow(context), (n, self.config.n_voxels), generator, device)
        x = torch.sigmoid(self.voxel_scale.inverse(zs)) * (1 + self.config.noise)
        x = torch.where(x < self.config.threshold, torch.zeros_like(x), x)
        totals = torch.zeros_like(layers).index_add_(1, self.layer_index, x)
        share = x / totals[:, self.layer_index].clamp_min(1e-12)
        return share * layers[:, self.layer_index]

    @property
    def n_parameters(self) -> int:
        """Learnable parameters of both flows."""
        return sum(p.numel() for p in self.parameters())
