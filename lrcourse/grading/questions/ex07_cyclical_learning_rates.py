"""Exercise 07 · Cyclical learning rates: triangular, triangular2, exp_range and the one-cycle policy.

Formulas of PyTorch ``CyclicLR`` (Smith 2017) and ``OneCycleLR`` (Smith & Topin 2018, cosine annealing,
two phases), as functions of the update count ``step`` (0 on the first update):

* ``cycle = floor(1 + step / (2 * step_size))``, ``x = |step / step_size - 2 * cycle + 1|``,
  ``lr = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale``, with ``scale`` 1 (triangular),
  ``1 / 2 ** (cycle - 1)`` (triangular2) or ``gamma ** step`` (exp_range)
* one-cycle: from ``max_lr / div_factor`` up to ``max_lr`` until step ``pct_start * total_steps - 1``,
  then down to ``max_lr / div_factor / final_div_factor`` at step ``total_steps - 1``, each phase along
  ``end + (start - end) * (1 + cos(pi * pct)) / 2``; momentum moves the opposite way

>>> [_triangular(s, 0.1, 1.0, 2) for s in range(5)]
[0.1, 0.55, 1.0, 0.55, 0.1]
"""

import math

from ..checks import Case, Exercise, Question


def _cyclic(step, base_lr, max_lr, step_size, scale_fn):
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x) * scale_fn(cycle)


def _triangular(step, base_lr, max_lr, step_size):
    return _cyclic(step, base_lr, max_lr, step_size, lambda cycle: 1.0)


def _triangular2(step, base_lr, max_lr, step_size):
    return _cyclic(step, base_lr, max_lr, step_size, lambda cycle: 1 / 2.0 ** (cycle - 1))


def _exp_range(step, base_lr, max_lr, step_size, gamma):
    return _cyclic(step, base_lr, max_lr, step_size, lambda cycle: gamma ** step)


def _cos_anneal(start, end, pct):
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _one_cycle_phase(step, total_steps, pct_start):
    """(phase, pct): which of the two phases ``step`` is in and how far along it."""
    peak = float(pct_start * total_steps) - 1
    if step <= peak:
        return 0, step / peak
    return 1, (step - peak) / (total_steps - 1 - peak)


def _one_cycle(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    phase, pct = _one_cycle_phase(step, total_steps, pct_start)
    return _cos_anneal(initial_lr, max_lr, pct) if phase == 0 else _cos_anneal(max_lr, min_lr, pct)


def _one_cycle_momentum(step, total_steps, pct_start=0.3, base_momentum=0.85, max_momentum=0.95):
    phase, pct = _one_cycle_phase(step, total_steps, pct_start)
    if phase == 0:
        return _cos_anneal(max_momentum, base_momentum, pct)
    return _cos_anneal(base_momentum, max_momentum, pct)


EXERCISE = Exercise("07_cyclical_learning_rates", "Cyclical learning rates", (
    Question("q1", "triangular", ("step", "base_lr", "max_lr", "step_size"), _triangular,
             title="The triangular cycle", cases=(
        Case((0, 0.001, 0.006, 2000)),
        Case((1000, 0.001, 0.006, 2000)),
        Case((2000, 0.001, 0.006, 2000)),
        Case((3000, 0.001, 0.006, 2000)),
        Case((4000, 0.001, 0.006, 2000)),
        Case((9500, 0.001, 0.006, 2000)),
    ), hint="up from base_lr to max_lr in step_size steps, back down in step_size steps, and again; the "
            "formula with cycle and x in the markdown above does it in three lines."),
    Question("q2", "triangular2", ("step", "base_lr", "max_lr", "step_size"), _triangular2,
             title="triangular2: halve the amplitude every cycle", cases=(
        Case((1000, 0.001, 0.006, 2000)),
        Case((6000, 0.001, 0.006, 2000)),
        Case((10000, 0.001, 0.006, 2000)),
        Case((13000, 0.001, 0.006, 2000)),
    ), hint="the triangular wave times 1 / 2 ** (cycle - 1), with cycle counted from 1."),
    Question("q3", "exp_range", ("step", "base_lr", "max_lr", "step_size", "gamma"), _exp_range,
             title="exp_range: shrink the amplitude every step", cases=(
        Case((0, 0.001, 0.006, 2000, 0.9999)),
        Case((2000, 0.001, 0.006, 2000, 0.9999)),
        Case((7000, 0.001, 0.006, 2000, 0.9999)),
    ), hint="the triangular wave times gamma ** step (the step, not the cycle)."),
    Question("q4", "one_cycle", ("step", "max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor"),
             _one_cycle, title="The one-cycle learning rate", points=2, cases=(
        Case((0, 0.1, 100)),
        Case((14, 0.1, 100)),
        Case((29, 0.1, 100)),
        Case((30, 0.1, 100)),
        Case((64, 0.1, 100)),
        Case((99, 0.1, 100)),
        Case((10, 1.0, 40, 0.25, 10.0, 100.0)),
    ), hint="phase 1 ends at step pct_start * total_steps - 1, phase 2 at total_steps - 1; in each phase "
            "pct = (step - phase start) / (phase end - phase start) goes from 0 to 1 and "
            "lr = end + (start - end) * (1 + cos(pi * pct)) / 2."),
    Question("q5", "one_cycle_momentum", ("step", "total_steps", "pct_start", "base_momentum", "max_momentum"),
             _one_cycle_momentum, title="The one-cycle momentum", cases=(
        Case((0, 100)),
        Case((29, 100)),
        Case((64, 100)),
        Case((99, 100)),
        Case((10, 40, 0.25, 0.8, 0.9)),
    ), hint="the same two phases as q4, but from max_momentum down to base_momentum and back up."),
))
