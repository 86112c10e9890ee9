"""The learning-rate range test: train briefly while the learning rate grows, and watch the loss.

Smith (2017, "Cyclical learning rates for training neural networks", section 3.3) sweeps the learning
rate from tiny to huge over a short run, one mini-batch per value. The loss barely moves while the
rate is too small, falls while it is useful, and blows up once it is too large. The sweep below
follows pytorch-lr-finder and fastai:

* learning rate of iteration ``i`` (0-based, ``N = num_iter``)::

      exp:     lr_i = start_lr * (end_lr / start_lr) ** (i / (N - 1))
      linear:  lr_i = start_lr + (end_lr - start_lr) * i / (N - 1)

* ``l_i`` is the mini-batch loss measured just before the update made with ``lr_i``;
* smoothed loss ``s_0 = l_0``, ``s_i = smooth_f * l_i + (1 - smooth_f) * s_(i-1)``;
* the sweep stops after the first ``i`` with ``s_i > diverge_th * min(s_0..s_i)`` or ``l_i`` not
  finite; that point stays in the result.

``repeats`` (5 by default) runs the sweep again from the same initial weights with other batch orders and
averages the smoothed curves over the learning rates every repeat reached, so a single noisy sweep
(or one repeat's divergence) does not decide the answer. The model leaves the test exactly as it
came in: weights, gradients and training mode are restored, also after an exception.

>>> import numpy as np
>>> from lrcourse.nn import mlp
>>> from lrcourse.losses import SoftmaxCrossEntropy
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(128, 2)).astype(np.float32)
>>> y = (X[:, 0] > 0).astype(np.int64)
>>> model = mlp([2, 16, 2], rng=0)
>>> before = model.state_dict()
>>> result = lr_range_test(model, SoftmaxCrossEntropy(), X, y, num_iter=50, batch_size=16, rng=0)
>>> float(result.lrs[0])
1e-07
>>> all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
True
"""

import math

import numpy as np

from .training import predict
from .utils import check_choice, check_number, check_positive_int, check_rng, check_validation_data

__all__ = ["lr_range_test", "range_test_lrs", "RangeTestResult"]

_METHODS = ("lowest/6", "steepest", "minimum", "valley")
# The default rule and number of sweeps, chosen by benchmarks/range_test_study.py: over 4 tasks x 20 seeds
# (and 6 tasks x 20 other seeds held out) it never landed more than 10 points of validation accuracy below
# the best rate of a per-seed grid, and cost about half a point on average.
DEFAULT_METHOD = "lowest/6"
DEFAULT_REPEATS = 5
# Points left out by the suggestion rules: the first few are mostly noise from the warm-up of the
# smoothing and the last few sit on the divergence spike (pytorch-lr-finder and fastai both skip them).
_STEEPEST_SKIP_START = 10
_SKIP_END = 5


def range_test_lrs(start_lr, end_lr, num_iter, step_mode="exp"):
    """The learning rates a range test sweeps: ``num_iter`` values from ``start_lr`` to ``end_lr``.

    >>> range_test_lrs(1e-3, 1e1, 5)
    array([1.e-03, 1.e-02, 1.e-01, 1.e+00, 1.e+01])
    >>> range_test_lrs(0.0, 1.0, 5, step_mode="linear")
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    check_choice("step_mode", step_mode, ("exp", "linear"))
    num_iter = check_positive_int("num_iter", num_iter, minimum=2)
    low = 0.0 if step_mode == "linear" else None
    start_lr = check_number("start_lr", start_lr, low=low)
    if step_mode == "exp" and start_lr <= 0:
        raise ValueError(f"start_lr must be > 0 for step_mode='exp', got {start_lr!r}")
    end_lr = check_number("end_lr", end_lr)
    if end_lr <= start_lr:
        raise ValueError(f"end_lr ({end_lr!r}) must be > start_lr ({start_lr!r})")
    fraction = np.arange(num_iter) / (num_iter - 1)
    if step_mode == "exp":
        return start_lr * (end_lr / start_lr) ** fraction
    return start_lr + (end_lr - start_lr) * fraction


class _SweepSchedule:
    """The sweep as an lr schedule (``step -> lr``), so the engine's optimizer applies it itself."""

    def __init__(self, lrs):
        self.lrs = lrs

    def __call__(self, step):
        return float(self.lrs[step])


