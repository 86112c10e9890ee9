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

from .callbacks import Callback
from .losses import accuracy
from .utils import check_positive_int, check_rng

__all__ = ["History", "fit", "evaluate", "predict"]


class History:
    """What ``fit`` measured.

    - ``history``: per-epoch lists ``loss``, ``accuracy`` (classification), ``val_loss``,
      ``val_accuracy`` (with validation data) and ``lr`` (the lr of the epoch's last update);
    - ``batch_loss``, ``batch_lr``: one entry per update, for fine-grained plots;
    - ``epoch``: the epoch indices run; ``stopped_epoch``: the last epoch run when a callback
      stopped training early (else ``None``); ``diverged``: True if training was stopped because
      the loss blew up.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.batch_loss = np.empty(0)
        self.batch_lr = np.empty(0)
        self.stopped_epoch = None
        self.diverged = False

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last}, diverged={self.diverged})"


def _check_data(X, y, name="X"):
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples, features), got shape {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"{name} has {len(X)} rows but its targets have {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    return X, y


@contextlib.contextmanager
def _no_input_grad(model):
    """Speed: nobody needs dLoss/dX for the data, so the model may skip it (see ``Module.needs_input_grad``)."""
    before = model.needs_input_grad
    model.needs_input_grad = False
    try:
        yield
    finally:
        model.needs_input_grad = before


# Weight of the previous smoothed loss in the divergence test (see fit's docstring).
_SMOOTHING = 0.9


def _overrides(callback, hook):
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def fit(model, loss, optimizer, X, y, *, epochs=10, batch_size=32, validation_data=None, callbacks=(),
        shuffle=True, rng=None, progress=False, divergence_threshold=10.0):
    """Train ``model`` with mini-batch gradient descent and return a :class:`History`.

    Each update: ``pred = model(X_batch)``, ``L = loss(pred, y_batch)``, ``model.backward(dL/dpred)``,
    ``optimizer.step()``. Training stops at once, with ``history.diverged = True`` and a warning
    naming the learning rate in force, when a batch loss is NaN/inf or when the smoothed batch loss
    climbs above ``divergence_threshold`` times the first batch's loss (``None`` disables the second
    test). The update that would have used that loss is not applied.

    The smoothed loss is ``s_0 = l_0``, ``s_t = 0.9 s_(t-1) + 0.1 l_t``: an exploding loss (which grows
    geometrically) crosses the line within a few updates, while a single unlucky batch does not stop
    training. When continuing from a trained model, whose first batch loss can be tiny, pass
    ``divergence_threshold=None`` (the NaN/inf test stays on).
    """
    X, y = _check_data(X, y)
    epochs = check_positive_int("epochs", epochs, minimum=0)
    batch_size = check_positive_int("batch_size", batch_size)
    if divergence_threshold is not None and not divergence_threshold > 1:
        raise ValueError(f"divergence_threshold must be > 1 or None, got {divergence_threshold!r}")
    X = X.astype(model.dtype, copy=False)
    if validation_data is not None:
        X_val, y_val = _check_data(*validation_data, name="validation X")
    rng = check_rng(rng)
    classification = getattr(loss, "is_classification", False)
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be lrcourse.callbacks.Callback instances, got {cb!r}")
    history = History()
    for cb in callbacks:
        cb.model, cb.optimizer, cb.history = model, optimizer, history
    batch_begin = [cb for cb in callbacks if _overrides(cb, "on_batch_begin")]
    batch_end = [cb for cb in callbacks if _overrides(cb, "on_batch_end")]

    n = len(X)
    n_batches = math.ceil(n / batch_size)
    batch_loss = np.empty(epochs * n_batches)
    batch_lr = np.empty(epochs * n_batches)
    # Batches are gathered into these buffers instead of allocating new arrays every step.
    X_buf = np.empty((min(batch_size, n),) + X.shape[1:], dtype=X.dtype)
    y_buf = np.empty((min(batch_size, n),) + y.shape[1:], dtype=y.dtype)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs * n_batches, desc="fit", unit="batch", leave=False)

    model.stop_training = False
    model.train()
    for cb in callbacks:
        cb.on_train_begin({})
    updates = 0
    first_loss = smoothed_loss = None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), _no_input_grad(model):
        for epoch in range(epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            order = rng.permutation(n) if shuffle else np.arange(n)
            epoch_loss_sum = 0.0
            epoch_correct = 0.0
            epoch_seen = 0
            for batch in range(n_batches):
                idx = order[batch * batch_size:(batch + 1) * batch_size]
                xb = X.take(idx, axis=0, out=X_buf[:len(idx)], mode="clip")
                yb = y.take(idx, axis=0, out=y_buf[:len(idx)], mode="clip")
                step = updates
                for cb in batch_begin:
                    cb.on_batch_begin(step, {})
                pred = model.forward(xb)
                value = loss.forward(pred, yb)
                if first_loss is None:
                    first_loss = smoothed_loss = value
                smoothed_loss = _SMOOTHING * smoothed_loss + (1 - _SMOOTHING) * value
                if not math.isfinite(value) or (
                        divergence_threshold is not None and smoothed_loss > divergence_threshold * first_loss):
                    history.diverged = True
                    lr = optimizer._evaluate("lr", optimizer._lr, step) * optimizer.lr_scale
                    warnings.warn(
                        f"training diverged at epoch {epoch}, update {step}: batch loss {value:.4g}, "
                        f"smoothed {smoothed_loss:.4g} (first batch: {first_loss:.4g}) with learning rate "
                        f"{lr:.4g}; stopped. Try a smaller learning rate.", RuntimeWarning, stacklevel=2)
                    break
                model.backward(loss.backward())
                optimizer.step()
                lr = optimizer.lr
                batch_loss[step] = value
                batch_lr[step] = lr
                updates += 1
                epoch_seen += len(idx)
                epoch_loss_sum += value * len(idx)
                if classification:
                    epoch_correct += accuracy(pred, yb) * len(idx)
                if batch_end:
                    logs = {"loss": value, "lr": lr}
                    for cb in batch_end:
                        cb.on_batch_end(step, logs)
                if bar is not None:
                    bar.update(1)
                    if batch % 10 == 0:
                        bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.3g}", refresh=False)
                if model.stop_training:
                    break
            if history.diverged:
                break
            logs = _epoch_logs(epoch_loss_sum, epoch_correct, epoch_seen, classification, optimizer)
            if validation_data is not None:
                val = evaluate(model, loss, X_val, y_val)
                model.train()
                logs.update({f"val_{k}": v for k, v in val.items()})
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            history.epoch.append(epoch)
            for key, value_ in logs.items():
                history.history.setdefault(key, []).append(value_)
            if model.stop_training:
                history.stopped_epoch = epoch
                break
    if bar is not None:
        bar.close()
    history.batch_loss = batch_loss[:updates].copy()
    history.batch_lr = batch_lr[:updates].copy()
    for cb in callbacks:
        cb.on_train_end({})
    return history


def _epoch_logs(loss_sum, correct, seen, classification, optimizer):
    logs = {"loss": loss_sum / seen}
    if classification:
        logs["accuracy"] = correct / seen
    logs["lr"] = optimizer.lr
    return logs


def predict(model, X, batch_size=1024):
    """The model's outputs for ``X``, computed in chunks to bound memory.

    >>> from lrcourse.nn import mlp
    >>> predict(mlp([2, 3], rng=0), np.zeros((5, 2))).shape
    (5, 3)
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (samples, features), got shape {X.shape}")
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
    X, y = _check_data(X, y)
    pred = predict(model, X, batch_size)
    result = {"loss": float(loss.forward(pred, y))}
    if getattr(loss, "is_classification", False):
        result["accuracy"] = accuracy(pred, y)
    return result
