"""The grader, end to end: real sandboxes, real kernels, real notebooks.

One batch (``--jobs 2``, hidden cases for exercise 05) holds honest classmates (every solution notebook,
two untouched student notebooks, a late 05 solution) and submissions made here from the 05 solution or
student notebook that misbehave or attack the grader: every attack the grader was once open to, plus a
fork bomb and a memory bomb. Each attacker gets no mark it did not earn, each classmate its marks, the
batch finishes with a report for every notebook, the CSV and JSON agree with the printed report, nothing
a submission started outlives the batch, and a later run is unaffected.
"""

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from lrcourse.grading import grader, harvest, runner, sandbox
from lrcourse.grading.questions import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "exercises" / "solutions"
BASE = SOLUTIONS / "05_learning_rate_decay.ipynb"
STUDENT_05 = ROOT / "exercises" / "05_learning_rate_decay.ipynb"
# Cells of the 05 solution notebook (checked below, so a reshuffled notebook fails loudly here).
SETUP, STEP_DECAY, CHECK_Q1, EXPONENTIAL, CHECK_Q2, COSINE, CHECK_Q3, WARMUP, CHECK_Q4, RATE_FOR = (
    1, 3, 4, 6, 7, 9, 10, 12, 13, 15)
WRONG_STEP_DECAY = ("def step_decay(step, initial_lr, step_size, gamma):\n"
                    "    return initial_lr * gamma ** (step / step_size)  # no floor: wrong\n")
CELL_TIMEOUT = 10   # per cell (room for a slow import on a busy machine); a call gets 8 s
TOTAL_TIMEOUT = 45  # per notebook; the one that stops its runner is killed after 45 + KILL_GRACE s
TOKEN = "lrcourse-test-survivor-7f3a"  # in the command line of every process an attacker leaves behind
SANDBOX = sandbox.probe()
needs_sandbox = pytest.mark.skipif(SANDBOX is not None and not os.environ.get("CI"),
                                   reason=f"no sandbox here: {SANDBOX}")

# Hidden cases for exercise 05: inputs no notebook has seen (expected values come from the references).
HIDDEN_05 = {"exercise": "05", "questions": {
    "q1": [{"args": [37, 0.3, 7, 0.8]}, {"args": [6], "kwargs": {"initial_lr": 2.0, "step_size": 3, "gamma": 0.25}}],
    "q2": [{"args": [123, 0.2, 40, 0.7]}, {"args": [123, 0.2, 40, 0.7, True]}],
    "q3": [{"args": [13, 0.3, 40, 0.02]}],
    "q4": [{"args": [4, 0.2, 7, 50]}, {"args": [31, 0.2, 7, 50]}],
    "q5": [{"args": [0.3, 0.03, 17]}]}}


