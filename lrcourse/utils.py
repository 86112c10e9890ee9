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


def _count_non_finite(a):
    """How many entries of a numeric array are NaN or infinite (0 for integer arrays)."""
    if a.dtype.kind not in "fc":
        return 0
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):  # one pass, no temporary array: a finite sum means all are finite
            return 0
    return int(a.size - np.count_nonzero(np.isfinite(a)))


def check_data(X, y, name="X", dtype=None):
    """``X`` as a 2-D array (of ``dtype``) and ``y`` with as many rows, both finite.

    >>> check_data(np.array([[0.0, np.nan]]), [1])
    Traceback (most recent call last):
    ...
    ValueError: X holds 1 non-finite values (NaN or inf): this is a data problem, not a learning-rate
    one; remove or impute them before training
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples, features), got shape {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"{name} has {len(X)} rows but its targets have {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    if dtype is not None:
        X = X.astype(dtype, copy=False)
    for label, array in ((name, X), (f"the targets of {name}", y)):
        bad = _count_non_finite(array)
        if bad:
            raise ValueError(f"{label} holds {bad} non-finite values (NaN or inf): this is a data problem, "
                             "not a learning-rate one; remove or impute them before training")
    return X, y


def check_validation_data(validation_data, dtype=None):
    """``validation_data`` as a checked pair ``(X_val, y_val)`` (see :func:`check_data`)."""
    if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
        shape = getattr(validation_data, "shape", None)
        got = f"an array of shape {shape}" if shape is not None else repr(validation_data)
        raise TypeError(f"validation_data must be a pair (X_val, y_val), got {got}")
    return check_data(*validation_data, name="validation X", dtype=dtype)
