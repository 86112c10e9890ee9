"""Interactive figures for the lessons (ipywidgets 8): move a slider, see the learning rate at work.

* :func:`lr_playground`: pick a learning rate and an optimizer; see the descent path on a 2-D
  function and its loss curve, and whether the run is slow, good, oscillating or diverging.
* :func:`schedule_explorer`: pick a schedule from :mod:`lrcourse.schedules`, move its parameter
  sliders and see the learning rate step by step.

Each returns an object that displays as its widget in Jupyter. It keeps one matplotlib figure
(never registered with pyplot) and on every change updates the existing lines with ``set_data``,
renders the figure to PNG and puts the bytes into an ``ipywidgets.Image``. That works with the
default inline backend, in JupyterLab, classic Notebook, VS Code and a headless browser, needs no
extra matplotlib backend, and swaps the picture without flicker.

>>> playground = lr_playground(lr=0.1)
>>> playground.verdict
'good'
>>> playground.lr_slider.value = 0.3        # what moving the slider does
>>> playground.verdict
'diverging'
"""

import contextlib
import io

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import schedules as sched
from .data import Quadratic, Rosenbrock, descent_path
from .optim import SGD, Adagrad, Adam, RMSprop
from .plot import contours

__all__ = ["lr_playground", "schedule_explorer", "LRPlayground", "ScheduleExplorer", "classify_path"]


