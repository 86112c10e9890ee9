"""Course tooling: the exercises' checks and the grader (not part of the engine homework imports).

* :func:`checks_for` gives an exercise notebook its ``check("q1")`` (public cases, no extra dependency);
* :mod:`lrcourse.grading.grader` grades submissions (``python -m lrcourse.grade``, needs
  ``pip install lrcourse[grade]``), each in a sandbox (:mod:`lrcourse.grading.sandbox`) running
  :mod:`lrcourse.grading.runner`;
* :mod:`lrcourse.grading.questions` defines the questions and their references; the grader uses them,
  a sandboxed kernel cannot see them.
"""

from .checks import checks_for

__all__ = ["checks_for"]
