"""Exercise 08 · Putting it together: batch size and lr, early stopping, plateaus, and a full recipe.

* scaling the lr with the batch size: linear (Goyal et al. 2017) or square root (Krizhevsky 2014)
* early stopping and reduce-on-plateau with the semantics of Keras (and :mod:`lrcourse.callbacks`)
* a recipe: a one-cycle schedule whose peak comes from a range test, then a model trained with it

>>> _early_stopping([1.0, 0.8, 0.7, 0.71, 0.69, 0.7, 0.72, 0.73], patience=2)
(6, 4)
"""

import math

import numpy as np

from ..checks import Case, Exercise, Question
from .ex07_cyclical_learning_rates import _one_cycle


def _scale_lr(base_lr, base_batch_size, batch_size, rule="linear"):
    ratio = batch_size / base_batch_size
    if rule == "linear":
        return base_lr * ratio
    if rule == "sqrt":
        return base_lr * math.sqrt(ratio)
    raise ValueError(f"rule must be 'linear' or 'sqrt', got {rule!r}")


def _early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        wait += 1
        if loss + min_delta < best:
            best, best_epoch, wait = loss, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch, best_epoch
    return None, best_epoch


def _plateau_lrs(val_losses, lr, factor=0.1, patience=2, min_lr=0.0):
    best, wait, lrs = math.inf, 0, []
    for loss in val_losses:
        if loss < best:
            best, wait = loss, 0
        else:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr, wait = max(lr * factor, min_lr), 0
        lrs.append(lr)
    return np.array(lrs)


def _one_cycle_recipe(lrs, smoothed, total_steps):
    max_lr = float(lrs[int(np.argmin(smoothed))]) / 10
    return np.array([_one_cycle(step, max_lr, total_steps) for step in range(total_steps)])


def _train_logistic_regression(X, y, lrs):
    X, y = np.asarray(X, float), np.asarray(y, float)
    w, b = np.zeros(X.shape[1]), 0.0
    for lr in lrs:
        p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
        w = w - lr * X.T @ (p - y) / len(y)
        b = b - lr * np.mean(p - y)
    return w, float(b)


_losses = [1.0, 0.8, 0.7, 0.71, 0.69, 0.7, 0.72, 0.73]
_plateau = [1.0, 0.9, 0.95, 0.92, 0.85, 0.86, 0.87, 0.88, 0.89, 0.84, 0.9, 0.91]
_rng = np.random.default_rng(8)
_X = _rng.normal(size=(40, 3))
_y = (_X @ np.array([1.5, -2.0, 0.5]) + 0.3 + _rng.normal(0, 0.5, 40) > 0).astype(float)
_range_lrs = np.geomspace(1e-5, 10.0, 50)
_range_smoothed = 2.0 - np.exp(-((np.log10(_range_lrs) + 0.5) ** 2))

EXERCISE = Exercise("08_putting_it_together", "Putting it together", (
    Question("q1", "scale_lr", ("base_lr", "base_batch_size", "batch_size", "rule"), _scale_lr,
             title="Batch size and learning rate", cases=(
        Case((0.1, 256, 1024, "linear")),
        Case((0.1, 256, 64, "linear")),
        Case((0.1, 256, 1024, "sqrt")),
        Case((0.003, 32, 32, "sqrt")),
    ), hint="'linear': multiply base_lr by batch_size / base_batch_size; 'sqrt': by its square root."),
    Question("q2", "early_stopping", ("val_losses", "patience", "min_delta"), _early_stopping,
             title="Early stopping", points=2, cases=(
        Case((_losses, 2, 0.0)),
        Case((_losses, 2, 0.015)),
        Case((_losses, 10, 0.0)),
        Case((_losses, 0, 0.0)),
        Case(([0.5, 0.5, 0.5], 1, 0.0)),
    ), hint="Keras' rule: every epoch wait += 1; an improvement (loss + min_delta < best) records best "
            "and best_epoch and sets wait = 0; otherwise stop once wait >= patience (never at epoch 0). "
            "Return (stopped_epoch or None, best_epoch)."),
    Question("q3", "plateau_lrs", ("val_losses", "lr", "factor", "patience", "min_lr"), _plateau_lrs,
             title="Reduce on plateau", points=2, cases=(
        Case((_plateau, 0.1, 0.5, 2, 0.0)),
        Case((_plateau, 0.1, 0.1, 1, 0.001)),
        Case((_plateau, 0.1, 0.5, 20, 0.0)),
    ), hint="one lr per epoch, the lr in use after that epoch's check: an improvement (loss < best) resets "
            "the wait; otherwise wait += 1 and, once wait >= patience and lr > min_lr, "
            "lr = max(lr * factor, min_lr) and wait = 0."),
    Question("q4", "one_cycle_recipe", ("lrs", "smoothed", "total_steps"), _one_cycle_recipe,
             title="From a range test to a one-cycle schedule", cases=(
        Case((_range_lrs, _range_smoothed, 100)),
        Case((np.array([0.01, 0.1, 1.0]), np.array([1.0, 0.5, 0.8]), 10)),
    ), hint="max_lr = (lr at the lowest smoothed loss) / 10, then the one-cycle lr of exercise 07 with "
            "PyTorch's defaults for every step 0 .. total_steps - 1."),
    Question("q5", "train_logistic_regression", ("X", "y", "lrs"), _train_logistic_regression,
             title="Training with a schedule", points=2, cases=(
        Case((_X, _y, np.full(50, 0.5))),
        Case((_X, _y, _one_cycle_recipe(_range_lrs * 100, _range_smoothed, 60))),
        Case((_X, _y, np.array([]))),
    ), hint="w = zeros, b = 0; for each lr: p = sigmoid(X @ w + b), then w -= lr * X.T @ (p - y) / N and "
            "b -= lr * mean(p - y) (both from the same p). Return (w, b)."),
))
