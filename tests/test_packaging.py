"""The set-up files agree with each other."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_pins() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pins.update(extra)
    return pins


def test_environment_yml_lists_the_pyproject_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip) - {"-e ."} == _pyproject_pins()


def test_every_dependency_is_pinned_and_justified_in_readme():
    readme = (ROOT / "README.md").read_text()
    for pin in _pyproject_pins():
        name, _, version = pin.partition("==")
        assert version, f"{pin} is not pinned with =="
        assert f"`{name}`" in readme, f"{name} is missing from the README's dependency table"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_toc_lists_the_seven_chapters_in_order():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for c in toc["chapters"]]
    chapters = [f for f in files if f[:2].isdigit()]
    assert chapters == sorted(chapters) and len(chapters) == 7
    for name in files:
        assert any((ROOT / "book").glob(f"{name}.*")), f"{name} in _toc.yml has no file in book/"
