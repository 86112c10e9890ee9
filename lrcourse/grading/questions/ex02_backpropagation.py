"""Exercise 02 · Backpropagation: the backward pass of a dense layer, ReLU and softmax cross-entropy.

Conventions as in :mod:`lrcourse.nn` and :mod:`lrcourse.losses`: a batch ``x`` has shape (N, in); a dense
layer computes ``x @ W + b`` with ``W`` of shape (in, out); the loss is the mean over the batch, so its
gradient carries a ``1 / N``.

>>> _softmax(np.array([[0.0, 0.0]])).tolist()
[[0.5, 0.5]]
"""

import numpy as np

from ..checks import Case, Exercise, Question


def _dense_forward(x, W, b):
    return np.asarray(x, float) @ np.asarray(W, float) + np.asarray(b, float)


def _dense_backward(x, W, grad_out):
    x, W, grad_out = (np.asarray(a, float) for a in (x, W, grad_out))
    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(axis=0)


def _relu_backward(x, grad_out):
    return np.where(np.asarray(x) > 0, np.asarray(grad_out, float), 0.0)


def _softmax(logits):
    logits = np.asarray(logits, float)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _log_softmax(logits):
    logits = np.asarray(logits, float)
    top = logits.max(axis=1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))


def _softmax_cross_entropy(logits, labels):
    labels = np.asarray(labels)
    return float(-np.mean(_log_softmax(logits)[np.arange(len(labels)), labels]))


def _softmax_cross_entropy_backward(logits, labels):
    labels = np.asarray(labels)
    grad = _softmax(logits)
    grad[np.arange(len(labels)), labels] -= 1.0
    return grad / len(labels)


_rng = np.random.default_rng(2)
_x = _rng.normal(size=(4, 3))
_W = _rng.normal(size=(3, 2))
_b = _rng.normal(size=2)
_grad_out = _rng.normal(size=(4, 2))
_x_one = np.array([[1.0, 2.0]])
_W_one = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
_logits = _rng.normal(size=(5, 4)) * 3
_labels = np.array([0, 3, 1, 1, 2])
_big_logits = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])

EXERCISE = Exercise("02_backpropagation", "Backpropagation", (
    Question("q1", "dense_forward", ("x", "W", "b"), _dense_forward, title="Dense layer, forward", cases=(
        Case((_x_one, _W_one, np.array([0.0, 1.0, 0.5]))),
        Case((_x, _W, _b)),
    ), hint="one matrix product and a bias broadcast over the rows: x @ W + b."),
    Question("q2", "dense_backward", ("x", "W", "grad_out"), _dense_backward,
             title="Dense layer, backward", points=2, cases=(
        Case((_x_one, _W_one, np.array([[1.0, -1.0, 2.0]]))),
        Case((_x, _W, _grad_out)),
        Case((_x[:1], _W, _grad_out[:1])),
    ), hint="return (grad_x, grad_W, grad_b) with the shapes of x, W and b: grad_out @ W.T, x.T @ grad_out "
            "and the sum of grad_out over the batch."),
    Question("q3", "relu_backward", ("x", "grad_out"), _relu_backward, title="ReLU, backward", cases=(
        Case((np.array([[-1.0, 0.0, 2.0]]), np.array([[5.0, 5.0, 5.0]]))),
        Case((_x, _rng.normal(size=(4, 3)))),
    ), hint="the gradient passes where the input was > 0 and is 0 elsewhere (also at exactly 0)."),
    Question("q4", "softmax", ("logits",), _softmax, title="A stable softmax", cases=(
        Case((np.array([[0.0, 0.0]]),)),
        Case((np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),)),
        Case((_logits,)),
        Case((_big_logits,)),
    ), hint="subtract each row's maximum before np.exp (the result does not change, but nothing overflows), "
            "then divide by the row sum."),
    Question("q5", "softmax_cross_entropy", ("logits", "labels"), _softmax_cross_entropy,
             title="Softmax cross-entropy loss", cases=(
        Case((np.array([[0.0, 0.0]]), np.array([1]))),
        Case((_logits, _labels)),
        Case((_big_logits, np.array([0, 2]))),
    ), hint="mean over the batch of -log(softmax(logits)[i, labels[i]]); compute the log-softmax as "
            "logits - max - log(sum(exp(logits - max))) so large logits stay finite."),
    Question("q6", "softmax_cross_entropy_backward", ("logits", "labels"), _softmax_cross_entropy_backward,
             title="Softmax cross-entropy, backward", points=2, cases=(
        Case((np.array([[0.0, 0.0]]), np.array([1]))),
        Case((_logits, _labels)),
        Case((_big_logits, np.array([0, 2]))),
    ), hint="(softmax(logits) - one_hot(labels)) / N, N the batch size."),
))
