"""The grader, end to end: real kernels, real notebooks.

Every solution notebook gets full marks; every student notebook gets 0 on every question, with a reason
and without a grader error; submissions that misbehave on purpose (made here from the 05 solution) are
each graded correctly, all in one batch with ``--jobs 2``.
"""

import contextlib
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from lrcourse import grade
from lrcourse.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "exercises" / "solutions"
BASE = SOLUTIONS / "05_learning_rate_decay.ipynb"
# Cells of the 05 solution notebook (checked below, so a reshuffled notebook fails loudly here).
SETUP, STEP_DECAY, CHECK_Q1, EXPONENTIAL, CHECK_Q2, COSINE, CHECK_Q3, WARMUP, CHECK_Q4, RATE_FOR = (
    1, 3, 4, 6, 7, 9, 10, 12, 13, 15)
WRONG_STEP_DECAY = ("def step_decay(step, initial_lr, step_size, gamma):\n"
                    "    return initial_lr * gamma ** (step / step_size)  # no floor: wrong\n")
ADVERSARIAL_TIMEOUT = 10  # per cell (room for a slow import on a busy CI machine); a call gets 8 s


def run_main(args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = grade.main([str(a) for a in args])
    return code, out.getvalue()


def by_name(payload):
    return {Path(s["path"]).stem: s for s in payload["submissions"]}


def points(submission):
    return {q["id"]: q["points"] for q in submission["questions"]}


def reasons(submission):
    return {q["id"]: q["reason"] for q in submission["questions"]}


# --- solutions and student notebooks ------------------------------------------------------------------

@pytest.fixture(scope="module")
def solution_batch(tmp_path_factory):
    csv_path = tmp_path_factory.mktemp("grades") / "solutions.csv"
    code, out = run_main([SOLUTIONS, "--jobs", "2", "--json", "--csv", csv_path])
    return code, json.loads(out), csv_path


@pytest.fixture(scope="module")
def student_batch():
    students = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
    code, out = run_main([*students, "--jobs", "2", "--json"])
    return code, json.loads(out)


def test_every_solution_notebook_gets_full_marks(solution_batch):
    code, payload, _ = solution_batch
    assert code == 0
    graded = by_name(payload)
    assert sorted(graded) == sorted(EXERCISES)
    for name, submission in graded.items():
        assert submission["error"] == "" and submission["full_marks"], (name, submission)
        assert submission["score"] == submission["max_score"] == EXERCISES[name].max_score
        assert submission["notes"] == [], (name, submission["notes"])
    assert payload["total"] == {"notebooks": 8, "full_marks": 8, "score": 50, "max_score": 50}


def test_csv_has_one_row_per_notebook(solution_batch):
    _, _, csv_path = solution_batch
    rows = list(csv.DictReader(csv_path.open()))
    assert [Path(r["path"]).stem for r in rows] == sorted(EXERCISES)
    assert list(rows[0])[:10] == ["path", "exercise", "score", "max_score", "q1", "q2", "q3", "q4", "q5", "q6"]
    backprop = rows[1]
    assert (backprop["exercise"], backprop["score"], backprop["q2"], backprop["error"]) == (
        "02_backpropagation", "8", "2", "")
    assert rows[0]["q6"] == ""  # exercise 01 has five questions


def test_every_student_notebook_gets_zero_with_a_reason_and_no_grader_error(student_batch):
    code, payload = student_batch
    assert code == 1
    graded = by_name(payload)
    assert sorted(graded) == sorted(EXERCISES)
    for name, submission in graded.items():
        assert submission["error"] == "" and submission["score"] == 0, (name, submission)
        assert len(submission["questions"]) == len(EXERCISES[name].questions)
        for question in submission["questions"]:
            assert question["reason"].startswith("not implemented yet (NotImplementedError: "), question


# --- adversarial submissions ---------------------------------------------------------------------------

def _variant(folder, name, edit):
    nb = nbformat.read(BASE, as_version=4)
    nb.cells = edit(list(nb.cells))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _replace(index, source):
    def edit(cells):
        cells[index] = new_code_cell(source)
        return cells
    return edit


def _insert(index, source):
    def edit(cells):
        return cells[:index] + [new_code_cell(source)] + cells[index:]
    return edit


def _chain(*edits):
    def edit(cells):
        # Applied in order: list the edit at the higher position first, so the other's stays valid.
        for step in edits:
            cells = step(cells)
        return cells
    return edit


PATCH_EVERYTHING = """\
import builtins, numpy, lrcourse.checks, lrcourse.exercises
from lrcourse.checks import Verdict
lrcourse.checks.compare = lambda *args, **kwargs: None
lrcourse.checks.judge = lambda question, *args, **kwargs: Verdict(question, True, "all 5 cases correct.")
numpy.allclose = numpy.isclose = lambda *args, **kwargs: True
object.__setattr__(lrcourse.exercises.get_exercise("05").question("q1"), "reference", step_decay)
lrcourse.exercises.harvest.encode = lambda value, depth=0: {"float": "0.1"}
lrcourse.exercises.harvest.harvest = lambda *args, **kwargs: None
builtins.repr = lambda obj: "0.1"
builtins.float = lambda *args: 0.1
"""

PRINT_EXPECTED = """\
print("✓ q1 step_decay: all 5 cases correct.")
print('{"score": 5, "max_score": 5, "full_marks": true}')
print("  q1  step_decay         1/1  all 5 cases correct.")
"""

UNINTERRUPTIBLE = """\
while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass
"""


@pytest.fixture(scope="module")
def adversarial_batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    base = nbformat.read(BASE, as_version=4)
    assert base.cells[STEP_DECAY].source.startswith("def step_decay(")
    assert base.cells[RATE_FOR].source.startswith("def decay_rate_for(")
    assert base.cells[CHECK_Q4].source == 'check("q4")'
    _variant(folder, "loops", _chain(
        _replace(WARMUP, "def warmup_cosine(step, max_lr, warmup_steps, total_steps):\n    while True:\n        pass\n"),
        _insert(CHECK_Q1 + 1, "while True:\n    pass\n")))
    _variant(folder, "uninterruptible", _insert(CHECK_Q2 + 1, UNINTERRUPTIBLE))
    _variant(folder, "exits", _chain(
        _replace(RATE_FOR, "def decay_rate_for(initial_lr, final_lr, steps):\n    import os\n    os._exit(0)\n"),
        _insert(CHECK_Q2 + 1, "import os\nos._exit(1)\n")))
    _variant(folder, "syntax_error", _replace(
        COSINE, "def cosine_annealing(step, initial_lr, total_steps, min_lr=0.0)\n    return initial_lr\n"))
    _variant(folder, "patched", _chain(_insert(CHECK_Q1, PATCH_EVERYTHING), _replace(STEP_DECAY, WRONG_STEP_DECAY)))
    _variant(folder, "prints_expected", _chain(_insert(CHECK_Q1 + 1, PRINT_EXPECTED),
                                               _replace(STEP_DECAY, WRONG_STEP_DECAY)))

    def delete_and_reorder(cells):
        cells[COSINE], cells[CHECK_Q3] = cells[CHECK_Q3], cells[COSINE]  # check before definition
        return [c for i, c in enumerate(cells) if i not in (EXPONENTIAL, CHECK_Q4)]

    _variant(folder, "deleted_cells", delete_and_reorder)
    _variant(folder, "renamed", lambda cells: cells[:RATE_FOR] + [new_code_cell(
        cells[RATE_FOR].source.replace("def decay_rate_for(", "def decay_rate("))] + cells[RATE_FOR + 1:])
    _variant(folder, "huge_print", _insert(CHECK_Q1 + 1, 'print("x" * 5_000_000)\n'))
    (folder / "garbage.ipynb").write_text("{ this is not a notebook")
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), folder / "unknown.ipynb")
    # The two slow ones (they wait out time limits) first, so they run side by side.
    slow_first = sorted(folder.glob("*.ipynb"), key=lambda p: (p.stem not in ("loops", "uninterruptible"), p.stem))
    code, out = run_main([*slow_first, "--jobs", "2", "--json", "--timeout", ADVERSARIAL_TIMEOUT])
    return code, by_name(json.loads(out))


