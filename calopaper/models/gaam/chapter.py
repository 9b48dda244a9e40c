"""Chapter 3 (``03_gaam``): every model the chapter trains, configured from its parameters.

``configs(p)`` turns the chapter's resolved parameters into the truth, the fit settings and one
config per (layer, model); the notebook, the bench and chapter 2 (which compares SAVAE with
chapter 3's middle-layer GAAM) all build their GAAMs through it, so the settings live in the
notebook's parameters cell and the profiles only. ``fidelity_rows`` puts every generated
segmentation on the book's common scale (``calopaper.fidelity``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pandas as pd

from calopaper import fidelity, findings, observables
from calopaper.claims import gaam as gaam_claims
from calopaper.geometry import GAAM_EXTRAP, GAAM_INTERP, GAAM_MIDDLE, Segmentation
from calopaper.models.gaam.data import LAYERS, TRAINING_SEGMENTATIONS, LayerData
from calopaper.models.gaam.model import GAAMConfig
from calopaper.models.gaam.pipeline import LayerModel, source, stored_samples, trained
from calopaper.profiles import chapter_parameters
from calopaper.showers import PARTICLES, PointClouds
from calopaper.store import Store, default_store
from calopaper.training import FitConfig
from calopaper.truth import Source

__all__ = [
    "CHAPTER",
    "MODELS",
    "Chapter",
    "budget_fractions",
    "configs",
    "inner_budget_curve",
    "fidelity_glue",
    "fidelity_rows",
    "fresh_truth",
    "middle_layer",
    "parameters",
    "middle_layer_samples",
]

CHAPTER = "03_gaam"
#: The two models of the chapter: the geometry-aware GAAM and the unconditional baseline ARM.
MODELS = ("GAAM", "unconditional ARM")
#: Hidden masked layers per layer model (gaam §4.1: one for the inner layer, five otherwise).
DEPTH = {"inner": 1, "middle": 5, "outer": 5}
#: Added to the chapter's seed for the independent truth sample behind the common scale's floors.
FRESH_SEED = 7919


@dataclass(frozen=True)
class Chapter:
    """What chapter 3 trains, for one set of resolved parameters.

    Attributes:
        truth: the SUPA `gaam` showers (or the user's file).
        fit: optimisation settings shared by every layer model.
        configs: (layer, model label) -> architecture; the outer layer has no baseline.
        training: layer -> training segmentations (gaam Table 1; the inner ones a parameter).
        wanted: (layer, model label) -> the segmentations that model generates.
    """

    truth: Source
    fit: FitConfig
    configs: dict[tuple[str, str], GAAMConfig]
    training: dict[str, list[str]]
    wanted: dict[tuple[str, str], list[str]]

    def trained(self, layer: str, label: str, *, replica: int = 0, **kwargs) -> LayerModel:
        """The (layer, label) model from the store, or trained now (``pipeline.trained``);
        ``replica`` k > 0 trains it with the chapter's k-th other training seed
        (``findings.replica_seed``)."""
        config = self.configs[layer, label]
        fit = replace(self.fit, seed=findings.replica_seed(self.fit.seed, replica))
        return trained(layer, self.truth, fit, config, segmentations=self.training[layer], **kwargs)


def budget_fractions(epochs: int) -> tuple[float, ...]:
    """The fractions of ``epochs`` a budget curve's snapshots hold: ``findings.BUDGETS``
    rounded to whole epochs as ``training.fit`` keeps them (6 epochs: after 2, 3 and 6, i.e.
    1/3, 1/2, 1), or the nominal ones when rounding merges them (too few epochs).

    Example:
        >>> budget_fractions(6), budget_fractions(1)
        ((0.3333333333333333, 0.5, 1.0), (0.25, 0.5, 1.0))
    """
    actual = tuple(max(1, round(f * epochs)) / epochs for f in findings.BUDGETS)
    return actual if len(set(actual)) == len(actual) else findings.BUDGETS


def inner_budget_curve(
    chapter: Chapter,
    p: SimpleNamespace,
    obs_truth: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
    full: list[Mapping[tuple[str, str, str], Mapping[str, np.ndarray]]],
    *,
    store: Store | None = None,
) -> findings.BudgetCurve:
    """The "inner-hardest" number (``claims.gaam.inner_ratio``: GAAM's mean W1 on the inner
    layer over the next layer's) at ¼, ½ and 1 × the epochs, over the chapter's seeds.

    The ¼ and ½ models are the weights kept during each seed's full training
    (``budget=...``); each generates the Table 3 segmentations as the full one does (same
    showers per segmentation, that seed's sampling seed). The band at each budget combines the
    seed spread with the test-shower bootstrap (``claims.gaam.truth_bootstrap``).

    Args:
        chapter, p: the chapter's models and resolved parameters.
        obs_truth: (layer, segmentation) -> the test showers' observables.
        full: per seed, the full models' generated observables (at least GAAM's Table 3 cases).
    """
    cases = list(gaam_claims.PAPER_T3)
    nan = float("nan")
    bands = []
    for budget in findings.BUDGETS:
        per_seed = []
        for k in range(p.n_seeds):
            if budget == 1.0:
                obs = {(lay, "GAAM", n): full[k][lay, "GAAM", n] for lay, n in cases}
            else:
                models = {
                    lay: chapter.trained(
                        lay,
                        "GAAM",
                        replica=k,
                        budget=budget,
                        device=p.device,
                        store=store,
                        progress=False,
                    )
                    for lay in LAYERS
                }
                seed = findings.replica_seed(p.seed, k)
                obs = {
                    (lay, "GAAM", n): observables.layer_observables(
                        stored_samples(models[lay], n, p.n_samples, seed, store),
                        Segmentation.parse(n),
                    )
                    for lay, n in cases
                }
            per_seed.append(obs)
        measured = []
        for obs in per_seed:
            w1, scaled = gaam_claims.raw_w1(obs_truth, obs)
            measured.append(
                gaam_claims.Measured(w1, scaled, {}, nan, (nan, nan), {}, {}, p.device, p.n_timing)
            )
        errors = gaam_claims.truth_bootstrap(
            obs_truth, per_seed, measured, gaam_claims.inner_ratio, seed=p.seed
        )
        values = [gaam_claims.inner_ratio(m)["inner-hardest"] for m in measured]
        bands.append(findings.band(values, bootstrap_error=errors["inner-hardest"]))
    return findings.BudgetCurve(
        budget_fractions(p.epochs),
        tuple(bands),
        target=gaam_claims.PAPER_INNER_RATIO,
        unit=f"{p.epochs} epochs",
    )


def configs(p: SimpleNamespace) -> Chapter:
    """Chapter 3's truth, fit settings and model configs from its resolved parameters ``p``.

    Example:
        >>> chapter = configs(parameters("smoke", seed=1, device="cpu"))
        >>> chapter.configs["inner", "GAAM"].hidden, chapter.fit.batch_size
        ((64,), 32)
    """
    training = TRAINING_SEGMENTATIONS | {"inner": p.inner_segmentations}
    width = {"inner": p.hidden_inner, "middle": p.hidden_middle, "outer": p.hidden_outer}
    layers = {
        layer: GAAMConfig(
            hidden=(width[layer],) * DEPTH[layer],
            channels=p.channels,
            kernel=p.kernel,
            empty_fraction=p.empty_fraction,
        )
        for layer in training
    }
    labels = {layer: MODELS[: 1 + (layer != "outer")] for layer in training}
    wanted = {(layer, label): training[layer] for layer in training for label in labels[layer]}
    wanted["middle", "GAAM"] = GAAM_MIDDLE + GAAM_INTERP + GAAM_EXTRAP
    wanted["middle", "unconditional ARM"] = GAAM_MIDDLE + GAAM_INTERP
    return Chapter(
        truth=source(p.n_showers, p.seed, p.dataset_path),
        fit=FitConfig(
            epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, grad_clip=10.0, seed=p.seed
        ),
        configs={key: replace(layers[key[0]], conditional=key[1] == "GAAM") for key in wanted},
        training=training,
        wanted=wanted,
    )


def parameters(profile: str, seed: int, path: str = "", device: str = "auto") -> SimpleNamespace:
    """Chapter 3's parameters in ``profile`` with another chapter's resolved ``seed`` (the seed
    offset already added, which resolving chapter 3's parameters adds again: it is taken off
    first, so that with ``CALOPAPER_SEED_OFFSET`` both chapters still share their models), file
    and device."""
    unshifted = seed - findings.offset()
    return chapter_parameters(CHAPTER, profile, seed=unshifted, dataset_path=path, device=device)


def middle_layer(
    profile: str,
    seed: int,
    *,
    path: str = "",
    device: str = "auto",
    progress: bool = True,
    store: Store | None = None,
    replica: int = 0,
) -> LayerModel:
    """Chapter 3's middle-layer GAAM as chapter 3 trains it in ``profile`` with ``seed`` (and
    the point-cloud file ``path`` instead of SUPA), its ``replica``-th training: the same store
    artifact serves both chapters."""
    p = parameters(profile, seed, path, device)
    chapter = configs(p)
    return chapter.trained(
        "middle", "GAAM", device=p.device, progress=progress, store=store, replica=replica
    )


def middle_layer_samples(
    segmentations: list[str],
    profile: str,
    seed: int,
    *,
    path: str = "",
    device: str = "auto",
    progress: bool = True,
    store: Store | None = None,
    replica: int = 0,
) -> dict[str, np.ndarray]:
    """:func:`middle_layer`'s samples (its ``replica``-th training, sampled with that
    training's seed) in each segmentation, as many as chapter 3 generates (its
    ``n_samples``), read from the store artifacts chapter 3 writes or generated now.

    Returns:
        Segmentation name -> (n_samples, n_eta, n_phi) float32 MeV.
    """
    p = parameters(profile, seed, path, device)
    model = middle_layer(
        profile, seed, path=path, device=device, progress=progress, store=store, replica=replica
    )
    sample_seed = findings.replica_seed(seed, replica)
    return {
        name: stored_samples(model, name, p.n_samples, sample_seed, store) for name in segmentations
    }


def fresh_truth(
    chapter: Chapter, n: int, *, store: Store | None = None, progress: bool = True
) -> PointClouds:
    """``n`` showers of the chapter's truth simulated anew with seed ``+ FRESH_SEED``: an
    independent truth sample, the same preset and energies as the test showers, for the floors
    of the common scale.

    Raises:
        ValueError: the truth is a user's file, which has no second sample to draw.
    """
    truth = chapter.truth
    if truth.path:
        msg = f"the truth {truth.path!r} is a file with no independent second sample; the common "
        msg += "scale's floors need simulated showers (leave dataset_path empty)"
        raise ValueError(msg)
    return replace(truth, n=n, seed=truth.seed + FRESH_SEED).clouds(store, progress)


def _features(cells: np.ndarray, energy: np.ndarray, segmentation: Segmentation) -> tuple:
    """(cells / E_inc, high-level observables) of (N, n_eta, n_phi) MeV cells at E_inc (N,) MeV:
    the layer observables (gaam Eqs. 5.1-5.2) and the layer energy."""
    high = observables.layer_observables(cells, segmentation)
    high["energy"] = cells.reshape(len(cells), -1).sum(1)
    return fidelity.low_level(cells, energy), high


def _truth_features(
    truth: LayerData, fresh: PointClouds | None, segmentation: Segmentation
) -> tuple[fidelity.Features, fidelity.Features]:
    """The features of ``truth``'s test showers and of the ``fresh`` truth's in
    ``segmentation`` (no showers without a fresh truth)."""
    energy = 1e3 * truth.clouds.incident_energy  # MeV, as the cells
    test = _features(truth.cells(segmentation, "test"), energy[truth.parts["test"]], segmentation)
    if fresh is None:
        return test, (test[0][:0], {k: v[:0] for k, v in test[1].items()})
    cells = fresh.cells(segmentation, LAYERS[truth.layer])[0]
    return test, _features(cells, 1e3 * fresh.incident_energy, segmentation)


def fidelity_rows(
    chapter: Chapter,
    data: Mapping[str, LayerData],
    samples: Sequence[Mapping[tuple[str, str, str], np.ndarray]],
    *,
    seed: int,
    store: Store | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Every generated sample on the book's common scale (``fidelity.scored``): the test
    showers against each model's, the floors from ``fresh_truth`` (as many showers as the test
    part), the seed spread over the trainings.

    The low-level features are the cells over the incident energy (for the generated showers
    the median one, which ``stored_samples`` conditions on); the high-level ones are the layer
    observables and the layer energy.

    Args:
        chapter: the chapter's truth (``configs(p)``).
        data: layer -> the layer's truth (its ``"test"`` part is compared).
        samples: one dict per training seed (seed 0 first, the same keys): (layer, model label,
            segmentation) -> (N, n_eta, n_phi) generated MeV.
        seed: seeds the classifiers.
        store: where the fresh truth and every measurement are kept (``default_store()`` when
            None); progress: for simulating the fresh truth.

    Returns:
        One row per key of ``samples[0]``, grouped by (layer, segmentation) in their first
        order, models in ``MODELS`` order: "generator" (``f"{label} {layer} {notation}"``, the
        bench's name), "model", "layer", "segmentation", "particle" and ``fidelity.scored``'s
        columns (a user's file has no fresh sample: its rows are empty, the note says why).
    """
    store = store or default_store()
    fresh = None
    if not chapter.truth.path:
        fresh = fresh_truth(chapter, _n_test(data), store=store, progress=progress)
    codes = {int(c): k for k, c in PARTICLES.items()}
    rows, jobs = {}, {}
    for layer, name in dict.fromkeys((layer, name) for layer, _, name in samples[0]):
        segmentation = Segmentation.parse(name)
        test, again = _truth_features(data[layer], fresh, segmentation)
        clouds = data[layer].clouds
        median = np.median(1e3 * clouds.incident_energy)  # MeV, what stored_samples conditions on
        particle = ", ".join(sorted({codes[int(c)] for c in clouds.particle}))
        for label in [m for m in MODELS if (layer, m, name) in samples[0]]:
            generated = [s[layer, label, name] for s in samples]
            replicas = [_features(g, np.full(len(g), median), segmentation) for g in generated]
            rows[layer, label, name] = {
                "generator": f"{label} {layer} {segmentation.notation}",
                "model": label,
                "layer": layer,
                "segmentation": segmentation.notation,
                "particle": particle,
            }
            jobs[layer, label, name] = (test, again, replicas)
    scores = fidelity.scored_all(jobs, seed=seed, store=store, progress=progress)
    table = pd.DataFrame([rows[key] | scores[key] for key in rows])
    if fresh is None:
        table["note"] = "the truth is a user's file: no independent truth sample for floors"
    return table


