"""GAAM: one geometry-aware MADE per calorimeter layer over the spiral cell order (gaam §4).

Design (gaam §4.1-4.3, with the choices the paper leaves open):

- **Sequence.** A layer image is flattened along ``Segmentation.spiral_order()`` (gaam §4.3,
  App. A) and each energy is preprocessed as x = round(sqrt(E / MeV)), a class in 0..N with N
  the smallest integer above the largest transformed training energy; the model is a
  categorical over these N + 1 classes per cell (softmax), trained by negative log-likelihood.
- **One model, many segmentations.** The MADE has a fixed number of positions, ``length`` (the
  most cells of any training segmentation), and every segmentation of the layer is a sequence
  of its ``n_cells`` cells padded to ``length``. Each position carries the features of *its*
  cell: the energy and, for GAAM, the cell size (log2 of Δη and Δφ over 20 mm) and a "cell
  exists" flag. MADE's degrees make the output at position k depend on the energies of
  positions < k and the sizes of positions <= k only, so padding never reaches a real cell and
  the loss simply skips padded positions. An unseen segmentation is just another sequence of
  cell sizes, so the same weights generate it (interpolation and extrapolation alike); one with
  more than ``length`` cells gets zero energy beyond spiral position ``length``.
- **Architecture** (see :class:`GAAM`). Masked fully-connected hidden layers with GELU (one for
  the inner layer, five for the middle and outer layers, gaam §4.1), a masked per-position
  readout, a causal 1-D convolution over the preceding cells and a direct connection from the
  cell's own size give ``channels`` features per position; one linear map shared by all
  positions turns them into the N + 1 logits. Hidden-unit degrees are log-spaced over the
  positions, so most units serve the shower core at the start of the spiral.
- **Generation** (gaam §4.1). The first (central) cell's energy is either given (the paper's
  "known prior": the pipeline draws it from the training showers regrouped into the
  segmentation, seen in training or not) or drawn from the model's own first conditional
  p(x_0 | Δη_0, Δφ_0);
  the remaining cells follow in spiral order, all showers of a batch at once. The first masked
  layer is updated incrementally as cells are drawn, so a step costs one pass through the
  other hidden layers and one output position, not a whole MADE pass.
- **Baseline** (gaam §4.2). ``GAAMConfig(conditional=False)`` is the unconditional ARM: the
  same network without the cell-size features.

The layer data live in ``gaam.data``, the cached training and sampling in ``gaam.pipeline``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from calopaper.geometry import Segmentation

__all__ = [
    "EMPTY_LOGIT",
    "GAAM",
    "N_CONDITION",
    "SIZE_REFERENCE",
    "GAAMConfig",
    "MaskedLinear",
    "hidden_degrees",
    "to_classes",
]

#: Reference cell size of the size features, mm: a feature is log2(size / SIZE_REFERENCE).
SIZE_REFERENCE = 20.0


def to_classes(energy: Tensor | np.ndarray, n_classes: int) -> Tensor:
    """gaam §4.3 preprocessing: x = round(sqrt(E / MeV)), clipped to the last class.

    Args:
        energy: cell energies, MeV, any shape.
        n_classes: N + 1.

    Returns:
        int64 classes of the same shape, in 0..N.

    Example:
        >>> to_classes(np.array([0.0, 0.2, 0.3, 16.0, 1e6]), n_classes=10).tolist()
        [0, 0, 1, 4, 9]
    """
    x = torch.sqrt(torch.as_tensor(energy, dtype=torch.float32).clamp(min=0.0))
    return torch.round(x).long().clamp(max=n_classes - 1)


def hidden_degrees(n_units: int, length: int) -> np.ndarray:
    """MADE degrees of a hidden layer, log-spaced over the positions 0..length-1.

    Unit j gets degree round(length^(j / n_units)) - 1, so the first positions of the spiral
    (the shower core) are served by most units. Every degree is in [0, length - 1].

    Example:
        >>> hidden_degrees(8, 16).tolist()
        [0, 0, 1, 2, 3, 5, 7, 10]
    """
    return np.round(length ** (np.arange(n_units) / n_units)).astype(np.int64) - 1


@dataclass(frozen=True)
class GAAMConfig:
    """Architecture of one layer's ARM (gaam §4.1); JSON-able, the model's store key.

    ``length`` and ``n_classes`` follow from the training data (``LayerData.length`` and
    ``LayerData.n_classes``); a config that leaves them at 0 describes the architecture only,
    and ``gaam.trained`` fills them in before it builds the model.

    Attributes:
        length: positions of the MADE, i.e. cells along the spiral it generates; a segmentation
            with more cells gets zero energy beyond (0 = from the training data).
        n_classes: N + 1 energy classes of x = round(sqrt(E / MeV)) (0 = from the training data).
        hidden: widths of the hidden masked layers (gaam §4.1: one for the inner layer, five
            for the middle and outer layers).
        channels: features per position before the output layer.
        kernel: cells before the current one seen by the causal 1-D convolution.
        conditional: condition on the cell sizes (GAAM); False is the unconditional ARM.
        empty_fraction: in training, the fraction of empty cells (x = 0) whose log-likelihood
            term is evaluated, each weighted by 1 / empty_fraction: an unbiased estimate of the
            NLL that skips most of the many empty cells (1.0 = every cell, as in the paper).
    """

    length: int = 0
    n_classes: int = 0
    hidden: tuple[int, ...] = (64,) * 5
    channels: int = 8
    kernel: int = 8
    conditional: bool = True
    empty_fraction: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in ("channels", "kernel"):
            if getattr(self, name) < 1:
                msg = f"GAAMConfig.{name} must be >= 1, got {getattr(self, name)!r}"
                raise ValueError(msg)
        if self.length < 0:
            msg = f"GAAMConfig.length must be >= 1 (or 0: from the data), got {self.length}"
            raise ValueError(msg)
        if self.n_classes < 0 or self.n_classes == 1:
            msg = (
                f"GAAMConfig.n_classes must be >= 2 (N + 1 energy classes; 0: from the data), "
                f"got {self.n_classes}"
            )
            raise ValueError(msg)
        if not 0 < self.empty_fraction <= 1:
            msg = f"GAAMConfig.empty_fraction must be in (0, 1], got {self.empty_fraction!r}"
            raise ValueError(msg)
        if not self.hidden or any(h < 1 for h in self.hidden):
            msg = f"GAAMConfig.hidden needs at least one width >= 1, got {self.hidden}"
            raise ValueError(msg)


class _CategoricalNLL(torch.autograd.Function):
    """sum_i w_i (logsumexp(logits_i) - logits_i[target_i]); twice as fast as cross_entropy's
    backward on a CPU, which dominates training (one softmax over N + 1 classes per cell)."""

    @staticmethod
    def forward(ctx, logits: Tensor, target: Tensor, weight: Tensor) -> Tensor:
        top = logits.max(dim=-1, keepdim=True).values
        probs = torch.exp(logits - top)
        total = probs.sum(dim=-1, keepdim=True)
        probs /= total
        ctx.save_for_backward(probs, target, weight)
        picked = logits.gather(1, target[:, None])
        return (weight * (top + total.log() - picked)[:, 0]).sum()

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        probs, target, weight = ctx.saved_tensors
        scale = (grad * weight)[:, None]
        out = probs * scale
        out.scatter_add_(1, target[:, None], -scale)
        return out, None, None


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (MADE)."""

    def __init__(self, mask: np.ndarray) -> None:
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float32), persistent=False)

    def masked_weight(self) -> Tensor:
        return self.weight * self.mask

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.masked_weight(), self.bias)


