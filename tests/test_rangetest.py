"""Tests for lrcourse.rangetest: the sweep, the stopping rule, weight restoration and the suggestions."""

import functools
import time

import numpy as np
import pytest

from lrcourse import data
from lrcourse.losses import MeanSquaredError, SoftmaxCrossEntropy
from lrcourse.nn import Dense, Sequential, mlp
from lrcourse.optim import SGD, Adam
from lrcourse.rangetest import RangeTestResult, _valley_index, lr_range_test, range_test_lrs


# ---------------------------------------------------------------- helpers

class ScriptedLoss:
    """A loss that returns preset values, one per call, and records the targets it was given.

    Its gradient is zero, so the weights do not move; only the loss values drive the test.
    """

    def __init__(self, values):
        self.values = list(values)
        self.calls = 0
        self.targets = []

    def forward(self, pred, target):
        self._pred = pred
        self.targets.append(np.array(target))
        value = self.values[self.calls]
        self.calls += 1
        return value

    __call__ = forward

    def backward(self):
        return np.zeros_like(self._pred)


class FailingLoss(SoftmaxCrossEntropy):
    """Softmax cross-entropy whose backward raises on call number ``fail_at`` (0-based)."""

    def __init__(self, model, fail_at):
        self.model, self.fail_at, self.calls = model, fail_at, 0
        self.state_at_failure = None

    def backward(self):
        if self.calls == self.fail_at:
            self.state_at_failure = self.model.state_dict()
            raise RuntimeError("injected failure")
        self.calls += 1
        return super().backward()


def smooth_by_hand(raw, smooth_f):
    smoothed = [raw[0]]
    for value in raw[1:]:
        smoothed.append(smooth_f * value + (1 - smooth_f) * smoothed[-1])
    return np.array(smoothed)


def fastai_valley(losses):
    """fastai's ``valley`` (fastai/callback/schedule.py), transcribed loop for loop."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def assert_state_equal(before, after):
    assert before.keys() == after.keys()
    for name in before:
        assert before[name].dtype == after[name].dtype
        assert before[name].tobytes() == after[name].tobytes(), name


@pytest.fixture(scope="module")
def digits_train():
    (X, y), _, _ = data.digits(rng=0)
    return X, y


@pytest.fixture
def toy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(96, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


# ---------------------------------------------------------------- learning rates

def test_exp_lrs_follow_the_formula():
    start, end, n = 1e-7, 10.0, 100
    expected = [start * (end / start) ** (i / (n - 1)) for i in range(n)]
    np.testing.assert_allclose(range_test_lrs(start, end, n), expected, rtol=1e-12)
    # Powers of ten when the range spans n - 1 decades.
    np.testing.assert_allclose(range_test_lrs(1e-3, 10.0, 5), [1e-3, 1e-2, 1e-1, 1.0, 10.0], rtol=1e-12)


def test_linear_lrs_follow_the_formula():
    np.testing.assert_allclose(range_test_lrs(0.1, 1.0, 4, "linear"), [0.1, 0.4, 0.7, 1.0], rtol=1e-12)


def test_the_engine_optimizer_applies_the_swept_lrs(toy):
    X, y = toy
    used = []

    class RecordingSGD(SGD):
        def step(self):
            super().step()
            used.append(self.lr)  # the lr of the update just made

    result = lr_range_test(mlp([4, 8, 2], rng=0), SoftmaxCrossEntropy(), X, y, optimizer=RecordingSGD,
                           start_lr=1e-4, end_lr=1e-1, num_iter=7, batch_size=16, rng=0, repeats=1)
    expected = [1e-4 * 1000 ** (i / 6) for i in range(7)]
    np.testing.assert_allclose(used, expected, rtol=1e-12)
    np.testing.assert_allclose(result.lrs, expected, rtol=1e-12)


def test_losses_match_a_hand_written_training_loop(toy):
    """Each point is the batch loss measured before the update made with that point's lr."""
    X, y = toy
    lrs = [1e-3 * 100 ** (i / 9) for i in range(10)]
    result = lr_range_test(mlp([4, 8, 2], rng=3), SoftmaxCrossEntropy(), X, y, start_lr=1e-3, end_lr=1e-1,
                           num_iter=10, batch_size=32, smooth_f=1.0, rng=5, repeats=1)

    model, loss = mlp([4, 8, 2], rng=3), SoftmaxCrossEntropy()
    rng = np.random.default_rng(5)
    batches = []
    while len(batches) < 10:  # 96 samples: 3 full batches of 32 per shuffled pass
        order = rng.permutation(96)
        batches += [order[k * 32:(k + 1) * 32] for k in range(3)]
    expected = []
    for lr, index in zip(lrs, batches):
        expected.append(loss(model(X[index]), y[index]))
        model.backward(loss.backward())
        for p in model.parameters():
            p.value -= np.float32(lr) * p.grad
    np.testing.assert_allclose(result.raw_losses[0], expected, rtol=1e-5)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-5)  # smooth_f=1: no smoothing


