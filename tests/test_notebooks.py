"""Every chapter notebook runs end to end in the smoke profile (STYLE.md item 10)."""

import json
import math
import os
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module")
def smoke_env(tmp_path_factory):
    """Smoke runs write to a private data/ so they never overwrite the book's results."""
    data = tmp_path_factory.mktemp("data")
    old = {k: os.environ.get(k) for k in ("CALOPAPER_PROFILE", "CALOPAPER_DATA")}
    os.environ.update(CALOPAPER_PROFILE="smoke", CALOPAPER_DATA=str(data))
    yield data
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_runs_in_smoke_profile(notebook, smoke_env, tmp_path):
    import papermill

    out = tmp_path / notebook.name
    papermill.execute_notebook(
        notebook,
        out,
        parameters={"profile": "smoke"},
        kernel_name="python3",
        cwd=str(BOOK),
        execution_timeout=300,
        progress_bar=False,
    )
    values = glued(out)
    assert values, f"{notebook.name} glued no values"
    for name, text in values.items():
        assert not text.startswith("np."), f"{notebook.name}: glue {name} as a float, not {text}"
        try:
            number = float(text.strip("'\""))
        except ValueError:
            continue
        assert math.isfinite(number), f"{notebook.name}: glued {name} = {text}"
    results = json.loads((smoke_env / "results" / f"{notebook.stem}.json").read_text())
    assert results["claims"], f"{notebook.name} wrote an empty claims table"
    for claim in results["claims"]:
        assert claim["ours"] and claim["verdict"], claim
