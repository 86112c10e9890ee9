# %% [markdown]
# # 02 · Backpropagation
#
# Step 4 of the training loop needs $\partial L / \partial w$ for *every* weight $w$. Lesson 01 used a
# formula for softmax regression and checked one entry of it by nudging a weight. Nudging works for
# any model, but it needs two forward passes per weight. **Backpropagation** gets all the derivatives
# from one forward and one backward pass, by applying the chain rule from the loss back to the input.
#
# In this lesson we
#
# 1. backpropagate through a tiny network by hand, number by number;
# 2. see the same computation organised layer by layer, as `lrcourse.nn` does it, on a real batch;
# 3. check gradients numerically (`lrcourse.gradcheck`), the test that catches backprop bugs;
# 4. look at what gradients of different layers mean for a single learning rate.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import lrcourse
from lrcourse import data, nn
from lrcourse.gradcheck import check_gradients, numerical_gradient, rel_error

(X_train, y_train), (X_val, y_val), _ = data.digits(rng=0)

# %% [markdown]
# ## The chain rule
#
# If $L$ depends on $w$ only through an intermediate value $u$, then
# $$\frac{\partial L}{\partial w} = \frac{\partial L}{\partial u}\,\frac{\partial u}{\partial w}.$$
# A network is a long chain of such intermediate values: weights feed pre-activations, which feed
# activations, which feed the next layer, and finally the loss. Backpropagation walks this chain
# backwards. At each node it receives $\partial L / \partial(\text{output})$ from the node above,
# multiplies by the node's own local derivative, and passes $\partial L / \partial(\text{input})$ down.
# When a value feeds several nodes, the contributions coming back from each of them add up.
#
# ## A tiny network, by hand
#
# Two inputs, two hidden units with a $\tanh$, one output, squared error:
#
# $$z = x W_1 + b_1, \quad h = \tanh(z), \quad \hat y = h\, w_2 + b_2, \quad L = (\hat y - y)^2 .$$
#
# With the numbers below, we first run the **forward pass** and keep every intermediate value.

# %%
x = np.array([1.0, -2.0])
y = 0.5
W1 = np.array([[0.5, -0.3],
               [0.2, 0.4]])   # shape (inputs, hidden), as in lrcourse.nn.Dense
b1 = np.array([0.1, -0.1])
w2 = np.array([0.7, -0.5])    # hidden -> output
b2 = 0.05

z = x @ W1 + b1
h = np.tanh(z)
y_hat = h @ w2 + b2
L = (y_hat - y) ** 2
print(f"z     = x W1 + b1   = {np.round(z, 6)}")
print(f"h     = tanh(z)     = {np.round(h, 6)}")
print(f"y_hat = h w2 + b2   = {y_hat:.6f}")
print(f"L     = (y_hat-y)^2 = {L:.6f}")

# %% [markdown]
# Now the **backward pass**, one local derivative at a time, starting from the loss:
#
# | quantity | chain rule | why |
# |---|---|---|
# | $\partial L/\partial \hat y$ | $2(\hat y - y)$ | derivative of a square |
# | $\partial L/\partial b_2$ | $\partial L/\partial \hat y \cdot 1$ | $\hat y$ changes one-for-one with $b_2$ |
# | $\partial L/\partial w_2$ | $\partial L/\partial \hat y \cdot h$ | $\hat y = h\, w_2 + b_2$ is linear in $w_2$ with slope $h$ |
# | $\partial L/\partial h$ | $\partial L/\partial \hat y \cdot w_2$ | and linear in $h$ with slope $w_2$ |
# | $\partial L/\partial z$ | $\partial L/\partial h \cdot (1 - h^2)$ | $\tanh'(z) = 1 - \tanh^2(z)$, elementwise |
# | $\partial L/\partial b_1$ | $\partial L/\partial z$ | |
# | $\partial L/\partial W_1$ | $x^\top \, \partial L/\partial z$ (outer product) | $z_j = \sum_i x_i W_{1,ij} + b_{1,j}$ |
#
# Notice that every line reuses the line above it. That reuse is why backprop is cheap: the cost of the
# backward pass is about that of the forward pass, whatever the number of weights.

