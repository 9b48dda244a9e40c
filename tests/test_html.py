"""The book as its readers get it: the rendered HTML of the smoke-profile chapters.

The chapters executed by papermill (``executed_book`` in conftest.py) are rendered by Jupyter
Book without re-executing them; the pages must read offline and carry no unrendered markup.
"""

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from chapters import NOTEBOOKS

pytestmark = pytest.mark.notebook


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
    folder, failures = executed_book
    assert not failures, failures
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
