"""Build the exercise notebooks from their plain-text sources, or check that they are up to date.

Each exercise is written once, as ``exercises/solutions/NN_name.py`` (jupytext py:percent, like the
lessons), with the code a learner must write between ``### BEGIN SOLUTION`` and ``### END SOLUTION``.
Text after ``### BEGIN SOLUTION:`` is the hint the student version shows. From the source come:

* ``exercises/solutions/NN_name.ipynb``: the solution notebook, executed, outputs committed (nbval checks
  them in CI);
* ``exercises/NN_name.ipynb``: the student notebook, every solution block replaced by
  ``raise NotImplementedError("<hint>")``, not executed.

    python tools/build_exercises.py                 # build every exercise (executes the solutions)
    python tools/build_exercises.py 05              # only the exercises whose names start so
    python tools/build_exercises.py --no-execute    # write the cells without running the solutions
    python tools/build_exercises.py --check         # CI: everything current, nothing leaked

The written notebooks are deterministic: cell ids come from the cell index, the metadata is reduced to
the kernelspec, the language and the exercise name, and no timings are recorded.

``--check`` executes nothing: it regenerates both notebooks in memory and fails, naming the file, when a
committed notebook's cells differ from what the source gives, when a solution notebook was not executed,
shows an error or a failing check, when a source does not match the questions in
``lrcourse.grading.questions``, when ``lrcourse/grading/public_cases.json`` (the public cases and their
expected values, which the notebooks' ``check`` reads) differs from what the references give, or when any
line of solution code appears in a student notebook.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the questions live in lrcourse.grading.questions, also without an install

from lrcourse.grading.public import PUBLIC_CASES, public_data  # noqa: E402
from lrcourse.grading.questions import EXERCISES  # noqa: E402

EXERCISE_DIR = ROOT / "exercises"
SOLUTION_DIR = EXERCISE_DIR / "solutions"
SOURCE_FORMAT = "py:percent"
PATTERN = "[0-9][0-9]_*"
KERNEL = "python3"
CELL_TIMEOUT_S = 120

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
DEFAULT_HINT = "replace this line with your code"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL}
LANGUAGE_INFO = {  # without the Python version, which differs between machines
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
CHECK_CELL = re.compile(r"^check\((['\"])(q\d+)\1\)$")
# Check cells are locked in JupyterLab: editing them never helps, deleting them only hides feedback.
LOCKED = {"deletable": False, "editable": False}
CELL_METADATA_KEPT = ("tags", "deletable", "editable")


class SourceError(ValueError):
    """A problem in an exercise source (unbalanced markers, a question without a check, ...)."""


# ---------------------------------------------------------------------------------------------
# Reading sources and generating both versions
# ---------------------------------------------------------------------------------------------


def sources(names=None):
    """The exercise sources ``NN_*.py``, sorted, optionally only those whose names start with ``names``."""
    paths = sorted(SOLUTION_DIR.glob(PATTERN + ".py"))
    if not names:
        return paths
    wanted = [Path(n).stem for n in names]
    unmatched = [n for n, w in zip(names, wanted) if not any(p.stem.startswith(w) for p in paths)]
    if unmatched:
        raise SystemExit(f"no exercise matches {', '.join(unmatched)} (exercises: "
                         f"{', '.join(p.stem for p in paths) or 'none'})")
    return [p for p in paths if any(p.stem.startswith(w) for w in wanted)]


def solution_regions(source, where=""):
    """``[(begin_line, end_line, indent, hint)]`` of the solution blocks in one cell's source."""
    regions, start = [], None
    lines = source.splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if start is not None:
                raise SourceError(f"{where}: a second {BEGIN} before {END}")
            hint = stripped[len(BEGIN):].lstrip(":").strip() or DEFAULT_HINT
            start = (number, line[: len(line) - len(line.lstrip())], hint)
        elif stripped.startswith(END):
            if start is None:
                raise SourceError(f"{where}: {END} without {BEGIN}")
            regions.append((start[0], number, start[1], start[2]))
            start = None
    if start is not None:
        raise SourceError(f"{where}: {BEGIN} without {END}")
    return regions


