"""Figures for the course: schedules, training histories, optimiser paths and range tests.

Every function draws into ``ax`` when one is given (so a lesson can lay out several panels) and
otherwise creates a new figure; it returns the Axes it drew on. Learning rates are drawn on log
axes wherever they are the x axis or share a panel with a loss.

>>> import matplotlib
>>> from matplotlib.figure import Figure
>>> from lrcourse.schedules import StepDecay
>>> ax = Figure().subplots()
>>> ax = schedule(StepDecay(0.1, step_size=30), 100, ax=ax)
>>> ax.get_lines()[0].get_ydata()[[0, 29, 30, 99]].round(6).tolist()
[0.1, 0.1, 0.01, 0.0001]
"""

import numpy as np

from .utils import check_choice

__all__ = ["schedule", "history", "compare", "trajectory", "range_test"]


def _axes(ax, figsize=(6.4, 4.0)):
    """``ax``, or the Axes of a new pyplot figure (so that Jupyter shows it)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _finite_or_nan(values):
    values = np.asarray(values, dtype=float).copy()
    values[~np.isfinite(values)] = np.nan
    return values


def schedule_values(schedule, steps):
    """``(steps, values)``: ``schedule`` at every step, in one vectorised call when it takes an array.

    >>> steps, values = schedule_values(lambda t: 0.1 / (1 + t), 3)
    >>> steps.tolist(), values.round(4).tolist()
    ([0, 1, 2], [0.1, 0.05, 0.0333])
    """
    steps = np.arange(steps) if np.ndim(steps) == 0 else np.asarray(steps)
    if steps.dtype.kind not in "iu":
        raise TypeError(f"steps must be an int or an integer array, got dtype {steps.dtype}")
    try:
        values = schedule(steps)
    except TypeError:  # a callable written for one int at a time
        values = None
    if values is None or np.shape(values) != steps.shape:
        values = [schedule(int(step)) for step in steps]
    return steps, np.asarray(values, dtype=float)


def schedule(schedule, steps, ax=None, *, label=None, log=False, **line_kwargs):
    """Draw the learning rate against the update number.

    ``schedule`` is any ``step -> lr`` callable (an :mod:`lrcourse.schedules` object is evaluated in
    one vectorised call); ``steps`` is a number of steps or an array of step numbers. ``log=True``
    puts the learning rate on a log axis (useful for decays over several decades).
    """
    steps, values = schedule_values(schedule, steps)
    ax = _axes(ax)
    if label is None:
        label = getattr(schedule, "__name__", type(schedule).__name__)
        label = "learning rate" if label == "<lambda>" else label
    ax.plot(steps, values, label=label, **line_kwargs)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step (update number)")
    ax.set_ylabel("learning rate")
    ax.set_title("Learning-rate schedule")
    ax.legend()
    return ax


def _history_dict(history):
    """The per-epoch logs, in which ``"lr"`` and Keras 3's ``"learning_rate"`` name the same entry."""
    from .callbacks import Logs

    if hasattr(history, "history"):
        return Logs(history.history)
    if isinstance(history, dict):
        return Logs(history)
    raise TypeError(f"history must be a History (from fit) or its .history dict, got {type(history).__name__}")


def _series(history, metric, per):
    """x values and the metric's values, per epoch or per batch (update)."""
    check_choice("per", per, ("epoch", "batch"))
    if per == "epoch":
        logs = _history_dict(history)
        if metric not in logs:
            raise ValueError(f"history has no {metric!r}; it has {sorted(logs)}")
        values = np.asarray(logs[metric], dtype=float)
        return np.arange(1, len(values) + 1), values
    if metric != "loss":
        raise ValueError(f"per='batch' has only the loss, got metric={metric!r}")
    if not hasattr(history, "batch_loss"):
        raise TypeError("per='batch' needs the History object returned by fit, not a dict")
    values = np.asarray(history.batch_loss, dtype=float)
    return np.arange(len(values)), values


