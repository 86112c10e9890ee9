"""Exercise 03 · Gradient descent and optimizers: one update step of momentum, Nesterov, RMSprop and Adam.

Update equations as in PyTorch (and :mod:`lrcourse.optim`), without weight decay or dampening:

* momentum: ``v = momentum * v + g``; ``w = w - lr * v``
* Nesterov: ``v = momentum * v + g``; ``w = w - lr * (g + momentum * v)``
* RMSprop: ``s = alpha * s + (1 - alpha) * g**2``; ``w = w - lr * g / (sqrt(s) + eps)``
* Adam (step ``t`` from 1): ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g**2``;
  ``w = w - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``

* scaling the rate with the batch size: ``lr = base_lr * batch / base_batch`` (linear rule) or
  ``lr = base_lr * sqrt(batch / base_batch)`` (square-root rule)

>>> [a.tolist() for a in _momentum_step(np.array([1.0]), np.array([2.0]), np.array([1.0]), 0.1, 0.9)]
[[0.71], [2.9]]
>>> _scaled_lr(0.1, 32, 128, "linear"), _scaled_lr(0.1, 32, 128, "sqrt")
(0.4, 0.2)
"""

import numpy as np

from ..checks import Case, Exercise, Question


def _arrays(*values):
    return tuple(np.asarray(v, float) for v in values)


def _momentum_step(w, grad, velocity, lr, momentum):
    w, grad, velocity = _arrays(w, grad, velocity)
    velocity = momentum * velocity + grad
    return w - lr * velocity, velocity


def _nesterov_step(w, grad, velocity, lr, momentum):
    w, grad, velocity = _arrays(w, grad, velocity)
    velocity = momentum * velocity + grad
    return w - lr * (grad + momentum * velocity), velocity


def _rmsprop_step(w, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    w, grad, square_avg = _arrays(w, grad, square_avg)
    square_avg = alpha * square_avg + (1 - alpha) * grad ** 2
    return w - lr * grad / (np.sqrt(square_avg) + eps), square_avg


def _adam_step(w, grad, m, v, step, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    w, grad, m, v = _arrays(w, grad, m, v)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** step)
    v_hat = v / (1 - beta2 ** step)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _momentum_path(a, b, start, lr, momentum, steps):
    point = np.asarray(start, float)
    velocity = np.zeros(2)
    path = [point]
    for _ in range(steps):
        grad = np.array([a * point[0], b * point[1]])
        point, velocity = _momentum_step(point, grad, velocity, lr, momentum)
        path.append(point)
    return np.array(path)


_rng = np.random.default_rng(3)
_w, _g, _state = _rng.normal(size=(3, 5))
_square = _rng.uniform(0.0, 2.0, size=5)
_start = np.array([-4.0, 2.5])

def _scaled_lr(base_lr, base_batch, batch, rule):
    factor = batch / base_batch
    return float(base_lr * (factor if rule == "linear" else np.sqrt(factor)))


EXERCISE = Exercise("03_gradient_descent_and_optimizers", "Gradient descent and optimizers", (
    Question("q1", "momentum_step", ("w", "grad", "velocity", "lr", "momentum"), _momentum_step,
             title="SGD with momentum", cases=(
        Case((np.array([1.0]), np.array([2.0]), np.array([0.0]), 0.1, 0.9)),
        Case((np.array([1.0]), np.array([2.0]), np.array([1.0]), 0.1, 0.9)),
        Case((_w, _g, _state, 0.05, 0.99)),
        Case((_w, _g, _state, 0.05, 0.0)),
    ), hint="return (new_w, new_velocity): first velocity = momentum * velocity + grad, then step w by -lr * velocity."),
    Question("q2", "nesterov_step", ("w", "grad", "velocity", "lr", "momentum"), _nesterov_step,
             title="Nesterov momentum", cases=(
        Case((np.array([1.0]), np.array([2.0]), np.array([1.0]), 0.1, 0.9)),
        Case((_w, _g, _state, 0.05, 0.9)),
    ), hint="same velocity update as q1, but step along grad + momentum * velocity (PyTorch's form)."),
    Question("q3", "rmsprop_step", ("w", "grad", "square_avg", "lr", "alpha", "eps"), _rmsprop_step,
             title="RMSprop", cases=(
        Case((np.array([1.0]), np.array([2.0]), np.array([0.0]), 0.01, 0.99, 1e-8)),
        Case((_w, _g, _square, 0.001, 0.9, 1e-8)),
        Case((_w, np.zeros(5), np.zeros(5), 0.001, 0.99, 1e-8)),
    ), hint="return (new_w, new_square_avg); eps is added after the square root, as in PyTorch."),
    Question("q4", "adam_step", ("w", "grad", "m", "v", "step", "lr", "beta1", "beta2", "eps"), _adam_step,
             title="Adam", points=2, cases=(
        Case((np.array([1.0]), np.array([2.0]), np.array([0.0]), np.array([0.0]), 1, 0.1, 0.9, 0.999, 1e-8)),
        Case((_w, _g, 0.1 * _state, _square, 7, 0.001, 0.9, 0.999, 1e-8)),
        Case((_w, _g, 0.1 * _state, _square, 7, 0.01, 0.5, 0.9, 1e-3)),
    ), hint="return (new_w, new_m, new_v); bias-correct m and v with 1 - beta**step (step counts from 1) "
            "before the update, but return the uncorrected m and v."),
    Question("q5", "momentum_path", ("a", "b", "start", "lr", "momentum", "steps"), _momentum_path,
             title="Momentum on the quadratic bowl", cases=(
        Case((1.0, 10.0, _start, 0.1, 0.0, 5)),
        Case((1.0, 10.0, _start, 0.05, 0.9, 30)),
        Case((2.0, 3.0, np.array([1.0, -1.0]), 0.3, 0.5, 0)),
    ), hint="steps + 1 points, shape (steps + 1, 2); the gradient of (a x**2 + b y**2) / 2 is (a x, b y); "
            "the velocity starts at zero; reuse momentum_step."),
    Question("q6", "scaled_lr", ("base_lr", "base_batch", "batch", "rule"), _scaled_lr,
             title="Scaling the rate with the batch size", cases=(
        Case((0.1, 32, 128, "linear")),
        Case((0.1, 32, 8, "linear")),
        Case((0.005, 32, 512, "sqrt")),
        Case((0.005, 32, 8, "sqrt")),
        Case((0.3, 64, 64, "linear")),
    ), hint="the batch grows by the factor batch / base_batch; the linear rule multiplies the rate by that "
            "factor, the square-root rule by its square root."),
))
