"""LivePlot in JupyterLab: the figure of a running ``fit`` changes while the cell runs, in place.

The test writes a small notebook into the server's copy of the course, runs it through the menus,
and watches the fit cell's output while its prompt shows ``[*]``: the picture must change at least
three times before the cell finishes, stay one picture (replaced, not appended), and end on the
frame of the whole run (the same bytes as the kernel's final figure).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

import nbformat
import pytest
from test_jupyterlab import (
    NOTEBOOK,
    RUN_TIMEOUT_S,
    assert_ran_cleanly,
    image_digests,
    menu,
    open_notebook,
    saved_notebook,
    screenshot,
    scroll_to_top,
    wait_for_kernel_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NOTEBOOK_NAME = "liveplot_check.ipynb"
EPOCHS = 1500  # about 6 s on a quiet machine: room for several frames at one every 0.5 s
SETUP = """\
import hashlib, json
import lrcourse
(X, y), validation, _ = lrcourse.data.digits(rng=0)
model = lrcourse.mlp([64, 64, 10], rng=0)"""
# Redraws are allowed to cost up to half of the time here, so that a run of a few seconds gives
# several frames even on a slow, loaded machine.
FIT = f"""\
live = lrcourse.LivePlot(min_interval=0.5, max_overhead=0.5)
history = lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=0.05),
                       X, y, epochs={EPOCHS}, validation_data=validation, rng=0, callbacks=[live])"""
SUMMARY = """\
print(json.dumps({"status": live.status, "frames": live.frames, "epochs": len(history.epoch),
                  "png_sha256": hashlib.sha256(live.png()).hexdigest()}))"""


def write_notebook(root):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in (SETUP, FIT, SUMMARY)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / NOTEBOOK_NAME)


def test_a_running_fit_redraws_its_figure_in_place(page, lab_server):
    write_notebook(lab_server.root)
    open_notebook(page, lab_server, NOTEBOOK_NAME)
    menu(page, "Edit", "editmenu:clear-all")
    fit_cell = page.locator(f"{NOTEBOOK} .jp-Notebook .jp-CodeCell").nth(1)
    prompt = fit_cell.locator(".jp-InputPrompt")
    output = fit_cell.locator(".jp-Cell-outputArea")

    menu(page, "Run", "runmenu:run-all")
    page.wait_for_function(
        "(el) => el.textContent.includes('*')", arg=prompt.element_handle(), timeout=60_000
    )
    seen_while_running = []  # distinct pictures, in the order they appeared
    most_images = 0
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while "*" in prompt.inner_text() and time.monotonic() < deadline:
        digests = image_digests(output)
        most_images = max(most_images, len(digests))
        if digests and digests[-1] not in seen_while_running and "*" in prompt.inner_text():
            seen_while_running.append(digests[-1])
        time.sleep(0.1)
    assert "*" not in prompt.inner_text(), f"the fit cell still runs after {RUN_TIMEOUT_S} s"
    wait_for_kernel_idle(page)

    assert len(seen_while_running) >= 3, (
        f"the figure changed {len(seen_while_running)} times while the fit cell ran; "
        f"LivePlot drew {page.locator(f'{NOTEBOOK} .jp-CodeCell').nth(2).inner_text()}"
    )
    assert most_images == 1 and len(image_digests(output)) == 1, "redraws added pictures instead of replacing one"
    summary_cell = page.locator(f"{NOTEBOOK} .jp-Notebook .jp-CodeCell").nth(2)
    summary = json.loads(summary_cell.locator(".jp-OutputArea-output").inner_text())
    assert summary["epochs"] == EPOCHS
    assert summary["status"] == f"finished: {EPOCHS} epochs, {EPOCHS * 34} updates"
    final = image_digests(output)[0]
    assert final == summary["png_sha256"], "the last picture is not the figure of the whole run"
    scroll_to_top(output)
    screenshot(page, "liveplot.png")

    assert_ran_cleanly(page, lab_server, NOTEBOOK_NAME)
    saved = saved_notebook(lab_server, NOTEBOOK_NAME)
    images = [out for out in saved.cells[1].outputs if "image/png" in out.get("data", {})]
    assert len(images) == 1
    saved_png = base64.b64decode(images[0]["data"]["image/png"])
    assert hashlib.sha256(saved_png).hexdigest() == summary["png_sha256"]
