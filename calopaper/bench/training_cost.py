"""Training time per chapter, read from what the store keeps.

Every trained model in the store (``models/<kind>/<key>.pt``, written by
``training.trained``) holds its loss history with the training seconds, and its manifest names
the code it was built from and the truth it was trained on. A chapter's training time in a
profile is the sum over the models of its family whose truth has the profile's number of
showers and whose code is the code in this tree (older models of edited code are counted apart
as stale).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from calopaper.profiles import CHAPTERS

__all__ = ["CHAPTER_OF_FAMILY", "training_times"]

#: Model family package -> the chapter that trains its models.
CHAPTER_OF_FAMILY = {
    "savae": "02_savae",
    "gaam": "03_gaam",
    "dvae": "04_dvae",
    "caloflow": "05_supa_study",
    "caloclouds": "06_caloclouds3",
}


def _family(manifest: dict) -> str | None:
    for module in manifest.get("code", {}):
        parts = module.split(".")
        if len(parts) > 2 and parts[:2] == ["calopaper", "models"]:
            return parts[2]
    return None


def _truth_sizes(config: object) -> set[int]:
    """Every ``n`` of a truth ``Source.key`` nested in a model's config."""
    if isinstance(config, dict):
        found = {config["n"]} if {"simulator", "n", "code"} <= set(config) else set()
        for value in config.values():
            found |= _truth_sizes(value)
        return found
    if isinstance(config, list):
        return set().union(*(_truth_sizes(v) for v in config)) if config else set()
    return set()


def _current(manifest: dict) -> bool:
    """Whether the manifest's code hashes are those of the code in this tree."""
    from calopaper.store import _module_sources

    try:
        sources = _module_sources(manifest["code"])
    except (ImportError, ValueError):
        return False
    now = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in sources.items()}
    return now == manifest["code"]


def _seconds(path: Path) -> float:
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    history = state.get("history") or {}
    return float(history.get("seconds", 0.0))


def training_times(profile: str, root: Path) -> pd.DataFrame:
    """Per chapter: trained models of this profile in the store and their training seconds.

    Returns:
        Columns chapter, models, training [s], stale models (same profile, older code).
    """
    rows = {chapter: [0, 0.0, 0] for chapter in CHAPTER_OF_FAMILY.values()}
    for manifest_path in sorted((root / "models").glob("*/*.json")):
        manifest = json.loads(manifest_path.read_text())
        chapter = CHAPTER_OF_FAMILY.get(_family(manifest) or "")
        settings = CHAPTERS.get(chapter, {}).get(profile, {})
        if chapter is None or settings.get("n_showers") not in _truth_sizes(manifest["config"]):
            continue
        artifact = manifest_path.with_name(manifest["artifact"])
        if not artifact.exists():
            continue
        if _current(manifest):
            rows[chapter][0] += 1
            rows[chapter][1] += _seconds(artifact)
        else:
            rows[chapter][2] += 1
    frame = pd.DataFrame(
        [(c, *values) for c, values in rows.items()],
        columns=["chapter", "models", "training [s]", "stale models"],
    )
    return frame
