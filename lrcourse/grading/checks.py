"""Checking exercise answers: the ``check("q1")`` of the exercise notebooks, and the judging the grader uses.

A :class:`Question` names the function a learner writes, the inputs it is tried on (:class:`Case`) and a
reference that gives the expected result. :func:`judge` turns what the learner's function did on each
case (an :class:`Outcome`) into a :class:`Verdict` that says which input was tried, what was expected
and what came back. The in-notebook check and ``python -m lrcourse.grade`` share this judging; the
grader runs the learner's function in the notebook's kernel but judges in its own process.

>>> q = Question("q1", "double", ("x",), lambda x: 2 * x, cases=(Case((3,)), Case((0.5,))),
...              title="Double a number")
>>> print(run_question(q, lambda x: 2 * x).message)
✓ q1 double: all 2 cases correct.
>>> print(run_question(q, lambda x: x + x if x > 1 else x).message)
✗ q1 double: double(x=0.5) returned 0.5, expected 1.
"""

import contextlib
import copy
import dataclasses
import numbers
import signal
import sys
import threading
from typing import Any, Callable

import numpy as np

# harvest.py is self-contained (the grader runs its source in the kernel); its wording of an error is
# the one feedback and grading share.
from .harvest import _error_text

__all__ = ["Case", "Question", "Exercise", "Outcome", "Verdict", "checks_for", "judge", "run_question",
           "compare", "describe", "call_outcome"]


@dataclasses.dataclass(frozen=True)
class Case:
    """One input a question tries: positional ``args`` and keyword ``kwargs`` (plain data only:
    numbers, strings, None, numpy arrays, and tuples/lists/dicts of these)."""

    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Question:
    """A graded question: the learner defines ``function(*params)``; it must match ``reference``.

    A question read from the public data has no ``reference`` but the ``expected_values`` of its cases.
    """

    id: str
    function: str
    params: tuple
    reference: Callable
    cases: tuple
    title: str = ""
    points: int = 1
    rtol: float = 1e-6
    atol: float = 1e-9
    hint: str = ""
    expected_values: tuple = None

    def expected(self):
        """The reference's result for every case (computed on copies, so cases stay untouched)."""
        if self.reference is None:
            return list(self.expected_values)
        return [self.reference(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs)) for c in self.cases]


@dataclasses.dataclass(frozen=True)
class Exercise:
    """The questions of one exercise notebook, e.g. ``05_learning_rate_decay``."""

    name: str
    title: str
    questions: tuple

    def question(self, question_id):
        for q in self.questions:
            if q.id == question_id:
                return q
        known = ", ".join(q.id for q in self.questions)
        raise KeyError(f"exercise {self.name} has no question {question_id!r} (it has {known})")

    @property
    def max_score(self):
        return sum(q.points for q in self.questions)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a learner's function did on one case.

    ``kind`` is ``"value"`` (it returned ``value``), ``"error"`` (it raised; ``error`` is
    ``"Type: message"``), ``"timeout"`` (it ran longer than ``seconds``), ``"crash"`` (the call took the
    kernel down or hung it; ``error`` says how), ``"missing"`` (no function of that name) or
    ``"not_callable"`` (the name holds something else; ``error`` says what).
    """

    kind: str
    value: Any = None
    error: str = ""
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The judgement on one question: ``passed``, ``reason`` (plain sentence) and the points earned."""

    question: Question
    passed: bool
    reason: str

    @property
    def points(self):
        return self.question.points if self.passed else 0

    @property
    def message(self):
        mark = "✓" if self.passed else "✗"
        return f"{mark} {self.question.id} {self.question.function}: {self.reason}"


# --- describing and comparing values -----------------------------------------------------------------

_MAX_SHOWN = 12  # arrays with more elements are described by shape, not listed


def _is_number(value):
    return isinstance(value, (numbers.Number, np.number)) and not isinstance(value, (bool, np.bool_))


