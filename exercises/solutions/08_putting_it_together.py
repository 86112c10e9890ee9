# %% [markdown]
# # Exercise 08 · Putting it together
#
# Lesson 08 assembled a recipe: find a learning rate with a range test, train with a schedule, watch the
# validation loss, and change the batch size with the learning rate in mind. Here you write the rules
# behind those decisions: the scaling rule for the batch size, early stopping and reduce-on-plateau with
# the exact semantics of Keras (and `lrcourse.callbacks`), and finally a complete small recipe.
#
# Replace each `raise NotImplementedError(...)` with your code, run the cell, then its `check` cell.

# %%
import math

import numpy as np

from lrcourse.grading import checks_for

check = checks_for("08_putting_it_together")

# %% [markdown]
# ## Q1 · Batch size and learning rate
#
# A larger batch gives a less noisy gradient, so it can take a larger step. Two rules are in use for a
# learning rate tuned at batch size $B_0$ and reused at batch size $B$:
#
# * `"linear"` (Goyal et al. 2017): $\eta = \eta_0 \cdot B / B_0$;
# * `"sqrt"` (Krizhevsky 2014; Hoffer et al. 2017): $\eta = \eta_0 \sqrt{B / B_0}$, which keeps the variance of the
#   update the same.
#
# Write `scale_lr(base_lr, base_batch_size, batch_size, rule)`.

# %%
def scale_lr(base_lr, base_batch_size, batch_size, rule):
    """The learning rate for batch_size, from base_lr tuned at base_batch_size ('linear' or 'sqrt' rule)."""
    ### BEGIN SOLUTION: the ratio batch_size / base_batch_size, or its square root
    ratio = batch_size / base_batch_size
    if rule == "linear":
        return base_lr * ratio
    if rule == "sqrt":
        return base_lr * math.sqrt(ratio)
    raise ValueError(f"rule must be 'linear' or 'sqrt', got {rule!r}")
    ### END SOLUTION


# %%
check("q1")

# %% [markdown]
# ## Q2 · Early stopping (2 points)
#
# Keras' `EarlyStopping(patience, min_delta)` looks at the validation loss after every epoch. It keeps a
# counter `wait` and the best loss so far (initially $+\infty$). At the end of each epoch:
#
# 1. `wait += 1`;
# 2. if `loss + min_delta < best`, it is an improvement: `best = loss`, remember this epoch as the best one,
#    `wait = 0`, and go on to the next epoch;
# 3. otherwise, if `wait >= patience` and this is not epoch 0, training stops after this epoch.
#
# Write `early_stopping(val_losses, patience, min_delta)` that replays this rule over the given losses
# (epoch 0 first) and returns `(stopped_epoch, best_epoch)`, with `stopped_epoch = None` if training
# would run through all the epochs.

# %%
def early_stopping(val_losses, patience, min_delta):
    """(stopped_epoch or None, best_epoch) of Keras' EarlyStopping on these validation losses."""
    ### BEGIN SOLUTION: follow the three steps literally, in that order
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        wait += 1
        if loss + min_delta < best:
            best, best_epoch, wait = loss, epoch, 0
        elif wait >= patience and epoch > 0:
            return epoch, best_epoch
    return None, best_epoch
    ### END SOLUTION


# %%
check("q2")

# %% [markdown]
# ## Q3 · Reduce on plateau (2 points)
#
# Instead of stopping, `ReduceLROnPlateau` lowers the learning rate when the validation loss stalls.
# Keras' rule, with `min_delta = 0` and no cooldown: keep `best` (initially $+\infty$) and a counter
# `wait = 0`; after each epoch,
#
# * if `loss < best`: `best = loss`, `wait = 0`;
# * otherwise `wait += 1`, and if `wait >= patience` and `lr > min_lr`:
#   `lr = max(lr * factor, min_lr)` and `wait = 0`.
#
# Write `plateau_lrs(val_losses, lr, factor, patience, min_lr)` returning an array with the learning rate
# in use after each epoch's check.

# %%
def plateau_lrs(val_losses, lr, factor, patience, min_lr):
    """The lr after each epoch under Keras' ReduceLROnPlateau (min_delta=0, cooldown=0)."""
    ### BEGIN SOLUTION: one pass over the losses, appending the lr after each epoch
    best, wait = math.inf, 0
    lrs = []
    for loss in val_losses:
        if loss < best:
            best, wait = loss, 0
        else:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                wait = 0
        lrs.append(lr)
    return np.array(lrs)
    ### END SOLUTION


# %%
check("q3")

# %% [markdown]
# ## Q4 · From a range test to a schedule
#
# A recipe in one line: take the range test's smoothed curve, use a tenth of the learning rate at its
# lowest point as the peak (the "minimum" rule of exercise 06, here on the whole curve), and train with a
# one-cycle schedule (exercise 07, PyTorch's defaults: `pct_start=0.3`, `div_factor=25`,
# `final_div_factor=1e4`). Write `one_cycle_recipe(lrs, smoothed, total_steps)` returning the array of the
# `total_steps` learning rates, one per update. You may reuse your code from exercise 07, or
# `lrcourse.schedules.OneCycle`.