class _FigureWidget:
    """One figure, rendered into an ``ipywidgets.Image`` whenever the controls change."""

    def __init__(self, figsize, ncols=1, margins=None):
        self.figure = Figure(figsize=figsize, dpi=96)
        FigureCanvasAgg(self.figure)  # gives the figure its own canvas, without pyplot
        self.axes = self.figure.subplots(1, ncols)
        # Fixed margins rather than a layout engine: cheaper on every redraw, and the axes do not
        # shift while the tick labels change under the learner's slider.
        self.figure.subplots_adjust(**(margins or {}))
        self.image = widgets.Image(format="png")
        self.status = widgets.HTML()
        self._holding = False

    @contextlib.contextmanager
    def _hold(self):
        """Change several controls and redraw once at the end."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        self.redraw()

    def _on_change(self, change=None):
        if not self._holding:
            self.redraw()

    def redraw(self):
        try:
            self._draw()
        except Exception as err:  # a callback's exception would vanish into the browser console
            self._show_status(f"could not draw: {type(err).__name__}: {err}", error=True)
        # savefig draws the figure on its Agg canvas (a draw_idle() first would only draw it twice).
        buffer = io.BytesIO()
        # Fast, light compression: the image is re-sent on every move of a slider.
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        self.image.value = buffer.getvalue()

    def _show_status(self, text, error=False):
        color = "#b00020" if error else "inherit"
        self.status.value = f'<span style="color:{color}">{text}</span>'

    def _draw(self):
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


# ------------------------------------------------------------------------------ lr playground

_FUNCTIONS = {
    "ill-conditioned quadratic": lambda: Quadratic(a=1.0, b=10.0),
    "Rosenbrock": lambda: Rosenbrock(),
}

_OPTIMIZERS = {
    "SGD": lambda params, lr: SGD(params, lr=lr),
    "SGD + momentum 0.9": lambda params, lr: SGD(params, lr=lr, momentum=0.9),
    "Nesterov (momentum 0.9)": lambda params, lr: SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda params, lr: Adagrad(params, lr=lr),
    "RMSprop": lambda params, lr: RMSprop(params, lr=lr),
    "Adam": lambda params, lr: Adam(params, lr=lr),
}


def classify_path(fn, path, steps):
    """Sort a descent path into ``"diverging"``, ``"oscillating"``, ``"slow"`` or ``"good"``.

    A rule of thumb for the lessons, on ``gap = f(x) - f(x*)``:

    * diverging: the run left the plotting box or became non-finite before ``steps`` updates, or
      ended with a larger gap than it started with;
    * oscillating: more than half of the distance travelled is in steps that turn back against
      the step before (negative dot product): the path zig-zags across the valley;
    * good: the gap fell by at least a factor 1000;
    * slow: anything else (still far from the minimum after ``steps`` updates).

    >>> bowl = Quadratic(1.0, 10.0)
    >>> sgd = lambda lr: (lambda params: SGD(params, lr=lr))
    >>> [classify_path(bowl, descent_path(bowl, sgd(lr), steps=50), 50)
    ...  for lr in (0.01, 0.1, 0.19, 0.21)]
    ['slow', 'good', 'oscillating', 'diverging']
    """
    path = np.asarray(path, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        gap = fn(path) - fn(np.asarray(fn.minimum, dtype=float))
    if len(path) < steps + 1 or not np.isfinite(gap[-1]) or gap[-1] > gap[0]:
        return "diverging"
    moves = np.diff(path, axis=0)
    lengths = np.linalg.norm(moves, axis=1)
    if len(moves) >= 2 and lengths.sum() > 0:
        turns_back = np.sum(moves[1:] * moves[:-1], axis=1) < 0
        if lengths[1:][turns_back].sum() > 0.5 * lengths.sum():
            return "oscillating"
    return "good" if gap[-1] <= 1e-3 * gap[0] else "slow"


_VERDICT_TEXT = {
    "slow": "slow: the steps are too small to get near the minimum in time",
    "good": "good: the loss falls fast and steadily",
    "oscillating": "oscillating: the steps overshoot and zig-zag across the valley",
    "diverging": "diverging: every step overshoots further and the loss blows up",
}


class LRPlayground(_FigureWidget):
    """The widget behind :func:`lr_playground`; ``.widget`` is what Jupyter shows.

    Controls: ``lr_slider`` (``FloatLogSlider``), ``optimizer_dropdown``, ``function_dropdown``.
    After each change: ``path`` (the visited points), ``losses`` (``f - f*`` per step),
    ``verdict`` (see :func:`classify_path`), ``path_line`` and ``loss_line`` (the Line2D objects).
    """

    def __init__(self, lr=0.05, optimizer="SGD", function="ill-conditioned quadratic", steps=50):
        if optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(_OPTIMIZERS)}, got {optimizer!r}")
        if function not in _FUNCTIONS:
            raise ValueError(f"function must be one of {list(_FUNCTIONS)}, got {function!r}")
        if not (isinstance(lr, (int, float)) and 1e-4 <= lr <= 10):
            raise ValueError(f"lr must be a number in [1e-4, 10], got {lr!r}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        super().__init__(figsize=(9.0, 3.8), ncols=2,
                         margins=dict(left=0.07, right=0.98, bottom=0.13, top=0.91, wspace=0.25))
        self.steps = steps
        self.lr_slider = widgets.FloatLogSlider(
            value=lr, base=10, min=-4, max=1, step=0.05, description="learning rate", readout_format=".3g",
            continuous_update=False, style={"description_width": "initial"})
        self.optimizer_dropdown = widgets.Dropdown(options=list(_OPTIMIZERS), value=optimizer,
                                                   description="optimizer")
        self.function_dropdown = widgets.Dropdown(options=list(_FUNCTIONS), value=function,
                                                  description="function")
        self.widget = widgets.VBox([
            widgets.HBox([self.lr_slider, self.optimizer_dropdown]),
            widgets.HBox([self.function_dropdown, self.status]),
            self.image,
        ])

        self.path_axes, self.loss_axes = self.axes
        self._contours = None
        self._function_name = None
        self.path_line, = self.path_axes.plot([], [], marker="o", markersize=3, linewidth=1.2, color="C3",
                                              label="path")
        self.start_marker, = self.path_axes.plot([], [], marker="o", markersize=8, color="C3",
                                                 markerfacecolor="none", linestyle="none", label="start")
        self.minimum_marker, = self.path_axes.plot([], [], marker="*", markersize=12, color="k",
                                                   linestyle="none", label="minimum")
        self.path_axes.set_xlabel("x")
        self.path_axes.set_ylabel("y")
        self.path_axes.legend(loc="upper right", fontsize="small")
        self.loss_line, = self.loss_axes.plot([], [], color="C3")
        self.loss_axes.set_yscale("log")
        self.loss_axes.set_xlabel("step")
        self.loss_axes.set_ylabel("f(x) - f(x*)")
        self.loss_axes.set_xlim(0, steps)

        for control in (self.lr_slider, self.optimizer_dropdown, self.function_dropdown):
            control.observe(self._on_change, names="value")
        self.redraw()

    def update(self, lr=None, optimizer=None, function=None):
        """Set any of the controls, as a learner would, and redraw once."""
        with self._hold():
            if lr is not None:
                self.lr_slider.value = lr
            if optimizer is not None:
                self.optimizer_dropdown.value = optimizer
            if function is not None:
                self.function_dropdown.value = function
        return self

    def _set_function(self, name):
        self.fn = _FUNCTIONS[name]()
        if self._contours is not None:
            self._contours.remove()
        self._contours = contours(self.fn, self.path_axes)
        (x_low, x_high), (y_low, y_high) = self.fn.bounds
        self.path_axes.set_xlim(x_low, x_high)
        self.path_axes.set_ylim(y_low, y_high)
        self.path_axes.set_title(self.fn.name)
        self.minimum_marker.set_data(*([v] for v in self.fn.minimum))
        self._function_name = name

    def _draw(self):
        if self.function_dropdown.value != self._function_name:
            self._set_function(self.function_dropdown.value)
        lr, name = float(self.lr_slider.value), self.optimizer_dropdown.value
        factory = _OPTIMIZERS[name]
        self.path = descent_path(self.fn, lambda params: factory(params, lr), steps=self.steps)
        with np.errstate(over="ignore", invalid="ignore"):
            self.losses = self.fn(self.path) - self.fn(self.fn.minimum)
        self.verdict = classify_path(self.fn, self.path, self.steps)

        self.path_line.set_data(self.path[:, 0], self.path[:, 1])
        self.start_marker.set_data(self.path[:1, 0], self.path[:1, 1])
        shown = np.isfinite(self.losses)
        # Log axis: an exact zero (the minimum reached) is drawn at machine precision.
        self.loss_line.set_data(np.arange(len(self.losses))[shown], np.maximum(self.losses[shown], 1e-16))
        self.loss_axes.relim()
        self.loss_axes.autoscale_view(scalex=False)
        self.loss_axes.set_title(f"{name}, lr = {lr:.3g}: {self.verdict}")
        text = _VERDICT_TEXT[self.verdict]
        if self.verdict == "diverging" and len(self.path) < self.steps + 1:
            text += f" (stopped after {len(self.path) - 1} steps)"
        elif np.isfinite(self.losses[-1]):
            text += f"; f - f* = {self.losses[-1]:.2g} after {self.steps} steps"
        self._show_status(text)


def lr_playground(lr=0.05, optimizer="SGD", function="ill-conditioned quadratic", steps=50):
    """A learning-rate slider and an optimizer choice, redrawing a descent path and its loss curve.

    On the ill-conditioned quadratic (curvatures 1 and 10), plain SGD is slow below lr ~ 0.05, good
    near 0.1, zig-zags from 0.1 up to 0.2 and diverges above 2 / 10 = 0.2.
    """
    return LRPlayground(lr=lr, optimizer=optimizer, function=function, steps=steps)


# ------------------------------------------------------------------------------ schedule explorer

def _lr(description, value, low=-5, high=0):
    return widgets.FloatLogSlider(value=value, base=10, min=low, max=high, step=0.05, description=description,
                                  readout_format=".2g", continuous_update=False,
                                  style={"description_width": "initial"})


def _int(description, value, low, high, step=1):
    return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description,
                             continuous_update=False, style={"description_width": "initial"})


def _float(description, value, low, high, step):
    return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                               continuous_update=False, style={"description_width": "initial"})


def _choice(description, options, value):
    return widgets.Dropdown(options=options, value=value, description=description)


def _flag(description, value=False):
    return widgets.Checkbox(value=value, description=description)


def _by_name(schedule_class):
    """Build ``schedule_class`` from the sliders, whose descriptions are its parameter names."""
    return lambda params, steps: schedule_class(**params)


def _multi_step(params, steps):
    params = dict(params)
    milestones = [params.pop("milestone 1"), params.pop("milestone 2")]
    return sched.MultiStepDecay(milestones=milestones, **params)


def _one_cycle(params, steps):
    return sched.OneCycle(total_steps=steps, **params)  # the cycle spans the plotted steps


def _warmup_cosine(params, steps):
    warmup_steps = params["warmup_steps"]
    decay = sched.CosineDecay(params["peak_lr"], decay_steps=max(1, steps - warmup_steps))
    return sched.LinearWarmup(decay, warmup_steps)


def _explorer_entries():
    """name -> (build(params, steps) -> Schedule, parameter controls). New widgets on every call."""
    return {
        "CosineDecay": (_by_name(sched.CosineDecay), [
            _lr("initial_lr", 0.1), _int("decay_steps", 1000, 1, 5000), _float("alpha", 0.0, 0.0, 1.0, 0.01)]),
        "StepDecay": (_by_name(sched.StepDecay), [
            _lr("initial_lr", 0.1), _int("step_size", 250, 1, 5000), _float("gamma", 0.5, 0.01, 1.0, 0.01)]),
        "MultiStepDecay": (_multi_step, [
            _lr("initial_lr", 0.1), _int("milestone 1", 500, 1, 5000), _int("milestone 2", 750, 1, 5000),
            _float("gamma", 0.1, 0.01, 1.0, 0.01)]),
        "ExponentialDecay": (_by_name(sched.ExponentialDecay), [
            _lr("initial_lr", 0.1), _int("decay_steps", 100, 1, 5000), _float("decay_rate", 0.8, 0.05, 1.5, 0.01),
            _flag("staircase")]),
        "InverseTimeDecay": (_by_name(sched.InverseTimeDecay), [
            _lr("initial_lr", 0.1), _int("decay_steps", 100, 1, 5000), _float("decay_rate", 1.0, 0.05, 10.0, 0.05),
            _flag("staircase")]),
        "PolynomialDecay": (_by_name(sched.PolynomialDecay), [
            _lr("initial_lr", 0.1), _int("decay_steps", 1000, 1, 5000), _lr("end_lr", 1e-4, -6, -1),
            _float("power", 1.0, 0.1, 5.0, 0.1), _flag("cycle")]),
        "CosineRestarts": (_by_name(sched.CosineRestarts), [
            _lr("initial_lr", 0.1), _int("first_decay_steps", 100, 1, 5000), _float("t_mul", 2.0, 1.0, 3.0, 0.1),
            _float("m_mul", 1.0, 0.1, 1.0, 0.05), _float("alpha", 0.0, 0.0, 1.0, 0.01)]),
        "CyclicLR": (_by_name(sched.CyclicLR), [
            _lr("base_lr", 0.001), _lr("max_lr", 0.1), _int("step_size_up", 200, 1, 5000),
            _choice("mode", ["triangular", "triangular2", "exp_range"], "triangular"),
            _float("gamma", 0.999, 0.99, 1.0, 0.0005)]),
        "OneCycle (total_steps = steps)": (_one_cycle, [
            _lr("max_lr", 0.1), _float("pct_start", 0.3, 0.05, 0.95, 0.05),
            _float("div_factor", 25.0, 1.0, 100.0, 1.0), _lr("final_div_factor", 1e4, 0, 6),
            _choice("anneal_strategy", ["cos", "linear"], "cos"), _flag("three_phase")]),
        "LinearWarmup + CosineDecay": (_warmup_cosine, [
            _lr("peak_lr", 0.1), _int("warmup_steps", 100, 1, 2000)]),
        "Constant": (_by_name(sched.Constant), [_lr("lr", 0.1)]),
    }


class ScheduleExplorer(_FigureWidget):
    """The widget behind :func:`schedule_explorer`; ``.widget`` is what Jupyter shows.

    Controls: ``schedule_dropdown``, ``steps_slider``, ``log_checkbox`` and, per schedule,
    ``controls[name]`` (one widget per parameter, named by its ``description``). After each change:
    ``schedule`` (the object drawn, or None if the parameters are invalid), ``values`` and ``line``.
    """

    def __init__(self, schedule="CosineDecay", steps=1000, log=False):
        self._entries = _explorer_entries()
        if schedule not in self._entries:
            raise ValueError(f"schedule must be one of {list(self._entries)}, got {schedule!r}")
        super().__init__(figsize=(8.0, 3.6), margins=dict(left=0.1, right=0.97, bottom=0.14, top=0.9))
        self.controls = {name: controls for name, (_, controls) in self._entries.items()}
        self.schedule_dropdown = widgets.Dropdown(options=list(self._entries), value=schedule,
                                                  description="schedule")
        self.steps_slider = _int("steps", steps, 10, 5000, 10)
        self.log_checkbox = _flag("log scale", log)
        self.parameter_box = widgets.VBox(self.controls[schedule])
        self.widget = widgets.VBox([
            widgets.HBox([self.schedule_dropdown, self.steps_slider, self.log_checkbox]),
            self.parameter_box,
            self.status,
            self.image,
        ])

        self.line, = self.axes.plot([], [], color="C0")
        self.axes.set_xlabel("step (update number)")
        self.axes.set_ylabel("learning rate")
        self.schedule = None
        self.values = np.empty(0)

        self.schedule_dropdown.observe(self._on_schedule, names="value")
        for control in (self.steps_slider, self.log_checkbox):
            control.observe(self._on_change, names="value")
        for controls in self.controls.values():
            for control in controls:
                control.observe(self._on_change, names="value")
        self.redraw()

    def _on_schedule(self, change):
        self.parameter_box.children = self.controls[change["new"]]
        self._on_change()

    def parameters(self):
        """The current schedule's parameter values, by name."""
        return {c.description: c.value for c in self.controls[self.schedule_dropdown.value]}

    def update(self, schedule=None, steps=None, log=None, **parameters):
        """Set the schedule, the number of steps, the scale and any of its parameters; redraw once."""
        with self._hold():
            if schedule is not None:
                self.schedule_dropdown.value = schedule
            if steps is not None:
                self.steps_slider.value = steps
            if log is not None:
                self.log_checkbox.value = log
            by_name = {c.description: c for c in self.controls[self.schedule_dropdown.value]}
            for name, value in parameters.items():
                if name not in by_name:
                    raise ValueError(f"{self.schedule_dropdown.value} has no parameter {name!r}; "
                                     f"it has {list(by_name)}")
                by_name[name].value = value
        return self

    def _draw(self):
        name, steps = self.schedule_dropdown.value, int(self.steps_slider.value)
        build, _ = self._entries[name]
        self.axes.set_autoscaley_on(True)
        self.axes.set_yscale("log" if self.log_checkbox.value else "linear")
        self.axes.set_xlim(0, steps)
        try:
            self.schedule = build(self.parameters(), steps)
        except (ValueError, TypeError) as err:  # e.g. max_lr < base_lr: say so, keep the controls usable
            self.schedule, self.values = None, np.empty(0)
            self.line.set_data([], [])
            self.axes.set_title(f"{name}: invalid parameters")
            self._show_status(str(err), error=True)
            return
        self.values = np.asarray(self.schedule(np.arange(steps)), dtype=float)
        self.line.set_data(np.arange(steps), self.values)
        self.axes.relim()
        self.axes.autoscale_view(scalex=False)
        if not self.log_checkbox.value:
            self.axes.set_ylim(bottom=0)
        self.axes.set_title(type(self.schedule).__name__)
        low, high = self.values.min(), self.values.max()
        self._show_status(f"<code>{self.schedule!r}</code><br>lr from {low:.3g} to {high:.3g}; "
                          f"first {self.values[0]:.3g}, last {self.values[-1]:.3g}")


def schedule_explorer(schedule="CosineDecay", steps=1000, log=False):
    """Pick a schedule from :mod:`lrcourse.schedules`, move its sliders, see the lr step by step.

    >>> explorer = schedule_explorer("StepDecay", steps=1000)
    >>> explorer.update(step_size=500, gamma=0.1).values[[0, 499, 500]].round(6).tolist()
    [0.1, 0.1, 0.01]
    """
    return ScheduleExplorer(schedule=schedule, steps=steps, log=log)
