"""Sharpness: the largest eigenvalue of the loss Hessian, the L of lesson 04's limit lr < 2/L.

The Hessian of a network's loss has one row per weight, far too many to build. Its top eigenvalue
needs only products ``H v``, and the engine's gradients give those by a centred finite difference::

    H v ~ (g(w + eps v) - g(w - eps v)) / (2 eps)        (g = gradient of the loss, |v| = 1)

Power iteration repeats ``v <- H v / |H v|``; the Rayleigh quotient ``v . H v`` converges to the
eigenvalue of largest magnitude, which near a minimum (or anywhere training goes) is the largest
curvature. Use a float64 model: in float32 the rounding of the gradients swamps the difference.

>>> import numpy as np
>>> from lrcourse.nn import Dense, Sequential
>>> from lrcourse.losses import MeanSquaredError
>>> X = np.array([[1.0, 0.0], [0.0, 2.0]]); y = np.zeros((2, 1))
>>> model = Sequential(Dense(2, 1, dtype=np.float64, rng=0))
>>> # MSE of a linear model: H = (2/n) X1^T X1, X1 = X with a column of ones; n = 2 here, so
>>> # H = [[1, 0, 1], [0, 4, 2], [1, 2, 2]], eigenvalues 0 and the roots of t^2 - 7t + 9 = 0
>>> round(sharpness(model, MeanSquaredError(), X, y, rng=0), 4), round((7 + 13 ** 0.5) / 2, 4)
(5.3028, 5.3028)
"""

import numpy as np

from .utils import check_positive_int, check_rng

__all__ = ["loss_gradient", "hessian_vector_product", "sharpness"]


def _flat_values(model):
    return np.concatenate([p.value.ravel() for p in model.parameters()])


def _set_flat_values(model, flat):
    start = 0
    for p in model.parameters():
        p.value[...] = flat[start:start + p.value.size].reshape(p.value.shape)
        start += p.value.size


def loss_gradient(model, loss, X, y):
    """The gradient of ``loss`` on all of ``(X, y)`` (one batch) with respect to every weight, flat."""
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite loss is reported just below
        value = loss.forward(model.forward(np.asarray(X, dtype=model.dtype)), y)
    if not np.isfinite(value):
        raise ValueError(f"the loss is not finite ({value}): no curvature to measure")
    model.backward(loss.backward())
    return np.concatenate([p.grad.ravel() for p in model.parameters()]).astype(np.float64)


def hessian_vector_product(model, loss, X, y, v, eps=1e-4):
    """``H v`` by a centred difference of gradients along the unit vector ``v / |v|``, times ``|v|``.

    The model's weights are restored afterwards.
    """
    v = np.asarray(v, dtype=np.float64)
    norm = np.linalg.norm(v)
    if not norm > 0:
        raise ValueError("v must be a non-zero vector")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    w = _flat_values(model)
    if v.shape != w.shape:
        raise ValueError(f"v has shape {v.shape}, the model has {w.size} weights")
    direction = v / norm
    try:
        _set_flat_values(model, w + eps * direction)
        g_plus = loss_gradient(model, loss, X, y)
        _set_flat_values(model, w - eps * direction)
        g_minus = loss_gradient(model, loss, X, y)
    finally:
        _set_flat_values(model, w)
    return (g_plus - g_minus) / (2 * eps) * norm


def sharpness(model, loss, X, y, *, iters=100, tol=1e-4, eps=1e-4, v0=None, rng=None, return_vector=False):
    """The largest-magnitude eigenvalue of the Hessian of ``loss`` on ``(X, y)``, by power iteration.

    Stops when the Rayleigh quotient changes by less than ``tol`` (relative) between two iterations,
    or after ``iters`` iterations. ``v0`` (for example the vector returned by the previous call,
    with ``return_vector=True``) starts the iteration close to the answer, so that tracking the
    sharpness during training costs a few products per measurement instead of dozens.
    """
    iters = check_positive_int("iters", iters)
    size = sum(p.value.size for p in model.parameters())
    v = check_rng(rng).standard_normal(size) if v0 is None else np.array(v0, dtype=np.float64)
    v /= np.linalg.norm(v)
    estimate = None
    for _ in range(iters):
        hv = hessian_vector_product(model, loss, X, y, v, eps=eps)
        previous, estimate = estimate, float(v @ hv)
        norm = np.linalg.norm(hv)
        if norm == 0:
            break
        v = hv / norm
        if previous is not None and abs(estimate - previous) <= tol * abs(estimate):
            break
    return (estimate, v) if return_vector else estimate
