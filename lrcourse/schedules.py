"""Learning-rate schedules: the learning rate as a pure function of the update number.

A schedule is a small immutable object. ``schedule(t)`` returns the learning rate for update
number ``t`` (0-based: ``t = 0`` is the first update), so an optimizer created with
``SGD(params, lr=schedule)`` uses ``schedule(0)``, ``schedule(1)``, ... in turn. Pass a numpy
integer array to get every value at once, e.g. to plot 10,000 steps::

    >>> import numpy as np
    >>> StepDecay(0.1, step_size=2)(np.arange(5))
    array([0.1  , 0.1  , 0.01 , 0.01 , 0.001])

Each schedule reproduces, step for step, the PyTorch or Keras schedule named in its
docstring. There is no hidden state, so a schedule can be plotted, compared and composed
freely; ``get_config()`` returns the constructor arguments, and
``type(s)(**s.get_config()) == s``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from .utils import check_choice, check_flag, check_number, check_positive_int

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "MultiStepDecay",
    "PiecewiseConstant",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PolynomialDecay",
    "CosineDecay",
    "CosineRestarts",
    "CyclicLR",
    "CyclicMomentum",
    "OneCycle",
    "OneCycleMomentum",
    "LinearWarmup",
]


# --- field checks: each takes (name, value) and returns the value normalised (float, int, ...) ----


def _positive(name, value):
    return check_number(name, value, low=0, low_inclusive=False)


def _non_negative(name, value):
    return check_number(name, value, low=0)


def _fraction(name, value):
    return check_number(name, value, low=0, high=1)


def _momentum(name, value):
    return check_number(name, value, low=0, high=1, high_inclusive=False)


def _count(minimum):
    return lambda name, value: check_positive_int(name, value, minimum=minimum)


def _one_of(*choices):
    return lambda name, value: check_choice(name, value, choices)


def _optional(check):
    return lambda name, value: None if value is None else check(name, value)


def _increasing_counts(minimum):
    def check(name, values):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"{name} must be a list of integers, got {values!r}")
        values = tuple(check_positive_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(values))
        if any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError(f"{name} {list(values)} must be strictly increasing")
        return values
    return check


def _schedule_of(kind):
    def check(name, value):
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be a {kind.__name__}, got {value!r}")
        return value
    return check


def _callable(name, value):
    if not callable(value):
        raise TypeError(f"{name} must be a function, got {value!r}")
    return value


# --- one formula for one step and for many -----------------------------------------------
# Each formula is written once and runs on one step (a Python int, as an optimizer asks on every
# update) or on an int64 array of steps (to plot or test thousands at once). These helpers take
# numpy's path for arrays and plain Python's for a number, where numpy's overhead per call would
# cost more than the arithmetic (a schedule is evaluated on every update of a training run).


def _is_array(x):
    return isinstance(x, np.ndarray)


def _where(condition, a, b):
    return np.where(condition, a, b) if _is_array(condition) else (a if condition else b)


def _minimum(a, b):
    return np.minimum(a, b) if _is_array(a) or _is_array(b) else min(a, b)


def _maximum(a, b):
    return np.maximum(a, b) if _is_array(a) or _is_array(b) else max(a, b)


def _floor(x):
    return np.floor(x) if _is_array(x) else math.floor(x)


def _cos(x):
    return np.cos(x) if _is_array(x) else math.cos(x)


def _log(x):
    return np.log(x) if _is_array(x) else math.log(x)


def _power(base, exponent):
    # numpy's float64 power gives inf (with a RuntimeWarning) where Python's float ** raises OverflowError.
    return np.power(base, exponent) if _is_array(exponent) else float(np.float64(base) ** exponent)


def _take(values, index):
    return np.asarray(values)[index] if _is_array(index) else values[index]


def _count_at_most(sorted_values, t, strict=False):
    """How many of ``sorted_values`` are <= t (< t with ``strict``)."""
    if _is_array(t):
        return np.searchsorted(np.asarray(sorted_values, dtype=np.int64), t, "left" if strict else "right")
    return (bisect_left if strict else bisect_right)(sorted_values, t)


# --- the base class -------------------------------------------------------------------


class Schedule:
    """Base class: a learning rate (or momentum) as a function of the update number.

    A subclass lists its fields with their checks in ``_checks`` (validated once, here) and writes
    its formula once, in ``_formula(t)``, for ``t`` a Python int or an int64 array (see the helpers
    above).
    """

    __slots__ = ()
    _checks = {}

    def __post_init__(self):
        for name, check in self._checks.items():
            object.__setattr__(self, name, check(name, getattr(self, name)))
        self._check_together()

    def _check_together(self):
        """Checks that involve several fields (subclasses override)."""

    def _set(self, name, value):
        # Frozen dataclasses set derived fields this way, once, in __post_init__.
        object.__setattr__(self, name, value)

    def __call__(self, step):
        """Value for update ``step`` (an int >= 0), or an array of values for an int array."""
        if type(step) is int or isinstance(step, np.integer):
            if step < 0:
                raise ValueError(f"step ({step}) must be >= 0")
            return float(self._formula(int(step)))
        steps = np.asarray(step)
        if steps.dtype.kind not in "iu":
            raise TypeError(f"step must be an integer or an integer array, got {step!r}")
        if steps.size and steps.min() < 0:
            raise ValueError(f"steps must be >= 0, got a step of {steps.min()}")
        return np.asarray(self._formula(steps.astype(np.int64)), dtype=np.float64)

    def get_config(self):
        """The constructor arguments, as a dict: ``type(s)(**s.get_config()) == s``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def _formula(self, t):
        raise NotImplementedError