def history(history, ax=None, *, metric="loss", per="epoch", lr=True):
    """Training curves from :func:`lrcourse.fit`: ``metric`` (and ``val_`` + metric) with the lr.

    ``metric`` is ``"loss"`` or ``"accuracy"`` (or any key of ``history.history``); the learning rate
    goes on a twin y axis on the right, log scale, when ``lr=True`` and the history has it.
    ``per="batch"`` draws the loss of every update with the lr of every update.
    Returns the metric's Axes; the lr axis is its twin (in ``ax.figure.axes``).
    """
    ax = _axes(ax)
    x, values = _series(history, metric, per)
    lines = ax.plot(x, _finite_or_nan(values), label=f"training {metric}" if per == "epoch" else "batch loss")
    val_key = f"val_{metric}"
    if per == "epoch" and val_key in _history_dict(history):
        lines += ax.plot(x, _finite_or_nan(_history_dict(history)[val_key]), label=f"validation {metric}")
    ax.set_xlabel("epoch" if per == "epoch" else "step (update number)")
    ax.set_ylabel(metric)
    title = f"Training {metric}"
    if getattr(history, "diverged", False):
        title += " (diverged)"
    ax.set_title(title)

    if lr:
        if per == "epoch":
            lrs = _history_dict(history).get("lr")
        else:
            lrs = getattr(history, "batch_lr", None)
        if lrs is not None and len(lrs):
            lrs = np.asarray(lrs, dtype=float)
            lr_ax = ax.twinx()
            lines += lr_ax.plot(x[:len(lrs)], lrs, color="0.45", linestyle="--", label="learning rate")
            if np.all(lrs > 0):
                lr_ax.set_yscale("log")
            lr_ax.set_ylabel("learning rate")
    ax.legend(lines, [line.get_label() for line in lines], loc="best")
    return ax


def compare(histories, metric="val_accuracy", ax=None, *, per="epoch", log=False):
    """One curve per run: ``histories`` maps a label (e.g. ``"lr=0.1"``) to a History or its dict.

    ``metric`` is any per-epoch key (``"loss"``, ``"val_loss"``, ``"accuracy"``, ``"val_accuracy"``,
    ``"lr"`` or ``"learning_rate"``) or, with ``per="batch"``, ``"loss"``. ``log=True`` uses a log y axis.
    """
    if not isinstance(histories, dict) or not histories:
        raise TypeError("histories must be a non-empty dict {label: History}")
    ax = _axes(ax)
    for label, run in histories.items():
        try:
            x, values = _series(run, metric, per)
        except ValueError as err:
            raise ValueError(f"run {label!r}: {err}") from None
        ax.plot(x, _finite_or_nan(values), label=str(label))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch" if per == "epoch" else "step (update number)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by run")
    ax.legend()
    return ax


def _paths(path_or_paths, labels):
    """Normalise one path, a list of paths or a dict of labelled paths to ``[(label, array)]``."""
    if isinstance(path_or_paths, dict):
        items = list(path_or_paths.items())
    elif isinstance(path_or_paths, np.ndarray) and path_or_paths.ndim == 2:
        items = [("path", path_or_paths)]
    else:
        items = [(f"path {i + 1}", p) for i, p in enumerate(path_or_paths)]
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(items):
            raise ValueError(f"got {len(labels)} labels for {len(items)} paths")
        items = [(label, p) for label, (_, p) in zip(labels, items)]
    out = []
    for label, p in items:
        p = np.asarray(p, dtype=float)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"path {label!r} must have shape (n, 2), got {p.shape}")
        out.append((str(label), p))
    return out


