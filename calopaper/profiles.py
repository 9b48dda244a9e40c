"""Run profiles (smoke, book, paper) and the resolver every notebook's parameters cell uses."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

__all__ = [
    "PROFILE_NAMES",
    "CHAPTERS",
    "FREE_PARAMETERS",
    "default_profile",
    "resolve",
    "resolve_device",
]

PROFILE_NAMES = ("smoke", "book", "paper")

#: Per chapter, the values each profile gives to the parameters a notebook leaves at ``None``.
#: ``smoke``: every cell runs on tiny data (tests); ``book``: the default 2-core build;
#: ``paper``: the papers' sample sizes and epochs (GPU).
CHAPTERS: dict[str, dict[str, dict[str, Any]]] = {
    "01_dataset": {
        "smoke": {"n_showers": 200},
        "book": {"n_showers": 10000},
        "paper": {"n_showers": 10000},
    },
    "02_savae": {
        "smoke": {
            "n_showers": 300,
            "epochs": 1,
            "batch_size": 64,
            "n_samples": 30,
            "sweep_showers": 100,
            "sweep_epochs": 1,
            "n_timing": 100,
        },
        "book": {
            "n_showers": 5000,
            "epochs": 30,
            "batch_size": 128,
            "n_samples": 500,
            "sweep_showers": 1400,
            "sweep_epochs": 10,
            "n_timing": 1000,
        },
        "paper": {
            "n_showers": 10000,
            "epochs": 500,
            "batch_size": 128,
            "n_samples": 1000,
            "sweep_showers": 7000,
            "sweep_epochs": 100,
            "n_timing": 10000,
        },
    },
    "05_supa": {
        "smoke": {"n_showers": 300, "n_bench": 200, "n_gflash": 200},
        "book": {"n_showers": 10000, "n_bench": 5000, "n_gflash": 20000},
        "paper": {"n_showers": 100000, "n_bench": 20000, "n_gflash": 100000},
    },
    "04_dvae": {
        "smoke": {
            "n_showers": 300,
            "n_response": 40,
            "width_scale": 0.1,
            "epochs": 1,
            "batch_size": 100,
            "lr": 1e-3,
            "beta": 0.1,
            "gibbs_steps_sample": 10,
            "grid_architectures": ["I"],
            "grid_tau_z": [1 / 5],
            "grid_tau_xm": [1 / 5, 1 / 9],
            "n_timing": 100,
        },
        "book": {
            "n_showers": 10000,
            "n_response": 1000,
            "width_scale": 1.0,
            "epochs": 10,
            "batch_size": 100,
            "lr": 1e-3,
            "beta": 0.1,
            "gibbs_steps_sample": 100,
            "grid_architectures": ["I"],
            "grid_tau_z": [1 / 5],
            "grid_tau_xm": [1 / 5, 1 / 9],
            "n_timing": 1000,
        },
        "paper": {
            "n_showers": 100000,
            "n_response": 10000,
            "width_scale": 1.0,
            "epochs": 100,
            "batch_size": 100,
            "lr": 1e-4,
            "beta": 1.0,
            "gibbs_steps_sample": 100,
            "grid_architectures": ["I", "II", "III", "IV"],
            "grid_tau_z": [1 / 5, 1 / 7, 1 / 9],
            "grid_tau_xm": [1 / 5, 1 / 7, 1 / 9],
            "n_timing": 10000,
        },
    },
    "03_gaam": {
        "smoke": {
            "n_showers": 50,
            "epochs": 1,
            "n_samples": 10,
            "inner_segmentations": ["48x4", "192x12"],
            "n_timing": 5,
        },
        "book": {
            "n_showers": 1200,
            "epochs": 12,
            "n_samples": 240,
            "inner_segmentations": ["48x4", "48x12", "192x4", "192x12"],
            "n_timing": 100,
        },
        "paper": {
            "n_showers": 10000,
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
}

_BASE = ("profile", "device", "seed")


def default_profile() -> str:
    """The profile named by ``CALOPAPER_PROFILE`` (``book`` when unset).

    Example:
        >>> import os; os.environ.pop("CALOPAPER_PROFILE", None) and None
        >>> default_profile()
        'book'
    """
    return os.environ.get("CALOPAPER_PROFILE", "book")


def resolve_device(device: str) -> str:
    """``"auto"`` becomes ``"cuda"`` when a GPU is visible, else ``"cpu"``; others are checked.

    Example:
        >>> resolve_device("cpu")
        'cpu'
    """
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" or device == "mps" or device.startswith("cuda"):
        return device
    msg = f"unknown device {device!r}; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
    raise ValueError(msg)


def resolve(chapter: str, **params: Any) -> SimpleNamespace:
    """Apply a chapter's profile to the notebook's parameters.

    A parameter left at ``None`` takes the profile's value; an explicit value (typed in the
    parameters cell or injected by papermill) wins. Unknown parameters, unknown profiles and
    values of the wrong type raise ``ValueError``/``TypeError`` naming them.

    Args:
        chapter: key of ``CHAPTERS``, e.g. ``"01_dataset"``.
        **params: the parameters cell's values; must include ``profile``, ``device``, ``seed``.

    Returns:
        A namespace with every parameter resolved, ``device`` resolved by ``resolve_device``.

    Example:
        >>> p = resolve("01_dataset", profile="smoke", device="cpu", seed=1, n_showers=None)
        >>> p.n_showers, p.profile
        (200, 'smoke')
    """
    if chapter not in CHAPTERS:
        msg = f"unknown chapter {chapter!r}; expected one of {sorted(CHAPTERS)}"
        raise ValueError(msg)
    profile = params.get("profile")
    if profile not in PROFILE_NAMES:
        msg = f"unknown profile {profile!r}; expected one of {PROFILE_NAMES}"
        raise ValueError(msg)
    table = CHAPTERS[chapter][profile]
    missing = [k for k in (*_BASE, *table) if k not in params]
    unknown = [k for k in params if k not in _BASE and not _known(chapter, k)]
    if missing or unknown:
        msg = f"parameters of {chapter}: missing {missing}, unknown {unknown}"
        raise ValueError(msg)
    out = {}
    for key, value in params.items():
        default = table.get(key)
        if value is None:
            value = default
        out[key] = _check_type(key, value, default)
    out["device"] = resolve_device(out["device"])
    return SimpleNamespace(**out)


#: Chapter parameters that no profile sets (free hyperparameters with notebook defaults).
FREE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "01_dataset": ("dataset_path",),
    "02_savae": ("beta", "betas", "latent_dim", "hidden", "lr", "threads", "dataset_path"),
    "05_supa": ("preset", "dataset_path"),
    "04_dvae": (
        "particles",
        "dataset_path",
        "anneal_fraction",
        "energy_scale",
        "leaky_slope",
        "n_chains",
        "gibbs_steps_train",
        "true_mask_variant",
        "threads",
    ),
    "03_gaam": (
        "dataset_path",
        "hidden_inner",
        "hidden_middle",
        "hidden_outer",
        "channels",
        "kernel",
        "empty_fraction",
        "batch_size",
        "lr",
    ),
}


def _known(chapter: str, key: str) -> bool:
    in_profile = any(key in table for table in CHAPTERS[chapter].values())
    return in_profile or key in FREE_PARAMETERS.get(chapter, ())


def _check_type(key: str, value: Any, default: Any) -> Any:
    """Coerce ints to floats where the profile holds a float (papermill injects ``4`` for 4.0)."""
    if default is None or value is None:
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, bool) != isinstance(value, bool) or not isinstance(value, type(default)):
        expected = type(default).__name__
        msg = f"parameter {key}={value!r} has type {type(value).__name__}; expected {expected}"
        raise TypeError(msg)
    return value
