"""Grade exercise notebooks: ``python -m lrcourse.grade PATH... [--jobs N] [--csv FILE] [--json]
[--json-file FILE] [--tests DIR] [--sandbox {auto,required,off}]``.

Each submission runs in a sandbox of its own (:mod:`lrcourse.grading.sandbox`: bubblewrap, no network, a
private ``/tmp`` and ``$HOME``, a read-only view of Python and ``lrcourse`` without the question
definitions, resource limits), where :mod:`lrcourse.grading.runner` runs the notebook in a fresh kernel
and calls the learner's functions on the questions' inputs. The sandbox gets inputs only. The expected
values are computed here, from the references in :mod:`lrcourse.grading.questions`, and the answers
are judged here, once the sandbox and everything it started are gone: the grader reads them from regular
files in the sandbox's folder (no symlink or FIFO followed, size capped, every parse error kept to its
question). So a notebook cannot see the references, change another submission's files, outlive its
grading, or stop the batch.

Every submission gets a report: per-notebook time limits are enforced from outside (the sandbox is
killed), and a sandbox that dies, stops or is killed costs only its own notebook ("grader error: ...").
Questions are graded on their public cases (those ``check("q1")`` uses) and on the instructor's hidden
cases (``--tests DIR``, see :mod:`lrcourse.grading.hidden`), reported separately; a question earns its
points when both pass. Public cases alone cannot tell a solution from a table of the public answers:
grade others' work with hidden cases.

Which exercise a notebook is comes from ``--exercise``, its folder (``05/`` or
``05_learning_rate_decay/``) or its file name; what the notebook itself says is only cross-checked. A
folder is searched recursively, except ``solutions/`` and checkpoint folders.

The exit code is 0 when every notebook got full marks, 1 otherwise, 2 for a usage error (or when
``--sandbox required`` finds no sandbox).
"""

import argparse
import csv
import dataclasses
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from . import checks, runner, sandbox

__all__ = ["grade_notebook", "grade_paths", "find_notebooks", "identify_exercise", "Report", "QuestionResult",
           "main"]

CELL_TIMEOUT = 30        # seconds per cell (and per question's calls)
TOTAL_TIMEOUT = 300      # seconds for one notebook, start to end: enforced from outside
CALL_TIMEOUT = 10        # seconds for one call of a learner's function
KILL_GRACE = 10          # seconds past the total before the sandbox is killed (start-up and shut-down)
DISK_CHECK_INTERVAL = 1  # seconds between two looks at how much a sandbox wrote to its folder
MAX_NOTEBOOK_BYTES = 16_000_000
MAX_ANSWER_BYTES = 64_000_000
MAX_RESULT_BYTES = 1_000_000
SKIPPED_FOLDERS = {"solutions", ".ipynb_checkpoints"}
_CHECK_CELL = re.compile(r"^\s*check\(\s*(['\"])q\d+\1\s*\)\s*$")


@dataclasses.dataclass
class QuestionResult:
    id: str
    function: str
    title: str
    points: int
    max_points: int
    reason: str                # on the public cases
    hidden_reason: str = ""    # on the hidden cases ("" when there are none)
    hidden_passed: bool = None  # None when there are no hidden cases

    @property
    def passed(self):
        return self.points == self.max_points