def describe(value):
    """A short, exact-enough text for a value in feedback messages.

    >>> describe(0.1 * 3), describe(np.array([1.0, -2.5])), describe((1, None)), describe("exp")
    ('0.3', 'array([1, -2.5])', '(1, None)', "'exp'")
    >>> describe(np.zeros((64, 10)))
    'array of shape (64, 10)'
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (numbers.Integral, np.integer)):
        return str(int(value))
    if isinstance(value, (numbers.Real, np.floating)):
        return f"{float(value):.8g}"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return describe(value.item())
        if value.size > _MAX_SHOWN or value.ndim > 2:
            return f"array of shape {value.shape}"
        if np.issubdtype(value.dtype, np.number) or value.dtype == bool:
            body = np.array2string(value, separator=", ", formatter={"float_kind": lambda v: f"{v:.8g}"})
            return f"array({body})"
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, tuple):
        inner = ", ".join(describe(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        if len(value) > _MAX_SHOWN:
            return f"a list of {len(value)} items"
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    if value is None or isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value):
    """A learner-friendly name for the type of a value."""
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return "a bool"
    if _is_number(value):
        return "a number"
    if isinstance(value, np.ndarray):
        return "a number" if value.ndim == 0 else f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _as_numeric_array(value):
    """``value`` as a float array, or None when it is not numeric data."""
    if isinstance(value, (bool, np.bool_, str)) or value is None:
        return None
    if _is_number(value) or isinstance(value, np.ndarray) or isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return None
        return array
    return None


def compare(expected, got, rtol=1e-6, atol=1e-9):
    """None if ``got`` matches ``expected``, else a short text saying what differs ("" for a plain
    mismatch of two numbers, where the values themselves say it all).

    Numbers and arrays match within ``rtol``/``atol`` (``numpy.allclose``; NaN matches NaN) and must
    have the same shape; integers, bools, strings and None must be equal; tuples and lists match item
    by item.

    >>> compare(0.3, 0.1 * 3), compare(np.ones(3), [1.0, 1.0, 1.0]), compare(2, 2.0)
    (None, None, None)
    >>> compare(np.ones(3), np.ones(2))
    'expected shape (3,), got shape (2,)'
    >>> compare((1.0, 2.0), (1.0, 2.5))
    'item 1: expected 2, got 2.5'
    >>> compare(1.0, "1.0")
    'expected a number, got a str'
    """
    if expected is None:
        return None if got is None else f"expected None, got {_kind(got)}"
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"expected True or False, got {_kind(got)}"
        return None if bool(got) == bool(expected) else ""
    if isinstance(expected, str):
        if not isinstance(got, str):
            return f"expected a string, got {_kind(got)}"
        return None if got == expected else ""
    if isinstance(expected, tuple) or (isinstance(expected, list) and _as_numeric_array(expected) is None):
        if not isinstance(got, (tuple, list)):
            return f"expected {_kind(expected)}, got {_kind(got)}"
        if len(got) != len(expected):
            return f"expected {len(expected)} items, got {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            problem = compare(e, g, rtol, atol)
            if problem is not None:
                return f"item {i}: " + (problem or f"expected {describe(e)}, got {describe(g)}")
        return None
    if isinstance(expected, (numbers.Integral, np.integer)):
        if not _is_number(got) and not (isinstance(got, np.ndarray) and got.ndim == 0):
            return f"expected an integer, got {_kind(got)}"
        return None if float(np.asarray(got)) == int(expected) else ""
    expected_array = _as_numeric_array(expected)
    if expected_array is None:
        return None if got == expected else ""
    got_array = _as_numeric_array(got)
    if got_array is None:
        wanted = "a number" if expected_array.ndim == 0 else "an array"
        return f"expected {wanted}, got {_kind(got)}"
    if got_array.shape != expected_array.shape:
        if expected_array.ndim == 0:
            return f"expected a single number, got {_kind(got)}"
        return f"expected shape {expected_array.shape}, got shape {got_array.shape}"
    close = np.isclose(got_array, expected_array, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    if expected_array.ndim == 0:
        return ""
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    where = index[0] if len(index) == 1 else index
    return (f"{int((~close).sum())} of {close.size} values differ, first at index {where}: expected "
            f"{describe(expected_array[index])}, got {describe(got_array[index])}")


# --- running and judging -----------------------------------------------------------------------------

def call_text(question, case):
    """The call a case makes, as the learner would write it: ``step_decay(step=25, gamma=0.5)``."""
    names = list(question.params) + [f"arg{i}" for i in range(len(question.params), len(case.args))]
    parts = [f"{name}={describe(value)}" for name, value in zip(names, case.args)]
    parts += [f"{name}={describe(value)}" for name, value in case.kwargs.items()]
    return f"{question.function}({', '.join(parts)})"


CALL_TIME_LIMIT = 10  # seconds for one call of the learner's function in check()


class _CallTimeout(BaseException):
    """Raised in the learner's function when it runs too long (not an Exception: ``except Exception``
    in the learner's code must not swallow it)."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Interrupt the block after ``seconds`` (SIGALRM; only in the main thread of a Unix process)."""
    if seconds is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise _CallTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call_outcome(function, case, time_limit=None):
    """Call ``function`` on a copy of ``case`` in this process and record what happened; a call that
    runs longer than ``time_limit`` seconds is stopped.

    >>> def forever():
    ...     while True:
    ...         pass
    >>> call_outcome(forever, Case(()), time_limit=0.2)
    Outcome(kind='timeout', value=None, error='', seconds=0.2)
    """
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    try:
        with _time_limit(time_limit):
            value = function(*args, **kwargs)
    except _CallTimeout:
        return Outcome("timeout", seconds=time_limit)
    except Exception as exc:  # the learner's bug is the feedback, not a crash of the check
        return Outcome("error", error=_error_text(exc))
    return Outcome("value", value=value)


