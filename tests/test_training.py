"""The training loop: learning, divergence, determinism, schedules and callbacks."""

import warnings

import numpy as np
import pytest

import lrcourse
from lrcourse import data
from lrcourse.callbacks import Callback, EarlyStopping, ReduceLROnPlateau, TerminateOnNaN
from lrcourse.losses import MeanSquaredError, SoftmaxCrossEntropy
from lrcourse.nn import mlp
from lrcourse.optim import SGD
from lrcourse.training import evaluate, fit, predict


@pytest.fixture(scope="module")
def digits():
    return data.digits(rng=0)


def test_digits_reaches_95_percent(digits):
    (X, y), (X_val, y_val), _ = digits
    model = mlp([64, 64, 10], rng=0)
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y, epochs=30,
                  validation_data=(X_val, y_val), rng=0)
    assert history.history["val_accuracy"][-1] >= 0.95
    assert not history.diverged
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert len(history.batch_loss) == len(history.batch_lr) == 30 * int(np.ceil(len(X) / 32))
    # the epoch loss is the sample-weighted mean of that epoch's batch losses
    n_batches = int(np.ceil(len(X) / 32))
    sizes = np.array([32] * (n_batches - 1) + [len(X) - 32 * (n_batches - 1)])
    first_epoch = np.sum(history.batch_loss[:n_batches] * sizes) / len(X)
    assert history.history["loss"][0] == pytest.approx(first_epoch, rel=1e-12)


def test_huge_lr_is_stopped_as_diverged(digits):
    (X, y), _, _ = digits
    model = mlp([64, 64, 10], rng=0)
    with pytest.warns(RuntimeWarning, match="diverged.*learning rate 10"):
        history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=10.0), X, y, epochs=30, rng=0)
    assert history.diverged
    assert all(np.all(np.isfinite(p.value)) for p in model.parameters())
    assert np.all(np.isfinite(history.batch_loss))


def test_huge_lr_leaves_the_last_finite_weights():
    # lr = 1e308: the first update sends the weights to +-inf, the second batch loss is NaN; the model
    # goes back to the weights it had at the start of the epoch (here: its initial weights).
    X, y = data.moons(n_samples=64, rng=0)
    model = mlp([2, 8, 2], rng=0)
    initial = model.state_dict()
    with pytest.warns(RuntimeWarning, match="diverged.*start of epoch 1 "):
        history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=1e308), X, y, epochs=3, rng=0)
    assert history.diverged and len(history.batch_loss) == 1 and history.history == {}
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, initial[name])


class NanAt(MeanSquaredError):
    """A squared error that reports NaN on call number ``bad`` (0-based), to place a NaN exactly."""

    def __init__(self, bad):
        self.bad, self.calls = bad, 0

    def forward(self, pred, target):
        value = super().forward(pred, target)
        self.calls += 1
        return float("nan") if self.calls - 1 == self.bad else value


def _regression(n=40):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    return X, X @ np.array([1.0, -1.0], dtype=np.float32)


def test_terminate_on_nan_has_keras_semantics_with_the_guard_off():
    # Keras: the NaN batch is applied, reaches the callback, training stops after it and the epoch's
    # loss entry is recorded, non-finite. Batches of 10: updates 0, 1 finite, 2 NaN.
    X, y = _regression()
    model = mlp([2, 1], rng=0)
    opt = SGD(model.parameters(), lr=0.01)
    with pytest.warns(UserWarning, match="batch 2: invalid loss nan") as caught:
        history = fit(model, NanAt(2), opt, X, y, epochs=3, batch_size=10, shuffle=False,
                      divergence_threshold=None, callbacks=[TerminateOnNaN()])
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]  # one report, the callback's
    assert opt.iterations == 3 and len(history.batch_loss) == 3 and np.isnan(history.batch_loss[2])
    assert history.epoch == [0] and history.stopped_epoch == 0 and history.diverged
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])