# %%
def one_cycle_recipe(lrs, smoothed, total_steps):
    """One-cycle learning rates for total_steps updates, peaking at a tenth of the range test's best lr."""
    ### BEGIN SOLUTION: pick max_lr from the curve, then evaluate a one-cycle schedule at every step
    from lrcourse.schedules import OneCycle

    max_lr = float(lrs[np.argmin(smoothed)]) / 10
    return OneCycle(max_lr, total_steps=total_steps)(np.arange(total_steps))
    ### END SOLUTION


# %%
check("q4")

# %% [markdown]
# ## Q5 · Training with a schedule (2 points)
#
# Last, the loop of exercise 01 with a schedule in it: logistic regression, $p = \sigma(Xw + b)$ with
# $\sigma(z) = 1 / (1 + e^{-z})$, trained by full-batch gradient descent on the mean binary cross-entropy.
# Its gradients are $\nabla_w L = X^\top (p - y) / N$ and $\partial L / \partial b = \text{mean}(p - y)$.
# Write `train_logistic_regression(X, y, lrs)`: start from $w = 0$, $b = 0$, do one update per entry
# of `lrs` with that learning rate, and return `(w, b)`.

# %%
def train_logistic_regression(X, y, lrs):
    """(w, b) of logistic regression after one full-batch gradient step per learning rate in lrs."""
    ### BEGIN SOLUTION: the loop of exercise 01, with the sigmoid and a learning rate that changes each step
    w, b = np.zeros(X.shape[1]), 0.0
    for lr in lrs:
        error = 1.0 / (1.0 + np.exp(-(X @ w + b))) - y
        w, b = w - lr * X.T @ error / len(y), b - lr * error.mean()
    return w, float(b)
    ### END SOLUTION


# %%
check("q5")

# %% [markdown]
# ## Your rules and the engine's callbacks
#
# `lrcourse.callbacks` implements the same two rules for `fit`. Replaying a validation curve through
# them gives your numbers.

# %%
from types import SimpleNamespace

from lrcourse.callbacks import EarlyStopping, ReduceLROnPlateau
from lrcourse.nn import Parameter
from lrcourse.optim import SGD

val_losses = [0.9, 0.7, 0.65, 0.66, 0.64, 0.645, 0.65, 0.66, 0.63, 0.64, 0.65, 0.66]
stopper = EarlyStopping(patience=2, min_delta=0.001)
stopper.model = SimpleNamespace(stop_training=False)
stopper.on_train_begin()
for epoch, loss in enumerate(val_losses):
    stopper.on_epoch_end(epoch, {"val_loss": loss})
    if stopper.model.stop_training:
        break
print("early stopping, engine:", (epoch, stopper.best_epoch), " yours:", early_stopping(val_losses, 2, 0.001))

plateau = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.0)
plateau.optimizer = SGD([Parameter(np.zeros(1))], lr=0.1)
plateau.on_train_begin()
engine_lrs = []
for epoch, loss in enumerate(val_losses):
    plateau.on_epoch_end(epoch, {"val_loss": loss})
    engine_lrs.append(plateau.optimizer.lr)
print("reduce on plateau, same lrs as the engine:", np.allclose(engine_lrs, plateau_lrs(val_losses, 0.1, 0.5, 2, 0.0)))

# %% [markdown]
# ## The recipe on the two-moons data
#
# A crude range test for logistic regression (the loss after 5 updates from scratch, for each learning
# rate), the one-cycle recipe built from it, and 200 updates with it, next to constant rates.

# %%
from lrcourse.data import moons

X, y = moons(n_samples=400, noise=0.2, rng=0)


def bce(w, b):
    p = np.clip(1 / (1 + np.exp(-(X @ w + b))), 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


range_lrs = np.geomspace(1e-3, 1e3, 61)
with np.errstate(over="ignore"):  # the largest rates overflow exp(); that is the point of the sweep
    range_losses = np.array([bce(*train_logistic_regression(X, y, np.full(5, lr))) for lr in range_lrs])
schedule = one_cycle_recipe(range_lrs, range_losses, 200)
peak = schedule.max()
runs = {"constant, peak / 10": np.full(200, peak / 10), "one-cycle": schedule,
        "constant, peak": np.full(200, peak), "constant, 10 x peak": np.full(200, 10 * peak)}
for label, lrs in runs.items():
    print(f"{label:<20} (max lr {lrs.max():6.3f}): training loss after 200 updates {bce(*train_logistic_regression(X, y, lrs)):.4f}")

# %% [markdown]
# Logistic regression is convex and forgiving: here even the rate at the range test's minimum (10 x the
# peak) converges, and converges fastest. The factor 10 of the recipe is a safety margin for neural
# networks, whose losses punish a rate that is a little too large far more harshly (lesson 08).
