"""The training loop: mini-batches, forward, loss, backward, update; callbacks around it.

>>> import numpy as np
>>> from lrcourse import data, nn, losses, optim
>>> X, y = data.moons(n_samples=200, rng=0)
>>> model = nn.mlp([2, 16, 2], rng=0)
>>> history = fit(model, losses.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=0.1), X, y,
...               epochs=3, batch_size=20, rng=0)
>>> sorted(history.history), history.batch_loss.shape
(['accuracy', 'loss', 'lr'], (30,))
"""

import contextlib
import math
import warnings

import numpy as np

from .callbacks import Callback, Logs
from .losses import accuracy
from .utils import check_data, check_number, check_positive_int, check_rng, check_validation_data

__all__ = ["History", "fit", "evaluate", "predict"]


class History:
    """What ``fit`` measured.

    - ``history``: per-epoch lists ``loss``, ``accuracy`` (classification), ``val_loss``,
      ``val_accuracy`` (with validation data) and ``lr`` (the lr of the epoch's last update; Keras 3
      calls it ``learning_rate``, and ``history.history["learning_rate"]`` finds it too);
    - ``batch_loss``, ``batch_lr``: one entry per update, for fine-grained plots;
    - ``epoch``: the epoch indices run; ``stopped_epoch``: the last epoch run when a callback
      stopped training early (else ``None``); ``diverged``: True if the loss blew up (see :func:`fit`).
    """

    def __init__(self):
        self.history = Logs()
        self.epoch = []
        self.batch_loss = np.empty(0)
        self.batch_lr = np.empty(0)
        self.stopped_epoch = None
        self.diverged = False

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last}, diverged={self.diverged})"


def _check_callbacks(callbacks):
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be lrcourse.callbacks.Callback instances, got {cb!r}")
    return callbacks


# --- the pieces of the loop ----------------------------------------------------------------


class _Batches:
    """Mini-batches of ``(X, y)`` in a new shuffled order every epoch, gathered into reused buffers."""

    def __init__(self, X, y, batch_size, shuffle, rng):
        self.X, self.y, self.batch_size, self.shuffle, self.rng = X, y, batch_size, shuffle, rng
        self.per_epoch = math.ceil(len(X) / batch_size)
        rows = min(batch_size, len(X))
        self._X_buf = np.empty((rows,) + X.shape[1:], dtype=X.dtype)
        self._y_buf = np.empty((rows,) + y.shape[1:], dtype=y.dtype)

    def epoch(self):
        n, size = len(self.X), self.batch_size
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, size):
            idx = order[start:start + size]
            # take(..., out=) gathers without allocating a new batch array every step
            yield (self.X.take(idx, axis=0, out=self._X_buf[:len(idx)], mode="clip"),
                   self.y.take(idx, axis=0, out=self._y_buf[:len(idx)], mode="clip"))


# Weight of the previous smoothed loss in the divergence test (see fit's docstring).
_SMOOTHING = 0.9


class _DivergenceGuard:
    """fit's divergence test: a batch loss that is not finite, or a smoothed loss above the line."""

    def __init__(self, threshold):
        self.threshold = threshold
        self.first = self.smoothed = None

    def diverged(self, value):
        if self.first is None:
            self.first = self.smoothed = value
        self.smoothed = _SMOOTHING * self.smoothed + (1 - _SMOOTHING) * value   # s_t = 0.9 s_(t-1) + 0.1 l_t
        return not math.isfinite(value) or self.smoothed > self.threshold * self.first


def _all_finite(model):
    return all(np.all(np.isfinite(p.value)) for p in model.parameters())


class _EpochMeans:
    """Sample-weighted means of the batch losses (and accuracies) of one epoch."""

    def __init__(self, classification):
        self.classification = classification
        self.loss_sum = self.correct = 0.0
        self.seen = 0

    def add(self, value, pred, yb):
        n = len(yb)
        self.seen += n
        self.loss_sum += value * n
        if self.classification:
            self.correct += accuracy(pred, yb) * n

    def logs(self, lr):
        logs = Logs(loss=self.loss_sum / self.seen)
        if self.classification:
            logs["accuracy"] = self.correct / self.seen
        logs["lr"] = lr
        return logs


