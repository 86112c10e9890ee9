"""What the course website adds to Sphinx and myst-nb.

* Pages: the lesson and exercise notebooks are copied from the repository's ``notebooks/`` and
  ``exercises/`` into the same folders here (ignored by git) when the build starts, so a page's path
  is the notebook's path in the repository and relative links between notebooks work as in
  JupyterLab. Only ``NN_name.ipynb`` files are copied: never the solutions or the jupytext sources.
* Widgets: each widget output of a notebook becomes a static view of its saved state
  (:mod:`static_widgets`), before myst-nb reads the notebook. The files on disk are not changed.
* Launching: every lesson and exercise page starts with a line linking to Binder (JupyterLab at
  that notebook) and to the notebook file itself.
* API links: an inline code name in a notebook's text, such as ``lrcourse.schedules.CyclicLR`` or
  ``lr_range_test()``, links to its API page when it names exactly one documented object.
* Maths: MathJax 3 is copied into the site from the sphinx-mathjax-offline package, so pages need
  no network.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

from static_widgets import static_widget_outputs

logger = logging.getLogger(__name__)

# Pages that are notebooks a learner can launch, by the folder they sit in.
LAUNCHABLE = ("notebooks", "exercises")
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
# An inline code name that may point into the API: dotted identifiers, optionally called "()".
_NAME = re.compile(r"^([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)(?:\(\))?$")
# Short names linked without their module only when they are classes or functions.
_LINKABLE_TYPES = {"class", "function", "exception"}


def is_notebook_page(docname):
    return docname.split("/", 1)[0] in LAUNCHABLE


def binder_url(config, docname):
    """The Binder URL that opens ``docname``'s notebook in JupyterLab."""
    return (f"{config.course_binderhub}/v2/gh/{config.course_repository}/{config.course_branch}"
            f"?urlpath=lab/tree/{docname}.ipynb")


# --- the notebooks --------------------------------------------------------------------------


def copy_notebooks(app, config):
    """Mirror ``<repository>/<folder>/NN_*.ipynb`` into ``<site>/<folder>/`` for each folder."""
    repository = Path(config.course_root or Path(app.confdir).parent)
    for folder in LAUNCHABLE:
        source, target = repository / folder, Path(app.srcdir) / folder
        target.mkdir(exist_ok=True)
        wanted = {path.name: path for path in source.glob(NOTEBOOK_GLOB)}
        for stale in target.glob("*.ipynb"):
            if stale.name not in wanted:
                stale.unlink()
        for name, path in wanted.items():
            copy = target / name
            # copy2 keeps the modification time, so Sphinx rebuilds only the pages that changed.
            if not copy.exists() or copy.stat().st_mtime != path.stat().st_mtime:
                shutil.copy2(path, copy)


# --- widgets ----------------------------------------------------------------------------------


def make_widgets_static(app, docname, source):
    if not app.env.doc2path(docname).suffix == ".ipynb":
        return
    notebook = json.loads(source[0])
    problems = static_widget_outputs(notebook)
    for problem in problems:
        logger.warning(f"{problem}: the page shows nothing for it", location=docname)
    source[0] = json.dumps(notebook)


# --- launch line ------------------------------------------------------------------------------


def add_launch_line(app, doctree):
    docname = app.env.docname
    if not is_notebook_page(docname):
        return
    filename = docname.rsplit("/", 1)[-1] + ".ipynb"
    line = nodes.paragraph(classes=["course-launch"])
    line += nodes.reference("", "Launch on Binder", refuri=binder_url(app.config, docname),
                            classes=["course-launch-binder"])
    line += nodes.Text(" (JupyterLab, runs in your browser) · ")
    line += addnodes.download_reference("", "", nodes.literal(filename, filename),
                                        reftarget="/" + docname + ".ipynb", refdoc=docname,
                                        refexplicit=True, classes=["course-launch-download"])
    line += nodes.Text(" (the notebook, to run on your machine)")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        logger.warning("notebook has no title: the launch line goes first", location=docname)
        doctree.insert(0, line)
    else:
        section.insert(1, line)


# --- API links from inline code ----------------------------------------------------------------


def _api_index(env):
    """Every documented object of lrcourse as {name a reader may write: [full names]}."""
    index = {}
    for fullname, entry in env.get_domain("py").objects.items():
        if not fullname.startswith("lrcourse.") or getattr(entry, "aliased", False):
            continue
        parts = fullname.split(".")
        # lrcourse.schedules.CyclicLR may be written as such, schedules.CyclicLR, lrcourse.CyclicLR
        # (a re-export) or, for a class or function, CyclicLR.
        names = {fullname, ".".join(parts[1:]), f"lrcourse.{parts[-1]}"}
        if entry.objtype in _LINKABLE_TYPES or entry.objtype == "module":
            names.add(parts[-1])
        for name in names:
            index.setdefault(name, set()).add(fullname)
    return index


def link_code_to_api(app, doctree, docname):
    if app.builder.format != "html" or not is_notebook_page(docname):
        return
    domain = app.env.get_domain("py")
    index = _api_index(app.env)
    for literal in list(doctree.findall(nodes.literal)):
        if isinstance(literal.parent, (nodes.reference, addnodes.download_reference)):
            continue
        match = _NAME.match(literal.astext())
        targets = index.get(match.group(1), set()) if match else set()
        if len(targets) != 1:
            continue
        entry = domain.objects[next(iter(targets))]
        uri = app.builder.get_relative_uri(docname, entry.docname) + "#" + entry.node_id
        reference = nodes.reference("", "", internal=True, refuri=uri, classes=["course-api-link"])
        literal.replace_self(reference)
        reference += literal


# --- maths -----------------------------------------------------------------------------------


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    # The package's folder has a dash in its name, so it is found by its distribution, not imported.
    distribution = importlib.metadata.distribution("sphinx-mathjax-offline")
    source = Path(distribution.locate_file("sphinx-mathjax-offline/static/mathjax"))
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / "tex-chtml.js").exists():
        shutil.copytree(source, target, dirs_exist_ok=True)


def setup(app):
    # The checkout whose notebooks are shown; by default the one this site/ folder is in.
    app.add_config_value("course_root", "", "env")
    app.add_config_value("course_repository", "lrcourse/lrcourse", "html")
    app.add_config_value("course_branch", "main", "html")
    app.add_config_value("course_binderhub", "https://mybinder.org", "html")
    app.connect("config-inited", copy_notebooks)
    app.connect("source-read", make_widgets_static)
    # Before Sphinx collects download links (priority 500), so the notebook file is copied too.
    app.connect("doctree-read", add_launch_line, priority=400)
    app.connect("doctree-resolved", link_code_to_api)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