def test_one_full_batch_per_iteration_cycling_through_shuffled_passes():
    X = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10)
    loss = ScriptedLoss([1.0] * 7)
    lr_range_test(Sequential(Dense(1, 1, rng=0)), loss, X, y, num_iter=7, batch_size=4, rng=42, repeats=1)
    rng = np.random.default_rng(42)
    expected = []
    for _ in range(4):  # 10 samples: two full batches of 4 per pass, the 2 left over are not used
        order = rng.permutation(10)
        expected += [order[:4], order[4:8]]
    assert len(loss.targets) == 7
    for got, want in zip(loss.targets, expected):
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- smoothing and stopping

def test_smoothing_matches_the_recurrence(digits_train):
    X, y = digits_train
    result = lr_range_test(mlp([64, 32, 10], rng=0), SoftmaxCrossEntropy(), X, y, num_iter=60,
                           smooth_f=0.2, rng=0, repeats=1)
    raw = result.raw_losses[0]
    np.testing.assert_allclose(result.losses, smooth_by_hand(raw, 0.2), rtol=1e-12)
    assert result.losses_std is None


def test_stops_on_divergence_and_keeps_the_triggering_point():
    # smooth_f=0.5: s = 1, 1, 0.75, 0.625, 25.3125 > 5 * 0.625
    values = [1.0, 1.0, 0.5, 0.5, 50.0, 1.0, 1.0, 1.0]
    result = lr_range_test(Sequential(Dense(1, 1, rng=0)), ScriptedLoss(values), np.zeros((8, 1)),
                           np.zeros(8), num_iter=8, batch_size=1, smooth_f=0.5, diverge_th=5.0, rng=0, repeats=1)
    np.testing.assert_allclose(result.losses, [1.0, 1.0, 0.75, 0.625, 25.3125])
    np.testing.assert_allclose(result.raw_losses[0], values[:5])
    assert len(result.lrs) == 5 and result.stopped_early and result.num_iter == 8


def test_just_below_the_threshold_does_not_stop():
    # s = 1, 0.5, then 2.5 = 5 * 0.5 exactly: not greater, so the sweep goes on.
    values = [1.0, 0.5, 2.5, 2.5]
    result = lr_range_test(Sequential(Dense(1, 1, rng=0)), ScriptedLoss(values), np.zeros((4, 1)),
                           np.zeros(4), num_iter=4, batch_size=1, smooth_f=1.0, diverge_th=5.0, rng=0, repeats=1)
    assert len(result.lrs) == 4 and not result.stopped_early


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_stops_on_a_non_finite_loss(bad):
    values = [1.0, 0.9, bad, 0.8, 0.7]
    result = lr_range_test(Sequential(Dense(1, 1, rng=0)), ScriptedLoss(values), np.zeros((5, 1)),
                           np.zeros(5), num_iter=5, batch_size=1, rng=0, repeats=1)
    assert len(result.lrs) == 3 and result.stopped_early
    assert not np.isfinite(result.raw_losses[0, -1])


def test_a_real_sweep_diverges_before_a_huge_end_lr(digits_train):
    X, y = digits_train
    result = lr_range_test(mlp([64, 32, 10], rng=0), SoftmaxCrossEntropy(), X, y, end_lr=1e4, num_iter=100,
                           rng=0, repeats=1)
    assert result.stopped_early and len(result.lrs) < 100
    s = result.losses
    assert s[-1] > 5 * s[:-1].min() or not np.isfinite(s[-1])
    assert np.all(s[:-1] <= 5 * np.minimum.accumulate(s[:-1]))  # no earlier point would have stopped it