def _make_optimizer(optimizer, params, schedule):
    if optimizer is None:
        from .optim import SGD

        optimizer = SGD
    if not callable(optimizer):
        raise TypeError(
            f"optimizer must be an optimizer class (e.g. SGD) or a factory (params, lr) -> Optimizer, "
            f"got {optimizer!r}; to set other hyperparameters pass e.g. functools.partial(SGD, momentum=0.9)")
    opt = optimizer(params, schedule)
    if not (hasattr(opt, "step") and hasattr(opt, "zero_grad")):
        raise TypeError(f"optimizer(params, lr) must return an Optimizer, got {opt!r}")
    return opt


class _BatchStream:
    """Full mini-batches from shuffled passes through the data, one pass after another."""

    def __init__(self, X, y, batch_size, rng):
        self.X, self.y, self.batch_size, self.rng = X, y, batch_size, rng
        # Only full batches, so every point is a mean over the same number of samples.
        self.per_pass = len(X) // batch_size
        self.order, self.position = None, self.per_pass

    def next(self):
        if self.position == self.per_pass:  # start another shuffled pass through the data
            self.order, self.position = self.rng.permutation(len(self.X)), 0
        index = self.order[self.position * self.batch_size:(self.position + 1) * self.batch_size]
        self.position += 1
        return self.X[index], self.y[index]


def _train_loss(model, loss, batches, accumulation_steps, grad_sums):
    """Mean loss of ``accumulation_steps`` mini-batches; their mean gradient is left in ``p.grad``.

    As pytorch-lr-finder's ``accumulation_steps``: one update sees the gradient of several batches.
    """
    params = model.parameters()
    total = 0.0
    for k in range(accumulation_steps):
        xb, yb = batches.next()
        total += float(loss.forward(model.forward(xb), yb))
        model.backward(loss.backward())  # writes p.grad (the engine's backward does not accumulate)
        if accumulation_steps > 1:
            for p, grad_sum in zip(params, grad_sums):
                if k == 0:
                    grad_sum[...] = p.grad
                else:
                    grad_sum += p.grad
    if accumulation_steps > 1:
        for p, grad_sum in zip(params, grad_sums):
            np.divide(grad_sum, accumulation_steps, out=p.grad)
    return total / accumulation_steps


def _sweep(model, loss, batches, optimizer, lrs, smooth_f, diverge_th, validation, accumulation_steps, bar):
    """One sweep; returns (raw_losses, smoothed_losses) up to and including the stopping point."""
    opt = _make_optimizer(optimizer, model.parameters(), _SweepSchedule(lrs))
    grad_sums = [np.empty_like(p.grad) for p in model.parameters()] if accumulation_steps > 1 else None
    raw, smoothed = [], []
    best = math.inf
    for i in range(len(lrs)):
        value = _train_loss(model, loss, batches, accumulation_steps, grad_sums)
        if validation is not None:
            # pytorch-lr-finder's val_loader: the point is the held-out loss after the update with lr_i.
            opt.step()
            X_val, y_val = validation
            value = float(loss.forward(predict(model, X_val), y_val))
            model.train()
        s = value if i == 0 else smooth_f * value + (1 - smooth_f) * smoothed[-1]
        raw.append(value)
        smoothed.append(s)
        if bar is not None:
            bar.update(1)
        best = min(best, s)
        if not math.isfinite(value) or s > diverge_th * best:
            break
        if validation is None:
            opt.step()
    return np.array(raw), np.array(smoothed)


