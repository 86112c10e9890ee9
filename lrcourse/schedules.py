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
import numbers
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, fields

import numpy as np

from .utils import check_number, check_positive_int

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


# --- parameter checks: each returns the value as a plain Python float/int ---------------


def _positive(name, value):
    return check_number(name, value, low=0, low_inclusive=False)


def _non_negative(name, value):
    return check_number(name, value, low=0)


def _fraction(name, value):
    return check_number(name, value, low=0, high=1)


def _integer(name, value, minimum):
    return check_positive_int(name, value, minimum=minimum)


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _increasing_integers(name, values, minimum):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of integers, got {values!r}")
    values = tuple(_integer(f"{name}[{i}]", v, minimum) for i, v in enumerate(values))
    for i in range(1, len(values)):
        if values[i] <= values[i - 1]:
            raise ValueError(f"{name} {list(values)} must be strictly increasing")
    return values


def _momentum_bounds(base_momentum, max_momentum):
    base_momentum = check_number("base_momentum", base_momentum, low=0, high=1, high_inclusive=False)
    max_momentum = check_number("max_momentum", max_momentum, low=0, high=1, high_inclusive=False)
    if max_momentum < base_momentum:
        raise ValueError(
            f"max_momentum ({max_momentum}) must be >= base_momentum ({base_momentum})"
        )
    return base_momentum, max_momentum


def _set(obj, name, value):
    # Frozen dataclasses validate and normalise their fields in __post_init__.
    object.__setattr__(obj, name, value)


# --- the base class -------------------------------------------------------------------


