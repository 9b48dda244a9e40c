"""SAVAE: the self-attention VAE conditioned on the geometry vector [η−, η+, φ−, φ+] (savae §IV).

savae Fig. 3b fixes the outline: an encoder of one self-attention layer over the cells followed
by two dense ReLU layers, a Gaussian latent ``z``, and a decoder of two dense ReLU layers and a
dense sigmoid layer that sees ``z`` concatenated with the geometry vector; cell energies are
log-transformed and scaled to [0, 1]; the loss is ``R + beta * D_KL``. The paper leaves open how
a dense decoder emits a variable number of cells and how attention copes with 2304 cells. Our
choices, which let one network serve any rectangular segmentation:

- **Cells carry their geometry** ``g = (eta, phi, d_eta, d_phi) / length_mm`` (centre and size;
  the networks also see the logarithms of the sizes).
- **Encoder attention over the cells.** The encoder's tokens are a shower's cells ``(x, g)``
  with energy: all of them (``max_tokens=None``; a batch is padded to its largest hit count
  and the padding masked), or only the ``max_tokens`` most energetic ones, whose cost does not
  grow with the number of cells. The geometry vector joins the pooled attention output before
  the two dense layers.
- **The sigmoid layer's weights come from the cell geometry.** For a fixed segmentation the
  decoder is the paper's: two dense ReLU layers map ``[z, geometry vector]`` to ``h`` and a
  dense sigmoid layer maps ``h`` to one value per cell, ``sigmoid(w_i . h + b_i)``. Here
  ``(w_i, b_i)`` are not free parameters but the output of a small network of ``g_i`` shared by
  all cells, so the decoder has an output for every cell of any grid, seen in training or not.
  One decoder pass costs ``n_cells x hidden`` multiply-adds per shower.
- **The sigmoid gives an energy density.** Its output is the scaled log energy per area
  ``length_mm^2``; the cell energy is that density times the cell's area. A cell twice as large
  then starts from twice the energy, and the network only learns what differs from that (cell
  edges cutting through the shower core), which is what lets it interpolate to unseen cell sizes.
- **Loss.** ``R`` is the squared error of ``x`` summed over the cells of a shower
  (``reconstruction="sum"``, the Gaussian log-likelihood's form) or averaged over them
  (``"mean"``, PyTorch's default ``mse_loss`` reduction; the paper does not state its
  normalisation); ``D_KL`` the KL divergence of the Gaussian posterior from N(0, 1) summed over
  ``z``; both averaged over the batch. With the mean, ``R`` of a 2304-cell shower is 2304 times
  smaller against the same ``D_KL``.
- **Energies.** ``x = log1p(E / e_min) / log1p(e_max / e_min)`` in [0, 1] (``e_max`` = the
  photon energy). The decoder emits the mean of ``x`` given ``z`` (no per-cell noise is
  sampled); a mean of logarithms underweights the sparse, fluctuating cells of the shower's
  tails, and ``e_min`` = 10 MeV keeps the width of such a mean image close to the showers'.
  Generated cells below ``threshold_mev`` are set to zero.

A geometry-specific baseline (savae App. A) is the same model with ``segmentations`` holding
one segmentation (:func:`geometry_specific`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from calopaper.geometry import SAVAE_TRAIN, Segmentation
from calopaper.models.savae.data import N_GEOMETRY, cell_geometry, condition, to_unit

__all__ = ["RECONSTRUCTIONS", "SAVAE", "SAVAEConfig", "geometry_specific", "prepare"]

#: Showers per attention call in ``SAVAE.encode`` (grouped by their number of tokens).
_GROUP = 32
#: How R adds up the squared errors of a shower's cells.
RECONSTRUCTIONS = ("sum", "mean")
#: Showers x cells decoded at once by ``SAVAE.sample`` (bounds the memory of one call).
_SAMPLE_CHUNK = 2**22


@dataclass(frozen=True)
class SAVAEConfig:
    """SAVAE hyperparameters (savae §IV) and our adaptations (module docstring).

    Attributes:
        latent_dim: dimension of the Gaussian latent ``z``.
        hidden: width of the attention embedding and of every dense layer.
        heads: attention heads (``hidden`` must be a multiple).
        beta: weight of the KL term, ``L = R + beta * D_KL`` (savae §IV; paper's optimum 1e-4).
        segmentations: the segmentations trained on (savae Table I), in the papers' notation;
            a single entry makes the geometry-specific baseline of savae App. A.
        max_tokens: the encoder attends over this many most energetic cells of a shower;
            None: over every cell with energy.
        reconstruction: ``"sum"`` or ``"mean"``: how R adds up the squared errors of a shower's
            cells.
        e_min_mev: energy scale of the log transform (MeV).
        e_max_mev: energy mapped to 1 (MeV).
        threshold_mev: generated cells below this energy are set to 0 (MeV).
        length_mm: unit of the cell-geometry features (mm).
        cond_scale: the geometry vector is divided by this before entering the networks.
    """

    latent_dim: int = 16
    hidden: int = 64
    heads: int = 4
    beta: float = 1e-4
    segmentations: tuple[str, ...] = tuple(SAVAE_TRAIN)
    max_tokens: int | None = 64
    reconstruction: str = "mean"
    e_min_mev: float = 10.0
    e_max_mev: float = 65000.0
    threshold_mev: float = 0.1
    length_mm: float = 40.0
    cond_scale: float = 24.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "segmentations", tuple(self.segmentations))
        for name in ("latent_dim", "hidden", "heads", "max_tokens"):
            value = getattr(self, name)
            if name == "max_tokens" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                msg = f"SAVAEConfig.{name} must be a positive integer, got {value!r}"
                raise ValueError(msg)
        if self.reconstruction not in RECONSTRUCTIONS:
            msg = (
                f"SAVAEConfig.reconstruction must be one of {RECONSTRUCTIONS}, "
                f"got {self.reconstruction!r}"
            )
            raise ValueError(msg)
        if self.hidden % self.heads:
            msg = f"SAVAEConfig.hidden={self.hidden} must be a multiple of heads={self.heads}"
            raise ValueError(msg)
        for name in ("beta", "e_min_mev", "e_max_mev", "threshold_mev", "length_mm", "cond_scale"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                msg = f"SAVAEConfig.{name} must be a finite number >= 0, got {value!r}"
                raise ValueError(msg)
        if not 0 < self.e_min_mev < self.e_max_mev or self.length_mm <= 0 or self.cond_scale <= 0:
            msg = (
                "SAVAEConfig needs 0 < e_min_mev < e_max_mev, length_mm > 0 and cond_scale > 0, "
                f"got e_min_mev={self.e_min_mev}, e_max_mev={self.e_max_mev}, "
                f"length_mm={self.length_mm}, cond_scale={self.cond_scale}"
            )
            raise ValueError(msg)
        if not self.segmentations:
            raise ValueError("SAVAEConfig.segmentations is empty; expected e.g. ('48x48',)")
        names = tuple(str(Segmentation.parse(name)) for name in self.segmentations)
        object.__setattr__(self, "segmentations", names)


def geometry_specific(config: SAVAEConfig, segmentation: str) -> SAVAEConfig:
    """The geometry-specific baseline of savae App. A: ``config`` trained on one segmentation.

    Example:
        >>> geometry_specific(SAVAEConfig(), "(24, 24)").segmentations
        ('24x24',)
    """
    return replace(config, segmentations=(segmentation,))


def _pad(array: np.ndarray, k: int, value: float = 0) -> np.ndarray:
    """Pad axis 1 of ``array`` to length ``k`` with ``value``."""
    width = [(0, 0)] * array.ndim
    width[1] = (0, k - array.shape[1])
    return np.pad(array, width, constant_values=value)


def _tokens(flat: np.ndarray, x: np.ndarray, geom: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """The k most energetic cells as tokens (N, k, 5) and their mask (N, k), brightest first."""
    part = np.argpartition(-flat, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(flat, part, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    tokens = np.concatenate([np.take_along_axis(x, top, axis=1)[..., None], geom[top]], axis=-1)
    mask = np.take_along_axis(flat, top, axis=1) > 0
    mask[:, 0] = True  # attention needs one key per shower, even for an empty shower
    return tokens, mask


def prepare(images: Mapping[str, np.ndarray], config: SAVAEConfig) -> tuple[Tensor, ...]:
    """Training tensors for ``SAVAE.loss`` from cell images of the config's segmentations.

    Every shower of every segmentation in ``config.segmentations`` becomes one row.

    Args:
        images: segmentation name -> (N, n_eta, n_phi) or (N, n_cells) energies in MeV; must
            hold every name in ``config.segmentations`` (others are ignored).
        config: the model config (a ``SAVAEConfig``).

    Returns:
        ``(tokens, mask, index, x)``: ``tokens`` (M, K, 5) float32, the ``(x, g)`` of the
        most energetic cells, brightest first (K = ``max_tokens``, or with ``None`` the largest
        number of cells with energy in one shower); ``mask`` (M, K) bool, the non-empty ones
        (the brightest always kept); ``index`` (M,) int64, the row's segmentation as a
        position in ``config.segmentations``; ``x`` (M, C) float32, the scaled energies of all
        cells, zero-padded to the largest grid's C cells. ``M = N x len(segmentations)``.

    Example:
        >>> cfg = SAVAEConfig(segmentations=("2x2", "1x1"), max_tokens=3)
        >>> images = {"2x2": np.array([[[5.0, 0.0], [0.0, 1.0]]]), "1x1": np.ones((1, 1, 1))}
        >>> tokens, mask, index, x = prepare(images, cfg)
        >>> tuple(tokens.shape), mask.tolist(), index.tolist(), tuple(x.shape)
        ((2, 3, 5), [[True, True, False], [True, False, False]], [0, 1], (2, 4))
    """
    missing = [name for name in config.segmentations if name not in images]
    if missing:
        msg = f"images lack segmentations {missing}; expected keys {list(config.segmentations)}"
        raise ValueError(msg)
    n_max = max(Segmentation.parse(name).n_cells for name in config.segmentations)
    flats = {}
    for name in config.segmentations:
        flat = np.asarray(images[name], dtype=np.float64).reshape(len(images[name]), -1)
        n_cells = Segmentation.parse(name).n_cells
        if flat.shape[1] != n_cells:
            msg = f"{name} images have {flat.shape[1]} cells; expected {n_cells}"
            raise ValueError(msg)
        flats[name] = flat
    # Tokens per shower: the max_tokens brightest cells, or (None) every cell with energy.
    n_tokens = config.max_tokens or max(
        1, *(int((f > 0).sum(1).max(initial=0)) for f in flats.values())
    )
    columns = []
    for i, (name, flat) in enumerate(flats.items()):
        x = to_unit(flat, config.e_min_mev, config.e_max_mev).astype(np.float32)
        geom = cell_geometry(name, config.length_mm)
        tokens, mask = _tokens(flat, x, geom, min(n_tokens, flat.shape[1]))
        columns.append(
            (
                _pad(tokens, n_tokens),
                _pad(mask, n_tokens, False),
                np.full(len(flat), i, dtype=np.int64),
                _pad(x, n_max),
            )
        )
    return tuple(torch.from_numpy(np.concatenate(c)) for c in zip(*columns, strict=True))


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """Two dense ReLU layers and a linear output."""
    return nn.Sequential(
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_out),
    )


class SAVAE(nn.Module):
    """The self-attention VAE of savae Fig. 3b for any segmentation (module docstring).

    ``loss(batch)`` takes the tensors of :func:`prepare`; ``sample(n, segmentation)`` returns
    (n, n_eta, n_phi) float32 energies in MeV on the CPU.
    """

    Config = SAVAEConfig

    def __init__(self, config: SAVAEConfig) -> None:
        super().__init__()
        self.config = config
        h, latent = config.hidden, config.latent_dim
        # Encoder: token embedding, one self-attention layer, two dense ReLU layers -> (mu, logvar).
        self.embed = nn.Linear(1 + N_GEOMETRY + 2, h)
        self.qkv = nn.Linear(h, 3 * h)
        self.attention_out = nn.Linear(h, h)
        self.encoder = _mlp(h + 4, h, 2 * latent)
        # Decoder: two dense ReLU layers on [z, cond]; the sigmoid layer's per-cell weights and
        # bias come from the cell-geometry network.
        self.decoder = nn.Sequential(
            nn.Linear(latent + 4, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU()
        )
        self.cell_weights = _mlp(N_GEOMETRY + 2, h, h + 1)
        with torch.no_grad():  # start with nearly empty showers: x = sigmoid(-4) ~ 0.02
            self.cell_weights[-1].bias[-1] = -4.0
        # The training segmentations' geometry, derived from the config (not saved).
        segmentations = [Segmentation.parse(name) for name in config.segmentations]
        n_max = max(s.n_cells for s in segmentations)
        cells = np.zeros((len(segmentations), n_max, N_GEOMETRY), dtype=np.float32)
        for i, segmentation in enumerate(segmentations):
            cells[i, : segmentation.n_cells] = cell_geometry(segmentation, config.length_mm)
        self.n_cells = [s.n_cells for s in segmentations]
        conds = np.stack([condition(s, config.cond_scale) for s in segmentations])
        self.register_buffer("train_cells", torch.from_numpy(cells), persistent=False)
        self.register_buffer("train_cond", torch.from_numpy(conds), persistent=False)

    @staticmethod
    def _geometry_inputs(g: Tensor) -> Tensor:
        """(..., 4) cell geometry -> (..., 6): centre, size and log size (padding: log 1e-6)."""
        return torch.cat([g, torch.log(g[..., 2:].clamp_min(1e-6))], dim=-1)

    def encode(self, tokens: Tensor, mask: Tensor, cond: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance, each (B, latent_dim), from tokens (B, L, 5).

        Tokens are brightest first, so a shower's unmasked tokens come first. Showers are
        attended in groups of similar token counts (``_GROUP`` at a time, fewest first), each
        group cut to its own longest shower, so that the padding costs little when every cell
        with energy is a token.
        """
        counts = mask.sum(1)
        order = torch.argsort(counts)
        pooled = torch.empty(len(tokens), self.config.hidden, device=tokens.device)
        for rows in order.split(_GROUP):
            used = int(counts[rows].max())
            pooled[rows] = self._attend(tokens[rows, :used], mask[rows, :used])
        mu, logvar = self.encoder(torch.cat([pooled, cond], dim=-1)).chunk(2, dim=-1)
        return mu, logvar

    def _attend(self, tokens: Tensor, mask: Tensor) -> Tensor:
        """(B, hidden): one self-attention layer over tokens (B, L, 5), mean over the unmasked."""
        b, length, _ = tokens.shape
        e = self.embed(torch.cat([tokens[..., :1], self._geometry_inputs(tokens[..., 1:])], -1))
        q, k, v = (
            t.reshape(b, length, self.config.heads, -1).transpose(1, 2)
            for t in self.qkv(e).chunk(3, dim=-1)
        )
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        e = e + self.attention_out(attended.transpose(1, 2).reshape(b, length, -1))
        weights = mask.unsqueeze(-1).to(e.dtype)
        return (e * weights).sum(1) / weights.sum(1)

    def decode(self, z: Tensor, cond: Tensor, cells: Tensor) -> Tensor:
        """Scaled energies x of every cell (in [0, 1] for cells up to ``length_mm`` square).

        Args:
            z: (B, latent_dim) latents.
            cond: (B, 4) scaled geometry vectors.
            cells: (C, 4) cell geometry shared by the batch, or (S, C, 4) for S segmentations.

        Returns:
            (B, C) or (B, S, C) values >= 0.
        """
        h = self.decoder(torch.cat([z, cond], dim=-1))
        weights = self.cell_weights(self._geometry_inputs(cells))
        logits = torch.matmul(weights[..., :-1], h.T).movedim(-1, 0) + weights[..., -1]
        # The sigmoid gives the scaled log energy per area length_mm^2; times the cell's area:
        scale = math.log1p(self.config.e_max_mev / self.config.e_min_mev)
        area = cells[..., 2] * cells[..., 3]
        return torch.log1p(torch.expm1(torch.sigmoid(logits) * scale) * area) / scale

    def terms(self, batch: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
        """Reconstruction error R and KL divergence D_KL, each averaged over the batch.

        R is the squared error of x summed (or averaged, ``config.reconstruction``) over the
        cells of each shower's segmentation; D_KL
        that of N(mu, sigma^2) from N(0, 1), summed over the latent dimensions.
        """
        tokens, mask, index, x = batch
        cond = self.train_cond[index]
        mu, logvar = self.encode(tokens, mask, cond)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        squared, summed = z.new_zeros(()), self.config.reconstruction == "sum"
        for i in index.unique().tolist():  # decode each segmentation's showers on its own cells
            rows = index == i
            n_cells = self.n_cells[i]
            x_hat = self.decode(z[rows], cond[rows], self.train_cells[i, :n_cells])
            errors = (x_hat - x[rows, :n_cells]) ** 2
            squared = squared + (errors.sum() if summed else errors.mean(1).sum())
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)
        return squared / len(index), kl.mean()

    def loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        """``R + beta * D_KL`` (savae §IV) on a batch of :func:`prepare` tensors."""
        reconstruction, kl = self.terms(batch)
        return reconstruction + self.config.beta * kl

    @torch.no_grad()
    def sample(
        self,
        n: int,
        cond: Segmentation | str,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Generate ``n`` showers in the segmentation ``cond`` (seen in training or not).

        Args:
            n: number of showers.
            cond: the segmentation (a ``Segmentation`` or the papers' notation, e.g. "24x12").
            generator: CPU torch generator for z ~ N(0, 1).

        Returns:
            (n, n_eta, n_phi) float32 cell energies in MeV, >= 0, on the CPU.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            msg = f"n must be a non-negative integer, got {n!r}"
            raise ValueError(msg)
        segmentation = Segmentation.parse(cond)
        device = self.train_cond.device
        cfg = self.config
        z = torch.randn(n, cfg.latent_dim, generator=generator).to(device)
        return self._generate(z, segmentation)

    def _generate(self, z: Tensor, segmentation: Segmentation) -> Tensor:
        """Decoded energies (B, n_eta, n_phi) MeV on the CPU of latents z (B, latent_dim)."""
        cfg, device = self.config, z.device
        cells = torch.from_numpy(cell_geometry(segmentation, cfg.length_mm)).to(device)
        vector = torch.from_numpy(condition(segmentation, cfg.cond_scale)).to(device)
        chunk = max(1, _SAMPLE_CHUNK // segmentation.n_cells)
        x = [self.decode(part, vector.expand(len(part), 4), cells) for part in z.split(chunk)]
        x = torch.cat(x) if x else z.new_zeros(0, segmentation.n_cells)
        energy = cfg.e_min_mev * torch.expm1(x * math.log1p(cfg.e_max_mev / cfg.e_min_mev))
        energy = torch.where(energy < cfg.threshold_mev, 0.0, energy)
        return energy.reshape(len(z), *segmentation.shape).float().cpu()

    @torch.no_grad()
    def reconstruct(self, images: np.ndarray, cond: Segmentation | str) -> Tensor:
        """Encode showers and decode them at the posterior mean, z = mu (no sampling).

        Args:
            images: (N, n_eta, n_phi) true energies in MeV in the segmentation ``cond``.
            cond: their segmentation (seen in training or not).

        Returns:
            (N, n_eta, n_phi) float32 reconstructed energies, MeV, on the CPU.
        """
        segmentation = Segmentation.parse(cond)
        name, device = str(segmentation), self.train_cond.device
        tokens, mask, _, _ = prepare({name: images}, replace(self.config, segmentations=(name,)))
        vector = torch.from_numpy(condition(segmentation, self.config.cond_scale)).to(device)
        mu = [
            self.encode(t.to(device), m.to(device), vector.expand(len(t), 4))[0]
            for t, m in zip(tokens.split(256), mask.split(256), strict=True)
        ]
        z = torch.cat(mu) if mu else vector.new_zeros(0, self.config.latent_dim)
        return self._generate(z, segmentation)
