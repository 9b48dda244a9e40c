"""Run profiles (smoke, book, paper) and the resolver every notebook's parameters cell uses.

A chapter's parameters cell is the only list of its parameters. The cell after it calls
``p = resolve("02_savae", globals())``, which reads the parameters cell back from the kernel's
input history, takes each parameter's type from its literal default (or, for a ``None``
default, from the profile's value), fills the ``None``s from the profile, and refuses unknown
names (e.g. injected by ``papermill -p``) and values of the wrong type with a one-line error.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from calopaper import dryrun, findings
from calopaper.device import resolve_device
from calopaper.parallel import set_workers
from calopaper.provenance import injected
from calopaper.timing import set_device_policy, set_threads

__all__ = [
    "PROFILE_NAMES",
    "CHAPTERS",
    "THREADS",
    "ParameterError",
    "resolve",
    "chapter_parameters",
    "declared_parameters",
    "parameters_cell",
    "beside_paper",
    "check_value",
    "last_resolved",
    "profile_values",
]

PROFILE_NAMES = ("smoke", "book", "paper")

#: Per chapter, the values each profile gives to the parameters a notebook leaves at ``None``.
#: ``smoke``: every cell runs on tiny data (tests); ``book``: the default 2-core build;
#: ``paper``: the papers' sample sizes and epochs (GPU).
CHAPTERS: dict[str, dict[str, dict[str, Any]]] = {
    "01_dataset": {
        "smoke": {"n_showers": 200, "n_images": 200},
        "book": {"n_showers": 10000, "n_images": 2000},
        "paper": {"n_showers": 10000, "n_images": 10000},
    },
    "02_savae": {
        "smoke": {
            "n_showers": 300,
            "n_seeds": 1,
            "epochs": 1,
            "batch_size": 64,
            "n_samples": 30,
            "n_fidelity": 30,
            "sweep_showers": 30,
            "sweep_epochs": 1,
            "n_timing": 20,
        },
        "book": {
            "n_showers": 3000,
            "n_seeds": 3,
            "epochs": 12,
            "batch_size": 128,
            "n_samples": 500,
            "n_fidelity": 120,
            "sweep_showers": 200,
            "sweep_epochs": 6,
            "n_timing": 100,
        },
        "paper": {
            "n_showers": 10000,
            "n_seeds": 3,
            "epochs": 500,
            "batch_size": 128,
            "n_samples": 1000,
            "n_fidelity": 1000,
            "sweep_showers": 7000,
            "sweep_epochs": 100,
            "n_timing": 10000,
        },
    },
    "05_supa": {
        "smoke": {"n_showers": 300, "n_bench": 200, "n_gflash": 200},
        "book": {"n_showers": 10000, "n_bench": 2000, "n_gflash": 5000},
        "paper": {"n_showers": 100000, "n_bench": 20000, "n_gflash": 100000},
    },
    "05_supa_study": {
        "smoke": {
            "n_showers": 400,
            "n_seeds": 1,
            "variants": [8, 9, 10],
            "epochs": 1,
            "batch_size": 128,
            "resolution_variant": 10,
            "resolution_layers": [1],
            "n_boot": 10,
        },
        "book": {
            "n_showers": 5000,
            "n_seeds": 3,
            "variants": [1, 2, 3, 5, 7, 9, 10],
            "epochs": 8,
            "batch_size": 256,
            "resolution_variant": 5,
            "resolution_layers": [1],
            "n_boot": 50,
        },
        "paper": {
            "n_showers": 100000,
            "n_seeds": 3,
            "variants": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "epochs": 100,
            "batch_size": 256,
            "resolution_variant": 1,
            "resolution_layers": [0, 1, 2],
            "n_boot": 200,
        },
    },
    "04_dvae": {
        "smoke": {
            "n_showers": 300,
            "n_seeds": 1,
            "n_response": 40,
            "width_scale": 0.1,
            "epochs": 1,
            "batch_size": 100,
            "lr": 1e-3,
            "beta": 1.0,
            "gibbs_steps_sample": 10,
            "grid_architectures": ["I"],
            "grid_tau_z": [1 / 5],
            "grid_tau_xm": [1 / 9],
            "n_timing": 100,
        },
        "book": {
            "n_showers": 10000,
            # 5, not 3: one training's e+/γ energy bias ranges from 2 % to 21 % on the same
            # showers, and three seeds gave spreads s from 0.5 % to 7.2 % (book/conventions.md)
            "n_seeds": 5,
            "n_response": 1000,
            "width_scale": 1.0,
            "epochs": 10,
            "batch_size": 100,
            "lr": 1e-3,
            "beta": 1.0,
            "gibbs_steps_sample": 40,
            "grid_architectures": ["I"],
            "grid_tau_z": [1 / 5],
            "grid_tau_xm": [1 / 9],
            "n_timing": 1000,
        },
        "paper": {
            "n_showers": 100000,
            "n_seeds": 3,
            "n_response": 10000,
            "width_scale": 1.0,
            "epochs": 100,
            "batch_size": 100,
            "lr": 1e-4,
            "beta": 1.0,
            "gibbs_steps_sample": 40,
            "grid_architectures": ["I", "II", "III", "IV"],
            "grid_tau_z": [1 / 5, 1 / 7, 1 / 9],
            "grid_tau_xm": [1 / 5, 1 / 7, 1 / 9],
            "n_timing": 10000,
        },
    },
    "03_gaam": {
        "smoke": {
            "n_showers": 50,
            "n_seeds": 1,
            "epochs": 1,
            "n_samples": 10,
            "inner_segmentations": ["48x4", "192x12"],
            "n_timing": 5,
        },
        "book": {
            "n_showers": 1200,
            "n_seeds": 3,
            "epochs": 6,
            "n_samples": 240,
            "inner_segmentations": ["48x4", "48x12", "192x4", "192x12"],
            "n_timing": 100,
        },
        "paper": {
            "n_showers": 10000,
            "n_seeds": 3,
            "epochs": 200,
            "n_samples": 2000,
            "inner_segmentations": [
                "48x4",
                "48x12",
                "48x24",
                "48x48",
                "192x4",
                "192x12",
                "192x24",
                "192x48",
            ],
            "n_timing": 1000,
        },
    },
    "07_speed": {
        "smoke": {"batches": [1, 16]},
        "book": {"batches": [1, 16, 128, 1024]},
        "paper": {"batches": [1, 4, 16, 64, 256, 1024]},
    },
}

_CC_SMOKE = {
    # the corrections generate a shower per training shower (up to 500), three times per model
    # and budget: most of the smoke chapter's time at 150
    "n_train": 50,
    "cc3_n_train": 50,
    "flow_schedule": "constant",
    "distill_lr": 1e-3,
    "point_optimiser": "adam",
    "lr_ablation": False,
    "n_seeds": 1,
    "n_test": 40,
    "n_fixed": 4,
    "flow_epochs": 2,
    "flow_batch": 64,
    "flow_lr": 3e-3,
    "points": 20000,
    "point_epochs": 1,
    "point_batch": 1024,
    "point_lr": 2e-3,
    "distill_epochs": 1,
    "distill_steps": 8,
    "cc3_flow_hidden": 16,
    "cc3_hidden": 32,
    "cc2_flow_affine": 2,
    "cc2_flow_spline": 1,
    "cc2_flow_hidden": 16,
    "cc2_hidden": 32,
    "n_timing": 3,
    "timing_energies": [10.0, 50.0, 90.0],
    "n_boot": 3,
    "fixed_energies": [10.0, 50.0, 100.0],
    "n_diphoton": 10,
    # half-width of the common scale's low-level window, cells: 5 x 5 about the shower axis,
    # 750 features with 82 % of the test showers' visible energy. Issue 22's 13 x 13 (96 %,
    # the paper profile's) cost 292 s per classifier of 500 showers per class on one core of
    # the loaded 2-core build machine against 24 s for 5 x 5 (the AUCs alike): three per build
    # would overrun the chapter's page budget by some 13 minutes
    "fidelity_window": 2,
}
CHAPTERS["06_caloclouds3"] = {
    "smoke": _CC_SMOKE,
    "book": {
        **_CC_SMOKE,
        "n_train": 3000,
        "cc3_n_train": 10000,
        "n_seeds": 3,
        "n_test": 500,
        "n_fixed": 40,
        # 400 pairs halve the 50 % separation's fit errors of 100 (0.4-0.6 mm), whose verdict
        # moved between seed offsets on those errors alone; about a minute more (9 CC3 models)
        "n_diphoton": 400,
        "fixed_energies": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
        # two thirds of the previous build's epochs, whose chapter took 29 minutes of the 20 a
        # page may take; the chapter's budget curves show which claims the cut costs
        "flow_epochs": 16,
        "points": 200000,
        "point_epochs": 8,
        "distill_epochs": 5,
        "distill_steps": 18,
        "lr_ablation": True,
        "cc3_flow_hidden": 64,
        "cc2_flow_affine": 12,
        "cc2_flow_spline": 2,
        "cc2_flow_hidden": 64,
        "cc2_hidden": 48,
        # the bench's energy batch (bench.Plan.energy_batch): spreads the pipeline's fixed
        # time per call, as the paper's compiled one-shower chain has none
        "n_timing": 128,
        "timing_energies": [10.0, 30.0, 50.0, 70.0, 90.0],
        "n_boot": 10,
    },
    "paper": {
        **_CC_SMOKE,
        "n_train": 100000,
        "cc3_n_train": 100000,
        "n_seeds": 3,
        "n_test": 10000,
        "n_fixed": 1000,
        "n_diphoton": 2000,
        "fixed_energies": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
        "flow_epochs": 100,
        "points": 20000000,
        "point_epochs": 10,
        "point_batch": 2048,
        "flow_batch": 62,
        "flow_lr": 2e-4,
        "flow_schedule": "linear",
        "point_lr": 2e-4,
        "distill_lr": 2e-4,
        "point_optimiser": "radam",
        "distill_epochs": 5,
        "distill_steps": 18,
        "cc3_flow_hidden": 128,
        "cc2_flow_affine": 60,
        "cc2_flow_spline": 10,
        "cc2_flow_hidden": 650,
        "cc2_hidden": 128,
        "n_timing": 100,
        # CC2 is trained on 10-90 GeV (the reference simulator's ILD range): time within it
        "timing_energies": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0],
        "n_boot": 20,
        # issue 22: 30 layers x 13 x 13 cells about the shower axis
        "fidelity_window": 6,
    },
}


def profile_values(chapter: str, profile: str) -> dict[str, Any]:
    """The values ``profile`` gives to ``chapter``'s parameters left at ``None``; in a dry run
    (``calopaper.dryrun``) the ``paper`` profile's data sizes are cut to ``dryrun.SIZES``.

    Example:
        >>> profile_values("01_dataset", "smoke")
        {'n_showers': 200, 'n_images': 200}
    """
    if chapter not in CHAPTERS:
        msg = f"unknown chapter {chapter!r}; expected one of {sorted(CHAPTERS)}"
        raise ParameterError(msg)
    if profile not in PROFILE_NAMES:
        msg = f"unknown profile {profile!r}; expected one of {PROFILE_NAMES}"
        raise ParameterError(msg)
    values = dict(CHAPTERS[chapter][profile])
    if profile == "paper" and dryrun.active():
        values |= dryrun.SIZES[chapter]
    return values


def beside_paper(chapter: str, p: SimpleNamespace):
    """This run's value of every parameter a profile sets beside the ``paper`` profile's (never
    cut by a dry run), as a DataFrame of strings indexed by parameter (floats to 3 digits).

    Example:
        >>> p = SimpleNamespace(**CHAPTERS["04_dvae"]["smoke"])
        >>> beside_paper("04_dvae", p).loc["grid_tau_z"].tolist()
        ['[0.2]', '[0.2, 0.143, 0.111]']
    """
    import pandas as pd

    def text(value: Any) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(map(text, value)) + "]"
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    paper = CHAPTERS[chapter]["paper"]
    rows = {k: {"this run": text(getattr(p, k)), "paper profile": text(paper[k])} for k in paper}
    return pd.DataFrame.from_dict(rows, orient="index")


#: torch CPU threads per profile (0 = torch's default). On the 2-core build machine one thread
#: was 10-30x faster than two for the book's small models; a GPU machine keeps torch's default.
THREADS = {"smoke": 1, "book": 1, "paper": 0}
#: Worker processes for independent trainings (``parallel.run``; 0 = cores // threads). The
#: smoke profile runs under the tests, which already execute two chapters at once.
WORKERS = {"smoke": 1, "book": 0, "paper": 0}

_BASE = ("profile", "device", "seed")
#: The chapter and parameters ``apply_profile`` returned last (``last_resolved``).
_LAST: dict[str, dict[str, Any]] = {}


class ParameterError(ValueError):
    """A chapter parameter is unknown or has a value of the wrong type."""


def declared_parameters(source: str) -> dict[str, Any]:
    """Name -> literal default of every assignment in a parameters cell.

    ``profile`` may be any expression (the cells read ``CALOPAPER_PROFILE``); its type is str.

    Example:
        >>> declared_parameters("seed = 1  # seed" + chr(10) + "epochs = None")
        {'seed': 1, 'epochs': None}
    """
    declared = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            msg = f"a parameters cell holds only `name = literal` lines, not {ast.unparse(node)!r}"
            raise ParameterError(msg)
        name = node.targets[0].id
        try:
            declared[name] = ast.literal_eval(node.value)
        except ValueError:
            if name != "profile":
                msg = f"parameter {name} = {ast.unparse(node.value)} is not a literal"
                raise ParameterError(msg) from None
            declared[name] = "book"
    return declared


def _is_parameters_cell(source: str) -> bool:
    """Whether a cell's source assigns ``profile``, ``device`` and ``seed``."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    names = {
        t.id
        for node in body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    return {"profile", "device", "seed"} <= names


