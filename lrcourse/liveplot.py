"""A live view of training: one figure, redrawn in place while ``fit`` runs in a notebook.

Loss (training and validation, with the batch losses faint behind), accuracy when there is one,
and the learning rate on its own log axis, all against epochs. The figure is redrawn at most every
``min_interval`` seconds, and less often when drawing is slow, so that drawing takes at most
``max_overhead`` of the time (the last frame, always drawn, comes on top). The last frame says how
training ended (finished, stopped early, diverged, and where).

In a notebook the figure is one output that is replaced on every redraw (``display_id``). Outside a
notebook nothing is drawn while training; ``path=`` writes the final figure to a file either way.

>>> import lrcourse
>>> X, y = lrcourse.data.moons(n_samples=200, rng=0)
>>> model = lrcourse.mlp([2, 16, 2], rng=0)
>>> live = LivePlot()
>>> history = lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=0.1),
...                        X, y, epochs=3, batch_size=20, rng=0, callbacks=[live])
>>> live.status
'finished: 3 epochs, 30 updates'
>>> [ax.get_ylabel() for ax in live.draw().axes]
['loss', 'accuracy', 'learning rate']
"""

import io
import math
import time

import numpy as np

from .callbacks import Callback

__all__ = ["LivePlot"]

_MAX_POINTS = 1000  # points drawn at most per line: about four per pixel of a panel