def test_the_guard_stops_before_a_nan_batch_is_applied():
    X, y = _regression()
    model = mlp([2, 1], rng=0)
    opt = SGD(model.parameters(), lr=0.01)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit(model, NanAt(2), opt, X, y, epochs=3, batch_size=10, shuffle=False,
                      callbacks=[TerminateOnNaN()])
    assert [w.category for w in caught] == [RuntimeWarning]  # the guard's; the callback never saw the NaN
    assert "diverged in epoch 1 at update 3 (both counted from 1" in str(caught[0].message)
    assert "after update 2 (the last finite ones)" in str(caught[0].message)
    assert opt.iterations == 2 and len(history.batch_loss) == 2 and history.diverged
    assert history.history == {} and all(np.all(np.isfinite(v)) for v in model.state_dict().values())


def test_guard_off_without_a_callback_warns_once_and_goes_on():
    X, y = _regression()
    model = mlp([2, 1], rng=0)
    with pytest.warns(RuntimeWarning, match="update 2: training goes on") as caught:
        history = fit(model, NanAt(2), SGD(model.parameters(), lr=0.01), X, y, epochs=2, batch_size=10,
                      shuffle=False, divergence_threshold=None)
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1
    assert history.diverged and history.epoch == [0, 1] and len(history.batch_loss) == 8


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_is_a_data_error(bad):
    X, y = _regression()
    X_bad = X.copy()
    X_bad[3, 1] = bad
    model = mlp([2, 1], rng=0)
    with pytest.raises(ValueError, match="X holds 1 non-finite values.*data problem"):
        fit(model, MeanSquaredError(), SGD(model.parameters()), X_bad, y)
    y_bad = y.copy()
    y_bad[0] = bad
    with pytest.raises(ValueError, match="targets of X holds 1 non-finite"):
        fit(model, MeanSquaredError(), SGD(model.parameters()), X, y_bad)
    with pytest.raises(ValueError, match="validation X holds 1 non-finite"):
        fit(model, MeanSquaredError(), SGD(model.parameters()), X, y, validation_data=(X_bad, y))


def test_validation_data_must_be_a_pair():
    X, y = _regression()
    model = mlp([2, 1], rng=0)
    message = r"validation_data must be a pair \(X_val, y_val\), got an array of shape \(40, 2\)"
    with pytest.raises(TypeError, match=message):
        fit(model, MeanSquaredError(), SGD(model.parameters()), X, y, validation_data=X)


def test_learning_rate_is_an_alias_of_lr_wherever_a_key_is_looked_up():
    X, y = data.moons(n_samples=40, rng=0)
    model = mlp([2, 4, 2], rng=0)
    seen = []

    class Record(Callback):
        def on_batch_end(self, step, logs=None):
            seen.append(logs["learning_rate"])

    cb = ReduceLROnPlateau(monitor="learning_rate", mode="max", patience=0, factor=0.5, min_delta=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "metric not available" warning
        history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y, epochs=3,
                      batch_size=20, callbacks=[cb, Record()], rng=0)
    # the monitored rate never rises: epoch 0 sets best, epochs 1 and 2 each halve the next epoch's rate
    assert history.history["learning_rate"] == history.history["lr"] == pytest.approx([0.1, 0.1, 0.05])
    assert "learning_rate" in history.history and sorted(history.history) == ["accuracy", "loss", "lr"]
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05])


def test_optimizer_answers_its_rate_at_a_step():
    X, y = data.moons(n_samples=40, rng=0)
    model = mlp([2, 4, 2], rng=0)
    opt = SGD(model.parameters(), lr=lambda step: 0.1 / (1 + step))
    history = fit(model, SoftmaxCrossEntropy(), opt, X, y, epochs=2, batch_size=10, rng=0)
    assert history.batch_lr.tolist() == [opt.lr_at(step) for step in range(8)]
    assert opt.lr_at(3) == 0.1 / 4