def lr_range_test(model, loss, X, y, *, optimizer=None, start_lr=1e-7, end_lr=10.0, num_iter=100,
                  step_mode="exp", batch_size=32, smooth_f=0.05, diverge_th=5.0, repeats=DEFAULT_REPEATS,
                  rng=None, progress=False, validation_data=None, accumulation_steps=1):
    """Run the learning-rate range test on ``model`` and return a :class:`RangeTestResult`.

    Parameters
    ----------
    model, loss : an :mod:`lrcourse.nn` model and an :mod:`lrcourse.losses` loss.
    X, y : training inputs and targets; one mini-batch of ``batch_size`` rows per iteration,
        drawn from a shuffled pass through the data (reshuffled, from ``rng``, at every pass; only
        full batches are used).
    optimizer : optimizer class (default :class:`lrcourse.optim.SGD`) or factory
        ``(params, lr) -> Optimizer``, e.g. ``functools.partial(Adam, betas=(0.9, 0.99))``. It is
        called with the sweep as its ``lr`` schedule, so the optimizer's own update equation is used.
    start_lr, end_lr, num_iter, step_mode : the swept learning rates, see :func:`range_test_lrs`.
    smooth_f : weight of the newest loss in the smoothed loss, in (0, 1]; 1 means no smoothing.
    diverge_th : stop once the smoothed loss exceeds ``diverge_th`` times its minimum so far (> 1).
    repeats : number of sweeps, each from the same initial weights with a different batch order; the
        default 5 is what :meth:`RangeTestResult.suggest`'s default rule was measured with (one sweep
        is noisy enough to make it fail now and then).
    rng : seed or ``numpy.random.Generator`` for the batch orders.
    progress : show a tqdm progress bar.
    validation_data : optional pair ``(X_val, y_val)`` (pytorch-lr-finder's ``val_loader``): each
        point is then the loss on this held-out set, measured *after* the update made with that
        point's lr, instead of the mini-batch loss measured before it. Slower (one pass over
        ``X_val`` per iteration), but the curve shows generalisation rather than batch noise.
    accumulation_steps : mini-batches per iteration (pytorch-lr-finder's ``accumulation_steps``):
        their gradients are averaged into one update and their losses into one point, so an
        iteration sees ``accumulation_steps * batch_size`` samples, as with a batch that large.

    The model's weights, gradients and training mode are restored on return, also when the sweep
    stops early or an exception interrupts it.
    """
    num_iter = check_positive_int("num_iter", num_iter, minimum=2)
    lrs = range_test_lrs(start_lr, end_lr, num_iter, step_mode)
    batch_size = check_positive_int("batch_size", batch_size)
    smooth_f = check_number("smooth_f", smooth_f, low=0.0, high=1.0, low_inclusive=False)
    diverge_th = check_number("diverge_th", diverge_th, low=1.0, low_inclusive=False)
    repeats = check_positive_int("repeats", repeats)
    accumulation_steps = check_positive_int("accumulation_steps", accumulation_steps)
    X, y = np.asarray(X), np.asarray(y)
    dtype = getattr(model, "dtype", None)
    if dtype is not None and np.issubdtype(X.dtype, np.number):
        X = X.astype(dtype, copy=False)  # as fit does: float64 data would make float64 activations
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if batch_size > len(X):
        raise ValueError(f"batch_size ({batch_size}) must be <= the number of samples ({len(X)})")
    if validation_data is not None:
        validation = check_validation_data(validation_data, dtype)
    else:
        validation = None
    rng = check_rng(rng)

    initial_state = model.state_dict()
    initial_grads = [p.grad.copy() for p in model.parameters()]
    was_training = model.training
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=num_iter * repeats, desc="LR range test", unit="batch")
    sweeps = []
    try:
        model.train()
        # Overflow is the expected end of a sweep, not something to warn about.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(repeats):
                model.load_state_dict(initial_state)
                sweeps.append(_sweep(model, loss, _BatchStream(X, y, batch_size, rng), optimizer, lrs,
                                     smooth_f, diverge_th, validation, accumulation_steps, bar))
    finally:
        model.load_state_dict(initial_state)
        for p, grad in zip(model.parameters(), initial_grads):
            p.grad[...] = grad
        if was_training:
            model.train()
        else:
            model.eval()
        if bar is not None:
            bar.close()

    reached = min(len(raw) for raw, _ in sweeps)
    smoothed = np.stack([s[:reached] for _, s in sweeps])
    raw_losses = np.stack([raw[:reached] for raw, _ in sweeps])
    losses_std = smoothed.std(axis=0, ddof=1) if repeats > 1 else None
    return RangeTestResult(lrs[:reached], smoothed.mean(axis=0), losses_std=losses_std,
                           raw_losses=raw_losses, stopped_early=reached < num_iter, num_iter=num_iter,
                           validation=validation is not None)


def _valley_index(losses):
    """fastai's ``valley`` rule (fastai/callback/schedule.py), returning an index into ``losses``.

    ``lds[i]`` is the length of the longest decreasing subsequence ending at point ``i`` (so a small
    bump does not end a valley). The valley is the first longest one: it ends at ``max_end`` and
    fastai takes ``max_start = max_end - lds[max_end]``; the suggestion sits about 2/3 down it, at
    ``max_start + int(d / 3) + int(d / 6)`` with ``d = max_end - max_start``.
    """
    losses = np.asarray(losses, dtype=float)
    lds = np.ones(len(losses), dtype=np.int64)
    for i in range(1, len(losses)):
        higher_before = losses[:i] > losses[i]
        if higher_before.any():
            lds[i] = lds[:i][higher_before].max() + 1
    max_end = int(np.argmax(lds))
    # fastai starts from max_start = max_end = 0 and only moves them when some lds exceeds 1.
    max_start = max_end - int(lds[max_end]) if lds[max_end] > 1 else 0
    sections = (max_end - max_start) / 3
    index = max_start + int(sections) + int(sections / 2)
    # For a valley of two points fastai's index is -1, which would pick the last point.
    return max(index, 0)


