"""Small shared helpers: random generators and argument validation."""

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
    >>> check_number("lr", -1, low=0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
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
    """Validate an integer count such as ``epochs`` or ``batch_size``.

    >>> check_positive_int("epochs", 3)
    3
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)
