"""What nbval cannot check: parameter injection, glued values, claims tables, the rendered HTML.

nbval (``pytest --nbval-lax``, see pyproject.toml) executes every chapter cell by cell in the
smoke profile, and conftest.py keeps each chapter with the outputs of its cells. Here those
executed chapters must glue finite values and write a complete claims table; they are rendered
by Jupyter Book without re-executing them, and the pages must read offline and carry no
unrendered markup. Parameters injected by papermill, as a user re-running a chapter passes
them, must be refused with a one-line error naming the parameter when they are wrong.
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.notebook

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


@pytest.fixture(scope="module")
def executed_book(tmp_path_factory, nbval_chapters) -> tuple[Path, dict[str, list[str]]]:
    """A copy of book/ with the chapters as nbval executed them, and the failed cells of each
    chapter nbval ran in this session."""
    executed, failed = nbval_chapters
    folder = tmp_path_factory.mktemp("book")
    for path in BOOK.iterdir():
        if path.is_file():
            ran = executed / path.name
            shutil.copy(ran if ran.exists() else path.resolve(), folder / path.name)
    return folder, failed


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_glues_finite_values_and_a_complete_claims_table(notebook, executed_book):
    folder, failed = executed_book
    if notebook.stem not in failed:
        pytest.skip(f"nbval did not run {notebook.name} in this session (run pytest on book/)")
    assert not failed[notebook.stem], f"{notebook.name}: failed cells {failed[notebook.stem]}"
    values = glued(folder / notebook.name)
    assert values, f"{notebook.name} glued no values"
    for name, text in values.items():
        assert not text.startswith("np."), f"{notebook.name}: glue {name} as a float, not {text}"
        try:
            number = float(text.strip("'\""))
        except ValueError:
            continue
        assert math.isfinite(number), f"{notebook.name}: glued {name} = {text}"
    # a smoke run is not the book's: it publishes beside the book's results
    runs = Path(os.environ["CALOPAPER_DATA"]) / "results" / "runs" / notebook.stem
    (results,) = runs.glob(f"*/results/{notebook.stem}.json")
    assert not (runs.parents[1] / f"{notebook.stem}.json").exists()
    claims = json.loads(results.read_text())["claims"]
    assert claims, f"{notebook.name} wrote an empty claims table"
    for claim in claims:
        assert claim["ours"] and claim["verdict"], claim


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


class Page(HTMLParser):
    """The parts of an HTML page these tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.text, self.ids, self.links, self.images, self.scripts, self.styles = (
            [] for _ in range(6)
        )
        self.headers = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag in ("script", "style"):
            self._skip += 1
            if a.get("src"):
                self.scripts.append(a["src"])
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "link" and "stylesheet" in (a.get("rel") or ""):
            self.styles.append(a.get("href", ""))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text())
    return page


@pytest.fixture(scope="module")
def html(executed_book) -> Path:
    """Render the executed chapters (no re-execution) with warnings as errors."""
    folder, failed = executed_book
    if set(failed) != {n.stem for n in NOTEBOOKS}:
        pytest.skip("the book renders with every chapter executed by nbval in this session")
    assert not any(failed.values()), failed
    config = yaml.safe_load((folder / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (folder / "_config.yml").write_text(yaml.safe_dump(config))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = subprocess.run(
        [jupyter_book, "build", "--all", "-W", "--keep-going", folder],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return folder / "_build" / "html"


def pages(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.html") if "_static" not in p.parts]


def test_no_unrendered_roles_or_directives(html):
    for path in pages(html):
        text = " ".join(parse(path).text)
        found = re.findall(r"\{(?:glue|cite|numref|ref|eq)[:}][^ ]*", text)
        assert not found, f"{path.name} shows unrendered markup {found[:3]}"


def test_every_image_exists_and_is_not_empty(html):
    for path in pages(html):
        for src in parse(path).images:
            if src.startswith("data:"):
                continue
            target = (path.parent / unquote(urlsplit(src).path)).resolve()
            assert target.is_file() and target.stat().st_size > 0, f"{path.name}: <img {src}>"


def test_nothing_is_loaded_from_outside_the_build(html):
    for path in pages(html):
        page = parse(path)
        for url in page.scripts + page.styles:
            assert not urlsplit(url).netloc and not url.startswith("//"), f"{path.name}: {url}"


def test_links_stay_inside_the_book_and_resolve(html):
    for path in pages(html):
        for href in parse(path).links:
            url = urlsplit(href)
            if url.scheme in ("http", "https"):
                assert not re.search(r"\.(md|py|yml|txt|ipynb)$", url.netloc), (
                    f"{path.name}: {href}"
                )
                continue
            assert url.scheme in ("", "mailto"), f"{path.name}: {href}"
            if url.scheme or not url.path:
                continue
            target = (path.parent / unquote(url.path)).resolve()
            assert target.is_relative_to(html.resolve()), f"{path.name} links outside: {href}"
            assert target.exists(), f"{path.name}: broken link {href}"
            if url.fragment and target.suffix == ".html":
                assert url.fragment in parse(target).ids, f"{path.name}: no #{url.fragment}"


@pytest.mark.parametrize("chapter", [p.stem for p in NOTEBOOKS])
def test_every_chapter_shows_its_claims_table(html, chapter):
    text = " ".join(parse(html / f"{chapter}.html").text)
    assert all(word in text for word in ("claim", "paper", "ours", "verdict")), chapter
    assert re.search(r"reproduced|partly|not yet run", text), chapter
