"""Tests for lrcourse.plot: each figure shows the numbers it is given, with labels and log lr axes."""

import math
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lrcourse import plot  # noqa: E402
from lrcourse.data import Quadratic, Rosenbrock  # noqa: E402
from lrcourse.rangetest import RangeTestResult  # noqa: E402
from lrcourse.schedules import StepDecay  # noqa: E402


@pytest.fixture
def ax():
    """Axes on a figure that pyplot does not know about."""
    return Figure().subplots()


@pytest.fixture(autouse=True)
def no_pyplot_leaks():
    before = set(plt.get_fignums())
    yield
    leaked = set(plt.get_fignums()) - before
    plt.close("all")
    assert not leaked, f"figures left open in pyplot: {leaked}"


def fake_history(losses, val_losses=None, lrs=None, diverged=False, batch_loss=None, batch_lr=None):
    logs = {"loss": list(losses)}
    if val_losses is not None:
        logs["val_loss"] = list(val_losses)
    if lrs is not None:
        logs["lr"] = list(lrs)
    return SimpleNamespace(history=logs, diverged=diverged,
                           batch_loss=np.asarray(batch_loss if batch_loss is not None else []),
                           batch_lr=np.asarray(batch_lr if batch_lr is not None else []))


# ------------------------------------------------------------------ schedule

def test_schedule_draws_the_values(ax):
    out = plot.schedule(StepDecay(0.1, step_size=30), 100, ax=ax)
    assert out is ax
    line = ax.get_lines()[0]
    steps = np.arange(100)
    np.testing.assert_array_equal(line.get_xdata(), steps)
    np.testing.assert_allclose(line.get_ydata(), 0.1 * 0.1 ** (steps // 30), rtol=1e-12)
    assert line.get_label() == "StepDecay"
    assert ax.get_xlabel() == "step (update number)" and ax.get_ylabel() == "learning rate"
    assert ax.get_title() and ax.get_legend() is not None
    assert ax.get_yscale() == "linear"


def test_schedule_accepts_a_scalar_only_callable_and_log_scale(ax):
    plot.schedule(lambda t: 0.5 * math.exp(-t / 10), [0, 10, 20], ax=ax, log=True)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.5, 0.5 / math.e, 0.5 / math.e ** 2])
    assert ax.get_yscale() == "log"
    assert ax.get_lines()[0].get_label() == "learning rate"


def test_schedule_rejects_float_steps(ax):
    with pytest.raises(TypeError, match="steps must be an int or an integer array"):
        plot.schedule(StepDecay(0.1, step_size=30), np.linspace(0, 1, 5), ax=ax)


def test_without_ax_a_new_pyplot_figure_is_made():
    before = len(plt.get_fignums())
    ax = plot.schedule(StepDecay(0.1, step_size=30), 10)
    assert len(plt.get_fignums()) == before + 1
    assert ax.figure.number in plt.get_fignums()
    plt.close(ax.figure)


# ------------------------------------------------------------------ history and compare

def test_history_has_metric_and_lr_on_a_log_twin_axis(ax):
    history = fake_history([2.0, 1.0, 0.5], val_losses=[2.2, 1.4, 0.9], lrs=[0.1, 0.01, 0.001])
    out = plot.history(history, ax=ax)
    assert out is ax
    train, val = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(train.get_ydata(), [2.0, 1.0, 0.5])
    np.testing.assert_array_equal(val.get_ydata(), [2.2, 1.4, 0.9])
    twins = [a for a in ax.figure.axes if a is not ax]
    assert len(twins) == 1
    lr_line = twins[0].get_lines()[0]
    np.testing.assert_array_equal(lr_line.get_ydata(), [0.1, 0.01, 0.001])
    assert twins[0].get_yscale() == "log" and twins[0].get_ylabel() == "learning rate"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["training loss", "validation loss", "learning rate"]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"