def test_same_seed_gives_bit_identical_runs(digits):
    (X, y), (X_val, y_val), _ = digits
    runs = []
    for _ in range(2):
        model = mlp([64, 16, 10], rng=0)
        h = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1, momentum=0.9), X, y, epochs=3,
                validation_data=(X_val, y_val), rng=0)
        runs.append((h, model.state_dict()))
    (h1, s1), (h2, s2) = runs
    assert h1.history == h2.history
    np.testing.assert_array_equal(h1.batch_loss, h2.batch_loss)
    for name in s1:
        np.testing.assert_array_equal(s1[name], s2[name])


def test_finite_schedule_runs_to_its_last_update_cleanly():
    X, y = data.moons(n_samples=100, rng=0)
    n_updates = 3 * 4  # 3 epochs of 4 batches of 25

    def schedule(step):
        if step >= n_updates:
            raise ValueError(f"schedule configured for {n_updates} updates, asked for step {step}")
        return 0.1 * (1 - step / n_updates)

    model = mlp([2, 8, 2], rng=0)
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=schedule), X, y, epochs=3,
                  batch_size=25, rng=0)
    np.testing.assert_allclose(history.batch_lr, 0.1 * (1 - np.arange(n_updates) / n_updates))
    assert history.history["lr"] == pytest.approx([history.batch_lr[3], history.batch_lr[7], history.batch_lr[11]])


def test_callbacks_see_every_batch_and_epoch():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append("begin")

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch", epoch, sorted(logs)))

        def on_batch_end(self, step, logs=None):
            events.append(("batch", step, sorted(logs)))

        def on_train_end(self, logs=None):
            events.append("end")

    X, y = data.moons(n_samples=40, rng=0)
    model = mlp([2, 4, 2], rng=0)
    fit(model, SoftmaxCrossEntropy(), SGD(model.parameters()), X, y, epochs=2, batch_size=20,
        callbacks=[Recorder()], rng=0)
    assert events[0] == "begin" and events[-1] == "end"
    assert [e[1] for e in events if e[0] == "batch"] == [0, 1, 2, 3]
    assert events[3] == ("epoch", 0, ["accuracy", "loss", "lr"])


def test_early_stopping_in_fit(digits):
    (X, y), (X_val, y_val), _ = digits
    model = mlp([64, 32, 10], rng=0)
    stopper = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    # a learning rate too high to keep improving makes the validation loss bounce
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.8), X, y, epochs=50,
                  validation_data=(X_val, y_val), callbacks=[stopper], rng=0)
    assert history.stopped_epoch == stopper.stopped_epoch == history.epoch[-1] < 49
    best = int(np.argmin(history.history["val_loss"]))
    assert evaluate(model, SoftmaxCrossEntropy(), X_val, y_val)["loss"] == pytest.approx(
        history.history["val_loss"][best], rel=1e-6)


def test_reduce_lr_on_plateau_in_fit_lowers_the_logged_lr(digits):
    (X, y), (X_val, y_val), _ = digits
    model = mlp([64, 32, 10], rng=0)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)  # never "improves"
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y, epochs=3,
                  callbacks=[cb], rng=0)
    # epoch 0 sets best; epochs 1 and 2 each halve the lr used in the following epoch
    assert history.history["lr"] == pytest.approx([0.1, 0.1, 0.05])


def test_progress_bar_runs():
    X, y = data.moons(n_samples=40, rng=0)
    model = mlp([2, 4, 2], rng=0)
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters()), X, y, epochs=1, progress=True)
    assert len(history.batch_loss) == 2


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(X=np.zeros(10)), ValueError, "2-D"),
    (dict(y=np.zeros(3, dtype=int)), ValueError, "rows"),
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(divergence_threshold=0.5), ValueError, "divergence_threshold"),
    (dict(callbacks=[print]), TypeError, "Callback"),
    (dict(rng="seed"), TypeError, "rng"),
])
def test_fit_bad_input(kwargs, exc, match):
    X, y = data.moons(n_samples=10, rng=0)
    model = mlp([2, 2], rng=0)
    args = dict(X=X, y=y)
    args.update({k: kwargs.pop(k) for k in ("X", "y") if k in kwargs})
    with pytest.raises(exc, match=match):
        fit(model, SoftmaxCrossEntropy(), SGD(model.parameters()), args["X"], args["y"], **kwargs)


