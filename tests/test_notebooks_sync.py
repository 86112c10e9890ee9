"""The committed lesson notebooks are built from their sources, executed, and the check notices when not.

``tools/build_notebooks.py --check`` is what CI runs; these tests run the same check and show that
it fails on a notebook that was edited by hand, left unexecuted, or shows an error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_notebooks)

LESSON = "00_welcome"  # the lesson copied and broken on purpose below


def test_every_committed_lesson_matches_its_source_and_was_executed():
    lessons = build_notebooks.sources()
    assert len(lessons) >= 9, f"expected the nine lesson sources in notebooks/, found {lessons}"
    assert build_notebooks.check_notebooks() == []


@pytest.fixture
def lesson_copy(tmp_path):
    """A copy of one committed lesson (source and notebook) in its own folder."""
    for suffix in (".py", ".ipynb"):
        shutil.copy(ROOT / "notebooks" / (LESSON + suffix), tmp_path / (LESSON + suffix))
    assert build_notebooks.check_notebooks(tmp_path) == []
    return tmp_path


def edit_notebook(path, change):
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def first_code_cell(nb):
    return next(cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip())


def test_check_catches_a_notebook_edited_by_hand(lesson_copy):
    def change(nb):
        nb.cells[0].source += "\nA sentence added in the notebook but not in the source."

    edit_notebook(lesson_copy / f"{LESSON}.ipynb", change)
    problems = build_notebooks.check_notebooks(lesson_copy)
    assert len(problems) == 1
    assert f"{LESSON}.ipynb is out of date with {LESSON}.py" in problems[0]
    assert "cell 0" in problems[0]


def test_check_catches_a_source_changed_after_the_build(lesson_copy):
    source = lesson_copy / f"{LESSON}.py"
    source.write_text(source.read_text() + "\n# %%\nprint('a new cell')\n")
    problems = build_notebooks.check_notebooks(lesson_copy)
    assert any("out of date" in p and LESSON in p for p in problems), problems


def test_check_catches_a_cell_type_change(lesson_copy):
    def change(nb):
        cell = nb.cells[0]
        nb.cells[0] = nbformat.v4.new_raw_cell(cell.source, id=cell.id)

    edit_notebook(lesson_copy / f"{LESSON}.ipynb", change)
    assert any("out of date" in p for p in build_notebooks.check_notebooks(lesson_copy))


def test_check_catches_an_unexecuted_cell(lesson_copy):
    edit_notebook(lesson_copy / f"{LESSON}.ipynb", lambda nb: first_code_cell(nb).update(execution_count=None))
    problems = build_notebooks.check_notebooks(lesson_copy)
    assert any(f"{LESSON}.ipynb: code cell" in p and "not executed" in p for p in problems), problems


def test_check_catches_an_error_output(lesson_copy):
    def change(nb):
        error = nbformat.v4.new_output("error", ename="ValueError", evalue="lr must be > 0", traceback=[])
        first_code_cell(nb).outputs.append(error)

    edit_notebook(lesson_copy / f"{LESSON}.ipynb", change)
    problems = build_notebooks.check_notebooks(lesson_copy)
    assert any("ValueError: lr must be > 0" in p and LESSON in p for p in problems), problems


def test_check_catches_a_missing_notebook_and_a_missing_source(lesson_copy):
    (lesson_copy / f"{LESSON}.ipynb").rename(lesson_copy / "09_orphan.ipynb")
    problems = build_notebooks.check_notebooks(lesson_copy)
    assert any(f"{LESSON}.py has no notebook" in p for p in problems), problems
    assert any("09_orphan.ipynb has no source" in p for p in problems), problems
    assert build_notebooks.main(["--check", "--dir", str(lesson_copy)]) == 1


TINY_LESSON = '''\
# %% [markdown]
# # A tiny lesson

# %%
import ipywidgets as widgets
import numpy as np
from tqdm.auto import tqdm

widgets.FloatLogSlider(value=0.01, min=-4, max=0, description="learning rate")

# %%
total = 0.0
for value in tqdm(np.random.default_rng(0).normal(size=50)):
    total += value
print(f"sum = {total:.4f}")
'''


def test_build_executes_and_is_deterministic(tmp_path):
    source = tmp_path / "00_tiny.py"
    source.write_text(TINY_LESSON)
    digests = []
    for _ in range(2):
        target = build_notebooks.build(source)
        digests.append(hashlib.sha256(target.read_bytes()).hexdigest())
    assert digests[0] == digests[1], "two builds of the same seeded source differ"

    nb = nbformat.read(target, as_version=4)
    assert [cell.id for cell in nb.cells] == ["cell-00", "cell-01", "cell-02"]
    assert nb.metadata.kernelspec.name == "python3"
    assert "version" not in nb.metadata.language_info
    assert all("execution" not in cell.metadata for cell in nb.cells)
    expected_sum = float(np.random.default_rng(0).normal(size=50).sum())
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs if o.output_type == "stream")
    assert f"sum = {expected_sum:.4f}" in printed
    assert build_notebooks.check_notebooks(tmp_path) == []