def test_history_per_batch_and_diverged_title(ax):
    history = fake_history([1.0], batch_loss=[3.0, np.inf, 1.0], batch_lr=[0.0, 0.5, 1.0], diverged=True)
    plot.history(history, ax=ax, per="batch")
    y = ax.get_lines()[0].get_ydata()
    assert y[0] == 3.0 and np.isnan(y[1])  # non-finite values leave a gap
    twin = [a for a in ax.figure.axes if a is not ax][0]
    assert twin.get_yscale() == "linear"  # an lr of 0 cannot go on a log axis
    assert "diverged" in ax.get_title()
    assert ax.get_xlabel() == "step (update number)"


def test_history_accepts_a_plain_dict_and_can_skip_the_lr(ax):
    plot.history({"accuracy": [0.5, 0.9], "val_accuracy": [0.4, 0.8]}, ax=ax, metric="accuracy", lr=False)
    assert len(ax.figure.axes) == 1
    assert [line.get_label() for line in ax.get_lines()] == ["training accuracy", "validation accuracy"]


def test_history_errors(ax):
    with pytest.raises(ValueError, match="history has no 'val_accuracy'"):
        plot.history(fake_history([1.0]), ax=ax, metric="val_accuracy")
    with pytest.raises(ValueError, match="per must be one of 'epoch', 'batch', got 'step'"):
        plot.history(fake_history([1.0]), ax=ax, per="step")
    with pytest.raises(TypeError, match="history must be a History"):
        plot.history([1.0, 2.0], ax=ax)


def test_history_of_a_real_fit(ax):
    from lrcourse import SGD, SoftmaxCrossEntropy, fit, mlp

    X = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = mlp([2, 8, 2], rng=0)
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y, epochs=3,
                  validation_data=(X, y), rng=0)
    plot.history(history, ax=ax, metric="accuracy")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), history.history["accuracy"])


def test_learning_rate_and_lr_name_the_same_curve(ax):
    # a Keras 3 style dict logs "learning_rate"; a lrcourse History logs "lr": each finds the other
    plot.history({"loss": [1.0, 0.5], "learning_rate": [0.1, 0.01]}, ax=ax)
    twin = [a for a in ax.figure.axes if a is not ax][0]
    np.testing.assert_array_equal(twin.get_lines()[0].get_ydata(), [0.1, 0.01])
    other = Figure().subplots()
    plot.compare({"run": fake_history([1.0, 0.5], lrs=[0.1, 0.05])}, metric="learning_rate", ax=other)
    np.testing.assert_array_equal(other.get_lines()[0].get_ydata(), [0.1, 0.05])


def test_compare_draws_one_labelled_line_per_run(ax):
    runs = {"lr=0.1": {"val_accuracy": [0.5, 0.7]}, "lr=1": fake_history([1.0, 0.5], val_losses=[1, 2])}
    runs["lr=1"].history["val_accuracy"] = [0.2, 0.1]
    out = plot.compare(runs, ax=ax)
    assert out is ax
    assert [line.get_label() for line in ax.get_lines()] == ["lr=0.1", "lr=1"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [0.2, 0.1])
    assert ax.get_ylabel() == "val_accuracy" and ax.get_legend() is not None


def test_compare_names_the_run_without_the_metric(ax):
    with pytest.raises(ValueError, match="run 'b': history has no 'val_loss'"):
        plot.compare({"a": {"val_loss": [1.0]}, "b": {"loss": [1.0]}}, metric="val_loss", ax=ax)
    with pytest.raises(TypeError, match="non-empty dict"):
        plot.compare({}, ax=ax)


# ------------------------------------------------------------------ trajectory

def test_trajectory_draws_contours_paths_and_the_minimum(ax):
    fn = Quadratic(1.0, 10.0)
    paths = {"lr=0.1": np.array([[-4.0, 2.5], [-3.6, 0.0]]), "lr=0.19": np.array([[-4.0, 2.5], [-3.2, -2.25]])}
    out = plot.trajectory(fn, paths, ax=ax)
    assert out is ax
    assert ax.collections, "no contour lines"
    labelled = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(labelled["lr=0.19"].get_xydata(), paths["lr=0.19"])
    np.testing.assert_array_equal(labelled["minimum"].get_xydata(), [[0.0, 0.0]])
    assert ax.get_xlim() == (-5.0, 5.0) and ax.get_ylim() == (-3.5, 3.5)
    assert ax.get_title() == fn.name