@contextlib.contextmanager
def _no_input_grad(model):
    """Speed: nobody needs dLoss/dX for the data, so the model may skip it (see ``Module.needs_input_grad``)."""
    before = model.needs_input_grad
    model.needs_input_grad = False
    try:
        yield
    finally:
        model.needs_input_grad = before


@contextlib.contextmanager
def _progress_bar(show, total):
    if not show:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="fit", unit="batch", leave=False)
    try:
        yield bar
    finally:
        bar.close()


def _overrides(callback, hook):
    return getattr(type(callback), hook) is not getattr(Callback, hook)


class _Run:
    """Everything ``fit`` does around lesson 01's loop: checks, records, callbacks, the guard.

    ``fit`` calls it at fixed points of the loop: ``begin_epoch``, ``begin_batch``,
    ``diverges(loss)`` (before the update), ``end_batch`` (after it) and ``end_epoch``.
    """

    def __init__(self, model, loss, optimizer, X, y, epochs, batch_size, validation_data, callbacks, shuffle,
                 rng, progress, divergence_threshold):
        X, y = check_data(X, y, dtype=model.dtype)
        self.validation = None if validation_data is None else check_validation_data(validation_data, model.dtype)
        self.epochs = check_positive_int("epochs", epochs, minimum=0)
        batch_size = check_positive_int("batch_size", batch_size)
        if divergence_threshold is not None:
            divergence_threshold = check_number("divergence_threshold", divergence_threshold, low=1,
                                                low_inclusive=False)
        self.batches = _Batches(X, y, batch_size, shuffle, check_rng(rng))
        self.callbacks = _check_callbacks(callbacks)
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.history = History()
        # Keras' callback.params: what a callback may need to know of the run before it ends.
        params = {"epochs": self.epochs, "steps": self.batches.per_epoch, "samples": len(X)}
        for cb in self.callbacks:
            cb.model, cb.optimizer, cb.history, cb.params = model, optimizer, self.history, params
        # Per-batch hooks only of callbacks that override them, so an unused hook costs nothing.
        self.on_batch_begin = [cb.on_batch_begin for cb in self.callbacks if _overrides(cb, "on_batch_begin")]
        self.on_batch_end = [cb.on_batch_end for cb in self.callbacks if _overrides(cb, "on_batch_end")]
        self.guard = None if divergence_threshold is None else _DivergenceGuard(divergence_threshold)
        self.classification = getattr(loss, "is_classification", False)
        total = self.epochs * self.batches.per_epoch
        self.batch_loss, self.batch_lr = np.empty(total), np.empty(total)
        self.updates = 0
        self.progress = progress
        self.stopped_by_guard = False

    def __enter__(self):
        self._context = contextlib.ExitStack()
        self._context.enter_context(np.errstate(over="ignore", invalid="ignore", divide="ignore"))
        self._context.enter_context(_no_input_grad(self.model))
        self.bar = self._context.enter_context(_progress_bar(self.progress, len(self.batch_loss)))
        self.model.stop_training = False
        self.model.train()
        for cb in self.callbacks:
            cb.on_train_begin(Logs())
        return self

    def __exit__(self, *exc):
        self._context.close()
        if exc[0] is None:
            self.history.batch_loss = self.batch_loss[:self.updates].copy()
            self.history.batch_lr = self.batch_lr[:self.updates].copy()
            for cb in self.callbacks:
                cb.on_train_end(Logs())

    def begin_epoch(self, epoch):
        self.epoch = epoch
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, Logs())
        self.means = _EpochMeans(self.classification)
        # Cheap once per epoch, and what a blown-up model falls back to (see diverges).
        self.epoch_start_weights = self.model.state_dict() if self.guard is not None else None

    def begin_batch(self):
        for hook in self.on_batch_begin:
            hook(self.updates, Logs())

    def diverges(self, value):
        """fit's guard, before the update: stop, leaving the model at its last finite weights."""
        if self.guard is None or not self.guard.diverged(value):
            return False
        self.history.diverged = self.stopped_by_guard = True
        # Counted from 1, as the lessons and plots count: the update that diverged is not applied,
        # so the weights kept are those after the update before it.
        if not _all_finite(self.model):
            self.model.load_state_dict(self.epoch_start_weights)
            kept = f"its weights from the start of epoch {self.epoch + 1} (the last finite ones kept)"
        elif self.updates == 0:
            kept = "its initial weights"
        else:
            kept = f"its weights after update {self.updates} (the last finite ones)"
        warnings.warn(
            f"training diverged in epoch {self.epoch + 1} at update {self.updates + 1} (both counted from 1; "
            f"that update was not applied): batch loss {value:.4g}, smoothed "
            f"{self.guard.smoothed:.4g} (first batch: {self.guard.first:.4g}) with learning rate "
            f"{self.optimizer.lr_at(self.optimizer.iterations):.4g}; stopped, the model keeps {kept}. "
            "Try a smaller learning rate.", RuntimeWarning, stacklevel=3)
        return True

    def end_batch(self, value, pred, yb):
        """Record the update just made and tell the callbacks; True when one asks to stop."""
        lr = self.optimizer.lr
        self.batch_loss[self.updates], self.batch_lr[self.updates] = value, lr
        self.means.add(value, pred, yb)
        if self.on_batch_end:
            logs = Logs(loss=value, lr=lr)
            for hook in self.on_batch_end:
                hook(self.updates, logs)
        if not math.isfinite(value):  # reached only with the guard off (Keras' design)
            if not self.history.diverged and not self.model.stop_training:
                warnings.warn(f"batch loss {value} at update {self.updates}: training goes on because "
                              "divergence_threshold is None (pass callbacks=[TerminateOnNaN()] to stop)",
                              RuntimeWarning, stacklevel=3)
            self.history.diverged = True
        self.updates += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.updates % 10 == 1:
                self.bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.3g}", refresh=False)
        return self.model.stop_training

    def end_epoch(self):
        """Log the epoch (with validation) and tell the callbacks; True when training goes on."""
        logs = self.means.logs(self.optimizer.lr)
        if self.validation is not None:
            logs.update({f"val_{k}": v for k, v in evaluate(self.model, self.loss, *self.validation).items()})
            self.model.train()
        for cb in self.callbacks:
            cb.on_epoch_end(self.epoch, logs)
        self.history.epoch.append(self.epoch)
        for key, value in logs.items():
            self.history.history.setdefault(key, []).append(value)
        if self.model.stop_training:
            self.history.stopped_epoch = self.epoch
            return False
        return True