def run_main(args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = grader.main([str(a) for a in args])
    return code, out.getvalue()


def points(submission):
    return {q["id"]: q["points"] for q in submission["questions"]}


def reasons(submission):
    return {q["id"]: q["reason"] for q in submission["questions"]}


def survivors():
    """Processes left by attackers: their command line holds TOKEN, or they run as a sandbox's user."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if TOKEN in cmdline or uid >= 1_000_000_000:
            found.append((pid, uid, cmdline.replace("\0", " ")[:120]))
    return found


def fingerprint():
    """What a submission must not be able to change for later runs."""
    import jupyter_client.kernelspec

    files = [Path(harvest.__file__), Path(runner.__file__), Path(grader.__file__)]
    specs = jupyter_client.kernelspec.find_kernel_specs()
    files += [Path(d) / "kernel.json" for d in specs.values()]
    startup = Path.home() / ".ipython" / "profile_default" / "startup"
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.exists()} | {
        "startup": sorted(os.listdir(startup)) if startup.is_dir() else []}


# --- building submissions -------------------------------------------------------------------------------

def _variant(path, edit, base=BASE):
    nb = nbformat.read(base, as_version=4)
    nb.cells = edit(list(nb.cells))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    path.parent.mkdir(parents=True, exist_ok=True)
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


def _append(source):
    return lambda cells: cells + [new_code_cell(source)]


def _chain(*edits):
    def edit(cells):
        # Applied in order: list the edit at the higher position first, so the other's stays valid.
        for step in edits:
            cells = step(cells)
        return cells
    return edit


# The learner's answers as a table of the public expected values: what any kernel can read.
PUBLIC_TABLE = """\
from lrcourse.grading.public import public_exercise
_table = {q.function: [(c.args, c.kwargs, e) for c, e in zip(q.cases, q.expected())]
          for q in public_exercise("05").questions}
def _from_table(name):
    def answer(*args, **kwargs):
        for a, k, e in _table[name]:
            if repr((a, k)) == repr((args, kwargs)):
                return e
        return 0.0
    return answer
"""

ATTACKS = {
    # globals()[q.function] = q.reference, in an untouched student notebook (any module path it had).
    "reference_swap": (STUDENT_05, _append("""\
import importlib
for module in ("lrcourse.grading.questions", "lrcourse.exercises"):
    try:
        for q in importlib.import_module(module).get_exercise("05").questions:
            globals()[q.function] = q.reference
    except Exception as error:
        print(module, error)
""")),
    # Swap the harvest module's _call for one answering from the public table, and patch json.dumps.
    "call_swap": (STUDENT_05, _append(PUBLIC_TABLE + """\
import json, sys
module = next(m for name, m in sys.modules.items() if name.startswith("_lrcourse_grader_"))
module._call = lambda function, args, kwargs, limit: {"value": module.encode(_from_table(function.__name__)(*args, **kwargs))}
""")),
    # Every answer written as 0.1 (the kernel's own messages break too: its run ends there).
    "json_patch": (BASE, _append("""\
import json
json.dumps = lambda *args, **kwargs: '{"value": {"float": "0.1"}}'
""")),
    # A learner's function that, on its first call, writes table values over its own answers file.
    "answers_replace": (STUDENT_05, _append(PUBLIC_TABLE + """\
import glob, json, os
def step_decay(step, initial_lr, step_size, gamma):
    for path in glob.glob("/box/answers-*.jsonl") + glob.glob(os.environ.get("TMPDIR", "/tmp") + "/lrcourse-grade-*/*/answers-*.jsonl"):
        key = os.path.basename(path)[len("answers-"):-len(".jsonl")]
        q = public_exercise("05").question(key.split("-")[0])
        with open(path + ".new", "w") as f:
            f.write(json.dumps({"found": True}) + "\\n")
            for case, value in zip(q.cases, q.expected()):
                f.write(json.dumps({"value": {"float": repr(float(value))}}) + "\\n")
        os.replace(path + ".new", path)
    return 0.0
""")),
    # A detached daemon that rewrites every answers file and grades file it can find, for a minute.
    "daemon": (BASE, _append(f"""\
import subprocess, sys
DAEMON = '''
import glob, os, time
# {TOKEN}
end = time.time() + 60
while time.time() < end:
    targets = glob.glob("/tmp/lrcourse-grade-*/**/answers-*.jsonl", recursive=True)
    for pid in os.listdir("/proc"):
        try:
            args = open(f"/proc/{{pid}}/cmdline").read().split("\\\\0")
        except OSError:
            continue
        targets += [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--csv", "--json-file")]
    for path in targets:
        try:
            with open(path, "w") as f:
                f.write("tampered\\\\n")
        except OSError:
            pass
    time.sleep(0.05)
'''
subprocess.Popen([sys.executable, "-c", DAEMON], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
""")),
    "kill_parent": (BASE, _append("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")),
    "kill_everything": (BASE, _append("import os, signal\nos.kill(-1, signal.SIGKILL)\n")),
    "stop_parent": (BASE, _append("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n")),
    # Poison later runs: the grader's own code, IPython's startup folder, the kernel's kernel.json.
    "poison": (BASE, _append("""\
import os, glob, jupyter_client.kernelspec, lrcourse.grading.harvest as h
attempts = {}
def attempt(what, path, text, mode="a"):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as f:
            f.write(text)
        attempts[what] = "written"
    except OSError as error:
        attempts[what] = type(error).__name__
attempt("harvest", h.__file__, "\\nharvest = lambda *a, **k: None\\n")
attempt("startup", os.path.expanduser("~/.ipython/profile_default/startup/00-x.py"), "step_decay = None\\n", "w")
for spec in jupyter_client.kernelspec.find_kernel_specs().values():
    attempt("kernel.json", os.path.join(spec, "kernel.json"), '{"argv": ["false"]}', "w")
print(attempts)
""")),
    # Replace every notebook the grader was told about with a FIFO (it reads its argv from /proc).
    "fifo_classmates": (BASE, _append("""\
import os
for pid in os.listdir("/proc"):
    try:
        args = open(f"/proc/{pid}/cmdline").read().split("\\0")
    except OSError:
        continue
    for path in args:
        if path.endswith(".ipynb") and "fifo_classmates" not in path:
            try:
                os.unlink(path)
                os.mkfifo(path)
            except OSError:
                pass
""")),
    # Answers files made a symlink to /dev/zero, a FIFO and a folder, a value nested past recursion.
    "bad_answers": (BASE, _chain(_replace(WARMUP, """\
import math, os
def warmup_cosine(step, max_lr, warmup_steps, total_steps):
    with open("/box/answers-q4.jsonl.new", "w") as f:
        f.write('{"found": true}\\n' + '{"value": ' + '{"list": [' * 100_000 + ']}' * 100_000 + '}\\n')
    os.replace("/box/answers-q4.jsonl.new", "/box/answers-q4.jsonl")
    return 0.0
"""), _append("""\
import os
os.symlink("/dev/zero", "/box/answers-q1.jsonl")
os.mkfifo("/box/answers-q2.jsonl")
os.mkdir("/box/answers-q3.jsonl")
"""))),
    # Files without end in its own folder (the one place on the grader's disk it can write to).
    "disk_filler": (BASE, _insert(CHECK_Q1 + 1, """\
for i in range(1_000_000):
    open(f"/box/junk{i}", "w").close()
""")),
    "fork_bomb": (BASE, _insert(CHECK_Q1 + 1, f"""\
import os, sys
children = 0
try:
    while True:
        if os.fork() == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)  # {TOKEN}"])
        children += 1
except OSError as error:
    print("fork failed after", children, "children:", error)
""")),
    "memory_bomb": (BASE, _insert(CHECK_Q1 + 1, """\
chunks = []
while True:
    chunks.append(bytearray(1 << 30))  # 1 GiB a step: the 2 GiB address-space limit stops it at once
""")),
    # Misbehaving rather than hostile: loops, a cell that ignores interrupts, os._exit, a syntax error,
    # patches of everything, printing the expected output, deleted and renamed cells, a huge print.
    "loops": (BASE, _chain(
        _replace(WARMUP, "def warmup_cosine(step, max_lr, warmup_steps, total_steps):\n    while True:\n        pass\n"),
        _insert(CHECK_Q1 + 1, "while True:\n    pass\n"))),
    "uninterruptible": (BASE, _insert(CHECK_Q2 + 1, """\
while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass
""")),
    "exits": (BASE, _chain(
        _replace(RATE_FOR, "def decay_rate_for(initial_lr, final_lr, steps):\n    import os\n    os._exit(0)\n"),
        _insert(CHECK_Q2 + 1, "import os\nos._exit(1)\n"))),
    "syntax_error": (BASE, _replace(
        COSINE, "def cosine_annealing(step, initial_lr, total_steps, min_lr=0.0)\n    return initial_lr\n")),
    "patched": (BASE, _chain(_insert(CHECK_Q1, """\
import builtins, numpy
patches = [
    "import lrcourse.grading.checks as c; c.compare = lambda *a, **k: None",
    "import lrcourse.grading.harvest as h; h.encode = lambda value, depth=0: {'float': '0.1'}",
    "numpy.allclose = numpy.isclose = lambda *args, **kwargs: True",
    "builtins.repr = lambda obj: '0.1'",
    "builtins.float = lambda *args: 0.1",
]
for patch in patches:
    try:
        exec(patch)
    except Exception as error:
        print(error)
"""), _replace(STEP_DECAY, WRONG_STEP_DECAY))),
    "prints_expected": (BASE, _chain(_insert(CHECK_Q1 + 1, """\
print("✓ q1 step_decay: all 5 cases correct.")
print('{"score": 5, "max_score": 5, "full_marks": true}')
"""), _replace(STEP_DECAY, WRONG_STEP_DECAY))),
    "deleted_cells": (BASE, lambda cells: [c for i, c in enumerate(cells) if i not in (EXPONENTIAL, CHECK_Q4)]),
    "renamed": (BASE, lambda cells: cells[:RATE_FOR] + [new_code_cell(
        cells[RATE_FOR].source.replace("def decay_rate_for(", "def decay_rate("))] + cells[RATE_FOR + 1:]),
    "huge_print": (BASE, _insert(CHECK_Q1 + 1, 'print("x" * 5_000_000)\n')),
}
# Slow ones first (they wait out time limits), so that they run side by side with the rest.
SLOW = ("stop_parent", "loops", "uninterruptible", "bad_answers", "fork_bomb")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The class: solutions, students, attackers (in ``05/``) and a late classmate, graded in one run."""
    base = nbformat.read(BASE, as_version=4)
    assert base.cells[STEP_DECAY].source.startswith("def step_decay(")
    assert base.cells[WARMUP].source.startswith("def warmup_cosine(")
    assert base.cells[RATE_FOR].source.startswith("def decay_rate_for(")
    assert base.cells[CHECK_Q4].source == 'check("q4")'
    folder = tmp_path_factory.mktemp("class")
    tests = tmp_path_factory.mktemp("hidden")
    (tests / "05.json").write_text(json.dumps(HIDDEN_05))
    attackers = {name: _variant(folder / "05" / f"{name}.ipynb", edit, source)
                 for name, (source, edit) in ATTACKS.items()}
    (folder / "05" / "garbage.ipynb").write_text("{ this is not a notebook")
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), folder / "unknown.ipynb")
    # Metadata says 04, file name says 05: not graded as either.
    mismatch = nbformat.read(ROOT / "exercises" / "solutions" / "04_fixed_learning_rate.ipynb", as_version=4)
    nbformat.write(mismatch, folder / "alice_05_learning_rate_decay.ipynb")
    classmates = [shutil.copy(path, folder / path.name) for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))]
    classmates = [Path(p) for p in classmates]
    students = [Path(shutil.copy(ROOT / "exercises" / name, folder / f"student_{name}"))
                for name in ("01_the_ml_loop.ipynb", "05_learning_rate_decay.ipynb")]
    late = Path(shutil.copy(BASE, folder / "zz_late_05_learning_rate_decay.ipynb"))
    order = ([attackers[n] for n in SLOW] + [p for n, p in attackers.items() if n not in SLOW] + classmates
             + students + [folder / "05" / "garbage.ipynb", folder / "unknown.ipynb",
                           folder / "alice_05_learning_rate_decay.ipynb", late])
    before = fingerprint()
    csv_path, json_path = folder / "grades.csv", folder / "grades.json"
    started = time.monotonic()
    # --sandbox required: hostile notebooks must never run unsandboxed (one of them kills every
    # process it may signal), so without a sandbox this batch refuses to run instead.
    code, out = run_main([*order, "--jobs", "2", "--timeout", CELL_TIMEOUT, "--total-timeout", TOTAL_TIMEOUT,
                          "--tests", tests, "--csv", csv_path, "--json-file", json_path, "--sandbox", "required"])
    seconds = time.monotonic() - started
    time.sleep(2)  # a daemon that outlived the grader would now rewrite the files
    assert json_path.exists(), f"the grader refused to grade the batch (exit {code}):\n{out}"
    payload = json.loads(json_path.read_text())
    graded = {Path(s["path"]).stem: s for s in payload["submissions"]}
    return {"code": code, "out": out, "graded": graded, "payload": payload, "csv": csv_path, "order": order,
            "before": before, "seconds": seconds, "folder": folder, "tests": tests}



