"""Datasets that ship with the course (nothing is downloaded), and a train/validation/test split.

>>> (X_train, y_train), (X_val, y_val), (X_test, y_test) = digits(rng=0)
>>> X_train.shape, X_train.dtype, int(y_train.max())
((1077, 64), dtype('float32'), 9)

The 2-D functions lessons optimise by hand (``Quadratic``, ``Rosenbrock``, ``descent_path``) live in
:mod:`lrcourse.landscapes`; they are importable from here too, where earlier lessons found them.
"""

import numpy as np

from .landscapes import Quadratic, Rosenbrock, descent_path  # noqa: F401  (re-exported, see above)
from .utils import check_flag, check_number, check_positive_int, check_rng

__all__ = ["digits", "moons", "spirals", "train_val_test_split"]


def _seed(rng):
    """An int seed for scikit-learn, drawn from ``rng`` (so a Generator also works)."""
    return int(check_rng(rng).integers(2**31 - 1))


def train_val_test_split(X, y, val_size=0.2, test_size=0.2, rng=0):
    """Split ``(X, y)`` into training, validation and test sets, stratified by class.

    Returns ``(X_train, y_train), (X_val, y_val), (X_test, y_test)``; ``val_size`` and
    ``test_size`` are fractions of all samples (60/20/20 by default).

    >>> X, y = np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20) % 2
    >>> [len(part_y) for _, part_y in train_val_test_split(X, y)]
    [12, 4, 4]
    """
    from sklearn.model_selection import train_test_split

    val_size = check_number("val_size", val_size, low=0, high=1, low_inclusive=False, high_inclusive=False)
    test_size = check_number("test_size", test_size, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if val_size + test_size >= 1:
        raise ValueError(f"val_size + test_size ({val_size} + {test_size}) must be < 1, to leave training data")
    seed = _seed(rng)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_size / (1 - test_size), stratify=y_rest, random_state=seed + 1)
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


def digits(rng=0, val_size=0.2, test_size=0.2):
    """scikit-learn's bundled 8x8 handwritten digits, scaled to [0, 1], split with stratification.

    Returns ``(X_train, y_train), (X_val, y_val), (X_test, y_test)``; 1797 images of 64 pixels,
    10 classes, 60/20/20 by default (see :func:`train_val_test_split`). ``X`` is float32, ``y`` int64.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return train_val_test_split((X / 16.0).astype(np.float32), y.astype(np.int64), val_size, test_size, rng)


def moons(n_samples=500, noise=0.2, rng=0, *, split=False):
    """Two interleaving half circles (scikit-learn's ``make_moons``), float32 ``X`` and int64 ``y``.

    Returns ``(X, y)``, or with ``split=True`` the three sets of :func:`train_val_test_split` (as :func:`digits`).

    >>> X, y = moons(n_samples=10)
    >>> X.shape, sorted(set(y.tolist()))
    ((10, 2), [0, 1])
    >>> (X_train, y_train), (X_val, y_val), _ = moons(n_samples=100, split=True)
    >>> len(X_train), len(X_val)
    (60, 20)
    """
    from sklearn.datasets import make_moons

    rng = check_rng(rng)
    X, y = make_moons(n_samples=check_positive_int("n_samples", n_samples), noise=check_number("noise", noise, low=0),
                      random_state=_seed(rng))
    return _maybe_split(X.astype(np.float32), y.astype(np.int64), split, rng)


def _maybe_split(X, y, do_split, rng):
    return train_val_test_split(X, y, rng=rng) if check_flag("split", do_split) else (X, y)


def spirals(n_samples=600, n_classes=3, noise=0.2, rng=0, *, split=False):
    """Interleaved spiral arms, one per class: a 2-D set no linear model can separate.

    Returns ``(X, y)``, or with ``split=True`` the three sets of :func:`train_val_test_split` (as :func:`digits`).

    >>> X, y = spirals(n_samples=90, n_classes=3)
    >>> X.shape, np.bincount(y).tolist()
    ((90, 2), [30, 30, 30])
    """
    check_positive_int("n_classes", n_classes, minimum=2)
    per_class = check_positive_int("n_samples", n_samples, minimum=n_classes) // n_classes
    noise = check_number("noise", noise, low=0)
    rng = check_rng(rng)
    X, y = [], []
    for k in range(n_classes):
        radius = np.linspace(0.05, 1.0, per_class)
        angle = np.linspace(k * 2 * np.pi / n_classes, k * 2 * np.pi / n_classes + 4.0, per_class)
        angle = angle + rng.standard_normal(per_class) * noise
        X.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y.append(np.full(per_class, k))
    return _maybe_split(np.concatenate(X).astype(np.float32), np.concatenate(y).astype(np.int64), split, rng)
