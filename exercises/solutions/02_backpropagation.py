# %% [markdown]
# # Exercise 02 · Backpropagation
#
# Lesson 02 took the chain rule layer by layer. Here you write the backward passes the engine uses: a
# dense layer, ReLU, and the softmax cross-entropy loss at the top of every classifier in the course.
#
# Conventions (the same as `lrcourse.nn` and `lrcourse.losses`): a batch `x` has shape `(N, in)`, one
# example per row; a dense layer computes `x @ W + b` with `W` of shape `(in, out)` and `b` of shape
# `(out,)`; a loss is the **mean** over the batch. A backward pass receives `grad_out`, the gradient of
# the loss with respect to the layer's output, and returns gradients with respect to its inputs.
#
# Replace each `raise NotImplementedError(...)` with your code, run the cell, then its `check` cell.

# %%
import numpy as np

from lrcourse.grading import checks_for

check = checks_for("02_backpropagation")

# %% [markdown]
# ## Q1 · Dense layer, forward
#
# Write `dense_forward(x, W, b)`: the layer's output for a batch, shape `(N, out)`.

# %%
def dense_forward(x, W, b):
    """Output of a dense layer, x @ W + b, for a batch x of shape (N, in)."""
    ### BEGIN SOLUTION: a matrix product, then the bias added to every row
    return x @ W + b
    ### END SOLUTION


# %%
check("q1")

# %% [markdown]
# ## Q2 · Dense layer, backward (2 points)
#
# With $Y = XW + b$ and $G = \partial L / \partial Y$ (`grad_out`, shape `(N, out)`), the chain rule gives
#
# $$\frac{\partial L}{\partial X} = G W^\top, \qquad \frac{\partial L}{\partial W} = X^\top G, \qquad
#   \frac{\partial L}{\partial b} = \sum_{n} G_{n,:} .$$
#
# Write `dense_backward(x, W, grad_out)` returning the tuple `(grad_x, grad_W, grad_b)`. A quick sanity
# check: each gradient has the shape of the thing it is the gradient of.

# %%
def dense_backward(x, W, grad_out):
    """(dL/dx, dL/dW, dL/db) of a dense layer, given dL/dy = grad_out."""
    ### BEGIN SOLUTION: three lines; match the shapes (N, in), (in, out) and (out,)
    grad_x = grad_out @ W.T
    grad_W = x.T @ grad_out
    grad_b = grad_out.sum(axis=0)
    return grad_x, grad_W, grad_b
    ### END SOLUTION


# %%
check("q2")

# %% [markdown]
# ## Q3 · ReLU, backward
#
# ReLU computes $\max(x, 0)$ element-wise. Its derivative is 1 where $x > 0$ and 0 elsewhere (at exactly 0
# we take 0, as PyTorch does). Write `relu_backward(x, grad_out)`, the gradient with respect to `x`.

# %%
def relu_backward(x, grad_out):
    """Gradient of the loss with respect to ReLU's input x, given dL/dy = grad_out."""
    ### BEGIN SOLUTION: keep grad_out where x > 0, zero elsewhere
    return grad_out * (x > 0)
    ### END SOLUTION


# %%
check("q3")

# %% [markdown]
# ## Q4 · A softmax that does not overflow
#
# The softmax turns each row of logits $z$ into probabilities, $p_k = e^{z_k} / \sum_j e^{z_j}$. Computed
# like that, `np.exp(1000.0)` is `inf` and the result `nan`. Subtracting the row's maximum from every
# logit first changes nothing mathematically (the factor $e^{-\max}$ cancels) but keeps every exponent
# $\le 0$. Write `softmax(logits)` for a 2-D array, one row per example.

# %%
def softmax(logits):
    """Row-wise softmax of a 2-D array, computed without overflow."""
    ### BEGIN SOLUTION: shift each row by its max (keepdims=True helps), exponentiate, normalize each row
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
    ### END SOLUTION


# %%
check("q4")

# %% [markdown]
# ## Q5 · Softmax cross-entropy
#
# For integer labels $y_n$, the loss is the mean over the batch of $-\log p_{n, y_n}$. Taking `np.log` of
# a softmax that rounded to 0 gives `-inf`, so compute the log-probabilities directly:
# $\log p_k = z_k - m - \log \sum_j e^{z_j - m}$ with $m = \max_j z_j$. Write
# `softmax_cross_entropy(logits, labels)` returning a float.

# %%
def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of integer labels under the softmax of the logits."""
    ### BEGIN SOLUTION: log-probabilities via the shifted log-sum-exp, pick each row's label, average, negate
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    return float(-log_probs[rows, labels].mean())
    ### END SOLUTION


# %%
check("q5")

# %% [markdown]
# ## Q6 · Softmax cross-entropy, backward (2 points)
#
# Softmax and cross-entropy together have a famously simple gradient with respect to the logits:
#
# $$\frac{\partial L}{\partial z_{n,k}} = \frac{p_{n,k} - [k = y_n]}{N},$$
#
# the probabilities minus the one-hot labels, divided by the batch size (the loss is a mean). Write
# `softmax_cross_entropy_backward(logits, labels)`.

# %%
def softmax_cross_entropy_backward(logits, labels):
    """Gradient of softmax_cross_entropy(logits, labels) with respect to the logits."""
    ### BEGIN SOLUTION: start from softmax(logits), subtract 1 at each row's label, divide by N
    one_hot = np.zeros_like(logits)
    one_hot[np.arange(len(labels)), labels] = 1.0
    return (softmax(logits) - one_hot) / len(labels)
    ### END SOLUTION


# %%
check("q6")

# %% [markdown]
# ## Trust, but verify
#
# A backward pass can be checked without knowing the answer: nudge each input a little and watch the loss
# (lesson 02's gradient check). Here, a two-layer network built from your functions, compared with
# `lrcourse.gradcheck.numerical_gradient`, and with the engine's own `Dense` layer.

# %%
from lrcourse.gradcheck import numerical_gradient, rel_error
from lrcourse.nn import Dense

rng = np.random.default_rng(0)
x = rng.normal(size=(6, 4))
labels = rng.integers(0, 3, size=6)
W1, b1 = rng.normal(size=(4, 5)), rng.normal(size=5)
W2, b2 = rng.normal(size=(5, 3)), rng.normal(size=3)


def loss_of(W1):
    hidden = dense_forward(x, W1, b1)
    return softmax_cross_entropy(dense_forward(np.maximum(hidden, 0), W2, b2), labels)


hidden = dense_forward(x, W1, b1)
logits = dense_forward(np.maximum(hidden, 0), W2, b2)
grad_logits = softmax_cross_entropy_backward(logits, labels)
grad_relu_out, _, _ = dense_backward(np.maximum(hidden, 0), W2, grad_logits)
_, grad_W1, _ = dense_backward(x, W1, relu_backward(hidden, grad_relu_out))
print("backprop vs finite differences, relative error < 1e-7:",
      rel_error(grad_W1, numerical_gradient(loss_of, W1.copy())) < 1e-7)

layer = Dense(4, 5, dtype=np.float64)
layer.W.value[...], layer.b.value[...] = W1, b1
grad_out = rng.normal(size=(6, 5))
layer.forward(x)
engine_grad_x = layer.backward(grad_out)
mine = dense_backward(x, W1, grad_out)
print("same as lrcourse.nn.Dense:",
      np.allclose(mine[0], engine_grad_x) and np.allclose(mine[1], layer.W.grad) and np.allclose(mine[2], layer.b.grad))
