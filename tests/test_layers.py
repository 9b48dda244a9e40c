"""The library's layers: a module imports only from its own layer or lower ones, and no import
cycle exists. The layers, lowest first, are described in book/conventions.md ("Layers")."""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "calopaper"

#: Lowest first. A module belongs to the first layer with a matching pattern.
LAYERS = {
    "core": [
        "calopaper",
        "calopaper.device",
        "calopaper.dryrun",
        "calopaper.fidelity",
        "calopaper.figures",
        "calopaper.geometry",
        "calopaper.metrics",
        "calopaper.observables",
        "calopaper.parallel",
        "calopaper.plotting",
        "calopaper.provenance",
        "calopaper.findings",
        "calopaper.showers",
        "calopaper.splits",
        "calopaper.store",
        "calopaper.tables",
        "calopaper.timing",
    ],
    "data": [
        "calopaper.datasets",
        "calopaper.export",
        "calopaper.grids",
        "calopaper.truth",
        "calopaper.sim",
        "calopaper.sim.*",
    ],  # fmt: skip
    "chapters": [
        "calopaper.profiles",
        "calopaper.results",
        "calopaper.rebuilds",
        "calopaper.claims",
        "calopaper.claims.*",
        "calopaper.models.*.chapter",
    ],
    "app": [
        "calopaper.bench",
        "calopaper.bench.*",
        "calopaper.models.*.bench",
        "calopaper.bookcache",
        "calopaper.cli",
        "calopaper.page",
        "calopaper.sweep",
    ],
}
#: Between data and chapters: the trained models (everything else under ``models``).
MODELS = ["calopaper.training", "calopaper.models", "calopaper.models.*"]
ORDER = ["core", "data", "models", "chapters", "app"]


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def layer(module: str) -> str:
    for name, patterns in LAYERS.items():
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return name
    if any(fnmatch.fnmatchcase(module, p) for p in MODELS):
        return "models"
    raise AssertionError(f"{module} is in no layer")


def imports(module: str) -> set[str]:
    """The calopaper modules ``module`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m in MODULES and m != module}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_from_a_higher_layer(module):
    mine = ORDER.index(layer(module))
    upward = sorted(m for m in imports(module) if ORDER.index(layer(m)) > mine)
    assert not upward, f"{module} ({layer(module)}) imports {upward} from a higher layer"


def test_claims_judge_numbers_and_import_no_model_code():
    """A claims module takes measured numbers; only the papers' published values come from
    a model package (``models/<family>/paper.py``)."""
    for module in (m for m in MODULES if m.startswith("calopaper.claims")):
        models = [m for m in imports(module) if m.startswith("calopaper.models")]
        assert all(m.endswith(".paper") for m in models), f"{module} imports {models}"


def test_there_is_no_import_cycle():
    graph = {m: imports(m) for m in MODULES}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module) :] + [module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for child in sorted(graph[module]):
            visit(child, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_layer_finds_models_and_chapters():
    assert layer("calopaper.models.gaam.pipeline") == "models"
    assert layer("calopaper.models.gaam.chapter") == "chapters"
    assert layer("calopaper.models.gaam.bench") == "app"
    with pytest.raises(AssertionError, match="no layer"):
        layer("numpy")
