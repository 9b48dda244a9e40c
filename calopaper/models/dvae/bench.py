"""CaloDVAE generators for ``calopaper bench``: chapter 4's e+ model (the grid point the chapter
selected) and its RBM prior's Gibbs sampling alone, as the chapter trains them
(``chapter.configs``)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import torch

from calopaper.bench.registry import BenchContext, Generator, Unavailable, architecture
from calopaper.models.dvae import chapter
from calopaper.models.dvae.pipeline import sample, trained

__all__ = ["ARCHITECTURE", "GIBBS_PREFIX", "generators"]

#: The fields that size a CaloDVAE and its sampling.
ARCHITECTURE = ("encoder_hidden", "decoder_hidden", "n_levels", "n_latent", "gibbs_steps_sample")
#: Row label of CaloDVAE's Gibbs sampling alone, before the particle.
GIBBS_PREFIX = "CaloDVAE Gibbs sampling only, "
#: Tags of the chapter's saved samples per particle.
TAGS = {"e+": "eplus", "gamma": "gamma", "pi+": "piplus"}


def _selected(
    p: SimpleNamespace, ctx: BenchContext, particle: str, grid: dict[chapter.GridPoint, object]
) -> tuple[chapter.GridPoint, str]:
    """The grid point chapter 4 selected for ``particle`` (its published results under the
    store's root), else the first grid point; and a note saying which."""
    published = chapter.published_selection(p, ctx.root).get(particle)
    for point in grid:
        if (
            published
            and point[0] == published[0]
            and all(math.isclose(a, b) for a, b in zip(point[1:], published[1:], strict=True))
        ):
            return point, "the grid point chapter 4 selected"
    first = next(iter(grid))
    if published:
        return first, f"chapter 4 selected {published}, not in this grid; the first grid point"
    return first, "chapter 4 has not published its selection here; the first grid point"


def generators(ctx: BenchContext) -> list[Generator]:
    """Chapter 4's CaloDVAE for its first particle (e+), at the grid point the chapter selected
    (the first grid point when the chapter has not run in this profile)."""
    p = ctx.chapter_parameters(chapter.CHAPTER)
    if p.dataset_path:
        raise Unavailable("chapter 4 reads a user file; the bench uses SUPA e+")
    particle = p.particles[0]
    showers = chapter.showers(SimpleNamespace(**vars(p) | {"particles": [particle]}), ctx.store)
    showers = showers[particle]
    fit, grids = chapter.configs(p, {particle: showers})
    grid, chosen = _selected(p, ctx, particle, grids[particle])
    config = grids[particle][grid]
    model, history = trained(config, fit, showers, device=ctx.device, store=ctx.store)
    energies = showers.part("train")[1]
    generator = torch.Generator().manual_seed(p.seed)

    def generate(n: int, energy: float | None) -> object:
        drawn = np.random.default_rng(n).choice(energies, n) if energy is None else energy
        return sample(model, n, drawn, generator)

    def gibbs(n: int, energy: float | None) -> object:
        with torch.no_grad():
            return model.prior.sample(n, model.config.gibbs_steps_sample, generator)

    tag = TAGS.get(particle, particle)
    note = (
        f"chapter 4, {ctx.profile} profile, {chosen}: architecture {grid[0]} × "
        f"{p.width_scale:g}, τ_z {grid[1]:.3g}, τ_xm {grid[2]:.3g}, "
        f"{model.config.gibbs_steps_sample} Gibbs sweeps per shower"
    )
    size = architecture(model.config, ARCHITECTURE)
    return [
        Generator(
            name=chapter.generator_name(particle),
            paper="calodvae",
            truth="calogan",
            generate=generate,
            training_seconds=history.seconds,
            samples=f"{chapter.CHAPTER}/calodvae_{tag}",
            truth_samples=f"{chapter.CHAPTER}/truth_{tag}",
            note=note,
            architecture=size,
        ),
        Generator(
            name=f"{GIBBS_PREFIX}{particle}",
            paper="calodvae",
            truth="",
            generate=gibbs,
            note="the RBM prior's block-Gibbs sampling alone: " + note,
            architecture=size,
        ),
    ]
