"""GAAM generators for ``calopaper bench``: chapter 3's model of each layer and the middle
layer's unconditional ARM, as the chapter trains them (``chapter.configs``)."""

from __future__ import annotations

from calopaper.bench.registry import BenchContext, Generator, Unavailable, architecture
from calopaper.geometry import Segmentation
from calopaper.models.gaam.chapter import CHAPTER, configs

__all__ = ["ARCHITECTURE", "generators"]

#: The fields that size a GAAM (``n_classes``, from the data's largest energy, is left out: it
#: sizes only the last linear map).
ARCHITECTURE = ("hidden", "channels", "kernel", "length", "conditional")


def generators(ctx: BenchContext) -> list[Generator | Unavailable]:
    """Each layer's GAAM and the middle layer's unconditional ARM, each generating its layer's
    largest training segmentation (the chapter's timing choice)."""
    chapter = configs(ctx.chapter_parameters(CHAPTER))
    rows: list[Generator | Unavailable] = []
    for layer, label in [("inner", "GAAM"), ("middle", "GAAM"), ("outer", "GAAM"),
                         ("middle", "unconditional ARM")]:  # fmt: skip
        name = max(chapter.training[layer], key=lambda s: Segmentation.parse(s).n_cells)
        segmentation = Segmentation.parse(name)
        title = f"{label} {layer} {segmentation.notation}"
        try:
            trained = chapter.trained(
                layer, label, device=ctx.device, progress=False, store=ctx.store
            )
        except Unavailable as e:
            rows.append(Unavailable(str(e), title))
            continue
        model = trained.model
        stem = "gaam" if label == "GAAM" else "unconditional"
        rows.append(
            Generator(
                name=title,
                paper="gaam",
                truth=f"gaam-{layer}",
                generate=lambda n, energy, model=model, name=name: model.sample(n, name),
                training_seconds=trained.history.seconds,
                samples=f"{CHAPTER}/{stem}_{layer}",
                truth_samples=f"{CHAPTER}/truth_{layer}",
                note=f"chapter 3, {ctx.profile} profile: {segmentation.n_cells} cells one "
                f"after the other, hidden {model.config.hidden}",
                architecture=architecture(model.config, ARCHITECTURE),
            )
        )
    return rows
