"""LivePlot: what it draws, when it redraws, how the last frame tells the end of training."""

import io
import json

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import lrcourse
from lrcourse.liveplot import LivePlot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits():
    (X, y), validation, _ = lrcourse.data.digits(rng=0)
    return X, y, validation


def train(digits, callbacks, lr=0.1, epochs=4):
    X, y, validation = digits
    model = lrcourse.mlp([64, 16, 10], rng=0)
    return lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=lr), X, y,
                        epochs=epochs, validation_data=validation, rng=0, callbacks=callbacks)


class FakeDisplay:
    """Stands in for IPython.display.display(..., display_id=True): records what is shown."""

    def __init__(self):
        self.shown = []
        self.updates = []

    def __call__(self, obj, raw=False, display_id=None):
        assert display_id is True
        self.shown.append(obj)
        return self

    def update(self, obj):
        self.updates.append(obj)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def no_frame_drawn_yet(monkeypatch):
    """LivePlot remembers how long the process's last frame took; each test starts without."""
    monkeypatch.setattr(LivePlot, "_last_frame_seconds", 0.0)


@pytest.fixture
def fake_display(monkeypatch):
    import IPython.display

    display = FakeDisplay()
    monkeypatch.setattr(IPython.display, "display", display)
    return display


# ---------------------------------------------------------------------------------------------
# What the figure shows
# ---------------------------------------------------------------------------------------------


def test_the_figure_holds_every_epoch_and_every_update(digits):
    live = LivePlot()
    history = train(digits, [live])
    figure = live.draw()
    loss_ax, acc_ax, lr_ax = figure.axes
    assert [ax.get_ylabel() for ax in figure.axes] == ["loss", "accuracy", "learning rate"]
    assert all(ax.get_xlabel() == "epoch" for ax in figure.axes)
    assert lr_ax.get_yscale() == "log"
    lines = {(ax.get_ylabel(), line.get_label()): line for ax in figure.axes for line in ax.get_lines()}
    epochs = np.arange(1, 5)
    for panel, label, key in [("loss", "train", "loss"), ("loss", "validation", "val_loss"),
                              ("accuracy", "train", "accuracy"), ("accuracy", "validation", "val_accuracy")]:
        np.testing.assert_array_equal(lines[panel, label].get_xdata(), epochs)
        np.testing.assert_array_equal(lines[panel, label].get_ydata(), history.history[key])
    np.testing.assert_array_equal(lines["loss", "batch"].get_ydata(), history.batch_loss)
    np.testing.assert_array_equal(lines["learning rate", "learning rate"].get_ydata(), history.batch_lr)
    # 34 updates per epoch (1078 training digits, batches of 32): update k sits at epoch (k+1)/34.
    batches = len(history.batch_loss) // 4
    assert batches == 34
    np.testing.assert_allclose(lines["loss", "batch"].get_xdata(), np.arange(1, 4 * 34 + 1) / 34)
    assert live.status == "finished: 4 epochs, 136 updates" == figure._suptitle.get_text()


def test_a_long_run_draws_every_kth_update_and_the_last(monkeypatch):
    monkeypatch.setattr(lrcourse.liveplot, "_MAX_POINTS", 10)
    live = LivePlot()
    live.on_train_begin({})
    for step in range(25):
        live.on_batch_end(step, {"loss": float(step), "lr": 0.1})
    live.on_epoch_end(0, {"loss": 1.0})
    # 25 updates, at most 10 points: every 3rd (ceil(25/10)) and the last one.
    batch_line = live.draw().axes[0].get_lines()[0]
    assert batch_line.get_ydata().tolist() == [0, 3, 6, 9, 12, 15, 18, 21, 24]


def test_without_accuracy_there_is_no_accuracy_panel():
    X, y = lrcourse.data.moons(n_samples=100, rng=0)
    live = LivePlot()
    model = lrcourse.mlp([2, 8, 1], rng=0)
    lrcourse.fit(model, lrcourse.MeanSquaredError(), lrcourse.SGD(model.parameters(), lr=0.1), X,
                 y.reshape(-1, 1).astype(float), epochs=2, rng=0, callbacks=[live])
    assert [ax.get_ylabel() for ax in live.draw().axes] == ["loss", "learning rate"]


