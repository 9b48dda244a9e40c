"""EDM pieces shared by CaloClouds2 and 3: preconditioning, loss, Karras/Heun, distillation.

Small callables around any point network ``net(x_in, c_noise, cond) -> (P, d)`` (Karras et al.
2022, "EDM", Table 1 and Algorithm 1; consistency distillation after Song et al. 2023). The
two CaloClouds versions share all of them and differ only by the backbone's widths.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = [
    "SIGMA_DATA",
    "SIGMA_MIN",
    "SIGMA_MAX",
    "RHO",
    "Denoiser",
    "edm_loss",
    "karras_sigmas",
    "heun_sample",
    "ConsistencyDistiller",
    "one_step_sample",
]

#: EDM defaults used by the CaloClouds code (sigma_data for every feature, schedule ends, rho).
SIGMA_DATA = 0.5
SIGMA_MIN = 0.002
SIGMA_MAX = 80.0
RHO = 7.0


class Denoiser(nn.Module):
    """EDM preconditioning D(x; sigma) = c_skip x + c_out F(c_in x, c_noise, cond) (EDM Table 1).

    With ``boundary=True`` the consistency-model scalings are used instead,
    c_skip = sd^2 / ((sigma - sigma_min)^2 + sd^2) and c_out = (sigma - sigma_min) sd /
    sqrt(sigma^2 + sd^2), so that D(x; sigma_min) = x exactly.

    Args:
        net: ``net(x_in (P, d), c_noise (P, 1), cond (P, c)) -> (P, d)``.
        sigma_data: the data scale sd.
        boundary: use the consistency-model scalings.
    """

    def __init__(self, net: nn.Module, sigma_data: float = SIGMA_DATA, boundary: bool = False):
        super().__init__()
        self.net = net
        self.sigma_data = sigma_data
        self.boundary = boundary

    def scalings(self, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(c_skip, c_out, c_in) for noise levels ``sigma`` (any shape)."""
        sd2 = self.sigma_data**2
        c_in = 1 / torch.sqrt(sigma**2 + sd2)
        if self.boundary:
            shifted = sigma - SIGMA_MIN
            c_skip = sd2 / (shifted**2 + sd2)
            c_out = shifted * self.sigma_data * c_in
        else:
            c_skip = sd2 / (sigma**2 + sd2)
            c_out = sigma * self.sigma_data * c_in
        return c_skip, c_out, c_in

    def forward(
        self, x: Tensor, sigma: Tensor | float, cond: Tensor, index: Tensor | None = None
    ) -> Tensor:
        """Denoised points (P, d) from noisy points ``x`` (P, d) at ``sigma`` (P, 1) or scalar.

        ``cond`` is (P, c), or (S, c) per shower with ``index`` (P,) naming each point's shower
        (then ``sigma`` must be a scalar).
        """
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        c_skip, c_out, c_in = self.scalings(sigma)
        c_noise = (sigma.log() / 4).expand(len(cond), 1)
        return c_skip * x + c_out * self.net(c_in * x, c_noise, cond, index)


def edm_loss(
    denoiser: Denoiser, x: Tensor, cond: Tensor, p_mean: float = -1.2, p_std: float = 1.2
) -> Tensor:
    """EDM training loss with ln(sigma) ~ N(p_mean, p_std^2) (the k-diffusion lognormal density).

    Equivalent to lambda(sigma) ||D(x + sigma n; sigma) - x||^2 with lambda = 1 / c_out^2,
    written as the network's regression target (x - c_skip x_noisy) / c_out (EDM Eq. 8).

    Args:
        denoiser: a non-boundary :class:`Denoiser`.
        x: (P, d) clean points; cond: (P, c) their showers' conditioning.
    """
    sigma = (torch.randn(len(x), 1, device=x.device) * p_std + p_mean).exp()
    noisy = x + torch.randn_like(x) * sigma
    c_skip, c_out, c_in = denoiser.scalings(sigma)
    target = (x - c_skip * noisy) / c_out
    return (denoiser.net(c_in * noisy, sigma.log() / 4, cond) - target).square().mean()


