# %% [markdown]
# # Exercise 06 · The learning-rate range test
#
# Lesson 06 ran the range test (Smith 2017): train for a few hundred mini-batches while the learning rate
# grows from tiny to huge, one batch per value, and read a good learning rate off the loss curve. Here you
# write its parts: the sweep, the smoothing of the noisy losses, the rule that stops the sweep once the
# loss explodes, and two rules that suggest a learning rate. The conventions are those of
# `lrcourse.rangetest` (which follows pytorch-lr-finder and fastai), so at the end your functions are
# compared with it on a real run.
#
# Replace each `raise NotImplementedError(...)` with your code, run the cell, then its `check` cell.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from lrcourse.grading import checks_for

check = checks_for("06_lr_range_test")

# %% [markdown]
# ## Q1 · The sweep
#
# The learning rates grow geometrically, evenly spaced on a log axis, from `start_lr` to `end_lr` in
# `num_iter` values:
#
# $$\eta_i = \eta_{\text{start}} \left( \frac{\eta_{\text{end}}}{\eta_{\text{start}}} \right)^{i / (N - 1)},
#   \qquad i = 0, \dots, N - 1 .$$
#
# Write `sweep_lrs(start_lr, end_lr, num_iter)` returning them as an array.

# %%
def sweep_lrs(start_lr, end_lr, num_iter):
    """num_iter learning rates from start_lr to end_lr, evenly spaced on a log scale."""
    ### BEGIN SOLUTION: an exponent that goes from 0 to 1 in num_iter steps
    fraction = np.arange(num_iter) / (num_iter - 1)
    return start_lr * (end_lr / start_lr) ** fraction
    ### END SOLUTION


# %%
check("q1")

# %% [markdown]
# ## Q2 · Smoothing
#
# One mini-batch per learning rate makes the raw losses noisy. An exponential moving average smooths them:
#
# $$s_0 = \ell_0, \qquad s_i = f\, \ell_i + (1 - f)\, s_{i-1},$$
#
# where $f$ (`smooth_f`) is the weight of the newest loss ($f = 1$: no smoothing). Write
# `smooth_losses(losses, smooth_f)`.

# %%
def smooth_losses(losses, smooth_f):
    """Exponential moving average of the losses, starting at the first one."""
    ### BEGIN SOLUTION: a loop that carries the previous smoothed value
    smoothed = []
    for loss in losses:
        smoothed.append(loss if not smoothed else smooth_f * loss + (1 - smooth_f) * smoothed[-1])
    return np.array(smoothed)
    ### END SOLUTION


# %%
check("q2")

# %% [markdown]
# ## Q3 · When to stop
#
# Past the useful range the loss explodes, and there is no point training on. The sweep stops after the
# first point $i$ where the raw loss $\ell_i$ is not finite, or the smoothed loss exceeds `diverge_th`
# times the lowest smoothed loss so far, $s_i > \theta \min(s_0, \dots, s_i)$. That point is kept (it shows
# the blow-up). Write `sweep_length(losses, smooth_f, diverge_th)`: how many points the sweep keeps, smoothing
# as you go (`len(losses)` if it never stops).

# %%
def sweep_length(losses, smooth_f, diverge_th):
    """How many points a range test keeps: up to and including the first sign of divergence."""
    ### BEGIN SOLUTION: walk through the losses, keeping the smoothed value and its minimum so far
    best = math.inf
    for i, loss in enumerate(losses):
        smoothed = loss if i == 0 else smooth_f * loss + (1 - smooth_f) * smoothed
        best = min(best, smoothed)
        if not math.isfinite(loss) or smoothed > diverge_th * best:
            return i + 1
    return len(losses)
    ### END SOLUTION


# %%
check("q3")

# %% [markdown]
# ## Q4 · The "minimum" suggestion
#
# fastai's simplest rule: take the learning rate where the smoothed loss is lowest and divide it by 10
# (at the minimum the rate is already a bit too large for steady training). The first and last points are
# unreliable (the smoothing is still warming up; the loss is exploding), so look only at the points
# `skip_start` to `len(smoothed) - skip_end - 1`. Write
# `suggest_minimum(lrs, smoothed, skip_start, skip_end)`.

# %%
def suggest_minimum(lrs, smoothed, skip_start, skip_end):
    """A tenth of the lr at the lowest smoothed loss, ignoring the first skip_start and last skip_end points."""
    ### BEGIN SOLUTION: argmin over the window, then shift the index back by skip_start
    window = smoothed[skip_start:len(smoothed) - skip_end]
    best = skip_start + int(np.argmin(window))
    return float(lrs[best]) / 10
    ### END SOLUTION


# %%
check("q4")

# %% [markdown]
# ## Q5 · The "steepest" suggestion
#
# pytorch-lr-finder's rule: the learning rate where the loss falls fastest, i.e. where
# `np.gradient(window)` (the slope per point, in the same window as Q4) is most negative. Write
# `suggest_steepest(lrs, smoothed, skip_start, skip_end)`.

# %%
def suggest_steepest(lrs, smoothed, skip_start, skip_end):
    """The lr where the smoothed loss falls fastest, in the same window as suggest_minimum."""
    ### BEGIN SOLUTION: np.gradient of the window, its argmin, shifted back by skip_start
    slopes = np.gradient(np.asarray(smoothed[skip_start:len(smoothed) - skip_end], dtype=float))
    return float(lrs[skip_start + int(np.argmin(slopes))])
    ### END SOLUTION


# %%
check("q5")

# %% [markdown]
# ## A real range test, taken apart
#
# `lrcourse.rangetest.lr_range_test` runs the sweep on a small network and the digits data. Its raw
# losses, fed to your functions, give back its smoothed curve, its stopping point and its suggestions.

# %%
from lrcourse import data, losses, nn
from lrcourse.rangetest import lr_range_test

(X_train, y_train), _, _ = data.digits(rng=0)
model = nn.mlp([64, 32, 10], rng=0)
result = lr_range_test(model, losses.SoftmaxCrossEntropy(), X_train, y_train, start_lr=1e-5, end_lr=10.0,
                       num_iter=100, batch_size=32, smooth_f=0.05, diverge_th=5.0, repeats=1, rng=0)
raw = result.raw_losses[0]
smoothed = smooth_losses(raw, 0.05)
mine_minimum = suggest_minimum(result.lrs, smoothed, 100 // 10, 5)
mine_steepest = suggest_steepest(result.lrs, smoothed, 10, 5)
print("sweep:", np.allclose(sweep_lrs(1e-5, 10.0, 100)[:len(result.lrs)], result.lrs))
print("smoothing:", np.allclose(smoothed, result.losses))
print("stopping point:", sweep_length(raw, 0.05, 5.0) == len(result.lrs))
print("'minimum' suggestion:", np.isclose(mine_minimum, result.suggest("minimum")))
print("'steepest' suggestion:", np.isclose(mine_steepest, result.suggest("steepest")))

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogx(result.lrs, raw, color="lightgray", label="raw loss")
ax.semilogx(result.lrs, smoothed, label="smoothed loss")
ax.axvline(mine_minimum, color="tab:green", linestyle="--", label="'minimum' suggestion")
ax.axvline(mine_steepest, color="tab:red", linestyle=":", label="'steepest' suggestion")
ax.set(title="Range test on digits", xlabel="learning rate (log scale)", ylabel="training loss")
ax.legend()
plt.show()
