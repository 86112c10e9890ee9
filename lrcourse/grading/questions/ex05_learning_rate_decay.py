"""Exercise 05 · Learning-rate decay: step, exponential and cosine schedules, and warm-up.

Each schedule is a function of the number of updates done so far, ``step`` (0 on the first update), as in
:mod:`lrcourse.schedules`. The formulas are those of PyTorch and Keras:

* step decay (PyTorch ``StepLR``): ``initial_lr * gamma ** (step // step_size)``
* exponential decay (Keras ``ExponentialDecay``): ``initial_lr * decay_rate ** (step / decay_steps)``,
  with ``step // decay_steps`` when ``staircase``
* cosine annealing (PyTorch ``CosineAnnealingLR``, for ``0 <= step <= total_steps``):
  ``min_lr + (initial_lr - min_lr) * (1 + cos(pi * step / total_steps)) / 2``
* linear warm-up then cosine decay to 0 (Hugging Face ``get_cosine_schedule_with_warmup``)

>>> _step_decay(25, 0.1, 10, 0.5)
0.025
"""

import math

from ..checks import Case, Exercise, Question


def _step_decay(step, initial_lr, step_size, gamma=0.1):
    return initial_lr * gamma ** (step // step_size)


def _exponential_decay(step, initial_lr, decay_steps, decay_rate, staircase=False):
    exponent = step // decay_steps if staircase else step / decay_steps
    return initial_lr * decay_rate ** exponent


def _cosine_annealing(step, initial_lr, total_steps, min_lr=0.0):
    return min_lr + (initial_lr - min_lr) * (1 + math.cos(math.pi * step / total_steps)) / 2


def _warmup_cosine(step, max_lr, warmup_steps, total_steps):
    if step < warmup_steps:
        return max_lr * step / max(1, warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return max_lr * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def _decay_rate_for(initial_lr, final_lr, steps):
    return (final_lr / initial_lr) ** (1.0 / steps)


EXERCISE = Exercise("05_learning_rate_decay", "Learning-rate decay", (
    Question("q1", "step_decay", ("step", "initial_lr", "step_size", "gamma"), _step_decay,
             title="Step decay", cases=(
        Case((0, 0.1, 10, 0.5)),
        Case((9, 0.1, 10, 0.5)),
        Case((10, 0.1, 10, 0.5)),
        Case((25, 0.1, 10, 0.5)),
        Case((100, 1.0, 30, 0.1)),
    ), hint="count the completed periods with integer division, step // step_size, and multiply by gamma "
            "that many times."),
    Question("q2", "exponential_decay", ("step", "initial_lr", "decay_steps", "decay_rate", "staircase"),
             _exponential_decay, title="Exponential decay", cases=(
        Case((0, 0.1, 100, 0.5)),
        Case((50, 0.1, 100, 0.5)),
        Case((250, 0.1, 100, 0.5)),
        Case((250, 0.1, 100, 0.5, True)),
        Case((99, 0.01, 100, 0.96, True)),
    ), hint="decay_rate ** (step / decay_steps); with staircase the exponent is the whole number "
            "step // decay_steps."),
    Question("q3", "cosine_annealing", ("step", "initial_lr", "total_steps", "min_lr"), _cosine_annealing,
             title="Cosine annealing", cases=(
        Case((0, 0.1, 100)),
        Case((50, 0.1, 100)),
        Case((25, 0.1, 100, 0.01)),
        Case((100, 0.1, 100, 0.01)),
        Case((7, 0.5, 9, 0.0)),
    ), hint="half a cosine period from initial_lr (step 0) down to min_lr (step total_steps): "
            "min_lr + (initial_lr - min_lr) * (1 + cos(pi * step / total_steps)) / 2."),
    Question("q4", "warmup_cosine", ("step", "max_lr", "warmup_steps", "total_steps"), _warmup_cosine,
             title="Warm-up, then cosine", cases=(
        Case((0, 0.1, 10, 110)),
        Case((5, 0.1, 10, 110)),
        Case((10, 0.1, 10, 110)),
        Case((60, 0.1, 10, 110)),
        Case((110, 0.1, 10, 110)),
        Case((3, 0.4, 0, 20)),
    ), hint="below warmup_steps: max_lr * step / warmup_steps; after it, a cosine from max_lr to 0 over the "
            "remaining total_steps - warmup_steps steps."),
    Question("q5", "decay_rate_for", ("initial_lr", "final_lr", "steps"), _decay_rate_for,
             title="Choosing the decay rate", cases=(
        Case((1.0, 0.5, 1)),
        Case((0.1, 0.001, 100)),
        Case((0.05, 0.0005, 1000)),
    ), hint="solve initial_lr * gamma ** steps == final_lr for gamma."),
))
