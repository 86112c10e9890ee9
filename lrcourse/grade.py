"""Grade exercise notebooks: ``python -m lrcourse.grade PATH... [--json] [--csv FILE] [--timeout S] [--jobs N]``.

Each notebook runs in a fresh Jupyter kernel (nbclient), every cell in order, errors allowed so later cells
still run (its ``check("q1")`` cells are skipped: they only give the learner feedback). Then, in the same kernel, grading code sent by this process calls the learner's functions on
the questions' inputs and writes what came back to a file this process chose. The kernel produces, the
grader judges: the expected values are computed here, by this process's own :mod:`lrcourse`, and compared
here, so a notebook that patches ``lrcourse``, the checks or the builtins cannot turn a wrong answer into
a pass, and printing the expected output earns nothing.

A notebook that raises, loops forever, kills its kernel or prints megabytes still gets a report: a cell
that does not finish in time is interrupted; a cell that kills the kernel (or hangs it past an interrupt)
is left out and the notebook is run again in a fresh kernel, so the questions that can be graded are
graded and the others get 0 with the reason. Output is capped per cell.

The exit code is 0 when every notebook got full marks, 1 otherwise (2 for a usage error), so the command
works in CI and scripts.
"""

import argparse
import csv
import dataclasses
import inspect
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import checks

__all__ = ["grade_notebook", "grade_paths", "find_notebooks", "identify_exercise", "Report", "QuestionResult",
           "main"]

CELL_TIMEOUT = 30        # seconds per cell (and per grading cell)
TOTAL_TIMEOUT = 300      # seconds for all the notebook's own cells together
CALL_TIMEOUT = 10        # seconds for one call of a learner's function while grading
PROBE_TIMEOUT = 5        # seconds for a kernel to answer again after an interrupt
MAX_KERNEL_STARTS = 5    # a notebook whose cells keep killing the kernel is not replayed forever
MAX_OUTPUT_CHARS = 100_000  # kept per cell; the rest of a huge print is dropped
MAX_ANSWER_BYTES = 64_000_000
_TIMEOUT_ENAME = "LrcourseGraderTimeout"
_CHECK_CELL = re.compile(r"^\s*check\(\s*(['\"])q\d+\1\s*\)\s*$")


@dataclasses.dataclass
class QuestionResult:
    id: str
    function: str
    title: str
    points: int
    max_points: int
    reason: str

    @property
    def passed(self):
        return self.points == self.max_points


@dataclasses.dataclass
class Report:
    """The grade of one notebook; ``error`` is set when it could not be graded at all."""

    path: str
    exercise: str = ""
    questions: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def score(self):
        return sum(q.points for q in self.questions)

    @property
    def max_score(self):
        return sum(q.max_points for q in self.questions)

    @property
    def full_marks(self):
        return not self.error and bool(self.questions) and self.score == self.max_score

    def as_dict(self):
        out = dataclasses.asdict(self)
        for q, result in zip(out["questions"], self.questions):
            q["passed"] = result.passed
        out.update(score=self.score, max_score=self.max_score, full_marks=self.full_marks,
                   seconds=round(self.seconds, 2))
        return out


# --- finding notebooks and their exercise ------------------------------------------------------------