# %%
dL_dyhat = 2 * (y_hat - y)
dL_db2 = dL_dyhat
dL_dw2 = dL_dyhat * h
dL_dh = dL_dyhat * w2
dL_dz = dL_dh * (1 - h ** 2)
dL_db1 = dL_dz
dL_dW1 = np.outer(x, dL_dz)
print(f"dL/dy_hat = {dL_dyhat:.6f}")
print(f"dL/db2    = {dL_db2:.6f}")
print(f"dL/dw2    = {np.round(dL_dw2, 6)}")
print(f"dL/dh     = {np.round(dL_dh, 6)}")
print(f"dL/dz     = {np.round(dL_dz, 6)}")
print(f"dL/db1    = {np.round(dL_db1, 6)}")
print(f"dL/dW1    =\n{np.round(dL_dW1, 6)}")

# %% [markdown]
# Two independent ways to confirm these numbers.
#
# **Finite differences.** `numerical_gradient(f, w)` nudges each entry of `w` by $\pm\varepsilon$ and
# returns $(f(w+\varepsilon) - f(w-\varepsilon)) / 2\varepsilon$ for each entry. `rel_error(a, b)` is
# $\|a-b\| / (\|a\| + \|b\|)$: 0 for identical arrays, about $10^{-10}$ or less when two float64 gradients
# agree, and larger than $10^{-3}$ when something is wrong.
#
# **`lrcourse`'s layers.** The same network built from `Dense`, `Tanh` and `MeanSquaredError`, with the
# same weights copied in, must give the same gradients from its own `backward`.

# %%
def magnitude(err):
    """A relative error as a power of ten: its exact digits are rounding noise and vary by machine."""
    return f"~1e{round(np.log10(err)):d}"


def tiny_loss(_=None):
    out = np.tanh(x @ W1 + b1) @ w2 + b2
    return (out - y) ** 2


by_hand = {"W1": dL_dW1, "b1": dL_db1, "w2": dL_dw2}
for name, param in (("W1", W1), ("b1", b1), ("w2", w2)):
    err = rel_error(by_hand[name], numerical_gradient(tiny_loss, param))
    print(f"{name}: by hand vs finite differences, relative error {magnitude(err)}")
    assert err < 1e-8

net = nn.Sequential(nn.Dense(2, 2, dtype=np.float64), nn.Tanh(), nn.Dense(2, 1, dtype=np.float64))
net.load_state_dict({"0.W": W1, "0.b": b1, "2.W": w2[:, None], "2.b": np.array([b2])})
mse = lrcourse.MeanSquaredError()
print(f"lrcourse loss {mse(net(x[None, :]), np.array([y])):.6f}")
net.backward(mse.backward())
grads = {name: p.grad for name, p in net.named_parameters()}
for name, expected in (("0.W", dL_dW1), ("0.b", dL_db1), ("2.W", dL_dw2[:, None]), ("2.b", np.array([dL_db2]))):
    assert np.allclose(grads[name], expected, rtol=1e-12, atol=1e-15), name
print("lrcourse's backward gives the hand-computed gradients for all four parameters")

# %% [markdown]
# ## Layer by layer
#
# The table above has a pattern that does not depend on this particular network. Every layer needs two
# functions that mirror each other:
#
# - `forward(x)` computes the output and **keeps what the backward pass will need** (the input, a mask, the
#   activation);
# - `backward(g)` receives $g = \partial L / \partial(\text{output})$, stores the gradients of the layer's
#   own parameters, and **returns** $\partial L / \partial(\text{input})$ for the layer below.
#
# For a batch of $N$ rows the rules are (this is exactly what `lrcourse/nn.py` implements; open it and
# compare):
#
# | layer | forward | backward: parameters | backward: returns |
# |---|---|---|---|
# | `Dense` | $y = xW + b$ | $\partial L/\partial W = x^\top g$, $\partial L/\partial b = \sum_{\text{rows}} g$ | $g\,W^\top$ |
# | `ReLU` | $y = \max(x, 0)$ | none | $g \odot [x > 0]$ |
# | `Tanh` | $y = \tanh x$ | none | $g \odot (1 - y^2)$ |
# | softmax + cross-entropy | $L = \frac1N \sum_i \big(-z_{i,y_i} + \log \sum_k e^{z_{ik}}\big)$ | none | $(P - Y)/N$ |
#
# The last row follows from one line of calculus: the derivative of $-z_{y} + \log\sum_k e^{z_k}$ with
# respect to $z_k$ is $-[k = y] + e^{z_k}/\sum_j e^{z_j} = p_k - [k = y]$.
#
# The matrix shapes check themselves: $\partial L/\partial W$ must have the shape of $W$
# (inputs x outputs), and $x^\top g$ is (inputs x $N$) times ($N$ x outputs). The sum over the batch
# appears automatically in the matrix product.
#
# Here is a two-layer network written out in numpy with these rules, on a batch of 64 digit images,
# compared with `lrcourse.mlp` holding the same weights.

