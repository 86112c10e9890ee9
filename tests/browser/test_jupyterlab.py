"""The course as a learner sees it: JupyterLab in a real (headless) Chromium.

Each test opens a notebook in JupyterLab, runs it through the menus as a person would, reads what
the page shows, saves the notebook and reads the saved file too. Screenshots are written to
``artifacts/browser/``. The fixtures (server, browser) are in ``conftest.py``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# What the tests open, relative to the course root. Adjust here when the course changes.
LESSON_WITH_PLAYGROUND = "notebooks/04_fixed_learning_rate.ipynb"
PLAYGROUND_SLIDER_LABEL = "learning rate"
WELCOME = "notebooks/00_welcome.ipynb"
EXERCISE = "exercises/01_the_ml_loop.ipynb"
# The first code cell whose source matches this is the exercise's first check cell.
EXERCISE_CHECK_CELL = re.compile(r"^\s*check\(", re.MULTILINE)
# What the check prints for a function the learner has not written yet.
EXERCISE_FEEDBACK = re.compile(r"not (yet )?implemented|NotImplementedError", re.IGNORECASE)

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
RUN_TIMEOUT_S = 240  # a lesson runs in under a minute; generous for a slow CI machine
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_ERROR_TEXTS = ("Error displaying widget", "Failed to load model class")

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"


# ---------------------------------------------------------------------------------------------
# Driving JupyterLab
# ---------------------------------------------------------------------------------------------


def open_notebook(page, server, relpath):
    """Open ``relpath`` in a fresh workspace and wait for its kernel to be idle."""
    assert (server.root / relpath).is_file(), f"{relpath} is not in the course copy"
    page.goto(server.lab_url(relpath))
    panel = page.locator(NOTEBOOK)
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=90_000)
    current_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    title = current_tab.locator(".lm-TabBar-tabLabel").inner_text()
    assert title == relpath.rsplit("/", 1)[-1], f"opened {title!r} instead of {relpath!r}"
    wait_for_kernel_idle(page, timeout_s=90)
    return panel


def menu(page, name, command):
    """Click ``command`` (a JupyterLab command id) in the main menu ``name``, as a person would."""
    page.locator(".lm-MenuBar-item", has_text=name).first.click()
    item = page.locator(f".lm-Menu-item[data-command='{command}']").first
    item.wait_for(state="visible", timeout=5_000)
    assert "lm-mod-disabled" not in (item.get_attribute("class") or ""), (
        f"{name} > {item.inner_text()} is disabled"
    )
    item.click()


def kernel_status(page):
    """The notebook's kernel status as the status bar shows it ("Idle", "Busy", ...).

    None until a kernel is connected: before that the status bar reads "No Kernel | ..." and
    JupyterLab silently skips cells that are run (it clears them instead of executing them).
    """
    bar = page.locator("#jp-main-statusbar")
    text = bar.inner_text() if bar.count() else ""
    match = re.search(r"^(?!No Kernel)(.+) \| (\w[\w ]*)$", text, re.MULTILINE)
    if match is None:
        return None
    indicator = page.locator(f"{NOTEBOOK} .jp-Notebook-ExecutionIndicator").first
    if match.group(2) == "Idle" and indicator.get_attribute("data-status") != "idle":
        return indicator.get_attribute("data-status")
    return match.group(2)


def prompts(page):
    """Input prompts of all code cells, e.g. ['[1]:', '[*]:', '[ ]:']."""
    return page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputPrompt").all_inner_texts()


def wait_for_kernel_idle(page, timeout_s=RUN_TIMEOUT_S, settle_s=1.0):
    """Wait until the kernel is idle, no cell is queued or running, for ``settle_s`` in a row."""
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        busy = kernel_status(page) != "Idle" or any("*" in p for p in prompts(page))
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle_s:
            return
        time.sleep(0.2)
    raise AssertionError(
        f"kernel still busy after {timeout_s} s (status {kernel_status(page)!r}, "
        f"prompts {prompts(page)})"
    )


def run_all(page):
    """Clear old outputs, then Run > Run All Cells, and wait for every cell to finish."""
    menu(page, "Edit", "editmenu:clear-all")
    assert not any(re.search(r"\d", p) for p in prompts(page)), prompts(page)
    menu(page, "Run", "runmenu:run-all")
    # Run All queues the cells at once; wait for the queue to start before waiting for idle.
    page.wait_for_function(
        """(sel) => Array.from(document.querySelectorAll(sel))
                     .some((p) => /\\[[\\d*]+\\]/.test(p.textContent))""",
        arg=f"{NOTEBOOK} .jp-CodeCell .jp-InputPrompt",
        timeout=30_000,
    )
    wait_for_kernel_idle(page)


def save(page):
    menu(page, "File", "docmanager:save")
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").wait_for(
        state="detached", timeout=30_000
    )


def select_cell(page, index):
    """Select cell ``index`` (command mode) by clicking its prompt area."""
    cell = page.locator(f"{NOTEBOOK} .jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    return cell


def scroll_to_top(locator):
    """Scroll the notebook so that the cell holding ``locator`` starts at the top."""
    locator.evaluate("el => (el.closest('.jp-Cell') || el).scrollIntoView({block: 'start'})")


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


# ---------------------------------------------------------------------------------------------
# Reading what the page and the saved notebook show
# ---------------------------------------------------------------------------------------------


def error_outputs_in_page(page):
    """Texts of outputs that show an exception (JupyterLab renders tracebacks as stderr)."""
    texts = page.locator(
        f"{NOTEBOOK} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    ).all_inner_texts()
    return [t for t in texts if "Traceback" in t or re.search(r"^\w+(Error|Exception)\b", t, re.M)]


def widget_errors_in_page(page):
    """Widgets that failed to render: ipywidgets 8's error view, or the old error text."""
    outputs = page.locator(f"{NOTEBOOK} .jp-OutputArea-output")
    errors = [
        f"error view: {text!r}"
        for text in outputs.locator(".jupyter-widgets-error-widget").all_inner_texts()
    ]
    texts = outputs.all_inner_texts()
    return errors + [msg for msg in WIDGET_ERROR_TEXTS if any(msg in t for t in texts)]


