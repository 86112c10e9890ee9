"""Sphinx configuration of the course website: ``make site`` builds it into ``site/_build/html``.

The pages come from the committed, executed notebooks (nothing is re-executed): ``notebooks`` and
``exercises`` here are links to the repository's folders, so a page's path is the notebook's path in
the repository (``notebooks/04_fixed_learning_rate.html`` is ``notebooks/04_fixed_learning_rate.ipynb``)
and its Binder button opens that very notebook. The build runs offline: the theme, MathJax and
everything else a page loads are copied into the site.
"""

import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent
sys.path.insert(0, str(SITE / "_ext"))

# The repository the launch buttons point at, as in the README's Binder badge.
REPOSITORY = "lrcourse/lrcourse"
BRANCH = "main"
BINDERHUB = "https://mybinder.org"

project = "lrcourse"
author = "the lrcourse contributors"
copyright = "the lrcourse contributors, MIT licence"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.githubpages",
    "sphinx.ext.mathjax",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "course_site",
]

root_doc = "index"
# notebooks/ and exercises/ here are filled from the repository's folders by course_site (lessons
# and student exercises only, never the solutions): see its docstring.
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# --- notebooks: shown as committed ---------------------------------------------------------------
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# --- API pages -----------------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
autosummary_generate = False
# A few docstrings use numpydoc sections ("Parameters" and a dashed line).
napoleon_google_docstring = False

# --- maths: MathJax 3, copied into the site from the sphinx-mathjax-offline package ---------------
# (by course_site, which does not load that package's own extension: only its MathJax files).
mathjax_path = "mathjax/tex-chtml.js"

# --- HTML ----------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "lrcourse: learning rates, hands-on"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
# The theme's light/dark switch starts on the reader's system setting.
html_context = {"default_mode": "auto"}
html_theme_options = {
    "repository_url": f"https://github.com/{REPOSITORY}",
    "repository_branch": BRANCH,
    # Pages sit at their repository path (see the module docstring), so no prefix.
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "use_source_button": False,
    "use_edit_page_button": False,
    "use_issues_button": False,
    "launch_buttons": {"binderhub_url": BINDERHUB, "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
    "navigation_with_keys": False,
}

# --- course_site extension: the launch line above each notebook ----------------------------------
course_repository = REPOSITORY
course_branch = BRANCH
course_binderhub = BINDERHUB
