"""The bench's built-in families: the simulators and the models of chapters 2-5.

Each function builds, for ``ctx.profile``, exactly the models its chapter trains (the chapter
notebook's own parameters cell, resolved for the profile, through the same cached ``trained``
calls), so the bench loads the chapter's stored models instead of training its own.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from calopaper.bench.registry import BenchContext, Generator, Unavailable, architecture

__all__ = ["dvae", "gaam", "reference_simulator", "savae", "supa"]

#: The fields that size a GAAM (``n_classes``, from the data's largest energy, is left out: it
#: sizes only the last linear map).
GAAM_ARCHITECTURE = ("hidden", "channels", "kernel", "length", "conditional")
#: The fields that size a CaloDVAE and its sampling.
DVAE_ARCHITECTURE = (
    "encoder_hidden",
    "decoder_hidden",
    "n_levels",
    "n_latent",
    "gibbs_steps_sample",
)
#: Incident energies (GeV) at which energy-dependent generators are timed.
CALOGAN_ENERGIES = (1.0, 10.0, 100.0)
#: Row label of CaloDVAE's Gibbs sampling alone, before the particle.
GIBBS_PREFIX = "CaloDVAE Gibbs sampling only, "
ILD_ENERGIES = (10.0, 50.0, 90.0)


def supa(ctx: BenchContext) -> list[Generator]:
    """SUPA, every preset (numpy, one process): supa Table 1's speed."""
    from calopaper.sim import supa as sim

    def make(preset: str) -> Generator:
        config = sim.PRESETS[preset]

        def generate(n: int, energy: float | None) -> object:
            return sim.simulate(config, n, seed=0, energy=energy)

        return Generator(
            name=f"SUPA {preset}",
            paper="supa",
            truth="calogan" if preset == "calogan" else "gaam-middle" if preset == "gaam" else "",
            generate=generate,
            energies=CALOGAN_ENERGIES if config.energy_max > config.energy_min else (),
            note=f"SUPA preset {preset!r}, vectorised numpy, {config.particle}",
            network=False,
        )

    return [make(preset) for preset in sim.PRESETS]


def reference_simulator(ctx: BenchContext) -> list[Generator]:
    """The book's detailed reference simulator (GFlash-style) in both calorimeters."""
    from calopaper.sim import gflash

    def make(name: str, energies: tuple[float, ...]) -> Generator:
        def generate(n: int, energy: float | None) -> object:
            return gflash.simulate(name, n, seed=0, energy=energy)

        return Generator(
            name=f"reference simulator {name}",
            paper="caloclouds3" if name == "ild" else "calodvae",
            truth=name,
            generate=generate,
            energies=energies,
            note=f"GFlash-style parameterised shower in the {name} calorimeter (numpy)",
            network=False,
        )

    return [make("calogan", CALOGAN_ENERGIES), make("ild", ILD_ENERGIES)]


def savae(ctx: BenchContext) -> list[Generator]:
    """Chapter 2's main SAVAE and its geometry-specific (48,48) model, generating (48,48)."""
    from calopaper.models import savae as family

    p = ctx.chapter_parameters("02_savae")
    showers = family.chapter_showers(p, store=ctx.store, progress=False)
    config, fit, variant, _ = family.chapter_main(
        p, showers, device=ctx.device, store=ctx.store, progress=False
    )
    rows = []
    for label, cfg, stem in (
        ("SAVAE (48,48)", config, "savae"),
        ("geometry-specific SAVAE (48,48)", family.geometry_specific(config, "48x48"), ""),
    ):
        try:
            model, history = family.trained(
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
                samples=f"02_savae/{stem or 'geometry_specific'}",
                truth_samples="02_savae/truth",
                note=f"chapter 2, {ctx.profile} profile, variant {variant!r}: latent "
                f"{cfg.latent_dim}, hidden {cfg.hidden}, trained on {', '.join(cfg.segmentations)}",
                architecture=architecture(cfg, ("latent_dim", "hidden", "heads")),
            )
        )
    return rows