def test_a_schedule_is_drawn_update_by_update(digits):
    schedule = lrcourse.schedules.StepDecay(0.1, step_size=34, gamma=0.5)
    live = LivePlot()
    train(digits, [live], lr=schedule, epochs=3)
    lr_line = live.draw().axes[-1].get_lines()[0]
    expected = 0.1 * 0.5 ** (np.arange(3 * 34) // 34)  # halved after every epoch of 34 updates
    np.testing.assert_allclose(lr_line.get_ydata(), expected)


def test_the_last_frame_says_where_and_why_training_diverged(digits):
    live = LivePlot()
    # The rate grows 10x every 115 updates: training blows up within a few epochs.
    with pytest.warns(RuntimeWarning, match="diverged"):
        history = train(digits, [live], lr=lambda step: 0.01 * np.exp(step / 50), epochs=30)
    assert history.diverged
    updates = len(history.batch_loss)
    assert live.stopped == "diverged"
    assert live.status.startswith(f"diverged after {updates} updates ({len(history.epoch)} full epochs), last lr ")
    figure = live.draw()
    assert figure._suptitle.get_text() == live.status
    stop_x = updates / 34
    for ax in figure.axes:  # a dashed line at the last update, in every panel
        assert any(list(line.get_xdata()) == pytest.approx([stop_x, stop_x]) for line in ax.get_lines())
    # The whole climb is on the loss axis, not cut at the 99th percentile.
    assert figure.axes[0].get_ylim()[1] >= max(history.batch_loss)


def test_a_run_that_diverges_in_its_first_epoch_is_drawn_at_fractions_of_that_epoch(digits):
    # lr 30 on digits: fit's guard stops after 2 of the 34 updates of epoch 1.
    live = LivePlot()
    with pytest.warns(RuntimeWarning, match="diverged in epoch 1"):
        history = train(digits, [live], lr=30.0, epochs=3)
    updates = len(history.batch_loss)
    assert history.diverged and history.epoch == [] and 0 < updates < 34
    assert live.params == {"epochs": 3, "steps": 34, "samples": len(digits[0])}  # fit's, as in Keras
    figure = live.draw()
    batch_line = [line for line in figure.axes[0].get_lines() if len(line.get_xdata()) == updates][0]
    np.testing.assert_allclose(batch_line.get_xdata(), np.arange(1, updates + 1) / 34)
    for ax in figure.axes:  # the stop line at that fraction of epoch 1, not at "epoch 1"
        assert any(list(line.get_xdata()) == pytest.approx([updates / 34] * 2) for line in ax.get_lines())


def test_the_last_frame_says_early_stopping_ended_training(digits):
    live = LivePlot()
    stopper = lrcourse.EarlyStopping(monitor="val_loss", patience=1)
    history = train(digits, [stopper, live], lr=2.0, epochs=50)
    assert history.stopped_epoch is not None and len(history.epoch) < 50
    assert live.stopped == "early"
    assert live.status == f"stopped early by a callback: {len(history.epoch)} epochs, {len(history.batch_loss)} updates"


def test_a_finished_run_has_no_stop_line(digits):
    live = LivePlot()
    train(digits, [live], epochs=1)
    stop_lines = [line for line in live.draw().axes[0].get_lines() if line.get_label().startswith("_")]
    assert stop_lines and all(np.isnan(line.get_xdata()).all() for line in stop_lines)


def decoded(png_bytes):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGBA")).astype(int)


def test_a_frame_is_the_full_figure_drawn_over_a_kept_background(digits, monkeypatch):
    live = LivePlot()
    train(digits, [live], epochs=3)
    first = live.png()
    full = io.BytesIO()
    live.draw().savefig(full, format="png")
    # The same picture as a full drawing (a few pixels differ where curves cross the spines,
    # drawn in another order); without the title, 978 pixels would differ.
    assert (np.abs(decoded(first) - decoded(full.getvalue())).max(axis=-1) > 0).sum() < 50
    draws = []
    monkeypatch.setattr(live.figure.canvas, "draw", lambda: draws.append(1))
    assert live.png() == first and draws == []  # nothing moved: the background is reused
    live.on_batch_end(0, {"loss": 50.0, "lr": 0.1})  # far above the axis: it grows, the background is redrawn
    live.png()
    assert draws == [1]


def test_the_axes_span_the_planned_epochs_from_the_start(digits):
    live = LivePlot()
    X, y, validation = digits
    model = lrcourse.mlp([64, 16, 10], rng=0)
    seen = []

    class Look(lrcourse.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            figure = live.draw()
            seen.append((figure.axes[0].get_xlim(), figure.axes[-1].get_ylim()))

    lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=0.1), X, y,
                 epochs=5, validation_data=validation, rng=0, callbacks=[live, Look()])
    assert [xlim for xlim, _ in seen] == [(0, 5.1)] * 5
    # The constant rate 0.1 sits between the decades around it, a little wider.
    assert seen[0][1] == pytest.approx((10 ** -2.05, 10 ** 0.05))


