"""Profiles and the parameters resolver: the parameters cell is the only list of parameters."""

import pytest

from calopaper.device import resolve_device
from calopaper.profiles import CHAPTERS, ParameterError, resolve

CELL = """import os

profile = os.environ.get("CALOPAPER_PROFILE", "book")  # smoke | book | paper
device = "auto"  # device
seed = 1234  # seed
n_showers = None  # showers; None = the profile's value
n_images = None  # imaged showers; None = the profile's value
particles = ["e+", "photon"]  # particles
beta = 1e-4  # KL weight
dataset_path = ""  # optional file
"""


def namespace(injected: str = "", **values):
    """A kernel's globals after the parameters cell (and papermill's injected cell) ran."""
    ns = {"In": ["", CELL] + ([f"# Parameters\n{injected}\n"] if injected else [])}
    ns |= {"profile": "smoke", "device": "cpu", "seed": 1234, "n_showers": None, "n_images": None}
    ns |= {"particles": ["e+", "photon"], "beta": 1e-4, "dataset_path": ""}
    exec(injected, {}, ns)
    return ns | values


def test_none_takes_the_profile_value_and_explicit_values_win():
    p = resolve("01_dataset", namespace())
    assert (p.n_showers, p.profile, p.device, p.beta) == (200, "smoke", "cpu", 1e-4)
    assert resolve("01_dataset", namespace("n_showers = 7")).n_showers == 7


def test_int_is_accepted_for_a_float_default():
    assert resolve("01_dataset", namespace("beta = 1")).beta == 1.0


@pytest.mark.parametrize(
    ("injected", "name"),
    [
        ('particles = "e+"', "particles"),  # papermill -p particles e+
        ('n_showers = "ten"', "n_showers"),  # wrong type against the profile's int
        ("no_such_parameter = 1", "no_such_parameter"),
        ('profile = "fast"', "fast"),
    ],
)
def test_bad_parameters_fail_with_one_line_naming_them(injected, name):
    with pytest.raises(ParameterError) as info:
        resolve("01_dataset", namespace(injected))
    message = str(info.value)
    assert name in message and "\n" not in message


def test_a_parameters_cell_must_hold_literals():
    ns = namespace()
    ns["In"][1] = CELL + "beta = 10 ** -4\n"
    with pytest.raises(ParameterError, match="beta"):
        resolve("01_dataset", ns)


def test_every_profile_fills_the_same_parameters():
    for chapter, table in CHAPTERS.items():
        assert set(table) == {"smoke", "book", "paper"}, chapter
        keys = [set(v) for v in table.values()]
        assert all(k == keys[0] for k in keys), chapter


def test_device_auto_resolves_and_nonsense_is_refused():
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ValueError, match="gpu0"):
        resolve_device("gpu0")


def test_without_history_the_chapters_own_parameters_cell_is_read():
    """nbval runs cells without input history: resolve reads book/<chapter>.ipynb instead."""
    import json
    from pathlib import Path

    notebook = Path(__file__).resolve().parents[1] / "book" / "03_gaam.ipynb"
    cell = next(
        c
        for c in json.loads(notebook.read_text())["cells"]
        if "parameters" in c["metadata"].get("tags", [])
    )
    ns = {}
    exec("".join(cell["source"]), {}, ns)
    ns["profile"] = "smoke"
    assert resolve("03_gaam", ns).epochs == CHAPTERS["03_gaam"]["smoke"]["epochs"]
    with pytest.raises(ParameterError, match="epochs"):
        resolve("03_gaam", ns | {"epochs": "ten"})
