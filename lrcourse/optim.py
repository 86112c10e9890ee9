"""Optimizers: each holds its state and applies its update equation, in place, to the parameters.

The equations are PyTorch's (``torch.optim``), so the same gradients give the same weights. Every
optimizer takes ``lr`` as a float or as a schedule: any callable ``step -> float`` called with the
number of updates done so far (0 on the first update), such as those in ``lrcourse.schedules``.
The learning rate actually used on an update is ``lr(step) * lr_scale``; ``lr_scale`` (1.0 by default)
is what :class:`lrcourse.callbacks.ReduceLROnPlateau` lowers, so it composes with any schedule.
``optimizer.lr_at(step)`` answers which rate update ``step`` uses.

>>> import numpy as np
>>> from lrcourse.nn import Parameter
>>> w = Parameter(np.array([1.0, -2.0]))
>>> opt = SGD([w], lr=0.1)
>>> w.grad[:] = [0.5, 0.5]
>>> opt.step()
>>> w.value
array([ 0.95, -2.05])
"""

import math

import numpy as np

from .nn import Parameter
from .utils import check_flag, check_number, check_number_or_schedule

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam"]


def _check_params(params):
    if callable(params) or hasattr(params, "named_parameters"):
        raise TypeError(f"params must be a list of Parameters: pass model.parameters() (with the "
                        f"parentheses), got {params!r}")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of Parameters (model.parameters()), got {params!r}") from None
    if not params:
        raise ValueError("params is empty: pass model.parameters()")
    for p in params:
        if not isinstance(p, Parameter):
            raise TypeError(f"params must be lrcourse.nn.Parameter objects, got {type(p).__name__}")
    return params


def _at(name, value, step, high=None):
    """A hyperparameter's value at update ``step``: itself if a number, else its schedule's value.

    A schedule's value must be finite, >= 0 and (with ``high``) < ``high``.
    """
    if not callable(value):
        return value
    out = float(value(step))
    if not (math.isfinite(out) and out >= 0 and (high is None or out < high)):
        bound = "a finite number >= 0" + (f" and < {high}" if high is not None else "")
        raise ValueError(f"the {name} schedule returned {out!r} at step {step}; it must be {bound}")
    return out


def _number(name, value, **bounds):
    """A hyperparameter that must stay a number (no schedule)."""
    if callable(value):
        raise TypeError(f"{name} must be a number, not a schedule, got {value!r}")
    return check_number(name, value, **bounds)


def _decayed(p, weight_decay):
    """The gradient with L2 weight decay added (PyTorch's ``weight_decay``): ``g + weight_decay * w``."""
    if weight_decay:
        return p.grad + weight_decay * p.value
    return p.grad


