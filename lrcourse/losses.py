"""Loss functions. Each is a mean, so its value equals PyTorch's and Keras' default reduction.

``forward(pred, target)`` returns the loss as a float and keeps what ``backward`` needs;
``backward()`` returns dLoss/dpred, the gradient of that mean.

>>> import numpy as np
>>> loss = SoftmaxCrossEntropy()
>>> round(loss(np.zeros((2, 4)), np.array([0, 3])), 6)  # uniform prediction over 4 classes: log(4)
1.386294
"""

import numpy as np

__all__ = ["MeanSquaredError", "SoftmaxCrossEntropy", "accuracy"]


class MeanSquaredError:
    """``L = mean((pred - target)**2)`` over all elements; ``dL/dpred = 2 (pred - target) / size``.

    >>> round(MeanSquaredError()(np.array([[1.0], [3.0]]), np.array([0.0, 1.0])), 6)
    2.5
    """

    is_classification = False

    def __call__(self, pred, target):
        return self.forward(pred, target)

    def forward(self, pred, target):
        pred = np.asarray(pred)
        target = np.asarray(target)
        if target.shape != pred.shape:
            # A vector of targets for a single-output model is the one shape we accept as is.
            if target.ndim == 1 and pred.shape == (target.shape[0], 1):
                target = target[:, None]
            else:
                raise ValueError(f"target shape {target.shape} does not match prediction shape {pred.shape}")
        self._diff = pred - target.astype(pred.dtype, copy=False)
        return float(np.mean(self._diff ** 2))

    def backward(self):
        return self._diff * (2.0 / self._diff.size)


class SoftmaxCrossEntropy:
    """Softmax of the logits followed by cross-entropy, fused for stability and speed.

    ``p = softmax(z)``, ``L = -mean_i log p[i, y_i]``; the fused gradient is
    ``dL/dz = (p - onehot(y)) / N``. Targets are integer labels of shape ``(N,)`` or
    probabilities (one-hot) of shape ``(N, C)``.
    """

    is_classification = True

    def __call__(self, logits, target):
        return self.forward(logits, target)

    def forward(self, logits, target):
        logits = np.asarray(logits)
        if logits.ndim != 2:
            raise ValueError(f"logits must have shape (batch, classes), got {logits.shape}")
        n, n_classes = logits.shape
        target = np.asarray(target)
        shifted = logits - logits.max(axis=1, keepdims=True)  # exp never overflows
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        log_sum_exp = np.log(sum_exp)
        exp /= sum_exp
        self._probs = exp
        if target.ndim == 1:
            if target.shape[0] != n:
                raise ValueError(f"got {target.shape[0]} labels for {n} predictions")
            if target.dtype.kind not in "iu":  # signed or unsigned integers (cheaper than np.issubdtype)
                raise TypeError(f"integer class labels expected, got dtype {target.dtype}")
            if n and (target.min() < 0 or target.max() >= n_classes):
                raise ValueError(f"labels must be in [0, {n_classes}), got range "
                                 f"[{target.min()}, {target.max()}]")
            self._labels, self._target = target, None
            rows = np.arange(n)
            # The mean as sum / n: np.mean's Python wrapper costs more than the sum on a small batch.
            return float((log_sum_exp[:, 0] - shifted[rows, target]).sum() / n)
        if target.shape != logits.shape:
            raise ValueError(f"one-hot target shape {target.shape} does not match logits shape {logits.shape}")
        self._labels, self._target = None, target.astype(logits.dtype, copy=False)
        return float(-np.mean(np.sum(self._target * (shifted - log_sum_exp), axis=1)))

    def backward(self):
        grad = self._probs.copy()
        n = grad.shape[0]
        if self._labels is not None:
            grad[np.arange(n), self._labels] -= 1
        else:
            grad -= self._target
        grad /= n
        return grad


def accuracy(logits, target):
    """Fraction of rows whose largest logit is the target class (labels or one-hot).

    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    logits = np.asarray(logits)
    target = np.asarray(target)
    if target.ndim == 2:
        target = target.argmax(axis=1)
    if logits.ndim != 2 or target.shape != (logits.shape[0],):
        raise ValueError(f"accuracy expects logits (N, C) and N labels, got {logits.shape} and {target.shape}")
    if len(target) == 0:
        return float("nan")  # as np.mean of nothing
    # A count, not np.mean: fit calls this on every batch, and np.mean's Python wrapper is the slow part.
    return float(np.count_nonzero(logits.argmax(axis=1) == target) / len(target))