def test_the_batch_completes_and_fails(adversarial_batch):
    code, graded = adversarial_batch
    assert code == 1
    assert sorted(graded) == sorted(["loops", "uninterruptible", "exits", "syntax_error", "patched",
                                     "prints_expected", "deleted_cells", "renamed", "huge_print", "garbage",
                                     "unknown"])
    for name, submission in graded.items():
        assert "grader error" not in submission["error"], (name, submission["error"])


def test_infinite_loops_are_interrupted_and_the_rest_graded(adversarial_batch):
    loops = adversarial_batch[1]["loops"]
    assert points(loops) == {"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 1}
    assert reasons(loops)["q4"] == ("warmup_cosine(step=0, max_lr=0.1, warmup_steps=10, total_steps=110) did not "
                                    "finish within 8 s")
    assert any(f"did not finish within {ADVERSARIAL_TIMEOUT} s and was interrupted" in n for n in loops["notes"])


def test_a_cell_that_ignores_interrupts_is_left_out(adversarial_batch):
    stuck = adversarial_batch[1]["uninterruptible"]
    assert stuck["full_marks"], stuck
    assert any("could not be interrupted; it was left out" in n for n in stuck["notes"]), stuck["notes"]


def test_os_exit_in_a_cell_and_in_a_function(adversarial_batch):
    exits = adversarial_batch[1]["exits"]
    assert points(exits) == {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0}
    assert reasons(exits)["q5"] == "decay_rate_for(initial_lr=1, final_lr=0.5, steps=1) killed the kernel"
    assert any("(import os) killed the kernel; it was left out" in n for n in exits["notes"]), exits["notes"]


def test_a_syntax_error_costs_only_its_question(adversarial_batch):
    broken = adversarial_batch[1]["syntax_error"]
    assert points(broken) == {"q1": 1, "q2": 1, "q3": 0, "q4": 1, "q5": 1}
    assert reasons(broken)["q3"] == "function `cosine_annealing` not defined"
    assert any("raised SyntaxError" in n for n in broken["notes"])


def test_patching_lrcourse_numpy_and_builtins_does_not_turn_a_wrong_answer_into_a_pass(adversarial_batch):
    patched = adversarial_batch[1]["patched"]
    assert points(patched) == {"q1": 0, "q2": 1, "q3": 1, "q4": 1, "q5": 1}
    assert reasons(patched)["q1"] == ("step_decay(step=9, initial_lr=0.1, step_size=10, gamma=0.5) returned "
                                      "0.053588673, expected 0.1.")


def test_printing_the_expected_output_earns_nothing(adversarial_batch):
    printed = adversarial_batch[1]["prints_expected"]
    assert points(printed)["q1"] == 0 and printed["score"] == 4
    assert "returned 0.053588673, expected 0.1" in reasons(printed)["q1"]


def test_deleted_and_reordered_cells(adversarial_batch):
    deleted = adversarial_batch[1]["deleted_cells"]
    assert points(deleted) == {"q1": 1, "q2": 0, "q3": 1, "q4": 1, "q5": 1}
    assert reasons(deleted)["q2"] == "function `exponential_decay` not defined"


def test_a_function_under_another_name_is_not_found(adversarial_batch):
    renamed = adversarial_batch[1]["renamed"]
    assert points(renamed)["q5"] == 0 and renamed["score"] == 4
    assert reasons(renamed)["q5"] == "function `decay_rate_for` not defined"


def test_a_huge_print_is_capped(adversarial_batch):
    huge = adversarial_batch[1]["huge_print"]
    assert huge["full_marks"]
    assert any(f"printed more than {grade.MAX_OUTPUT_CHARS} characters" in n for n in huge["notes"])


def test_unreadable_and_unknown_notebooks_get_an_error_not_a_crash(adversarial_batch):
    graded = adversarial_batch[1]
    assert graded["garbage"]["error"].startswith("not a readable notebook")
    assert graded["unknown"]["error"].startswith("cannot tell which exercise this is")
    assert graded["garbage"]["score"] == graded["garbage"]["max_score"] == 0


def test_the_total_time_limit_skips_the_remaining_cells_but_still_grades(tmp_path):
    sleep = "import time\ntime.sleep(5)\n"
    path = _variant(tmp_path, "slow", _chain(_insert(STEP_DECAY + 1, sleep), _insert(STEP_DECAY + 1, sleep)))
    report = grade.grade_notebook(path, total_timeout=8)
    assert [q.points for q in report.questions] == [1, 0, 0, 0, 0]
    assert report.questions[1].reason == ("function `exponential_decay` not defined (some cells were not run: "
                                          "the notebook used up its time)")
    assert any(note.endswith("not run: the notebook used up its 8 s") for note in report.notes), report.notes


# --- the command line -----------------------------------------------------------------------------------

def test_python_dash_m_entry_point_and_exit_codes(tmp_path):
    (tmp_path / "garbage.ipynb").write_text("not json")
    command = [sys.executable, "-m", "lrcourse.grade"]
    done = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "ERROR: not a readable notebook" in done.stdout
    assert "Total: 1 notebook, 0 with full marks, 0/0 points." in done.stdout
    missing = subprocess.run([*command, str(tmp_path / "nope.ipynb")], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_identify_exercise_from_metadata_call_or_file_name():
    nb = new_notebook(cells=[new_code_cell('check = checks_for("07")')])
    assert grade.identify_exercise(nb, "anything.ipynb") == "07_cyclical_learning_rates"
    assert grade.identify_exercise(new_notebook(), "alice_04_fixed_learning_rate.ipynb") == "04_fixed_learning_rate"
    nb.metadata["lrcourse"] = {"exercise": "02_backpropagation"}
    assert grade.identify_exercise(nb, "x.ipynb") == "02_backpropagation"
    assert grade.identify_exercise(new_notebook(), "x.ipynb") is None
