"""The course website (``make site``): built from the committed notebooks, then read in Chromium.

The site is built once for this module, into a temporary folder, with warnings as errors, the way
``make site`` builds it. The first tests read the built files (table of contents, launch and
download links, no solution anywhere, widgets as static pictures, API pages); the last ones open
every page in headless Chromium (the system browser from ``tools/install_test_tools.sh``, see
``conftest.py``) served over HTTP from 127.0.0.1, and check what a visitor would meet: no console
error, no request leaving the machine, every image and formula drawn, every internal link landing on
a page and an anchor that exist.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xdist_group("site")]

REPO = Path(__file__).resolve().parents[2]
SITE_SOURCES = REPO / "site"
sys.path.insert(0, str(SITE_SOURCES / "_ext"))
import static_widgets  # noqa: E402  (the site's own extension module, tested below)

LESSONS = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted(p.stem for p in (REPO / "exercises").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOK_PAGES = [f"notebooks/{name}" for name in LESSONS] + [f"exercises/{name}" for name in EXERCISES]
# Every engine module has its page: the package's public modules, less its internal helpers
# (utils) and the course's grading machinery, which is tooling, not engine.
NOT_ENGINE = {"utils", "grade", "checks"}
API_MODULES = sorted(p.stem for p in (REPO / "lrcourse").glob("*.py")
                     if not p.stem.startswith("_") and p.stem not in NOT_ENGINE)
BINDER_PREFIX = "https://mybinder.org/v2/gh/lrcourse/lrcourse/main?urlpath=lab/tree/"
BUILD_TIMEOUT_S = 600
PAGE_TIMEOUT_MS = 30_000


@dataclass
class BuiltSite:
    html: Path
    seconds: float
    log: str

    def page(self, docname):
        return (self.html / f"{docname}.html").read_text(encoding="utf-8")

    def pages(self):
        """Every page (``_static`` holds the theme's HTML fragments, not pages)."""
        return sorted(p for p in self.html.rglob("*.html") if "_static" not in p.parts)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site from a copy of ``site/`` (the checkout is left untouched) and the repo's notebooks."""
    base = tmp_path_factory.mktemp("site")
    sources = base / "sources"
    shutil.copytree(SITE_SOURCES, sources,
                    ignore=shutil.ignore_patterns("_build", "notebooks", "exercises", "__pycache__"))
    out = base / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-d", str(base / "doctrees"), "-D", f"course_root={REPO}", str(sources), str(out)]
    start = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, f"the site build failed:\n{proc.stdout}\n{proc.stderr}"
    return BuiltSite(out, seconds, proc.stderr)


# ---------------------------------------------------------------------------------------------
# Reading the HTML
# ---------------------------------------------------------------------------------------------


class _Links(HTMLParser):
    """Hrefs of <a> elements (with their classes) and every element id of one page."""

    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href") is not None:
            self.links.append((attrs["href"], attrs.get("class") or ""))


def parse(text):
    parser = _Links()
    parser.feed(text)
    return parser


def visible_text(page_html):
    """The page's text with tags removed (code is split into highlighting spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page_html))


def solution_lines():
    """Lines of code that only the solutions have: between BEGIN and END SOLUTION, long enough to
    be distinctive, absent from the student notebook and from the engine's public source (whose
    pages the site shows: some exercises rebuild what ``lrcourse`` does)."""
    engine = "\n".join(path.read_text(encoding="utf-8") for path in (REPO / "lrcourse").glob("*.py"))
    lines = {}
    for source in sorted((REPO / "exercises" / "solutions").glob("[0-9][0-9]_*.py")):
        notebook = json.loads((REPO / "exercises" / f"{source.stem}.ipynb").read_text(encoding="utf-8"))
        # What the statement itself says (without the Markdown code marks).
        student = re.sub(r"`", "", "\n".join("".join(c["source"]) for c in notebook["cells"]))
        inside = False
        for line in source.read_text(encoding="utf-8").splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) >= 25:
                code = line.strip()
                if code not in student and code not in engine:
                    lines[code] = source.name
    return lines


# ---------------------------------------------------------------------------------------------
# The built files
# ---------------------------------------------------------------------------------------------


def test_the_site_builds_with_warnings_as_errors(site):
    # The fixture fails on any warning (-W); this records the time, which CI pays on every run.
    print(f"site built in {site.seconds:.1f} s")
    assert (site.html / "index.html").is_file()


def test_the_table_of_contents_lists_every_lesson_then_every_exercise_in_order(site):
    index = parse(site.page("index"))
    toc = [href.removesuffix(".html") for href, _ in index.links
           if href.startswith(("notebooks/", "exercises/", "api/")) and "#" not in href]
    toc = list(dict.fromkeys(toc))  # the sidebar repeats the body's table of contents
    assert [p for p in toc if p.startswith("notebooks/")] == [f"notebooks/{n}" for n in LESSONS]
    assert [p for p in toc if p.startswith("exercises/")] == [f"exercises/{n}" for n in EXERCISES]
    assert len(LESSONS) == 9 and len(EXERCISES) == 8
    assert "api/index" in toc


@pytest.mark.parametrize("docname", NOTEBOOK_PAGES)
def test_every_notebook_page_launches_its_own_notebook_on_binder_and_offers_it(site, docname):
    links = parse(site.page(docname)).links
    binder = {href for href, _ in links if "mybinder.org" in href}
    assert binder == {f"{BINDER_PREFIX}{docname}.ipynb"}, binder
    urlpath = urllib.parse.parse_qs(urllib.parse.urlsplit(binder.pop()).query)["urlpath"][0]
    assert (REPO / urlpath.removeprefix("lab/tree/")).is_file()
    downloads = [href for href, cls in links if "course-launch-download" in cls]
    assert len(downloads) == 1
    downloaded = (site.html / docname).parent / urllib.parse.unquote(downloads[0])
    assert downloaded.read_bytes() == (REPO / f"{docname}.ipynb").read_bytes()


def test_the_readme_badge_opens_binder_where_the_site_does():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"{BINDER_PREFIX}notebooks/00_welcome.ipynb" in readme


def test_no_solution_reaches_the_site(site):
    assert not [p for p in site.html.rglob("*") if "solutions" in p.as_posix()]
    secrets = solution_lines()
    assert len(secrets) >= 8  # one per exercise at least, or this test checks nothing
    leaked = set()
    for page in site.pages():
        text = visible_text(page.read_text(encoding="utf-8"))
        leaked |= {f"{name}: {line}" for line, name in secrets.items() if line in text}
    assert not leaked


@pytest.mark.parametrize("lesson", LESSONS)
def test_widgets_are_static_pictures_that_say_they_come_alive(site, lesson):
    notebook = json.loads((REPO / "notebooks" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    views = [o for cell in notebook["cells"] for o in cell.get("outputs", [])
             if static_widgets.WIDGET_VIEW in o.get("data", {})]
    page = site.page(f"notebooks/{lesson}")
    assert page.count('class="course-widget"') == len(views)
    assert "application/vnd.jupyter.widget" not in page  # no widget JavaScript, no model ids
    images = re.findall(r'class="course-widget-image" src="data:image/png;base64,', page)
    notes = page.count('class="course-widget-note"')
    # Widgets that hold a figure (the playground, the schedule explorer) show it, and every widget
    # with a control says it comes alive; progress bars show their final count.
    assert notes >= len(images)
    if lesson.startswith(("04_", "07_")):
        assert len(images) == 1 and notes >= 1


def test_the_api_pages_document_every_module_and_every_schedule(site):
    import lrcourse.schedules

    for module in API_MODULES:
        assert f'id="module-lrcourse.{module}"' in site.page(f"api/{module}")
    schedules = site.page("api/schedules")
    for name in lrcourse.schedules.__all__:
        assert f'id="lrcourse.schedules.{name}"' in schedules


def test_lesson_text_links_lrcourse_names_to_the_api(site):
    page = site.page("notebooks/07_cyclical_learning_rates")
    assert 'href="../api/schedules.html#lrcourse.schedules.CyclicLR"' in page


# ---------------------------------------------------------------------------------------------
# The static widget views, on small widget states
# ---------------------------------------------------------------------------------------------


def test_the_widget_renderer_examples_hold():
    import doctest

    result = doctest.testmod(static_widgets)
    assert result.attempted > 0 and result.failed == 0


def test_a_progress_bar_shows_its_final_count_and_no_alive_note():
    state = {"bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_t", "IPY_MODEL_p"]}},
             "t": {"model_name": "HTMLModel", "state": {"value": "runs: 100%"}},
             "p": {"model_name": "FloatProgressModel", "state": {"value": 15.0, "max": 15.0}}}
    notebook = {"metadata": {"widgets": {static_widgets.WIDGET_STATE: {"state": state}}},
                "cells": [{"outputs": [{"data": {static_widgets.WIDGET_VIEW: {"model_id": "bar"}}}]}]}
    assert static_widgets.static_widget_outputs(notebook) == []
    shown = notebook["cells"][0]["outputs"][0]["data"]
    assert list(shown) == ["text/html"]
    assert 'value="15" max="15"' in shown["text/html"] and "runs: 100%" in shown["text/html"]
    assert "course-widget-note" not in shown["text/html"]
    assert "widgets" not in notebook["metadata"]


def test_a_widget_without_saved_state_or_of_an_unknown_kind_is_reported():
    notebook = {"metadata": {}, "cells": [
        {"outputs": [{"data": {static_widgets.WIDGET_VIEW: {"model_id": "gone"}}}]}]}
    assert static_widgets.static_widget_outputs(notebook) == [
        "cell 0: widget model gone is not in the notebook's saved widget state"]
    view = static_widgets.WidgetView({"m": {"model_name": "ColorPickerModel", "state": {}}})
    assert view.html("m") == "" and view.problems == ["no static view for widget model ColorPickerModel (m)"]


def test_controls_show_their_label_and_value_and_make_the_view_interactive():
    view = static_widgets.WidgetView({
        "d": {"model_name": "DropdownModel",
              "state": {"description": "optimizer", "_options_labels": ["SGD", "Adam"], "index": 1}},
        "s": {"model_name": "FloatLogSliderModel",
              "state": {"description": "learning rate", "value": 0.05, "readout_format": ".3g"}}})
    assert view.html("d") == '<span class="course-widget-control">optimizer: <b>Adam</b></span>'
    assert "learning rate: <b>0.05</b>" in view.html("s")
    assert view.interactive


# ---------------------------------------------------------------------------------------------
# In the browser
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(site):
    """The built site over HTTP on 127.0.0.1 (a random port), as a static host serves it."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site.html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