def find_notebooks(paths):
    """The notebooks named in ``paths``: files as given, folders searched recursively (sorted)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def identify_exercise(nb, path=""):
    """The exercise a notebook belongs to: its ``lrcourse.exercise`` metadata, else the exercise its
    ``checks_for("...")`` call names, else an exercise name in the file name; None if none fits.

    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> identify_exercise(new_notebook(cells=[new_code_cell('check = checks_for("05")')]))
    '05_learning_rate_decay'
    >>> identify_exercise(new_notebook(), "submissions/alice_07_cyclical_learning_rates.ipynb")
    '07_cyclical_learning_rates'
    """
    from .exercises import EXERCISES, get_exercise

    name = nb.get("metadata", {}).get("lrcourse", {}).get("exercise")
    if name in EXERCISES:
        return name
    for cell in nb.get("cells", []):
        match = re.search(r"checks_for\(\s*['\"](\w+)['\"]", cell.get("source", "") if cell.get("cell_type") == "code" else "")
        if match:
            try:
                return get_exercise(match.group(1)).name
            except KeyError:
                pass
    for name in EXERCISES:
        if name in Path(path).name:
            return name
    return None


# --- running a notebook ------------------------------------------------------------------------------

def _output_size(content):
    if "text" in content:
        return len(content["text"])
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in content.get("data", {}).values())


def _make_client_class():
    from nbclient import NotebookClient
    from nbformat.v4 import new_output

    class CappedClient(NotebookClient):
        """A NotebookClient that keeps at most ``max_output_chars`` of output per cell and remembers the
        execute reply of every cell (to tell a time-out from an ordinary error)."""

        def __init__(self, nb, max_output_chars, **kwargs):
            super().__init__(nb, **kwargs)
            self.max_output_chars = max_output_chars
            self.output_used = {}
            self.replies = {}
            self.on_cell_executed = self._remember_reply

        def _remember_reply(self, cell, cell_index, execute_reply):
            self.replies[cell_index] = execute_reply

        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] != "error":
                used = self.output_used.get(cell_index, 0)
                size = _output_size(msg["content"])
                self.output_used[cell_index] = used + size
                if used + size > self.max_output_chars:
                    if used <= self.max_output_chars:
                        outs.append(new_output("stream", name="stderr", text="\n[output truncated by the grader]\n"))
                    return None
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


def _kernel_env():
    env = dict(os.environ)
    # The kernel imports the same lrcourse as this process, also when it is not installed.
    package_parent = str(Path(checks.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH", "")) if p)
    env["MPLBACKEND"] = "Agg"  # no figures are graded; drawing them would only cost time
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")  # several notebooks are graded side by side
    return env


# Runs before the notebook: loads the grading code with a private copy of the builtins and the notebook's
# namespace, under a name only this grading run knows, so later patches of builtins or lrcourse miss it.
_SETUP_CELL = """\
def _lrcourse_grader_setup():
    import builtins, sys, types
    module = types.ModuleType({key!r})
    module.__dict__["__builtins__"] = dict(builtins.__dict__)
    exec(compile({source!r}, "lrcourse-harvest", "exec"), module.__dict__)
    namespace = globals()
    module.run = lambda *args: module.harvest(namespace, *args)
    sys.modules[{key!r}] = module
