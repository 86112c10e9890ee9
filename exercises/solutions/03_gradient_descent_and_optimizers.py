# %% [markdown]
# # Exercise 03 · Gradient descent and optimizers
#
# Lesson 03 went from plain gradient descent to momentum, RMSprop and Adam. Each optimizer is a few
# lines of state and one update equation; here you write one update step of each, with the conventions
# of PyTorch (which `lrcourse.optim` follows), and then run momentum on the quadratic bowl.
#
# Every step function receives the current weights `w`, the gradient `grad` and the optimizer's state
# (arrays of the same shape), and **returns** the new weights and the new state, leaving its inputs
# unchanged.
#
# The last question scales a learning rate with the batch size, as lesson 03 measured.
#
# Replace each `raise NotImplementedError(...)` with your code, run the cell, then its `check` cell.

# %%
import numpy as np

from lrcourse.grading import checks_for

check = checks_for("03_gradient_descent_and_optimizers")

# %% [markdown]
# ## Q1 · Momentum
#
# SGD with momentum keeps a velocity $v$, a running sum of past gradients that decays by the factor
# $\mu$ (`momentum`) each step:
#
# $$v \leftarrow \mu v + g, \qquad w \leftarrow w - \eta\, v .$$
#
# Write `momentum_step(w, grad, velocity, lr, momentum)` returning `(new_w, new_velocity)`. With
# `momentum=0` it is plain gradient descent.

# %%
def momentum_step(w, grad, velocity, lr, momentum):
    """One step of SGD with momentum (PyTorch form); returns (new_w, new_velocity)."""
    ### BEGIN SOLUTION: update the velocity first, then move w along it
    new_velocity = momentum * velocity + grad
    return w - lr * new_velocity, new_velocity
    ### END SOLUTION


# %%
check("q1")

# %% [markdown]
# ## Q2 · Nesterov momentum
#
# Nesterov's variant looks ahead: the same velocity update, but the step uses the gradient plus the
# *new* velocity once more, $w \leftarrow w - \eta\,(g + \mu v)$. Write
# `nesterov_step(w, grad, velocity, lr, momentum)` returning `(new_w, new_velocity)`.

# %%
def nesterov_step(w, grad, velocity, lr, momentum):
    """One step of SGD with Nesterov momentum (PyTorch form); returns (new_w, new_velocity)."""
    ### BEGIN SOLUTION: the velocity as in Q1; the step along grad + momentum * new velocity
    new_velocity = momentum * velocity + grad
    return w - lr * (grad + momentum * new_velocity), new_velocity
    ### END SOLUTION


# %%
check("q2")

# %% [markdown]
# ## Q3 · RMSprop
#
# RMSprop divides each weight's step by a running root-mean-square of its gradients, so weights with
# large gradients take smaller steps:
#
# $$s \leftarrow \alpha s + (1 - \alpha)\, g^2, \qquad w \leftarrow w - \eta\, \frac{g}{\sqrt{s} + \epsilon} .$$
#
# Write `rmsprop_step(w, grad, square_avg, lr, alpha, eps)` returning `(new_w, new_square_avg)`.

# %%
def rmsprop_step(w, grad, square_avg, lr, alpha, eps):
    """One RMSprop step (PyTorch form); returns (new_w, new_square_avg)."""
    ### BEGIN SOLUTION: running average of grad**2, then a step scaled by 1 / (sqrt(avg) + eps)
    new_square_avg = alpha * square_avg + (1 - alpha) * grad * grad
    return w - lr * grad / (np.sqrt(new_square_avg) + eps), new_square_avg
    ### END SOLUTION


# %%
check("q3")

# %% [markdown]
# ## Q4 · Adam (2 points)
#
# Adam keeps running averages of the gradient ($m$) and of its square ($v$). Both start at zero, so early
# on they are biased towards zero; dividing by $1 - \beta^t$ ($t$ = `step`, counting from 1) corrects that:
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
#   w \leftarrow w - \eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon} .$$
#
# Write `adam_step(w, grad, m, v, step, lr, beta1, beta2, eps)` returning `(new_w, new_m, new_v)`: the
# state you return is the uncorrected $m$ and $v$ (the correction is only for the step).