# --- fit -----------------------------------------------------------------------------------


def fit(model, loss, optimizer, X, y, *, epochs=10, batch_size=32, validation_data=None, callbacks=(),
        shuffle=True, rng=None, progress=False, divergence_threshold=10.0):
    """Train ``model`` with mini-batch gradient descent and return a :class:`History`.

    Each update is lesson 01's loop on one mini-batch: ``pred = model(X_batch)``,
    ``L = loss(pred, y_batch)``, ``model.backward(dL/dpred)``, ``optimizer.step()``.

    Parameters
    ----------
    model, loss, optimizer : an :mod:`lrcourse.nn` model, an :mod:`lrcourse.losses` loss and an
        :mod:`lrcourse.optim` optimizer built on ``model.parameters()``.
    X : array of shape ``(samples, features)``, converted to the model's dtype. It must be finite.
    y : targets, one row per sample: integer class labels ``(samples,)`` or one-hot/probabilities
        ``(samples, classes)`` for ``SoftmaxCrossEntropy``; values ``(samples,)`` or
        ``(samples, outputs)`` for ``MeanSquaredError``.
    epochs : passes over the data (0 runs none).
    batch_size : samples per update (the last batch of an epoch may be smaller).
    validation_data : a pair ``(X_val, y_val)``; its loss (and accuracy) is measured after every
        epoch and logged as ``val_loss`` (``val_accuracy``).
    callbacks : :class:`lrcourse.callbacks.Callback` objects, called at the start and end of
        training, of each epoch and of each batch.
    shuffle : draw the batches in a new random order every epoch (from ``rng``).
    rng : None, an int seed or a ``numpy.random.Generator``; pass the same Generator to several
        calls to continue one random sequence.
    progress : show a tqdm progress bar.
    divergence_threshold : fit's divergence guard (see Notes); None switches it off.

    Notes
    -----
    Divergence: two designs, pick one.

    * fit's guard (the default): each batch loss is checked *before* its update. When it is NaN/inf,
      or when the smoothed loss ``s_0 = l_0``, ``s_t = 0.9 s_(t-1) + 0.1 l_t`` climbs above
      ``divergence_threshold`` times the first batch's loss, training stops at once: that update is
      not applied, the unfinished epoch is not logged, ``history.diverged`` is True and a
      ``RuntimeWarning`` names the learning rate in force. The model is left at its last finite
      weights (if the weights themselves blew up, those from the start of the epoch; the warning
      says which); the optimizer's buffers are not rolled back. The smoothing lets one unlucky
      batch pass while an exploding loss (which grows geometrically) crosses the line within a few
      updates. When continuing from a trained model, whose first batch loss can be tiny, switch
      the guard off or raise the threshold.
    * Keras' design: ``divergence_threshold=None`` and ``callbacks=[TerminateOnNaN()]``. Every batch
      is applied, whatever its loss, and reaches the callbacks; ``TerminateOnNaN`` stops training
      after the first NaN/inf batch loss, the epoch is closed as usual, so ``history.history["loss"]``
      ends with that epoch's non-finite entry, and ``history.diverged`` is True. Without such a
      callback, fit warns once and goes on.

    Examples
    --------
    >>> import warnings
    >>> from lrcourse import data, nn, losses, optim, callbacks
    >>> X, y = data.moons(n_samples=64, rng=0)
    >>> model = nn.mlp([2, 8, 2], rng=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     history = fit(model, losses.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=1e30),
    ...                   X, y, epochs=3, divergence_threshold=None, callbacks=[callbacks.TerminateOnNaN()])
    >>> history.diverged, len(history.history["loss"]), bool(np.isfinite(history.history["loss"][-1]))
    (True, 1, False)
    >>> str(caught[0].message)
    'batch 1: invalid loss nan, terminating training'

    """
    run = _Run(model, loss, optimizer, X, y, epochs, batch_size, validation_data, callbacks, shuffle, rng,
               progress, divergence_threshold)
    with run:
        for epoch in range(run.epochs):
            run.begin_epoch(epoch)
            for xb, yb in run.batches.epoch():
                run.begin_batch()
                pred = model.forward(xb)              # 1. predict
                value = loss.forward(pred, yb)        # 2. measure the loss
                if run.diverges(value):               # (fit's guard: stop before a blown-up update)
                    break
                model.backward(loss.backward())       # 3. gradients of the loss, into p.grad
                optimizer.step()                      # 4. update the weights
                if run.end_batch(value, pred, yb):    # record; a callback may stop training
                    break
            if run.stopped_by_guard or not run.end_epoch():
                break
    return run.history


def predict(model, X, batch_size=1024):
    """The model's outputs for ``X``, computed in chunks to bound memory.

    >>> from lrcourse.nn import mlp
    >>> predict(mlp([2, 3], rng=0), np.zeros((5, 2))).shape
    (5, 3)
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (samples, features), got shape {X.shape}")
    batch_size = check_positive_int("batch_size", batch_size)
    X = X.astype(model.dtype, copy=False)
    was_training = model.training
    model.eval()
    try:
        return np.concatenate([model.forward(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        if was_training:
            model.train()


def evaluate(model, loss, X, y, batch_size=1024):
    """Mean loss over ``(X, y)``, and accuracy when ``loss`` is a classification loss.

    >>> from lrcourse.nn import mlp
    >>> from lrcourse.losses import SoftmaxCrossEntropy
    >>> sorted(evaluate(mlp([2, 3], rng=0), SoftmaxCrossEntropy(), np.zeros((4, 2)), np.zeros(4, int)))
    ['accuracy', 'loss']
    """
    X, y = check_data(X, y)
    pred = predict(model, X, batch_size)
    result = {"loss": float(loss.forward(pred, y))}
    if getattr(loss, "is_classification", False):
        result["accuracy"] = accuracy(pred, y)
    return result