@needs_sandbox
def test_every_submission_has_a_report_and_the_batch_completes(batch):
    graded = batch["graded"]
    assert [s["path"] for s in batch["payload"]["submissions"]] == [str(p) for p in batch["order"]]
    assert batch["code"] == 1 and batch["payload"]["sandboxed"] is True
    assert batch["out"].count("\n  score ") == len(batch["order"])
    # Every notebook's limit is enforced: the batch is bounded by its slowest sandboxes, not by them all.
    assert batch["seconds"] < len(batch["order"]) * (TOTAL_TIMEOUT + grader.KILL_GRACE) / 2
    for name in graded:
        if name not in ("kill_parent", "kill_everything", "stop_parent", "disk_filler"):
            assert "grader error" not in graded[name]["error"], (name, graded[name]["error"])


@needs_sandbox
def test_honest_classmates_get_full_marks_hidden_cases_included(batch):
    graded = batch["graded"]
    for name in EXERCISES:
        submission = graded[name]
        assert submission["full_marks"] and submission["score"] == EXERCISES[name].max_score, (name, submission)
        assert submission["notes"] == [], (name, submission["notes"])
    late = graded["zz_late_05_learning_rate_decay"]
    assert late["full_marks"], late
    hidden = {q["id"]: (q["hidden_passed"], q["hidden_reason"]) for q in late["questions"]}
    assert hidden == {"q1": (True, "all 2 cases correct."), "q2": (True, "all 2 cases correct."),
                      "q3": (True, "correct."), "q4": (True, "all 2 cases correct."), "q5": (True, "correct.")}
    assert "hidden cases: all 2 cases correct." in batch["out"]
    for name in ("student_01_the_ml_loop", "student_05_learning_rate_decay"):
        assert graded[name]["score"] == 0 and graded[name]["error"] == ""
        assert all(q["reason"].startswith("not implemented yet (NotImplementedError: ")
                   for q in graded[name]["questions"])


