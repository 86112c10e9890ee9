"""Exercise 06 · The learning-rate range test: the sweep, smoothing, stopping and suggestions.

Conventions of :mod:`lrcourse.rangetest` (after pytorch-lr-finder and fastai):

* the sweep: ``lr_i = start_lr * (end_lr / start_lr) ** (i / (N - 1))`` for ``i = 0 .. N - 1``
* smoothing: ``s_0 = l_0``, ``s_i = smooth_f * l_i + (1 - smooth_f) * s_(i-1)``
* stopping: after the first ``i`` with ``l_i`` not finite or ``s_i > diverge_th * min(s_0 .. s_i)``;
  that point is kept
* suggestions, on the points ``skip_start .. len - skip_end - 1``: ``minimum`` = a tenth of the lr with
  the lowest smoothed loss; ``steepest`` = the lr where ``np.gradient`` of the smoothed loss is lowest

>>> _sweep_lrs(1e-3, 1e1, 5).tolist()
[0.001, 0.01, 0.1, 1.0, 10.0]
"""

import math

import numpy as np

from ..checks import Case, Exercise, Question


def _sweep_lrs(start_lr, end_lr, num_iter):
    return np.geomspace(start_lr, end_lr, num_iter)


def _smooth_losses(losses, smooth_f=0.05):
    smoothed = np.empty(len(losses))
    for i, loss in enumerate(losses):
        smoothed[i] = loss if i == 0 else smooth_f * loss + (1 - smooth_f) * smoothed[i - 1]
    return smoothed


def _sweep_length(losses, smooth_f=0.05, diverge_th=5.0):
    best = math.inf
    smoothed = None
    for i, loss in enumerate(losses):
        smoothed = loss if i == 0 else smooth_f * loss + (1 - smooth_f) * smoothed
        best = min(best, smoothed)
        if not math.isfinite(loss) or smoothed > diverge_th * best:
            return i + 1
    return len(losses)


def _window(smoothed, skip_start, skip_end):
    return np.asarray(smoothed, float)[skip_start:len(smoothed) - skip_end]


def _suggest_minimum(lrs, smoothed, skip_start=0, skip_end=0):
    index = skip_start + int(np.argmin(_window(smoothed, skip_start, skip_end)))
    return float(lrs[index]) / 10


def _suggest_steepest(lrs, smoothed, skip_start=10, skip_end=5):
    index = skip_start + int(np.argmin(np.gradient(_window(smoothed, skip_start, skip_end))))
    return float(lrs[index])


def _simulated_sweep(num_iter, seed, valley=-2.0):
    """A range-test-like curve: flat, a fall centred near ``10**valley``, then a blow-up; with noise."""
    lrs = np.geomspace(1e-6, 10.0, num_iter)
    x = np.log10(lrs)
    losses = 2.3 - 1.5 * (1 + np.tanh(2 * (x - valley + 1.5))) / 2 + 0.2 * np.exp(3 * (x - valley))
    losses = losses + np.random.default_rng(seed).normal(0.0, 0.05, num_iter)
    return lrs, losses


_lrs, _losses = _simulated_sweep(60, seed=6)
_lrs2, _losses2 = _simulated_sweep(100, seed=7, valley=-3.0)
_smoothed = _smooth_losses(_losses)
_smoothed2 = _smooth_losses(_losses2, 0.2)
_exploding = np.concatenate([_losses2[:70], [np.inf, 3.0]])

EXERCISE = Exercise("06_lr_range_test", "The learning-rate range test", (
    Question("q1", "sweep_lrs", ("start_lr", "end_lr", "num_iter"), _sweep_lrs, title="The sweep", cases=(
        Case((1e-3, 10.0, 5)),
        Case((1e-7, 10.0, 100)),
        Case((0.5, 2.0, 2)),
    ), hint="num_iter values, evenly spaced on a log axis: start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))."),
    Question("q2", "smooth_losses", ("losses", "smooth_f"), _smooth_losses, title="Smoothing the loss", cases=(
        Case((np.array([1.0, 3.0, 2.0]), 0.5)),
        Case((_losses, 0.05)),
        Case((_losses2, 1.0)),
    ), hint="an exponential moving average that starts at the first loss: "
            "s = smooth_f * loss + (1 - smooth_f) * previous s."),
    Question("q3", "sweep_length", ("losses", "smooth_f", "diverge_th"), _sweep_length,
             title="When to stop the sweep", cases=(
        Case((np.array([2.0, 1.0, 0.5, 0.4]), 0.5, 5.0)),
        Case((np.array([2.0, 1.0, 0.5, 20.0, 30.0]), 0.5, 5.0)),
        Case((_losses, 0.05, 5.0)),
        Case((_losses2, 0.2, 2.0)),
        Case((_exploding, 0.05, 5.0)),
    ), hint="smooth as you go, keep the lowest smoothed loss so far, and stop (keeping that point) at the "
            "first non-finite raw loss or smoothed loss above diverge_th times that lowest one; return how "
            "many points were kept."),
    Question("q4", "suggest_minimum", ("lrs", "smoothed", "skip_start", "skip_end"), _suggest_minimum,
             title="The 'minimum' suggestion", cases=(
        Case((np.array([0.001, 0.01, 0.1, 1.0]), np.array([2.0, 1.0, 0.5, 3.0]), 0, 0)),
        Case((_lrs, _smoothed, 6, 5)),
        Case((_lrs2, _smoothed2, 10, 5)),
        Case((np.array([0.001, 0.01, 0.1, 1.0]), np.array([0.1, 1.0, 0.5, 3.0]), 1, 1)),
    ), hint="look only at smoothed[skip_start : len - skip_end]; take the lr of its lowest point (mind the "
            "offset skip_start) and divide it by 10."),
    Question("q5", "suggest_steepest", ("lrs", "smoothed", "skip_start", "skip_end"), _suggest_steepest,
             title="The 'steepest' suggestion", cases=(
        Case((np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0]), np.array([2.0, 1.9, 1.0, 0.8, 2.0]), 0, 0)),
        Case((_lrs, _smoothed, 10, 5)),
        Case((_lrs2, _smoothed2, 10, 5)),
    ), hint="np.gradient of the smoothed losses in the same window as q4; the lr where it is most negative."),
))
