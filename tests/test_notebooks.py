"""What nbval cannot check: papermill's parameter injection, the glued values, the claims table.

nbval (``pytest --nbval-lax``, see pyproject.toml) executes every chapter cell by cell in the
smoke profile. Here every chapter runs once more through papermill, as a user re-running a
chapter would, in the same private data folder (conftest.py), so the models come from the store.
The executed chapters then make the book that ``test_html.py`` renders and inspects.
"""

import json
import math
import os
from pathlib import Path

import pytest
from chapters import BOOK, NOTEBOOKS, execute, glued


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_glues_finite_values_and_a_complete_claims_table(notebook, executed_book):
    folder, failures = executed_book
    assert notebook.stem not in failures, failures.get(notebook.stem)
    values = glued(folder / notebook.name)
    assert values, f"{notebook.name} glued no values"
    for name, text in values.items():
        assert not text.startswith("np."), f"{notebook.name}: glue {name} as a float, not {text}"
        try:
            number = float(text.strip("'\""))
        except ValueError:
            continue
        assert math.isfinite(number), f"{notebook.name}: glued {name} = {text}"
    results = Path(os.environ["CALOPAPER_DATA"]) / "results" / f"{notebook.stem}.json"
    claims = json.loads(results.read_text())["claims"]
    assert claims, f"{notebook.name} wrote an empty claims table"
    for claim in claims:
        assert claim["ours"] and claim["verdict"], claim


@pytest.mark.notebook
@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"particles": "e+"}, "particles"),
        ({"epochs": "ten"}, "epochs"),
        ({"no_such_parameter": 1}, "no_such_parameter"),
    ],
)
def test_bad_parameters_fail_at_the_parameters_cell(parameters, named, tmp_path):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as info:
        execute(BOOK / "04_dvae.ipynb", tmp_path / "out.ipynb", **parameters)
    error = info.value
    assert error.ename == "ParameterError"
    assert named in error.evalue and "\n" not in error.evalue
    executed = json.loads((tmp_path / "out.ipynb").read_text())["cells"]
    failed = next(c for c in executed if c.get("outputs") and c["outputs"][-1].get("ename"))
    assert "resolve(" in "".join(failed["source"])
