"""Datasets that ship with the course (nothing is downloaded) and 2-D functions to optimise.

>>> (X_train, y_train), (X_val, y_val), (X_test, y_test) = digits(rng=0)
>>> X_train.shape, X_train.dtype, int(y_train.max())
((1077, 64), dtype('float32'), 9)
"""

import numpy as np

from .nn import Parameter
from .utils import check_positive_int, check_rng

__all__ = ["digits", "moons", "spirals", "batches", "Quadratic", "Rosenbrock", "descent_path"]


def _seed(rng):
    """An int seed for scikit-learn, drawn from ``rng`` (so a Generator also works)."""
    return int(check_rng(rng).integers(2**31 - 1))


def digits(rng=0, val_size=0.2, test_size=0.2):
    """scikit-learn's bundled 8x8 handwritten digits, scaled to [0, 1], split with stratification.

    Returns ``(X_train, y_train), (X_val, y_val), (X_test, y_test)``; 1797 images of 64 pixels,
    10 classes, 60/20/20 by default. ``X`` is float32, ``y`` int64.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    y = y.astype(np.int64)
    seed = _seed(rng)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_size / (1 - test_size), stratify=y_rest, random_state=seed + 1)
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


def moons(n_samples=500, noise=0.2, rng=0):
    """Two interleaving half circles (scikit-learn's ``make_moons``), float32 ``X`` and int64 ``y``.

    >>> X, y = moons(n_samples=10)
    >>> X.shape, sorted(set(y.tolist()))
    ((10, 2), [0, 1])
    """
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=_seed(rng))
    return X.astype(np.float32), y.astype(np.int64)


def spirals(n_samples=600, n_classes=3, noise=0.2, rng=0):
    """Interleaved spiral arms, one per class: a 2-D set no linear model can separate.

    >>> X, y = spirals(n_samples=90, n_classes=3)
    >>> X.shape, np.bincount(y).tolist()
    ((90, 2), [30, 30, 30])
    """
    check_positive_int("n_classes", n_classes, minimum=2)
    per_class = check_positive_int("n_samples", n_samples, minimum=n_classes) // n_classes
    rng = check_rng(rng)
    X, y = [], []
    for k in range(n_classes):
        radius = np.linspace(0.05, 1.0, per_class)
        angle = np.linspace(k * 2 * np.pi / n_classes, k * 2 * np.pi / n_classes + 4.0, per_class)
        angle = angle + rng.standard_normal(per_class) * noise
        X.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y.append(np.full(per_class, k))
    return np.concatenate(X).astype(np.float32), np.concatenate(y).astype(np.int64)


def batches(X, y, batch_size=32, shuffle=True, rng=None):
    """Yield ``(X_batch, y_batch)`` mini-batches covering the data once (the last may be smaller).

    >>> X, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> [yb.tolist() for _, yb in batches(X, y, batch_size=2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    batch_size = check_positive_int("batch_size", batch_size)
    order = check_rng(rng).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def _scalar_or_array(value):
    return float(value) if np.ndim(value) == 0 else value


class Quadratic:
    """The bowl ``f(x, y) = (a x**2 + b y**2) / 2``; ill-conditioned when ``b >> a``.

    Its curvature is ``a`` along x and ``b`` along y, so gradient descent is stable only for
    ``lr < 2 / max(a, b)`` and converges slowest along the flat direction.

    >>> bowl = Quadratic(a=1.0, b=10.0)
    >>> bowl(np.array([1.0, 1.0])), bowl.gradient(np.array([1.0, 1.0])).tolist()
    (5.5, [1.0, 10.0])
    """

    def __init__(self, a=1.0, b=10.0):
        if a <= 0 or b <= 0:
            raise ValueError(f"a and b must be > 0, got a={a!r}, b={b!r}")
        self.a, self.b = float(a), float(b)
        self.minimum = np.array([0.0, 0.0])
        self.default_start = np.array([-4.0, 2.5])
        self.bounds = ((-5.0, 5.0), (-3.5, 3.5))
        self.name = f"quadratic bowl (a={self.a:g}, b={self.b:g})"

    @property
    def max_curvature(self):
        """The largest eigenvalue of the Hessian, ``L = max(a, b)``."""
        return max(self.a, self.b)

    def __call__(self, xy):
        xy = np.asarray(xy, dtype=float)
        return _scalar_or_array(0.5 * (self.a * xy[..., 0] ** 2 + self.b * xy[..., 1] ** 2))

    def gradient(self, xy):
        xy = np.asarray(xy, dtype=float)
        return np.stack([self.a * xy[..., 0], self.b * xy[..., 1]], axis=-1)


class Rosenbrock:
    """The banana-shaped valley ``f(x, y) = (a - x)**2 + b (y - x**2)**2``, minimum at ``(a, a**2)``.

    >>> Rosenbrock()(np.array([1.0, 1.0]))
    0.0
    """

    def __init__(self, a=1.0, b=100.0):
        self.a, self.b = float(a), float(b)
        self.minimum = np.array([self.a, self.a ** 2])
        self.default_start = np.array([-1.5, 2.0])
        self.bounds = ((-2.0, 2.0), (-1.0, 3.0))
        self.name = f"Rosenbrock (a={self.a:g}, b={self.b:g})"

    def __call__(self, xy):
        xy = np.asarray(xy, dtype=float)
        x, y = xy[..., 0], xy[..., 1]
        return _scalar_or_array((self.a - x) ** 2 + self.b * (y - x ** 2) ** 2)

    def gradient(self, xy):
        xy = np.asarray(xy, dtype=float)
        x, y = xy[..., 0], xy[..., 1]
        dx = -2 * (self.a - x) - 4 * self.b * x * (y - x ** 2)
        dy = 2 * self.b * (y - x ** 2)
        return np.stack([dx, dy], axis=-1)


def descent_path(fn, optimizer, start=None, steps=50):
    """Run an optimizer on a 2-D function and return the visited points, shape ``(n + 1, 2)``.

    ``optimizer`` is a factory ``params -> Optimizer``. The path stops early once the point is no
    longer finite or has left a box 100 times the size of ``fn.bounds`` (the run has diverged).

    >>> from lrcourse.optim import SGD
    >>> path = descent_path(Quadratic(1, 10), lambda p: SGD(p, lr=0.1), start=[1.0, 1.0], steps=2)
    >>> path.round(4).tolist()  # y shrinks by (1 - 0.1 * 10) = 0: the ideal step along y
    [[1.0, 1.0], [0.9, 0.0], [0.81, 0.0]]
    """
    steps = check_positive_int("steps", steps, minimum=0)
    start = fn.default_start if start is None else start
    point = Parameter(np.array(start, dtype=np.float64), name="xy")
    if point.value.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got shape {point.value.shape}")
    opt = optimizer([point])
    limit = 100 * max(abs(v) for pair in fn.bounds for v in pair)
    path = [point.value.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            point.grad[...] = fn.gradient(point.value)
            opt.step()
            path.append(point.value.copy())
            if not np.all(np.isfinite(point.value)) or np.max(np.abs(point.value)) > limit:
                break
    return np.array(path)