def judge(question, outcomes, expected=None):
    """The :class:`Verdict` on a question from one :class:`Outcome` per case (it stops at the first
    failing case; missing outcomes mean the grading could not reach that case).

    >>> q = Question("q2", "half", ("x",), lambda x: x / 2, cases=(Case((4,)),), title="")
    >>> judge(q, [Outcome("error", error="NotImplementedError: divide x by 2")]).reason
    'not implemented yet (NotImplementedError: divide x by 2)'
    >>> judge(q, [Outcome("missing")]).reason
    'function `half` not defined'
    """
    expected = question.expected() if expected is None else expected
    n = len(question.cases)
    for i, (case, want) in enumerate(zip(question.cases, expected)):
        if i >= len(outcomes):
            return Verdict(question, False, f"{call_text(question, case)} was not run (grading stopped before it)")
        outcome = outcomes[i]
        call = call_text(question, case)
        if outcome.kind == "missing":
            return Verdict(question, False, f"function `{question.function}` not defined")
        if outcome.kind == "not_callable":
            return Verdict(question, False, f"`{question.function}` is {outcome.error}, not a function")
        if outcome.kind == "timeout":
            return Verdict(question, False, f"{call} did not finish within {outcome.seconds:g} s")
        if outcome.kind == "crash":
            return Verdict(question, False, f"{call} {outcome.error}")
        if outcome.kind == "error":
            if outcome.error.startswith("NotImplementedError"):
                return Verdict(question, False, f"not implemented yet ({outcome.error})")
            return Verdict(question, False, f"{call} raised {outcome.error}")
        problem = compare(want, outcome.value, question.rtol, question.atol)
        if problem is not None:
            text = f"{call} returned {describe(outcome.value)}, expected {describe(want)}"
            if problem:
                text += f" ({problem})"
            return Verdict(question, False, text + ".")
    return Verdict(question, True, f"all {n} cases correct." if n > 1 else "correct.")


def run_question(question, function, time_limit=CALL_TIME_LIMIT):
    """Try ``function`` on every case of ``question`` in this process and judge it."""
    expected = question.expected()
    outcomes = []
    for case, want in zip(question.cases, expected):
        outcome = call_outcome(function, case, time_limit)
        outcomes.append(outcome)
        if outcome.kind != "value" or compare(want, outcome.value, question.rtol, question.atol) is not None:
            break
    return judge(question, outcomes, expected)


def _user_namespace():
    """The notebook's global names: IPython's user namespace, or ``__main__`` outside IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        return shell.user_ns
    return vars(sys.modules["__main__"])


def checks_for(exercise_name):
    """The ``check`` function of one exercise notebook.

    ``check("q1")`` finds the learner's function by name among the notebook's globals (or takes it as
    ``check("q1", function)``), tries it on the question's public cases (each call stopped after
    ``CALL_TIME_LIMIT`` seconds) and prints what it found: which input was tried, what was expected and
    what came back, or that everything matched.

    >>> check = checks_for("05")
    >>> check("q1", lambda step, initial_lr, step_size, gamma: initial_lr)  # doctest: +ELLIPSIS
    ✗ q1 step_decay: step_decay(step=...) returned ..., expected ...
    """
    from .public import public_exercise

    exercise = public_exercise(exercise_name)

    def check(question_id, function=None):
        question = exercise.question(question_id)
        if function is None:
            function = _user_namespace().get(question.function)
        if function is None:
            verdict = judge(question, [Outcome("missing")])
            print(verdict.message + " (run the cell that defines it first)")
            return
        if not callable(function):
            verdict = judge(question, [Outcome("not_callable", error=_kind(function))])
        else:
            verdict = run_question(question, function)
        print(verdict.message)
        ran = " returned " in verdict.reason or " raised " in verdict.reason
        if not verdict.passed and ran and question.hint:
            print(f"  Hint: {question.hint}")

    check.exercise = exercise
    check.__doc__ = f"Check an answer of exercise {exercise.name}: check('q1') ... check('{exercise.questions[-1].id}')."
    return check
