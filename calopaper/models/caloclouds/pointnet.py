"""PointwiseNet: ConcatSquash layers that denoise every point on its own (caloclouds3 Fig. 3).

The CaloClouds point network (after Luo & Hu's diffusion-point-cloud): six ConcatSquash
layers of widths d -> h -> 2h -> 4h -> 2h -> h -> d with leaky ReLU between them, each gated
and shifted by a context of a Fourier embedding of the noise level and the shower's
conditioning. Points never interact, so a batch may hold points of many showers.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["ConcatSquashLinear", "FourierEmbedding", "PointwiseNet"]


class ConcatSquashLinear(nn.Module):
    """out = Linear(x) * sigmoid(Linear_g(ctx)) + Linear_b(ctx) (no bias on the last)."""

    def __init__(self, d_in: int, d_out: int, d_ctx: int):
        super().__init__()
        self.layer = nn.Linear(d_in, d_out)
        self.gate = nn.Linear(d_ctx, d_out)
        self.bias = nn.Linear(d_ctx, d_out, bias=False)

    def forward(self, ctx: Tensor, x: Tensor) -> Tensor:
        return self.layer(x) * torch.sigmoid(self.gate(ctx)) + self.bias(ctx)


class FourierEmbedding(nn.Module):
    """Random Fourier features of a scalar, [cos 2 pi w s, sin 2 pi w s], w ~ N(0, std^2)."""

    def __init__(self, features: int = 64, std: float = 16.0):
        super().__init__()
        self.register_buffer("weight", torch.randn(1, features // 2) * std)

    def forward(self, s: Tensor) -> Tensor:
        phase = 2 * math.pi * s * self.weight
        return torch.cat([phase.cos(), phase.sin()], -1)


class PointwiseNet(nn.Module):
    """The point network F(x_in, c_noise, cond) of the EDM denoiser.

    Args:
        point_dim: features per point (4: x, y, depth, energy).
        cond_dim: shower conditioning features (CC3: E and the unit direction, 4; CC2: E and
            the number of points, 2).
        hidden: h, the first width (CC3 32, CC2 128).
        time_dim: size of the noise-level embedding.

    Shapes: x_in (P, point_dim), c_noise (P, 1) = ln(sigma) / 4, cond (P, cond_dim) ->
    (P, point_dim); or, with ``index`` (P,) naming each point's shower, c_noise (S, 1) and cond
    (S, cond_dim) per shower (contexts are then computed once per shower and broadcast over
    its points: 3x faster).
    """

    def __init__(self, point_dim: int = 4, cond_dim: int = 4, hidden: int = 32, time_dim: int = 64):
        super().__init__()
        self.fourier = FourierEmbedding(time_dim)
        self.time = nn.Linear(time_dim, time_dim)
        widths = [point_dim, hidden, 2 * hidden, 4 * hidden, 2 * hidden, hidden, point_dim]
        d_ctx = time_dim + cond_dim
        self.layers = nn.ModuleList(
            ConcatSquashLinear(a, b, d_ctx) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )

    def forward(
        self, x: Tensor, c_noise: Tensor, cond: Tensor, index: Tensor | None = None
    ) -> Tensor:
        ctx = torch.cat([F.leaky_relu(self.time(self.fourier(c_noise))), cond], -1)
        if index is None:
            for i, layer in enumerate(self.layers):
                x = layer(ctx, x)
                x = F.leaky_relu(x) if i < len(self.layers) - 1 else x
            return x
        # One context per shower, broadcast over each run of its points: no (P, width) copies.
        gates = [(torch.sigmoid(la.gate(ctx)), la.bias(ctx)) for la in self.layers]
        shower, counts = torch.unique_consecutive(index, return_counts=True)
        out = []
        for s, h in zip(shower.tolist(), x.split(counts.tolist()), strict=True):
            for i, (layer, (gate, bias)) in enumerate(zip(self.layers, gates, strict=True)):
                h = layer.layer(h) * gate[s] + bias[s]
                h = F.leaky_relu(h) if i < len(self.layers) - 1 else h
            out.append(h)
        return torch.cat(out) if out else x[:, : self.layers[-1].layer.out_features]
