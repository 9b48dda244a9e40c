"""SAVAE generators for ``calopaper bench``: chapter 2's main model and its geometry-specific
(48,48) model, as the chapter trains them (``chapter.main``), each generating (48,48)."""

from __future__ import annotations

from calopaper.bench.registry import BenchContext, Generator, Unavailable, architecture
from calopaper.models.savae import chapter
from calopaper.models.savae.model import geometry_specific
from calopaper.models.savae.pipeline import trained

__all__ = ["ARCHITECTURE", "generators"]

#: The fields that size a SAVAE.
ARCHITECTURE = ("latent_dim", "hidden", "heads")


def generators(ctx: BenchContext) -> list[Generator | Unavailable]:
    """Chapter 2's main SAVAE and the geometry-specific model of (48,48)."""
    p = ctx.chapter_parameters(chapter.CHAPTER)
    showers = chapter.showers(p, store=ctx.store, progress=False)
    config, fit, variant, _ = chapter.main(
        p, showers, device=ctx.device, store=ctx.store, progress=False
    )
    rows: list[Generator | Unavailable] = []
    for label, cfg, stem in (
        ("SAVAE (48,48)", config, "savae"),
        (
            "geometry-specific SAVAE (48,48)",
            geometry_specific(config, "48x48"),
            "geometry_specific",
        ),
    ):
        try:
            model, history = trained(
                cfg, fit, showers, device=ctx.device, store=ctx.store, progress=False
            )
        except Unavailable as e:
            rows.append(Unavailable(str(e), label))
            continue
        rows.append(
            Generator(
                name=label,
                paper="savae",
                truth="gaam-middle",
                generate=lambda n, energy, model=model: model.sample(n, "48x48"),
                training_seconds=history.seconds,
                samples=f"{chapter.CHAPTER}/{stem}",
                truth_samples=f"{chapter.CHAPTER}/truth",
                note=f"chapter 2, {ctx.profile} profile, variant {variant!r}: latent "
                f"{cfg.latent_dim}, hidden {cfg.hidden}, trained on {', '.join(cfg.segmentations)}",
                architecture=architecture(cfg, ARCHITECTURE),
            )
        )
    return rows
