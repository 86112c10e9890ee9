"""``python -m lrcourse.grade``: the grader's command, kept under its short name (see
:mod:`lrcourse.grading.grader`)."""

import sys

from .grading.grader import main

if __name__ == "__main__":
    sys.exit(main())