def _notebook_parameters_cell(chapter: str) -> str:
    """The parameters cell of ``book/<chapter>.ipynb`` in this repository."""
    path = Path(__file__).resolve().parents[1] / "book" / f"{chapter}.ipynb"
    if not path.is_file():
        msg = f"no parameters cell for {chapter}: the kernel kept no history and {path} is missing"
        raise ParameterError(msg)
    return parameters_cell(path)


def parameters_cell(path: Path) -> str:
    """The source of the cell tagged ``parameters`` in the notebook at ``path``."""
    for cell in json.loads(Path(path).read_text())["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return "".join(cell["source"])
    msg = f"{path} has no cell tagged 'parameters'"
    raise ParameterError(msg)


def _injected(history: list[str], parameters_cell: str) -> set[str]:
    """Names assigned by papermill's injected cell(s), which follow the parameters cell."""
    if parameters_cell not in history:
        return set()
    return set(injected(history[history.index(parameters_cell) + 1 :]))


def last_resolved(chapter: str) -> dict[str, Any]:
    """The parameters :func:`apply_profile` last returned in this process for ``chapter``
    (empty when the last call was for another chapter, or there was none): the provenance of
    the chapter's results."""
    return dict(_LAST[chapter]) if chapter in _LAST else {}


def resolve(chapter: str, namespace: Mapping[str, Any]) -> SimpleNamespace:
    """Apply a chapter's profile to the values of its parameters cell.

    Args:
        chapter: key of ``CHAPTERS``, e.g. ``"02_savae"``.
        namespace: the notebook's ``globals()``; its ``In`` (IPython's input history) holds the
            parameters cell and any cell papermill injected after it. A kernel that keeps no
            history (nbval) gets the parameters cell of ``book/<chapter>.ipynb``.

    Returns:
        Every declared parameter, ``None``s filled from the profile, ``device`` resolved by
        ``resolve_device``; torch's CPU threads are set to the profile's ``THREADS``, the
        worker processes for independent trainings to its ``WORKERS``, and the GPU policy
        (``timing.set_device_policy``) is applied.

    Raises:
        ParameterError: an unknown profile or parameter name, or a value whose type differs
            from the parameter's default (ints are accepted where a float is expected).
    """
    if chapter not in CHAPTERS:
        msg = f"unknown chapter {chapter!r}; expected one of {sorted(CHAPTERS)}"
        raise ParameterError(msg)
    history = list(namespace.get("In", []))
    cell = next((s for s in history if _is_parameters_cell(s)), None)
    if cell is None:  # nbval executes cells without history: read the chapter's notebook
        cell = _notebook_parameters_cell(chapter)
    declared = declared_parameters(cell)
    unknown = sorted(_injected(history, cell) - set(declared))
    if unknown:
        msg = f"unknown parameter {unknown[0]} for {chapter}; expected one of {sorted(declared)}"
        raise ParameterError(msg)
    p = apply_profile(chapter, {name: namespace[name] for name in declared}, declared)
    _LAST.clear()
    _LAST[chapter] = dict(vars(p))
    set_device_policy(p.device)
    set_threads(THREADS[p.profile])
    set_workers(WORKERS[p.profile])
    return p


def chapter_parameters(chapter: str, profile: str, **values: Any) -> SimpleNamespace:
    """``chapter``'s parameters as its notebook resolves them in ``profile``, with ``values``
    in place of the parameters cell's defaults: for code that builds another chapter's models
    (the bench, chapter 2's use of chapter 3's GAAM). Unlike :func:`resolve` it sets nothing
    for the process (threads, workers, GPU policy, provenance).

    Example:
        >>> chapter_parameters("03_gaam", "smoke", seed=7, device="cpu").n_showers
        50
    """
    declared = declared_parameters(_notebook_parameters_cell(chapter))
    unknown = sorted(set(values) - set(declared))
    if unknown:
        msg = f"unknown parameter {unknown[0]} for {chapter}; expected one of {sorted(declared)}"
        raise ParameterError(msg)
    return apply_profile(chapter, declared | {"profile": profile} | values, declared)


def apply_profile(
    chapter: str, values: dict[str, Any], declared: dict[str, Any]
) -> SimpleNamespace:
    """Fill ``None`` values from the profile and check each value against its default's type:
    the one place a profile's values enter a chapter's parameters. ``seed`` is shifted by
    ``$CALOPAPER_SEED_OFFSET`` (``findings.offset``).

    Example:
        >>> p = apply_profile("01_dataset", {"profile": "smoke", "device": "cpu", "seed": 1,
        ...     "n_showers": None, "n_images": None}, {"profile": "book", "device": "auto",
        ...     "seed": 0, "n_showers": None, "n_images": None})
        >>> p.n_showers, p.device
        (200, 'cpu')
    """
    profile = values.get("profile")
    table = profile_values(chapter, profile)
    missing = [k for k in (*_BASE, *table) if k not in declared]
    if missing:
        msg = f"the parameters cell of {chapter} does not declare {missing}"
        raise ParameterError(msg)
    out = {}
    for name, value in values.items():
        if value is None:
            value = table.get(name)
        reference = declared[name] if declared[name] is not None else table.get(name)
        out[name] = check_value(name, value, reference)
    out["device"] = resolve_device(out["device"])
    out["seed"] += findings.offset()
    return SimpleNamespace(**out)


def check_value(name: str, value: Any, reference: Any) -> Any:
    """``value`` if it has the type of ``reference`` (an int where a float is expected is cast).

    Example:
        >>> check_value("lr", 1, 1e-3), check_value("epochs", 3, None)
        (1.0, 3)
    """
    if reference is None:
        return value
    if isinstance(reference, float) and type(value) is int:
        return float(value)
    kind = type(reference)
    if type(value) is not kind:
        msg = (
            f"parameter {name}={value!r} has type {type(value).__name__}; "
            f"expected {kind.__name__} like {reference!r}"
        )
        raise ParameterError(msg)
    return value
