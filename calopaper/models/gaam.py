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
  "known prior": drawn from the training data of that segmentation) or, for a segmentation
  without training data, drawn from the model's own first conditional p(x_0 | Δη_0, Δφ_0);
  the remaining cells follow in spiral order, all showers of a batch at once. The first masked
  layer is updated incrementally as cells are drawn, so a step costs one pass through the
  other hidden layers and one output position, not a whole MADE pass.
- **Baseline** (gaam §4.2). ``GAAMConfig(conditional=False)`` is the unconditional ARM: the
  same network without the cell-size features.

The data preparation (:class:`Truth`, :class:`LayerData`) and the cached training and sampling
helpers (:func:`layer_model`, :func:`middle_layer_samples`) used by the chapters follow the model.
"""

from __future__ import annotations

import hashlib
import importlib
import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from calopaper.datasets import read_cells, read_points, split, write_cells
from calopaper.geometry import GAAM_INNER, GAAM_MIDDLE, GAAM_OUTER, Segmentation
from calopaper.profiles import resolve_device
from calopaper.showers import PointClouds
from calopaper.store import Store, default_store
from calopaper.timing import torch_threads
from calopaper.training import FitConfig, History, trained

__all__ = [
    "DEFAULTS",
    "LAYERS",
    "TRAINING_SEGMENTATIONS",
    "GAAM",
    "GAAMConfig",
    "LayerData",
    "LayerModel",
    "Settings",
    "Truth",
    "hidden_degrees",
    "layer_model",
    "middle_layer_samples",
    "to_classes",
]

#: Layer name -> index in column 2 of the SUPA `gaam` points.
LAYERS = {"inner": 0, "middle": 1, "outer": 2}
#: gaam Table 1: the training segmentations of each layer.
TRAINING_SEGMENTATIONS = {"inner": GAAM_INNER, "middle": GAAM_MIDDLE, "outer": GAAM_OUTER}
#: Reference cell size of the size features, mm: a feature is log2(size / SIZE_REFERENCE).
SIZE_REFERENCE = 20.0
#: torch threads for training and generation on a CPU. GAAM's operations are small (32
#: sequences per step in training, one cell per step in generation), and on a busy 2-core
#: machine two threads made both 10-20 times slower than one (thread synchronisation).
CPU_THREADS = 1


def _threads(device: torch.device | str) -> AbstractContextManager:
    """One torch thread on a CPU (see :data:`CPU_THREADS`), torch's setting elsewhere."""
    return torch_threads(CPU_THREADS) if torch.device(device).type == "cpu" else nullcontext()