def karras_sigmas(
    n: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX, rho: float = RHO
) -> Tensor:
    """The Karras schedule: n noise levels from sigma_max to sigma_min, then 0 (EDM Eq. 5).

    Example:
        >>> s = karras_sigmas(3)
        >>> [round(float(v), 3) for v in s]
        [80.0, 2.515, 0.002, 0.0]
    """
    if n < 2:
        msg = f"karras_sigmas needs n >= 2 noise levels, got {n}"
        raise ValueError(msg)
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros(1)]).float()


@torch.no_grad()
def heun_sample(
    denoise: Callable[[Tensor, Tensor], Tensor], noise: Tensor, sigmas: Tensor
) -> Tensor:
    """Deterministic Heun sampler of the probability-flow ODE (EDM Algorithm 1, S_churn = 0).

    Args:
        denoise: ``denoise(x, sigma) -> D(x; sigma)`` for a batch of points.
        noise: (P, d) standard normal draws; the start is ``noise * sigmas[0]``.
        sigmas: decreasing noise levels ending in 0 (:func:`karras_sigmas`).

    Returns:
        (P, d) samples.
    """
    x = noise * sigmas[0]
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        d = (x - denoise(x, s)) / s
        x_next = x + (s_next - s) * d
        if s_next > 0:
            d_next = (x_next - denoise(x_next, s_next)) / s_next
            x_next = x + (s_next - s) * (d + d_next) / 2
        x = x_next
    return x


def one_step_sample(
    student: Denoiser, noise: Tensor, cond: Tensor, index: Tensor | None = None
) -> Tensor:
    """The distilled one-step sampler: x_0 = f(sigma_max n; sigma_max) (consistency models).

    Args:
        student: a boundary :class:`Denoiser` (``ConsistencyDistiller.student``).
        noise: (P, d) standard normal draws.
        cond, index: as in :meth:`Denoiser.forward`.
    """
    with torch.no_grad():
        return student(noise * SIGMA_MAX, SIGMA_MAX, cond, index)


class ConsistencyDistiller(nn.Module):
    """Consistency distillation of an EDM teacher into a one-step student with an EMA target.

    Student and target start as copies of the teacher's network with the boundary scalings.
    One loss: draw n ~ U{0..N-2} on the Karras schedule (t_n > t_{n+1}), noise x at t_n, take
    one Heun step of the teacher's ODE to t_{n+1}, and regress the student at (x_t, t_n) on the
    target at (x_{t+1}, t_{n+1}). After each optimiser step, :meth:`update_target` moves the
    target towards the student (rate ``1 - target_decay``).

    Args:
        teacher: the trained EDM :class:`Denoiser` (frozen).
        steps: N, the number of noise levels of the discretisation.
        target_decay: EMA decay of the target (0.95 in the CaloClouds code).
    """

    def __init__(self, teacher: Denoiser, steps: int = 18, target_decay: float = 0.95):
        super().__init__()
        self.teacher = teacher.requires_grad_(False)
        self.student = Denoiser(copy.deepcopy(teacher.net), teacher.sigma_data, boundary=True)
        self.student.requires_grad_(True)
        self.target = copy.deepcopy(self.student).requires_grad_(False)
        self.register_buffer("sigmas", karras_sigmas(steps)[:-1])
        self.target_decay = target_decay

    def loss(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        x, cond = batch
        n = torch.randint(0, len(self.sigmas) - 1, (len(x), 1), device=x.device)
        t, t_next = self.sigmas[n], self.sigmas[n + 1]
        x_t = x + torch.randn_like(x) * t
        with torch.no_grad():
            d = (x_t - self.teacher(x_t, t, cond)) / t
            x_euler = x_t + (t_next - t) * d
            d_next = (x_euler - self.teacher(x_euler, t_next, cond)) / t_next
            x_next = x_t + (t_next - t) * (d + d_next) / 2
            target = self.target(x_next, t_next, cond)
        return (self.student(x_t, t, cond) - target).square().mean()

    @torch.no_grad()
    def update_target(self) -> None:
        """target <- decay target + (1 - decay) student."""
        for p_target, p_student in zip(
            self.target.parameters(), self.student.parameters(), strict=True
        ):
            p_target.lerp_(p_student, 1 - self.target_decay)