#: Condition features per cell: log2(Δη / 20 mm), log2(Δφ / 20 mm) and "the cell exists".
N_CONDITION = 3
#: Initial output bias of class 0 (empty); with -x / 4 for x >= 1, p(empty) starts at 0.99.
EMPTY_LOGIT = 6.0


class GAAM(nn.Module):
    """One layer's autoregressive model: a conditional MADE over the spiral order (gaam §4).

    The features of position k sum three paths, then GELU and a linear map (shared by all
    positions) give the N + 1 logits:

    - the MADE: masked layers over every position's energy (and cell size), whose masked
      readout lets position k see only energies before k (global context);
    - a causal 1-D convolution over the energies of the ``kernel`` cells just before k (local
      context, which the MADE's few hidden units per position cannot guarantee);
    - for GAAM, a linear map (shared by all positions) of cell k's own size features, a MADE
      direct connection: with fewer hidden units than positions, no hidden unit may have
      degree exactly k, and only such a unit could otherwise pass cell k's size to its output.

    The output bias starts at :data:`EMPTY_LOGIT` for x = 0 and -x / 4 for x >= 1: empty with
    probability 0.99, otherwise a light-tailed p(x). A uniform softmax over some 200 classes
    would put most of the probability on large energies; since E = x^2, an undertrained model's
    energy is very sensitive to that tail, which otherwise scatters spurious deposits over the
    thousands of mostly empty cells.

    ``loss(batch)`` takes ``(energy, sizes)``: energy (B, length) float32 MeV in spiral order,
    zero-padded; sizes (B, length, 2) float32 mm, each cell's (Δη, Δφ), zero for padding.
    ``sample(n, cond)`` returns (n, n_eta, n_phi) float32 MeV.

    Example:
        >>> model = GAAM(GAAMConfig(length=9, n_classes=4, hidden=(8,), channels=2))
        >>> model.sample(2, "3x3", generator=torch.Generator().manual_seed(0)).shape
        torch.Size([2, 3, 3])
    """

    Config = GAAMConfig

    def __init__(self, config: GAAMConfig) -> None:
        super().__init__()
        if config.length == 0 or config.n_classes == 0:
            msg = (
                f"GAAM needs the data's length and n_classes, got {config.length} and "
                f"{config.n_classes}; fill them from LayerData (gaam.trained does)"
            )
            raise ValueError(msg)
        self.config = config
        length, n_features = config.length, 1 + N_CONDITION * config.conditional
        # Input degrees, position-major (k * n_features + f): the energy of cell k has degree
        # k + 1, its size features degree k; output position k has degree k. A unit of degree m
        # sees inputs of degree <= m, and output k sees units of degree <= k, so output k
        # depends on energies at positions < k and sizes at positions <= k.
        in_degree = np.repeat(np.arange(length), n_features)
        in_degree[::n_features] += 1
        out_degree = np.repeat(np.arange(length), config.channels)
        degrees = [in_degree] + [hidden_degrees(h, length) for h in config.hidden] + [out_degree]
        self.layers = nn.ModuleList(
            MaskedLinear((d_out[:, None] >= d_in[None, :]).astype(np.float32))
            for d_in, d_out in zip(degrees, degrees[1:], strict=False)
        )
        self.conv = nn.Conv1d(1, config.channels, kernel_size=config.kernel, bias=False)
        if config.conditional:
            self.direct = nn.Linear(N_CONDITION, config.channels, bias=False)
        self.out = nn.Linear(config.channels, config.n_classes)
        with torch.no_grad():  # start mostly empty and light-tailed, not uniform (see above)
            self.out.bias.copy_(-torch.arange(config.n_classes) / 4.0)
            self.out.bias[0] = EMPTY_LOGIT

    # ----------------------------------------------------------------------------------------
    # features

    def _energy_feature(self, classes: Tensor) -> Tensor:
        """log1p(x) / log1p(N) in [0, 1] for classes x."""
        return torch.log1p(classes.float()) / math.log(self.config.n_classes)

    @staticmethod
    def _condition(sizes: Tensor) -> Tensor:
        """(..., 3) condition features from (..., 2) cell sizes in mm; zeros where Δη = 0."""
        exists = sizes[..., :1] > 0
        log_size = torch.where(exists, torch.log2(sizes.clamp(min=1e-6) / SIZE_REFERENCE), 0.0)
        return torch.cat([log_size, exists.float()], dim=-1)

    def _made_inputs(self, energy: Tensor, condition: Tensor) -> Tensor:
        """(B, length * features) MADE inputs from (B, length) and (B, length, 3) features."""
        if not self.config.conditional:
            return energy
        return torch.cat([energy[..., None], condition], dim=-1).flatten(1)

    def _features(self, classes: Tensor, sizes: Tensor) -> Tensor:
        """(B, length, channels) features of every cell before the GELU: the MADE readout plus
        the causal convolution plus, for GAAM, the cell's own size."""
        energy, condition = self._energy_feature(classes), self._condition(sizes)
        h = self._made_inputs(energy, condition)
        for layer in self.layers[:-1]:
            h = F.gelu(layer(h))
        features = self.layers[-1](h).view(len(h), self.config.length, self.config.channels)
        before = F.pad(energy[:, None], (self.config.kernel, 0))[..., :-1]
        features = features + self.conv(before).transpose(1, 2)
        if self.config.conditional:
            features = features + self.direct(condition)
        return features

    def logits(self, classes: Tensor, sizes: Tensor) -> Tensor:
        """(B, length, n_classes) logits of every cell given the cells before it.

        Args:
            classes: (B, length) int64 energy classes in spiral order.
            sizes: (B, length, 2) float32 mm cell sizes, zero for padding.
        """
        return self.out(F.gelu(self._features(classes, sizes)))

    # ----------------------------------------------------------------------------------------
    # the model protocol

    def loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        """Negative log-likelihood per shower (nats), summed over real cells, mean over showers.

        Args:
            batch: ``(energy, sizes)``: (B, length) MeV in spiral order and (B, length, 2) mm,
                both zero at padded positions (a cell exists where Δη > 0).
        """
        energy, sizes = batch
        classes = to_classes(energy, self.config.n_classes)
        keep = sizes[..., 0] > 0
        weight = torch.ones_like(energy)
        if self.training and self.config.empty_fraction < 1:
            empty = classes == 0
            keep &= ~empty | (torch.rand_like(energy) < self.config.empty_fraction)
            weight = torch.where(empty, 1 / self.config.empty_fraction, 1.0)
        # Only the kept cells go through the output layer and the softmax.
        logits = self.out(F.gelu(self._features(classes, sizes)[keep]))
        return _CategoricalNLL.apply(logits, classes[keep], weight[keep]) / len(energy)

    def sample(
        self,
        n: int,
        cond: Segmentation | str | tuple[Segmentation | str, Tensor | np.ndarray | None],
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Generate ``n`` showers of one layer in a segmentation (gaam §4.1).

        Args:
            n: number of showers.
            cond: the segmentation (a ``Segmentation`` or its notation), or a pair
                ``(segmentation, start)`` with start (n,) MeV the energies of the first spiral
                cell (the paper's known prior); without ``start`` the first cell is drawn from
                the model's own first conditional p(x_0 | Δη_0, Δφ_0).
            generator: CPU torch generator for the random draws (None: torch's global one).

        Returns:
            (n, n_eta, n_phi) float32 MeV, on the model's device; cells beyond spiral position
            ``length`` are 0.
        """
        with torch.no_grad():
            return self._sample(n, cond, generator)

    def _sample(self, n: int, cond, generator: torch.Generator | None) -> Tensor:
        segmentation, start = cond if isinstance(cond, tuple) else (cond, None)
        segmentation = Segmentation.parse(segmentation)
        device = next(self.parameters()).device
        order = torch.as_tensor(segmentation.spiral_order(), device=device)
        m = min(segmentation.n_cells, self.config.length)
        sizes = torch.zeros(n, self.config.length, 2, device=device)
        d_eta, d_phi = (
            torch.as_tensor(s, dtype=torch.float32).flatten() for s in segmentation.sizes()
        )
        sizes[:, :m] = torch.stack([d_eta, d_phi], dim=-1).to(device)[order[:m]]
        uniform = torch.rand(n, m, generator=generator).to(device)
        classes = torch.zeros(n, self.config.length, dtype=torch.long, device=device)
        if start is not None:
            start = to_classes(torch.as_tensor(start).reshape(-1), self.config.n_classes)
            if len(start) != n:
                msg = f"start holds {len(start)} central-cell energies; expected n = {n}"
                raise ValueError(msg)
        condition = self._condition(sizes)
        first, *middle, readout = self.layers
        weight = first.masked_weight()
        # Pre-activation of the first masked layer with every energy still 0 (feature 0); each
        # drawn cell adds its column. Units a position may not see are masked out of it anyway.
        pre = F.linear(
            self._made_inputs(torch.zeros(n, self.config.length, device=device), condition),
            weight,
            first.bias,
        )
        energy_columns = weight[:, :: 1 + N_CONDITION * self.config.conditional].T.contiguous()
        readout_weight, c = readout.masked_weight(), self.config.channels
        conv_weight, kernel = self.conv.weight[:, 0], self.config.kernel
        recent = torch.zeros(n, kernel + m, device=device)  # energy features, zero-padded
        for k in range(m):
            if k == 0 and start is not None:
                drawn = start.to(device)
            else:
                h = F.gelu(pre)
                for layer in middle:
                    h = F.gelu(layer(h))
                rows = slice(k * c, (k + 1) * c)
                features = F.linear(h, readout_weight[rows], readout.bias[rows])
                features = features + recent[:, k : k + kernel] @ conv_weight.T
                if self.config.conditional:
                    features = features + self.direct(condition[:, k])
                probs = torch.softmax(self.out(F.gelu(features)), dim=-1)
                cdf = probs.cumsum(dim=-1)
                drawn = torch.searchsorted(cdf, uniform[:, k : k + 1] * cdf[:, -1:]).squeeze(1)
                drawn = drawn.clamp(max=self.config.n_classes - 1)
            classes[:, k] = drawn
            recent[:, kernel + k] = self._energy_feature(drawn)
            if k + 1 < m:
                pre.addr_(recent[:, kernel + k], energy_columns[k])
        energy = torch.zeros(n, segmentation.n_cells, device=device)
        energy[:, order[:m]] = classes[:, :m].float() ** 2
        return energy.view(n, *segmentation.shape)