def _parse(segmentation: Segmentation | str) -> Segmentation:
    if isinstance(segmentation, Segmentation):
        return segmentation
    return Segmentation.parse(segmentation)


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

    Attributes:
        length: positions of the MADE, i.e. cells along the spiral it generates; a segmentation
            with more cells gets zero energy beyond.
        n_classes: N + 1 energy classes of x = round(sqrt(E / MeV)).
        hidden: widths of the hidden masked layers (gaam §4.1: one for the inner layer, five
            for the middle and outer layers).
        channels: features per position before the output layer.
        kernel: cells before the current one seen by the causal 1-D convolution.
        conditional: condition on the cell sizes (GAAM); False is the unconditional ARM.
        empty_fraction: in training, the fraction of empty cells (x = 0) whose log-likelihood
            term is evaluated, each weighted by 1 / empty_fraction: an unbiased estimate of the
            NLL that skips most of the many empty cells (1.0 = every cell, as in the paper).
    """

    length: int
    n_classes: int
    hidden: tuple[int, ...] = (64,) * 5
    channels: int = 8
    kernel: int = 8
    conditional: bool = True
    empty_fraction: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in ("length", "channels", "kernel"):
            if getattr(self, name) < 1:
                msg = f"GAAMConfig.{name} must be >= 1, got {getattr(self, name)!r}"
                raise ValueError(msg)
        if self.n_classes < 2:
            msg = f"GAAMConfig.n_classes must be >= 2 (N + 1 energy classes), got {self.n_classes}"
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
        with _threads(next(self.parameters()).device), torch.no_grad():
            return self._sample(n, cond, generator)

    def _sample(self, n: int, cond, generator: torch.Generator | None) -> Tensor:
        segmentation, start = cond if isinstance(cond, tuple) else (cond, None)
        segmentation = _parse(segmentation)
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


# --------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class Truth:
    """Where the fine-grained showers come from: SUPA's `gaam` preset or a point-cloud file.

    Attributes:
        n: number of SUPA showers (ignored with ``path``).
        seed: SUPA seed; also seeds the train/validation/test split.
        path: a calopaper point-cloud HDF5 file (column 2 = layer index 0, 1, 2) to use instead.
    """

    n: int = 0
    seed: int = 0
    path: str = ""

    def __post_init__(self) -> None:
        if not self.path and self.n < 10:
            msg = (
                f"Truth needs n >= 10 SUPA showers (to split 0.7/0.1/0.2) or a path, got n={self.n}"
            )
            raise ValueError(msg)

    @cached_property
    def key(self) -> dict:
        """JSON-able identity of the showers (a file is identified by its SHA-256)."""
        if self.path:
            digest = hashlib.sha256(Path(self.path).read_bytes()).hexdigest()
            return {"path": str(Path(self.path).resolve()), "sha256": digest, "seed": self.seed}
        return {"simulator": "supa", "preset": "gaam", "n": self.n, "seed": self.seed}

    def clouds(self, store: Store | None = None, progress: bool = True) -> PointClouds:
        """The showers (simulated once and cached in the store, or read from ``path``)."""
        if self.path:
            return read_points(self.path)
        from calopaper.truth import simulated

        return simulated("supa", "gaam", self.n, self.seed, store=store, progress=progress)


def _validate_layer(layer: str) -> int:
    if layer not in LAYERS:
        msg = f"unknown layer {layer!r}; expected one of {list(LAYERS)}"
        raise ValueError(msg)
    return LAYERS[layer]


@dataclass
class LayerData:
    """One layer of the truth showers, split 0.7/0.1/0.2 (gaam §4.3), in any segmentation.

    Attributes:
        layer: "inner", "middle" or "outer".
        clouds: the showers' points in this layer.
        parts: {"train", "val", "test"} -> shower indices.
        segmentations: the training segmentations.
        length: MADE positions, the largest training n_cells.
        n_classes: N + 1, N the smallest integer above the largest training sqrt(E / MeV).
    """

    layer: str
    clouds: PointClouds
    parts: dict[str, np.ndarray]
    segmentations: list[Segmentation]
    length: int = 0
    n_classes: int = 0
    _cells: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        clouds: PointClouds,
        layer: str,
        segmentations: list[str | Segmentation],
        seed: int,
    ) -> LayerData:
        """Split the showers and derive ``length`` and ``n_classes`` from the training part."""
        k = _validate_layer(layer)
        if not segmentations:
            msg = f"no training segmentations given for the {layer} layer; expected e.g. ['48x48']"
            raise ValueError(msg)
        train, val, test = split(len(clouds), (0.7, 0.1, 0.2), seed=seed)
        data = cls(
            layer,
            clouds.layer(k),
            {"train": train, "val": val, "test": test},
            [_parse(s) for s in segmentations],
        )
        data.length = max(s.n_cells for s in data.segmentations)
        largest = max(float(np.sqrt(data.cells(s, "train").max())) for s in data.segmentations)
        data.n_classes = math.floor(largest) + 2
        return data

    def cells(self, segmentation: Segmentation | str, part: str = "test") -> np.ndarray:
        """(N_part, n_eta, n_phi) float64 MeV cell energies of one split part."""
        segmentation = _parse(segmentation)
        if part not in self.parts:
            msg = f"unknown part {part!r}; expected one of {list(self.parts)}"
            raise ValueError(msg)
        key = (segmentation.to_json(), part)
        if key not in self._cells:
            cells, _ = self.clouds.select(self.parts[part]).cells(segmentation)
            self._cells[key] = cells
        return self._cells[key]

    def central(self, segmentation: Segmentation | str) -> np.ndarray:
        """(N_train,) MeV: training energies of the first spiral cell, the "known prior"."""
        segmentation = _parse(segmentation)
        cells = self.cells(segmentation, "train").reshape(-1, segmentation.n_cells)
        return cells[:, segmentation.spiral_order()[0]]

    def sequences(self, part: str) -> tuple[Tensor, Tensor]:
        """Every training segmentation of one part, padded to ``length``, stacked.

        Returns:
            energy (S * N_part, length) float32 MeV in spiral order and sizes
            (S * N_part, length, 2) float32 mm, zero at padded positions.
        """
        energies, sizes = [], []
        for segmentation in self.segmentations:
            order = segmentation.spiral_order()[: self.length]
            cells = self.cells(segmentation, part).reshape(-1, segmentation.n_cells)[:, order]
            energy = np.zeros((len(cells), self.length), np.float32)
            energy[:, : len(order)] = cells
            size = np.zeros((self.length, 2), np.float32)
            size[: len(order)] = np.stack([s.ravel()[order] for s in segmentation.sizes()], -1)
            energies.append(energy)
            sizes.append(np.broadcast_to(size, (len(cells), self.length, 2)))
        return torch.from_numpy(np.concatenate(energies)), torch.from_numpy(np.concatenate(sizes))


# --------------------------------------------------------------------------------------------
# cached training and sampling


@dataclass(frozen=True)
class Settings:
    """Architecture and optimisation of one layer's model (see :class:`GAAMConfig`).

    The defaults are the same in every profile, so chapters asking for the same showers and
    epochs share one trained model.
    """

    hidden: tuple[int, ...]
    channels: int = 8
    kernel: int = 8
    empty_fraction: float = 0.25
    batch_size: int = 32
    lr: float = 3e-3


#: gaam §4.1: one hidden masked layer for the inner layer, five for the middle and outer ones.
DEFAULTS = {
    "inner": Settings(hidden=(64,)),
    "middle": Settings(hidden=(64,) * 5),
    "outer": Settings(hidden=(64,) * 5),
}
_CODE = ("calopaper.geometry", "calopaper.datasets", "calopaper.sim.supa")


@dataclass
class LayerModel:
    """A trained layer model with its data; :meth:`samples` caches generated showers.

    Attributes:
        layer: "inner", "middle" or "outer".
        model: the trained :class:`GAAM` (conditional or not), eval mode.
        history: its training history.
        data: the layer's truth showers and splits.
        key: the store key of the trained model (config, fit settings and data).
    """

    layer: str
    model: GAAM
    history: History
    data: LayerData
    key: dict

    @property
    def label(self) -> str:
        return "GAAM" if self.model.config.conditional else "unconditional ARM"

    def start(self, segmentation: Segmentation, n: int, seed: int) -> np.ndarray | None:
        """n central-cell energies drawn from the training data (None if it is not a training
        segmentation: the model's first conditional is used instead)."""
        if segmentation not in self.data.segmentations:
            return None
        return np.random.default_rng(seed).choice(self.data.central(segmentation), n)

    def generate(self, segmentation: Segmentation | str, n: int, seed: int) -> np.ndarray:
        """(n, n_eta, n_phi) float32 MeV, generated now (see :meth:`samples` for the cached one)."""
        segmentation = _parse(segmentation)
        start = self.start(segmentation, n, seed)
        generator = torch.Generator().manual_seed(seed)
        cond = (segmentation, None if start is None else torch.as_tensor(start))
        return self.model.sample(n, cond, generator=generator).cpu().numpy()

    def samples(
        self, segmentation: Segmentation | str, n: int, seed: int, store: Store | None = None
    ) -> np.ndarray:
        """(n, n_eta, n_phi) float32 MeV generated showers, from the store or generated now."""
        segmentation = _parse(segmentation)
        store = store or default_store()
        key = {"model": self.key, "segmentation": segmentation.to_json(), "n": n, "seed": seed}
        name = f"{self.layer}_{segmentation}"

        def build(tmp: Path) -> None:
            images = self.generate(segmentation, n, seed)
            energy = np.full(n, float(np.median(self.data.clouds.incident_energy)))
            attrs = {"model": self.label, "layer": self.layer, "seed": seed}
            write_cells(tmp, {name: images}, {name: segmentation}, energy, attrs=attrs)

        code = (importlib.import_module(__name__), *_CODE)
        path = store.get_or_build("samples/gaam", key, build, code=code)
        return read_cells(path).layers[name]


def layer_model(
    layer: str,
    truth: Truth,
    *,
    epochs: int,
    conditional: bool = True,
    segmentations: list[str] | None = None,
    settings: Settings | None = None,
    device: str = "auto",
    progress: bool = True,
    store: Store | None = None,
) -> LayerModel:
    """One layer's GAAM (or unconditional ARM), from the store or trained now.

    Args:
        layer: "inner", "middle" or "outer".
        truth: the showers; the split and the training seed are ``truth.seed``.
        epochs: training epochs (the weights of the best validation epoch are kept).
        conditional: GAAM (True) or the unconditional ARM (False).
        segmentations: training segmentations (default gaam Table 1 for the layer).
        settings: architecture and optimisation (default :data:`DEFAULTS` for the layer).
        device: "auto", "cpu", "cuda".
        progress: show progress bars.
        store: artifact store (default: ``data/``).
    """
    _validate_layer(layer)
    settings = settings or DEFAULTS[layer]
    names = [str(_parse(s)) for s in segmentations or TRAINING_SEGMENTATIONS[layer]]
    data = LayerData.build(truth.clouds(store, progress), layer, names, truth.seed)
    config = GAAMConfig(
        length=data.length,
        n_classes=data.n_classes,
        hidden=settings.hidden,
        channels=settings.channels,
        kernel=settings.kernel,
        conditional=conditional,
        empty_fraction=settings.empty_fraction,
    )
    fit = FitConfig(
        epochs=epochs,
        batch_size=settings.batch_size,
        lr=settings.lr,
        grad_clip=10.0,
        seed=truth.seed,
    )
    data_key = {
        "truth": truth.key,
        "layer": layer,
        "segmentations": names,
        "split": [0.7, 0.1, 0.2],
    }
    # training.trained builds the model before fit() seeds torch: seed the initial weights here,
    # without disturbing the caller's random state.
    with _threads(resolve_device(device)), torch.random.fork_rng(devices=[]):
        torch.manual_seed(truth.seed)
        model, history = trained(
            GAAM,
            config,
            fit,
            lambda: (data.sequences("train"), data.sequences("val")),
            data_key,
            device=device,
            store=store,
            progress=progress,
            code=_CODE,
        )
    key = {"config": asdict(config), "fit": asdict(fit), "data": data_key}
    return LayerModel(layer, model, history, data, key)


def middle_layer_samples(
    segmentations: list[str],
    *,
    n_train: int,
    n_samples: int,
    seed: int,
    epochs: int,
    device: str = "auto",
    progress: bool = True,
    settings: Settings | None = None,
) -> dict[str, np.ndarray]:
    """GAAM's middle-layer showers in each segmentation, cached in the store.

    The model is the default middle-layer GAAM trained on gaam Table 1's middle segmentations
    (``geometry.GAAM_MIDDLE``) of ``truth.simulated("supa", "gaam", n_train, seed)``
    (70 % train, 10 % validation); chapters asking with the same arguments share the model and
    the samples. Training segmentations start from the training central-cell energies, others
    from the model's first conditional.

    Args:
        segmentations: notations, e.g. ``["48x48", "24x24"]``.
        n_train: SUPA showers simulated (split 0.7/0.1/0.2).
        n_samples: showers generated per segmentation.
        seed: SUPA, split, training and sampling seed.
        epochs: training epochs.
        device: "auto", "cpu", "cuda".
        progress: show progress bars.
        settings: architecture and optimisation; default ``DEFAULTS["middle"]``.

    Returns:
        Segmentation name -> (n_samples, n_eta, n_phi) float32 MeV.
    """
    model = layer_model(
        "middle",
        Truth(n_train, seed),
        epochs=epochs,
        settings=settings,
        device=device,
        progress=progress,
    )
    return {name: model.samples(name, n_samples, seed) for name in segmentations}
