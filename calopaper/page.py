"""Executed runs rendered as book pages: a papermill output or a sweep's runs, built by Jupyter
Book with the book's own configuration (bibliography, MathJax served from the build, hidden
inputs, the appendices beside them so that links to them resolve), without executing anything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

__all__ = ["render"]

BOOK = Path(__file__).resolve().parents[1] / "book"
#: The book's files a run's page links to or cites from.
APPENDICES = ("conventions.md", "references.md", "references.bib")


def _config() -> dict:
    """The book's ``_config.yml``, not executing and without the book's execution cache."""
    import yaml

    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    config["execute"] = {"execute_notebooks": "off"}
    extensions = config["sphinx"]["extra_extensions"]
    config["sphinx"]["extra_extensions"] = [e for e in extensions if e != "calopaper.bookcache"]
    config["exclude_patterns"] = ["_build"]
    return config


def _index(title: str, table: pd.DataFrame, pages: Sequence[str]) -> str:
    """A Markdown page with the summary table and links to every run's page."""
    body = [["" if pd.isna(v) else str(v) for v in row] for row in table.itertuples(index=False)]
    cells = [list(map(str, table.columns)), *body]
    rows = ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells]
    rows.insert(1, "|" + "---|" * len(table.columns))
    links = "\n".join(f"- {{doc}}`{page}`" for page in pages)
    return f"# {title}\n\n" + "\n".join(rows) + f"\n\n## Runs\n\n{links}\n"


def render(
    notebooks: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    title: str = "",
    table: pd.DataFrame | None = None,
) -> Path:
    """Build executed notebooks into HTML as the book builds its chapters.

    Args:
        notebooks: executed ``.ipynb`` files (nothing is run); the first is the front page
            unless ``table`` is given.
        out: the folder to build in (default ``<first notebook's folder>/_build/<its stem>``).
        title: with ``table``, the title of a front page holding it (a sweep's summary).
        table: a table for the front page, which then links to every notebook.

    Returns:
        The front page, ``<out>/_build/html/index.html``.

    Raises:
        FileNotFoundError: a notebook that does not exist.
        RuntimeError: Jupyter Book failed (its last lines of output are in the message).
    """
    paths = [Path(n).resolve() for n in notebooks]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no executed notebook at {missing[0]}")
    folder = Path(out) if out is not None else paths[0].parent / "_build" / paths[0].stem
    source = folder / "source"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    stems = []
    for k, path in enumerate(paths):
        stem = path.stem if path.stem not in stems else f"{path.stem}_{k}"
        shutil.copy(path, source / f"{stem}.ipynb")
        stems.append(stem)
    for name in APPENDICES:
        shutil.copy(BOOK / name, source / name)
    shutil.copytree(BOOK / "_static", source / "_static")  # the book's own CSS
    if table is not None:
        (source / "index.md").write_text(_index(title or "Runs", table, stems))
        root, chapters = "index", stems
    else:
        root, chapters = stems[0], stems[1:]
    toc = {"format": "jb-book", "root": root}
    toc["chapters"] = [{"file": f} for f in [*chapters, "references", "conventions"]]
    import yaml

    (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (source / "_config.yml").write_text(yaml.safe_dump(_config(), sort_keys=False))
    builder = Path(sys.executable).with_name("jupyter-book")
    command = [str(builder), "build", str(source), "--path-output", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise RuntimeError(f"jupyter-book could not build {source}:\n{tail}")
    return folder / "_build" / "html" / "index.html"
