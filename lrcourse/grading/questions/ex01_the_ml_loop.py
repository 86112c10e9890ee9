"""Exercise 01 · The machine-learning loop: loss, gradient, update, repeat.

Model throughout: a line ``pred = w * x + b`` fitted by full-batch gradient descent on the mean squared
error, starting from ``w = b = 0``.

>>> float(_mse(np.array([0.5, 1.5, -1.0]), np.ones(3)))
1.5
"""

import numpy as np

from ..checks import Case, Exercise, Question


def _mse(pred, target):
    return float(np.mean((np.asarray(pred, float) - np.asarray(target, float)) ** 2))


def _mse_gradient(pred, target):
    pred, target = np.asarray(pred, float), np.asarray(target, float)
    return 2.0 * (pred - target) / pred.size


def _gd_step(w, grad, lr):
    return np.asarray(w, float) - lr * np.asarray(grad, float)


def _line_descent(x, y, lr, epochs):
    """All (w, b) visited and the loss at each, from w = b = 0."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = b = 0.0
    losses = []
    for _ in range(epochs):
        error = w * x + b - y
        losses.append(np.mean(error ** 2))
        w, b = w - lr * np.mean(2 * error * x), b - lr * np.mean(2 * error)
    losses.append(np.mean((w * x + b - y) ** 2))
    return (float(w), float(b)), np.array(losses)


def _fit_line(x, y, lr, epochs):
    return _line_descent(x, y, lr, epochs)[0]


def _loss_history(x, y, lr, epochs):
    return _line_descent(x, y, lr, epochs)[1]


_x = np.linspace(-1.0, 1.0, 9)
_y = 3.0 * _x + 0.5
_x_noisy = np.random.default_rng(1).uniform(0.0, 2.0, size=12)
_y_noisy = -2.0 * _x_noisy + 1.0 + np.random.default_rng(2).normal(0.0, 0.1, size=12)

EXERCISE = Exercise("01_the_ml_loop", "The machine-learning loop", (
    Question("q1", "mse", ("pred", "target"), _mse, title="Mean squared error", cases=(
        Case((np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))),
        Case((np.array([0.5, 1.5, -1.0]), np.array([1.0, 1.0, 1.0]))),
        Case((np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [0.0, 8.0]]))),
    ), hint="average the squared differences over every element (np.mean)."),
    Question("q2", "mse_gradient", ("pred", "target"), _mse_gradient, title="Gradient of the MSE", cases=(
        Case((np.array([0.5, 1.5, -1.0]), np.array([1.0, 1.0, 1.0]))),
        Case((np.array([2.0]), np.array([-1.0]))),
        Case((np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [0.0, 8.0]]))),
    ), hint="d/dpred of mean((pred - target)**2) is 2 * (pred - target) / N, N the number of elements."),
    Question("q3", "gd_step", ("w", "grad", "lr"), _gd_step, title="One gradient-descent step", cases=(
        Case((np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1)),
        Case((np.array([3.0]), np.array([6.0]), 0.5)),
        Case((np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, -1.0], [0.0, 2.0]]), 0.0)),
        Case((np.array([0.2, 0.4, 0.6]), np.array([-1.0, 0.0, 1.0]), 2.5)),
    ), hint="step against the gradient: w - lr * grad, as a new array."),
    Question("q4", "fit_line", ("x", "y", "lr", "epochs"), _fit_line, title="The whole loop", cases=(
        Case((_x, _y, 0.1, 0)),
        Case((_x, _y, 0.1, 1)),
        Case((_x, _y, 0.1, 200)),
        Case((_x_noisy, _y_noisy, 0.05, 50)),
        Case((_x, _y, 1.6, 10)),
    ), hint="start from w = b = 0; each epoch: predict, take the MSE gradient w.r.t. w and b, update both "
            "with the old values."),
    Question("q5", "loss_history", ("x", "y", "lr", "epochs"), _loss_history, title="Watching the loss", cases=(
        Case((_x, _y, 0.1, 0)),
        Case((_x, _y, 0.1, 5)),
        Case((_x, _y, 1.6, 8)),
        Case((_x_noisy, _y_noisy, 0.05, 30)),
    ), rtol=1e-6, hint="epochs + 1 values: the loss before every update, then the loss after the last one."),
))
