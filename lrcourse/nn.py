"""Layers and models: every layer is a ``forward`` and a ``backward`` that mirror each other.

The chain rule, layer by layer: ``forward(x)`` computes the output and keeps what ``backward`` will
need; ``backward(grad_out)`` receives dLoss/dOutput, writes dLoss/dParameter into each parameter's
``.grad`` and returns dLoss/dInput for the layer below.

>>> import numpy as np
>>> model = mlp([2, 8, 3], rng=0)
>>> model(np.ones((4, 2), dtype=np.float32)).shape
(4, 3)
"""

import os
import zipfile

import numpy as np

from .utils import check_choice, check_number, check_positive_int, check_rng

__all__ = [
    "Parameter", "Module", "Dense", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Sequential", "mlp",
    "save", "load",
]


class Parameter:
    """A trainable array (``value``) and the gradient of the loss with respect to it (``grad``).

    >>> p = Parameter(np.zeros(3), name="b")
    >>> p.grad.shape
    (3,)
    """

    __slots__ = ("value", "grad", "name")

    def __init__(self, value, name=""):
        self.value = np.asarray(value)
        self.grad = np.zeros_like(self.value)
        self.name = name

    def __repr__(self):
        return f"Parameter(name={self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"


class Module:
    """Base class: a function with (optionally) parameters and a backward pass.

    Subclasses implement ``forward`` and ``backward``; layers with weights override
    ``named_parameters``. ``stop_training`` is the flag callbacks set to end ``fit`` early.
    ``needs_input_grad`` (as PyTorch's ``ctx.needs_input_grad``) says whether ``backward`` must
    return dLoss/dInput; ``fit`` turns it off while training, because the data needs no gradient.
    """

    training = True
    stop_training = False
    needs_input_grad = True

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def named_parameters(self):
        """List of ``(name, Parameter)`` pairs; names are unique within the model."""
        return []

    def parameters(self):
        """The trainable parameters, in a fixed order (what an optimizer receives)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad.fill(0)

    def train(self):
        """Switch to training mode (kept for API symmetry with PyTorch; no layer here differs)."""
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def state_dict(self):
        """A copy of every parameter's value, keyed by name.

        >>> sorted(mlp([2, 3], rng=0).state_dict())
        ['0.W', '0.b']
        """
        return {name: p.value.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy values from ``state`` into the parameters, after checking every name and shape.

        Nothing is changed unless the whole ``state`` fits the model.
        """
        params = dict(self.named_parameters())
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if missing or unexpected:
            raise ValueError(f"state does not match the model: missing {missing}, unexpected {unexpected}")
        values = {}
        for name, p in params.items():
            value = np.asarray(state[name])
            if value.shape != p.value.shape:
                raise ValueError(
                    f"parameter {name!r}: saved shape {value.shape} does not match the model's {p.value.shape}")
            if value.dtype.kind not in "biuf":
                raise ValueError(f"parameter {name!r} holds values of dtype {value.dtype}, not numbers")
            # Checked in the model's dtype: 1e300 is finite in float64 but inf in float32.
            with np.errstate(over="ignore", invalid="ignore"):
                values[name] = value.astype(p.value.dtype)
            if not np.all(np.isfinite(values[name])):
                raise ValueError(f"parameter {name!r} holds values that are not finite in the model's "
                                 f"dtype {p.value.dtype} (NaN, inf, or too large to represent)")
        for name, p in params.items():
            p.value[...] = values[name]

    @property
    def dtype(self):
        params = self.parameters()
        return params[0].value.dtype if params else np.dtype(np.float32)


def _init_weights(init, fan_in, fan_out, rng, dtype):
    # He suits ReLU (keeps activation variance ~1), Glorot suits tanh/sigmoid.
    check_choice("init", init, ("he", "glorot", "normal"))
    if init == "he":
        std = np.sqrt(2.0 / fan_in)
    elif init == "glorot":
        std = np.sqrt(2.0 / (fan_in + fan_out))
    else:
        std = 0.01
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)


class Dense(Module):
    """Fully connected layer: ``y = x @ W + b``.

    backward, for ``g = dL/dy``: ``dL/dW = x.T @ g``, ``dL/db = sum(g, axis=0)``, ``dL/dx = g @ W.T``.
    Gradients are written (not accumulated) on every backward. When ``needs_input_grad`` is off
    (the first layer during ``fit``: its input is the data) ``dL/dx`` is skipped and ``None`` returned.

    >>> layer = Dense(3, 2, rng=0)
    >>> layer.W.value.shape, layer.b.value.shape
    ((3, 2), (2,))
    >>> layer.needs_input_grad = False  # as fit sets it for the first layer
    >>> _ = layer(np.ones((4, 3), dtype=np.float32))
    >>> layer.backward(np.ones((4, 2), dtype=np.float32)) is None, layer.W.grad[0].tolist()  # x.T @ g
    (True, [4.0, 4.0])
    """

    def __init__(self, in_features, out_features, *, init="he", rng=None, dtype=np.float32):
        self.in_features = check_positive_int("in_features", in_features)
        self.out_features = check_positive_int("out_features", out_features)
        rng = check_rng(rng)
        self.W = Parameter(_init_weights(init, in_features, out_features, rng, dtype), "W")
        self.b = Parameter(np.zeros(out_features, dtype=dtype), "b")
        self._x = None

    def named_parameters(self):
        return [("W", self.W), ("b", self.b)]

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Dense({self.in_features}, {self.out_features}) expects input of shape "
                             f"(batch, {self.in_features}), got {x.shape}")
        self._x = x
        out = x @ self.W.value
        out += self.b.value
        return out

    def backward(self, grad_out):
        np.matmul(self._x.T, grad_out, out=self.W.grad)
        grad_out.sum(axis=0, out=self.b.grad)
        if not self.needs_input_grad:
            return None  # speed: in the first layer of a wide input this product is a third of backward
        return grad_out @ self.W.value.T

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features})"