class Optimizer:
    """Base class: keeps the parameters, the step count and the learning rate bookkeeping.

    Subclasses implement ``_update(lr, step)``, which changes ``p.value`` in place using ``p.grad``.
    """

    def __init__(self, params, lr):
        self.params = _check_params(params)
        self._lr = check_number_or_schedule("lr", lr, low=0)
        self.iterations = 0
        self.lr_scale = 1.0
        self._last_base_lr = None  # lr(step) of the most recent update, so reading .lr costs nothing
        # One scratch array per parameter, so updates allocate nothing per step.
        self._scratch = [np.empty_like(p.value) for p in self.params]

    def lr_at(self, step):
        """The learning rate update number ``step`` uses (0 = the first): ``lr(step) * lr_scale``.

        >>> opt = SGD([Parameter(np.zeros(1))], lr=lambda step: 0.1 / (1 + step))
        >>> opt.lr_at(0), opt.lr_at(4)
        (0.1, 0.02)
        """
        return _at("lr", self._lr, step) * self.lr_scale

    @property
    def lr(self):
        """The learning rate of the most recent update (of the first, before any), times ``lr_scale``."""
        if self._last_base_lr is None:
            self._last_base_lr = _at("lr", self._lr, 0)
        return self._last_base_lr * self.lr_scale

    @lr.setter
    def lr(self, value):
        self._lr = check_number_or_schedule("lr", value, low=0)
        self._last_base_lr = None

    def zero_grad(self):
        for p in self.params:
            p.grad.fill(0)

    def step(self):
        """Apply one update with the current gradients."""
        step = self.iterations
        base_lr = _at("lr", self._lr, step)
        self._last_base_lr = base_lr
        self._update(base_lr * self.lr_scale, step)
        self.iterations = step + 1

    def _update(self, lr, step):
        raise NotImplementedError

    def _state_arrays(self):
        """Names of per-parameter state lists (subclasses extend)."""
        return ()

    def state_dict(self):
        """Copies of everything that changes during training (step count, lr scale, buffers)."""
        state = {"iterations": self.iterations, "lr_scale": self.lr_scale, "last_base_lr": self._last_base_lr}
        for name in self._state_arrays():
            state[name] = [a.copy() for a in getattr(self, name)]
        return state

    def load_state_dict(self, state):
        for name in self._state_arrays():
            arrays = getattr(self, name)
            for target, source in zip(arrays, state[name], strict=True):
                target[...] = source
        self.iterations = state["iterations"]
        self.lr_scale = state["lr_scale"]
        self._last_base_lr = state["last_base_lr"]

    def __repr__(self):
        lr = self._lr if callable(self._lr) else f"{self._lr:g}"
        return f"{type(self).__name__}(lr={lr})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (PyTorch's form).

    ``g = grad + weight_decay * w``; without momentum ``w <- w - lr * g``. With momentum ``m``::

        v <- m * v + g
        w <- w - lr * v                 (nesterov: w <- w - lr * (g + m * v))

    Keras writes momentum as ``v <- m * v - lr * g; w <- w + v``: the same steps while ``lr`` is
    constant, different once ``lr`` changes (PyTorch's velocity does not carry the old lr).
    The default ``lr=0.01`` is Keras' default for SGD. ``momentum`` may also be a schedule.

    >>> w = Parameter(np.array([1.0]))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad[:] = 1.0
    ...     opt.step()
    >>> w.value  # 1 - 0.1*1 - 0.1*(0.9*1 + 1)
    array([0.71])
    """

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum = check_number_or_schedule("momentum", momentum, low=0, high=1, high_inclusive=False)
        self.weight_decay = _number("weight_decay", weight_decay, low=0)
        self.nesterov = check_flag("nesterov", nesterov)
        self._uses_velocity = callable(self.momentum) or self.momentum > 0
        if self.nesterov and not self._uses_velocity:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0.0")
        self.velocity = [np.zeros_like(p.value) for p in self.params]

    def _state_arrays(self):
        return ("velocity",)

    def _update(self, lr, step):
        momentum = _at("momentum", self.momentum, step, high=1.0)
        for p, v, scratch in zip(self.params, self.velocity, self._scratch):
            g = _decayed(p, self.weight_decay)
            if self._uses_velocity:
                v *= momentum
                v += g                                    # v <- m v + g
                if self.nesterov:
                    np.multiply(v, momentum, out=scratch)
                    scratch += g                          # g + m v
                    g = scratch
                else:
                    g = v
            np.multiply(g, lr, out=scratch)
            p.value -= scratch                            # w <- w - lr g


class Adagrad(Optimizer):
    """Adagrad: each weight's step shrinks with its accumulated squared gradients (PyTorch's form).

    ``g = grad + weight_decay * w``; ``s`` starts at ``initial_accumulator_value``; on update ``t``
    (0-based)::

        s <- s + g**2
        w <- w - lr / (1 + t * lr_decay) * g / (sqrt(s) + eps)

    Keras' Adagrad starts ``s`` at 0.1 and defaults to ``lr=0.001``, ``epsilon=1e-7``, with no
    ``lr_decay``.

    >>> w = Parameter(np.array([1.0]))
    >>> opt = Adagrad([w], lr=0.5)
    >>> w.grad[:] = 2.0
    >>> opt.step(); w.value  # 1 - 0.5 * 2 / 2
    array([0.5])
    """

    def __init__(self, params, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10):
        super().__init__(params, lr)
        self.lr_decay = _number("lr_decay", lr_decay, low=0)
        self.weight_decay = _number("weight_decay", weight_decay, low=0)
        self.initial_accumulator_value = _number("initial_accumulator_value", initial_accumulator_value, low=0)
        self.eps = _number("eps", eps, low=0)
        self.sum_squares = [np.full_like(p.value, self.initial_accumulator_value) for p in self.params]

    def _state_arrays(self):
        return ("sum_squares",)

    def _update(self, lr, step):
        lr = lr / (1 + step * self.lr_decay)
        for p, s, tmp in zip(self.params, self.sum_squares, self._scratch):
            g = _decayed(p, self.weight_decay)
            s += g * g                                    # s <- s + g**2
            np.sqrt(s, out=tmp)
            tmp += self.eps
            np.divide(g, tmp, out=tmp)
            tmp *= lr
            p.value -= tmp                                # w <- w - lr g / (sqrt(s) + eps)


class RMSprop(Optimizer):
    """RMSprop: divide the step by a running root-mean-square of recent gradients (PyTorch's form).

    ``g = grad + weight_decay * w``, then::

        a <- alpha * a + (1 - alpha) * g**2
        d = g / (sqrt(a) + eps)                   centered: ga <- alpha * ga + (1 - alpha) * g,
                                                            d = g / (sqrt(a - ga**2) + eps)
        w <- w - lr * d                           momentum m: b <- m * b + d, w <- w - lr * b

    ``centered`` divides by an estimate of the gradient's variance instead of its second moment.
    Keras defaults to ``lr=0.001``, ``rho=0.9`` and puts ``epsilon=1e-7`` inside the square root.
    ``momentum`` may be a schedule.

    >>> w = Parameter(np.array([1.0]))
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> w.grad[:] = 2.0
    >>> opt.step(); w.value  # a = 0.25 * 4 = 1, step 0.01 * 2 / 1
    array([0.98])
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, lr)
        self.alpha = _number("alpha", alpha, low=0, high=1)
        self.eps = _number("eps", eps, low=0)
        self.weight_decay = _number("weight_decay", weight_decay, low=0)
        self.momentum = check_number_or_schedule("momentum", momentum, low=0, high=1, high_inclusive=False)
        self.centered = check_flag("centered", centered)
        self.square_avg = [np.zeros_like(p.value) for p in self.params]
        self.grad_avg = [np.zeros_like(p.value) for p in self.params]
        self.momentum_buffer = [np.zeros_like(p.value) for p in self.params]

    def _state_arrays(self):
        return ("square_avg", "grad_avg", "momentum_buffer")

    def _update(self, lr, step):
        momentum = _at("momentum", self.momentum, step, high=1.0)
        alpha = self.alpha
        for p, a, ga, b, tmp in zip(self.params, self.square_avg, self.grad_avg, self.momentum_buffer,
                                    self._scratch):
            g = _decayed(p, self.weight_decay)
            a *= alpha
            a += (1 - alpha) * g * g                      # a <- alpha a + (1 - alpha) g**2
            if self.centered:
                ga *= alpha
                ga += (1 - alpha) * g                     # ga <- alpha ga + (1 - alpha) g
                np.subtract(a, ga * ga, out=tmp)
                np.sqrt(tmp, out=tmp)
            else:
                np.sqrt(a, out=tmp)
            tmp += self.eps
            np.divide(g, tmp, out=tmp)                    # d = g / (sqrt(...) + eps)
            if momentum or callable(self.momentum):
                b *= momentum
                b += tmp                                  # b <- m b + d
                np.multiply(b, lr, out=tmp)
            else:
                tmp *= lr
            p.value -= tmp


