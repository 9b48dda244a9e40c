"""Tests for calopaper.store: keys, caching, code invalidation, atomic writes."""

import dataclasses
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import calopaper
from calopaper.store import Store, atomic_write, canonical_config, default_store


def _writer(text="artifact"):
    calls = []

    def build(tmp: Path) -> None:
        calls.append(tmp)
        tmp.write_text(text)

    return build, calls


def test_build_once_then_cached(tmp_path):
    store = Store(tmp_path)
    build, calls = _writer()
    first = store.get_or_build("datasets", {"n": 10, "seed": 0}, build)
    second = store.get_or_build("datasets", {"seed": 0, "n": 10}, build)
    assert first == second == store.path_for("datasets", {"n": 10, "seed": 0})
    assert len(calls) == 1
    assert first.read_text() == "artifact"
    assert first.parent == tmp_path / "datasets" and first.suffix == ".h5"
    assert calls[0].parent == first.parent and calls[0].suffix == ".h5"
    manifest = json.loads((first.parent / f"{first.stem}.json").read_text())
    assert manifest["config"] == {"n": 10, "seed": 0}
    assert manifest["kind"] == "datasets"
    assert manifest["calopaper_version"] == calopaper.__version__


def test_key_changes_with_config_and_kind(tmp_path):
    store = Store(tmp_path)
    key = store.key("datasets", {"n": 10})
    assert len(key) == 16 and int(key, 16) >= 0
    assert store.key("datasets", {"n": 11}) != key
    assert store.key("models", {"n": 10}) != key
    assert store.key("datasets", {"n": 10}) == key


@dataclasses.dataclass(frozen=True)
class _Config:
    width: int = 4
    rate: float = 1e-3
    sizes: tuple[int, ...] = (1, 2)


def test_dataclass_and_numpy_configs():
    store = Store()
    as_dict = {"width": 4, "rate": 1e-3, "sizes": [1, 2]}
    assert store.key("m", _Config()) == store.key("m", as_dict)
    numpy_config = {"width": np.int64(4), "rate": np.float64(1e-3), "sizes": np.array([1, 2])}
    assert store.key("m", numpy_config) == store.key("m", as_dict)


def test_unserialisable_config_names_the_key():
    with pytest.raises(TypeError, match=r"config\['model'\]\['fn'\]"):
        canonical_config({"model": {"fn": print}})
    with pytest.raises(TypeError, match="non-string key"):
        canonical_config({1: 2})


def test_bad_kind_and_suffix(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(ValueError, match="kind"):
        store.path_for("../escape", {})
    with pytest.raises(ValueError, match="manifest"):
        store.path_for("results", {}, suffix=".json")
    assert store.path_for("models/savae", {}, suffix=".pt").parent == tmp_path / "models/savae"


def test_key_changes_when_code_changes(tmp_path, monkeypatch):
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    source = module_dir / "calopaper_tmp_builder.py"
    source.write_text("SCALE = 1\n")
    monkeypatch.syspath_prepend(str(module_dir))
    module = importlib.import_module("calopaper_tmp_builder")
    try:
        store = Store(tmp_path / "data")
        build, calls = _writer()
        before = store.get_or_build("samples", {"n": 1}, build, code=[module])
        assert store.key("samples", {"n": 1}, code=["calopaper_tmp_builder"]) == before.stem
        assert store.key("samples", {"n": 1}) != before.stem
        source.write_text("SCALE = 2\n")
        after = store.get_or_build("samples", {"n": 1}, build, code=[module])
        assert after != before and len(calls) == 2
        manifest = json.loads((after.parent / f"{after.stem}.json").read_text())
        assert list(manifest["code"]) == ["calopaper_tmp_builder"]
    finally:
        sys.modules.pop("calopaper_tmp_builder", None)


def test_package_code_covers_its_submodules(tmp_path, monkeypatch):
    package = tmp_path / "calopaper_tmp_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "part.py").write_text("A = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        key = Store().key("m", {}, code=["calopaper_tmp_pkg"])
        (package / "part.py").write_text("A = 2\n")
        assert Store().key("m", {}, code=["calopaper_tmp_pkg"]) != key
    finally:
        sys.modules.pop("calopaper_tmp_pkg", None)


def test_unknown_code_module():
    with pytest.raises(ValueError, match="no_such_module_xyz"):
        Store().key("m", {}, code=["no_such_module_xyz"])
    with pytest.raises(TypeError, match="module"):
        Store().key("m", {}, code=[42])


def test_failing_build_leaves_nothing(tmp_path):
    store = Store(tmp_path)

    def build(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.get_or_build("datasets", {"n": 1}, build)
    leftovers = [p.name for p in (tmp_path / "datasets").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []
    assert not store.path_for("datasets", {"n": 1}).exists()

    build_ok, calls = _writer()
    assert store.get_or_build("datasets", {"n": 1}, build_ok).read_text() == "artifact"


def test_build_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="did not create"):
        Store(tmp_path).get_or_build("datasets", {}, lambda tmp: None)
    assert not Store(tmp_path).path_for("datasets", {}).exists()


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(ValueError, match="writer failed"), atomic_write(target) as tmp:
        tmp.write_text("new but broken")
        raise ValueError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]
    with atomic_write(target) as tmp:
        assert tmp != target and tmp.parent == target.parent and tmp.suffix == ".txt"
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_atomic_write_creates_parent(tmp_path):
    target = tmp_path / "a" / "b" / "x.bin"
    with atomic_write(target) as tmp:
        tmp.write_bytes(b"\x00")
    assert target.read_bytes() == b"\x00"


def test_default_store(monkeypatch, tmp_path):
    monkeypatch.setenv("CALOPAPER_DATA", str(tmp_path))
    assert default_store().root == tmp_path
    monkeypatch.delenv("CALOPAPER_DATA")
    repo = Path(calopaper.__file__).resolve().parent.parent
    assert default_store().root == repo / "data"