@needs_sandbox
def test_the_references_cannot_be_reached_from_a_notebook(batch):
    swap = batch["graded"]["reference_swap"]
    assert swap["score"] == 0, swap
    assert all(r.startswith("not implemented yet") for r in reasons(swap).values()), reasons(swap)


@needs_sandbox
def test_answering_from_the_public_table_fails_the_hidden_cases(batch):
    for name in ("call_swap", "answers_replace", "json_patch"):
        attacker = batch["graded"][name]
        assert attacker["score"] == 0, (name, attacker)
    swap = {q["id"]: q for q in batch["graded"]["call_swap"]["questions"]}
    # Public cases are public: a table of them passes those, and only those.
    assert swap["q1"]["reason"] == "all 5 cases correct." and swap["q1"]["hidden_passed"] is False
    assert swap["q1"]["hidden_reason"].startswith("step_decay(step=37, initial_lr=0.3, step_size=7, gamma=0.8) "
                                                  "returned 0, expected ")


@needs_sandbox
def test_a_daemon_dies_with_its_sandbox_and_touches_no_one_else(batch):
    assert survivors() == []
    assert batch["graded"]["daemon"]["full_marks"]
    assert "tampered" not in batch["csv"].read_text()


@needs_sandbox
def test_csv_and_json_agree_with_the_printed_report(batch):
    rows = list(csv.DictReader(batch["csv"].open()))
    submissions = batch["payload"]["submissions"]
    assert [r["path"] for r in rows] == [s["path"] for s in submissions]
    for row, submission in zip(rows, submissions):
        assert int(row["score"]) == submission["score"] and row["error"] == submission["error"]
        assert f"{submission['path']}" in batch["out"]
        assert f"  score {submission['score']}/{submission['max_score']}  " in batch["out"].split(
            submission["path"], 1)[1]
    total = batch["payload"]["total"]
    assert (f"Total: {total['notebooks']} notebooks, {total['full_marks']} with full marks, "
            f"{total['score']}/{total['max_score']} points.") in batch["out"]
    assert list(rows[0])[:5] == ["path", "exercise", "score", "max_score", "q1"]
    by_path = {Path(r["path"]).stem: r for r in rows}
    assert by_path["zz_late_05_learning_rate_decay"]["hidden_failed"] == ""
    assert by_path["call_swap"]["hidden_failed"] == "q1 q2 q3 q4 q5"


