"""Exercise 04 · A fixed learning rate: when gradient descent converges, oscillates or blows up.

On ``f(w) = h w**2 / 2`` a step is ``w <- (1 - lr h) w``, so the error is multiplied by ``1 - lr h`` every
step; on ``f(w) = w.T H w / 2`` the same holds along each eigenvector of ``H`` with its eigenvalue.

>>> _behaviour(4.0, 0.375)
'oscillating'
>>> round(_best_fixed_lr(np.diag([1.0, 10.0])), 6)
0.181818
>>> round(_top_eigenvalue(np.array([[2.0, 1.0], [1.0, 2.0]]), 50), 6)  # eigenvalues 1 and 3
3.0
"""

import numpy as np

from ..checks import Case, Exercise, Question


def _gd_iterates(h, w0, lr, steps):
    factor = 1.0 - lr * h
    return w0 * factor ** np.arange(steps + 1)


def _behaviour(h, lr):
    product = lr * h
    if product <= 1:
        return "monotone"
    if product < 2:
        return "oscillating"
    return "unstable"


def _largest_stable_lr(H):
    return float(2.0 / np.linalg.eigvalsh(np.asarray(H, float)).max())


def _best_fixed_lr(H):
    eigenvalues = np.linalg.eigvalsh(np.asarray(H, float))
    return float(2.0 / (eigenvalues.min() + eigenvalues.max()))


def _steps_to_reach(h, w0, lr, tol, max_steps=10_000):
    w = w0
    for step in range(max_steps + 1):
        if abs(w) <= tol:
            return step
        w = w - lr * h * w
    return -1


def _top_eigenvalue(H, iters):
    H = np.asarray(H, float)
    v = np.ones(len(H)) / np.sqrt(len(H))
    for _ in range(iters):
        hv = H @ v
        v = hv / np.linalg.norm(hv)
    return float(v @ H @ v)


_rng = np.random.default_rng(4)
_A = _rng.normal(size=(3, 3))
_H3 = _A @ _A.T + 0.5 * np.eye(3)

EXERCISE = Exercise("04_fixed_learning_rate", "A fixed learning rate", (
    Question("q1", "gd_iterates", ("h", "w0", "lr", "steps"), _gd_iterates, title="Iterates on a parabola", cases=(
        Case((2.0, 1.0, 0.1, 3)),
        Case((2.0, 1.0, 0.75, 4)),
        Case((10.0, -3.0, 0.25, 6)),
        Case((1.0, 5.0, 0.5, 0)),
    ), hint="steps + 1 values starting with w0; each step is w - lr * h * w."),
    Question("q2", "behaviour", ("h", "lr"), _behaviour, title="Monotone, oscillating or unstable?", cases=(
        Case((4.0, 0.1)),
        Case((4.0, 0.25)),
        Case((4.0, 0.375)),
        Case((4.0, 0.5)),
        Case((10.0, 0.3)),
    ), hint="look at lr * h: up to 1 the sign of w never flips ('monotone'); between 1 and 2 it flips but "
            "shrinks ('oscillating'); from 2 on it never shrinks ('unstable')."),
    Question("q3", "largest_stable_lr", ("H",), _largest_stable_lr, title="The largest stable learning rate", cases=(
        Case((np.diag([1.0, 10.0]),)),
        Case((np.array([[2.0, 1.0], [1.0, 2.0]]),)),
        Case((_H3,)),
    ), hint="the direction with the largest curvature decides: 2 / (largest eigenvalue of H), "
            "np.linalg.eigvalsh gives the eigenvalues of a symmetric matrix."),
    Question("q4", "best_fixed_lr", ("H",), _best_fixed_lr, title="The best fixed learning rate", cases=(
        Case((np.diag([1.0, 10.0]),)),
        Case((np.array([[2.0, 1.0], [1.0, 2.0]]),)),
        Case((_H3,)),
    ), hint="the lr that makes the slowest direction and the fastest one shrink equally fast: "
            "|1 - lr * l_min| = |1 - lr * l_max| gives 2 / (l_min + l_max)."),
    Question("q5", "steps_to_reach", ("h", "w0", "lr", "tol", "max_steps"), _steps_to_reach,
             title="How many steps?", cases=(
        Case((1.0, 1.0, 0.1, 1e-3, 10_000)),
        Case((10.0, 1.0, 0.19, 1e-3, 10_000)),
        Case((1.0, 5e-4, 0.1, 1e-3, 10_000)),
        Case((4.0, 3.0, 0.25, 1e-6, 10_000)),
        Case((10.0, 2.0, 0.25, 1e-3, 100)),
        Case((1.0, 1.0, 0.001, 1e-3, 100)),
    ), hint="iterate the update and count the steps until |w| <= tol (0 if it already is); return -1 when "
            "max_steps steps are not enough."),
    Question("q6", "top_eigenvalue", ("H", "iters"), _top_eigenvalue, title="Sharpness by power iteration", cases=(
        Case((np.diag([1.0, 10.0]), 200)),
        Case((np.array([[2.0, 1.0], [1.0, 2.0]]), 200)),
        Case((_H3, 500)),
    ), hint="start from a vector with no zero entries, e.g. np.ones(n) / sqrt(n); repeat v = H @ v, "
            "v = v / norm(v); the eigenvalue is v @ H @ v."),
))