# %%
model = lrcourse.mlp([64, 32, 10], rng=0, dtype=np.float64)
Xb, yb = X_train[:64].astype(np.float64), y_train[:64]
W1_, b1_, W2_, b2_ = (p.value.copy() for p in model.parameters())

# forward, keeping what backward needs
z1 = Xb @ W1_ + b1_
a1 = np.maximum(z1, 0)
z2 = a1 @ W2_ + b2_
P = np.exp(z2 - z2.max(axis=1, keepdims=True))
P /= P.sum(axis=1, keepdims=True)
# backward, layer by layer from the loss down
dz2 = (P - np.eye(10)[yb]) / len(Xb)        # softmax + cross-entropy
dW2, db2 = a1.T @ dz2, dz2.sum(axis=0)        # Dense 2: parameters
da1 = dz2 @ W2_.T                             # Dense 2: returns
dz1 = da1 * (z1 > 0)                          # ReLU
dW1, db1 = Xb.T @ dz1, dz1.sum(axis=0)        # Dense 1: parameters

loss = lrcourse.SoftmaxCrossEntropy()
loss(model(Xb), yb)
model.backward(loss.backward())
for (name, p), mine in zip(model.named_parameters(), (dW1, db1, dW2, db2)):
    assert np.allclose(p.grad, mine, rtol=1e-12, atol=1e-15)
    print(f"{name:4s} shape {str(p.grad.shape):8s} numpy and lrcourse agree to 12 digits")

# %% [markdown]
# ### What backprop saves
#
# The finite-difference alternative needs two forward passes per parameter. For this small network that
# is already thousands of passes; the next cell times both ways on the same batch (timings depend on the
# machine; the counts do not).

# %%
n_params = sum(p.value.size for p in model.parameters())
backprop_times = []
for _ in range(10):
    start = time.perf_counter()
    loss(model(Xb), yb)
    model.backward(loss.backward())
    backprop_times.append(time.perf_counter() - start)
backprop_s = min(backprop_times)  # the best of 10: the least disturbed by other work on the machine


def batch_loss(_):
    return loss.forward(model.forward(Xb), yb)


start = time.perf_counter()
numeric = {name: numerical_gradient(batch_loss, p.value) for name, p in model.named_parameters()}
numeric_s = time.perf_counter() - start
print(f"{n_params} parameters")
print(f"backprop:            1 forward + 1 backward pass,  {backprop_s * 1e3:.2f} ms wall")
print(f"finite differences:  {2 * n_params} forward passes,       {numeric_s * 1e3:.0f} ms wall")
assert numeric_s > 100 * backprop_s

# %% [markdown]
# Backprop is more than a hundred times faster here, and the gap grows with the model: the cost of finite
# differences is proportional to the number of parameters *times* the cost of a forward pass, while
# backprop costs about two forward passes regardless. For a network with millions of weights, finite
# differences are out of the question for training. They remain the reference for *testing* backprop.

# %% [markdown]
# ## Gradient checking
#
# A backward pass with a bug usually still returns arrays of the right shape, and training with wrong
# gradients often still lowers the loss a bit, so the bug can go unnoticed for a long time. The cure is
# to compare backprop with finite differences on a small model and a few examples.
# `lrcourse.gradcheck.check_gradients(model, loss, X, y)` does this for every parameter and returns the
# relative errors. It needs a float64 model (see below why).