# ---------------------------------------------------------------- restoring the model

def test_weights_gradients_and_mode_restored_after_a_full_sweep(toy):
    X, y = toy
    model = mlp([4, 8, 2], rng=0)
    for p in model.parameters():
        p.grad[...] = 0.25
    model.eval()
    before = model.state_dict()
    lr_range_test(model, SoftmaxCrossEntropy(), X, y, num_iter=30, batch_size=16, rng=0)
    assert_state_equal(before, model.state_dict())
    assert all(np.all(p.grad == 0.25) for p in model.parameters())
    assert model.training is False


def test_weights_restored_after_divergence(digits_train):
    X, y = digits_train
    model = mlp([64, 32, 10], rng=1)
    before = model.state_dict()
    result = lr_range_test(model, SoftmaxCrossEntropy(), X, y, end_lr=1e4, num_iter=100, rng=0)
    assert result.stopped_early
    assert_state_equal(before, model.state_dict())
    assert model.training is True


def test_weights_restored_after_an_exception_mid_sweep(toy):
    X, y = toy
    model = mlp([4, 8, 2], rng=0)
    model.eval()
    before = model.state_dict()
    loss = FailingLoss(model, fail_at=6)
    with pytest.raises(RuntimeError, match="injected failure"):
        lr_range_test(model, loss, X, y, start_lr=1e-2, end_lr=1.0, num_iter=20, batch_size=16, rng=0)
    # The sweep had really changed the weights when the exception came...
    assert any(not np.array_equal(before[k], v) for k, v in loss.state_at_failure.items())
    # ...and they are back, bit for bit, as is the mode.
    assert_state_equal(before, model.state_dict())
    assert model.training is False


def test_training_mode_is_on_during_the_sweep(toy):
    X, y = toy
    modes = []

    class Spy(Sequential):
        def forward(self, x):
            modes.append(self.training)
            return super().forward(x)

    model = Spy(Dense(4, 2, rng=0))
    model.eval()
    lr_range_test(model, SoftmaxCrossEntropy(), X, y, num_iter=5, batch_size=16, rng=0, repeats=1)
    assert modes == [True] * 5 and model.training is False


# ---------------------------------------------------------------- repeats

def test_repeats_average_over_the_common_reach():
    # Repeat 0 runs all 6 points; repeat 1 stops at its third point (40 > 5 * 2).
    values = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0] + [4.0, 2.0, 40.0]
    result = lr_range_test(Sequential(Dense(1, 1, rng=0)), ScriptedLoss(values), np.zeros((6, 1)),
                           np.zeros(6), num_iter=6, batch_size=1, smooth_f=1.0, repeats=2, rng=0)
    np.testing.assert_allclose(result.losses, [3.0, 2.0, 21.0])
    np.testing.assert_allclose(result.losses_std, [np.sqrt(2.0), 0.0, 38 / np.sqrt(2)])
    np.testing.assert_allclose(result.raw_losses, [[2.0, 2.0, 2.0], [4.0, 2.0, 40.0]])
    assert len(result.lrs) == 3 and result.stopped_early


def test_repeats_start_from_the_same_weights_with_different_batch_orders(toy):
    X, y = toy
    first_weights, first_batches = [], []

    class Spy(Sequential):
        calls = 0

        def forward(self, x):
            if Spy.calls % 5 == 0:  # first iteration of each repeat
                first_weights.append(self.state_dict())
                first_batches.append(x.copy())
            Spy.calls += 1
            return super().forward(x)

    model = Spy(Dense(4, 8, rng=0), Dense(8, 2, rng=1))
    result = lr_range_test(model, SoftmaxCrossEntropy(), X, y, start_lr=1e-2, end_lr=1.0, num_iter=5,
                           batch_size=16, repeats=3, rng=0)
    assert len(first_weights) == 3
    for state in first_weights[1:]:
        assert_state_equal(first_weights[0], state)
    assert not np.array_equal(first_batches[0], first_batches[1])
    assert not np.array_equal(first_batches[1], first_batches[2])
    # The result is the mean and sample std of the three smoothed curves.
    smoothed = np.array([smooth_by_hand(raw, 0.05) for raw in result.raw_losses])
    np.testing.assert_allclose(result.losses, smoothed.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(result.losses_std, smoothed.std(axis=0, ddof=1), rtol=1e-9)


def test_same_rng_same_result_and_different_rng_different_result(toy):
    X, y = toy
    run = functools.partial(lr_range_test, mlp([4, 8, 2], rng=0), SoftmaxCrossEntropy(), X, y, num_iter=20,
                            batch_size=16, repeats=2)
    a, b, c = run(rng=7), run(rng=7), run(rng=8)
    np.testing.assert_array_equal(a.raw_losses, b.raw_losses)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.raw_losses, c.raw_losses)
    d = run(rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.raw_losses, d.raw_losses)


