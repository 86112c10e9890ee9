# %% [markdown]
# # Exercise 05 · Learning-rate decay
#
# Lesson 05 compared decay schedules on one training budget. A schedule is just a function of the update
# count: `step` is the number of updates done so far (0 for the first update), and the function returns
# the learning rate to use. Here you write the classic ones with the exact formulas of PyTorch and Keras,
# so your functions agree with theirs (and with `lrcourse.schedules`) to the last digit.
#
# Replace each `raise NotImplementedError(...)` with your code, run the cell, then its `check` cell.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from lrcourse.grading import checks_for

check = checks_for("05_learning_rate_decay")

# %% [markdown]
# ## Q1 · Step decay
#
# Multiply the learning rate by `gamma` every `step_size` updates (PyTorch `StepLR`):
#
# $$\eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor} .$$
#
# Write `step_decay(step, initial_lr, step_size, gamma)`.

# %%
def step_decay(step, initial_lr, step_size, gamma):
    """PyTorch StepLR: initial_lr * gamma ** floor(step / step_size)."""
    ### BEGIN SOLUTION: how many whole periods of step_size have passed?
    periods = step // step_size
    return initial_lr * gamma ** periods
    ### END SOLUTION


# %%
check("q1")

# %% [markdown]
# ## Q2 · Exponential decay
#
# Keras' `ExponentialDecay` multiplies the rate by `decay_rate` every `decay_steps` updates, but smoothly:
#
# $$\eta_t = \eta_0\, r^{t / T}, \qquad\text{or, with } \texttt{staircase=True},\qquad
#   \eta_t = \eta_0\, r^{\lfloor t / T \rfloor} .$$
#
# Write `exponential_decay(step, initial_lr, decay_steps, decay_rate, staircase=False)`.

# %%
def exponential_decay(step, initial_lr, decay_steps, decay_rate, staircase=False):
    """Keras ExponentialDecay: initial_lr * decay_rate ** (step / decay_steps), floored if staircase."""
    ### BEGIN SOLUTION: the exponent is step / decay_steps, or its whole part with staircase
    exponent = step / decay_steps
    if staircase:
        exponent = math.floor(exponent)
    return initial_lr * decay_rate ** exponent
    ### END SOLUTION


# %%
check("q2")

# %% [markdown]
# ## Q3 · Cosine annealing
#
# Half a cosine wave from $\eta_0$ at step 0 down to $\eta_{\min}$ at step $T$ (PyTorch
# `CosineAnnealingLR`; Keras `CosineDecay` is the same curve):
#
# $$\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})\, \frac{1 + \cos(\pi t / T)}{2}, \qquad 0 \le t \le T .$$
#
# Write `cosine_annealing(step, initial_lr, total_steps, min_lr=0.0)`.

# %%
def cosine_annealing(step, initial_lr, total_steps, min_lr=0.0):
    """PyTorch CosineAnnealingLR (closed form) for 0 <= step <= total_steps."""
    ### BEGIN SOLUTION: the cosine goes from 1 to -1 as step goes from 0 to total_steps
    progress = step / total_steps
    return min_lr + (initial_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    ### END SOLUTION


# %%
check("q3")

# %% [markdown]
# ## Q4 · Warm-up, then cosine
#
# Large models are often trained with a short linear **warm-up** from 0 before the decay, because a large
# rate on freshly initialised weights can blow up the first updates. Write
# `warmup_cosine(step, max_lr, warmup_steps, total_steps)` with the formula of Hugging Face's
# `get_cosine_schedule_with_warmup`:
#
# * for `step < warmup_steps`: $\eta_t = \eta_{\max}\, t / t_w$ (a rise from 0);
# * after that: $\eta_t = \eta_{\max}\, \frac{1 + \cos(\pi p)}{2}$ with $p = (t - t_w) / (T - t_w)$, the
#   fraction of the decay done.
#
# With `warmup_steps = 0` there is no warm-up.

# %%
def warmup_cosine(step, max_lr, warmup_steps, total_steps):
    """Linear warm-up from 0 to max_lr over warmup_steps, then cosine decay to 0 at total_steps."""
    ### BEGIN SOLUTION: two cases; in the second, measure progress from the end of the warm-up
    if step < warmup_steps:
        return max_lr * step / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return max_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    ### END SOLUTION


# %%
check("q4")

# %% [markdown]
# ## Q5 · Choosing the decay rate
#
# You want to decay exponentially, once per update, from `initial_lr` to `final_lr` over `steps` updates:
# $\eta_t = \eta_0 \gamma^t$ with $\eta_{\text{steps}} = $ `final_lr`. Write
# `decay_rate_for(initial_lr, final_lr, steps)` returning that $\gamma$.

# %%
def decay_rate_for(initial_lr, final_lr, steps):
    """The per-step factor gamma with initial_lr * gamma ** steps == final_lr."""
    ### BEGIN SOLUTION: solve for gamma; a root of the ratio
    return (final_lr / initial_lr) ** (1.0 / steps)
    ### END SOLUTION


# %%
check("q5")

# %% [markdown]
# ## Your schedules side by side, and the engine's
#
# The same budget of 100 updates, starting at 0.1. The engine's `lrcourse.schedules` gives the same
# numbers (its warm-up schedule is `LinearWarmup` around a `CosineDecay`).

# %%
from lrcourse import schedules

steps = np.arange(101)
curves = {
    "step (size 30, gamma 0.3)": [step_decay(t, 0.1, 30, 0.3) for t in steps],
    "exponential (0.5 per 25)": [exponential_decay(t, 0.1, 25, 0.5) for t in steps],
    "cosine to 0.001": [cosine_annealing(t, 0.1, 100, 0.001) for t in steps],
    "warm-up 10, cosine": [warmup_cosine(t, 0.1, 10, 100) for t in steps],
}
fig, ax = plt.subplots(figsize=(6, 3.5))
for label, lrs in curves.items():
    ax.plot(steps, lrs, label=label)
ax.set(title="Four decay schedules, one budget", xlabel="update (step)", ylabel="learning rate")
ax.legend()
plt.show()

engine = {
    "step (size 30, gamma 0.3)": schedules.StepDecay(0.1, step_size=30, gamma=0.3),
    "exponential (0.5 per 25)": schedules.ExponentialDecay(0.1, decay_steps=25, decay_rate=0.5),
    "cosine to 0.001": schedules.CosineDecay(0.1, decay_steps=100, alpha=0.001 / 0.1),
    "warm-up 10, cosine": schedules.LinearWarmup(schedules.CosineDecay(0.1, decay_steps=90), warmup_steps=10),
}
for label, schedule in engine.items():
    print(f"{label:<26} same as lrcourse.schedules: {np.allclose(curves[label], [schedule(t) for t in steps])}")
print(f"gamma to go from 0.1 to 0.001 in 100 steps: {decay_rate_for(0.1, 0.001, 100):.6f}")