class Schedule:
    """Base class: a learning rate (or momentum) as a function of the update number.

    Subclasses implement ``_value(t)`` for one Python int (plain ``math``, so the call an
    optimizer makes on every update stays cheap) and ``_values(t)`` for an int64 array.
    """

    __slots__ = ()

    def __call__(self, step):
        """Value for update ``step`` (an int >= 0), or an array of values for an int array."""
        if type(step) is int or isinstance(step, np.integer):
            if step < 0:
                raise ValueError(f"step ({step}) must be >= 0")
            return self._value(int(step))
        steps = np.asarray(step)
        if steps.dtype.kind not in "iu":
            raise TypeError(f"step must be an integer or an integer array, got {step!r}")
        if steps.size and steps.min() < 0:
            raise ValueError(f"steps must be >= 0, got a step of {steps.min()}")
        return np.asarray(self._values(steps.astype(np.int64)), dtype=np.float64)

    def get_config(self):
        """The constructor arguments, as a dict: ``type(s)(**s.get_config()) == s``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def _value(self, step):
        raise NotImplementedError

    def _values(self, steps):
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

    def __post_init__(self):
        _set(self, "lr", _positive("lr", self.lr))

    def _value(self, step):
        return self.lr

    def _values(self, steps):
        return np.full(steps.shape, self.lr)


@_schedule
class StepDecay(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` updates.

    ``lr(t) = initial_lr * gamma ** floor(t / step_size)``

    Equals PyTorch ``StepLR(optimizer, step_size, gamma)`` with ``lr=initial_lr``.

    >>> s = StepDecay(0.1, step_size=3, gamma=0.5)
    >>> [s(t) for t in (0, 2, 3, 5, 6)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    initial_lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        _set(self, "initial_lr", _positive("initial_lr", self.initial_lr))
        _set(self, "step_size", _integer("step_size", self.step_size, 1))
        _set(self, "gamma", _positive("gamma", self.gamma))

    def _value(self, step):
        return self.initial_lr * self.gamma ** (step // self.step_size)

    def _values(self, steps):
        return self.initial_lr * self.gamma ** (steps // self.step_size)


@_schedule
class MultiStepDecay(Schedule):
    """Multiply the learning rate by ``gamma`` at each milestone.

    ``lr(t) = initial_lr * gamma ** (number of milestones <= t)``

    Equals PyTorch ``MultiStepLR(optimizer, milestones, gamma)`` with ``lr=initial_lr``.
    ``milestones`` must be strictly increasing positive integers.

    >>> s = MultiStepDecay(1.0, milestones=[2, 5], gamma=0.1)
    >>> [s(t) for t in (0, 1, 2, 4, 5)]
    [1.0, 1.0, 0.1, 0.1, 0.01]
    """

    initial_lr: float
    milestones: tuple
    gamma: float = 0.1

    def __post_init__(self):
        _set(self, "initial_lr", _positive("initial_lr", self.initial_lr))
        _set(self, "milestones", _increasing_integers("milestones", self.milestones, 1))
        _set(self, "gamma", _positive("gamma", self.gamma))

    def _value(self, step):
        return self.initial_lr * self.gamma ** bisect_right(self.milestones, step)

    def _values(self, steps):
        passed = np.searchsorted(np.asarray(self.milestones, dtype=np.int64), steps, "right")
        return self.initial_lr * self.gamma**passed


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

    def __post_init__(self):
        boundaries = _increasing_integers("boundaries", self.boundaries, 0)
        values = tuple(_positive(f"values[{i}]", v) for i, v in enumerate(self.values))
        if not boundaries:
            raise ValueError("boundaries must not be empty (use Constant for a single value)")
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"values has {len(values)} entries but boundaries has {len(boundaries)}: "
                f"values needs exactly one more entry than boundaries "
                f"(boundaries={list(boundaries)}, values={list(values)})"
            )
        _set(self, "boundaries", boundaries)
        _set(self, "values", values)

    def _value(self, step):
        return self.values[bisect_left(self.boundaries, step)]

    def _values(self, steps):
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.int64), steps, "left")
        return np.asarray(self.values)[index]


# --- smooth decays (Keras) ------------------------------------------------------------


@_schedule
class ExponentialDecay(Schedule):
    """Multiply the learning rate by ``decay_rate`` every ``decay_steps`` updates, smoothly.

    ``lr(t) = initial_lr * decay_rate ** (t / decay_steps)``; with ``staircase=True``
    the exponent is ``floor(t / decay_steps)``.

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

    def __post_init__(self):
        _set(self, "initial_lr", _positive("initial_lr", self.initial_lr))
        _set(self, "decay_steps", _integer("decay_steps", self.decay_steps, 1))
        _set(self, "decay_rate", _positive("decay_rate", self.decay_rate))
        _set(self, "staircase", _flag("staircase", self.staircase))

    def _value(self, step):
        p = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial_lr * self.decay_rate ** float(p)

    def _values(self, steps):
        p = steps // self.decay_steps if self.staircase else steps / self.decay_steps
        return self.initial_lr * np.power(self.decay_rate, p.astype(np.float64))


@_schedule
class InverseTimeDecay(Schedule):
    """Decay the learning rate as ``1 / t``.

    ``lr(t) = initial_lr / (1 + decay_rate * t / decay_steps)``; with ``staircase=True``
    ``t / decay_steps`` is replaced by ``floor(t / decay_steps)``.

    Equals Keras ``InverseTimeDecay(initial_lr, decay_steps, decay_rate, staircase)``.

    >>> s = InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0)
    >>> s(0), s(10), s(30)
    (0.1, 0.05, 0.025)
    """

    initial_lr: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False

    def __post_init__(self):
        _set(self, "initial_lr", _positive("initial_lr", self.initial_lr))
        _set(self, "decay_steps", _integer("decay_steps", self.decay_steps, 1))
        _set(self, "decay_rate", _positive("decay_rate", self.decay_rate))
        _set(self, "staircase", _flag("staircase", self.staircase))

    def _value(self, step):
        p = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial_lr / (1.0 + self.decay_rate * p)

    def _values(self, steps):
        p = steps // self.decay_steps if self.staircase else steps / self.decay_steps
        return self.initial_lr / (1.0 + self.decay_rate * p)


