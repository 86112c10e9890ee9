# %% [markdown]
# # Exercise 01 · The machine-learning loop
#
# Lesson 01 ran the loop *forward pass, loss, gradient, update* with `lrcourse`. Here you write every
# piece of it yourself, for the smallest model there is: a line $\hat y = w x + b$ fitted to points
# $(x_i, y_i)$ by gradient descent on the mean squared error.
#
# **How the exercises work.** Each question asks for a function with a given name and signature.
# Replace the `raise NotImplementedError(...)` line with your code and run the cell, then run the
# `check(...)` cell below it: it calls your function on a few inputs and tells you which input it tried,
# what it expected and what came back. Keep the names: the grader looks your functions up by name.

# %%
import matplotlib.pyplot as plt
import numpy as np

from lrcourse.grading import checks_for

check = checks_for("01_the_ml_loop")

# %% [markdown]
# ## Q1 · The loss
#
# The mean squared error between predictions $\hat y$ and targets $y$ (arrays of the same shape, $N$
# elements in all) is
#
# $$L = \frac{1}{N} \sum_{i=1}^{N} (\hat y_i - y_i)^2 .$$
#
# Write `mse(pred, target)` that returns it as a Python float.

# %%
def mse(pred, target):
    """Mean squared error between two arrays of the same shape."""
    ### BEGIN SOLUTION: square the differences, then average over every element
    return float(np.mean((pred - target) ** 2))
    ### END SOLUTION


# %%
check("q1")

# %% [markdown]
# ## Q2 · Its gradient
#
# The loop needs the gradient of the loss with respect to each prediction:
#
# $$\frac{\partial L}{\partial \hat y_i} = \frac{2}{N} (\hat y_i - y_i).$$
#
# Write `mse_gradient(pred, target)` that returns this array (same shape as `pred`).

# %%
def mse_gradient(pred, target):
    """Gradient of mse(pred, target) with respect to pred."""
    ### BEGIN SOLUTION: differentiate the mean of squares element by element; mind the 1/N
    return 2.0 * (pred - target) / pred.size
    ### END SOLUTION


# %%
check("q2")

# %% [markdown]
# ## Q3 · One update
#
# Gradient descent moves the weights a step of size $\eta$ (the learning rate) against the gradient:
# $w \leftarrow w - \eta\, \nabla_w L$. Write `gd_step(w, grad, lr)` that returns the new weights as a
# **new** array (leave `w` untouched: the caller may still need the old values).

# %%
def gd_step(w, grad, lr):
    """The weights after one gradient-descent step of size lr."""
    ### BEGIN SOLUTION: one line; `w - ...` creates a new array, `w -= ...` would change the caller's
    return w - lr * grad
    ### END SOLUTION


# %%
check("q3")

# %% [markdown]
# ## Q4 · The whole loop
#
# Now put the pieces together. Write `fit_line(x, y, lr, epochs)` that starts from $w = b = 0$ and does
# `epochs` full-batch gradient-descent steps on the MSE of $\hat y = w x + b$, then returns `(w, b)` as a
# tuple of floats. By the chain rule, with $g_i = \partial L / \partial \hat y_i$ from Q2,
#
# $$\frac{\partial L}{\partial w} = \sum_i g_i\, x_i, \qquad \frac{\partial L}{\partial b} = \sum_i g_i .$$
#
# Both gradients are computed from the same (old) $w$ and $b$, then both are updated.

# %%
def fit_line(x, y, lr, epochs):
    """(w, b) after `epochs` steps of gradient descent on the MSE of w * x + b, from w = b = 0."""
    ### BEGIN SOLUTION: forward pass, gradient of the loss, then update w and b; repeat
    w, b = 0.0, 0.0
    for _ in range(epochs):
        grad_pred = mse_gradient(w * x + b, y)
        grad_w, grad_b = np.sum(grad_pred * x), np.sum(grad_pred)
        w, b = w - lr * grad_w, b - lr * grad_b
    return float(w), float(b)
    ### END SOLUTION


# %%
check("q4")

# %% [markdown]
# ## Q5 · Watching the loss
#
# Write `loss_history(x, y, lr, epochs)`: the same loop, but return the loss instead of the weights:
# an array of `epochs + 1` values, the MSE before each of the updates and after the last one.

# %%
def loss_history(x, y, lr, epochs):
    """The MSE before every update of fit_line's loop and after the last one (epochs + 1 values)."""
    ### BEGIN SOLUTION: record mse(...) before each update, and once more at the end
    w, b = 0.0, 0.0
    losses = []
    for _ in range(epochs):
        losses.append(mse(w * x + b, y))
        grad_pred = mse_gradient(w * x + b, y)
        w, b = w - lr * np.sum(grad_pred * x), b - lr * np.sum(grad_pred)
    losses.append(mse(w * x + b, y))
    return np.array(losses)
    ### END SOLUTION


# %%
check("q5")

# %% [markdown]
# ## What the learning rate does
#
# The same data, four learning rates. For this data the loss curvature is at most 2, so (lesson 04)
# gradient descent is stable only below $\eta = 2 / 2 = 1$: watch what happens on either side.

# %%
x = np.linspace(-1.0, 1.0, 9)
y = 3.0 * x + 0.5
fig, ax = plt.subplots(figsize=(6, 3.5))
for lr in (0.05, 0.3, 0.9, 1.05):
    ax.semilogy(loss_history(x, y, lr, 30), label=f"lr = {lr}")
ax.set(title="Fitting a line: loss per step", xlabel="step", ylabel="MSE (log scale)")
ax.legend()
plt.show()
for lr in (0.05, 0.3, 0.9, 1.05):
    print(f"lr = {lr:<5} loss after 30 steps: {loss_history(x, y, lr, 30)[-1]:.3g}")

# %% [markdown]
# Too small and the loss creeps down; a little under the limit and it zig-zags but still converges;
# past it, every step overshoots more than the last. Lesson 04 works out exactly where the limit is.