class ReLU(Module):
    """``y = max(x, 0)``; backward passes the gradient where ``x > 0``."""

    def forward(self, x):
        self._mask = x > 0
        return np.maximum(x, 0)  # faster than x * mask: no bool-to-float conversion

    def backward(self, grad_out):
        return grad_out * self._mask

    def __repr__(self):
        return "ReLU()"


class LeakyReLU(Module):
    """``y = x`` where ``x > 0``, else ``negative_slope * x``."""

    def __init__(self, negative_slope=0.01):
        self.negative_slope = check_number("negative_slope", negative_slope)

    def forward(self, x):
        self._slope = np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype)
        return x * self._slope

    def backward(self, grad_out):
        return grad_out * self._slope

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Sigmoid(Module):
    """``y = 1 / (1 + exp(-x))``; backward: ``dL/dx = g * y * (1 - y)``."""

    def forward(self, x):
        e = np.exp(-np.abs(x))  # never overflows, for either sign of x
        self._y = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self._y

    def backward(self, grad_out):
        return grad_out * self._y * (1 - self._y)

    def __repr__(self):
        return "Sigmoid()"


class Tanh(Module):
    """``y = tanh(x)``; backward: ``dL/dx = g * (1 - y**2)``."""

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_out):
        return grad_out * (1 - self._y ** 2)

    def __repr__(self):
        return "Tanh()"


class Sequential(Module):
    """Layers applied one after the other; backward runs them in reverse.

    >>> net = Sequential(Dense(2, 4, rng=0), ReLU(), Dense(4, 1, rng=1))
    >>> len(net.parameters())
    4
    """

    def __init__(self, *layers):
        for layer in layers:
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Module instances, got {layer!r}")
        self.layers = list(layers)

    def named_parameters(self):
        return [(f"{i}.{name}", p) for i, layer in enumerate(self.layers)
                for name, p in layer.named_parameters()]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    @property
    def needs_input_grad(self):
        # The model's input is its first layer's input, so the flag lives there.
        return self.layers[0].needs_input_grad if self.layers else True

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        if self.layers:
            self.layers[0].needs_input_grad = value

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def train(self):
        for layer in self.layers:
            layer.train()
        return super().train()

    def eval(self):
        for layer in self.layers:
            layer.eval()
        return super().eval()

    def __repr__(self):
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner}\n)"


_ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}


def mlp(sizes, activation="relu", rng=None, dtype=np.float32):
    """A multi-layer perceptron: ``Dense`` layers of the given sizes with an activation between them.

    The last layer has no activation (it outputs logits or regression values). ReLU-family
    activations get He initialisation, sigmoid/tanh get Glorot.

    >>> mlp([64, 32, 10], rng=0)
    Sequential(
      Dense(64, 32),
      ReLU(),
      Dense(32, 10)
    )
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, got {sizes!r}")
    check_choice("activation", activation, sorted(_ACTIVATIONS))
    init = "he" if activation in ("relu", "leaky_relu") else "glorot"
    rng = check_rng(rng)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, init=init, rng=rng, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return Sequential(*layers)


def _npz_path(path):
    # numpy adds ".npz" to a name without it; load must find the file under the name save was given.
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def save(model, path):
    """Save the model's parameters to a ``.npz`` file (``.npz`` is added to a name without it).

    Returns the path written.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> save(mlp([2, 3], rng=0), path).endswith("model.npz")
    True
    >>> load(mlp([2, 3], rng=1), path).state_dict()["0.W"].shape
    (2, 3)
    """
    path = _npz_path(path)
    np.savez(path, **model.state_dict())
    return path


def load(model, path):
    """Load parameters saved by :func:`save` into ``model`` (in place) and return the model.

    A missing or corrupt file, or a parameter whose name or shape does not fit, raises an error
    naming the file and the parameter; the model is then left unchanged.
    """
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(_npz_path(path)):
        path = _npz_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no saved model at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            state = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path!r} is not a readable lrcourse model file (.npz): {err}") from err
    try:
        model.load_state_dict(state)
    except ValueError as err:
        raise ValueError(f"cannot load {path!r} into this model: {err}") from err
    return model