@_schedule
class PolynomialDecay(Schedule):
    """Decay from ``initial_lr`` to ``end_lr`` along a polynomial, in ``decay_steps`` updates.

    ``lr(t) = (initial_lr - end_lr) * (1 - t' / d) ** power + end_lr`` where, without
    cycling, ``t' = min(t, decay_steps)`` and ``d = decay_steps`` (so the rate stays at
    ``end_lr`` afterwards). With ``cycle=True``, ``t' = t`` and ``d`` is the first multiple
    of ``decay_steps`` that is >= ``t``: ``d = decay_steps * max(1, ceil(t / decay_steps))``,
    so the decay restarts from ``initial_lr`` right after each multiple of ``decay_steps``.

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

    def __post_init__(self):
        _set(self, "initial_lr", _positive("initial_lr", self.initial_lr))
        _set(self, "decay_steps", _integer("decay_steps", self.decay_steps, 1))
        _set(self, "end_lr", _non_negative("end_lr", self.end_lr))
        _set(self, "power", _positive("power", self.power))
        _set(self, "cycle", _flag("cycle", self.cycle))

    def _value(self, step):
        if self.cycle:
            periods = max(1, -(-step // self.decay_steps))  # ceil, and 1 at step 0
            p = step / (self.decay_steps * periods)
        else:
            p = min(step, self.decay_steps) / self.decay_steps
        return (self.initial_lr - self.end_lr) * (1.0 - p) ** self.power + self.end_lr

    def _values(self, steps):
        if self.cycle:
            periods = np.maximum(1, -(-steps // self.decay_steps))
            p = steps / (self.decay_steps * periods)
        else:
            p = np.minimum(steps, self.decay_steps) / self.decay_steps
        return (self.initial_lr - self.end_lr) * (1.0 - p) ** self.power + self.end_lr


def _cosine_decayed(fraction, alpha, cos):
    # Keras' cosine: 1 at fraction 0, alpha at fraction 1.
    return (1.0 - alpha) * (0.5 * (1.0 + cos(math.pi * fraction))) + alpha


@_schedule
class CosineDecay(Schedule):
    """Cosine decay over ``decay_steps`` updates, with an optional linear warmup before it.

    Without warmup (``warmup_target=None``)::

        lr(t) = initial_lr * ((1 - alpha) * (1 + cos(pi * min(t, decay_steps) / decay_steps)) / 2 + alpha)

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

    def __post_init__(self):
        _set(self, "decay_steps", _integer("decay_steps", self.decay_steps, 1))
        _set(self, "alpha", _fraction("alpha", self.alpha))
        _set(self, "warmup_steps", _integer("warmup_steps", self.warmup_steps, 0))
        if self.warmup_target is None:
            _set(self, "initial_lr", _positive("initial_lr", self.initial_lr))
            if self.warmup_steps:
                raise ValueError(
                    f"warmup_steps ({self.warmup_steps}) needs a warmup_target "
                    "(the rate to warm up to); without one there is no warmup"
                )
        else:
            # The warmup may start from zero; the rate it reaches must be positive.
            _set(self, "initial_lr", _non_negative("initial_lr", self.initial_lr))
            _set(self, "warmup_target", _positive("warmup_target", self.warmup_target))

    def _value(self, step):
        if self.warmup_target is None:
            fraction = min(step, self.decay_steps) / self.decay_steps
            return self.initial_lr * _cosine_decayed(fraction, self.alpha, math.cos)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_lr
            return delta * (step / self.warmup_steps) + self.initial_lr
        fraction = (step - self.warmup_steps) / self.decay_steps
        return self.warmup_target * _cosine_decayed(fraction, self.alpha, math.cos)

    def _values(self, steps):
        if self.warmup_target is None:
            fraction = np.minimum(steps, self.decay_steps) / self.decay_steps
            return self.initial_lr * _cosine_decayed(fraction, self.alpha, np.cos)
        steps = np.minimum(steps, self.decay_steps + self.warmup_steps)
        fraction = np.maximum(steps - self.warmup_steps, 0) / self.decay_steps
        lrs = self.warmup_target * _cosine_decayed(fraction, self.alpha, np.cos)
        warming = steps < self.warmup_steps
        if warming.any():
            delta = self.warmup_target - self.initial_lr
            lrs[warming] = delta * (steps[warming] / self.warmup_steps) + self.initial_lr
        return lrs


