"""CaloDVAE generators for ``calopaper bench``: chapter 4's e+ model (the first grid point) and
its RBM prior's Gibbs sampling alone, as the chapter trains them (``chapter.configs``)."""

from __future__ import annotations

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


def generators(ctx: BenchContext) -> list[Generator]:
    """Chapter 4's CaloDVAE for its first particle (e+) at the first grid point."""
    p = ctx.chapter_parameters(chapter.CHAPTER)
    if p.dataset_path:
        raise Unavailable("chapter 4 reads a user file; the bench uses SUPA e+")
    particle = p.particles[0]
    showers = chapter.showers(SimpleNamespace(**vars(p) | {"particles": [particle]}), ctx.store)
    showers = showers[particle]
    fit, grids = chapter.configs(p, {particle: showers})
    grid, config = next(iter(grids[particle].items()))
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
        f"chapter 4, {ctx.profile} profile: architecture {grid[0]} × {p.width_scale:g}, "
        f"{model.config.gibbs_steps_sample} Gibbs sweeps per shower"
    )
    size = architecture(model.config, ARCHITECTURE)
    return [
        Generator(
            name=f"CaloDVAE {particle}",
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
