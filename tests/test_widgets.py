"""Tests for lrcourse.widgets: the callbacks behind the sliders, driven without a browser."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lrcourse import widgets as lrwidgets  # noqa: E402
from lrcourse.data import Quadratic  # noqa: E402
from lrcourse.widgets import classify_path, lr_playground, schedule_explorer  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def playground():
    return lr_playground(lr=0.01)


@pytest.fixture(scope="module")
def explorer():
    return schedule_explorer("CosineDecay", steps=1000)


def sgd_on_the_bowl(lr, steps, start=(-4.0, 2.5), a=1.0, b=10.0):
    """Closed form of SGD on (a x^2 + b y^2) / 2: each coordinate shrinks by (1 - lr * curvature)."""
    k = np.arange(steps + 1)
    return np.column_stack([start[0] * (1 - lr * a) ** k, start[1] * (1 - lr * b) ** k])


# ------------------------------------------------------------------ lr playground

def test_playground_layout(playground):
    sliders = [w for w in playground.widget.children[0].children if isinstance(w, widgets.FloatLogSlider)]
    assert [s.description for s in sliders] == ["learning rate"]
    assert isinstance(playground.widget.children[-1], widgets.Image)
    assert bytes(playground.image.value).startswith(PNG_SIGNATURE)
    assert set(playground.optimizer_dropdown.options) == {
        "SGD", "SGD + momentum 0.9", "Nesterov (momentum 0.9)", "Adagrad", "RMSprop", "Adam"}
    bundle = playground._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == playground.widget.model_id


def test_moving_the_slider_redraws_the_path_the_loss_and_the_image(playground):
    playground.update(lr=0.01, optimizer="SGD", function="ill-conditioned quadratic")
    path_before = playground.path_line.get_xydata().copy()
    png_before = playground.image.value
    playground.lr_slider.value = 0.1  # what the browser does
    assert playground.image.value != png_before and bytes(playground.image.value).startswith(PNG_SIGNATURE)
    assert not np.array_equal(playground.path_line.get_xydata(), path_before)
    expected = sgd_on_the_bowl(0.1, 50)
    np.testing.assert_allclose(playground.path_line.get_xydata(), expected, atol=1e-12)
    gap = 0.5 * (expected[:, 0] ** 2 + 10 * expected[:, 1] ** 2)
    np.testing.assert_allclose(playground.loss_line.get_ydata(), np.maximum(gap, 1e-16), rtol=1e-12)
    np.testing.assert_array_equal(playground.loss_line.get_xdata(), np.arange(51))
    assert playground.verdict == "good"
    assert "lr = 0.1" in playground.loss_axes.get_title()


@pytest.mark.parametrize("lr, verdict", [(0.01, "slow"), (0.1, "good"), (0.19, "oscillating"), (0.5, "diverging")])
def test_the_four_regimes_of_sgd_on_the_bowl(playground, lr, verdict):
    playground.update(lr=lr, optimizer="SGD", function="ill-conditioned quadratic")
    assert playground.verdict == verdict
    assert verdict in playground.status.value


def test_divergence_shows_a_message_not_an_exception(playground):
    playground.update(lr=10.0, optimizer="SGD", function="ill-conditioned quadratic")
    assert playground.verdict == "diverging"
    assert "diverging" in playground.status.value and "stopped after" in playground.status.value
    assert "could not draw" not in playground.status.value
    assert bytes(playground.image.value).startswith(PNG_SIGNATURE)
    assert len(playground.path) < 51
    # The loss curve shows only finite values.
    assert np.all(np.isfinite(playground.loss_line.get_ydata()))


def test_optimizer_and_function_choices(playground):
    playground.update(lr=0.05, optimizer="SGD", function="ill-conditioned quadratic")
    plain = playground.path.copy()
    playground.optimizer_dropdown.value = "SGD + momentum 0.9"
    assert not np.allclose(playground.path, plain)
    # Momentum's first step equals plain SGD's; its second adds 0.9 times the first.
    np.testing.assert_allclose(playground.path[1], plain[1])
    first_step = plain[1] - plain[0]
    grad = np.array([1.0, 10.0]) * playground.path[1]
    np.testing.assert_allclose(playground.path[2], playground.path[1] - 0.05 * (0.9 * (-first_step / 0.05) + grad))
    contours_before = len(playground.path_axes.collections)
    playground.function_dropdown.value = "Rosenbrock"
    assert playground.path_axes.get_title().startswith("Rosenbrock")
    assert playground.path_axes.get_xlim() == (-2.0, 2.0)
    assert len(playground.path_axes.collections) == contours_before  # old contours replaced, not stacked
    np.testing.assert_array_equal(playground.path[0], [-1.5, 2.0])


def test_the_figure_is_reused(playground):
    figures_before = plt.get_fignums()
    figure, lines = playground.figure, len(playground.path_axes.lines) + len(playground.loss_axes.lines)
    for lr in (0.001, 3.0):
        for optimizer in ("Adam", "Nesterov (momentum 0.9)"):
            playground.update(lr=lr, optimizer=optimizer)
    assert plt.get_fignums() == figures_before
    assert playground.figure is figure and len(figure.axes) == 2
    assert len(playground.path_axes.lines) + len(playground.loss_axes.lines) == lines


def test_update_redraws_once(playground, monkeypatch):
    calls = []
    original = playground._draw
    monkeypatch.setattr(playground, "_draw", lambda: calls.append(1) or original())
    playground.update(lr=0.02, optimizer="Adagrad", function="ill-conditioned quadratic")
    assert len(calls) == 1


def test_an_error_while_drawing_is_shown(playground, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(lrwidgets, "descent_path", broken)
    playground.lr_slider.value = 0.2 if playground.lr_slider.value != 0.2 else 0.3
    assert "could not draw: RuntimeError: boom" in playground.status.value


def test_playground_bad_arguments():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        lr_playground(optimizer="LBFGS")
    with pytest.raises(ValueError, match="function must be one of"):
        lr_playground(function="Himmelblau")
    with pytest.raises(ValueError, match=r"lr must be a number in \[1e-4, 10\]"):
        lr_playground(lr=100.0)


def test_classify_path_rules():
    bowl = Quadratic(1.0, 10.0)
    k = np.arange(21)[:, None]
    assert classify_path(bowl, np.array([1.0, 1.0]) * 0.5 ** k, 20) == "good"      # gap / 4**20
    assert classify_path(bowl, np.array([1.0, 1.0]) * 0.99 ** k, 20) == "slow"     # gap * 0.67
    assert classify_path(bowl, np.array([1.0, 0.0]) * (-0.9) ** k, 20) == "oscillating"
    assert classify_path(bowl, np.array([1.0, 1.0]) * 1.01 ** k, 20) == "diverging"  # ends above start
    assert classify_path(bowl, np.ones((5, 2)) * 0.5, 20) == "diverging"             # stopped early


# ------------------------------------------------------------------ schedule explorer

def test_explorer_draws_the_cosine_formula(explorer):
    explorer.update(schedule="CosineDecay", steps=1000, log=False, initial_lr=0.1, decay_steps=1000, alpha=0.0)
    t = np.arange(1000)
    np.testing.assert_allclose(explorer.line.get_ydata(), 0.05 * (1 + np.cos(np.pi * t / 1000)), rtol=1e-12)
    assert explorer.axes.get_title() == "CosineDecay"
    assert "CosineDecay(" in explorer.status.value


def test_moving_a_parameter_slider_redraws(explorer):
    explorer.update(schedule="StepDecay", steps=1000, initial_lr=0.1, step_size=250, gamma=0.5)
    png_before, y_before = explorer.image.value, explorer.line.get_ydata().copy()
    t = np.arange(1000)
    np.testing.assert_allclose(y_before, 0.1 * 0.5 ** (t // 250), rtol=1e-12)
    gamma = [c for c in explorer.controls["StepDecay"] if c.description == "gamma"][0]
    gamma.value = 0.25
    np.testing.assert_allclose(explorer.line.get_ydata(), 0.1 * 0.25 ** (t // 250), rtol=1e-12)
    assert explorer.image.value != png_before


def test_switching_schedule_swaps_the_sliders(explorer):
    explorer.schedule_dropdown.value = "CyclicLR"
    names = [c.description for c in explorer.parameter_box.children]
    assert names == ["base_lr", "max_lr", "step_size_up", "mode", "gamma"]
    explorer.update(base_lr=0.001, max_lr=0.1, step_size_up=200, mode="triangular", steps=1000)
    y = explorer.line.get_ydata()
    # Triangle: base at 0, max at step 200, back to base at 400.
    assert y[0] == pytest.approx(0.001) and y[200] == pytest.approx(0.1) and y[400] == pytest.approx(0.001)
    assert y[100] == pytest.approx(0.001 + 0.5 * 0.099)


def test_invalid_parameters_show_a_message(explorer):
    explorer.update(schedule="CyclicLR", base_lr=0.1, max_lr=0.01)
    assert explorer.schedule is None and len(explorer.line.get_xdata()) == 0
    assert "max_lr" in explorer.status.value and "invalid" in explorer.axes.get_title()
    explorer.update(max_lr=1.0)  # fixing it brings the curve back
    assert explorer.schedule is not None and len(explorer.line.get_xdata()) == 1000


def test_one_cycle_spans_the_plotted_steps(explorer):
    explorer.update(schedule="OneCycle (total_steps = steps)", steps=500, max_lr=0.1, div_factor=25.0,
                    final_div_factor=1e4, pct_start=0.3, anneal_strategy="cos", three_phase=False)
    y = explorer.values
    assert len(y) == 500
    assert y[0] == pytest.approx(0.1 / 25)
    assert y.max() == pytest.approx(0.1)
    assert y[-1] == pytest.approx(0.1 / 25 / 1e4)  # PyTorch's last step reaches initial_lr / final_div_factor


def test_every_schedule_draws(explorer):
    for name in explorer.schedule_dropdown.options:
        explorer.update(schedule=name, steps=300)
        assert explorer.schedule is not None, (name, explorer.status.value)
        assert len(explorer.values) == 300 and np.all(np.isfinite(explorer.values)), name


def test_log_scale_and_unknown_parameter(explorer):
    explorer.update(schedule="ExponentialDecay", log=True)
    assert explorer.axes.get_yscale() == "log"
    explorer.update(log=False)
    assert explorer.axes.get_yscale() == "linear"
    with pytest.raises(ValueError, match="ExponentialDecay has no parameter 'gama'"):
        explorer.update(gama=0.5)


def test_explorer_reuses_its_figure(explorer):
    figures_before, figure = plt.get_fignums(), explorer.figure
    for name in list(explorer.schedule_dropdown.options)[:4]:
        explorer.update(schedule=name)
    assert plt.get_fignums() == figures_before and explorer.figure is figure
    assert len(explorer.axes.lines) == 1
