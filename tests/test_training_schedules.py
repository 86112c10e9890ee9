"""Schedules drive fit end to end: a one-cycle run of exactly total_steps updates finishes cleanly."""

import math
import warnings

import numpy as np
import pytest

from lrcourse import data
from lrcourse.callbacks import Callback, ReduceLROnPlateau
from lrcourse.losses import SoftmaxCrossEntropy
from lrcourse.nn import mlp
from lrcourse.optim import SGD
from lrcourse.schedules import CyclicLR, OneCycle
from lrcourse.training import fit


class RecordMomentum(Callback):
    def on_train_begin(self, logs=None):
        self.momenta = []

    def on_batch_end(self, step, logs=None):
        self.momenta.append(self.optimizer.momentum(step))


def test_one_cycle_with_cyclical_momentum_runs_exactly_total_steps():
    X, y = data.moons(n_samples=200, rng=0)
    epochs, batch_size = 5, 25
    total_steps = epochs * math.ceil(len(X) / batch_size)  # 40 updates
    schedule = OneCycle(max_lr=0.5, total_steps=total_steps)
    momentum = schedule.momentum_schedule(base_momentum=0.85, max_momentum=0.95)
    model = mlp([2, 16, 2], rng=0)
    opt = SGD(model.parameters(), lr=schedule, momentum=momentum)
    recorder = RecordMomentum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divergence warning, nothing else
        history = fit(model, SoftmaxCrossEntropy(), opt, X, y, epochs=epochs, batch_size=batch_size,
                      validation_data=(X, y), callbacks=[recorder], rng=0)
    assert opt.iterations == total_steps and len(history.batch_lr) == total_steps
    # OneCycle by hand: starts at max_lr / div_factor, peaks at max_lr at step 0.3 * 40 - 1 = 11,
    # ends at initial_lr / final_div_factor on the last update (step 39)
    assert history.batch_lr[0] == pytest.approx(0.5 / 25, rel=1e-12)
    assert history.batch_lr[11] == pytest.approx(0.5, rel=1e-12)
    assert history.batch_lr[-1] == pytest.approx(0.5 / 25 / 1e4, rel=1e-12)
    assert recorder.momenta[0] == pytest.approx(0.95) and recorder.momenta[11] == pytest.approx(0.85)
    assert history.history["lr"][-1] == history.batch_lr[-1]
    assert len(history.history["val_loss"]) == epochs
    with pytest.raises(ValueError, match="total_steps=40"):
        opt.step()  # a 41st update is past the schedule


def test_reduce_on_plateau_scales_a_cyclic_schedule():
    X, y = data.moons(n_samples=100, rng=0)
    schedule = CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4)
    model = mlp([2, 8, 2], rng=0)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=schedule), X, y, epochs=3,
                  batch_size=25, callbacks=[cb], rng=0)
    steps = np.arange(12)
    scale = np.repeat([1.0, 1.0, 0.5], 4)  # halved after epoch 1 (epoch 0 only sets the best value)
    np.testing.assert_allclose(history.batch_lr, schedule(steps) * scale, rtol=1e-12)
