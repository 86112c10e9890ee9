"""Callbacks: code that ``fit`` calls at fixed points of training, with Keras 3 semantics.

``fit`` sets ``callback.model``, ``callback.optimizer`` and ``callback.history`` before training.
A callback stops training by setting ``self.model.stop_training = True``, as in Keras. The ``logs``
it receives are :class:`Logs`: the learning rate is ``logs["lr"]``, and Keras 3's name
``logs["learning_rate"]`` finds it too, as does ``monitor="learning_rate"``.

>>> stopper = EarlyStopping(monitor="val_loss", patience=2)
>>> stopper.patience
2
"""

import math
import warnings

import numpy as np

from .utils import check_choice, check_number, check_positive_int

__all__ = ["Callback", "EarlyStopping", "ReduceLROnPlateau", "TerminateOnNaN", "Logs"]

# Keras 3 logs the learning rate as "learning_rate"; lrcourse as "lr". Either name finds it.
_ALIASES = {"learning_rate": "lr", "lr": "learning_rate"}


class Logs(dict):
    """A dict of logged values in which ``"lr"`` and ``"learning_rate"`` name the same entry.

    >>> logs = Logs(loss=0.5, lr=0.1)
    >>> logs["learning_rate"], "learning_rate" in logs, logs.get("learning_rate")
    (0.1, True, 0.1)
    >>> sorted(logs)
    ['loss', 'lr']
    """

    def __missing__(self, key):
        alias = _ALIASES.get(key)
        if alias is not None and dict.__contains__(self, alias):
            return dict.__getitem__(self, alias)
        raise KeyError(key)

    def __contains__(self, key):
        return dict.__contains__(self, key) or dict.__contains__(self, _ALIASES.get(key, key))

    def get(self, key, default=None):
        return self[key] if key in self else default


class Callback:
    """Base class: every hook does nothing, so a subclass overrides only what it needs.

    ``fit`` calls the per-batch hooks only on callbacks that override them, so an unused hook
    costs nothing. Before training, ``fit`` sets ``model``, ``optimizer``, ``history`` and, as
    Keras does, ``params``: ``{"epochs": ..., "steps": updates per epoch, "samples": ...}``.
    """

    model = None
    optimizer = None
    history = None
    params = None

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, step, logs=None):
        pass

    def on_batch_end(self, step, logs=None):
        pass


def _get_monitor_value(monitor, logs, who):
    value = Logs(logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{who} is conditioned on metric {monitor!r}, which is not available. "
                      f"Available metrics are: {','.join(logs or {})}", stacklevel=3)
    return value


class EarlyStopping(Callback):
    """Stop training when the monitored metric has stopped improving (Keras 3 ``EarlyStopping``).

    At each epoch end (from ``start_from_epoch`` on): ``wait`` grows by one; an improvement
    (``current - min_delta`` better than ``best``) records ``best`` and resets ``wait`` to 0 if it
    also beats ``baseline``; otherwise training stops once ``wait >= patience`` (never at epoch 0).
    ``mode="auto"`` minimises metrics named ``*loss`` and maximises ``*accuracy``.
    With ``restore_best_weights`` the weights of the best epoch are put back at the end of training.

    >>> stopper = EarlyStopping(monitor="val_accuracy", min_delta=0.01, patience=3)
    >>> stopper.mode
    'auto'
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        self.monitor = monitor
        self.min_delta = abs(check_number("min_delta", min_delta))
        self.patience = check_positive_int("patience", patience, minimum=0)
        self.mode = check_choice("mode", mode, ("auto", "min", "max"))
        self.baseline = None if baseline is None else check_number("baseline", baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_positive_int("start_from_epoch", start_from_epoch, minimum=0)
        self._minimize = self._direction()

    def _direction(self):
        if self.mode != "auto":
            return self.mode == "min"
        name = self.monitor.removeprefix("val_")
        if name == "loss" or name.endswith("loss") or name.endswith("error"):
            return True
        if name in ("accuracy", "acc"):
            return False
        raise ValueError(f"EarlyStopping cannot tell whether monitor={self.monitor!r} should be minimised "
                         "or maximised: pass mode='min' or mode='max'")

    def _is_improvement(self, value, reference):
        # Keras: monitor_op(value - min_delta, reference), with min_delta negated when minimising.
        if self._minimize:
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self._minimize else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _get_monitor_value(self.monitor, logs, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.state_dict()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when the metric stops improving (Keras 3 semantics).

    An improvement is ``current < best - min_delta`` (``>`` and ``+`` when maximising; ``mode="auto"``
    maximises metrics whose name contains ``acc``). After ``patience`` epochs without one, outside a
    ``cooldown``, the learning rate becomes ``max(lr * factor, min_lr)``.

    Unlike Keras, this works together with a schedule: it lowers the optimizer's ``lr_scale``, which
    multiplies whatever the schedule gives from then on.

    >>> ReduceLROnPlateau(factor=0.5, patience=2).factor
    0.5
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        self.monitor = monitor
        self.factor = check_number("factor", factor, low=0, high=1, low_inclusive=False, high_inclusive=False)
        self.patience = check_positive_int("patience", patience, minimum=0)
        self.mode = check_choice("mode", mode, ("auto", "min", "max"))
        self.min_delta = check_number("min_delta", min_delta)
        self.cooldown = check_positive_int("cooldown", cooldown, minimum=0)
        self.min_lr = check_number("min_lr", min_lr, low=0)
        self._reset()

    def _reset(self):
        self._minimize = self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor)
        self.best = math.inf if self._minimize else -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def _is_improvement(self, current):
        if self._minimize:
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = _get_monitor_value(self.monitor, logs, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = self.optimizer.lr
                # Keras compares against the float32 value of min_lr.
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.optimizer.lr_scale *= new_lr / old_lr
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training after a batch whose loss is NaN or infinite (Keras ``TerminateOnNaN``).

    As in Keras, the batch has been applied when this callback sees its loss; training stops at the
    end of that batch, the epoch is closed and logged (its loss entry is non-finite). It takes effect
    only with ``fit(..., divergence_threshold=None)``: otherwise fit's own divergence guard stops
    training *before* a NaN/inf batch is applied, and no callback sees that loss (see :func:`fit`).

    >>> TerminateOnNaN().on_batch_end(0, {"loss": 0.7}) is None
    True
    """

    def on_batch_end(self, step, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            warnings.warn(f"batch {step}: invalid loss {loss}, terminating training", stacklevel=2)
            self.model.stop_training = True


from .liveplot import LivePlot  # noqa: E402,F401  re-export; liveplot.py imports Callback from here