# ---------------------------------------------------------------- optimizers

def test_optimizer_class_and_factory(toy):
    X, y = toy
    calls = []

    def factory(params, lr):
        calls.append(lr)
        return Adam(params, lr=lr, betas=(0.8, 0.99))

    model = mlp([4, 8, 2], rng=0)
    via_class = lr_range_test(model, SoftmaxCrossEntropy(), X, y, optimizer=Adam, num_iter=10, batch_size=16,
                              rng=0, repeats=1)
    via_partial = lr_range_test(model, SoftmaxCrossEntropy(), X, y,
                                optimizer=functools.partial(Adam, betas=(0.8, 0.99)), num_iter=10,
                                batch_size=16, rng=0, repeats=1)
    via_factory = lr_range_test(model, SoftmaxCrossEntropy(), X, y, optimizer=factory, num_iter=10,
                                batch_size=16, rng=0, repeats=1)
    np.testing.assert_array_equal(via_partial.raw_losses, via_factory.raw_losses)
    assert not np.array_equal(via_class.raw_losses, via_partial.raw_losses)  # other betas, other losses
    assert len(calls) == 1 and callable(calls[0]) and calls[0](0) == pytest.approx(1e-7)
    default = lr_range_test(model, SoftmaxCrossEntropy(), X, y, num_iter=10, batch_size=16, rng=0, repeats=1)
    explicit = lr_range_test(model, SoftmaxCrossEntropy(), X, y, optimizer=SGD, num_iter=10, batch_size=16,
                             rng=0, repeats=1)
    np.testing.assert_array_equal(default.raw_losses, explicit.raw_losses)


def test_an_optimizer_instance_is_rejected(toy):
    X, y = toy
    model = mlp([4, 8, 2], rng=0)
    with pytest.raises(TypeError, match="optimizer must be an optimizer class"):
        lr_range_test(model, SoftmaxCrossEntropy(), X, y, optimizer=SGD(model.parameters()), num_iter=5)


def test_regression_with_float64_data(toy):
    X, _ = toy
    target = X[:, :1].astype(np.float64) * 2.0
    model = mlp([4, 1], rng=0)
    before = model.state_dict()
    result = lr_range_test(model, MeanSquaredError(), X.astype(np.float64), target, num_iter=20,
                           batch_size=16, rng=0)
    assert result.raw_losses.shape[1] == len(result.lrs)
    assert_state_equal(before, model.state_dict())


@pytest.mark.parametrize("kwargs, message", [
    ({"num_iter": 1}, "num_iter must be >= 2"),
    ({"start_lr": 0.0}, "start_lr must be > 0"),
    ({"start_lr": 1.0, "end_lr": 0.5}, r"end_lr \(0.5\) must be > start_lr \(1.0\)"),
    ({"step_mode": "cosine"}, "step_mode must be one of 'exp', 'linear', got 'cosine'"),
    ({"smooth_f": 0.0}, "smooth_f must be > 0"),
    ({"smooth_f": 1.5}, "smooth_f must be <= 1"),
    ({"diverge_th": 1.0}, "diverge_th must be > 1"),
    ({"batch_size": 500}, r"batch_size \(500\) must be <= the number of samples \(96\)"),
    ({"repeats": 0}, "repeats must be >= 1"),
    ({"accumulation_steps": 0}, "accumulation_steps must be >= 1"),
    ({"validation_data": (np.zeros((3, 4)), np.zeros(2))}, "validation X has 3 rows but its targets have 2"),
])
def test_bad_arguments_are_named(toy, kwargs, message):
    X, y = toy
    with pytest.raises(ValueError, match=message):
        lr_range_test(mlp([4, 2], rng=0), SoftmaxCrossEntropy(), X, y, **kwargs)


