"""Claims tables round-trip through data/results and refuse unknown verdicts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from calopaper.results import Claim, claims_frame, verdict, write_results


def test_claims_round_trip(tmp_path):
    claim = Claim("x", "A beats B", "70%", "65%", "partly")
    write_results("02_savae", [claim], {"w1": {"a": 1.0}}, root=tmp_path)
    frame = claims_frame(tmp_path)
    assert frame.loc[0, "chapter"] == "02_savae"
    assert frame.loc[0, "ours"] == "65%"


def test_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="'maybe'"):
        Claim("x", "c", "p", "o", "maybe")


@pytest.mark.parametrize("measured", [float("nan"), float("inf"), None])
def test_a_verdict_without_a_measured_number_is_not_yet_run(measured):
    """A missing number outranks the comparison made with it (NaN compares False, and an
    ``all()`` over nothing is True): every claim gets "not yet run" from here."""
    for holds, partly in ((True, True), (False, True), (False, False)):
        assert verdict(holds, partly, measured=measured) == "not yet run"
    assert verdict(False, True, measured=0.0) == "partly"


def test_no_results_gives_an_empty_table(tmp_path):
    assert claims_frame(tmp_path).empty


def _model(store, name: str, seconds: float, cpu_seconds: float):
    import torch

    def build(tmp):
        history = {"seconds": seconds, "cpu_seconds": cpu_seconds}
        torch.save({"class": "Demo", "history": history}, tmp)

    return store.get_or_build("models/demo", {"name": name}, build, suffix=".pt")


def test_publish_names_the_models_a_chapter_used_and_their_training_time_adds_up(data_root):
    from calopaper.bench.training_cost import ALL, training_times
    from calopaper.results import publish, read_results
    from calopaper.store import default_store, models_used

    models_used(clear=True)  # whatever earlier tests in this process loaded
    store = default_store()
    store.get_or_build("datasets/demo", {"n": 1}, lambda tmp: tmp.write_text("x"), suffix=".txt")
    paths = [_model(store, "a", 10.0, 8.0), _model(store, "b", 5.0, 4.0)]
    publish("02_savae", [Claim("x", "c", "p", "o", "partly")])
    assert models_used() == []  # publish starts the next chapter afresh
    _model(store, "a", 10.0, 8.0)
    publish("03_gaam", [Claim("y", "c", "p", "o", "partly")])

    def measure(tmp):  # a stored measurement made with model "c"
        _model(store, "c", 2.0, 2.0)
        tmp.write_text("0.5")

    store.get_or_build("measurements/demo", {"of": "c"}, measure, suffix=".txt")
    models_used(clear=True)  # a later run reads the measurement back, never loading "c"
    store.get_or_build("measurements/demo", {"of": "c"}, measure, suffix=".txt")
    publish("04_dvae", [Claim("z", "c", "p", "o", "partly")])
    paths[1].unlink()  # a model the results name but the store lost

    results = read_results(data_root / "results")
    assert results["02_savae"]["models"] == [str(p.relative_to(data_root)) for p in paths]
    times = training_times(data_root).set_index("chapter")
    assert times.loc["02_savae", "models"] == 1 and times.loc["02_savae", "missing"] == 1
    assert times.loc["02_savae", "training [s]"] == 10.0
    assert times.loc["03_gaam", "training CPU [s]"] == 8.0
    assert times.loc["04_dvae", "training [s]"] == 2.0
    assert times.loc[ALL, "models"] == 2 and times.loc[ALL, "training [s]"] == 12.0  # "a" once
    assert "02_savae" not in training_times(data_root, skip=("02_savae",))["chapter"].tolist()


TOY = Path(__file__).parent / "data" / "toy_chapter.ipynb"


def _papermill(out: Path, *parameters: str) -> str:
    """Execute the toy chapter with papermill; the printed text of its cells."""
    command = [sys.executable, "-m", "papermill", str(TOY), str(out), "-k", "python3"]
    for name_value in parameters:
        command += ["-p", *name_value.split("=")]
    subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
    cells = json.loads(out.read_text())["cells"]
    return "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))


def test_a_rerun_with_other_parameters_leaves_the_books_results_alone(data_root, tmp_path):
    _papermill(tmp_path / "book.ipynb")
    book = data_root / "results" / "toy_chapter.json"
    before = book.read_bytes()
    assert json.loads(before)["provenance"]["book_run"] is True

    printed = _papermill(tmp_path / "run.ipynb", "n_showers=5")

    assert book.read_bytes() == before
    (run,) = (data_root / "results" / "runs" / "toy_chapter").glob("*/results/toy_chapter.json")
    assert str(run.parents[1]) in printed.replace("\n", "")
    result = json.loads(run.read_text())
    assert result["provenance"]["injected"] == {"n_showers": "5"}
    assert result["provenance"]["book_run"] is False
    assert result["claims"][0]["ours"] == "5"
    assert [p.stem for p in (data_root / "results").glob("*.json")] == ["toy_chapter"]


def test_results_carry_their_provenance(tmp_path):
    from calopaper.results import publish

    styler = publish("toy", [Claim("x", "c", "p", "o", "partly")], root=tmp_path)
    provenance = json.loads((tmp_path / "results" / "toy.json").read_text())["provenance"]
    assert set(provenance) >= {"parameters", "commit", "library", "packages", "machine", "date"}
    assert set(provenance["packages"]) == {"torch", "numpy", "scipy", "zuko", "scikit-learn"}
    assert provenance["machine"]["cores"] >= 1 and provenance["machine"]["torch_threads"] >= 1
    assert "Provenance:" in styler.to_html() and provenance["date"][:10] in styler.to_html()