class Adam(Optimizer):
    """Adam: momentum on the gradient and RMSprop-style scaling, both bias-corrected (PyTorch's form).

    ``g = grad + weight_decay * w`` (L2, as PyTorch's Adam; not AdamW); with ``t = step + 1``::

        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * g**2
        w <- w - lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

    ``betas = (b1, b2)``; ``b1`` may be a schedule, as PyTorch's ``OneCycleLR`` and ``CyclicLR``
    cycle it (e.g. ``betas=(one_cycle.momentum_schedule(), 0.999)``); the bias correction then uses
    the current ``b1``, as PyTorch's does. Keras' default ``epsilon`` is 1e-7 and is added to
    ``sqrt(v)`` before the bias correction is applied.

    >>> w = Parameter(np.array([1.0]))
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad[:] = 3.0
    >>> opt.step(); np.round(w.value, 6)  # the first Adam step is lr * sign(g)
    array([0.9])
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_number_or_schedule("betas[0]", betas[0], low=0, high=1, high_inclusive=False),
                      _number("betas[1]", betas[1], low=0, high=1, high_inclusive=False))
        self.eps = _number("eps", eps, low=0)
        self.weight_decay = _number("weight_decay", weight_decay, low=0)
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]

    def _state_arrays(self):
        return ("m", "v")

    def _update(self, lr, step):
        beta1 = _at("betas[0]", self.betas[0], step, high=1.0)
        beta2 = self.betas[1]
        t = step + 1
        step_size = lr / (1 - beta1 ** t)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** t)
        for p, m, v, tmp in zip(self.params, self.m, self.v, self._scratch):
            g = _decayed(p, self.weight_decay)
            m *= beta1
            m += (1 - beta1) * g                          # m <- b1 m + (1 - b1) g
            v *= beta2
            v += (1 - beta2) * g * g                      # v <- b2 v + (1 - b2) g**2
            np.sqrt(v, out=tmp)
            tmp /= bias_correction2_sqrt
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p.value -= tmp