def _check_curve(name, values, length):
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) != length:
        raise ValueError(f"{name} must be a 1-D array of {length} values (one per lr), got shape {values.shape}")
    return values


class RangeTestResult:
    """The outcome of a range test: learning rates, smoothed losses and suggestions drawn from them.

    Attributes: ``lrs`` (the learning rates reached), ``losses`` (smoothed loss, mean over repeats),
    ``losses_std`` (standard deviation over repeats, ddof=1, or None for a single sweep),
    ``raw_losses`` (mini-batch losses, shape ``(repeats, len(lrs))``, or None), ``stopped_early``
    ``num_iter`` (the planned number of iterations; defaults to ``len(lrs)``) and ``validation``
    (True when the losses were measured on a held-out set).

    >>> lrs = np.geomspace(1e-4, 1.0, 41)
    >>> losses = (np.log10(lrs) + 2) ** 2          # lowest at lr = 1e-2
    >>> result = RangeTestResult(lrs, losses)
    >>> float(np.round(result.suggest("minimum"), 6))
    0.001
    """

    def __init__(self, lrs, losses, losses_std=None, raw_losses=None, stopped_early=False, *, num_iter=None,
                 validation=False):
        lrs = np.asarray(lrs, dtype=float)
        if lrs.ndim != 1 or len(lrs) == 0:
            raise ValueError(f"lrs must be a non-empty 1-D array, got shape {lrs.shape}")
        if not np.all(lrs > 0) or not np.all(np.isfinite(lrs)):
            raise ValueError("lrs must be finite and > 0")
        self.lrs = lrs
        self.losses = _check_curve("losses", losses, len(lrs))
        self.losses_std = None if losses_std is None else _check_curve("losses_std", losses_std, len(lrs))
        if raw_losses is not None:
            raw_losses = np.asarray(raw_losses, dtype=float)
            if raw_losses.ndim == 1:
                raw_losses = raw_losses[None, :]
            if raw_losses.ndim != 2 or raw_losses.shape[1] != len(lrs):
                raise ValueError(f"raw_losses must have shape (repeats, {len(lrs)}), got {raw_losses.shape}")
        self.raw_losses = raw_losses
        self.stopped_early = bool(stopped_early)
        if num_iter is None:
            num_iter = len(lrs)
        self.num_iter = check_positive_int("num_iter", num_iter)
        if self.num_iter < len(lrs):
            raise ValueError(f"num_iter ({num_iter}) must be >= the number of points ({len(lrs)})")
        self.validation = bool(validation)

    @property
    def repeats(self):
        return 1 if self.raw_losses is None else len(self.raw_losses)

    def __repr__(self):
        return (f"RangeTestResult({len(self.lrs)} of {self.num_iter} points, lr {self.lrs[0]:.3g} to "
                f"{self.lrs[-1]:.3g}, repeats={self.repeats}, stopped_early={self.stopped_early})")

    def _window(self, method, skip_start, skip_end):
        """Indices the suggestion rules look at: skip the ends and stop at the first non-finite loss."""
        if skip_start is None:
            skip_start = _STEEPEST_SKIP_START if method == "steepest" else self.num_iter // 10
        skip_start = check_positive_int("skip_start", skip_start, minimum=0)
        skip_end = check_positive_int("skip_end", _SKIP_END if skip_end is None else skip_end, minimum=0)
        stop = len(self.lrs) - skip_end
        finite = np.isfinite(self.losses[skip_start:stop])
        if not finite.all():
            stop = skip_start + int(np.argmin(finite))
        if stop - skip_start < 2:
            raise ValueError(
                f"suggest({method!r}) needs at least 2 points after skipping the first {skip_start} and "
                f"the last {skip_end}; the test has {len(self.lrs)} points")
        return skip_start, stop

    def suggest_index(self, method=DEFAULT_METHOD, *, skip_start=None, skip_end=None):
        """Index into ``lrs``/``losses`` of the point a rule picks (see :meth:`suggest`)."""
        check_choice("method", method, _METHODS)
        start, stop = self._window(method, skip_start, skip_end)
        window = self.losses[start:stop]
        if method == "steepest":
            return start + int(np.argmin(np.gradient(window)))
        if method in ("minimum", "lowest/6"):
            return start + int(np.argmin(window))
        return start + _valley_index(window)

    def suggest(self, method=DEFAULT_METHOD, *, skip_start=None, skip_end=None):
        """Suggest one learning rate from the smoothed loss curve.

        * ``"lowest/6"`` (the default): a sixth of the lr at the lowest smoothed loss. With the
          default 5 sweeps of :func:`lr_range_test`, benchmarks/range_test_study.py measured it on
          digits (plain SGD and momentum), spirals and moons, 20 seeds each, against the best of an
          11-rate grid trained 20 epochs per seed: it never fell more than 10 points of validation
          accuracy below that best, and fell 0.3-0.7 points on average (two held-out tasks and 20
          held-out seeds: no failure, at most 1.0 point on average). With one sweep it failed on 3
          of 20 seeds of the spirals.
        * ``"steepest"``: the lr where the loss falls fastest, the smallest ``np.gradient`` of the
          smoothed loss (per point), leaving out the first 10 and last 5 points (pytorch-lr-finder).
        * ``"minimum"``: a tenth of the lr at the lowest smoothed loss (fastai's ``minimum``).
        * ``"valley"``: fastai's ``valley``: about 2/3 down the longest stretch over which the loss keeps
          decreasing (a decreasing subsequence, so small bumps do not end it).

        ``lowest/6``, ``minimum`` and ``valley`` leave out the first ``num_iter // 10`` and the last 5 points, as
        fastai's ``lr_find`` does; every rule ignores points from the first non-finite loss on.
        ``skip_start`` and ``skip_end`` (pytorch-lr-finder's names) set how many points to leave
        out at each end instead.

        >>> lrs = np.geomspace(1e-5, 1.0, 51)
        >>> x = np.log10(lrs)
        >>> losses = 2 - np.tanh(2 * (x + 2))       # falls fastest at lr = 1e-2
        >>> float(np.round(RangeTestResult(lrs, losses).suggest("steepest"), 3))
        0.01
        """
        index = self.suggest_index(method, skip_start=skip_start, skip_end=skip_end)
        lr = float(self.lrs[index])
        return lr / {"minimum": 10, "lowest/6": 6}.get(method, 1)

    def suggest_bounds(self, max_div=3.0, base_div=4.0, *, skip_start=None, skip_end=None):
        """``(base_lr, max_lr)`` for :class:`lrcourse.schedules.CyclicLR`.

        Rule: with ``lr_min`` the lr at the lowest smoothed loss (in the window of the ``minimum``
        rule, with ``skip_start``/``skip_end`` as in :meth:`suggest`), ``max_lr = lr_min / max_div``
        and ``base_lr = max_lr / base_div``.

        Smith (2017) puts ``max_lr`` where the loss stops improving, which is ``lr_min``; but in the
        sweep each lr is used for a single batch, and a whole cycle that long at ``lr_min`` often
        trains erratically, so ``max_lr`` stays a factor 3 below it. ``base_lr`` follows Smith's rule
        of thumb of 1/3 to 1/4 of ``max_lr``. With the defaults, ``base_lr = lr_min / 12`` is close to
        fastai's ``minimum`` suggestion ``lr_min / 10``.

        >>> lrs = np.geomspace(1e-5, 1.0, 51)
        >>> losses = (np.log10(lrs) + 1) ** 2        # lowest at lr = 0.1
        >>> [float(np.round(v, 6)) for v in RangeTestResult(lrs, losses).suggest_bounds()]
        [0.008333, 0.033333]
        """
        max_div = check_number("max_div", max_div, low=1.0)
        base_div = check_number("base_div", base_div, low=1.0, low_inclusive=False)
        max_lr = float(self.lrs[self.suggest_index("minimum", skip_start=skip_start, skip_end=skip_end)]) / max_div
        return max_lr / base_div, max_lr

    def plot(self, ax=None, **kwargs):
        """Loss against learning rate (log axis), with the spread over repeats and the suggestions.

        See :func:`lrcourse.plot.range_test` for the keyword arguments.
        """
        from . import plot

        return plot.range_test(self, ax=ax, **kwargs)

    def as_dict(self):
        """Plain arrays, e.g. to ``np.savez`` the result and rebuild it with ``RangeTestResult(**d)``."""
        out = {"lrs": self.lrs, "losses": self.losses, "stopped_early": self.stopped_early,
               "num_iter": self.num_iter, "validation": self.validation}
        if self.losses_std is not None:
            out["losses_std"] = self.losses_std
        if self.raw_losses is not None:
            out["raw_losses"] = self.raw_losses
        return out