# %%
check_model = lrcourse.mlp([64, 16, 10], rng=1, dtype=np.float64)
X_check, y_check = X_train[:20].astype(np.float64), y_train[:20]
errors = check_gradients(check_model, lrcourse.SoftmaxCrossEntropy(), X_check, y_check)
for name, err in errors.items():
    print(f"{name:4s} relative error {magnitude(err)}")
assert max(errors.values()) < 1e-7

# %% [markdown]
# All parameters agree to about nine digits: the backward pass is correct. Now a deliberate bug, of a kind
# that is easy to make: a ReLU whose backward pass forgets to zero the gradient where the input was
# negative (it treats ReLU as the identity on the way back).

# %%
class ReLUWithBug(nn.ReLU):
    def backward(self, grad_out):
        return grad_out  # bug: should be grad_out * (x > 0)


buggy_model = lrcourse.mlp([64, 16, 10], rng=1, dtype=np.float64)
buggy_model.layers[1] = ReLUWithBug()
buggy_errors = check_gradients(buggy_model, lrcourse.SoftmaxCrossEntropy(), X_check, y_check)
for name, err in buggy_errors.items():
    print(f"{name:4s} relative error {err:.2f}" if err > 1e-3 else f"{name:4s} relative error {magnitude(err)}")
assert buggy_errors["0.W"] > 1e-2 and buggy_errors["2.W"] < 1e-7

# %% [markdown]
# The check points straight at the bug: the last layer's gradients (`2.W`, `2.b`), computed before the
# ReLU on the way back, are still correct, while those of the first layer (`0.W`, `0.b`), which pass
# through the broken ReLU, are off by a large relative error.
#
# ### Choosing $\varepsilon$, and why float64
#
# A centred finite difference has two sources of error. The **truncation** error of the formula shrinks
# like $\varepsilon^2$. But the two losses being subtracted are nearly equal, so their **rounding** error,
# about $10^{-16} \cdot |L|$ in float64, is divided by $2\varepsilon$ and *grows* as $\varepsilon$ shrinks.
# The measurement on the tiny network shows both regimes.

# %%
eps_values = np.logspace(-12, -1, 23)
eps_errors = [rel_error(dL_dW1, numerical_gradient(tiny_loss, W1, eps=eps)) for eps in eps_values]
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(eps_values, eps_errors, "o-", label="tiny network, float64")
ax.axvline(1e-6, color="0.6", ls="--", label="default eps = 1e-6")
ax.set(title="Gradient check error against the finite-difference step", xlabel="eps",
       ylabel="relative error vs backprop")
ax.legend()
plt.show()
err_at = dict(zip(np.round(np.log10(eps_values), 1), eps_errors))
assert err_at[-1.0] > 1e-4 and err_at[-6.0] < 1e-9 and err_at[-12.0] > 1e-6

# %% [markdown]
# The error falls steeply (slope 2 on this log-log plot, the $\varepsilon^2$ truncation) down to an optimum
# around $\varepsilon \approx 10^{-5}$ to $10^{-6}$, then rises again as rounding takes over. The default
# $10^{-6}$ sits near the bottom.
#
# In **float32**, rounding is about $10^{-7}$ instead of $10^{-16}$, so the bottom of the U is far higher.
# The simplest function shows it: $f(x) = x^2$ at $x = 1$, whose derivative is exactly 2.

# %%
for dtype in (np.float64, np.float32):
    for eps in (1e-3, 1e-6):
        x0, e = dtype(1.0), dtype(eps)
        slope = ((x0 + e) ** 2 - (x0 - e) ** 2) / (2 * e)
        print(f"{dtype.__name__}, eps = {eps:.0e}: finite difference {float(slope):.8f} (exact 2)")
        if dtype is np.float32 and eps == 1e-6:
            assert abs(float(slope) - 2) > 1e-2

# %% [markdown]
# In float32 with $\varepsilon = 10^{-6}$ the "derivative" is wrong in the second digit, so a gradient check
# in float32 cannot tell a correct backward pass from a subtly wrong one. Train in float32 (it is faster
# and precise enough for training); check gradients in float64.