def gaam(ctx: BenchContext) -> list[Generator]:
    """Chapter 3's GAAM of each layer and the middle layer's unconditional ARM.

    Each generates its layer's largest training segmentation (the chapter's timing choice).
    """
    from calopaper.geometry import Segmentation
    from calopaper.models import gaam as family

    p = ctx.chapter_parameters("03_gaam")
    truth = family.source(p.n_showers, p.seed, p.dataset_path)
    fit = replace(family.FIT, epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=p.seed)
    hidden = {
        "inner": (p.hidden_inner,),
        "middle": (p.hidden_middle,) * 5,
        "outer": (p.hidden_outer,) * 5,
    }
    shared = {"channels": p.channels, "kernel": p.kernel, "empty_fraction": p.empty_fraction}
    training = family.TRAINING_SEGMENTATIONS | {"inner": p.inner_segmentations}
    wanted = [("inner", True), ("middle", True), ("outer", True), ("middle", False)]
    rows = []
    for layer, conditional in wanted:
        name = max(training[layer], key=lambda s: Segmentation.parse(s).n_cells)
        label = "GAAM" if conditional else "unconditional ARM"
        title = f"{label} {layer} {Segmentation.parse(name).notation}"
        config = replace(
            family.DEFAULTS[layer], hidden=hidden[layer], conditional=conditional, **shared
        )
        try:
            trained = family.trained(
                layer,
                truth,
                fit,
                config,
                segmentations=training[layer],
                device=ctx.device,
                progress=False,
                store=ctx.store,
            )
        except Unavailable as e:
            rows.append(Unavailable(str(e), title))
            continue
        model = trained.model
        stem = "gaam" if conditional else "unconditional"
        rows.append(
            Generator(
                name=title,
                paper="gaam",
                truth="gaam-middle" if layer == "middle" else f"gaam-{layer}",
                generate=lambda n, energy, model=model, name=name: model.sample(n, name),
                training_seconds=trained.history.seconds,
                samples=f"03_gaam/{stem}_{layer}" if layer == "middle" else "",
                truth_samples=f"03_gaam/truth_{layer}" if layer == "middle" else "",
                note=f"chapter 3, {ctx.profile} profile: {Segmentation.parse(name).n_cells} "
                f"cells one after the other, hidden {config.hidden}",
                architecture=architecture(model.config, GAAM_ARCHITECTURE),
            )
        )
    return rows


def dvae(ctx: BenchContext) -> list[Generator]:
    """Chapter 4's CaloDVAE for e+ (the first grid point: architecture, τ_z, τ_xm)."""
    from calopaper.models import dvae as family
    from calopaper.training import FitConfig

    p = ctx.chapter_parameters("04_dvae")
    if p.dataset_path:
        raise Unavailable("chapter 4 reads a user file; the bench uses SUPA e+")
    particle = p.particles[0]
    showers = family.Showers.load(
        family.supa_source(particle, p.n_showers, p.seed), split_seed=p.seed, store=ctx.store
    )
    fit = FitConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, seed=p.seed)
    fields = {k: v for k, v in vars(p).items() if k in family.DVAEConfig.__dataclass_fields__}
    grid = (p.grid_architectures[0], p.grid_tau_z[0], p.grid_tau_xm[0])
    config = family.configure(
        showers, grid[0], p.width_scale, tau_z=grid[1], tau_xm=grid[2], **fields
    )
    model, history = family.trained(config, fit, showers, device=ctx.device, store=ctx.store)
    energies = showers.part("train")[1]
    generator = torch.Generator().manual_seed(p.seed)

    def generate(n: int, energy: float | None) -> object:
        drawn = np.random.default_rng(n).choice(energies, n) if energy is None else energy
        return family.sample(model, n, drawn, generator)

    def gibbs(n: int, energy: float | None) -> object:
        with torch.no_grad():
            return model.prior.sample(n, model.config.gibbs_steps_sample, generator)

    tag = {"e+": "eplus", "gamma": "gamma", "pi+": "piplus"}.get(particle, particle)
    note = (
        f"chapter 4, {ctx.profile} profile: architecture {grid[0]} × {p.width_scale:g}, "
        f"{model.config.gibbs_steps_sample} Gibbs sweeps per shower"
    )
    return [
        Generator(
            name=f"CaloDVAE {particle}",
            paper="calodvae",
            truth="calogan",
            generate=generate,
            training_seconds=history.seconds,
            samples=f"04_dvae/calodvae_{tag}",
            truth_samples=f"04_dvae/truth_{tag}",
            note=note,
            architecture=architecture(model.config, DVAE_ARCHITECTURE),
        ),
        Generator(
            name=f"{GIBBS_PREFIX}{particle}",
            paper="calodvae",
            truth="",
            generate=gibbs,
            note="the RBM prior's block-Gibbs sampling alone: " + note,
            architecture=architecture(model.config, DVAE_ARCHITECTURE),
        ),
    ]
