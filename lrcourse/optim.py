"""Optimizers: each holds its state and applies its update equation, in place, to the parameters.

The equations are PyTorch's (``torch.optim``), so the same gradients give the same weights. Every
optimizer takes ``lr`` as a float or as a schedule: any callable ``step -> float`` called with the
number of updates done so far (0 on the first update), such as those in ``lrcourse.schedules``.
The learning rate actually used on an update is ``lr(step) * lr_scale``; ``lr_scale`` (1.0 by default)
is what :class:`lrcourse.callbacks.ReduceLROnPlateau` lowers, so it composes with any schedule.

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

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam"]


def _check_hyper(name, value, low, high=None, *, high_inclusive=False):
    """Validate a float hyperparameter (a callable schedule is checked when it is evaluated)."""
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number or a schedule (callable step -> float), got {value!r}")
    value = float(value)
    if math.isnan(value) or value < low or (high is not None and (value > high or (value == high and not high_inclusive))):
        bound = f"[{low}, {high}{']' if high_inclusive else ')'}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {'in ' if high is not None else ''}{bound}, got {value!r}")
    if math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


class Optimizer:
    """Base class: keeps the parameters, the step count and the learning rate bookkeeping.

    Subclasses implement ``_update(lr, step)``, which changes ``p.value`` in place using ``p.grad``.
    """

    def __init__(self, params, lr):
        params = list(params)
        if not params:
            raise ValueError("params is empty: pass model.parameters()")
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(f"params must be lrcourse.nn.Parameter objects, got {type(p).__name__}")
        self.params = params
        self._lr = _check_hyper("lr", lr, 0.0)
        self.iterations = 0
        self.lr_scale = 1.0
        self._last_base_lr = None
        # One scratch array per parameter, so updates allocate nothing per step.
        self._scratch = [np.empty_like(p.value) for p in params]

    @staticmethod
    def _evaluate(name, value, step, low=0.0, high=None):
        if not callable(value):
            return value
        out = float(value(step))
        if not (math.isfinite(out) and out >= low and (high is None or out < high)):
            raise ValueError(f"the {name} schedule returned {out!r} at step {step}")
        return out

    @property
    def lr(self):
        """The learning rate of the most recent update (of the first, before any), times ``lr_scale``."""
        if self._last_base_lr is None:
            self._last_base_lr = self._evaluate("lr", self._lr, 0)
        return self._last_base_lr * self.lr_scale

    @lr.setter
    def lr(self, value):
        self._lr = _check_hyper("lr", value, 0.0)
        self._last_base_lr = None

    @property
    def last_lr(self):
        return self.lr

    def zero_grad(self):
        for p in self.params:
            p.grad.fill(0)

    def step(self):
        """Apply one update with the current gradients."""
        step = self.iterations
        base_lr = self._evaluate("lr", self._lr, step)
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

    def _grad(self, i, p, weight_decay):
        """The gradient with L2 weight decay added (PyTorch's ``weight_decay``)."""
        if weight_decay:
            return p.grad + weight_decay * p.value
        return p.grad

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
        self.momentum = _check_hyper("momentum", momentum, 0.0, 1.0)
        self.weight_decay = _check_hyper("weight_decay", weight_decay, 0.0)
        if callable(self.weight_decay):
            raise TypeError("weight_decay must be a number")
        if nesterov and not callable(self.momentum) and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0.0")
        self.nesterov = bool(nesterov)
        self.velocity = [np.zeros_like(p.value) for p in self.params]

    def _state_arrays(self):
        return ("velocity",)

    def _update(self, lr, step):
        momentum = self._evaluate("momentum", self.momentum, step, 0.0, 1.0)
        for i, p in enumerate(self.params):
            g = self._grad(i, p, self.weight_decay)
            if momentum or callable(self.momentum):
                v = self.velocity[i]
                v *= momentum
                v += g
                if self.nesterov:
                    np.multiply(v, momentum, out=self._scratch[i])
                    self._scratch[i] += g
                    g = self._scratch[i]
                else:
                    g = v
            np.multiply(g, lr, out=self._scratch[i])
            p.value -= self._scratch[i]


class Adagrad(Optimizer):
    """Adagrad: each weight's step shrinks with its accumulated squared gradients.

    ``s <- s + g**2``; ``w <- w - lr * g / (sqrt(s) + eps)`` (PyTorch; eps outside the root).
    Keras' Adagrad starts ``s`` at 0.1 and defaults to ``lr=0.001``, ``epsilon=1e-7``.

    >>> w = Parameter(np.array([1.0]))
    >>> opt = Adagrad([w], lr=0.5)
    >>> w.grad[:] = 2.0
    >>> opt.step(); w.value  # 1 - 0.5 * 2 / 2
    array([0.5])
    """

    def __init__(self, params, lr=0.01, eps=1e-10):
        super().__init__(params, lr)
        self.eps = _check_hyper("eps", eps, 0.0)
        self.sum_squares = [np.zeros_like(p.value) for p in self.params]

    def _state_arrays(self):
        return ("sum_squares",)

    def _update(self, lr, step):
        for i, p in enumerate(self.params):
            s, tmp = self.sum_squares[i], self._scratch[i]
            s += p.grad * p.grad
            np.sqrt(s, out=tmp)
            tmp += self.eps
            np.divide(p.grad, tmp, out=tmp)
            tmp *= lr
            p.value -= tmp


class RMSprop(Optimizer):
    """RMSprop: divide the step by a running root-mean-square of recent gradients.

    ``a <- alpha * a + (1 - alpha) * g**2``; ``d = g / (sqrt(a) + eps)``; then ``w <- w - lr * d``, or
    with momentum ``m``: ``b <- m * b + d; w <- w - lr * b`` (PyTorch). Keras defaults to
    ``lr=0.001``, ``rho=0.9`` and puts ``epsilon=1e-7`` inside the square root.

    >>> w = Parameter(np.array([1.0]))
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> w.grad[:] = 2.0
    >>> opt.step(); w.value  # a = 0.25 * 4 = 1, step 0.01 * 2 / 1
    array([0.98])
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0):
        super().__init__(params, lr)
        self.alpha = _check_hyper("alpha", alpha, 0.0, 1.0, high_inclusive=True)
        self.eps = _check_hyper("eps", eps, 0.0)
        self.momentum = _check_hyper("momentum", momentum, 0.0, 1.0)
        self.square_avg = [np.zeros_like(p.value) for p in self.params]
        self.momentum_buffer = [np.zeros_like(p.value) for p in self.params]

    def _state_arrays(self):
        return ("square_avg", "momentum_buffer")

    def _update(self, lr, step):
        momentum = self._evaluate("momentum", self.momentum, step, 0.0, 1.0)
        for i, p in enumerate(self.params):
            a, tmp = self.square_avg[i], self._scratch[i]
            a *= self.alpha
            a += (1 - self.alpha) * p.grad * p.grad
            np.sqrt(a, out=tmp)
            tmp += self.eps
            np.divide(p.grad, tmp, out=tmp)
            if momentum:
                b = self.momentum_buffer[i]
                b *= momentum
                b += tmp
                np.multiply(b, lr, out=tmp)
            else:
                tmp *= lr
            p.value -= tmp


class Adam(Optimizer):
    """Adam: momentum on the gradient and RMSprop-style scaling, both bias-corrected.

    With ``t = step + 1``::

        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * g**2
        w <- w - lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

    ``weight_decay`` adds ``weight_decay * w`` to ``g`` (PyTorch's Adam, L2; not AdamW). Keras'
    default ``epsilon`` is 1e-7 and is added to ``sqrt(v)`` before the bias correction is applied.

    >>> w = Parameter(np.array([1.0]))
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad[:] = 3.0
    >>> opt.step(); np.round(w.value, 6)  # the first Adam step is lr * sign(g)
    array([0.9])
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_hyper("betas[0]", betas[0], 0.0, 1.0), _check_hyper("betas[1]", betas[1], 0.0, 1.0))
        if any(callable(b) for b in self.betas):
            raise TypeError("betas must be numbers")
        self.eps = _check_hyper("eps", eps, 0.0)
        self.weight_decay = _check_hyper("weight_decay", weight_decay, 0.0)
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]

    def _state_arrays(self):
        return ("m", "v")

    def _update(self, lr, step):
        beta1, beta2 = self.betas
        t = step + 1
        step_size = lr / (1 - beta1 ** t)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** t)
        for i, p in enumerate(self.params):
            g = self._grad(i, p, self.weight_decay)
            m, v, tmp = self.m[i], self.v[i], self._scratch[i]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            np.sqrt(v, out=tmp)
            tmp /= bias_correction2_sqrt
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p.value -= tmp
