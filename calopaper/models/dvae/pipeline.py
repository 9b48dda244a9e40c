"""CaloDVAE's pipeline: configure, train once through the store, sample, select by the KS test.

The verbs every model family shares: ``configure`` builds the model's config dataclass for
one particle's ``Showers``, ``fit`` trains now, ``trained`` returns the stored model (keyed by
both configs, the showers' ``Source.key`` and the model's code) or trains and stores it, and
``sample(model, n, cond, generator)`` generates numpy showers in chunks.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass, replace
from functools import partial
from itertools import product
from pathlib import Path

import numpy as np
import torch

from calopaper import metrics, parallel, timing, training
from calopaper.figures import digest
from calopaper.models.dvae.data import (
    SHAPES,
    Showers,
    non_showering_fraction,
    read_cells,
    shower_shapes,
)
from calopaper.models.dvae.model import DVAE, DVAEConfig, architecture
from calopaper.models.dvae.preprocessing import CellStandardiser
from calopaper.store import Store, default_store
from calopaper.training import FitConfig, History
from calopaper.truth import Source

__all__ = [
    "ABLATIONS",
    "Candidate",
    "EnergyResponse",
    "ablation",
    "configure",
    "generation_timing",
    "response_figure",
    "non_showering_check",
    "reconstruct",
    "sample",
    "select",
    "select_each",
    "trained",
]

#: Code whose source is part of a trained model's key: the modules that build, train and run the
#: model and those that turn simulated showers into its CaloGAN cells (``training.trained`` adds
#: ``model``). This module is not among them, so changing how models are evaluated or cached does
#: not retrain them.
CODE = (
    "calopaper.models.dvae.rbm",
    "calopaper.models.dvae.preprocessing",
    "calopaper.models.dvae.data",
    "calopaper.geometry",
    "calopaper.datasets",
)
#: Code behind the stored evaluations of this module (ablation rows, timings).
EVALUATION_CODE = (*CODE, "calopaper.models.dvae.model", __name__)


def configure(showers: Showers, name: str = "I", scale: float = 1.0, **fields) -> DVAEConfig:
    """calodvae Table 2's architecture ``name``, standardised on ``showers``' training part.

    Args:
        showers: one particle's showers; the per-cell standardisation of calodvae App. 6.1 is
            fitted on their training part.
        name: "I" ... "IV" (``model.ARCHITECTURES``).
        scale: multiplies the hidden widths and latents (1 = the paper's sizes).
        **fields: other ``DVAEConfig`` fields (temperatures, KL weight, chains...).
    """
    cells, _ = showers.part("train")
    standardisation = CellStandardiser.fit(cells).to_config()
    return architecture(name, scale=scale, standardisation=standardisation, **fields)


def trained(
    config: DVAEConfig,
    fit_config: FitConfig,
    showers: Showers,
    *,
    device: str = "auto",
    store: Store | None = None,
    progress: bool = False,
    budget: float = 1.0,
) -> tuple[DVAE, History]:
    """The CaloDVAE trained with these configs on ``showers``, from the store or trained now.

    The store key holds both configs, ``showers.key`` (the truth's ``Source.key``: simulator
    code, or the SHA-256 of a user file's bytes; and the split) and the source of ``CODE``, so
    an edited simulator, file or model retrains instead of loading a stale model.

    ``budget`` < 1 (``training.SNAPSHOTS``) trains a model for that fraction of the epochs,
    ``max(1, round(budget * epochs))``: the KL annealing follows the training's progress
    (``DVAE.set_progress``), so a shorter training is not a snapshot of the full one.

    Returns:
        The model (eval mode, on ``device``) and its loss history.
    """
    return training.trained(
        DVAE,
        config,
        fit_config,
        lambda: (showers.tensors("train"), None),
        showers.key,
        device=device,
        store=store,
        progress=progress,
        code=CODE,
        budget=budget,
    )


def sample(
    model: DVAE,
    n: int,
    cond: np.ndarray | float,
    generator: torch.Generator | int | None = None,
    chunk: int = 5000,
    gibbs_steps: int | None = None,
) -> np.ndarray:
    """``n`` showers at incident energies ``cond``, generated ``chunk`` at a time.

    Args:
        model: a CaloDVAE (any device).
        n: number of showers.
        cond: (n,) incident energies or one energy for all, GeV.
        generator: random stream, or an int seed for a fresh CPU generator.
        chunk: showers per call of ``DVAE.sample``.
        gibbs_steps: Gibbs sweeps of the prior (default: the model's ``gibbs_steps_sample``).

    Returns:
        (n, 504) float32 cell energies, MeV (``preprocessing.split_layers`` gives the layers).
    """
    if isinstance(generator, int):
        generator = torch.Generator().manual_seed(generator)
    energy = np.array(np.broadcast_to(np.asarray(cond, np.float32), (n,)))  # writable copy
    parts = [
        model.sample(len(c), torch.from_numpy(np.ascontiguousarray(c)), generator, gibbs_steps)
        for c in np.array_split(energy, max(1, int(np.ceil(n / chunk))))
    ]
    return torch.cat(parts).cpu().numpy()


def reconstruct(
    model: DVAE, cells: np.ndarray, energy: np.ndarray, generator: torch.Generator | int | None
) -> np.ndarray:
    """Encode→decode ``cells`` (N, 504) MeV at ``energy`` (N,) GeV; (N, 504) float32 MeV."""
    if isinstance(generator, int):
        generator = torch.Generator().manual_seed(generator)
    device = model.prior.weight.device
    x = torch.from_numpy(np.ascontiguousarray(cells, np.float32)).to(device)
    e = torch.from_numpy(np.ascontiguousarray(energy, np.float32)).to(device)
    return model.reconstruct(x, e, generator).cpu().numpy()


def non_showering_check(
    model: DVAE, cells: np.ndarray, energy: np.ndarray, sweeps: tuple[int, ...], seed: int
) -> dict[str, float]:
    """Where a wrong non-showering fraction comes from: decoder/encoder or the RBM prior.

    The fraction of showers with layer-1 sparsity < 0.05 (``data.non_showering_fraction``) in
    the truth ``cells``, in their encode→decode reconstructions, and in prior samples after
    each number of Gibbs ``sweeps`` from a random start, all at the truth's energies. If the
    reconstructions match the truth and the prior samples do not, the prior is at fault; if
    more sweeps change nothing, the RBM is sampled well and has learned the wrong distribution.

    Returns:
        ``"truth"``, ``"reconstruction"`` and ``"prior, {k} sweeps"`` -> fraction.
    """
    fractions = {
        "truth": non_showering_fraction(cells),
        "reconstruction": non_showering_fraction(reconstruct(model, cells, energy, seed)),
    }
    for k in sweeps:
        generated = sample(model, len(energy), energy, seed + k, gibbs_steps=k)
        fractions[f"prior, {k} sweeps"] = non_showering_fraction(generated)
    return fractions


@dataclass(frozen=True, eq=False)
class Candidate:
    """One trained point of the model-selection grid and its validation KS statistics.

    Attributes:
        name: the grid point, e.g. ``("I", 0.2, 0.2)`` (architecture, τ_z, τ_xm).
        model, history: the trained model and its loss history.
        ks, pvalues: ``data.SHAPES`` variable -> two-sample KS statistic and p-value of the
            validation showers against one generated shower per validation shower.
    """

    name: Hashable
    model: DVAE
    history: History
    ks: dict[str, float]
    pvalues: dict[str, float]

    @property
    def mean_ks(self) -> float:
        """The selection score: the mean KS statistic over the twelve variables."""
        return float(np.mean(list(self.ks.values())))

    @property
    def scores(self) -> dict[str, float]:
        """A row of the selection table: mean and max KS, median p-value, training seconds."""
        return {
            "mean KS": self.mean_ks,
            "max KS": max(self.ks.values()),
            "median KS p-value": float(np.median(list(self.pvalues.values()))),
            "training [s]": self.history.seconds,
        }


def select(
    configs: Mapping[Hashable, DVAEConfig],
    fit_config: FitConfig,
    showers: Showers,
    *,
    seed: int,
    device: str = "auto",
    store: Store | None = None,
) -> list[Candidate]:
    """Train every config (``trained``) and score it by the KS test (calodvae App. 6.4).

    Each model generates one shower per validation shower, at its incident energy (generator
    seed ``seed``), and is compared with the validation showers on calodvae Fig. 2's nine
    shower shapes and three sparsities. The best candidate has the smallest ``mean_ks``.

    Returns:
        One ``Candidate`` per config, in the order of ``configs``.
    """
    options = {"seed": seed, "device": device, "store": store}
    return select_each({"": configs}, fit_config, {"": showers}, **options)[""]


def select_each(
    grids: Mapping[str, Mapping[Hashable, DVAEConfig]],
    fit_config: FitConfig,
    showers: Mapping[str, Showers],
    *,
    seed: int,
    device: str = "auto",
    store: Store | None = None,
) -> dict[str, list[Candidate]]:
    """:func:`select` for several datasets (e.g. particles) at once: ``grids[q]`` is scored on
    ``showers[q]``, and every model of every grid is trained side by side (``parallel.run``).

    Returns:
        Dataset -> its candidates, in the order of ``grids``.
    """
    fits = parallel.run(
        {
            (q, name): partial(trained, config, fit_config, showers[q], device=device, store=store)
            for q, grid in grids.items()
            for name, config in grid.items()
        }
    )
    out = {}
    for q, grid in grids.items():
        cells, energy = showers[q].part("val")
        truth = shower_shapes(cells)
        out[q] = []
        for name in grid:
            model, history = fits[q, name]
            fake = shower_shapes(sample(model, len(energy), energy, seed))
            ks = {v: metrics.ks(truth[v], fake[v]) for v in SHAPES}
            pvalues = {v: metrics.ks_pvalue(truth[v], fake[v]) for v in SHAPES}
            out[q].append(Candidate(name, model, history, ks, pvalues))
    return out


def generation_timing(model: DVAE, n: int, seed: int = 0) -> dict[str, float]:
    """Per-shower time of the whole generation and of the RBM's Gibbs sampling alone, at 50 GeV.

    Two ``timing.stored`` medians (``.cpu()`` waits for a GPU). Returns a row of the chapter's
    timing table: ``"ms/shower"``, ``"Gibbs sampling ms/shower"``, their ratio ``"Gibbs share"``
    with its ``"Gibbs share error"`` (from the repetitions' spreads) and the ``"parameters"``.
    """
    weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    what = {"weights": digest(weights), "config": asdict(model.config), "seed": seed}
    generator = torch.Generator().manual_seed(seed)

    def generate(k: int) -> torch.Tensor:
        return model.sample(k, torch.full((k,), 50.0), generator=generator).cpu()

    def gibbs(k: int) -> torch.Tensor:
        return model.prior.sample(k, model.config.gibbs_steps_sample, generator)[0].cpu()

    # at ~0.1 ms per shower one call of n = 1,000 takes ~0.1 s: repeat for a second or more
    full, prior = (
        timing.stored(
            what | {"part": part}, call, n, code=EVALUATION_CODE,
            device=str(model.prior.weight.device), repeats=5, min_seconds=1.0, max_repeats=50,
        )
        for part, call in (("all", generate), ("gibbs", gibbs))
    )  # fmt: skip
    share, error = timing.ratio_with_error(
        prior.ms_median, prior.ms_error, full.ms_median, full.ms_error
    )
    return {
        "ms/shower": full.ms_median,
        "Gibbs sampling ms/shower": prior.ms_median,
        "Gibbs share": share,
        "Gibbs share error": error,
        "parameters": sum(t.numel() for t in model.parameters()),
    }


@dataclass(frozen=True, eq=False)
class EnergyResponse:
    """Showers of one particle at fixed requested energies (calodvae Fig. 4, App. 6.5).

    Attributes:
        cells: (label, energy [GeV]) -> (n, 504) MeV; label is ``"truth"`` or a model's name.
        energies: the requested energies, GeV.
    """

    cells: dict[tuple[str, float], np.ndarray]
    energies: tuple[float, ...]

    @classmethod
    def measure(
        cls,
        models: Mapping[str, DVAE],
        energies: tuple[float, ...],
        n: int,
        seed: int,
        truth: Mapping[float, Source] | None = None,
    ) -> EnergyResponse:
        """``n`` showers per energy from every model (generator seed ``seed + j`` at the j-th
        energy) and, when given, from each energy's truth ``Source``."""
        cells = {("truth", e): read_cells(source)[0] for e, source in (truth or {}).items()}
        for j, e in enumerate(energies):
            cells |= {(name, e): sample(m, n, e, seed + j) for name, m in models.items()}
        return cls(cells, tuple(energies))

    @property
    def labels(self) -> list[str]:
        """``"truth"`` (when simulated) and the models, in order."""
        return list(dict.fromkeys(label for label, _ in self.cells))

    def total(self, label: str, energy: float) -> np.ndarray:
        """(n,) deposited energies E_tot, GeV; NaN when ``label`` has no showers there."""
        cells = self.cells.get((label, energy))
        return cells.sum(1) / 1e3 if cells is not None else np.full(1, np.nan)

    def bias(self, label: str, energies: tuple[float, ...]) -> tuple[float, ...]:
        """|mean E_tot of ``label`` / mean E_tot of the truth - 1| at each of ``energies``."""
        return tuple(
            abs(self.total(label, e).mean() / self.total("truth", e).mean() - 1) for e in energies
        )

    def relative_width(self, label: str, energy: float) -> float:
        """σ / mean of E_tot of ``label`` at ``energy``."""
        total = self.total(label, energy)
        return float(total.std() / total.mean())

    def rows(self) -> list[dict[str, float]]:
        """Per energy: mean and width of E_tot per label, and each model's ratios to the truth.

        A ratio to a zero truth width (SUPA's contained showers at one energy) is inf.
        """
        models = [x for x in self.labels if x != "truth"]
        rows = []
        for e in self.energies:
            row = {"E [GeV]": e}
            for label in ("truth", *models):
                total = self.total(label, e).astype(np.float64)
                row |= {f"{label} mean [GeV]": total.mean(), f"{label} width [GeV]": total.std()}
            with np.errstate(divide="ignore", invalid="ignore"):
                for label, x in product(models, ("mean", "width")):
                    row[f"{label} / truth {x}"] = (
                        row[f"{label} {x} [GeV]"] / row[f"truth {x} [GeV]"]
                    )
            rows.append(row)
        return rows


#: Departures from the reference code's training, one per row of the chapter's ablation: the
#: settings calopaper used before it followed the reference code (persistent chains with 5
#: sweeps, KL weight 0.1, visible biases starting at 0).
ABLATIONS: dict[str, dict] = {
    "persistent chains, 5 sweeps (PCD)": {"negative_phase": "persistent", "gibbs_steps_train": 5},
    "KL weight 0.1": {"beta": 0.1},
    "RBM visible bias starts at 0": {"rbm_visible_bias": 0.0},
}


def ablation(
    config: DVAEConfig,
    fit_config: FitConfig,
    showers: Showers,
    *,
    seed: int,
    sweeps: tuple[int, ...] = (40, 1000),
    device: str = "auto",
    store: Store | None = None,
) -> list[dict]:
    """``config`` and each of :data:`ABLATIONS` applied to it, trained at the same budget.

    Per row: the validation KS score of ``select`` and :func:`non_showering_check` on the
    validation showers (truth, encode→decode, prior after each of ``sweeps``).

    Returns:
        One dict per row: ``"setting"``, ``"mean KS"``, the non-showering fractions and
        ``"training [s]"``.
    """
    configs = {"reference code (main model)": config}
    configs |= {name: replace(config, **fields) for name, fields in ABLATIONS.items()}
    store = store or default_store()
    key = {
        "configs": {name: asdict(c) for name, c in configs.items()},
        "fit": fit_config.key(),
        "data": showers.key,
        "seed": seed,
        "sweeps": list(sweeps),
    }

    def build(tmp: Path) -> None:
        cells, energy = showers.part("val")
        rows = []
        for c in select(configs, fit_config, showers, seed=seed, device=device, store=store):
            check = non_showering_check(c.model, cells, energy, sweeps, seed)
            rows.append(
                {"setting": c.name, "mean KS": c.mean_ks}
                | {f"non-showering: {k}": v for k, v in check.items()}
                | {"training [s]": c.history.seconds}
            )
        tmp.write_text(json.dumps(rows))

    path = store.get_or_build(
        "evaluations/dvae_ablation", key, build, suffix=".rows.json", code=EVALUATION_CODE
    )
    return json.loads(path.read_text())


def response_figure(
    responses: Mapping[str, EnergyResponse],
    colours: Mapping[str, str],
    titles: Mapping[str, str],
):
    """calodvae Fig. 4: E_tot at every requested energy, one panel per particle.

    Args:
        responses: particle -> its ``EnergyResponse`` (truth and models).
        colours: model label -> colour; the truth is filled grey.
        titles: particle -> its name in mathtext.

    Returns:
        The figure: logarithmic axes, requested energies dotted.
    """
    import matplotlib.pyplot as plt

    from calopaper import plotting

    fig, axes = plt.subplots(
        1, len(responses), figsize=(6.5 * len(responses), 4.5), layout="constrained", squeeze=False
    )
    bins = np.geomspace(0.05, 300.0, 121)  # GeV; logarithmic, shared by all requested energies
    style = {"truth_label": "SUPA", "density": False, "logy": True, "colours": dict(colours)}
    for ax, (q, r) in zip(axes[0], responses.items(), strict=True):
        models = [label for label in r.labels if label != "truth"]
        for e in r.energies:
            fake = {name: r.total(name, e) for name in models}
            plotting.hist_compare(r.total("truth", e), fake, bins, ax=ax, **style)
            ax.axvline(e, color="0.3", ls=":", lw=0.8)
        legend = dict(zip(*ax.get_legend_handles_labels()[::-1], strict=True))
        ax.legend(legend.values(), legend.keys(), frameon=False, fontsize="small")
        ax.set(xscale="log", xlabel=r"$E_\mathrm{tot}$ [GeV]")
        requested = ", ".join(f"{e:g}" for e in r.energies)
        ax.set_title(f"{titles.get(q, q)}: requested {requested} GeV (dotted)", fontsize=11)
    return fig