@_schedule
class CosineRestarts(Schedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017).

    Period ``i`` (from 0) lasts ``first_decay_steps * t_mul ** i`` updates (``t_mul >= 1``)
    and starts at ``m_mul ** i`` times the initial rate (``0 < m_mul <= 1``). With
    ``f = t / first_decay_steps``, the period number ``i`` is ``floor(f)`` when ``t_mul == 1``,
    otherwise the largest ``i`` with ``(1 - t_mul ** i) / (1 - t_mul) <= f``; the fraction of
    the current period done is ``c = (f - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i``
    (``f - i`` when ``t_mul == 1``), and::

        lr(t) = initial_lr * ((1 - alpha) * m_mul ** i * (1 + cos(pi * c)) / 2 + alpha)

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

    def __post_init__(self):
        _set(self, "initial_lr", _positive("initial_lr", self.initial_lr))
        _set(self, "first_decay_steps", _integer("first_decay_steps", self.first_decay_steps, 1))
        # Shrinking periods (t_mul < 1) would add up to a finite number of steps.
        _set(self, "t_mul", check_number("t_mul", self.t_mul, low=1))
        _set(self, "m_mul", check_number("m_mul", self.m_mul, low=0, low_inclusive=False, high=1))
        _set(self, "alpha", _fraction("alpha", self.alpha))

    def _value(self, step):
        fraction = step / self.first_decay_steps
        t_mul = self.t_mul
        if t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            # Keras' estimate of the period; the rounded log can be one off at a restart step.
            restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            done = (1.0 - t_mul**restart) / (1.0 - t_mul)  # periods 0..restart-1, in units of the first
            if fraction < done:
                restart -= 1
            elif fraction >= (1.0 - t_mul ** (restart + 1)) / (1.0 - t_mul):
                restart += 1
            done = (1.0 - t_mul**restart) / (1.0 - t_mul)
            fraction = (fraction - done) / t_mul**restart
        cosine = 0.5 * self.m_mul ** float(restart) * (1.0 + math.cos(math.pi * fraction))
        return self.initial_lr * ((1.0 - self.alpha) * cosine + self.alpha)

    def _values(self, steps):
        fraction = steps / self.first_decay_steps
        t_mul = self.t_mul
        if t_mul == 1.0:
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:
            restart = np.floor(np.log(1.0 - fraction * (1.0 - t_mul)) / np.log(t_mul))
            done = (1.0 - t_mul**restart) / (1.0 - t_mul)
            restart = np.where(fraction < done, restart - 1, restart)
            next_done = (1.0 - t_mul ** (restart + 1)) / (1.0 - t_mul)
            restart = np.where(fraction >= next_done, restart + 1, restart)
            done = (1.0 - t_mul**restart) / (1.0 - t_mul)
            fraction = (fraction - done) / t_mul**restart
        cosine = 0.5 * self.m_mul**restart * (1.0 + np.cos(math.pi * fraction))
        return self.initial_lr * ((1.0 - self.alpha) * cosine + self.alpha)


# --- cyclical schedules (PyTorch) -----------------------------------------------------

_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@_schedule
class CyclicLR(Schedule):
    """Cyclical learning rate (Smith 2017): up and down between ``base_lr`` and ``max_lr``.

    A cycle is ``step_size_up`` updates rising linearly, then ``step_size_down`` (default:
    ``step_size_up``) falling; ``total = step_size_up + step_size_down``. For update ``t``::

        cycle = floor(1 + t / total)              # 1 for the first cycle
        x     = 1 + t / total - cycle             # position in the cycle, in [0, 1)
        h     = x / r  if x <= r  else  (x - 1) / (r - 1)     # r = step_size_up / total
        lr(t) = base_lr + (max_lr - base_lr) * h * scale

    where ``scale`` is 1 (``mode="triangular"``), ``1 / 2 ** (cycle - 1)`` (``"triangular2"``,
    halving the height every cycle) or ``gamma ** t`` (``"exp_range"``, shrinking every
    update). ``gamma`` is used only by ``"exp_range"``.

    Equals PyTorch ``CyclicLR(optimizer, base_lr, max_lr, step_size_up, step_size_down,
    mode, gamma)``; :meth:`momentum_schedule` gives its ``cycle_momentum``.

    >>> s = CyclicLR(0.1, 0.5, step_size_up=2)
    >>> [round(s(t), 6) for t in range(6)]
    [0.1, 0.3, 0.5, 0.3, 0.1, 0.3]
    >>> s2 = CyclicLR(0.1, 0.5, step_size_up=2, mode="triangular2")
    >>> [round(s2(t), 6) for t in (2, 6, 10)]
    [0.5, 0.3, 0.2]
    """

    base_lr: float
    max_lr: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0

    def __post_init__(self):
        base_lr = _positive("base_lr", self.base_lr)
        max_lr = _positive("max_lr", self.max_lr)
        if max_lr < base_lr:
            raise ValueError(f"max_lr ({max_lr}) must be >= base_lr ({base_lr})")
        _set(self, "base_lr", base_lr)
        _set(self, "max_lr", max_lr)
        _set(self, "step_size_up", _integer("step_size_up", self.step_size_up, 1))
        if self.step_size_down is not None:
            _set(self, "step_size_down", _integer("step_size_down", self.step_size_down, 1))
        if self.mode not in _CYCLIC_MODES:
            raise ValueError(f"mode ({self.mode!r}) must be one of {', '.join(_CYCLIC_MODES)}")
        _set(self, "gamma", check_number("gamma", self.gamma, low=0, low_inclusive=False, high=1))

    def momentum_schedule(self, base_momentum=0.8, max_momentum=0.9):
        """The momentum that PyTorch's ``cycle_momentum`` pairs with this schedule.

        It moves opposite to the lr: ``max_momentum`` when the lr is at ``base_lr``,
        ``base_momentum`` when the lr is at ``max_lr``; see :class:`CyclicMomentum`.
        """
        return CyclicMomentum(self, base_momentum, max_momentum)

    # Shared by lr and momentum: where update t sits in its cycle (h) and the height
    # scale; values are then formed in PyTorch's order, (top - bottom) * h * scale.
    def _phase(self, step):
        up = float(self.step_size_up)
        total = up + (up if self.step_size_down is None else float(self.step_size_down))
        ratio = up / total
        cycle = math.floor(1 + step / total)
        x = 1.0 + step / total - cycle
        h = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            return h, 1.0
        if self.mode == "triangular2":
            return h, 0.5 ** (cycle - 1)  # = 1 / 2 ** (cycle - 1), but underflows to 0 instead of overflowing
        return h, self.gamma**step

    def _phases(self, steps):
        up = float(self.step_size_up)
        total = up + (up if self.step_size_down is None else float(self.step_size_down))
        ratio = up / total
        cycle = np.floor(1 + steps / total)
        x = 1.0 + steps / total - cycle
        rising = x <= ratio
        h = np.where(rising, x, x - 1) / np.where(rising, ratio, ratio - 1)
        if self.mode == "triangular":
            return h, 1.0
        if self.mode == "triangular2":
            return h, 0.5 ** (cycle - 1)  # = 1 / 2 ** (cycle - 1), but underflows to 0 instead of overflowing
        return h, np.power(self.gamma, steps.astype(np.float64))

    def _value(self, step):
        h, scale = self._phase(step)
        return self.base_lr + (self.max_lr - self.base_lr) * h * scale

    def _values(self, steps):
        h, scale = self._phases(steps)
        return self.base_lr + (self.max_lr - self.base_lr) * h * scale


@_schedule
class CyclicMomentum(Schedule):
    """The momentum PyTorch's ``CyclicLR(cycle_momentum=True)`` uses, opposite to the lr.

    With ``h * scale`` the same fraction as in ``lr_schedule`` (see :class:`CyclicLR`)::

        momentum(t) = max_momentum - (max_momentum - base_momentum) * h * scale

    >>> m = CyclicLR(0.1, 0.5, step_size_up=2).momentum_schedule(0.8, 0.9)
    >>> [round(m(t), 6) for t in range(5)]
    [0.9, 0.85, 0.8, 0.85, 0.9]
    """

    lr_schedule: CyclicLR
    base_momentum: float = 0.8
    max_momentum: float = 0.9

    def __post_init__(self):
        if not isinstance(self.lr_schedule, CyclicLR):
            raise TypeError(f"lr_schedule must be a CyclicLR, got {self.lr_schedule!r}")
        base, top = _momentum_bounds(self.base_momentum, self.max_momentum)
        _set(self, "base_momentum", base)
        _set(self, "max_momentum", top)

    def _value(self, step):
        h, scale = self.lr_schedule._phase(step)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * h * scale

    def _values(self, steps):
        h, scale = self.lr_schedule._phases(steps)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * h * scale


def _anneal(start, end, pct, strategy, cos):
    if strategy == "cos":
        return end + (start - end) / 2.0 * (cos(math.pi * pct) + 1)
    return (end - start) * pct + start


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
    :meth:`momentum_schedule` gives its ``cycle_momentum``.

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

    def __post_init__(self):
        _set(self, "max_lr", _positive("max_lr", self.max_lr))
        total_steps = _integer("total_steps", self.total_steps, 1)
        _set(self, "total_steps", total_steps)
        pct_start = check_number(
            "pct_start", self.pct_start, low=0, high=1, low_inclusive=False, high_inclusive=False
        )
        _set(self, "pct_start", pct_start)
        _set(self, "div_factor", _positive("div_factor", self.div_factor))
        _set(self, "final_div_factor", _positive("final_div_factor", self.final_div_factor))
        if self.anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy ({self.anneal_strategy!r}) must be 'cos' or 'linear'")
        _set(self, "three_phase", _flag("three_phase", self.three_phase))
        warmup_end = float(pct_start * total_steps) - 1
        if warmup_end == 0.0:
            raise ValueError(
                f"pct_start * total_steps ({pct_start} * {total_steps}) is 1: the warm-up "
                "phase would start and end at step 0; choose another pct_start"
            )
        if self.three_phase:
            ends = (warmup_end, float(2 * pct_start * total_steps) - 2, total_steps - 1)
        else:
            ends = (warmup_end, total_steps - 1)
        _set(self, "_phase_ends", ends)

    def momentum_schedule(self, base_momentum=0.85, max_momentum=0.95):
        """The momentum that PyTorch's ``cycle_momentum`` pairs with this schedule.

        It anneals ``max_momentum -> base_momentum`` while the lr warms up, then back to
        ``max_momentum`` (and stays there in a third phase); see :class:`OneCycleMomentum`.
        """
        return OneCycleMomentum(self, base_momentum, max_momentum)

    def _check_end(self, last_step):
        if last_step >= self.total_steps:
            raise ValueError(
                f"step {last_step} is past the end of this OneCycle schedule: it was "
                f"configured for total_steps={self.total_steps} updates "
                f"(steps 0..{self.total_steps - 1})"
            )

    def _lr_points(self):
        initial_lr = self.max_lr / self.div_factor
        min_lr = initial_lr / self.final_div_factor
        if self.three_phase:
            return (initial_lr, self.max_lr, initial_lr, min_lr)
        return (initial_lr, self.max_lr, min_lr)

    def _anneal_one(self, step, points):
        # points[i] -> points[i + 1] during phase i, as PyTorch walks its phases.
        start_step = 0.0
        last = len(self._phase_ends) - 1
        for i, end_step in enumerate(self._phase_ends):
            if step <= end_step or i == last:
                pct = (step - start_step) / (end_step - start_step)
                return _anneal(points[i], points[i + 1], pct, self.anneal_strategy, math.cos)
            start_step = end_step

    def _anneal_many(self, steps, points):
        values = np.empty(steps.shape)
        todo = np.ones(steps.shape, dtype=bool)
        start_step = 0.0
        last = len(self._phase_ends) - 1
        for i, end_step in enumerate(self._phase_ends):
            here = todo & (steps <= end_step) if i < last else todo
            pct = (steps[here] - start_step) / (end_step - start_step)
            values[here] = _anneal(points[i], points[i + 1], pct, self.anneal_strategy, np.cos)
            todo &= ~here
            start_step = end_step
        return values

    def _value(self, step):
        self._check_end(step)
        return self._anneal_one(step, self._lr_points())

    def _values(self, steps):
        if steps.size:
            self._check_end(int(steps.max()))
        return self._anneal_many(steps, self._lr_points())


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

    def __post_init__(self):
        if not isinstance(self.lr_schedule, OneCycle):
            raise TypeError(f"lr_schedule must be a OneCycle, got {self.lr_schedule!r}")
        base, top = _momentum_bounds(self.base_momentum, self.max_momentum)
        _set(self, "base_momentum", base)
        _set(self, "max_momentum", top)

    def _points(self):
        points = (self.max_momentum, self.base_momentum, self.max_momentum)
        return points + (self.max_momentum,) if self.lr_schedule.three_phase else points

    def _value(self, step):
        self.lr_schedule._check_end(step)
        return self.lr_schedule._anneal_one(step, self._points())

    def _values(self, steps):
        if steps.size:
            self.lr_schedule._check_end(int(steps.max()))
        return self.lr_schedule._anneal_many(steps, self._points())


# --- composition ----------------------------------------------------------------------


@_schedule
class LinearWarmup(Schedule):
    """A linear warmup from ``start_lr``, then another schedule (shifted to start after it).

    ``lr(t) = start_lr + (schedule(0) - start_lr) * t / warmup_steps`` for
    ``t < warmup_steps``, and ``schedule(t - warmup_steps)`` afterwards.

    >>> s = LinearWarmup(StepDecay(0.1, step_size=10), warmup_steps=4)
    >>> [round(s(t), 6) for t in (0, 1, 2, 4, 13, 14)]
    [0.0, 0.025, 0.05, 0.1, 0.1, 0.01]
    """

    schedule: Schedule
    warmup_steps: int
    start_lr: float = 0.0
    _target: float = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.schedule, Schedule):
            raise TypeError(f"schedule must be a Schedule, got {self.schedule!r}")
        _set(self, "warmup_steps", _integer("warmup_steps", self.warmup_steps, 1))
        _set(self, "start_lr", _non_negative("start_lr", self.start_lr))
        _set(self, "_target", self.schedule(0))

    def _value(self, step):
        if step < self.warmup_steps:
            return self.start_lr + (self._target - self.start_lr) * step / self.warmup_steps
        return self.schedule._value(step - self.warmup_steps)

    def _values(self, steps):
        lrs = self.start_lr + (self._target - self.start_lr) * steps / self.warmup_steps
        after = steps >= self.warmup_steps
        if after.any():
            lrs[after] = self.schedule._values(steps[after] - self.warmup_steps)
        return lrs
