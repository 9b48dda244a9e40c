"""Running the book's chapters in tests: paths, papermill execution, glued values."""

import json
import shutil
import traceback
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def glued(notebook: Path) -> dict[str, str]:
    """Name -> text/plain of every value the notebook glued with myst_nb.glue."""
    values = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if "name" in scrap:
                plain = scrap.get("mime_prefix", "") + "text/plain"
                values[scrap["name"]] = output.get("data", {}).get(plain, "")
    return values


def execute(notebook: Path, out: Path, **parameters) -> None:
    import papermill

    papermill.execute_notebook(
        notebook,
        out,
        parameters={"profile": "smoke", **parameters},
        kernel_name="python3",
        cwd=str(BOOK),
        execution_timeout=600,
        progress_bar=False,
    )


def execute_book(folder: Path) -> dict[str, str]:
    """Copy book/ to ``folder`` with every chapter executed by papermill; failures by chapter."""
    for path in BOOK.iterdir():
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copy(path.resolve(), folder / path.name)
    failures = {}
    for notebook in NOTEBOOKS:
        try:
            execute(notebook, folder / notebook.name)
        except Exception:
            failures[notebook.stem] = traceback.format_exc(limit=3)
    return failures
