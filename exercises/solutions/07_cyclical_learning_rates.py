# %% [markdown]
# # Exercise 07 · Cyclical learning rates
#
# Lesson 07 let the learning rate go up and down: cyclical schedules (Smith 2017) and the one-cycle policy
# (Smith & Topin 2018). Here you write them with the exact formulas of PyTorch's `CyclicLR` and
# `OneCycleLR`, as functions of `step`, the number of updates done so far.
#
# The cyclical schedules share one triangle wave. With `step_size` updates up and as many down,
#
# $$\text{cycle} = \left\lfloor 1 + \frac{t}{2 s} \right\rfloor, \qquad
#   x = \left| \frac{t}{s} - 2\,\text{cycle} + 1 \right|, \qquad
#   \eta_t = \eta_{\text{base}} + (\eta_{\max} - \eta_{\text{base}}) \max(0, 1 - x) \cdot \text{scale},$$
#
# where `cycle` counts cycles from 1, $x$ is 1 at the bottom of the wave and 0 at its top, and `scale` is
# what distinguishes the three modes.
#
# Replace each `raise NotImplementedError(...)` with your code, run the cell, then its `check` cell.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from lrcourse.grading import checks_for

check = checks_for("07_cyclical_learning_rates")

# %% [markdown]
# ## Q1 · triangular
#
# The plain wave, `scale = 1`. Write `triangular(step, base_lr, max_lr, step_size)`.

# %%
def triangular(step, base_lr, max_lr, step_size):
    """PyTorch CyclicLR, mode 'triangular'."""
    ### BEGIN SOLUTION: compute cycle, then x, then the formula above
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)
    ### END SOLUTION


# %%
check("q1")

# %% [markdown]
# ## Q2 · triangular2
#
# The same wave, its height halved every cycle: `scale` $= 1 / 2^{\text{cycle} - 1}$. Write
# `triangular2(step, base_lr, max_lr, step_size)`.

# %%
def triangular2(step, base_lr, max_lr, step_size):
    """PyTorch CyclicLR, mode 'triangular2'."""
    ### BEGIN SOLUTION: Q1's wave times a scale that depends on the cycle
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x) / 2 ** (cycle - 1)
    ### END SOLUTION


# %%
check("q2")

# %% [markdown]
# ## Q3 · exp_range
#
# The height shrinks a little every *update*: `scale` $= \gamma^{t}$. Write
# `exp_range(step, base_lr, max_lr, step_size, gamma)`.

# %%
def exp_range(step, base_lr, max_lr, step_size, gamma):
    """PyTorch CyclicLR, mode 'exp_range' (scale_mode 'iterations')."""
    ### BEGIN SOLUTION: Q1's wave times gamma ** step
    return base_lr + (triangular(step, base_lr, max_lr, step_size) - base_lr) * gamma ** step
    ### END SOLUTION


# %%
check("q3")

# %% [markdown]
# ## Q4 · The one-cycle learning rate (2 points)
#
# One cycle over the whole run, in two phases, each annealed along half a cosine,
# $\text{anneal}(a, b, p) = b + (a - b)\,(1 + \cos \pi p) / 2$, from $a$ at $p = 0$ to $b$ at $p = 1$:
#
# 1. from $\eta_{\max} / d$ (`div_factor` $d$) up to $\eta_{\max}$, from step 0 to step
#    $e_1 = p_s T - 1$ ($p_s$ = `pct_start`, $T$ = `total_steps`);
# 2. from $\eta_{\max}$ down to $\eta_{\max} / (d \cdot d_f)$ (`final_div_factor` $d_f$), from step $e_1$ to step
#    $e_2 = T - 1$.
#
# In each phase $p = (t - \text{start}) / (\text{end} - \text{start})$; a step belongs to phase 1 if
# $t \le e_1$. Write `one_cycle(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
# final_div_factor=1e4)` with PyTorch's defaults.

# %%
def one_cycle(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """PyTorch OneCycleLR (cosine annealing, two phases) for 0 <= step < total_steps."""
    ### BEGIN SOLUTION: find the phase, its fraction p, then anneal between the phase's two rates
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    end_up = pct_start * total_steps - 1
    end_down = total_steps - 1

    def anneal(start, end, pct):
        return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)

    if step <= end_up:
        return anneal(initial_lr, max_lr, step / end_up)
    return anneal(max_lr, min_lr, (step - end_up) / (end_down - end_up))
    ### END SOLUTION


# %%
check("q4")

# %% [markdown]
# ## Q5 · The one-cycle momentum
#
# While the learning rate rises, one-cycle lowers the momentum, and raises it again as the rate falls:
# the same two phases, from `max_momentum` down to `base_momentum`, then back up. Write
# `one_cycle_momentum(step, total_steps, pct_start=0.3, base_momentum=0.85, max_momentum=0.95)`.

# %%
def one_cycle_momentum(step, total_steps, pct_start=0.3, base_momentum=0.85, max_momentum=0.95):
    """The momentum of PyTorch OneCycleLR(cycle_momentum=True)."""
    ### BEGIN SOLUTION: Q4's phases and annealing, with the momentum values
    end_up = pct_start * total_steps - 1
    if step <= end_up:
        pct, start, end = step / end_up, max_momentum, base_momentum
    else:
        pct, start, end = (step - end_up) / (total_steps - 1 - end_up), base_momentum, max_momentum
    return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
    ### END SOLUTION


# %%
check("q5")

# %% [markdown]
# ## The shapes, and the engine's numbers
#
# Your three cyclical modes over five cycles, and one-cycle over a run of 1000 updates. The engine's
# `CyclicLR` and `OneCycle` give the same values.

# %%
from lrcourse.schedules import CyclicLR, OneCycle

steps = np.arange(20_001)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
for mode, function in (("triangular", triangular), ("triangular2", triangular2)):
    left.plot(steps, [function(t, 0.001, 0.006, 2000) for t in steps], label=mode)
left.plot(steps, [exp_range(t, 0.001, 0.006, 2000, 0.99994) for t in steps], label="exp_range")
left.set(title="Cyclical learning rates", xlabel="update (step)", ylabel="learning rate")
left.legend()
run = np.arange(1000)
right.plot(run, [one_cycle(t, 0.1, 1000) for t in run], label="learning rate")
twin = right.twinx()
twin.plot(run, [one_cycle_momentum(t, 1000) for t in run], color="tab:orange", label="momentum")
right.set(title="One cycle", xlabel="update (step)", ylabel="learning rate")
twin.set_ylabel("momentum")
right.legend(loc="upper right")
twin.legend(loc="center right")
fig.tight_layout()
plt.show()

for mode, function in (("triangular", triangular), ("triangular2", triangular2)):
    engine = CyclicLR(0.001, 0.006, step_size_up=2000, mode=mode)
    print(f"{mode:<12} same as lrcourse.schedules:",
          np.allclose([function(t, 0.001, 0.006, 2000) for t in steps[::7]], engine(steps[::7])))
engine = OneCycle(0.1, total_steps=1000)
print("one_cycle    same as lrcourse.schedules:", np.allclose([one_cycle(t, 0.1, 1000) for t in run], engine(run)))
print("momentum     same as lrcourse.schedules:",
      np.allclose([one_cycle_momentum(t, 1000) for t in run], engine.momentum_schedule()(run)))