@pytest.mark.parametrize("kwargs, message", [
    ({"min_interval": -1}, r"min_interval must be >= 0 seconds, got -1"),
    ({"max_overhead": 0}, r"max_overhead must be in \(0, 1\], got 0"),
    ({"max_overhead": 2}, r"max_overhead must be in \(0, 1\], got 2"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LivePlot(**kwargs)


# ---------------------------------------------------------------------------------------------
# Outside a notebook, and the file
# ---------------------------------------------------------------------------------------------


def test_outside_a_notebook_nothing_is_shown(digits, fake_display):
    live = LivePlot()
    train(digits, [live])
    assert fake_display.shown == [] and fake_display.updates == [] and live.frames == 0


@pytest.mark.parametrize("suffix, magic", [(".png", PNG_MAGIC), (".svg", b"<?xml")])
def test_path_writes_the_final_figure(digits, tmp_path, suffix, magic):
    path = tmp_path / f"training{suffix}"
    live = LivePlot(path=path)
    train(digits, [live], epochs=2)
    assert path.read_bytes().startswith(magic)
    if suffix == ".svg":
        assert "finished: 2 epochs, 68 updates" in path.read_text()


# ---------------------------------------------------------------------------------------------
# When it redraws (driven through the hooks with a clock the test controls)
# ---------------------------------------------------------------------------------------------


def drive(live, clock, batches, seconds_per_batch, draw_seconds=0.0):
    """Run the hooks as fit would, one epoch of 10 batches at a time, advancing the fake clock."""
    original_png = live.png

    def slow_png():
        clock.now += draw_seconds
        return original_png()

    live.png = slow_png
    live.on_train_begin({})
    drawn_at = []
    for step in range(batches):
        clock.now += seconds_per_batch
        before = live.frames
        live.on_batch_end(step, {"loss": 1.0 / (step + 1), "lr": 0.1})
        if (step + 1) % 10 == 0:
            live.on_epoch_end(step // 10, {"loss": 1.0, "lr": 0.1})
        if live.frames > before:
            drawn_at.append(clock.now - draw_seconds)
    live.on_train_end({})
    return drawn_at


def test_redraws_come_at_most_every_min_interval(fake_display):
    clock = FakeClock()
    live = LivePlot(live=True, min_interval=1.0)
    live._clock = clock
    drawn_at = drive(live, clock, batches=40, seconds_per_batch=0.25)  # 10 s of training
    assert drawn_at == [float(t) for t in range(1, 11)]  # every second, from 1 s on
    assert live.frames == 11  # and the last frame at the end
    assert isinstance(fake_display.shown[0], dict)  # a text placeholder until the first picture
    assert len(fake_display.updates) == 11
    assert all(image.data.startswith(PNG_MAGIC) for image in fake_display.updates)
    assert fake_display.updates[-1].data == live.png()  # the last picture is the finished run


def test_a_slow_redraw_waits_until_drawing_is_at_most_max_overhead_of_the_time(fake_display):
    clock = FakeClock()
    live = LivePlot(live=True, min_interval=1.0, max_overhead=0.1)
    live._clock = clock
    # Each picture takes 0.5 s, and all of them together at most 10 % of the time: the k-th
    # picture may start once 10 % of the time elapsed covers the k-1 before it, at 5 (k-1) s.
    drawn_at = drive(live, clock, batches=100, seconds_per_batch=0.25, draw_seconds=0.5)
    assert drawn_at == [1.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    assert live.frames == 7


def test_the_first_picture_waits_for_a_budget_as_long_as_the_last_frame_drawn(fake_display):
    clock = FakeClock()
    first = LivePlot(live=True, min_interval=1.0, max_overhead=0.1)
    first._clock = clock
    drive(first, clock, batches=3, seconds_per_batch=0.25, draw_seconds=0.5)  # only its last frame
    assert first.frames == 1
    second = LivePlot(live=True, min_interval=1.0, max_overhead=0.1)
    second._clock = clock
    start = clock.now
    drawn_at = drive(second, clock, batches=40, seconds_per_batch=0.25, draw_seconds=0.5)
    # A frame takes 0.5 s, 10 % of the time pays for it after 5 s: not at 1 s, as the first did.
    assert [t - start for t in drawn_at][:1] == [5.0]


def test_a_fast_run_shows_only_the_final_picture(fake_display):
    clock = FakeClock()
    live = LivePlot(live=True, min_interval=0.5)
    live._clock = clock
    assert drive(live, clock, batches=20, seconds_per_batch=0.01) == []
    assert live.frames == 1 and len(fake_display.updates) == 1


# ---------------------------------------------------------------------------------------------
# In a real Jupyter kernel
# ---------------------------------------------------------------------------------------------

KERNEL_CELL = """
import itertools
import lrcourse
(X, y), validation, _ = lrcourse.data.digits(rng=0)
model = lrcourse.mlp([64, 32, 10], rng=0)
live = lrcourse.LivePlot(min_interval=200, max_overhead=1.0)
live._clock = itertools.count().__next__  # one "second" per look at the clock: a redraw every ~200 updates
history = lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=0.1),
                       X, y, epochs=60, validation_data=validation, rng=0, callbacks=[live])
"""


def test_in_a_kernel_the_figure_is_one_output_replaced_in_place():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(KERNEL_CELL),
        nbformat.v4.new_code_cell("import json; print(json.dumps({'frames': live.frames, 'status': live.status}))"),
    ])
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    fit_outputs = nb.cells[0].outputs
    summary = json.loads(nb.cells[1].outputs[0].text)
    assert summary["frames"] >= 5, summary  # it redrew while training...
    images = [out for out in fit_outputs if "image/png" in out.get("data", {})]
    assert len(images) == 1 and len(fit_outputs) == 1  # ...always in the same output
    assert summary["status"] == "finished: 60 epochs, 2040 updates"