def rendered_widget_views(page):
    """Top-level cell outputs that JupyterLab rendered as widgets (not as their text fallback)."""
    return page.locator(
        f"{NOTEBOOK} .jp-Cell-outputArea > .jp-OutputArea-child > "
        ".jp-OutputArea-output > .jupyter-widgets"
    ).count()


def saved_notebook(server, relpath):
    return nbformat.read(server.root / relpath, as_version=4)


def saved_widget_views(nb):
    return sum(
        WIDGET_MIME in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def output_text(cell):
    """Everything a code cell printed or displayed as text (streams, text/* data)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        for mime, value in out.get("data", {}).items():
            if mime.startswith("text/"):
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def saved_errors(nb):
    return [
        f"cell {i}: {out.get('ename')}: {out.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def assert_ran_cleanly(page, server, relpath):
    """No error in the page nor in the saved file, and every code cell was executed."""
    assert error_outputs_in_page(page) == [], f"{relpath}: error output in JupyterLab"
    assert widget_errors_in_page(page) == [], f"{relpath}: a widget failed to render"
    save(page)
    nb = saved_notebook(server, relpath)
    assert saved_errors(nb) == [], f"{relpath}: errors in the saved notebook"
    # Each widget the kernel displayed must be drawn as a widget, not as "VBox(children=...)".
    assert rendered_widget_views(page) == saved_widget_views(nb), (
        f"{relpath}: {saved_widget_views(nb)} widgets displayed by the kernel, "
        f"{rendered_widget_views(page)} drawn by JupyterLab"
    )
    not_run = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.execution_count is None
    ]
    assert not_run == [], f"{relpath}: code cells {not_run} did not run"


def image_digests(locator):
    """SHA-256 of the bytes behind each <img> (data: or blob: URLs) inside ``locator``."""
    sources = locator.evaluate(
        """async (root) => {
            const out = [];
            for (const img of root.querySelectorAll('img')) {
                const buf = await (await fetch(img.src)).arrayBuffer();
                let s = '';
                for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
                out.push(btoa(s));
            }
            return out;
        }"""
    )
    return [hashlib.sha256(base64.b64decode(s)).hexdigest() for s in sources]


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def test_lr_playground_lesson_runs_and_its_slider_redraws_the_plot(page, lab_server):
    open_notebook(page, lab_server, LESSON_WITH_PLAYGROUND)
    run_all(page)

    lr_slider = page.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=PLAYGROUND_SLIDER_LABEL)
    )
    output = page.locator(f"{NOTEBOOK} .jp-Cell-outputArea").filter(has=lr_slider)
    assert output.count() >= 1, (
        f"no slider labelled {PLAYGROUND_SLIDER_LABEL!r}; widgets in page: "
        f"{page.locator(f'{NOTEBOOK} .jupyter-widgets').count()}"
    )
    output = output.first
    slider = output.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=PLAYGROUND_SLIDER_LABEL)
    ).first
    slider.scroll_into_view_if_needed()
    assert slider.is_visible()
    plot_before = image_digests(output)
    assert plot_before, "the lr playground shows no image next to its slider"
    readout = slider.locator(".widget-readout")
    value_before = readout.inner_text()

    handle = slider.locator(".noUi-handle")
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    page.wait_for_function(
        "([el, before]) => el.textContent.trim() !== before",
        arg=[readout.element_handle(), value_before.strip()],
        timeout=10_000,
    )
    value_after = readout.inner_text()
    wait_for_kernel_idle(page)
    deadline = time.monotonic() + 30
    while (plot_after := image_digests(output)) == plot_before and time.monotonic() < deadline:
        time.sleep(0.25)
    assert plot_after != plot_before, (
        f"moving the lr from {value_before} to {value_after} did not change the plot"
    )
    scroll_to_top(output)
    screenshot(page, "04_fixed_learning_rate.png")
    assert_ran_cleanly(page, lab_server, LESSON_WITH_PLAYGROUND)


def test_welcome_notebook_runs_and_its_widget_check_renders(page, lab_server):
    open_notebook(page, lab_server, WELCOME)
    run_all(page)
    widgets = page.locator(f"{NOTEBOOK} .jp-OutputArea-output .jupyter-widgets")
    assert widgets.count() >= 1, "the welcome notebook's widget check shows no widget"
    scroll_to_top(widgets.first)
    assert widgets.first.is_visible()
    screenshot(page, "00_welcome.png")
    assert_ran_cleanly(page, lab_server, WELCOME)


def test_exercise_check_gives_feedback_on_an_unwritten_function(page, lab_server):
    nb = saved_notebook(lab_server, EXERCISE)
    check_index = next(
        (
            i
            for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and EXERCISE_CHECK_CELL.search(cell.source)
        ),
        None,
    )
    assert check_index is not None, f"{EXERCISE} has no cell matching {EXERCISE_CHECK_CELL.pattern}"

    open_notebook(page, lab_server, EXERCISE)
    menu(page, "Edit", "editmenu:clear-all")
    select_cell(page, check_index)
    menu(page, "Run", "notebook:run-all-above")
    wait_for_kernel_idle(page)
    cell = select_cell(page, check_index)
    menu(page, "Run", "notebook:run-cell")  # the check cell only, not the ones below
    cell.locator(".jp-OutputArea-output").first.wait_for(timeout=RUN_TIMEOUT_S * 1000)
    wait_for_kernel_idle(page)

    feedback = cell.locator(".jp-OutputArea").inner_text()
    scroll_to_top(page.locator(f"{NOTEBOOK} .jp-Notebook .jp-Cell").nth(max(check_index - 1, 0)))
    screenshot(page, "01_the_ml_loop.png")
    assert EXERCISE_FEEDBACK.search(feedback), f"check cell shows no feedback: {feedback!r}"
    assert "Traceback" not in feedback, f"the check crashed instead of giving feedback:\n{feedback}"
    assert error_outputs_in_page(page) == []
    assert widget_errors_in_page(page) == []

    save(page)
    saved = saved_notebook(lab_server, EXERCISE)
    printed = output_text(saved.cells[check_index])
    assert EXERCISE_FEEDBACK.search(printed), f"saved check output has no feedback: {printed!r}"
    assert saved_errors(saved) == []
    code = [(i, c) for i, c in enumerate(saved.cells) if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count is not None for i, c in code if i <= check_index), (
        "not every cell up to the check cell ran"
    )
    assert all(c.execution_count is None for i, c in code if i > check_index), (
        "cells after the check cell ran"
    )