def student_source(source, where=""):
    """``source`` with every solution block replaced by ``raise NotImplementedError("<hint>")``."""
    lines = source.splitlines()
    out, position = [], 0
    for begin, end, indent, hint in solution_regions(source, where):
        out += lines[position:begin]
        out.append(f"{indent}raise NotImplementedError({json.dumps(hint, ensure_ascii=False)})")
        position = end + 1
    out += lines[position:]
    return "\n".join(out)


def _cell_metadata(cell):
    metadata = {key: cell.metadata[key] for key in CELL_METADATA_KEPT if key in cell.metadata}
    if cell.cell_type == "code" and CHECK_CELL.match(cell.source.strip()):
        metadata.update(LOCKED)
        metadata["tags"] = sorted(set(metadata.get("tags", [])) | {"check"})
    return nbformat.NotebookNode(metadata)


def normalize(nb, name, version):
    """Make ``nb`` deterministic in place (ids, metadata, no timings) and return it."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.NotebookNode(kernelspec=dict(KERNELSPEC), language_info=dict(LANGUAGE_INFO),
                                        lrcourse={"exercise": name, "version": version})
    width = max(2, len(str(len(nb.cells) - 1)))
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:0{width}d}"
        cell.metadata = _cell_metadata(cell)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)
    return nb


def read_source(path):
    """The solution notebook (not executed) that the py:percent source ``path`` describes."""
    nb = jupytext.read(path, fmt=SOURCE_FORMAT)
    for index, cell in enumerate(nb.cells):
        where = f"{Path(path).name} cell {index}"
        if cell.cell_type == "code":
            solution_regions(cell.source, where)  # raises on unbalanced markers
        elif BEGIN in cell.source or END in cell.source:
            raise SourceError(f"{where}: solution markers belong in code cells only")
    return normalize(nb, Path(path).stem, "solution")


def make_student(solution_nb, name):
    """The student notebook for a (normalized) solution notebook: stubs instead of solutions, no outputs."""
    student = nbformat.v4.new_notebook()
    for index, cell in enumerate(solution_nb.cells):
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(student_source(cell.source, f"{name} cell {index}"))
        else:
            new = nbformat.v4.new_markdown_cell(cell.source)
        new.metadata = nbformat.NotebookNode(dict(cell.metadata))
        student.cells.append(new)
    return normalize(student, name, "student")


# ---------------------------------------------------------------------------------------------
# Consistency with lrcourse.grading.questions, and leaks
# ---------------------------------------------------------------------------------------------


def spec_problems(nb, name):
    """Problems between a solution notebook and its questions in ``lrcourse.grading.questions``; [] if none."""
    if name not in EXERCISES:
        return [f"{name}: no exercise of that name in lrcourse.grading.questions (known: {', '.join(EXERCISES)})"]
    exercise = EXERCISES[name]
    problems = []
    code = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if not any(f'checks_for("{name}")' in source for _, source in code):
        problems.append(f'{name}: no cell calls checks_for("{name}")')
    checked = {}
    for index, source in code:
        match = CHECK_CELL.match(source.strip())
        if match:
            checked.setdefault(match.group(2), index)
    for question_id in checked:
        if question_id not in {q.id for q in exercise.questions}:
            problems.append(f"{name}: check({question_id!r}) but lrcourse.grading.questions has no such question")
    for question in exercise.questions:
        definition = re.compile(rf"^def {re.escape(question.function)}\(", re.MULTILINE)
        defined = [i for i, source in code if definition.search(source) and solution_regions(source)]
        if not defined:
            problems.append(f"{name} {question.id}: no cell defines `{question.function}` with a solution block")
        elif question.id not in checked:
            problems.append(f"{name} {question.id}: no check({question.id!r}) cell")
        elif checked[question.id] < defined[0]:
            problems.append(f"{name} {question.id}: check({question.id!r}) comes before `{question.function}`")
    return problems


def _lines(text):
    return {line.strip() for line in text.splitlines() if line.strip()}


def secret_lines(solution_nb):
    """Stripped lines that occur only inside solution blocks of the source (the answers)."""
    inside, outside = set(), set()
    for cell in solution_nb.cells:
        lines = cell.source.splitlines()
        regions = solution_regions(cell.source) if cell.cell_type == "code" else []
        in_region = set()
        for begin, end, _, _ in regions:
            in_region.update(range(begin + 1, end))
        for number, line in enumerate(lines):
            if line.strip() and not line.strip().startswith(("### BEGIN", "### END")):
                (inside if number in in_region else outside).add(line.strip())
    return inside - outside


def leak_problems(solution_nb, student_nb, label):
    """Solution lines or markers found in a student notebook; [] if none."""
    secrets = secret_lines(solution_nb)
    problems = []
    for index, cell in enumerate(student_nb.cells):
        if BEGIN in cell.source or END in cell.source:
            problems.append(f"{label} cell {index}: contains a solution marker")
        leaked = sorted(_lines(cell.source) & secrets)
        if leaked:
            problems.append(f"{label} cell {index}: contains solution code: {leaked[0]!r}")
        for output in cell.get("outputs", []):
            text = json.dumps(output)
            if any(secret in text for secret in secrets if len(secret) > 12):
                problems.append(f"{label} cell {index}: an output shows solution code")
    return problems


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def check_outputs(nb, label):
    """Problems in an executed solution notebook: unexecuted cells, errors, failing checks."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.get("execution_count") is None:
            problems.append(f"{label}: code cell {index} was not executed")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"{label}: code cell {index} shows an error: {output.get('ename')}: "
                                f"{output.get('evalue')}")
            if CHECK_CELL.match(cell.source.strip()) and not output.get("text", "").startswith("✓"):
                problems.append(f"{label}: check cell {index} does not pass: {json.dumps(output)[:300]}")
        if CHECK_CELL.match(cell.source.strip()) and not cell.get("outputs"):
            problems.append(f"{label}: check cell {index} printed nothing")
    return problems


