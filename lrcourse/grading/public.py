"""The public cases of every question, with their expected values, as data: ``public_cases.json``.

The in-notebook ``check("q1")`` gives feedback from this file alone, so a kernel never needs the
references (:mod:`lrcourse.grading.questions`), which the grader's sandbox hides. ``make exercises``
writes the file from the references; ``tools/build_exercises.py --check`` fails when it is out of date.
Values are stored as :func:`lrcourse.grading.harvest.encode` writes them (floats exactly, arrays as
``.npy`` bytes), and read back without pickle.

>>> exercise = public_exercise("05")
>>> q1 = exercise.question("q1")
>>> q1.reference is None, len(q1.expected()) == len(q1.cases)
(True, True)
"""

import functools
import json
from pathlib import Path

from .checks import Case, Exercise, Question
from .harvest import decode, encode

__all__ = ["PUBLIC_CASES", "public_data", "public_exercise"]

PUBLIC_CASES = Path(__file__).with_name("public_cases.json")


def public_data(exercises):
    """The JSON-ready public data of ``exercises`` (a dict name -> Exercise), expected values included."""
    data = {}
    for name, exercise in exercises.items():
        questions = []
        for q in exercise.questions:
            questions.append({
                "id": q.id, "function": q.function, "params": list(q.params), "title": q.title,
                "points": q.points, "rtol": q.rtol, "atol": q.atol, "hint": q.hint,
                "cases": [[encode(c.args), encode(c.kwargs)] for c in q.cases],
                "expected": [encode(value) for value in q.expected()]})
        data[name] = {"title": exercise.title, "questions": questions}
    return data


@functools.lru_cache(maxsize=None)
def _load():
    return json.loads(PUBLIC_CASES.read_text(encoding="utf-8"))


def public_exercise(name):
    """The exercise ``name`` (full name or number, ``"05"``) with its public cases and expected values."""
    data = _load()
    full_name = name if name in data else next(
        (n for n in data if str(name).isdigit() and int(name) == int(n[:2])), None)
    if full_name is None:
        raise KeyError(f"unknown exercise {name!r}; expected one of {', '.join(data)}")
    questions = tuple(
        Question(q["id"], q["function"], tuple(q["params"]), None,
                 cases=tuple(Case(decode(args), decode(kwargs)) for args, kwargs in q["cases"]),
                 title=q["title"], points=q["points"], rtol=q["rtol"], atol=q["atol"], hint=q["hint"],
                 expected_values=tuple(decode(v) for v in q["expected"]))
        for q in data[full_name]["questions"])
    return Exercise(full_name, data[full_name]["title"], questions)
