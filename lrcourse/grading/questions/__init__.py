"""The question definitions: one module per exercise notebook in ``exercises/``.

Each module defines ``EXERCISE``, an :class:`lrcourse.grading.checks.Exercise` whose questions name the
function a learner writes, the public inputs it is tried on and a reference for the expected result.
The grader computes expected values here, outside the sandbox, which hides this folder from the kernel;
the notebooks' ``check("q1")`` reads the public cases from ``public_cases.json`` instead (see
:mod:`lrcourse.grading.public`).

>>> [e.name for e in EXERCISES.values()][:2]
['01_the_ml_loop', '02_backpropagation']
>>> get_exercise("05").name
'05_learning_rate_decay'
"""

from . import (ex01_the_ml_loop, ex02_backpropagation, ex03_gradient_descent_and_optimizers,
               ex04_fixed_learning_rate, ex05_learning_rate_decay, ex06_lr_range_test,
               ex07_cyclical_learning_rates, ex08_putting_it_together)

__all__ = ["EXERCISES", "get_exercise"]

EXERCISES = {module.EXERCISE.name: module.EXERCISE for module in (
    ex01_the_ml_loop, ex02_backpropagation, ex03_gradient_descent_and_optimizers, ex04_fixed_learning_rate,
    ex05_learning_rate_decay, ex06_lr_range_test, ex07_cyclical_learning_rates, ex08_putting_it_together)}


def get_exercise(name):
    """The exercise called ``name``: its full name (``"05_learning_rate_decay"``) or its number (``"05"``)."""
    if name in EXERCISES:
        return EXERCISES[name]
    for full_name, exercise in EXERCISES.items():
        if str(name).isdigit() and int(name) == int(full_name[:2]):
            return exercise
    raise KeyError(f"unknown exercise {name!r}; expected one of {', '.join(EXERCISES)}")