def execute(nb, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    # The kernel process's own stderr is start-up chatter, not cell output.
    client.execute(env=env, stderr=subprocess.DEVNULL)
    return nb


def build(source, run=True):
    """Write the solution notebook (executed unless ``run`` is False) and the student notebook."""
    source = Path(source)
    name = source.stem
    solution = read_source(source)
    problems = spec_problems(solution, name)
    if problems:
        raise SourceError("; ".join(problems))
    student = make_student(solution, name)
    problems = leak_problems(solution, student, f"exercises/{name}.ipynb")
    if problems:
        raise SourceError("; ".join(problems))
    if run:
        execute(solution, SOLUTION_DIR)
        solution = normalize(solution, name, "solution")
        problems = check_outputs(solution, f"solutions/{name}.ipynb")
        if problems:
            raise SourceError("; ".join(problems))
    targets = [SOLUTION_DIR / f"{name}.ipynb", EXERCISE_DIR / f"{name}.ipynb"]
    for nb, target in zip((solution, student), targets):
        nbformat.validate(nb)
        nbformat.write(nb, target)
    return targets


# ---------------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------------


def cell_signature(cell):
    return cell.cell_type, cell.source, json.dumps(dict(cell.metadata), sort_keys=True)


def compare_cells(expected, found, label, source_name):
    e = [cell_signature(c) for c in expected.cells]
    f = [cell_signature(c) for c in found.cells]
    if e == f:
        return []
    first = next((i for i, (a, b) in enumerate(zip(e, f)) if a != b), min(len(e), len(f)))
    return [f"{label} is out of date with {source_name} (first difference at cell {first}; {len(e)} cells "
            f"expected, {len(f)} found)"]


def check_exercise(source):
    """Problems with the committed notebooks of one exercise source; [] if none."""
    name = source.stem
    solution_path, student_path = SOLUTION_DIR / f"{name}.ipynb", EXERCISE_DIR / f"{name}.ipynb"
    try:
        solution = read_source(source)
    except SourceError as error:
        return [str(error)]
    problems = spec_problems(solution, name)
    student = make_student(solution, name)
    for path, expected, version in ((solution_path, solution, "solution"), (student_path, student, "student")):
        label = str(path.relative_to(ROOT))
        if not path.exists():
            problems.append(f"{label} is missing: run `make exercises`")
            continue
        committed = nbformat.read(path, as_version=4)
        problems += compare_cells(expected, committed, label, f"exercises/solutions/{source.name}")
        if committed.metadata.get("lrcourse") != {"exercise": name, "version": version}:
            problems.append(f"{label}: metadata lrcourse should be {{'exercise': {name!r}, 'version': {version!r}}}")
        if version == "solution":
            problems += check_outputs(committed, label)
        else:
            problems += leak_problems(solution, committed, label)
            if any(c.get("outputs") or c.get("execution_count") for c in committed.cells if c.cell_type == "code"):
                problems.append(f"{label}: a student notebook must have no outputs")
    return problems


def public_text():
    """The contents ``lrcourse/grading/public_cases.json`` must have."""
    return json.dumps(public_data(EXERCISES), indent=1) + "\n"


def public_problems():
    label = PUBLIC_CASES.relative_to(ROOT)
    if not PUBLIC_CASES.exists():
        return [f"{label} is missing: run `make exercises`"]
    if PUBLIC_CASES.read_text(encoding="utf-8") != public_text():
        return [f"{label} is out of date with lrcourse/grading/questions: run `make exercises`"]
    return []


def check_all(names=None):
    problems = public_problems()
    chosen = sources(names)
    for source in chosen:
        problems += check_exercise(source)
    if not names:
        known = {p.stem for p in chosen}
        for folder in (EXERCISE_DIR, SOLUTION_DIR):
            for path in sorted(folder.glob(PATTERN + ".ipynb")):
                if path.stem not in known:
                    problems.append(f"{path.relative_to(ROOT)} has no source exercises/solutions/{path.stem}.py")
        for name in EXERCISES:
            if name not in known:
                problems.append(f"lrcourse.grading.questions has {name} but there is no exercises/solutions/{name}.py")
    return problems, len(chosen)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="exercises to build, e.g. 05 or 05_learning_rate_decay")
    parser.add_argument("--check", action="store_true", help="check the committed notebooks, build nothing")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    args = parser.parse_args(argv)

    if args.check:
        problems, count = check_all(args.names)
        for problem in problems:
            print(f"build_exercises --check: {problem}", file=sys.stderr)
        if problems:
            print("Rebuild with `make exercises` (or tools/build_exercises.py NAME).", file=sys.stderr)
            return 1
        print(f"build_exercises --check: {count} exercises up to date, no solution text in student notebooks")
        return 0

    PUBLIC_CASES.write_text(public_text(), encoding="utf-8")  # before the solutions run their checks
    print(PUBLIC_CASES.relative_to(ROOT))
    failed = []
    chosen = sources(args.names)
    if not chosen:
        print(f"no exercise sources {PATTERN}.py in {SOLUTION_DIR}", file=sys.stderr)
        return 1
    for source in chosen:
        start = time.perf_counter()
        try:
            targets = build(source, run=not args.no_execute)
        except (SourceError, CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            failed.append(source.name)
            print(f"{source.name}: not written: {error}", file=sys.stderr)
            continue
        shown = ", ".join(str(t.relative_to(ROOT)) for t in targets)
        print(f"{shown}  ({time.perf_counter() - start:.1f} s)")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