# Waits for every image (lazy ones included), MathJax and its fonts, then reports what the page shows.
_INSPECT = """async () => {
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(done => { img.addEventListener("load", done); img.addEventListener("error", done); })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;  // MathJax asks for its fonts once the formulas are typeset
  return {
    brokenImages: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
                       .map(i => i.currentSrc.slice(0, 120) || i.getAttribute("src")),
    images: document.images.length,
    links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
    maths: document.querySelectorAll("span.math, div.math").length,
    typeset: document.querySelectorAll("mjx-container").length,
    mathErrors: document.querySelectorAll("mjx-merror").length,
  };
}"""


def visit_every_page(chromium, served, site):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    problems, seen = [], {}
    current = {"url": None}

    def problem(text):
        problems.append(f"{current['url']}: {text}")

    def on_console(message):
        if message.type in ("error", "warning"):
            problem(f"console {message.type}: {message.text}")

    def on_response(response):
        if response.status >= 400:
            problem(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda exc: problem(f"page error: {exc}"))
    page.on("requestfailed", lambda request: problem(f"request failed: {request.url} ({request.failure})"))

    def only_local(route):
        url = route.request.url
        if url.startswith((served, "data:", "blob:")):
            route.continue_()
        else:  # the site must not need the network
            problem(f"requested from outside the site: {url}")
            route.abort()

    page.route("**/*", only_local)
    try:
        for path in site.pages():
            relative = path.relative_to(site.html).as_posix()
            current["url"] = served + relative
            page.goto(current["url"], wait_until="load")
            seen[relative] = page.evaluate(_INSPECT)
            if seen[relative]["maths"]:  # let the last MathJax fonts arrive before leaving the page
                page.wait_for_load_state("networkidle")
    finally:
        context.close()
    return seen, problems