def contours(fn, ax, *, levels=25, resolution=200):
    """Log-spaced contour lines of ``f - f(minimum)`` over ``fn.bounds``; returns the ContourSet."""
    from matplotlib.colors import LogNorm

    (x_low, x_high), (y_low, y_high) = fn.bounds
    xs = np.linspace(x_low, x_high, resolution)
    ys = np.linspace(y_low, y_high, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    values = fn(grid)
    f_min = float(fn(np.asarray(fn.minimum))) if hasattr(fn, "minimum") else float(values.min())
    gap = values - f_min
    positive = gap[gap > 0]
    # Log-spaced levels show both the steep walls and the flat floor of a valley.
    low = max(positive.min(), positive.max() * 1e-6)
    level_values = np.geomspace(low, positive.max(), levels)
    return ax.contour(xs, ys, np.maximum(gap, low), levels=level_values, norm=LogNorm(low, positive.max()),
                      cmap="viridis", linewidths=0.8)


def trajectory(fn, path_or_paths, ax=None, *, labels=None, levels=25, resolution=200):
    """Contours of a 2-D function (e.g. ``lrcourse.landscapes.Quadratic``) with one or more optimiser paths.

    ``path_or_paths`` is an ``(n, 2)`` array (from :func:`lrcourse.landscapes.descent_path`), a list of
    them, or a dict ``{label: path}``. The view is ``fn.bounds``; a diverging path leaves it.
    """
    paths = _paths(path_or_paths, labels)
    ax = _axes(ax, figsize=(6.4, 5.0))
    contours(fn, ax, levels=levels, resolution=resolution)
    for label, p in paths:
        marker = "o" if len(p) <= 100 else None  # dots show the step size; on long paths they blur
        line, = ax.plot(p[:, 0], p[:, 1], marker=marker, markersize=3, linewidth=1.2, label=label)
        ax.plot(p[0, 0], p[0, 1], marker="o", markersize=7, color=line.get_color(), markerfacecolor="none")
    if hasattr(fn, "minimum"):
        ax.plot(*np.asarray(fn.minimum), marker="*", markersize=12, color="k", linestyle="none", label="minimum")
    (x_low, x_high), (y_low, y_high) = fn.bounds
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(getattr(fn, "name", type(fn).__name__))
    ax.legend(loc="best")
    return ax


_SUGGESTION_COLORS = {"lowest/6": "C4", "steepest": "C1", "minimum": "C2", "valley": "C3"}


def range_test(result, ax=None, *, suggestions=("lowest/6", "steepest", "minimum", "valley"), raw=True,
               skip_start=None, skip_end=None):
    """Loss against learning rate from :func:`lrcourse.rangetest.lr_range_test`, log lr axis.

    Draws the smoothed loss (the mean over repeats, with a band of one standard deviation), the
    mini-batch losses faintly (``raw=True``) and a dashed vertical line at each suggested lr; the
    y range is cut a little above the starting loss so the divergence spike does not flatten the
    part that matters. ``skip_start``/``skip_end`` go to :meth:`RangeTestResult.suggest`.
    """
    ax = _axes(ax)
    lrs, losses = result.lrs, _finite_or_nan(result.losses)
    if raw and result.raw_losses is not None:
        for i, row in enumerate(result.raw_losses):
            ax.plot(lrs, _finite_or_nan(row), color="0.6", linewidth=0.7, alpha=0.6,
                    label=("validation loss" if getattr(result, "validation", False) else "batch loss")
                    if i == 0 else None)
    kind = "validation loss" if getattr(result, "validation", False) else "loss"
    label = f"smoothed {kind}" if result.losses_std is None else f"smoothed {kind}, mean of {result.repeats} runs"
    ax.plot(lrs, losses, color="C0", linewidth=2, label=label)
    if result.losses_std is not None:
        ax.fill_between(lrs, losses - result.losses_std, losses + result.losses_std, color="C0", alpha=0.2,
                        label="± 1 std over runs")
    for method in suggestions:
        try:
            index = result.suggest_index(method, skip_start=skip_start, skip_end=skip_end)
        except ValueError:  # too few points for this rule
            continue
        lr = result.suggest(method, skip_start=skip_start, skip_end=skip_end)
        color = _SUGGESTION_COLORS.get(method, "k")
        ax.plot(lrs[index], losses[index], marker="o", color=color, linestyle="none")
        ax.axvline(lr, color=color, linestyle="--", linewidth=1, label=f"{method}: {lr:.2g}")
    ax.set_xscale("log")
    finite = losses[np.isfinite(losses)]
    if finite.size:
        low, high = finite.min(), finite.max()
        top = min(high, finite[0] + 0.5 * (finite[0] - low)) if finite[0] > low else high
        pad = 0.05 * (top - low) if top > low else 0.05 * abs(top) + 1e-12
        ax.set_ylim(low - pad, top + pad)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("validation loss" if getattr(result, "validation", False) else "loss")
    title = "Learning-rate range test"
    if result.stopped_early:
        title += " (stopped: loss diverged)"
    ax.set_title(title)
    ax.legend(loc="best")
    return ax