def _thin(n):
    """Which of n points to draw: all up to _MAX_POINTS, then every k-th one and the last, which is
    enough for a line a few hundred pixels wide (a frame's cost grows with the points drawn)."""
    if n <= _MAX_POINTS:
        return slice(None)
    return np.unique(np.r_[np.arange(0, n, -(-n // _MAX_POINTS)), n - 1])


def _in_notebook():
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code), where outputs can be replaced."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LivePlot(Callback):
    """Callback: redraw the loss, accuracy and learning rate of a running ``fit`` in one figure.

    - ``live``: redraw during training; ``None`` (default) means "in a notebook only".
    - ``path``: write the final figure to this file (PNG, SVG, PDF, by its extension).
    - ``min_interval``: at least this many seconds between redraws (and before the first, which
      also waits until the budget below covers a frame as long as the last one drawn).
    - ``max_overhead``: redraw only while all the drawing so far stays under this fraction of the
      time since training began; with the default 0.03 and frames of 25 ms, one every 0.8 s.
    - ``figsize``: inches, default ``(10, 3.2)``.

    After training, ``status`` says how it ended and ``draw()`` returns the final figure.
    """

    _last_frame_seconds = 0.0  # how long the last frame took, in this process

    def __init__(self, *, live=None, path=None, min_interval=0.5, max_overhead=0.03, figsize=(10, 3.2)):
        if not min_interval >= 0:
            raise ValueError(f"min_interval must be >= 0 seconds, got {min_interval!r}")
        if not 0 < max_overhead <= 1:
            raise ValueError(f"max_overhead must be in (0, 1], got {max_overhead!r}")
        self.live = live
        self.path = path
        self.min_interval = float(min_interval)
        self.max_overhead = float(max_overhead)
        self.figsize = figsize
        self.figure = None
        self._clock = time.monotonic
        self._reset()

    def _reset(self):
        self.batch_loss, self.batch_lr = [], []
        self.epoch_logs = []
        self.batches_per_epoch = None
        self.planned_epochs = None
        self.status = "training"
        self.stopped = None  # "diverged", "early" or "finished" once training has ended
        self.frames = 0  # pictures shown during this fit
        self._live = False
        self._handle = None
        self._train_start = self._drawing_seconds = 0.0
        self._next_draw = -math.inf
        self._loss_top_now = None

    # ------------------------------------------------------------------ the hooks fit calls

    def on_train_begin(self, logs=None):
        self._reset()
        # Updates per epoch from fit, so that a run stopped inside its first epoch is drawn at the
        # right x (a fraction of an epoch), not as if its updates were a whole epoch.
        self.batches_per_epoch = (self.params or {}).get("steps")
        # The x axis spans the planned epochs from the start (as fastai's ShowGraph does): the
        # learner sees how far training has come, and the axes stay put between frames.
        self.planned_epochs = (self.params or {}).get("epochs")
        self._live = _in_notebook() if self.live is None else bool(self.live)
        if self._live:
            from IPython.display import display

            # A text placeholder costs nothing; the first picture comes with the first redraw.
            self._handle = display({"text/plain": "LivePlot: waiting for the first updates..."},
                                   raw=True, display_id=True)
        self._train_start = self._clock()
        self._drawing_seconds = 0.0
        # The first frame, too, waits until the budget covers a frame as long as the last one this
        # process drew (none yet: just min_interval), so a short run pays for its last frame only.
        self._next_draw = self._train_start + max(self.min_interval,
                                                  LivePlot._last_frame_seconds / self.max_overhead)

    def on_batch_end(self, step, logs=None):
        # Called on every update: keep it to two appends and a look at the clock.
        self.batch_loss.append(logs.get("loss", math.nan) if logs else math.nan)
        self.batch_lr.append(logs.get("lr", math.nan) if logs else math.nan)
        if self._live and self._clock() >= self._next_draw:
            self._redraw()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs or {}))
        if self.batches_per_epoch is None:  # called without fit's params: count the first epoch
            self.batches_per_epoch = len(self.batch_loss)
        self.status = f"training: {len(self.epoch_logs)} epochs, {len(self.batch_loss)} updates"
        if self._live and self._clock() >= self._next_draw:
            self._redraw()

    def on_train_end(self, logs=None):
        self.stopped, self.status = self._how_it_ended()
        if self._live:
            self._redraw()
        if self.path is not None:
            self.draw().savefig(self.path)

    # ------------------------------------------------------------------ drawing

    def _how_it_ended(self):
        """("diverged" | "early" | "finished", a sentence for the title), from fit's History."""
        updates = len(self.batch_loss)
        epochs = len(self.epoch_logs)
        if getattr(self.history, "diverged", False):
            # fit stops before applying the update whose loss blew up, so it is not in batch_loss.
            lr = self.batch_lr[-1] if self.batch_lr else math.nan
            return "diverged", (f"diverged after {updates} updates ({epochs} full epochs), last lr {lr:.3g}: "
                                f"training stopped")
        if getattr(self.history, "stopped_epoch", None) is not None:
            return "early", f"stopped early by a callback: {epochs} epochs, {updates} updates"
        return "finished", f"finished: {epochs} epochs, {updates} updates"

    def png(self):
        """The figure, up to date, as PNG bytes (what the notebook shows).

        Axes, ticks, labels and legend are most of a frame's cost, and they change only with the
        axes' limits, which are kept steady: they are drawn alone once per set of limits and kept as
        a background, and each frame draws only the curves and the title over it.
        """
        from PIL import Image

        figure = self.draw()
        canvas = figure.canvas
        layout = ((self._built_panels, len(self._legend_lines or ()))
                  + tuple(ax.get_xlim() + ax.get_ylim() for ax in figure.axes))
        moving = self._moving_artists()
        if layout != self._background_layout:
            for artist in moving:
                artist.set_visible(False)
            canvas.draw()
            for artist in moving:
                artist.set_visible(True)
            self._background = canvas.copy_from_bbox(figure.bbox)
            self._background_layout = layout
        else:
            canvas.restore_region(self._background)
        for artist in moving:
            figure.draw_artist(artist)
        buffer = io.BytesIO()
        # Fast, light compression: the picture is replaced a few times a second at most.
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def _moving_artists(self):
        """What changes from frame to frame: the curves, the stop lines and the title."""
        return list(self._lines.values()) + self._stop_lines + [self._title]

    def _redraw(self):
        from IPython.display import Image

        start = self._clock()
        self._handle.update(Image(data=self.png(), format="png"))
        self.frames += 1
        now = self._clock()
        # Budget: all the drawing so far may take at most max_overhead of the time since training
        # began; so after a slow frame the next one waits longer.
        self._drawing_seconds += now - start
        LivePlot._last_frame_seconds = now - start
        self._next_draw = max(now + self.min_interval,
                              self._train_start + self._drawing_seconds / self.max_overhead)

    def _x_batches(self):
        """Batch positions in epochs: update k of an epoch of n sits at (k+1)/n."""
        per_epoch = self.batches_per_epoch or max(len(self.batch_loss), 1)
        return (np.arange(len(self.batch_loss)) + 1) / per_epoch

    def _metric(self, key):
        return np.array([logs.get(key, np.nan) for logs in self.epoch_logs], dtype=float)

    def _panels(self):
        has_accuracy = any("accuracy" in logs for logs in self.epoch_logs)
        return ("loss", "accuracy", "learning rate") if has_accuracy else ("loss", "learning rate")

    def _build(self, panels):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

        figure = Figure(figsize=self.figsize, dpi=80)
        FigureCanvasAgg(figure)  # its own canvas, never registered with pyplot: no second copy shown
        axes = figure.subplots(1, len(panels), sharex=True)
        figure.subplots_adjust(left=0.07, right=0.98, bottom=0.17, top=0.84, wspace=0.3)
        self._lines = {}
        # Text and tick marks are most of a redraw's cost: few ticks, no grid, no minor ticks.
        for ax, panel in zip(axes, panels):
            ax.set_xlabel("epoch")
            ax.set_ylabel(panel)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        loss_ax = axes[0]
        self._lines["batch_loss"], = loss_ax.plot([], [], color="C0", alpha=0.25, lw=0.8, label="batch")
        self._lines["loss"], = loss_ax.plot([], [], "o-", color="C0", ms=3, label="train")
        self._lines["val_loss"], = loss_ax.plot([], [], "o-", color="C1", ms=3, label="validation")
        if "accuracy" in panels:
            acc_ax = axes[1]
            self._lines["accuracy"], = acc_ax.plot([], [], "o-", color="C0", ms=3, label="train")
            self._lines["val_accuracy"], = acc_ax.plot([], [], "o-", color="C1", ms=3, label="validation")
        lr_ax = axes[-1]
        self._lines["lr"], = lr_ax.plot([], [], color="C2", label="learning rate")
        lr_ax.set_yscale("log")
        lr_ax.yaxis.set_major_locator(LogLocator(numticks=4))
        # Plain "0.01" labels: the default 10^k labels go through the mathtext parser, which took a
        # third of a new figure's first frame.
        lr_ax.yaxis.set_major_formatter(FuncFormatter(lambda rate, _: f"{rate:g}".replace("e-0", "e-")))
        lr_ax.yaxis.set_minor_locator(NullLocator())
        self._stop_lines = [ax.axvline(np.nan, color="C3", ls="--", lw=1) for ax in axes]
        self._title = figure.suptitle("", fontsize=11)
        self._axes = dict(zip(panels, axes))
        self._legend_lines = None
        self._background = self._background_layout = None
        self.figure = figure
        self._built_panels = panels

    def draw(self):
        """Bring the figure up to date with what training has logged so far, and return it."""
        panels = self._panels()
        if self.figure is None or panels != self._built_panels:
            self._build(panels)
        # Each list becomes an array once per frame: on a long run they hold 100,000 values.
        x_batch = self._x_batches()
        losses = np.asarray(self.batch_loss, dtype=float)
        rates = np.asarray(self.batch_lr, dtype=float)
        metrics = {key: self._metric(key) for key in ("loss", "val_loss", "accuracy", "val_accuracy")}
        keep = _thin(len(x_batch))
        self._lines["batch_loss"].set_data(x_batch[keep], losses[keep])
        self._lines["lr"].set_data(x_batch[keep], rates[keep])
        x_epoch = np.arange(1, len(self.epoch_logs) + 1)
        keep = _thin(len(x_epoch))
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            if key in self._lines:
                self._lines[key].set_data(x_epoch[keep], metrics[key][keep])
                self._lines[key].set_marker("o" if len(x_epoch) <= 40 else "")  # dots while they are few
        # One legend, on the loss panel (accuracy uses the same colours), remade only when it changes.
        loss_lines = [self._lines[key] for key in ("batch_loss", "loss", "val_loss")
                      if np.isfinite(self._lines[key].get_ydata()).any()]
        if loss_lines != self._legend_lines and loss_lines:
            # Above the panel, out of the curves' way: it belongs to the background.
            self._axes["loss"].legend(handles=loss_lines, loc="lower left", bbox_to_anchor=(0, 1), ncol=3,
                                      fontsize=8, frameon=False, borderaxespad=0.1, handlelength=1.5)
            self._legend_lines = loss_lines
        # Limits move only when the curves leave them, so that most frames reuse the background.
        x_max = max(self.planned_epochs or 0, len(self.epoch_logs), x_batch[-1] if len(x_batch) else 0, 1)
        self._axes["loss"].set_xlim(0, 1.02 * x_max)  # shared by all panels; room for the stop line
        top = self._loss_top(losses, metrics)
        if self._loss_top_now is None or not self._loss_top_now / 2 <= top <= self._loss_top_now:
            self._loss_top_now = top
        self._axes["loss"].set_ylim(0, self._loss_top_now)
        if "accuracy" in self._axes:
            self._axes["accuracy"].set_ylim(*self._accuracy_limits(metrics))
        self._axes["learning rate"].set_ylim(*self._lr_limits(rates))
        # Where training stopped, when it did not run to the end: a red line in every panel.
        stop_x = x_batch[-1] if self.stopped in ("diverged", "early") and len(x_batch) else np.nan
        for line in self._stop_lines:
            line.set_xdata([stop_x, stop_x])
        self._title.set_text(self.status)
        self._title.set_color("C3" if self.stopped == "diverged" else "black")
        return self.figure

    @staticmethod
    def _accuracy_limits(metrics):
        """From a tenth below the lowest accuracy so far up to 1."""
        values = np.concatenate([metrics["accuracy"], metrics["val_accuracy"]])
        values = values[np.isfinite(values)]
        bottom = min(math.floor(10 * values.min()) / 10, 0.9) if values.size else 0.0
        margin = 0.03 * (1 - bottom)
        return bottom - margin, 1 + margin

    @staticmethod
    def _lr_limits(rates):
        """Whole decades around the rates so far (log axis), a little wider, so that a schedule
        moves inside them; a rate on a decade, constant, sits in the middle of two."""
        rates = rates[np.isfinite(rates) & (rates > 0)]
        if not rates.size:
            return 0.01, 1.0
        low = math.floor(math.log10(rates.min()) + 1e-9)
        high = math.ceil(math.log10(rates.max()) - 1e-9)
        if high == low:
            low, high = low - 1, high + 1
        return 10.0 ** (low - 0.05), 10.0 ** (high + 0.05)

    def _loss_top(self, losses, metrics):
        """Top of the loss axis: what nearly all batches reach, so one rare spike does not squash
        the curve; all of it when training diverged, since the climb is then the story."""
        values = np.concatenate([metrics["loss"], metrics["val_loss"], losses])
        values = values[np.isfinite(values)]
        if not values.size:
            return 1.0
        top = values.max() if self.stopped == "diverged" else max(
            np.quantile(values, 0.99), np.nanmax(metrics["val_loss"], initial=0.0))
        return 1.05 * top if top > 0 else 1.0