def test_trajectory_single_path_and_list_with_labels(ax):
    fn = Rosenbrock()
    plot.trajectory(fn, np.array([[-1.5, 2.0], [-1.0, 1.0]]), ax=ax)
    assert "path" in [line.get_label() for line in ax.get_lines()]
    other = Figure().subplots()
    plot.trajectory(fn, [np.zeros((2, 2)), np.ones((3, 2))], ax=other, labels=["a", "b"])
    assert {"a", "b"} <= {line.get_label() for line in other.get_lines()}
    with pytest.raises(ValueError, match=r"must have shape \(n, 2\)"):
        plot.trajectory(fn, [np.zeros((2, 3))], ax=Figure().subplots())
    with pytest.raises(ValueError, match="got 1 labels for 2 paths"):
        plot.trajectory(fn, [np.zeros((2, 2)), np.ones((2, 2))], ax=Figure().subplots(), labels=["a"])


def test_contour_levels_are_log_spaced_above_the_minimum(ax):
    cs = plot.contours(Quadratic(1.0, 10.0), ax, levels=10, resolution=50)
    ratios = cs.levels[1:] / cs.levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    assert cs.levels[0] > 0


# ------------------------------------------------------------------ range test

def synthetic_result(repeats=3, stopped_early=True):
    lrs = np.logspace(-5, 0, 51)
    losses = (np.log10(lrs) + 1.5) ** 2 + 1
    std = np.full(51, 0.1) if repeats > 1 else None
    raw = np.vstack([losses + 0.05 * k for k in range(repeats)])
    return RangeTestResult(lrs, losses, losses_std=std, raw_losses=raw, stopped_early=stopped_early)


def test_range_test_plot(ax):
    result = synthetic_result()
    out = plot.range_test(result, ax=ax)
    assert out is ax
    assert ax.get_xscale() == "log"
    smoothed = [line for line in ax.get_lines() if line.get_label().startswith("smoothed loss")][0]
    np.testing.assert_array_equal(smoothed.get_ydata(), result.losses)
    assert "mean of 3 runs" in smoothed.get_label()
    assert len(ax.collections) == 1  # the ± std band
    suggestion_x = {line.get_label().split(":")[0]: line.get_xdata()[0] for line in ax.get_lines()
                    if ":" in line.get_label()}
    for method in ("lowest/6", "steepest", "minimum", "valley"):  # the default rule first
        assert suggestion_x[method] == pytest.approx(result.suggest(method))
    assert "stopped" in ax.get_title()
    assert ax.get_xlabel() == "learning rate (log scale)" and ax.get_ylabel() == "loss"


def test_range_test_plot_from_the_result_and_without_extras(ax):
    result = synthetic_result(repeats=1, stopped_early=False)
    out = result.plot(ax=ax, suggestions=(), raw=False)
    assert out is ax
    assert [line.get_label() for line in ax.get_lines()] == ["smoothed loss"]
    assert not ax.collections and "stopped" not in ax.get_title()


def test_range_test_plot_skips_rules_without_enough_points(ax):
    result = RangeTestResult(np.logspace(-3, 0, 8), np.linspace(2, 1, 8))
    plot.range_test(result, ax=ax)  # steepest needs more than 15 points: left out, no error
    assert not any(line.get_label().startswith("steepest") for line in ax.get_lines())


def test_range_test_y_range_cuts_the_divergence_spike(ax):
    lrs = np.logspace(-5, 0, 30)
    losses = np.r_[np.linspace(2.0, 1.0, 25), [2, 10, 100, 1000, 1e6]]
    plot.range_test(RangeTestResult(lrs, losses), ax=ax)
    low, high = ax.get_ylim()
    assert low < 1.0 and 2.0 < high < 3.0  # starting loss 2, minimum 1: top at 2 + 0.5 + padding
