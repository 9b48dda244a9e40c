"""An executed run rendered as a book page: the book's bibliography, MathJax from the build,
links to the appendix, nothing loaded from outside (calopaper page, sweep summary --html)."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest
from test_notebooks import pages, parse

from calopaper.cli import main
from calopaper.page import render

TOY = Path(__file__).parent / "data" / "toy_chapter.ipynb"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The toy chapter executed by papermill with a parameter changed, as a user would."""
    folder = tmp_path_factory.mktemp("runs")
    out = folder / "toy_chapter.ipynb"
    command = [sys.executable, "-m", "papermill", str(TOY), str(out), "-k", "python3"]
    env = os.environ | {"CALOPAPER_DATA": str(folder / "data")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    subprocess.run([*command, "-p", "n_showers", "5"], check=True, capture_output=True, env=env)
    return out


def _check(html: Path) -> None:
    for path in pages(html):
        page = parse(path)
        text = " ".join(page.text)
        assert "{cite}" not in text and "{doc}" not in text, f"{path.name} shows raw roles"
        for url in page.scripts + page.styles:
            assert not urlsplit(url).netloc and not url.startswith("//"), f"{path.name}: {url}"
        for href in page.links:
            url = urlsplit(href)
            if url.scheme or not url.path:
                continue
            assert (path.parent / unquote(url.path)).resolve().exists(), f"broken link {href}"


def test_a_papermill_run_renders_like_a_book_page(run, capsys):
    assert main(["page", str(run)]) == 0
    index = run.parent / "_build" / "toy_chapter" / "_build" / "html" / "index.html"
    assert str(index) in capsys.readouterr().out
    _check(index.parent)
    page = parse(index.parent / "toy_chapter.html")  # index.html redirects to the run's page
    assert any("conventions.html" in href for href in page.links)
    assert any("krause2024calochallenge" in href or "references" in href for href in page.links)
    assert any("mathjax" in src.lower() for src in page.scripts)


def test_a_summary_table_becomes_the_front_page(run, tmp_path):
    table = pd.DataFrame({"run": ["n_showers=5"], "status": ["done"], "toy-count": ["reproduced"]})
    index = render([run], tmp_path / "site", title="Sweep toy", table=table)
    _check(index.parent)
    text = " ".join(parse(index.parent / "index.html").text)
    assert "Sweep toy" in text and "n_showers=5" in text and "reproduced" in text


def test_a_missing_notebook_is_named(tmp_path):
    with pytest.raises(SystemExit, match="no executed notebook at .*nope.ipynb"):
        main(["page", str(tmp_path / "nope.ipynb")])