@needs_sandbox
def test_killing_or_stopping_its_runner_costs_only_that_notebook(batch):
    graded = batch["graded"]
    for name in ("kill_parent", "kill_everything"):
        assert graded[name]["error"].startswith("grader error: the grading run was killed by signal 9"), graded[name]
    assert graded["stop_parent"]["error"] == (f"grader error: it ran past {TOTAL_TIMEOUT} s + {grader.KILL_GRACE} s "
                                              f"and was stopped")
    for name in ("kill_parent", "kill_everything", "stop_parent"):
        assert not graded[name]["full_marks"]


@needs_sandbox
def test_nothing_a_submission_writes_reaches_later_runs(batch, tmp_path):
    poison = batch["graded"]["poison"]
    assert poison["full_marks"], poison
    assert fingerprint() == batch["before"]
    # A later run, in the same environment, still grades honestly.
    code, out = run_main([BASE, "--json", "--tests", batch["tests"]])
    assert code == 0 and json.loads(out)["submissions"][0]["full_marks"], out


@needs_sandbox
def test_a_fifo_in_place_of_a_classmate_is_never_made(batch):
    assert batch["graded"]["fifo_classmates"]["full_marks"]
    assert all(path.is_file() for path in batch["order"])


@needs_sandbox
def test_symlink_fifo_folder_and_deep_answers_cost_only_their_question(batch):
    bad = batch["graded"]["bad_answers"]
    assert points(bad) == {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 1}, reasons(bad)
    why = reasons(bad)
    assert why["q1"] == "not graded: the answers could not be read (answers-q1.jsonl could not be opened " \
                        "(Too many levels of symbolic links))"
    assert why["q2"] == "not graded: the answers could not be read (answers-q2.jsonl is not a regular file)"
    assert why["q3"] == "not graded: the answers could not be read (answers-q3.jsonl is not a regular file)"
    assert why["q4"] == ("warmup_cosine(step=0, max_lr=0.1, warmup_steps=10, total_steps=110) returned a value the "
                         "grader could not read")