_lrcourse_grader_setup()
del _lrcourse_grader_setup
"""
_HARVEST_CELL = """\
__import__("sys").modules[{key!r}].run({function!r}, {cases!r}, {answers!r}, {time_limit!r})
"""


@dataclasses.dataclass
class _Step:
    kind: str          # "cell" (the notebook's own) or "harvest" (grading code for one question)
    index: int         # position in the working notebook
    label: str         # for notes: "cell 7" or "q3"
    question: object = None


def _first_line(source):
    line = next((l.strip() for l in source.splitlines() if l.strip()), "")
    return line if len(line) <= 50 else line[:47] + "..."


def _error_of(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = str(out.get("evalue", ""))
            value = value if len(value) <= 200 else value[:197] + "..."
            return f"{out.get('ename', 'Error')}: {value}" if value else out.get("ename", "Error")
    return None


class _Run:
    """One notebook run with replays: ``steps`` in order, in as many fresh kernels as it takes."""

    def __init__(self, code_cells, exercise, workdir, cell_timeout, total_timeout, call_timeout):
        import nbformat
        from nbformat.v4 import new_code_cell, new_notebook

        from .exercises import harvest as harvest_module

        self.workdir = Path(workdir)
        self.cell_timeout, self.total_timeout = cell_timeout, total_timeout
        key = f"_lrcourse_grader_{secrets.token_hex(8)}"
        cells = [new_code_cell(_SETUP_CELL.format(key=key, source=inspect.getsource(harvest_module)))]
        self.steps = [_Step("setup", 0, "setup")]
        for number, text in code_cells:
            self.steps.append(_Step("cell", len(cells), f"cell {number}"))
            cells.append(new_code_cell(text))
        self.answers = {}
        for question in exercise.questions:
            cases_path = self.workdir / f"cases-{question.id}.json"
            answers_path = self.workdir / f"answers-{question.id}.jsonl"
            cases_path.write_text(json.dumps(
                [[harvest_module.encode(c.args), harvest_module.encode(c.kwargs)] for c in question.cases]))
            self.answers[question.id] = answers_path
            self.steps.append(_Step("harvest", len(cells), question.id, question))
            cells.append(new_code_cell(_HARVEST_CELL.format(
                key=key, function=question.function, cases=str(cases_path), answers=str(answers_path),
                time_limit=float(min(call_timeout, max(1, cell_timeout - 2))))))
        self.probe_index = len(cells)
        cells.append(new_code_cell("pass"))
        self.nb = new_notebook(cells=cells)
        self.nbformat = nbformat
        self.broken = {}      # step label -> why it is left out of later runs
        self.harvested = set()
        self.notes = {}       # step label -> latest note
        self.harvest_errors = {}  # question id -> error the grading code raised in the kernel
        self.truncated = set()    # cells whose output was cut
        self.stopped = ""     # why grading could not finish, if it could not
        self.skipped = False  # whether cells were skipped for lack of time

    def execute(self):
        client_class = _make_client_class()
        deadline = time.monotonic() + self.total_timeout
        env = _kernel_env()
        for start in range(1, MAX_KERNEL_STARTS + 1):
            client = client_class(self.nbformat.from_dict(self.nb), MAX_OUTPUT_CHARS, kernel_name="python3",
                                  allow_errors=True, record_timing=False, interrupt_on_timeout=True,
                                  error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "", "traceback": []},
                                  shutdown_kernel="immediate", iopub_timeout=4, startup_timeout=60)
            try:
                restart = self._run_steps(client, deadline, env)
            except Exception as exc:  # the kernel did not start, or nbclient failed in a way we do not know
                self.stopped = f"the kernel could not be run ({type(exc).__name__}: {exc})"
                return
            if not restart:
                return
            if not any(step.kind == "harvest" and step.label not in self.broken and step.label not in self.harvested
                       for step in self.steps):
                return  # every question has its answers (or its reason): nothing to run again for
            if time.monotonic() > deadline:
                self.stopped = f"the notebook used up its {self.total_timeout:g} s before it could be run again"
                return
        self.stopped = f"the kernel stopped {MAX_KERNEL_STARTS} times"

    def _run_steps(self, client, deadline, env):
        """Run every step not yet done or left out; True when the kernel died or hung (run again)."""
        from nbclient.exceptions import DeadKernelError

        # The kernel's own stdout/stderr (not the cells' output) is only start-up chatter.
        with client.setup_kernel(cwd=str(self.workdir), env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL):
            for step in self.steps:
                if step.label in self.broken or step.label in self.harvested:
                    continue
                if step.kind == "cell":
                    remaining = deadline - time.monotonic()
                    if remaining < 1:
                        self.notes[step.label] = f"{step.label} not run: the notebook used up its {self.total_timeout:g} s"
                        self.skipped = True
                        continue
                    timeout = max(1, int(min(self.cell_timeout, remaining)))
                else:
                    timeout = max(1, int(self.cell_timeout))
                cell = client.nb.cells[step.index]
                client.timeout = timeout
                try:
                    client.execute_cell(cell, step.index)
                except DeadKernelError:
                    self._leave_out(step, "killed the kernel")
                    return True
                reply = client.replies.get(step.index) or {}
                if reply.get("content", {}).get("ename") == _TIMEOUT_ENAME:
                    if not self._responsive(client):
                        self._leave_out(step, f"did not finish within {timeout} s and could not be interrupted")
                        return True
                    # Interrupted, the kernel lives on; a run again would only wait as long once more.
                    self.broken[step.label] = f"did not finish within {timeout} s"
                    if step.kind == "cell":
                        self.notes[step.label] = f"{step.label} did not finish within {timeout} s and was interrupted"
                    continue
                if client.output_used.get(step.index, 0) > MAX_OUTPUT_CHARS and step.kind == "cell":
                    self.truncated.add(step.label)
                self._record(step, client.nb.cells[step.index])
        return False

    def _responsive(self, client):
        from nbclient.exceptions import DeadKernelError

        client.timeout = PROBE_TIMEOUT
        try:
            client.execute_cell(client.nb.cells[self.probe_index], self.probe_index)
        except DeadKernelError:
            return False
        reply = client.replies.get(self.probe_index) or {}
        return reply.get("content", {}).get("ename") != _TIMEOUT_ENAME

    def _leave_out(self, step, what):
        self.broken[step.label] = what
        if step.kind == "cell":
            source = self.nb.cells[step.index].source
            self.notes[step.label] = (f"{step.label} ({_first_line(source)}) {what}; it was left out and the "
                                      f"notebook run again in a fresh kernel")

    def _record(self, step, cell):
        error = _error_of(cell)
        if step.kind == "harvest":
            self.harvested.add(step.label)
            if error:
                self.harvest_errors[step.label] = error
        elif error and step.kind == "setup":
            self.notes[step.label] = f"the grading code could not be set up in the kernel: {error}"
        elif error:
            self.notes[step.label] = f"{step.label} ({_first_line(self.nb.cells[step.index].source)}) raised {error}"
        else:
            self.notes.pop(step.label, None)

    def outcomes(self, question):
        """The :class:`lrcourse.checks.Outcome` of each case that was run, or a reason it was not."""
        from .exercises.harvest import decode

        path = self.answers[question.id]
        records = []
        if path.exists():
            if path.stat().st_size > MAX_ANSWER_BYTES:
                return "the answers were too large to read"
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    break  # a line cut short by a dying kernel
        outcomes = []
        for record in records:
            if not isinstance(record, dict):
                break
            if record.get("missing"):
                return [checks.Outcome("missing")]
            if "not_callable" in record:
                return [checks.Outcome("not_callable", error=f"a {record['not_callable']}")]
            if record.get("interrupted"):
                outcomes.append(checks.Outcome("timeout", seconds=self.cell_timeout))
            elif "value" in record:
                try:
                    outcomes.append(checks.Outcome("value", value=decode(record["value"])))
                except Exception:
                    outcomes.append(checks.Outcome("crash", error="returned a value the grader could not read"))
            elif "error" in record:
                outcomes.append(checks.Outcome("error", error=str(record["error"])))
            elif "timeout" in record:
                outcomes.append(checks.Outcome("timeout", seconds=float(record["timeout"])))
        found = bool(records) and isinstance(records[0], dict) and records[0].get("found")
        if question.id in self.broken:
            if not found:
                return f"the grading code {self.broken[question.id]}"
            outcomes.append(checks.Outcome("crash", error=self.broken[question.id]))
            return outcomes
        if not found:
            if question.id in self.harvest_errors:
                return f"the grading code failed in the kernel ({self.harvest_errors[question.id]})"
            return self.stopped or "the grading code did not run"
        return outcomes


def grade_notebook(path, *, exercise=None, cell_timeout=CELL_TIMEOUT, total_timeout=TOTAL_TIMEOUT,
                   call_timeout=CALL_TIMEOUT):
    """Run one notebook in a fresh kernel and grade it; never raises for a bad notebook."""
    started = time.monotonic()
    report = Report(str(path))
    try:
        _grade_into(report, Path(path), exercise, cell_timeout, total_timeout, call_timeout)
    except Exception as exc:  # a grader bug must not stop a batch either; it is reported as such
        report.error = f"grader error: {type(exc).__name__}: {exc}"
    report.seconds = time.monotonic() - started
    return report


def _grade_into(report, path, exercise_name, cell_timeout, total_timeout, call_timeout):
    import nbformat

    from .exercises import get_exercise

    try:
        nb = nbformat.read(str(path), as_version=4, capture_validation_error={})
    except Exception as exc:
        report.error = f"not a readable notebook: {type(exc).__name__}: {exc}"
        return
    exercise_name = exercise_name or identify_exercise(nb, path)
    if exercise_name is None:
        report.error = "cannot tell which exercise this is (no lrcourse metadata, checks_for call or exercise name)"
        return
    exercise = get_exercise(exercise_name)
    report.exercise = exercise.name
    # Expected values come from this process, before the notebook has had any chance to run.
    expected = {q.id: q.expected() for q in exercise.questions}
    # The notebook's own check("q1") cells are feedback for the learner; the grader runs its own checks.
    code_cells = [(number, cell.get("source", "")) for number, cell in enumerate(nb.get("cells", []), start=1)
                  if cell.get("cell_type") == "code" and cell.get("source", "").strip()
                  and not _CHECK_CELL.match(cell.get("source", ""))]
    with tempfile.TemporaryDirectory(prefix="lrcourse-grade-") as workdir:
        run = _Run(code_cells, exercise, workdir, cell_timeout, total_timeout, call_timeout)
        run.execute()
        for question in exercise.questions:
            outcomes = run.outcomes(question)
            if isinstance(outcomes, str):
                reason, points = f"not graded: {outcomes}", 0
            else:
                verdict = checks.judge(question, outcomes, expected[question.id])
                reason, points = verdict.reason, verdict.points
                if outcomes[0].kind == "missing" and run.skipped:
                    reason += " (some cells were not run: the notebook used up its time)"
            report.questions.append(QuestionResult(question.id, question.function, question.title, points,
                                                   question.points, reason))
        report.notes = [note for step in run.steps if (note := run.notes.get(step.label))]
        report.notes += [f"{label} printed more than {MAX_OUTPUT_CHARS} characters; the rest was dropped"
                         for label in sorted(run.truncated, key=lambda l: int(l.split()[-1]))]
        if run.stopped:
            report.notes.append(f"grading stopped early: {run.stopped}")


def _grade_worker(task):
    path, options = task
    return grade_notebook(path, **options)


def grade_paths(paths, *, jobs=1, on_report=None, **options):
    """Grade many notebooks (``jobs`` at a time, each in its own process); reports in input order.

    ``on_report(report)`` is called for each report as soon as it and all before it are done.
    """
    paths = [str(p) for p in paths]
    reports = []

    def done(report):
        reports.append(report)
        if on_report is not None:
            on_report(report)

    if jobs <= 1 or len(paths) <= 1:
        for path in paths:
            done(grade_notebook(path, **options))
        return reports
    import multiprocessing

    from . import grade as this_module  # by its import name, also when run as ``python -m``

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(this_module._grade_worker, (path, options)) for path in paths]
        for path, future in zip(paths, futures):
            try:
                report = future.result()
            except Exception as exc:  # the worker process itself died
                report = Report(path, error=f"grader error: the worker grading it stopped ({type(exc).__name__}: {exc})")
            done(report)
    return reports


# --- reporting ---------------------------------------------------------------------------------------

def format_report(report):
    lines = [f"{report.path}" + (f"  [{report.exercise}]" if report.exercise else "")]
    if report.error:
        lines.append(f"  ERROR: {report.error}")
    width = max((len(q.function) for q in report.questions), default=0)
    for q in report.questions:
        lines.append(f"  {q.id:<3} {q.function:<{width}}  {q.points}/{q.max_points}  {q.reason}")
    for note in report.notes:
        lines.append(f"  note: {note}")
    lines.append(f"  score {report.score}/{report.max_score}  ({report.seconds:.1f} s)")
    return "\n".join(lines)


def _question_columns(reports):
    ids = {q.id for r in reports for q in r.questions}
    return sorted(ids, key=lambda i: (len(i), i))


def write_csv(reports, file):
    columns = _question_columns(reports)
    writer = csv.writer(file)
    writer.writerow(["path", "exercise", "score", "max_score", *columns, "error", "seconds"])
    for r in reports:
        points = {q.id: q.points for q in r.questions}
        writer.writerow([r.path, r.exercise, r.score, r.max_score, *(points.get(c, "") for c in columns),
                         r.error, f"{r.seconds:.1f}"])


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lrcourse.grade",
        description="Grade lrcourse exercise notebooks: run each in a fresh kernel and judge its answers.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="notebooks, or folders searched for *.ipynb")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON instead of a table")
    parser.add_argument("--csv", metavar="FILE", help="also write one row per notebook to FILE")
    parser.add_argument("--timeout", type=_positive(float), default=CELL_TIMEOUT, metavar="SECONDS",
                        help=f"time limit per cell (default {CELL_TIMEOUT})")
    parser.add_argument("--total-timeout", type=_positive(float), default=TOTAL_TIMEOUT, metavar="SECONDS",
                        help=f"time limit for all cells of one notebook (default {TOTAL_TIMEOUT})")
    parser.add_argument("--jobs", type=_positive(int), default=1, metavar="N",
                        help="grade N notebooks at a time, each in its own process (default 1)")
    parser.add_argument("--exercise", metavar="NAME", help="grade every notebook as this exercise (e.g. 05)")
    args = parser.parse_args(argv)

    try:
        notebooks = find_notebooks(args.paths)
        exercise = None
        if args.exercise:
            from .exercises import get_exercise

            exercise = get_exercise(args.exercise).name
    except (FileNotFoundError, KeyError) as exc:
        parser.error(str(exc.args[0]) if exc.args else str(exc))
    if not notebooks:
        parser.error("no notebooks found in " + ", ".join(args.paths))

    def show(report):
        if not args.json:
            print(format_report(report), flush=True)

    reports = grade_paths(notebooks, jobs=args.jobs, on_report=show, exercise=exercise,
                          cell_timeout=args.timeout, total_timeout=args.total_timeout)
    full = sum(r.full_marks for r in reports)
    score, max_score = sum(r.score for r in reports), sum(r.max_score for r in reports)
    if args.json:
        json.dump({"submissions": [r.as_dict() for r in reports],
                   "total": {"notebooks": len(reports), "full_marks": full, "score": score,
                             "max_score": max_score}}, sys.stdout, indent=1)
        print()
    else:
        print(f"Total: {len(reports)} notebook{'s' * (len(reports) != 1)}, {full} with full marks, "
              f"{score}/{max_score} points.")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            write_csv(reports, f)
    return 0 if full == len(reports) else 1


if __name__ == "__main__":
    sys.exit(main())