def fidelity_glue(table: pd.DataFrame) -> dict[str, object]:
    """The numbers the page quotes from ``fidelity_rows``: the rows of lowest and highest
    high-level AUC, the median high-level floor and the showers per sample ("n/a" and NaN
    where no row was measured), and the sentence on the seed spread (``_seed_sentence``).

    Example:
        >>> table = pd.DataFrame({"generator": ["a", "b"], "AUC high": [0.6, 0.9],
        ...     "AUC high floor": [0.5, 0.52], "showers": [240, 240], "seeds": [3, 3],
        ...     "AUC high seed s": [0.01, 0.04]})
        >>> glued = fidelity_glue(table)
        >>> glued["fidelity_worst"]
        'b'
        >>> glued["fidelity_seed_sentence"]
        'Over the 3 training seeds, the high-level AUC varies most for b: standard deviation 0.040.'
    """
    scored = table.dropna(subset=["AUC high"]).sort_values("AUC high")
    out: dict[str, object] = {"fidelity_showers": int(table["showers"].max())}
    for name, i in {"best": 0, "worst": -1}.items():
        found = len(scored) > 0
        out[f"fidelity_{name}"] = scored["generator"].iloc[i] if found else "n/a"
        out[f"fidelity_{name}_auc"] = float(scored["AUC high"].iloc[i]) if found else np.nan
    out["fidelity_floor"] = float(scored["AUC high floor"].median()) if len(scored) else np.nan
    out["fidelity_seed_sentence"] = _seed_sentence(table)
    return out


def _seed_sentence(table: pd.DataFrame) -> str:
    """The largest standard deviation over the training seeds of a row's high-level AUC, with
    its row and the seed count, as a sentence (a sentence saying so where there is none: one
    seed, or no row measured)."""
    spread = table.dropna(subset=["AUC high seed s"]).sort_values("AUC high seed s")
    seeds = int(table["seeds"].max())
    if not len(spread):
        return f"With {seeds} training seed(s) per model, no seed spread was measured."
    widest = spread.iloc[-1]
    return (
        f"Over the {seeds} training seeds, the high-level AUC varies most for "
        f"{widest['generator']}: standard deviation {widest['AUC high seed s']:.3f}."
    )


def _n_test(data: Mapping[str, LayerData]) -> int:
    """Showers in the test part (the same for every layer: one split of the showers)."""
    return len(next(iter(data.values())).parts["test"])