def test_validation_data_must_be_a_pair(toy):
    X, y = toy
    with pytest.raises(TypeError, match="validation_data must be a pair"):
        lr_range_test(mlp([4, 2], rng=0), SoftmaxCrossEntropy(), X, y, validation_data=X)


def test_mismatched_data(toy):
    X, y = toy
    with pytest.raises(ValueError, match="same number of rows"):
        lr_range_test(mlp([4, 2], rng=0), SoftmaxCrossEntropy(), X, y[:-1])


def test_progress_bar_runs(toy, capsys):
    X, y = toy
    result = lr_range_test(mlp([4, 2], rng=0), SoftmaxCrossEntropy(), X, y, num_iter=10, batch_size=16,
                           progress=True, rng=0)
    assert len(result.lrs) == 10
    assert "LR range test" in capsys.readouterr().err


def test_digits_sweep_is_fast(digits_train):
    X, y = digits_train
    model, loss = mlp([64, 64, 10], rng=0), SoftmaxCrossEntropy()
    lr_range_test(model, loss, X, y, num_iter=10, rng=0)  # warm up
    start = time.perf_counter()
    lr_range_test(model, loss, X, y, num_iter=100, batch_size=32, rng=0)
    # Typically ~0.05 s; the bound leaves room for slow CI machines.
    assert time.perf_counter() - start < 1.0


# ---------------------------------------------------------------- suggestions

def grid(n=51, low=-5, high=0):
    """lrs 10**low .. 10**high with log10 steps of (high - low) / (n - 1)."""
    return np.logspace(low, high, n)


def test_steepest_is_where_the_smoothed_loss_falls_fastest():
    lrs = grid()  # steps of 0.1 decade; index 30 is lr = 1e-2
    losses = 2 - np.tanh(2 * (np.log10(lrs) + 2))
    assert RangeTestResult(lrs, losses).suggest("steepest") == pytest.approx(1e-2)


def test_steepest_ignores_the_first_10_and_last_5_points():
    lrs = grid()
    losses = 2 - np.tanh(2 * (np.log10(lrs) + 2))
    losses[5] -= 10   # a cliff in the first 10 points
    losses[48] -= 10  # and one in the last 5
    assert RangeTestResult(lrs, losses).suggest("steepest") == pytest.approx(1e-2)
    # Moved one point into the window, the same cliff wins.
    losses = 2 - np.tanh(2 * (np.log10(lrs) + 2))
    losses[12] -= 10
    # np.gradient at 11 is (losses[12] - losses[10]) / 2, the most negative.
    assert RangeTestResult(lrs, losses).suggest("steepest") == pytest.approx(lrs[11])


def test_minimum_is_a_tenth_of_the_lowest_point_inside_the_window():
    lrs = grid()
    losses = (np.log10(lrs) + 1.5) ** 2  # lowest at index 35, lr = 10**-1.5
    losses[2] = -1.0   # inside the first num_iter // 10 = 5 points: ignored
    losses[-3] = -1.0  # inside the last 5: ignored
    result = RangeTestResult(lrs, losses)
    assert result.suggest("minimum") == pytest.approx(10 ** -1.5 / 10)
    losses[5] = -1.0   # first point of the window
    assert RangeTestResult(lrs, losses).suggest("minimum") == pytest.approx(lrs[5] / 10)


def test_minimum_window_uses_the_planned_num_iter():
    lrs = grid(30)
    losses = np.linspace(1.0, 0.0, 30)
    losses[5] = -10.0
    # Planned 100 iterations, stopped after 30: the window is losses[10:25], lowest at 24.
    assert RangeTestResult(lrs, losses, stopped_early=True, num_iter=100).suggest_index("minimum") == 24
    # Planned 30: the window is losses[3:25] and includes the dip at 5.
    assert RangeTestResult(lrs, losses).suggest_index("minimum") == 5


