"""Small shared helpers: random generators and argument checking.

Every public function of the engine checks its arguments with these, so a bad value always gets
the same kind of message: a ``TypeError`` or ``ValueError`` naming the parameter, the value and
what was expected.

>>> check_number("lr", -1, low=0)
Traceback (most recent call last):
...
ValueError: lr must be >= 0, got -1
"""

import math
import numbers

import numpy as np


def check_rng(rng=None):
    """Return a ``numpy.random.Generator`` for ``rng`` (None, an int seed or a Generator).

    >>> bool(check_rng(0).integers(10) == check_rng(0).integers(10))
    True
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {rng!r}")


def check_number(name, value, *, low=None, high=None, low_inclusive=True, high_inclusive=True):
    """Validate that ``value`` is a finite real number within the given bounds and return it as float.

    >>> check_number("lr", 0.1, low=0)
    0.1
    >>> check_number("momentum", 1.0, low=0, high=1, high_inclusive=False)
    Traceback (most recent call last):
    ...
    ValueError: momentum must be < 1, got 1.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None:
        if low_inclusive and value < low:
            raise ValueError(f"{name} must be >= {low}, got {value!r}")
        if not low_inclusive and value <= low:
            raise ValueError(f"{name} must be > {low}, got {value!r}")
    if high is not None:
        if high_inclusive and value > high:
            raise ValueError(f"{name} must be <= {high}, got {value!r}")
        if not high_inclusive and value >= high:
            raise ValueError(f"{name} must be < {high}, got {value!r}")
    return float(value)


def check_positive_int(name, value, *, minimum=1):
    """Validate an integer count such as ``epochs`` or ``batch_size`` (``>= minimum``).

    >>> check_positive_int("epochs", 3)
    3
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_flag(name, value):
    """Validate a boolean option such as ``staircase`` or ``nesterov``.

    >>> check_flag("staircase", "yes")
    Traceback (most recent call last):
    ...
    TypeError: staircase must be True or False, got 'yes'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name, value, choices):
    """Validate that ``value`` is one of ``choices``.

    >>> check_choice("mode", "up", ("min", "max"))
    Traceback (most recent call last):
    ...
    ValueError: mode must be one of 'min', 'max', got 'up'
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_number_or_schedule(name, value, **bounds):
    """A hyperparameter that may change during training: a number (checked as by
    :func:`check_number`) or a schedule, any callable ``step -> value`` (checked when evaluated).

    >>> check_number_or_schedule("momentum", 0.9, low=0, high=1, high_inclusive=False)
    0.9
    >>> check_number_or_schedule("lr", "0.1", low=0)
    Traceback (most recent call last):
    ...
    TypeError: lr must be a number or a schedule (a callable step -> value), got '0.1'
    """
    if callable(value):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number or a schedule (a callable step -> value), got {value!r}")
    return check_number(name, value, **bounds)
