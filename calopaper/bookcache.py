"""Reuse the book's executed notebooks only while nothing they read has changed.

The book executes its notebooks through jupyter-cache (``execute_notebooks: cache``), which
keys each notebook on its own code cells. A chapter also reads the library, the profile and
the store, the speed chapter reads the other chapters' results, and the introduction and the
speed chapter read the records in ``book/records``, none of which that key sees. This Sphinx
extension (listed in ``_config.yml``) digests all of them when a build starts — the library's
source, every notebook's code cells, the records, the ``CALOPAPER_*`` settings, the installed
packages and the store's identity — and empties the execution cache when the digest
differs from the last build's. An unchanged book is rendered from the cache in seconds; any
change re-executes every notebook, which then reads its models from the store.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

import calopaper
from calopaper.store import default_store

__all__ = ["inputs_digest", "refresh", "setup"]

#: The file beside the execution cache that holds the digest it was built with.
STAMP = ".calopaper-inputs"


def _store_id(root: Path) -> str:
    """A random identity of the store, made when it is first asked for; an emptied or moved
    ``data/`` gets a new one."""
    path = root / ".store-id"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(8))
    return path.read_text().strip()


def _code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return [
        "".join(c["source"]) + json.dumps(c.get("metadata", {}).get("tags", []))
        for c in cells
        if c["cell_type"] == "code"
    ]


def inputs_digest(book: Path, store_root: Path | None = None) -> str:
    """SHA-256 of what the book's notebooks read besides their own code.

    Args:
        book: the folder of the notebooks (``*.ipynb``).
        store_root: the store's folder (default: ``default_store().root``).
    """
    digest = hashlib.sha256()
    library = Path(calopaper.__file__).parent
    for path in sorted(library.rglob("*.py")):
        digest.update(f"\0{path.relative_to(library)}\0".encode() + path.read_bytes())
    for path in sorted(Path(book).glob("*.ipynb")):
        digest.update(f"\0{path.name}\0{_code_cells(path)}".encode())
    for path in sorted(Path(book).glob("records/*.json")):
        digest.update(f"\0{path.name}\0".encode() + path.read_bytes())
    settings = {k: v for k, v in sorted(os.environ.items()) if k.startswith("CALOPAPER_")}
    installed = importlib.metadata.distributions()
    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in installed)
    store = _store_id(store_root or default_store().root)
    digest.update(json.dumps([settings, packages, sys.version, store]).encode())
    return digest.hexdigest()


def refresh(cache: Path, book: Path, store_root: Path | None = None) -> bool:
    """Empty the execution cache ``cache`` unless it was built from today's inputs.

    Returns:
        Whether it was emptied (a cache that does not exist yet counts as emptied).
    """
    cache = Path(cache)
    stamp = cache.parent / STAMP
    digest = inputs_digest(book, store_root)
    if stamp.exists() and stamp.read_text() == digest and cache.exists():
        return False
    shutil.rmtree(cache, ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)
    return True


def _on_config(app, config) -> None:
    app.calopaper_refreshed = False
    if config.nb_execution_mode != "cache":
        return
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    if refresh(cache, Path(app.srcdir)):
        app.calopaper_refreshed = True
        print(f"calopaper: the book's inputs changed; every notebook is executed ({cache})")


def _outdated(app, env, added, changed, removed) -> list[str]:
    """After a refresh every page is read again (Sphinx would re-read only edited files)."""
    return sorted(env.found_docs) if app.calopaper_refreshed else []


def setup(app) -> dict:
    """Sphinx entry point: check the execution cache before any notebook is read."""
    app.connect("config-inited", _on_config, priority=100)
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