@needs_sandbox
def test_a_submission_that_fills_its_folder_is_stopped(batch):
    filler = batch["graded"]["disk_filler"]
    assert filler["error"] == "grader error: it wrote more than 10000 files", filler
    assert filler["score"] == 0


@needs_sandbox
def test_a_fork_bomb_and_a_memory_bomb_hit_their_limits(batch):
    fork = batch["graded"]["fork_bomb"]
    memory = batch["graded"]["memory_bomb"]
    assert any("raised MemoryError" in note for note in memory["notes"]), memory["notes"]
    assert memory["full_marks"], memory
    assert fork["questions"] and fork["error"] == "", fork
    assert survivors() == []


@needs_sandbox
def test_exercise_is_known_not_claimed(batch):
    graded = batch["graded"]
    assert graded["alice_05_learning_rate_decay"]["error"] == ("its file name says 05_learning_rate_decay but the "
                                                               "notebook says 04_fixed_learning_rate")
    assert graded["unknown"]["error"].startswith("cannot tell which exercise this is")
    assert graded["garbage"]["error"].startswith("not a readable notebook")
    assert graded["reference_swap"]["exercise"] == "05_learning_rate_decay"  # from its folder, 05/


@needs_sandbox
def test_misbehaving_notebooks_are_graded_question_by_question(batch):
    graded = batch["graded"]
    loops = graded["loops"]
    assert points(loops) == {"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 1}
    assert reasons(loops)["q4"] == ("warmup_cosine(step=0, max_lr=0.1, warmup_steps=10, total_steps=110) did not "
                                    "finish within 8 s")
    assert any(f"did not finish within {CELL_TIMEOUT} s and was interrupted" in n for n in loops["notes"])
    stuck = graded["uninterruptible"]
    assert stuck["full_marks"], stuck
    assert any("could not be interrupted; it was left out" in n for n in stuck["notes"]), stuck["notes"]
    exits = graded["exits"]
    assert points(exits) == {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0}
    assert reasons(exits)["q5"] == "decay_rate_for(initial_lr=1, final_lr=0.5, steps=1) killed the kernel"
    assert any("(import os) killed the kernel; it was left out" in n for n in exits["notes"]), exits["notes"]
    broken = graded["syntax_error"]
    assert points(broken) == {"q1": 1, "q2": 1, "q3": 0, "q4": 1, "q5": 1}
    assert reasons(broken)["q3"] == "function `cosine_annealing` not defined"
    patched = graded["patched"]
    assert points(patched) == {"q1": 0, "q2": 1, "q3": 1, "q4": 1, "q5": 1}
    assert reasons(patched)["q1"] == ("step_decay(step=9, initial_lr=0.1, step_size=10, gamma=0.5) returned "
                                      "0.053588673, expected 0.1.")
    printed = graded["prints_expected"]
    assert points(printed)["q1"] == 0 and printed["score"] == 4
    deleted = graded["deleted_cells"]
    assert points(deleted) == {"q1": 1, "q2": 0, "q3": 1, "q4": 1, "q5": 1}
    assert reasons(deleted)["q2"] == "function `exponential_decay` not defined"
    assert reasons(graded["renamed"])["q5"] == "function `decay_rate_for` not defined"
    huge = graded["huge_print"]
    assert huge["full_marks"]
    assert any(f"printed more than {runner.MAX_OUTPUT_CHARS} characters" in n for n in huge["notes"])


# --- single notebooks and the command line ------------------------------------------------------------

@needs_sandbox
def test_the_total_time_limit_is_hard(tmp_path):
    sleep = "import time\ntime.sleep(4)\n"
    slow = _variant(tmp_path / "05" / "slow.ipynb", _chain(
        _replace(RATE_FOR, "def decay_rate_for(initial_lr, final_lr, steps):\n    import time\n"
                           "    time.sleep(60)\n"), *[_insert(STEP_DECAY + 1, sleep)] * 3))
    started = time.monotonic()
    report = grader.grade_notebook(slow, total_timeout=14)
    assert time.monotonic() - started < 14 + grader.KILL_GRACE
    assert report.questions[0].points == 1 and report.questions[4].points == 0, report
    # Three 4 s cells do not fit in the cells' 80 % of 14 s: the last is interrupted or not run.
    assert any(note.endswith(("not run: the notebook used up its time", "was interrupted"))
               for note in report.notes), report.notes


def test_without_a_sandbox_it_warns_and_still_grades(tmp_path):
    done = subprocess.run([sys.executable, "-m", "lrcourse.grade", str(BASE), "--sandbox", "off"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING: grading without a sandbox (--sandbox off)" in done.stderr
    assert "Total: 1 notebook, 1 with full marks, 5/5 points." in done.stdout


def test_sandbox_required_refuses_where_none_can_be_made(tmp_path):
    # No bwrap on this PATH (and none found elsewhere): what a Binder pod looks like to the grader.
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))
    for mode, code in (("required", 2), ("auto", 0)):
        done = subprocess.run([sys.executable, "-m", "lrcourse.grade", str(BASE), "--sandbox", mode],
                              capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
        assert done.returncode == code, done.stdout + done.stderr
        assert "bwrap (bubblewrap) is not installed" in done.stderr
    assert "not grading (--sandbox required)" in done.stderr or mode == "auto"


def test_grading_the_exercises_folder_leaves_out_the_solutions():
    found = grader.find_notebooks([ROOT / "exercises"])
    assert [p.name for p in found] == sorted(f"{name}.ipynb" for name in EXERCISES)


def test_usage_errors_exit_with_2(tmp_path):
    command = [sys.executable, "-m", "lrcourse.grade"]
    missing = subprocess.run([*command, str(tmp_path / "nope.ipynb")], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    (tmp_path / "bad.json").write_text(json.dumps({"exercise": "05", "questions": {"q9": [{"args": [1]}]}}))
    bad = subprocess.run([*command, str(BASE), "--tests", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert bad.returncode == 2 and "exercise 05_learning_rate_decay has no question 'q9'" in bad.stderr


def test_read_regular_file_refuses_symlinks_fifos_and_large_files(tmp_path):
    (tmp_path / "ok").write_bytes(b"12345")
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    os.mkfifo(tmp_path / "fifo")
    assert grader.read_regular_file(str(tmp_path / "ok"), 5) == b"12345"
    assert grader.read_regular_file(str(tmp_path / "absent"), 5) is None
    for name, limit in (("link", 5), ("fifo", 5), ("ok", 4)):
        with pytest.raises(grader.Unreadable):
            grader.read_regular_file(str(tmp_path / name), limit)


def test_hidden_cases_format(tmp_path):
    from lrcourse.grading.hidden import HiddenCasesError, load_hidden_cases
    from lrcourse.grading.questions import get_exercise

    (tmp_path / "a.json").write_text(json.dumps(HIDDEN_05))
    (tmp_path / "b.json").write_text(json.dumps({"exercise": "04_fixed_learning_rate", "questions": {
        "q3": [{"args": [{"array": [[4.0, 0.0], [0.0, 1.0]]}]}]}}))
    hidden = load_hidden_cases(tmp_path, get_exercise)
    cases, expected = hidden["05_learning_rate_decay"]["q1"]
    assert [c.args for c in cases] == [(37, 0.3, 7, 0.8), (6,)]
    # step // step_size completed periods: 37 // 7 = 5 and 6 // 3 = 2.
    assert expected == pytest.approx([0.3 * 0.8 ** 5, 2.0 * 0.25 ** 2])
    cases, expected = hidden["04_fixed_learning_rate"]["q3"]
    assert expected == pytest.approx([2 / 4.0])  # 2 / largest eigenvalue
    (tmp_path / "c.json").write_text(json.dumps({"exercise": "05", "questions": {"q1": [{"args": [1, 0.1, 0, 0.5]}]}}))
    with pytest.raises(HiddenCasesError, match="the reference rejects a case"):
        load_hidden_cases(tmp_path, get_exercise)


FILL_PROCESSES = """
import os, time
children = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError:
    open("/box/full", "w").write(str(len(children)))
time.sleep(60)
"""

START_THREADS = """
import os, threading, time
while not os.path.exists("/box/go"):  # started first, it waits for its neighbour to fill up
    time.sleep(0.05)
threads = [threading.Thread(target=time.sleep, args=(2,)) for _ in range(40)]
for thread in threads:
    thread.start()
open("/box/started", "w").write(str(len(threads)))
"""


@needs_sandbox
def test_a_sandbox_at_its_process_limit_leaves_the_one_beside_it_its_own(tmp_path):
    # Grading runs sandboxes side by side. As another user than root they all run as that user, and
    # a process limit counted on the user's shared count let a fork bomb in one sandbox stop the
    # kernel of a submission started just before it from starting. Each limit is the sandbox's own.
    limits = sandbox.Limits(cpu_seconds=60, processes=64)
    full, other = tmp_path / "full", tmp_path / "other"
    full.mkdir()
    other.mkdir()
    neighbour = sandbox.start(other, [sys.executable, "-c", START_THREADS], sandboxed=True, limits=limits,
                              stdout=subprocess.PIPE)
    bomb = sandbox.start(full, [sys.executable, "-c", FILL_PROCESSES], sandboxed=True, limits=limits,
                         stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (full / "full").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (full / "full").exists(), "the fork bomb never reached its process limit"
        assert int((full / "full").read_text()) < 64
        (other / "go").write_text("")
        output = neighbour.communicate(timeout=60)[0].decode()
        assert (other / "started").exists(), output
        assert (other / "started").read_text() == "40"
    finally:
        sandbox.kill(bomb)
        sandbox.kill(neighbour)


def test_the_private_tmp_is_mounted_before_the_environment_so_a_course_under_tmp_stays_visible():
    # A CI checkout (and its .venv) under /tmp: a /tmp mounted after the binds hid them, the sandbox
    # could not start Python, and `--sandbox auto` fell back to grading unsandboxed.
    cmd = sandbox.bwrap_command(Path("/nonexistent-box"), ["python"], {}, sandbox.Limits(cpu_seconds=10), uid=None)
    tmp_mount = next(i for i in range(len(cmd) - 1) if cmd[i:i + 2] == ["--tmpfs", "/tmp"])
    first_bind = min(i for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind", "--dir"))
    assert tmp_mount < first_bind
