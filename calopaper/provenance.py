"""Where a result comes from: its parameters, the code, the packages, the machine and the date.

Every results file carries a ``provenance`` entry (``results.publish``), and each chapter's
claims table ends with a one-line :func:`footer` of it. Its ``book_run`` tells the book's own
runs from re-runs: a run into which papermill injected parameters (:func:`injected`) is not the
book's, and its results go beside the book's, never over them (``results.publish``).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "PACKAGES",
    "RECORDS",
    "collect",
    "commit",
    "cpu_name",
    "footer",
    "injected",
    "library_digest",
    "machine",
]

#: The packages whose versions a results file records.
PACKAGES = ("torch", "numpy", "scipy", "zuko", "scikit-learn")
_ROOT = Path(__file__).resolve().parents[1]
#: The records committed with the book: GPU timings (``bench.records``) and seed checks
#: (``rebuilds``).
RECORDS = _ROOT / "book" / "records"


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        if names:
            return names[0].split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What timings depend on besides the code: CPU model and cores, GPU, library versions."""
    import numpy as np
    import torch

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "",
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def commit() -> str:
    """The checkout's commit (40 hex digits), with "+" when its library differs from it;
    ``$CALOPAPER_COMMIT`` for a copied tree without ``.git``; else "unknown"."""
    if os.environ.get("CALOPAPER_COMMIT"):
        return os.environ["CALOPAPER_COMMIT"]

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=_ROOT, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "calopaper")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+" if dirty else "")


def library_digest() -> str:
    """SHA-256 (16 hex digits) of the library's sources: names the code where there is no
    commit (an installed package)."""
    digest = hashlib.sha256()
    for path in sorted((_ROOT / "calopaper").rglob("*.py")):
        digest.update(str(path.relative_to(_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def injected(history: list[str]) -> dict[str, str]:
    """Name -> source of every value papermill injected (its cells start with "# Parameters").

    Example:
        >>> injected(["x = 1", "# Parameters" + chr(10) + "beta = 0.01" + chr(10)])
        {'beta': '0.01'}
    """
    names = {}
    for source in history:
        if not source.startswith("# Parameters"):
            continue
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names[target.id] = ast.unparse(node.value)
    return names


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def collect(parameters: dict[str, Any], injected_values: dict[str, str]) -> dict[str, Any]:
    """The provenance of a run: its resolved ``parameters`` (with the profile and seed among
    them), what papermill injected, the commit and library digest, package versions, the
    machine (:func:`machine`, with torch's threads and the device) and the date (UTC)."""
    import torch

    return {
        "parameters": json.loads(json.dumps(parameters, default=str)),
        "injected": dict(injected_values),
        "book_run": not injected_values,
        "commit": commit(),
        "library": library_digest(),
        "packages": {name: _version(name) for name in PACKAGES},
        "machine": machine()
        | {"torch_threads": torch.get_num_threads(), "device": parameters.get("device", "")},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def footer(provenance: dict[str, Any]) -> str:
    """One line for the foot of a claims table.

    Example:
        >>> footer(
        ...     {"parameters": {"profile": "book", "seed": 1}, "injected": {},
        ...         "commit": "0123456789abcdef", "library": "f00", "date": "2026-12-04T18:00:00",
        ...         "packages": {"torch": "2.13.0"},
        ...         "machine": {"cpu": "Xeon", "cores": 2, "torch_threads": 1, "device": "cpu"}},
        ... ) # doctest: +NORMALIZE_WHITESPACE
        'book profile, seed 1; commit 0123456; torch 2.13.0;
         Xeon, 2 cores, 1 torch thread, cpu; 2026-12-04'
    """
    p, m = provenance["parameters"], provenance["machine"]
    run = f"{p.get('profile', '?')} profile, seed {p.get('seed', '?')}"
    if provenance["injected"]:
        run += ", injected " + ", ".join(f"{k}={v}" for k, v in provenance["injected"].items())
    threads = m["torch_threads"]
    where = f"{m['cpu']}, {m['cores']} cores, {threads} torch thread{'s' * (threads != 1)}"
    where += f", {m.get('device') or 'cpu'}"
    code = provenance["commit"][:7] if provenance["commit"] != "unknown" else provenance["library"]
    torch_version = provenance["packages"].get("torch")
    return f"{run}; commit {code}; torch {torch_version}; {where}; {provenance['date'][:10]}"