@pytest.fixture(scope="module")
def visited(chromium, served, site):
    return visit_every_page(chromium, served, site)


@pytest.mark.browser
def test_every_page_loads_without_console_errors_or_outside_requests(visited, site):
    seen, problems = visited
    assert len(seen) == len(site.pages()) >= len(NOTEBOOK_PAGES) + len(API_MODULES) + 1
    assert problems == []


@pytest.mark.browser
def test_every_image_and_formula_is_drawn(visited):
    seen, _ = visited
    broken = {page: info["brokenImages"] for page, info in seen.items() if info["brokenImages"]}
    assert broken == {}
    assert sum(info["images"] for info in seen.values()) >= 30  # the lessons' figures are there
    untypeset = {page: info for page, info in seen.items()
                 if info["maths"] and (info["typeset"] < info["maths"] or info["mathErrors"])}
    assert untypeset == {}
    assert seen["notebooks/04_fixed_learning_rate.html"]["typeset"] > 10


@pytest.mark.browser
def test_every_internal_link_resolves(visited, served, site):
    seen, _ = visited
    targets = {}
    broken = []
    for page, info in seen.items():
        for link in info["links"]:
            if not link.startswith(served):
                continue
            parts = urllib.parse.urlsplit(link)
            relative = urllib.parse.unquote(parts.path).removeprefix("/")
            file = site.html / relative
            if relative == "" or relative.endswith("/"):
                file = file / "index.html"
            if not file.is_file():
                broken.append(f"{page} -> {link}: no such file")
                continue
            if parts.fragment and file.suffix == ".html":
                if file not in targets:
                    targets[file] = parse(file.read_text(encoding="utf-8")).ids
                if urllib.parse.unquote(parts.fragment) not in targets[file]:
                    broken.append(f"{page} -> {link}: no element with that id")
    assert broken == []


@pytest.mark.browser
def test_binder_links_in_the_browser_point_at_each_pages_notebook(visited):
    seen, _ = visited
    for docname in NOTEBOOK_PAGES:
        binder = {link for link in seen[f"{docname}.html"]["links"] if "mybinder.org" in link}
        assert binder == {f"{BINDER_PREFIX}{docname}.ipynb"}, (docname, binder)
