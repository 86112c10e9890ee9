"""Hidden cases: inputs an instructor adds to the grading, kept outside the course (``--tests DIR``).

Every ``*.json`` file in ``DIR`` adds cases to the questions of one exercise::

    {"exercise": "05_learning_rate_decay",
     "questions": {
        "q1": [{"args": [25, 0.1, 10, 0.5]},
               {"args": [7], "kwargs": {"initial_lr": 1.0, "step_size": 3, "gamma": 0.1}}],
        "q3": [{"args": [{"array": [0, 10, 20]}, 0.1, 20]}]}}

``exercise`` is a full name or a number (``"05"``); a case holds ``args`` (a list) and optionally
``kwargs`` (an object). Values are JSON: numbers, strings, ``true``/``false``/``null`` and lists as
they are; ``{"array": [...]}`` is a numpy array (``"dtype"`` optional, default float) and
``{"tuple": [...]}`` a tuple. Expected values come from the question's reference, computed by the
grader; a case the reference rejects is an error in the file, reported before anything is graded.

The grader calls the learner's function on hidden cases after the public ones, in the sandbox, and
reports them separately (``hidden: ...``); a question earns its points only when both pass.

>>> decode_value({"array": [[1, 2], [3, 4]]}).shape, decode_value({"tuple": [1, "a"]})
((2, 2), (1, 'a'))
"""

import json
from pathlib import Path

import numpy as np

from .checks import Case

__all__ = ["load_hidden_cases", "decode_value", "HiddenCasesError"]


class HiddenCasesError(ValueError):
    """A hidden-cases file that cannot be used (named in the message)."""


def decode_value(value):
    """The Python value a JSON value of a hidden case stands for."""
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if isinstance(value, dict):
        if set(value) <= {"array", "dtype"} and "array" in value:
            return np.array(value["array"], dtype=value.get("dtype", "float64"))
        if set(value) == {"tuple"} and isinstance(value["tuple"], list):
            return tuple(decode_value(v) for v in value["tuple"])
        raise ValueError(f"an object must be {{\"array\": [...]}} or {{\"tuple\": [...]}}, got keys {sorted(value)}")
    return value


def _case(data, where):
    if not isinstance(data, dict) or not isinstance(data.get("args", []), list) or set(data) - {"args", "kwargs"}:
        raise HiddenCasesError(f"{where}: a case must be {{\"args\": [...], \"kwargs\": {{...}}}}, got {str(data)[:80]}")
    kwargs = data.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise HiddenCasesError(f"{where}: kwargs must be an object, got {str(kwargs)[:80]}")
    try:
        return Case(tuple(decode_value(v) for v in data.get("args", [])),
                    {k: decode_value(v) for k, v in kwargs.items()})
    except ValueError as exc:
        raise HiddenCasesError(f"{where}: {exc}") from None


def load_hidden_cases(folder, get_exercise):
    """``{exercise name: {question id: (cases, expected values)}}`` from the ``*.json`` files in ``folder``.

    ``get_exercise(name)`` gives the exercise with its references (from the question definitions).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise HiddenCasesError(f"--tests {folder}: not a folder")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise HiddenCasesError(f"--tests {folder}: no *.json files in it")
    hidden = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            exercise = get_exercise(str(data["exercise"]))
            questions = data["questions"]
            if not isinstance(questions, dict):
                raise TypeError("questions must be an object")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HiddenCasesError(f"{path}: {type(exc).__name__}: {exc}") from None
        for question_id, cases in questions.items():
            try:
                question = exercise.question(question_id)
            except KeyError as exc:
                raise HiddenCasesError(f"{path}: {exc.args[0]}") from None
            if not isinstance(cases, list) or not cases:
                raise HiddenCasesError(f"{path} {question_id}: a non-empty list of cases is needed")
            cases = tuple(_case(c, f"{path} {question_id} case {i}") for i, c in enumerate(cases))
            try:
                expected = [question.reference(*c.args, **c.kwargs) for c in cases]
            except Exception as exc:
                raise HiddenCasesError(f"{path} {question_id}: the reference rejects a case "
                                       f"({type(exc).__name__}: {exc})") from None
            known_cases, known_expected = hidden.setdefault(exercise.name, {}).get(question_id, ((), []))
            hidden[exercise.name][question_id] = (known_cases + cases, known_expected + expected)
    return hidden