def test_predict_and_evaluate_match_direct_forward(digits):
    (X, y), _, _ = digits
    model = mlp([64, 10], rng=0)
    direct = model(X)
    # Batches of 100 and the whole set go through different BLAS blockings (and kernels differ by
    # CPU), so float32 sums may round differently: allow the classic bound for a dot product of
    # n terms, n * eps * sum|x_i w_i|, instead of a relative tolerance that fails near zero.
    dense = model.layers[0]
    bound = X.shape[1] * np.finfo(np.float32).eps * (np.abs(X) @ np.abs(dense.W.value) + np.abs(dense.b.value))
    assert np.all(np.abs(predict(model, X, batch_size=100) - direct) <= bound)
    result = evaluate(model, SoftmaxCrossEntropy(), X, y)
    assert result["loss"] == pytest.approx(SoftmaxCrossEntropy()(direct, y), rel=1e-5)
    assert result["accuracy"] == np.mean(direct.argmax(1) == y)


def test_top_level_reexports():
    for name in ("fit", "evaluate", "predict", "mlp", "SGD", "Adam", "RMSprop", "Adagrad",
                 "SoftmaxCrossEntropy", "MeanSquaredError", "EarlyStopping", "ReduceLROnPlateau"):
        assert hasattr(lrcourse, name), name


def test_one_unlucky_batch_of_a_trained_model_is_not_divergence(digits):
    # Many one-epoch calls: each call's first batch loss is tiny once the model is trained, and a
    # single noisy batch may be 10x that; only a sustained climb of the smoothed loss stops training.
    (X, y), _, _ = digits
    model = mlp([64, 64, 10], rng=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(40):
            assert not fit(model, SoftmaxCrossEntropy(), optimizer, X, y, epochs=1, rng=rng).diverged


def test_smoothed_divergence_rule_by_hand():
    # The model always predicts 1, so each batch loss is the squared error we choose.
    # Losses 1, 1, 30, 1, 1 with threshold 10: smoothed 1, 1, 0.9 + 3 = 3.9, ... -> all 5 updates run.
    # Losses 1, 10, 100, ...: smoothed 1, 1.9, 0.9 * 1.9 + 10 = 11.71 > 10 -> stops after 2 updates.
    X = np.zeros((5, 1), dtype=np.float32)
    model = mlp([1, 1], rng=0)
    model.layers[0].W.value[...] = 0.0
    model.layers[0].b.value[...] = 1.0
    for losses, expected_updates in (([1, 1, 30, 1, 1], 5), ([1, 10, 100, 1000, 10000], 2)):
        y = 1 - np.sqrt(np.array(losses, dtype=np.float32))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            history = fit(model, MeanSquaredError(), SGD(model.parameters(), lr=0.0), X, y, epochs=1,
                          batch_size=1, shuffle=False)
        assert len(history.batch_loss) == expected_updates
        assert history.diverged == (expected_updates < 5)


def test_fit_skips_the_data_gradient_only_while_training():
    X, y = data.moons(n_samples=64, rng=0)
    model = mlp([2, 8, 2], rng=0)
    flags = []

    class Record(Callback):
        def on_batch_end(self, step, logs=None):
            flags.append(self.model.layers[0].needs_input_grad)

    fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y,
        epochs=1, batch_size=32, callbacks=[Record()], rng=0)
    assert flags == [False, False]
    assert model.needs_input_grad and model.layers[0].needs_input_grad
    loss = SoftmaxCrossEntropy()
    loss(model(X[:4]), y[:4])
    assert model.backward(loss.backward()).shape == (4, 2)