def test_valley_hand_worked_example():
    lrs = grid(20)
    losses = np.full(20, 100.0)
    losses[:2] = -5.0                     # skipped (first 20 // 10 = 2)
    losses[2:14] = np.arange(12, 0, -1)   # 12, 11, ..., 1: a valley of 12 points
    losses[14] = 50.0                     # back up; 15..19 are skipped
    # fastai: window = losses[2:15]; longest decreasing run ends at window index 11 with length 12,
    # max_start = 11 - 12 = -1, sections = 12 / 3 = 4, index = -1 + 4 + int(4 / 2) = 5.
    result = RangeTestResult(lrs, losses)
    assert result.suggest_index("valley") == 2 + 5
    assert result.suggest("valley") == lrs[7]


@pytest.mark.parametrize("seed", range(20))
def test_valley_matches_fastai_loop_for_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 80))
    # Noisy U-shaped curves with ties, like real sweeps.
    x = np.linspace(-1, 1, n)
    losses = np.round(x ** 2 + rng.normal(scale=0.1, size=n), 1)
    expected = fastai_valley(losses.tolist())
    assert _valley_index(losses) == max(expected, 0)


def test_valley_is_a_decreasing_subsequence_so_bumps_do_not_end_it():
    lrs = grid(12)
    # The first 12 // 10 = 1 point and the last 5 are skipped: the window is 10, 9, 9.5, 8, 7, 20.
    losses = np.array([0.0, 10.0, 9.0, 9.5, 8.0, 7.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    # lds = 1, 2, 2, 3, 4, 1: the valley 10 > 9 > 8 > 7 ends at window index 4 with length 4,
    # max_start = 4 - 4 = 0, sections = 4 / 3, index = 0 + 1 + int(0.67) = 1, i.e. point 2.
    assert RangeTestResult(lrs, losses).suggest_index("valley") == 2


def test_suggestions_stop_at_the_first_non_finite_loss():
    lrs = grid()
    losses = (np.log10(lrs) + 1.5) ** 2
    losses[20] = np.nan
    losses[22] = -100.0  # after the NaN: ignored
    result = RangeTestResult(lrs, losses)
    assert result.suggest_index("minimum") == 19  # lowest of the finite part, losses[5:20]
    assert result.suggest_index("steepest") < 20
    assert result.suggest_index("valley") < 20


def test_suggest_bounds_rule():
    lrs = grid()
    losses = (np.log10(lrs) + 1) ** 2  # lowest at lr = 0.1
    base_lr, max_lr = RangeTestResult(lrs, losses).suggest_bounds()
    assert max_lr == pytest.approx(0.1 / 3)
    assert base_lr == pytest.approx(0.1 / 12)
    assert RangeTestResult(lrs, losses).suggest_bounds(max_div=1, base_div=3) == pytest.approx((0.1 / 3, 0.1))


def test_suggest_errors():
    lrs = grid(12)
    result = RangeTestResult(lrs, np.linspace(1, 0, 12))
    with pytest.raises(ValueError, match="method must be one of"):
        result.suggest("fastest")
    with pytest.raises(ValueError, match="needs at least 2 points after skipping the first 10"):
        result.suggest("steepest")
    with pytest.raises(ValueError, match="base_div must be > 1"):
        result.suggest_bounds(base_div=1)


def test_result_from_stored_arrays():
    lrs = grid(20)
    result = RangeTestResult(lrs, np.ones(20))
    assert result.losses_std is None and result.raw_losses is None and not result.stopped_early
    assert result.num_iter == 20 and result.repeats == 1
    rebuilt = RangeTestResult(**RangeTestResult(lrs, np.ones(20), raw_losses=np.ones(20)).as_dict())
    assert rebuilt.raw_losses.shape == (1, 20)
    with pytest.raises(ValueError, match="losses must be a 1-D array of 20 values"):
        RangeTestResult(lrs, np.ones(19))
    with pytest.raises(ValueError, match="lrs must be finite and > 0"):
        RangeTestResult(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"raw_losses must have shape \(repeats, 20\)"):
        RangeTestResult(lrs, np.ones(20), raw_losses=np.ones((2, 19)))
    assert "20 of 20 points" in repr(result)


# ---------------------------------------------------------------- held-out loss, accumulation, skips

def test_validation_loss_is_measured_after_each_update(toy):
    """pytorch-lr-finder's val_loader: point i is the loss on the held-out set after the update with lr_i."""
    X, y = toy
    X_val, y_val = X[:40] * 0.5, y[:40]
    lrs = [1e-3 * 100 ** (i / 7) for i in range(8)]
    result = lr_range_test(mlp([4, 8, 2], rng=3), SoftmaxCrossEntropy(), X, y, start_lr=1e-3, end_lr=1e-1,
                           num_iter=8, batch_size=32, smooth_f=1.0, rng=5, validation_data=(X_val, y_val))
    assert result.validation

    model, loss = mlp([4, 8, 2], rng=3), SoftmaxCrossEntropy()
    rng = np.random.default_rng(5)
    batches = []
    while len(batches) < 8:
        order = rng.permutation(96)
        batches += [order[k * 32:(k + 1) * 32] for k in range(3)]
    expected = []
    for lr, index in zip(lrs, batches):
        loss(model(X[index]), y[index])
        model.backward(loss.backward())
        for p in model.parameters():
            p.value -= np.float32(lr) * p.grad
        expected.append(loss(model(X_val), y_val))
    np.testing.assert_allclose(result.raw_losses[0], expected, rtol=1e-5)


def test_accumulation_steps_average_gradients_and_losses_of_several_batches(toy):
    X, y = toy
    lrs = [1e-2 * 10 ** (i / 4) for i in range(5)]
    result = lr_range_test(mlp([4, 8, 2], rng=3), SoftmaxCrossEntropy(), X, y, start_lr=1e-2, end_lr=1e-1,
                           num_iter=5, batch_size=16, smooth_f=1.0, rng=7, accumulation_steps=3)

    model, loss = mlp([4, 8, 2], rng=3), SoftmaxCrossEntropy()
    rng = np.random.default_rng(7)
    batches = []
    while len(batches) < 15:  # 96 samples: 6 batches of 16 per pass, 3 batches per iteration
        order = rng.permutation(96)
        batches += [order[k * 16:(k + 1) * 16] for k in range(6)]
    expected = []
    for i, lr in enumerate(lrs):
        grads = [np.zeros_like(p.value) for p in model.parameters()]
        losses = []
        for index in batches[3 * i:3 * i + 3]:
            losses.append(loss(model(X[index]), y[index]))
            model.backward(loss.backward())
            for g, p in zip(grads, model.parameters()):
                g += p.grad / 3
        expected.append(np.mean(losses))
        for g, p in zip(grads, model.parameters()):
            p.value -= np.float32(lr) * g
    np.testing.assert_allclose(result.raw_losses[0], expected, rtol=1e-5)


def test_accumulation_of_equal_halves_equals_one_batch_twice_as_large(toy):
    # With a batch of the whole data set split in two, the mean gradient is the full-batch gradient.
    X, y = toy
    kwargs = dict(start_lr=1e-2, end_lr=1.0, num_iter=6, smooth_f=1.0, rng=0)
    whole = lr_range_test(mlp([4, 8, 2], rng=3), SoftmaxCrossEntropy(), X, y, batch_size=96, **kwargs)
    halves = lr_range_test(mlp([4, 8, 2], rng=3), SoftmaxCrossEntropy(), X, y, batch_size=48,
                           accumulation_steps=2, **kwargs)
    np.testing.assert_allclose(halves.raw_losses, whole.raw_losses, rtol=1e-5)


def test_skip_start_and_skip_end_set_the_suggestion_window():
    lrs = grid()
    losses = (np.log10(lrs) + 1.5) ** 2
    losses[2] = -1.0   # ignored by default (inside the first num_iter // 10 = 5 points)
    losses[-3] = -2.0  # ignored by default (inside the last 5)
    result = RangeTestResult(lrs, losses)
    assert result.suggest_index("minimum") == 35
    assert result.suggest_index("minimum", skip_start=0) == 2
    assert result.suggest_index("minimum", skip_start=0, skip_end=0) == len(lrs) - 3
    assert result.suggest_bounds(skip_end=0)[1] == pytest.approx(lrs[-3] / 3)
    with pytest.raises(ValueError, match="skip_start must be >= 0, got -1"):
        result.suggest("valley", skip_start=-1)
    with pytest.raises(ValueError, match="after skipping the first 30 and the last 20"):
        result.suggest("valley", skip_start=30, skip_end=20)