# %% [markdown]
# ## What gradients say about the learning rate
#
# The update is $w \leftarrow w - \eta\, \partial L/\partial w$ with **one** $\eta$ for every weight. So
# the size of a step in each layer is set by the size of that layer's gradient. The chain rule multiplies
# one local derivative per layer, and for the sigmoid that derivative is at most $0.25$. Below we measure,
# at initialisation, the gradient norm of each layer's weights in a five-hidden-layer network, for
# sigmoid, tanh and ReLU, on the same batch of 256 images, over three seeds. Each norm is divided by the
# last layer's, so 1 means "this layer moves as fast as the output layer".

# %%
X256, y256 = X_train[:256].astype(np.float64), y_train[:256]
SEEDS = (0, 1, 2)
ACTIVATIONS = ("sigmoid", "tanh", "relu")
ratios = {}
for activation in ACTIVATIONS:
    per_seed = []
    for seed in SEEDS:
        deep = lrcourse.mlp([64, 64, 64, 64, 64, 64, 10], activation=activation, rng=seed, dtype=np.float64)
        ce = lrcourse.SoftmaxCrossEntropy()
        ce(deep(X256), y256)
        deep.backward(ce.backward())
        norms = np.array([np.linalg.norm(p.grad) for name, p in deep.named_parameters() if name.endswith("W")])
        per_seed.append(norms / norms[-1])
    ratios[activation] = np.array(per_seed)
    mean = ratios[activation].mean(axis=0)
    print(f"{activation:8s} gradient norm relative to the last layer, layers 1..6: "
          + "  ".join(f"{r:.3g}" for r in mean))

fig, ax = plt.subplots(figsize=(7, 4))
layers = np.arange(1, 7)
for activation, marker in zip(ACTIVATIONS, "osd"):
    r = ratios[activation]
    ax.errorbar(layers, r.mean(axis=0), yerr=[r.mean(0) - r.min(0), r.max(0) - r.mean(0)],
                marker=marker, capsize=3, label=activation)
ax.set(title="Weight-gradient norm per layer at initialisation\n(digits; mean of 3 seeds, bars from min to max)", xlabel="layer (1 = input side)",
       ylabel="norm / norm of the last layer", yscale="log")
ax.legend()
plt.show()
assert ratios["sigmoid"][:, 0].max() < 0.01
for activation in ("tanh", "relu"):
    assert 0.5 < ratios[activation].min() and ratios[activation].max() < 2, activation

# %% [markdown]
# With sigmoid activations the first layer's gradient is about a thousand times smaller than the last
# layer's, for every seed (it shrinks by a factor of 4 to 5 per layer): a learning rate large enough to move the first layer would throw the last
# one around, and one small enough for the last layer leaves the first almost frozen (the *vanishing
# gradient*). With tanh (Glorot initialisation) and ReLU (He initialisation) all layers stay within a factor
# of two of each other. This is one reason ReLU networks train well with a single learning rate, and
# one motivation for the adaptive optimizers of lesson 03, which rescale the step of every weight by the
# size of its own recent gradients.
#
# ## Summary
#
# - Backprop is the chain rule applied from the loss backwards, reusing each intermediate result; the
#   tiny network's gradients by hand, by finite differences and by `lrcourse` agree.
# - Every layer is a `forward` that keeps what it needs and a `backward` that returns
#   $\partial L/\partial(\text{input})$; `Dense`'s backward is $x^\top g$, $\sum g$, $g W^\top$.
# - Backprop costs about two forward passes; finite differences cost two per parameter (here more than
#   a hundred times slower), so they serve to test backprop, in float64 with $\varepsilon \approx 10^{-6}$.
# - A gradient check localises bugs: only the layers below a broken backward show large errors.
# - Gradient sizes differ between layers (enormously with sigmoid), which matters because one
#   learning rate multiplies them all.
#
# **Exercise:** `exercises/02_backpropagation.ipynb` has you write the forward and backward passes of
# `Dense`, ReLU and softmax cross-entropy yourself, checked against the rules in the table above.
