"""Callbacks reproduce Keras 3's decisions for a given metric sequence (worked out by hand below)."""

import numpy as np
import pytest

from lrcourse.callbacks import EarlyStopping, ReduceLROnPlateau, TerminateOnNaN
from lrcourse.nn import Parameter, mlp
from lrcourse.optim import SGD


def drive(callback, values, monitor="val_loss", model=None):
    """Feed one metric value per epoch, as fit does; return the epochs run."""
    model = model or mlp([2, 2], rng=0)
    model.stop_training = False
    callback.model = model
    callback.optimizer = SGD(model.parameters(), lr=0.1)
    callback.on_train_begin({})
    run = []
    for epoch, value in enumerate(values):
        run.append(epoch)
        callback.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            break
    callback.on_train_end({})
    return run


@pytest.mark.parametrize("kwargs, values, last_epoch", [
    # wait counts epochs without improvement; stop when wait >= patience (never at epoch 0)
    (dict(patience=2), [1.0, 0.9, 0.95, 0.92, 0.91, 0.5], 3),
    (dict(patience=0), [1.0, 1.1, 1.2], 1),
    (dict(patience=0), [1.0], 0),
    # min_delta: 0.96 is not 0.05 better than 1.0
    (dict(patience=1, min_delta=0.05), [1.0, 0.96, 0.9], 1),
    # baseline 0.5 never beaten: improvements do not reset wait, but an improving epoch never stops
    (dict(patience=2, baseline=0.5), [1.0, 0.9, 0.8, 0.7], 3),
    (dict(patience=2, baseline=0.5), [1.0, 0.9, 0.95], 2),
    # nothing is monitored before start_from_epoch
    (dict(patience=1, start_from_epoch=2), [1.0, 2.0, 3.0, 4.0, 5.0], 3),
])
def test_early_stopping_epochs(kwargs, values, last_epoch):
    stopper = EarlyStopping(**kwargs)
    assert drive(stopper, values)[-1] == last_epoch


def test_early_stopping_max_mode_for_accuracy():
    stopper = EarlyStopping(monitor="val_accuracy", patience=1)
    assert drive(stopper, [0.5, 0.6, 0.55, 0.7], monitor="val_accuracy") == [0, 1, 2]
    assert stopper.best == 0.6 and stopper.stopped_epoch == 2


def test_early_stopping_restores_best_weights():
    model = mlp([2, 2], rng=0)
    stopper = EarlyStopping(patience=1, restore_best_weights=True)
    values = iter([1.0, 0.5, 0.8])
    stopper.model = model
    model.stop_training = False
    stopper.on_train_begin({})
    snapshots = []
    for epoch in range(3):
        model.layers[0].W.value += 1.0  # "training" changes the weights every epoch
        snapshots.append(model.state_dict())
        stopper.on_epoch_end(epoch, {"val_loss": next(values)})
    stopper.on_train_end({})
    np.testing.assert_array_equal(model.layers[0].W.value, snapshots[1]["0.W"])
    assert stopper.best_epoch == 1


def test_early_stopping_unknown_metric_warns_and_bad_mode_raises():
    stopper = EarlyStopping(monitor="val_loss")
    model = mlp([2, 2], rng=0)
    stopper.model = model
    stopper.on_train_begin({})
    with pytest.warns(UserWarning, match="val_loss"):
        stopper.on_epoch_end(0, {"loss": 1.0})
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode='min'"):
        EarlyStopping(monitor="f1")


def test_reduce_lr_on_plateau_with_cooldown():
    # patience 2, cooldown 1, a flat metric: reductions at epochs 2, 4, 6 (traced by hand from Keras 3)
    cb = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_delta=0.0)
    model = mlp([2, 2], rng=0)
    cb.model, cb.optimizer = model, SGD(model.parameters(), lr=0.1)
    cb.on_train_begin({})
    lrs = []
    for epoch in range(7):
        cb.on_epoch_end(epoch, {"val_loss": 1.0})
        lrs.append(cb.optimizer.lr)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rtol=1e-12)


def test_reduce_lr_min_delta_and_min_lr():
    cb = ReduceLROnPlateau(factor=0.1, patience=1, min_delta=0.1, min_lr=0.004)
    model = mlp([2, 2], rng=0)
    cb.model, cb.optimizer = model, SGD(model.parameters(), lr=0.1)
    cb.on_train_begin({})
    lrs = []
    for epoch, value in enumerate([1.0, 0.95, 0.5, 0.45, 0.44]):
        cb.on_epoch_end(epoch, {"val_loss": value})
        lrs.append(cb.optimizer.lr)
    # 0.95 is not 0.1 better than 1.0 -> reduce to 0.01; 0.5 improves; 0.45 not -> max(0.001, 0.004)
    np.testing.assert_allclose(lrs, [0.1, 0.01, 0.01, 0.004, 0.004], rtol=1e-12)


def test_reduce_lr_composes_with_a_schedule():
    w = Parameter(np.zeros(1))
    opt = SGD([w], lr=lambda step: 1.0 / (step + 1))
    cb = ReduceLROnPlateau(factor=0.5, patience=1)
    cb.optimizer = opt
    cb.on_train_begin({})
    opt.step()
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.on_epoch_end(1, {"val_loss": 1.0})  # halves the scale
    opt.step()
    assert opt.lr == pytest.approx(0.5 * 1.0 / 2)


def test_reduce_lr_bad_factor():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="min_lr"):
        ReduceLROnPlateau(min_lr=-1)


def test_terminate_on_nan():
    cb = TerminateOnNaN()
    cb.model = mlp([2, 2], rng=0)
    cb.model.stop_training = False
    cb.on_batch_end(0, {"loss": 1.0})
    assert not cb.model.stop_training
    with pytest.warns(UserWarning, match="invalid loss"):
        cb.on_batch_end(1, {"loss": float("nan")})
    assert cb.model.stop_training


def test_monitor_learning_rate_finds_lr_and_the_reverse():
    # Keras 3 logs the rate as "learning_rate", lrcourse as "lr": a monitor finds either.
    for monitor, logged in (("learning_rate", "lr"), ("lr", "learning_rate")):
        stopper = EarlyStopping(monitor=monitor, mode="min", patience=0)
        assert drive(stopper, [0.1, 0.1, 0.1], monitor=logged) == [0, 1]


def test_logs_alias_lookup():
    from lrcourse.callbacks import Logs

    logs = Logs(loss=1.0, lr=0.5)
    assert logs["learning_rate"] == logs.get("learning_rate") == 0.5 and "learning_rate" in logs
    assert logs.get("val_loss") is None and "val_loss" not in logs
    with pytest.raises(KeyError):
        logs["val_loss"]
    assert dict(logs) == {"loss": 1.0, "lr": 0.5}


@pytest.mark.parametrize("make, match", [
    (lambda: EarlyStopping(patience=1.5), "patience must be an integer"),
    (lambda: EarlyStopping(min_delta="0.1"), "min_delta must be a real number"),
    (lambda: ReduceLROnPlateau(cooldown=-1), "cooldown must be >= 0"),
    (lambda: ReduceLROnPlateau(mode="down"), "mode must be one of 'auto', 'min', 'max', got 'down'"),
])
def test_callback_arguments_are_checked_like_everything_else(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()
