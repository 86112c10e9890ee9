"""Gradient checking: compare backprop's gradients with centred finite differences.

``df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, accurate to O(eps**2). Use float64:
in float32 the rounding error of ``f`` swamps the difference.

>>> import numpy as np
>>> x = np.array([1.0, 2.0])
>>> numerical_gradient(lambda v: float(np.sum(v ** 2)), x).round(6).tolist()
[2.0, 4.0]
"""

import numpy as np

__all__ = ["numerical_gradient", "rel_error", "check_gradients"]


def numerical_gradient(f, x, eps=1e-6):
    """Centred finite-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed in place one entry at a time and restored, so ``f`` may read it
    indirectly (for example a layer's weight array).
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def rel_error(a, b):
    """Relative difference of two arrays: ``||a - b|| / (||a|| + ||b||)`` (0 when both are zero).

    Measured over the whole array rather than entry by entry: an entry that is zero up to
    rounding would otherwise dominate, since a finite difference carries an absolute error of
    about ``1e-16 * |f| / eps`` from rounding. Below 1e-6 the gradients agree; above 1e-3
    there is almost always a bug.

    >>> rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    >>> round(rel_error(np.array([3.0, 4.0]), np.array([3.0, 4.5])), 4)  # 0.5 / (5 + 5.4083)
    0.048
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def check_gradients(model, loss, X, y, eps=1e-6):
    """Relative error (:func:`rel_error`) between backprop and finite differences, per parameter.

    >>> from lrcourse.nn import mlp
    >>> from lrcourse.losses import SoftmaxCrossEntropy
    >>> rng = np.random.default_rng(0)
    >>> model = mlp([3, 4, 2], rng=0, dtype=np.float64)
    >>> errors = check_gradients(model, SoftmaxCrossEntropy(), rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1]))
    >>> max(errors.values()) < 1e-6
    True
    """
    X = np.asarray(X)
    if model.dtype != np.float64 or X.dtype != np.float64:
        raise TypeError("check_gradients needs a float64 model and float64 X (build it with dtype=np.float64)")

    def f(_):
        return loss.forward(model.forward(X), y)

    f(None)
    model.backward(loss.backward())
    analytic = {name: p.grad.copy() for name, p in model.named_parameters()}
    return {name: rel_error(analytic[name], numerical_gradient(f, p.value, eps))
            for name, p in model.named_parameters()}