@dataclasses.dataclass
class Report:
    """The grade of one notebook; ``error`` is set when it could not be graded (fully)."""

    path: str
    exercise: str = ""
    questions: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    sandboxed: bool = False

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
    """The notebooks named in ``paths``: files as given, folders searched recursively (sorted), leaving
    out ``solutions/`` and checkpoint folders below them."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb")
                            if not SKIPPED_FOLDERS & set(p.relative_to(path).parts[:-1]))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def _exercise_named(name, exact):
    """The exercise a folder name (``exact``: the full name or its number) or a file name (contains the
    full name, or exactly one exercise number standing alone) stands for; None if none."""
    from .questions import EXERCISES

    for full_name in EXERCISES:
        if (name == full_name or name == full_name[:2]) if exact else full_name in name:
            return full_name
    if exact:
        return None
    numbers = {n for n in re.findall(r"(?<![0-9])([0-9]{2})(?![0-9])", name)}
    matches = [full for full in EXERCISES if full[:2] in numbers]
    return matches[0] if len(matches) == 1 and len(numbers) == 1 else None


def _claimed_exercise(nb):
    """The exercise a notebook says it is: its ``lrcourse.exercise`` metadata or its ``checks_for`` call."""
    from .questions import EXERCISES, get_exercise

    metadata = nb.get("metadata", {}).get("lrcourse", {})
    name = metadata.get("exercise") if isinstance(metadata, dict) else None
    if name in EXERCISES:
        return name
    for cell in nb.get("cells", []):
        source = cell.get("source", "") if cell.get("cell_type") == "code" else ""
        match = re.search(r"checks_for\(\s*['\"](\w+)['\"]", source if isinstance(source, str) else "")
        if match:
            try:
                return get_exercise(match.group(1)).name
            except KeyError:
                pass
    return None


def identify_exercise(nb, path, exercise=None):
    """``(name, problem)``: the exercise to grade ``nb`` as, and a note when the notebook disagrees; name is
    None (and problem the reason) when it cannot be known.

    The instructor's word (``exercise``, then the folder the file is in) decides; otherwise the file name,
    which must agree with what the notebook says (its metadata or its ``checks_for`` call).

    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> says_04 = new_notebook(cells=[new_code_cell('check = checks_for("04")')])
    >>> identify_exercise(says_04, "submissions/alice_04_fixed_learning_rate.ipynb")
    ('04_fixed_learning_rate', '')
    >>> identify_exercise(says_04, "submissions/alice_05.ipynb")[1]
    'its file name says 05_learning_rate_decay but the notebook says 04_fixed_learning_rate'
    >>> identify_exercise(says_04, "05/alice.ipynb")
    ('05_learning_rate_decay', 'graded as 05_learning_rate_decay (its folder); the notebook says 04_fixed_learning_rate')
    """
    path = Path(path)
    claimed = _claimed_exercise(nb)
    if exercise:
        known, source = exercise, "--exercise"
    elif (known := _exercise_named(path.parent.name, exact=True)):
        source = "its folder"
    elif (known := _exercise_named(path.stem, exact=False)):
        if claimed and claimed != known:
            return None, f"its file name says {known} but the notebook says {claimed}"
        return known, ""
    else:
        return None, ("cannot tell which exercise this is: name the file after it (alice_05_learning_rate_decay"
                      ".ipynb), put it in a folder named after it (05/) or use --exercise")
    if claimed and claimed != known:
        return known, f"graded as {known} ({source}); the notebook says {claimed}"
    return known, ""


# --- reading what a sandbox left -------------------------------------------------------------------

class Unreadable(Exception):
    """A file the grader will not read (a symlink, a FIFO, a folder, too large)."""


def read_regular_file(name, limit, dir_fd=None):
    """The bytes of the regular file ``name`` (relative to ``dir_fd``), or None if there is none.

    No symlink is followed and nothing but a regular file is read (a FIFO would block, a device never
    end); a file over ``limit`` bytes is refused whole.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"{os.path.basename(name)} could not be opened ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{os.path.basename(name)} is not a regular file")
        if info.st_size > limit:
            raise Unreadable(f"{os.path.basename(name)} is larger than {limit} bytes")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise Unreadable(f"{os.path.basename(name)} is larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _outcomes(records, time_limit):
    """The :class:`lrcourse.grading.checks.Outcome` of each call, from the answers' JSON lines."""
    from .harvest import decode

    outcomes = []
    for record in records:
        if not isinstance(record, dict) or record.get("found"):
            continue
        if record.get("missing"):
            return [checks.Outcome("missing")]
        if "not_callable" in record:
            return [checks.Outcome("not_callable", error=f"a {str(record['not_callable'])[:80]}")]
        if record.get("unreadable"):
            outcomes.append(checks.Outcome("crash", error="returned a value the grader could not read"))
        elif record.get("interrupted"):
            outcomes.append(checks.Outcome("timeout", seconds=time_limit))
        elif "value" in record:
            try:
                outcomes.append(checks.Outcome("value", value=decode(record["value"])))
            except Exception:  # RecursionError and MemoryError included: the record is the learner's
                outcomes.append(checks.Outcome("crash", error="returned a value the grader could not read"))
        elif "error" in record:
            outcomes.append(checks.Outcome("error", error=str(record["error"])[:400]))
        elif "timeout" in record:
            try:
                outcomes.append(checks.Outcome("timeout", seconds=float(record["timeout"])))
            except (TypeError, ValueError):
                outcomes.append(checks.Outcome("timeout", seconds=time_limit))
    return outcomes


def _answers(box_fd, key, run_result, time_limit, stopped):
    """The outcomes of one question's calls, or the reason there are none (a string)."""
    try:
        data = read_regular_file(f"answers-{key}.jsonl", MAX_ANSWER_BYTES, box_fd)
    except Unreadable as exc:
        return f"the answers could not be read ({exc})"
    records = []
    for line in (data or b"").decode("utf-8", errors="replace").splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # cut short by a dying kernel
        try:
            records.append(json.loads(line))
        except (ValueError, RecursionError):
            records.append({"unreadable": True})
            break
    found = bool(records) and isinstance(records[0], dict) and (records[0].get("found") or records[0].get("missing")
                                                                or "not_callable" in records[0])
    broken = run_result.get("broken", {}).get(key) if isinstance(run_result.get("broken"), dict) else None
    outcomes = _outcomes(records, time_limit) if found else []
    if broken:
        if not found:
            return f"the grading code {broken}"
        return outcomes + [checks.Outcome("crash", error=str(broken))]
    if not found:
        errors = run_result.get("harvest_errors", {})
        if isinstance(errors, dict) and key in errors:
            return f"the grading code failed in the kernel ({str(errors[key])[:200]})"
        if records:
            return "the answers could not be read (not what the grading code writes)"
        return stopped or str(run_result.get("stopped") or "") or "the grading code did not run"
    return outcomes


# --- one submission --------------------------------------------------------------------------------

@dataclasses.dataclass
class Options:
    cell_timeout: float = CELL_TIMEOUT
    total_timeout: float = TOTAL_TIMEOUT
    call_timeout: float = CALL_TIMEOUT
    sandboxed: bool = True
    limits: sandbox.Limits = None
    hidden: dict = dataclasses.field(default_factory=dict)  # exercise -> question id -> (cases, expected)

    def __post_init__(self):
        if self.limits is None:
            self.limits = sandbox.Limits(cpu_seconds=self.total_timeout + KILL_GRACE)


_expected_cache = {}


def _expected(exercise):
    """Expected values of the public cases, from the references (here, never in a sandbox)."""
    if exercise.name not in _expected_cache:
        _expected_cache[exercise.name] = {q.id: q.expected() for q in exercise.questions}
    return _expected_cache[exercise.name]


class _Job:
    """One submission: prepared here, run in a sandbox, judged here."""

    def __init__(self, index, path, exercise_name, options):
        self.index, self.path, self.options = index, Path(path), options
        self.report = Report(str(path), sandboxed=options.sandboxed)
        self.started = time.monotonic()
        self.process = self.workdir = self.box_fd = None
        self.killed_for = ""
        try:
            self._prepare(exercise_name)
        except Exception as exc:  # a grader bug must not stop a batch either; it is reported as such
            self.report.error = f"grader error: {type(exc).__name__}: {exc}"
            self.close()

    def _prepare(self, exercise_name):
        import nbformat

        from .harvest import encode
        from .questions import get_exercise

        try:
            data = read_regular_file(str(self.path.absolute()), MAX_NOTEBOOK_BYTES)
            if data is None:
                raise Unreadable("it does not exist")
            nb = nbformat.reads(data.decode("utf-8"), as_version=4, capture_validation_error={})
        except Exception as exc:  # Unreadable, not UTF-8, not JSON, not a notebook
            self.report.error = f"not a readable notebook: {type(exc).__name__}: {str(exc)[:200]}"
            return
        name, problem = identify_exercise(nb, self.path, exercise_name)
        if name is None:
            self.report.error = problem
            return
        if problem:
            self.report.notes.append(problem)
        self.exercise = get_exercise(name)
        self.report.exercise = name
        hidden = self.options.hidden.get(name, {})
        questions = []
        for q in self.exercise.questions:
            questions.append({"key": q.id, "function": q.function,
                              "cases": [[encode(c.args), encode(c.kwargs)] for c in q.cases]})
            if q.id in hidden:
                questions.append({"key": f"{q.id}-hidden", "function": q.function,
                                  "cases": [[encode(c.args), encode(c.kwargs)] for c in hidden[q.id][0]]})
        # The notebook's check("q1") cells are feedback for the learner; the grader judges by itself.
        cells = [[number, cell.get("source", "")] for number, cell in enumerate(nb.get("cells", []), start=1)
                 if cell.get("cell_type") == "code" and isinstance(cell.get("source"), str)
                 and cell.get("source", "").strip() and not _CHECK_CELL.match(cell.get("source", ""))]
        task = {"cells": cells, "questions": questions, "cell_timeout": self.options.cell_timeout,
                "total_timeout": self.options.total_timeout, "call_timeout": self.options.call_timeout}
        self.workdir = Path(tempfile.mkdtemp(prefix="lrcourse-grade-"))
        box = self.workdir / "box"
        box.mkdir()
        (box / "task.json").write_text(json.dumps(task), encoding="utf-8")
        (box / self.path.name).write_bytes(data)  # its own copy, the only notebook it can change
        # Opened before the sandbox starts: whatever happens to the name, the grader reads this folder.
        self.box_fd = os.open(box, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        self.log = open(self.workdir / "runner.log", "wb")
        argv = [sys.executable, "-m", "lrcourse.grading.runner", sandbox.BOX if self.options.sandboxed else str(box)]
        self.process = sandbox.start(box, argv, sandboxed=self.options.sandboxed, limits=self.options.limits,
                                     stdout=self.log)
        self.deadline = time.monotonic() + self.options.total_timeout + KILL_GRACE
        self.next_disk_check = time.monotonic() + DISK_CHECK_INTERVAL

    def poll(self, now):
        """True when this job is over (its process ended, or was killed for running too long)."""
        if self.process is None:
            return True
        if self.process.poll() is not None:
            return True
        if now > self.deadline:
            self.kill(f"it ran past {self.options.total_timeout:g} s + {KILL_GRACE} s and was stopped")
            return True
        if now > self.next_disk_check:
            limits = self.options.limits
            used = sandbox.disk_use(self.workdir / "box", limits.box_entries)
            if used is None or used > limits.box_bytes:
                self.kill(f"it wrote more than {limits.box_entries} files" if used is None else
                          f"it wrote more than {limits.box_bytes >> 20} MB to its folder")
                return True
            self.next_disk_check = now + DISK_CHECK_INTERVAL
        return False

    def kill(self, why):
        self.killed_for = why
        sandbox.kill(self.process)

    def finish(self):
        """Judge what the sandbox left (the sandbox is gone: nothing can change the files any more)."""
        try:
            if self.process is not None:
                sandbox.kill(self.process)  # its session too, when it ran without a sandbox
                self._judge()
        except Exception as exc:
            self.report.error = f"grader error: {type(exc).__name__}: {exc}"
        finally:
            self.close()
        self.report.seconds = time.monotonic() - self.started
        return self.report

    def _judge(self):
        code = self.process.returncode
        try:
            result = json.loads(read_regular_file("result.json", MAX_RESULT_BYTES, self.box_fd) or b"null")
        except (Unreadable, ValueError, RecursionError):
            result = None
        stopped = ""
        if self.killed_for:
            stopped = self.killed_for
        elif code != 0 or not isinstance(result, dict):
            if self.options.sandboxed and code > 128:
                code = 128 - code  # bwrap exits with 128 + the signal that killed the runner
            stopped = (f"the grading run was killed by signal {-code}" if code < 0 else
                       f"the grading run stopped with exit code {code}" if code else
                       "the grading run left no readable result")
            tail = self._log_tail()
            if tail:
                stopped += f" ({tail})"
        if stopped:
            self.report.error = f"grader error: {stopped}"
        result = result if isinstance(result, dict) else {}
        time_limit = float(min(self.options.call_timeout, max(1, self.options.cell_timeout - 2)))
        hidden = self.options.hidden.get(self.exercise.name, {})
        expected = _expected(self.exercise)
        skipped = bool(result.get("skipped"))
        for question in self.exercise.questions:
            reason, passed = self._verdict(question, question.id, expected[question.id], result, time_limit,
                                           stopped, skipped)
            hidden_reason, hidden_passed = "", None
            if question.id in hidden:
                cases, hidden_expected = hidden[question.id]
                hidden_reason, hidden_passed = self._verdict(
                    dataclasses.replace(question, cases=cases), f"{question.id}-hidden", hidden_expected, result,
                    time_limit, stopped, skipped)
            points = question.points if passed and hidden_passed is not False else 0
            self.report.questions.append(QuestionResult(question.id, question.function, question.title, points,
                                                        question.points, reason, hidden_reason, hidden_passed))
        notes = result.get("notes", [])
        self.report.notes += [str(n)[:300] for n in notes[:50]] if isinstance(notes, list) else []
        truncated = result.get("truncated", [])
        self.report.notes += [f"{str(label)[:20]} printed more than {runner.MAX_OUTPUT_CHARS} characters; the rest was dropped"
                              for label in (truncated[:50] if isinstance(truncated, list) else [])]
        if result.get("stopped") and not stopped:
            self.report.notes.append(f"grading stopped early: {str(result['stopped'])[:300]}")

    def _verdict(self, question, key, expected, result, time_limit, stopped, skipped):
        try:
            outcomes = _answers(self.box_fd, key, result, time_limit, stopped)
            if isinstance(outcomes, str):
                return f"not graded: {outcomes}", False
            verdict = checks.judge(question, outcomes, expected)
            reason = verdict.reason
            if outcomes and outcomes[0].kind == "missing" and skipped:
                reason += " (some cells were not run: the notebook used up its time)"
            return reason, verdict.passed
        except Exception as exc:  # an answer that breaks the judging costs its question only
            return f"not graded: the answers could not be judged ({type(exc).__name__})", False

    def _log_tail(self):
        try:
            self.log.flush()
            data = read_regular_file(str(self.workdir / "runner.log"), 1 << 30) or b""
        except Unreadable:
            return ""
        lines = data[-2000:].decode("utf-8", errors="replace").strip().splitlines()
        return lines[-1][:200] if lines else ""

    def close(self):
        if self.box_fd is not None:
            os.close(self.box_fd)
            self.box_fd = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def grade_notebook(path, *, exercise=None, **options):
    """Grade one notebook (see :func:`grade_paths` for the options); never raises for a bad notebook."""
    return grade_paths([path], exercise=exercise, **options)[0]


def grade_paths(paths, *, jobs=1, on_report=None, exercise=None, cell_timeout=CELL_TIMEOUT,
                total_timeout=TOTAL_TIMEOUT, call_timeout=CALL_TIMEOUT, sandboxed=None, hidden=None, limits=None):
    """Grade many notebooks, ``jobs`` sandboxes at a time; reports in input order.

    ``sandboxed`` None means: in a sandbox when one can be made here (:func:`sandbox.probe`). ``hidden``
    holds hidden cases as :func:`lrcourse.grading.hidden.load_hidden_cases` returns them.

    ``on_report(report)`` is called for each report as soon as it and all before it are done. This process
    only starts sandboxes, waits for them (killing those that run too long) and judges: nothing a
    submission does can stop it.
    """
    if sandboxed is None:
        sandboxed = sandbox.probe() is None
    options = Options(cell_timeout, total_timeout, call_timeout, sandboxed, limits, hidden or {})
    paths = [Path(p) for p in paths]
    reports = [None] * len(paths)
    shown = 0
    pending = list(enumerate(paths))
    running = []
    try:
        while pending or running:
            while pending and len(running) < max(1, jobs):
                index, path = pending.pop(0)
                running.append(_Job(index, path, exercise, options))
            now = time.monotonic()
            over = [job for job in running if job.poll(now)]
            for job in over:
                running.remove(job)
                reports[job.index] = job.finish()
            while shown < len(reports) and reports[shown] is not None:
                if on_report is not None:
                    on_report(reports[shown])
                shown += 1
            if running and not over:
                time.sleep(0.05)
    finally:  # interrupted (Ctrl-C): no sandbox and no folder of this batch is left behind
        for job in running:
            if job.process is not None:
                sandbox.kill(job.process)
            job.close()
    return reports


# --- reporting ---------------------------------------------------------------------------------------

def format_report(report):
    lines = [f"{report.path}" + (f"  [{report.exercise}]" if report.exercise else "")]
    if report.error:
        lines.append(f"  ERROR: {report.error}")
    width = max((len(q.function) for q in report.questions), default=0)
    for q in report.questions:
        lines.append(f"  {q.id:<3} {q.function:<{width}}  {q.points}/{q.max_points}  {q.reason}")
        if q.hidden_passed is not None:
            lines.append(f"  {'':<3} {'':<{width}}       hidden cases: {q.hidden_reason}")
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
    writer.writerow(["path", "exercise", "score", "max_score", *columns, "hidden_failed", "error", "seconds"])
    for r in reports:
        points = {q.id: q.points for q in r.questions}
        hidden_failed = " ".join(q.id for q in r.questions if q.hidden_passed is False)
        writer.writerow([r.path, r.exercise, r.score, r.max_score, *(points.get(c, "") for c in columns),
                         hidden_failed, r.error, f"{r.seconds:.1f}"])


def totals(reports):
    return {"notebooks": len(reports), "full_marks": sum(r.full_marks for r in reports),
            "score": sum(r.score for r in reports), "max_score": sum(r.max_score for r in reports)}


def write_atomically(path, text):
    """Write ``text`` to ``path`` in one step: a reader sees the old file or the whole new one."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


SANDBOX_WARNING = ("WARNING: grading without a sandbox ({why}). A submission can read the reference answers, "
                   "change other submissions' grades and outlive the grader: fine for checking your own work, not "
                   "for grading others'. Use --sandbox required to refuse to grade without one.")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lrcourse.grade",
        description="Grade lrcourse exercise notebooks: run each in a sandboxed kernel and judge its answers.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="notebooks, or folders searched for *.ipynb (not in solutions/)")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON instead of the table")
    parser.add_argument("--json-file", metavar="FILE", help="also write the reports as JSON to FILE")
    parser.add_argument("--csv", metavar="FILE", help="also write one row per notebook to FILE")
    parser.add_argument("--timeout", type=_positive(float), default=CELL_TIMEOUT, metavar="SECONDS",
                        help=f"time limit per cell (default {CELL_TIMEOUT})")
    parser.add_argument("--total-timeout", type=_positive(float), default=TOTAL_TIMEOUT, metavar="SECONDS",
                        help=f"time limit per notebook, enforced from outside (default {TOTAL_TIMEOUT})")
    parser.add_argument("--jobs", type=_positive(int), default=1, metavar="N",
                        help="grade N notebooks at a time, each in its own sandbox (default 1)")
    parser.add_argument("--exercise", metavar="NAME", help="grade every notebook as this exercise (e.g. 05)")
    parser.add_argument("--tests", metavar="DIR", help="hidden cases: a folder of *.json files (see "
                        "lrcourse/grading/hidden.py)")
    parser.add_argument("--sandbox", choices=("auto", "required", "off"), default="auto",
                        help="auto: sandbox when possible, else warn; required: refuse without one; off: none")
    args = parser.parse_args(argv)

    from .hidden import HiddenCasesError, load_hidden_cases
    from .questions import get_exercise

    try:
        import nbclient  # noqa: F401 (the runner's; checked here to fail before any notebook)
        import nbformat  # noqa: F401
    except ImportError as exc:
        parser.error(f"the grader needs nbclient and nbformat ({exc}): pip install 'lrcourse[grade]'")

    try:
        notebooks = find_notebooks(args.paths)
        exercise = get_exercise(args.exercise).name if args.exercise else None
        hidden = load_hidden_cases(args.tests, get_exercise) if args.tests else {}
    except (FileNotFoundError, KeyError, HiddenCasesError) as exc:
        parser.error(str(exc.args[0]) if exc.args else str(exc))
    if not notebooks:
        parser.error("no notebooks found in " + ", ".join(args.paths))
    why = sandbox.probe() if args.sandbox != "off" else "--sandbox off"
    if why and args.sandbox == "required":
        print(f"python -m lrcourse.grade: no sandbox can be made here: {why}; not grading (--sandbox required)",
              file=sys.stderr)
        return 2
    if why:
        print(SANDBOX_WARNING.format(why=why), file=sys.stderr)

    to_stdout = args.json

    def show(report):
        if not to_stdout:
            print(format_report(report), flush=True)

    reports = grade_paths(notebooks, jobs=args.jobs, on_report=show, exercise=exercise, cell_timeout=args.timeout,
                          total_timeout=args.total_timeout, sandboxed=not why, hidden=hidden)
    total = totals(reports)
    payload = {"submissions": [r.as_dict() for r in reports], "total": total, "sandboxed": not why}
    if to_stdout:
        json.dump(payload, sys.stdout, indent=1)
        print()
    else:
        print(f"Total: {total['notebooks']} notebook{'s' * (total['notebooks'] != 1)}, {total['full_marks']} "
              f"with full marks, {total['score']}/{total['max_score']} points.", flush=True)
    if args.json_file:
        write_atomically(args.json_file, json.dumps(payload, indent=1) + "\n")
    if args.csv:
        buffer = io.StringIO()
        write_csv(reports, buffer)
        write_atomically(args.csv, buffer.getvalue())
    return 0 if total["full_marks"] == len(reports) else 1


if __name__ == "__main__":
    sys.exit(main())