# %%
def adam_step(w, grad, m, v, step, lr, beta1, beta2, eps):
    """One Adam step (PyTorch form, step counted from 1); returns (new_w, new_m, new_v)."""
    ### BEGIN SOLUTION: the two running averages, their bias-corrected copies, then the step
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = new_m / (1 - beta1 ** step)
    v_hat = new_v / (1 - beta2 ** step)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), new_m, new_v
    ### END SOLUTION


# %%
check("q4")

# %% [markdown]
# ## Q5 · Momentum on the quadratic bowl
#
# The bowl $f(x, y) = (a x^2 + b y^2) / 2$ has gradient $(a x, b y)$. Write
# `momentum_path(a, b, start, lr, momentum, steps)` that starts at the point `start` with zero velocity,
# does `steps` momentum steps (your Q1) and returns every point visited, an array of shape
# `(steps + 1, 2)` beginning with `start`.

# %%
def momentum_path(a, b, start, lr, momentum, steps):
    """The points visited by SGD with momentum on (a x**2 + b y**2) / 2, start included."""
    ### BEGIN SOLUTION: a loop over steps: gradient at the current point, then momentum_step
    point = np.array(start, dtype=float)
    velocity = np.zeros_like(point)
    path = [point]
    for _ in range(steps):
        gradient = np.array([a, b]) * point
        point, velocity = momentum_step(point, gradient, velocity, lr, momentum)
        path.append(point)
    return np.stack(path)
    ### END SOLUTION


# %%
check("q5")

# %% [markdown]
# ## Q6 · Scaling the rate with the batch size
#
# Lesson 03 measured two rules for choosing the learning rate when the batch size changes from
# `base_batch` (where `base_lr` works) to `batch`: the **linear** rule multiplies the rate by
# `batch / base_batch` (it held on digits for SGD from 8 to 128); the **square-root** rule, which some use
# for adaptive optimizers, multiplies it by `sqrt(batch / base_batch)`. Write
# `scaled_lr(base_lr, base_batch, batch, rule)` with `rule` either `"linear"` or `"sqrt"`, returning a float.

# %%
def scaled_lr(base_lr, base_batch, batch, rule):
    """The learning rate for `batch`, scaled from `base_lr` at `base_batch` by the linear or square-root rule."""
    ### BEGIN SOLUTION: the factor batch / base_batch, or its square root
    factor = batch / base_batch
    return float(base_lr * (factor if rule == "linear" else np.sqrt(factor)))
    ### END SOLUTION


# %%
check("q6")

# %% [markdown]
# ## Your optimizer and the engine's
#
# `lrcourse.data.descent_path` runs an `lrcourse.optim` optimizer on the same bowl. If your steps are
# right, the two paths coincide. On this ill-conditioned bowl ($b = 10 a$) a learning rate small enough
# for the steep direction crawls along the flat one; momentum builds up speed there and ends much closer
# to the minimum in the same number of steps.

# %%
from lrcourse.data import Quadratic, descent_path
from lrcourse.optim import SGD

bowl = Quadratic(a=1.0, b=10.0)
start = np.array([-4.0, 2.5])
mine = momentum_path(1.0, 10.0, start, lr=0.02, momentum=0.9, steps=40)
engine = descent_path(bowl, lambda params: SGD(params, lr=0.02, momentum=0.9), start=start, steps=40)
print("same path as lrcourse.optim.SGD:", np.allclose(mine, engine))
for momentum in (0.0, 0.5, 0.9):
    end = momentum_path(1.0, 10.0, start, lr=0.02, momentum=momentum, steps=40)[-1]
    print(f"momentum {momentum}: distance to the minimum after 40 steps = {np.linalg.norm(end):.3f}")
