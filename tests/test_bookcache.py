"""The book's execution cache is kept only while nothing the notebooks read has changed."""

import json

import nbformat
import pytest

from calopaper.bookcache import STAMP, refresh


@pytest.fixture
def book(tmp_path):
    folder = tmp_path / "book"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A"), nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, folder / "a.ipynb")
    return folder


def _edit(path, index, text):
    nb = json.loads(path.read_text())
    nb["cells"][index]["source"] = text
    path.write_text(json.dumps(nb))


def test_cache_is_kept_until_an_input_changes(book, tmp_path, monkeypatch):
    cache, store = tmp_path / "_build" / ".jupyter_cache", tmp_path / "data"
    monkeypatch.delenv("CALOPAPER_PROFILE", raising=False)

    def fresh() -> bool:
        emptied = refresh(cache, book, store)
        cache.mkdir(parents=True, exist_ok=True)  # what the build then fills
        return emptied

    assert fresh() and (cache.parent / STAMP).exists()
    assert not fresh()
    _edit(book / "a.ipynb", 0, "# A, reworded")  # prose only: the outputs stand
    assert not fresh()
    _edit(book / "a.ipynb", 1, "x = 2")
    assert fresh()
    monkeypatch.setenv("CALOPAPER_PROFILE", "smoke")
    assert fresh() and not fresh()
    (store / ".store-id").unlink()  # an emptied data/ folder
    assert fresh()
    (book / "b.ipynb").write_text((book / "a.ipynb").read_text())  # a new notebook
    assert fresh()
    (book / "records").mkdir()
    (book / "records" / "seeds-abc1234.json").write_text("{}")  # a new record
    assert fresh() and not fresh()
