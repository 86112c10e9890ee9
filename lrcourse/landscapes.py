"""Optimisation landscapes: 2-D functions to watch an optimizer walk on, and the walk itself.

Lessons 03, 04 and 07 draw an optimizer's path over the contours of these functions (with
:func:`lrcourse.plot.trajectory`): the quadratic bowl shows the ``lr < 2 / L`` stability limit,
the Rosenbrock valley why momentum helps.

>>> from lrcourse.optim import SGD
>>> descent_path(Quadratic(a=1.0, b=10.0), lambda p: SGD(p, lr=0.19), steps=3).shape
(4, 2)
"""

import numpy as np

from .nn import Parameter
from .utils import check_number, check_positive_int

__all__ = ["Quadratic", "Rosenbrock", "descent_path"]


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
        self.a = check_number("a", a, low=0, low_inclusive=False)
        self.b = check_number("b", b, low=0, low_inclusive=False)
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
        self.a, self.b = check_number("a", a), check_number("b", b)
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