_schedule = dataclass(frozen=True, slots=True)


# --- constant and step-wise schedules -------------------------------------------------


@_schedule
class Constant(Schedule):
    """The same learning rate for every update: ``lr(t) = lr``.

    >>> Constant(0.01)(1000)
    0.01
    """

    lr: float
    _checks = {"lr": _positive}

    def _formula(self, t):
        return np.full(t.shape, self.lr) if _is_array(t) else self.lr


@_schedule
class StepDecay(Schedule):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` updates.

    ``lr(t) = initial_lr * gamma ** floor(t / step_size)``

    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}, \quad \eta_0 = \texttt{initial_lr},\ s = \texttt{step_size}

    Equals PyTorch ``StepLR(optimizer, step_size, gamma)`` with ``lr=initial_lr``.

    >>> s = StepDecay(0.1, step_size=3, gamma=0.5)
    >>> [s(t) for t in (0, 2, 3, 5, 6)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    initial_lr: float
    step_size: int
    gamma: float = 0.1
    _checks = {"initial_lr": _positive, "step_size": _count(1), "gamma": _positive}

    def _formula(self, t):
        return self.initial_lr * _power(self.gamma, t // self.step_size)


@_schedule
class MultiStepDecay(Schedule):
    r"""Multiply the learning rate by ``gamma`` at each milestone.

    ``lr(t) = initial_lr * gamma ** (number of milestones <= t)``

    .. math:: \eta_t = \eta_0\,\gamma^{\#\{m \in \texttt{milestones}\,:\ m \le t\}}, \quad \eta_0 = \texttt{initial_lr}

    Equals PyTorch ``MultiStepLR(optimizer, milestones, gamma)`` with ``lr=initial_lr``.
    ``milestones`` must be strictly increasing positive integers.

    >>> s = MultiStepDecay(1.0, milestones=[2, 5], gamma=0.1)
    >>> [s(t) for t in (0, 1, 2, 4, 5)]
    [1.0, 1.0, 0.1, 0.1, 0.01]
    """

    initial_lr: float
    milestones: tuple
    gamma: float = 0.1
    _checks = {"initial_lr": _positive, "milestones": _increasing_counts(1), "gamma": _positive}

    def _formula(self, t):
        return self.initial_lr * _power(self.gamma, _count_at_most(self.milestones, t))


@_schedule
class PiecewiseConstant(Schedule):
    """A constant learning rate on each interval between boundaries.

    ``lr(t) = values[0]`` for ``t <= boundaries[0]``, ``values[i]`` for
    ``boundaries[i-1] < t <= boundaries[i]``, and ``values[-1]`` for ``t > boundaries[-1]``.

    Equals Keras ``PiecewiseConstantDecay(boundaries, values)``. Note the boundary step
    itself still uses the earlier value.

    >>> s = PiecewiseConstant(boundaries=[2, 4], values=[1.0, 0.5, 0.1])
    >>> [s(t) for t in range(6)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.1]
    """

    boundaries: tuple
    values: tuple
    _checks = {"boundaries": _increasing_counts(0)}

    def _check_together(self):
        if isinstance(self.values, (str, bytes)) or not hasattr(self.values, "__iter__"):
            raise TypeError(f"values must be a list of numbers, got {self.values!r}")
        self._set("values", tuple(_positive(f"values[{i}]", v) for i, v in enumerate(self.values)))
        if not self.boundaries:
            raise ValueError("boundaries must not be empty (use Constant for a single value)")
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                f"values has {len(self.values)} entries but boundaries has {len(self.boundaries)}: "
                f"values needs exactly one more entry than boundaries "
                f"(boundaries={list(self.boundaries)}, values={list(self.values)})"
            )

    def _formula(self, t):
        return _take(self.values, _count_at_most(self.boundaries, t, strict=True))


# --- smooth decays (Keras) ------------------------------------------------------------


def _decay_progress(t, decay_steps, staircase):
    """``t / decay_steps``, or its floor for a staircase: how many decay periods have passed."""
    return t // decay_steps if staircase else t / decay_steps


_DECAY_CHECKS = {"initial_lr": _positive, "decay_steps": _count(1), "decay_rate": _positive, "staircase": check_flag}


@_schedule
class ExponentialDecay(Schedule):
    r"""Multiply the learning rate by ``decay_rate`` every ``decay_steps`` updates, smoothly.

    ``lr(t) = initial_lr * decay_rate ** (t / decay_steps)``; with ``staircase=True``
    the exponent is ``floor(t / decay_steps)``. A ``decay_rate > 1`` grows the rate, up to inf.

    .. math:: \eta_t = \eta_0\, r^{t/s} \quad (\texttt{staircase}: \eta_0\, r^{\lfloor t/s \rfloor}), \quad \eta_0 = \texttt{initial_lr},\ r = \texttt{decay_rate},\ s = \texttt{decay_steps}

    Equals Keras ``ExponentialDecay(initial_lr, decay_steps, decay_rate, staircase)``.

    >>> s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> s(0), s(10), s(20)
    (0.1, 0.05, 0.025)
    >>> round(s(5), 6), ExponentialDecay(0.1, 10, 0.5, staircase=True)(5)
    (0.070711, 0.1)
    """

    initial_lr: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False
    _checks = _DECAY_CHECKS

    def _formula(self, t):
        return self.initial_lr * _power(self.decay_rate, _decay_progress(t, self.decay_steps, self.staircase))


@_schedule
class InverseTimeDecay(Schedule):
    r"""Decay the learning rate as ``1 / t``.

    ``lr(t) = initial_lr / (1 + decay_rate * t / decay_steps)``; with ``staircase=True``
    ``t / decay_steps`` is replaced by ``floor(t / decay_steps)``.

    .. math:: \eta_t = \frac{\eta_0}{1 + r\,t/s} \quad (\texttt{staircase}: \frac{\eta_0}{1 + r \lfloor t/s \rfloor}), \quad \eta_0 = \texttt{initial_lr},\ r = \texttt{decay_rate},\ s = \texttt{decay_steps}

    Equals Keras ``InverseTimeDecay(initial_lr, decay_steps, decay_rate, staircase)``.

    >>> s = InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0)
    >>> s(0), s(10), s(30)
    (0.1, 0.05, 0.025)
    """

    initial_lr: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False
    _checks = _DECAY_CHECKS

    def _formula(self, t):
        return self.initial_lr / (1.0 + self.decay_rate * _decay_progress(t, self.decay_steps, self.staircase))


@_schedule
class PolynomialDecay(Schedule):
    r"""Decay from ``initial_lr`` to ``end_lr`` along a polynomial, in ``decay_steps`` updates.

    ``lr(t) = (initial_lr - end_lr) * (1 - t' / d) ** power + end_lr`` where, without
    cycling, ``t' = min(t, decay_steps)`` and ``d = decay_steps`` (so the rate stays at
    ``end_lr`` afterwards). With ``cycle=True``, ``t' = t`` and ``d`` is the first multiple
    of ``decay_steps`` that is >= ``t``: ``d = decay_steps * max(1, ceil(t / decay_steps))``,
    so the decay restarts from ``initial_lr`` right after each multiple of ``decay_steps``.

    .. math:: \eta_t = (\eta_0 - \eta_e)\left(1 - \frac{t'}{d}\right)^p + \eta_e, \quad \eta_0 = \texttt{initial_lr},\ \eta_e = \texttt{end_lr},\ p = \texttt{power}

    Equals Keras ``PolynomialDecay(initial_lr, decay_steps, end_lr, power, cycle)``.

    >>> s = PolynomialDecay(0.1, decay_steps=4, end_lr=0.02)
    >>> [round(s(t), 6) for t in range(6)]
    [0.1, 0.08, 0.06, 0.04, 0.02, 0.02]
    >>> [round(PolynomialDecay(0.1, 4, 0.02, cycle=True)(t), 6) for t in (4, 5, 8)]
    [0.02, 0.06, 0.02]
    """

    initial_lr: float
    decay_steps: int
    end_lr: float = 1e-4
    power: float = 1.0
    cycle: bool = False
    _checks = {"initial_lr": _positive, "decay_steps": _count(1), "end_lr": _non_negative, "power": _positive,
               "cycle": check_flag}

    def _formula(self, t):
        if self.cycle:
            d = self.decay_steps * _maximum(1, -(-t // self.decay_steps))  # ceil, and 1 at step 0
            p = t / d
        else:
            p = _minimum(t, self.decay_steps) / self.decay_steps
        return (self.initial_lr - self.end_lr) * (1.0 - p) ** self.power + self.end_lr


def _cosine(fraction, alpha):
    # 1 at fraction 0, alpha at fraction 1 (Keras' decayed factor).
    return (1.0 - alpha) * (0.5 * (1.0 + _cos(math.pi * fraction))) + alpha


@_schedule
class CosineDecay(Schedule):
    r"""Cosine decay over ``decay_steps`` updates, with an optional linear warmup before it.

    Exercise 05's ``cosine_annealing(step, initial_lr, total_steps, min_lr)``, with
    ``T = decay_steps`` and ``min_lr = alpha * initial_lr``::

        lr(t) = min_lr + (initial_lr - min_lr) * (1 + cos(pi * t / T)) / 2      for t <= T

    and ``min_lr`` after ``T``. Keras writes the same line as
    ``initial_lr * ((1 - alpha) * (1 + cos(pi * t / T)) / 2 + alpha)``; PyTorch's
    ``CosineAnnealingLR(T_max=T, eta_min=min_lr)`` is the same curve up to ``T``.

    .. math:: \eta_t = \eta_0\left((1-\alpha)\,\tfrac{1}{2}\left(1 + \cos\frac{\pi \min(t, s)}{s}\right) + \alpha\right), \quad \eta_0 = \texttt{initial_lr},\ s = \texttt{decay_steps}

    With ``warmup_target``, the rate first rises linearly from ``initial_lr`` to
    ``warmup_target`` over ``warmup_steps`` updates,
    ``lr(t) = initial_lr + (warmup_target - initial_lr) * t / warmup_steps`` for
    ``t < warmup_steps``, then decays from ``warmup_target`` as above with
    ``t - warmup_steps`` in place of ``t``. The end rate is ``alpha`` times the peak rate.

    Equals Keras ``CosineDecay(initial_lr, decay_steps, alpha, warmup_target=...,
    warmup_steps=...)``. Keras silently ignores ``warmup_steps`` when ``warmup_target``
    is None; here that combination is an error.

    >>> s = CosineDecay(0.1, decay_steps=10)
    >>> s(0), round(s(5), 6), s(10), s(11)
    (0.1, 0.05, 0.0, 0.0)
    >>> w = CosineDecay(0.0, decay_steps=10, warmup_steps=4, warmup_target=0.1)
    >>> w(0), w(2), w(4)
    (0.0, 0.05, 0.1)
    """

    initial_lr: float
    decay_steps: int
    alpha: float = 0.0
    warmup_steps: int = 0
    warmup_target: float | None = None
    # A warmup may start from zero; without one, initial_lr is the peak and must be > 0 (below).
    _checks = {"initial_lr": _non_negative, "decay_steps": _count(1), "alpha": _fraction,
               "warmup_steps": _count(0), "warmup_target": _optional(_positive)}

    def _check_together(self):
        if self.warmup_target is None:
            if self.initial_lr == 0:
                raise ValueError(f"initial_lr must be > 0 without a warmup, got {self.initial_lr!r}")
            if self.warmup_steps:
                raise ValueError(
                    f"warmup_steps ({self.warmup_steps}) needs a warmup_target "
                    "(the rate to warm up to); without one there is no warmup"
                )

    def _formula(self, t):
        peak = self.initial_lr if self.warmup_target is None else self.warmup_target
        t = _minimum(t, self.warmup_steps + self.decay_steps)
        lr = peak * _cosine(_maximum(t - self.warmup_steps, 0) / self.decay_steps, self.alpha)
        if self.warmup_steps:
            warming = (self.warmup_target - self.initial_lr) * (t / self.warmup_steps) + self.initial_lr
            lr = _where(t < self.warmup_steps, warming, lr)
        return lr


@_schedule
class CosineRestarts(Schedule):
    r"""Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017).

    Period ``i`` (from 0) lasts ``first_decay_steps * t_mul ** i`` updates (``t_mul >= 1``)
    and starts at ``m_mul ** i`` times the initial rate (``m_mul > 0``: below 1 the peaks
    shrink, above 1 they grow, as Keras allows). With ``f = t / first_decay_steps``, the
    period number ``i`` is ``floor(f)`` when ``t_mul == 1``, otherwise the largest ``i``
    with ``(1 - t_mul ** i) / (1 - t_mul) <= f``; the fraction of the current period done is
    ``c = (f - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i`` (``f - i`` when
    ``t_mul == 1``), and::

        lr(t) = initial_lr * ((1 - alpha) * m_mul ** i * (1 + cos(pi * c)) / 2 + alpha)

    .. math:: \eta_t = \eta_0\left((1-\alpha)\, m^i\, \tfrac{1}{2}(1 + \cos \pi c) + \alpha\right), \quad \eta_0 = \texttt{initial_lr},\ m = \texttt{m_mul}

    Equals Keras ``CosineDecayRestarts(initial_lr, first_decay_steps, t_mul, m_mul,
    alpha)``. Keras finds ``i`` as ``floor(log(1 - f * (1 - t_mul)) / log(t_mul))``; at an
    exact restart step the rounded logarithm can fall just short of an integer (e.g.
    ``t_mul=3``, ``first_decay_steps=2``, step 242), which would delay the restart by
    one step, so ``i`` is corrected to satisfy the inequality above exactly.

    >>> s = CosineRestarts(1.0, first_decay_steps=4, t_mul=2.0)
    >>> [round(s(t), 4) for t in (0, 2, 3, 4, 8, 11, 12)]
    [1.0, 0.5, 0.1464, 1.0, 0.5, 0.0381, 1.0]
    """

    initial_lr: float
    first_decay_steps: int
    t_mul: float = 2.0
    m_mul: float = 1.0
    alpha: float = 0.0
    # Shrinking periods (t_mul < 1) would add up to a finite number of steps.
    _checks = {"initial_lr": _positive, "first_decay_steps": _count(1),
               "t_mul": lambda name, value: check_number(name, value, low=1), "m_mul": _positive,
               "alpha": _fraction}

    def _formula(self, t):
        fraction = t / self.first_decay_steps
        t_mul = self.t_mul
        if t_mul == 1.0:
            restart = _floor(fraction)
            fraction = fraction - restart
        else:
            def done(i):  # periods 0..i-1, in units of the first period
                return (1.0 - t_mul**i) / (1.0 - t_mul)

            # Keras' estimate of the period; the rounded log can be one off at a restart step.
            restart = _floor(_log(1.0 - fraction * (1.0 - t_mul)) / _log(t_mul))
            restart = _where(fraction < done(restart), restart - 1, restart)
            restart = _where(fraction >= done(restart + 1), restart + 1, restart)
            fraction = (fraction - done(restart)) / t_mul**restart
        cosine = 0.5 * _power(self.m_mul, restart) * (1.0 + _cos(math.pi * fraction))
        return self.initial_lr * ((1.0 - self.alpha) * cosine + self.alpha)


# --- cyclical schedules (PyTorch) -----------------------------------------------------


@_schedule
class CyclicLR(Schedule):
    r"""Cyclical learning rate (Smith 2017): up and down between ``base_lr`` and ``max_lr``.

    Lesson 07's formula: with ``s = step_size_up`` (and ``step_size_down`` equal to it)::

        cycle = floor(1 + t / (2 s))                   # 1 for the first cycle
        x     = |t / s - 2 cycle + 1|                  # 1 at the cycle's ends, 0 at its top
        lr(t) = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale

    .. math:: \eta_t = \eta_{\text{base}} + (\eta_{\max} - \eta_{\text{base}})\,\max(0,\, 1 - x)\cdot\text{scale}, \quad x = \left|\frac{t}{s} - 2\,\text{cycle} + 1\right|, \quad \text{cycle} = \left\lfloor 1 + \frac{t}{2s} \right\rfloor

    where ``scale`` is 1 (``mode="triangular"``), ``1 / 2 ** (cycle - 1)`` (``"triangular2"``,
    halving the height every cycle) or ``gamma ** t`` (``"exp_range"``, shrinking every update).

    This equals PyTorch ``CyclicLR(optimizer, base_lr, max_lr, step_size_up, step_size_down,
    mode, gamma, scale_fn, scale_mode)``, which writes ``1 - x`` as the height ``h`` of a cycle
    that rises for ``step_size_up`` updates and falls for ``step_size_down`` (the two may
    differ): with ``total = step_size_up + step_size_down`` and ``r = step_size_up / total``,
    ``x' = 1 + t / total - cycle`` and ``h = x' / r`` while rising (``x' <= r``), else
    ``(x' - 1) / (r - 1)``.

    ``scale_fn`` (a function of one number) replaces the mode's scale, as in PyTorch: it is
    called with ``cycle`` (``scale_mode="cycle"``) or with ``t`` (``"iterations"``), and
    ``mode`` and ``gamma`` are then ignored. :meth:`momentum_schedule` gives PyTorch's
    ``cycle_momentum``.

    >>> s = CyclicLR(0.1, 0.5, step_size_up=2)
    >>> [round(s(t), 6) for t in range(6)]
    [0.1, 0.3, 0.5, 0.3, 0.1, 0.3]
    >>> s2 = CyclicLR(0.1, 0.5, step_size_up=2, mode="triangular2")
    >>> [round(s2(t), 6) for t in (2, 6, 10)]
    [0.5, 0.3, 0.2]
    >>> s3 = CyclicLR(0.1, 0.5, step_size_up=2, scale_fn=lambda cycle: 1 / cycle)
    >>> [round(s3(t), 6) for t in (2, 6, 10)]
    [0.5, 0.3, 0.233333]
    """

    base_lr: float
    max_lr: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    scale_fn: Callable | None = None
    scale_mode: str = "cycle"
    _checks = {"base_lr": _positive, "max_lr": _positive, "step_size_up": _count(1),
               "step_size_down": _optional(_count(1)), "mode": _one_of("triangular", "triangular2", "exp_range"),
               "gamma": lambda name, value: check_number(name, value, low=0, high=1, low_inclusive=False),
               "scale_fn": _optional(_callable), "scale_mode": _one_of("cycle", "iterations")}

    def _check_together(self):
        if self.max_lr < self.base_lr:
            raise ValueError(f"max_lr ({self.max_lr}) must be >= base_lr ({self.base_lr})")

    def momentum_schedule(self, base_momentum=0.8, max_momentum=0.9):
        """The momentum that PyTorch's ``cycle_momentum`` pairs with this schedule.

        It moves opposite to the lr: ``max_momentum`` when the lr is at ``base_lr``,
        ``base_momentum`` when the lr is at ``max_lr``; see :class:`CyclicMomentum`.
        """
        return CyclicMomentum(self, base_momentum, max_momentum)

    def _phase(self, t):
        """``(h, scale)``: where update ``t`` sits in its cycle (0 at the bottom, 1 at the top) and
        the height's scale. Shared by the lr and the momentum, which form their values in PyTorch's
        order, ``(top - bottom) * h * scale``."""
        up = float(self.step_size_up)
        total = up + (up if self.step_size_down is None else float(self.step_size_down))
        ratio = up / total
        cycle = _floor(1 + t / total)
        x = 1.0 + t / total - cycle
        rising = x <= ratio
        h = _where(rising, x, x - 1) / _where(rising, ratio, ratio - 1)
        return h, self._scale(cycle, t)

    def _scale(self, cycle, t):
        if self.scale_fn is not None:
            return _apply(self.scale_fn, cycle if self.scale_mode == "cycle" else t)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 0.5 ** (cycle - 1)  # = 1 / 2 ** (cycle - 1), but underflows to 0 instead of overflowing
        return _power(self.gamma, t)

    def _formula(self, t):
        h, scale = self._phase(t)
        return self.base_lr + (self.max_lr - self.base_lr) * h * scale


def _apply(fn, x):
    """``fn`` of each value of ``x``, called with Python numbers as PyTorch calls ``scale_fn``."""
    if not _is_array(x):
        return float(fn(x))
    values, inverse = np.unique(x, return_inverse=True)  # cycles repeat: call fn once per value
    out = np.array([float(fn(int(v) if float(v).is_integer() else float(v))) for v in values.ravel()])
    return out[inverse].reshape(x.shape)


@_schedule
class CyclicMomentum(Schedule):
    """The momentum PyTorch's ``CyclicLR(cycle_momentum=True)`` uses, opposite to the lr.

    With ``(1 - x) * scale`` (PyTorch: ``h * scale``) the same as in ``lr_schedule`` (see
    :class:`CyclicLR`)::

        momentum(t) = max_momentum - (max_momentum - base_momentum) * (1 - x) * scale

    >>> m = CyclicLR(0.1, 0.5, step_size_up=2).momentum_schedule(0.8, 0.9)
    >>> [round(m(t), 6) for t in range(5)]
    [0.9, 0.85, 0.8, 0.85, 0.9]
    """

    lr_schedule: CyclicLR
    base_momentum: float = 0.8
    max_momentum: float = 0.9
    _checks = {"lr_schedule": _schedule_of(CyclicLR), "base_momentum": _momentum, "max_momentum": _momentum}

    def _check_together(self):
        _check_momentum_order(self.base_momentum, self.max_momentum)

    def _formula(self, t):
        h, scale = self.lr_schedule._phase(t)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * h * scale


def _check_momentum_order(base_momentum, max_momentum):
    if max_momentum < base_momentum:
        raise ValueError(f"max_momentum ({max_momentum}) must be >= base_momentum ({base_momentum})")


@_schedule
class OneCycle(Schedule):
    """The 1cycle policy (Smith & Topin 2018): warm up to ``max_lr``, then anneal far below.

    With ``initial_lr = max_lr / div_factor`` and ``min_lr = initial_lr / final_div_factor``,
    the rate is annealed (``"cos"``: ``end + (start - end) * (1 + cos(pi * p)) / 2``, or
    ``"linear"``: ``start + (end - start) * p``, ``p`` the fraction of the phase done)
    through phases that end at these steps (``T = total_steps``, ``q = pct_start``)::

        two phases:   initial_lr -> max_lr until q*T - 1,  max_lr -> min_lr until T - 1
        three_phase:  initial_lr -> max_lr until q*T - 1,  max_lr -> initial_lr until 2*q*T - 2,
                      initial_lr -> min_lr until T - 1

    A phase from step ``a`` to step ``b`` has ``p = (t - a) / (b - a)`` (the first starts at
    ``a = 0``). The schedule covers updates ``0 .. T-1``: asking for a later step is an
    error, since it means training ran longer than the schedule was made for.

    Equals PyTorch ``OneCycleLR(optimizer, max_lr, total_steps, pct_start, anneal_strategy,
    div_factor=div_factor, final_div_factor=final_div_factor, three_phase=three_phase)``;
    :meth:`momentum_schedule` gives its ``cycle_momentum`` (for ``SGD(momentum=...)`` or
    ``Adam(betas=(..., 0.999))``, as PyTorch cycles either).

    >>> s = OneCycle(1.0, total_steps=10, pct_start=0.5, div_factor=10.0,
    ...              final_div_factor=10.0, anneal_strategy="linear")
    >>> [round(s(t), 6) for t in (0, 1, 2, 4, 6, 9)]
    [0.1, 0.325, 0.55, 1.0, 0.604, 0.01]
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal_strategy: str = "cos"
    three_phase: bool = False
    # Derived in __post_init__: the step at which each phase ends.
    _phase_ends: tuple = field(init=False, repr=False, compare=False)
    _checks = {"max_lr": _positive, "total_steps": _count(1),
               "pct_start": lambda name, value: check_number(name, value, low=0, high=1, low_inclusive=False,
                                                             high_inclusive=False),
               "div_factor": _positive, "final_div_factor": _positive,
               "anneal_strategy": _one_of("cos", "linear"), "three_phase": check_flag}

    def _check_together(self):
        pct_start, total_steps = self.pct_start, self.total_steps
        warmup_end = float(pct_start * total_steps) - 1
        if warmup_end == 0.0:
            raise ValueError(
                f"pct_start * total_steps ({pct_start} * {total_steps}) is 1: the warm-up "
                "phase would start and end at step 0; choose another pct_start"
            )
        if self.three_phase:
            self._set("_phase_ends", (warmup_end, float(2 * pct_start * total_steps) - 2, total_steps - 1))
        else:
            self._set("_phase_ends", (warmup_end, total_steps - 1))

    def momentum_schedule(self, base_momentum=0.85, max_momentum=0.95):
        """The momentum that PyTorch's ``cycle_momentum`` pairs with this schedule.

        It anneals ``max_momentum -> base_momentum`` while the lr warms up, then back to
        ``max_momentum`` (and stays there in a third phase); see :class:`OneCycleMomentum`.
        """
        return OneCycleMomentum(self, base_momentum, max_momentum)

    def _anneal(self, t, points):
        """Walk the phases as PyTorch does: ``points[i] -> points[i + 1]`` during phase ``i``."""
        last_step = (int(t.max()) if t.size else -1) if _is_array(t) else t
        if last_step >= self.total_steps:
            raise ValueError(
                f"step {last_step} is past the end of this OneCycle schedule: it was "
                f"configured for total_steps={self.total_steps} updates "
                f"(steps 0..{self.total_steps - 1})"
            )
        ends = self._phase_ends
        phase = len(ends) - 1
        for i in reversed(range(phase)):  # the first phase whose end is >= t (ends need not be sorted)
            phase = _where(t <= ends[i], i, phase)
        start, end = _take((0.0,) + ends[:-1], phase), _take(ends, phase)
        a, b = _take(points, phase), _take(points, phase + 1)
        p = (t - start) / (end - start)
        if self.anneal_strategy == "cos":
            return b + (a - b) / 2.0 * (_cos(math.pi * p) + 1)
        return (b - a) * p + a

    def _formula(self, t):
        initial_lr = self.max_lr / self.div_factor
        min_lr = initial_lr / self.final_div_factor
        if self.three_phase:
            return self._anneal(t, (initial_lr, self.max_lr, initial_lr, min_lr))
        return self._anneal(t, (initial_lr, self.max_lr, min_lr))


@_schedule
class OneCycleMomentum(Schedule):
    """The momentum PyTorch's ``OneCycleLR(cycle_momentum=True)`` uses, opposite to the lr.

    Same phases and annealing as ``lr_schedule`` (see :class:`OneCycle`), through
    ``max_momentum -> base_momentum -> max_momentum`` (two phases) or
    ``max_momentum -> base_momentum -> max_momentum -> max_momentum`` (``three_phase``).

    >>> m = OneCycle(1.0, total_steps=10, pct_start=0.5, anneal_strategy="linear").momentum_schedule()
    >>> [round(m(t), 6) for t in (0, 2, 4, 6, 9)]
    [0.95, 0.9, 0.85, 0.89, 0.95]
    """

    lr_schedule: OneCycle
    base_momentum: float = 0.85
    max_momentum: float = 0.95
    _checks = {"lr_schedule": _schedule_of(OneCycle), "base_momentum": _momentum, "max_momentum": _momentum}

    def _check_together(self):
        _check_momentum_order(self.base_momentum, self.max_momentum)

    def _formula(self, t):
        points = (self.max_momentum, self.base_momentum, self.max_momentum)
        if self.lr_schedule.three_phase:
            points += (self.max_momentum,)
        return self.lr_schedule._anneal(t, points)


# --- composition ----------------------------------------------------------------------


@_schedule
class LinearWarmup(Schedule):
    r"""A linear warmup from ``start_lr``, then another schedule (shifted to start after it).

    ``lr(t) = start_lr + (schedule(0) - start_lr) * t / warmup_steps`` for
    ``t < warmup_steps``, and ``schedule(t - warmup_steps)`` afterwards.

    .. math:: \eta_t = \begin{cases} \eta_s + (\eta_{\text{sched}}(0) - \eta_s)\,t/w & t < w \\ \eta_{\text{sched}}(t - w) & t \ge w \end{cases}, \quad \eta_s = \texttt{start_lr},\ w = \texttt{warmup_steps}

    >>> s = LinearWarmup(StepDecay(0.1, step_size=10), warmup_steps=4)
    >>> [round(s(t), 6) for t in (0, 1, 2, 4, 13, 14)]
    [0.0, 0.025, 0.05, 0.1, 0.1, 0.01]
    """

    schedule: Schedule
    warmup_steps: int
    start_lr: float = 0.0
    _target: float = field(init=False, repr=False, compare=False)
    _checks = {"schedule": _schedule_of(Schedule), "warmup_steps": _count(1), "start_lr": _non_negative}

    def _check_together(self):
        self._set("_target", self.schedule(0))

    def _formula(self, t):
        warming = self.start_lr + (self._target - self.start_lr) * t / self.warmup_steps
        after = self.schedule._formula(_maximum(t - self.warmup_steps, 0))
        return _where(t < self.warmup_steps, warming, after)
