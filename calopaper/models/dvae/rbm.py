"""The restricted Boltzmann machine prior of CaloDVAE and its block-Gibbs sampler."""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

__all__ = ["RBM", "uniform"]


def uniform(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str
) -> Tensor:
    """U[0, 1) float32 numbers on ``device``, drawn from ``generator`` when one is given.

    The numbers are drawn on the generator's own device and moved, so a CPU generator gives the
    same samples whatever device the model lives on.
    """
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def _bernoulli(probability: Tensor, generator: torch.Generator | None) -> Tensor:
    """Binary float sample of independent Bernoulli(probability) units."""
    u = uniform(tuple(probability.shape), generator, probability.device)
    return (u < probability).to(probability.dtype)


class RBM(nn.Module):
    """p(v, h) = exp(-E(v, h)) / Z with E = -aᵀv - bᵀh - vᵀWh over binary v, h (calodvae §2.2).

    In CaloDVAE the first half of the latent units forms the visible side ``v`` and the second
    half the hidden side ``h`` (the paper's z_l and z_r). Initialisation follows the reference
    code: W ~ 0.01 N(0, 1), visible biases 0.5, hidden biases 0.

    Args:
        n_visible: units on the visible side.
        n_hidden: units on the hidden side.
        visible_bias: initial value of every visible bias (reference code: 0.5).

    Example:
        >>> rbm = RBM(2, 1)
        >>> rbm.energy(torch.ones(1, 2), torch.ones(1, 1)).shape
        torch.Size([1])
    """

    def __init__(self, n_visible: int, n_hidden: int, visible_bias: float = 0.5) -> None:
        super().__init__()
        for name, value in (("n_visible", n_visible), ("n_hidden", n_hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"RBM {name}={value!r}; expected a positive int"
                raise ValueError(msg)
        self.n_visible, self.n_hidden = n_visible, n_hidden
        self.weight = nn.Parameter(0.01 * torch.randn(n_visible, n_hidden))
        self.visible_bias = nn.Parameter(torch.full((n_visible,), float(visible_bias)))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))

    def energy(self, v: Tensor, h: Tensor) -> Tensor:
        """E(v, h) = -aᵀv - bᵀh - vᵀWh per row; v (N, n_visible), h (N, n_hidden) in [0, 1].

        Relaxed (continuous) units are allowed: E is multilinear, so E(v, E[h|v]) is the
        expectation of E over h given v.
        """
        return -(v @ self.visible_bias) - (h @ self.hidden_bias) - ((v @ self.weight) * h).sum(-1)

    def hidden_probability(self, v: Tensor) -> Tensor:
        """p(h_j = 1 | v) = σ(b_j + (vᵀW)_j), (N, n_hidden)."""
        return torch.sigmoid(self.hidden_bias + v @ self.weight)

    def visible_probability(self, h: Tensor) -> Tensor:
        """p(v_i = 1 | h) = σ(a_i + (W h)_i), (N, n_visible)."""
        return torch.sigmoid(self.visible_bias + h @ self.weight.T)

    @torch.no_grad()
    def gibbs(
        self, v: Tensor, steps: int, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Run ``steps`` block-Gibbs sweeps h ~ p(h|v), v ~ p(v|h) from visible states ``v``.

        Args:
            v: (N, n_visible) binary float starting states (one chain per row).
            steps: number of sweeps, >= 1.
            generator: random stream (default: torch's global one).

        Returns:
            The final binary states ``(v, h)``; ``h`` is drawn from p(h | v) of the final ``v``.
        """
        if steps < 1:
            msg = f"steps={steps!r}; expected at least one Gibbs sweep"
            raise ValueError(msg)
        for _ in range(steps):
            h = _bernoulli(self.hidden_probability(v), generator)
            v = _bernoulli(self.visible_probability(h), generator)
        h = _bernoulli(self.hidden_probability(v), generator)
        return v, h

    @torch.no_grad()
    def sample(
        self, n: int, steps: int, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """``n`` independent chains started from Bernoulli(1/2) visible states, ``steps`` sweeps.

        Returns:
            Binary float ``(v (n, n_visible), h (n, n_hidden))``.
        """
        v = _bernoulli(torch.full((n, self.n_visible), 0.5, device=self.weight.device), generator)
        return self.gibbs(v, steps, generator)

    @torch.no_grad()
    def exact_distribution(self) -> tuple[Tensor, Tensor]:
        """Every joint state and its probability exp(-E)/Z, by enumeration (tiny RBMs only).

        Returns:
            ``states`` (2^(n_v + n_h), n_v + n_h) binary float, v first, in lexicographic order;
            ``probabilities`` (2^(n_v + n_h),) float64 summing to 1.

        Raises:
            ValueError: more than 20 units (2^20 states).

        Example:
            >>> states, p = RBM(1, 1).exact_distribution()
            >>> states.shape, round(float(p.sum()), 6)
            (torch.Size([4, 2]), 1.0)
        """
        n_units = self.n_visible + self.n_hidden
        if n_units > 20:
            msg = f"exact enumeration of {n_units} units (2^{n_units} states); expected <= 20"
            raise ValueError(msg)
        states = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n_units)))
        states = states.to(self.weight)
        v, h = states[:, : self.n_visible], states[:, self.n_visible :]
        log_weight = -self.energy(v, h).double()
        return states, torch.softmax(log_weight, dim=0)
