# %% [markdown]
# # 06 · The learning-rate range test
#
# Lesson 05 ended with a rule: find a good range of learning rates first, then schedule within it.
# The obvious way is a grid search: train the model once per candidate rate and compare. It works,
# and it costs a full training run per candidate. Leslie Smith (2017, *Cyclical Learning Rates for
# Training Neural Networks*, section 3.3) proposed something much cheaper, the **learning-rate range
# test**: a *single* short run in which the rate grows from tiny to huge, while we watch the loss.
# While the rate is too small the loss hardly moves; in the useful range it falls; once the rate is too
# large it rises and finally explodes. One run, a few seconds, and the plot shows the whole range.
#
# Smith let the rate grow linearly over a few epochs and plotted the accuracy. The form used by
# fastai's `lr_find` and the `pytorch-lr-finder` package, and by `lrcourse.rangetest.lr_range_test`,
# grows it *exponentially*, one mini-batch per rate, and plots the (smoothed) training loss. This
# lesson runs it on the digits and asks how far one can trust it:
#
# 1. the sweep, and 2. how to read the curve;
# 3. smoothing, and the delay it introduces;
# 4. repeats: how much the curve and its suggestions change from one run to the next;
# 5. the three suggestion rules (steepest, minimum, valley), where they disagree, and which of their
#    suggestions actually trains well;
# 6. what else moves the curve (the length of the sweep, the optimizer);
# 7. choosing the two bounds of a cyclical schedule (lesson 07);
# 8. proof that the test leaves the model exactly as it found it.

# %%
import functools

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

import lrcourse
from lrcourse import SGD, SoftmaxCrossEntropy, fit, mlp, plot
from lrcourse.rangetest import lr_range_test, range_test_lrs

threadpool_limits(1)  # the matrices here are tiny: one BLAS thread is faster than several

(X_train, y_train), (X_val, y_val), (X_test, y_test) = lrcourse.data.digits(rng=0)
loss = SoftmaxCrossEntropy()
SGD_MOMENTUM = functools.partial(SGD, momentum=0.9)  # the optimizer lessons 05-08 train with

# %% [markdown]
# ## 1. The sweep
#
# With $N$ iterations from `start_lr` $\eta_{\min}$ to `end_lr` $\eta_{\max}$, iteration $i$
# ($0 \le i < N$) uses
#
# $$\eta_i = \eta_{\min} \left(\frac{\eta_{\max}}{\eta_{\min}}\right)^{i/(N-1)},$$
#
# evenly spaced on a log axis, so every decade gets the same number of points. Each iteration takes
# the next mini-batch, records its loss $\ell_i$ *before* updating, and then makes one update with
# $\eta_i$. From $10^{-5}$ to $10$ in 100 iterations the rate grows by a factor
# $10^{6/99} \approx 1.15$ per iteration:

# %%
lrs = range_test_lrs(1e-5, 10.0, 100)
print(f"{len(lrs)} rates, first {lrs[0]:g}, last {lrs[-1]:g}, ratio between neighbours {lrs[1] / lrs[0]:.4f}")
print("every 11th:", np.round(lrs[::11], 6).tolist())

# %% [markdown]
# The model is the network of lesson 05, `mlp([64, 64, 10])`, trained by SGD with momentum 0.9 on
# batches of 32: the range test must use the optimizer that will do the training (section 6 shows
# why). 100 iterations of 32 images are about three passes over the 1,077 training images.

# %%
model = mlp([64, 64, 10], rng=0)
result = lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, start_lr=1e-5, end_lr=10.0,
                       num_iter=100, batch_size=32, rng=0)
print(result)

# %% [markdown]
# The sweep would stop early once the smoothed loss exceeded 5 times its lowest value so far
# (`diverge_th=5`): past that point it only draws a wall. This one ran all 100 iterations, up to
# $\eta = 10$ (the stopping rule does trigger in some of the sweeps below).
#
# ## 2. Reading the curve
#
# The grey line is the loss of each mini-batch, the blue line its smoothed version (next section).

# %%
smoothed = result.losses
start_loss = smoothed[0]
learning_starts = int(np.argmax(smoothed < 0.9 * start_loss))  # first point 10 % below the start
lowest = int(np.argmin(smoothed))
print(f"loss at the start:           {start_loss:.3f}")
print(f"first 10 % below the start:  lr = {result.lrs[learning_starts]:.2g} (iteration {learning_starts})")
print(f"lowest smoothed loss:        {smoothed[lowest]:.3f} at lr = {result.lrs[lowest]:.2g} (iteration {lowest})")
print(f"last point of the sweep:      lr = {result.lrs[-1]:.2g} (iteration {len(result.lrs) - 1}), "
      f"smoothed loss {smoothed[-1]:.3f}")
assert not result.stopped_early and smoothed[-1] > start_loss

# %%
ax = plot.range_test(result, suggestions=())
ax.axvspan(result.lrs[0], result.lrs[learning_starts], color="0.85", alpha=0.5, label="too small: flat")
ax.axvspan(result.lrs[learning_starts], result.lrs[lowest], color="C2", alpha=0.12, label="useful: loss falls")
ax.axvspan(result.lrs[lowest], result.lrs[-1], color="C3", alpha=0.12, label="too large: loss rises")
ax.set_title("Range test on digits: mlp([64, 64, 10]), SGD momentum 0.9, one sweep")
ax.legend(loc="lower left", fontsize=8)
plt.show()

# %% [markdown]
# Three regions, as Smith describes them:
#
# - **too small** (left, up to about 0.008): the loss hardly moves from its initial value, about 2.6 for
#   these random weights: less than 10 % lower after 48 updates, almost half of the sweep;
# - **useful** (middle, about 0.008 to 0.35): the loss falls, and faster the larger the rate;
# - **too large** (right, above 0.35): the loss turns up and at $\eta = 10$ is back above where it
#   started; training with such a rate diverges.
#
# Two warnings before using the plot. First, the x axis is also a time axis: the loss at $\eta_i$ is the
# loss after $i$ updates made with all the smaller rates, so the curve mixes "which rate" with "how long
# it has trained". Second, each rate is used for a single batch, so the curve shows what a rate does
# for one step from the current weights, not over a whole training run.
#
# ## 3. Smoothing, and its delay
#
# Mini-batch losses are noisy (the grey line), so the test reports an exponential moving average,
#
# $$s_0 = \ell_0, \qquad s_i = f\,\ell_i + (1 - f)\, s_{i-1},$$
#
# with `smooth_f` $f = 0.05$ by default (pytorch-lr-finder's default; fastai's $\beta = 0.98$ is
# $f = 0.02$). An average over the past lags behind: $s_i$ gives weight $f(1-f)^k$ to the loss $k$
# iterations back, so its mean age is $(1 - f)/f$ iterations, 19 for $f = 0.05$. On our sweep 19
# iterations are a factor $1.15^{19} \approx 14$ in learning rate. The smoothed curve is therefore
# shifted to the right of the raw one, by more the heavier the smoothing.
#
# Smoothing does not change the sweep itself (only where it stops), so to compare we turn the stopping
# rule off (`diverge_th=1e9`) and sweep with the same batches for several values of $f$:

# %%
no_stop = dict(optimizer=SGD_MOMENTUM, start_lr=1e-5, end_lr=10.0, num_iter=100, rng=0, diverge_th=1e9)
by_smoothing = {f: lr_range_test(model, loss, X_train, y_train, smooth_f=f, **no_stop) for f in (1.0, 0.3, 0.05, 0.02)}
raw = by_smoothing[1.0].losses  # f = 1: no smoothing at all
assert all(np.array_equal(r.raw_losses[0], raw) for r in by_smoothing.values())  # the same sweep each time
raw_min = int(np.argmin(raw))
print(f"{'smooth_f':>9s} {'mean age of s_i':>16s} {'lr at lowest s':>15s} {'shift vs raw':>13s}")
shifts = {}
for f, r in by_smoothing.items():
    index = int(np.argmin(r.losses))
    shifts[f] = r.lrs[index] / r.lrs[raw_min]
    print(f"{f:9.2f} {(1 - f) / f:13.0f} it {r.lrs[index]:15.3g} {shifts[f]:12.2f}x")

# %%
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
for f, r in by_smoothing.items():
    ax.plot(r.lrs, r.losses, label=f"smooth_f = {f}" + (" (raw batch losses)" if f == 1.0 else ""),
            linewidth=0.8 if f == 1.0 else 1.8, color="0.6" if f == 1.0 else None)
ax.set(xscale="log", ylim=(0, 3.5), xlabel="learning rate (log scale)", ylabel="loss",
       title="The same sweep smoothed four ways (stopping rule off)")
ax.legend()
plt.show()

# %%
assert shifts[0.02] > 5 and 1.0 < shifts[0.05] < 2 and shifts[0.3] == shifts[0.05]

# %% [markdown]
# Every smoothing moves the minimum to the right of the raw one. The mean-age estimate (a factor 14
# for $f = 0.05$) is a worst case: when the loss turns up steeply it drags even a smoothed average up
# within a few iterations, and the measured shift is only 1.3x for $f = 0.3$ and $0.05$. Heavier
# smoothing does lag far: with $f = 0.02$ the minimum lands 7 times to the right, at a rate where the
# raw loss is already rising. So the minimum of a smoothed curve is an *optimistic* estimate of the
# largest usable rate, and the rules of section 5 that back off from it (by a factor 10 for `minimum`)
# also absorb this delay.
#
# ## 4. One sweep is one sample
#
# The curve depends on which batches the sweep happened to see. `repeats=5` runs the sweep five times
# from the same initial weights with different batch orders. First, five single sweeps (seeds 0 to 4 for
# the batch order), and what each suggestion rule makes of each:

# %%
METHODS = ("steepest", "minimum", "valley")
single_sweeps = [lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, start_lr=1e-5,
                               end_lr=10.0, num_iter=100, rng=seed) for seed in range(5)]
print(f"{'sweep':>6s} {'points':>7s}" + "".join(f"{m:>11s}" for m in METHODS))
single_suggestions = {m: [] for m in METHODS}
for seed, r in enumerate(single_sweeps):
    for m in METHODS:
        single_suggestions[m].append(r.suggest(m))
    print(f"{seed:6d} {len(r.lrs):7d}" + "".join(f"{r.suggest(m):11.3g}" for m in METHODS))
spread = {m: max(v) / min(v) for m, v in single_suggestions.items()}
assert sum(r.stopped_early for r in single_sweeps) == 3
assert spread["steepest"] < 1.5 and min(spread["minimum"], spread["valley"]) > 3
print(f"{'max/min':>14s}" + "".join(f"{spread[m]:10.1f}x" for m in METHODS))

# %% [markdown]
# The same model, the same data, only the batch order changed, and a single sweep's suggestion moves
# by the factor in the last row: by 1.3x for `steepest`, but by about 4x for `minimum` and `valley`
# (on this model `steepest` was the stable rule; with other models it can be the jumpy one, since a
# derivative of a noisy curve is noisier than the curve). A factor of 1.3 is harmless, a rate is only
# ever chosen to within a factor of about 2; a factor of 4 can be the difference between a good rate
# and a poor one. Three of the five sweeps also hit the stopping rule, at different rates.
#
# With `repeats=5` the test averages the five smoothed curves over the rates that *every* repeat
# reached (so one repeat's early divergence does not dominate the mean) and reports their standard
# deviation, drawn as a band:

# %%
repeated = lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, start_lr=1e-5, end_lr=10.0,
                         num_iter=100, repeats=5, rng=0)
print(repeated)
suggestions = {m: repeated.suggest(m) for m in METHODS}
for m, lr in suggestions.items():
    print(f"{m:>9s}: {lr:.3g}")
ax = repeated.plot()
ax.set_title("Range test, mean of 5 sweeps (band: ± 1 std), with the three suggestions")
plt.show()

# %% [markdown]
# ## 5. Three rules, three answers
#
# A curve is not a number; three rules turn it into one:
#
# - **steepest** (pytorch-lr-finder): the rate where the smoothed loss falls fastest per iteration, the
#   most negative `np.gradient` of the curve, ignoring the first 10 and last 5 points;
# - **minimum** (fastai): a tenth of the rate at the lowest smoothed loss. The factor 10 keeps well clear
#   of the wall, and also undoes the delay of the smoothing;
# - **valley** (fastai's default since 2021): the longest stretch over which the loss keeps
#   decreasing, and a point about two thirds of the way down it.
#
# `minimum` and `valley` ignore the first `num_iter // 10` and the last 5 points. On the averaged curve
# above the three rules span this factor:

# %%
disagreement = max(suggestions.values()) / min(suggestions.values())
print(f"largest / smallest suggestion: {disagreement:.0f}x")

# %% [markdown]
# They disagree by more than an order of magnitude. Which one is right? The range test is a shortcut
# for a grid search, so we can check it against one: train the network for 20 epochs (680 updates) with
# a *constant* rate, for a grid of rates a factor of about 3 apart and for each suggestion, three seeds
# each (the seed fixes the initial weights and the batch order), and compare the validation results.

# %%
EPOCHS = 20
SEEDS = range(3)


def final_validation(lr, seed):
    model = mlp([64, 64, 10], rng=seed)
    history = fit(model, loss, SGD(model.parameters(), lr=lr, momentum=0.9), X_train, y_train, epochs=EPOCHS,
                  batch_size=32, validation_data=(X_val, y_val), rng=seed)
    return history.history["val_accuracy"][-1], history.history["val_loss"][-1]


candidates = {f"grid {lr:g}": lr for lr in (0.01, 0.03, 0.1, 0.3, 1.0)}
candidates.update({f"{m} ({lr:.3g})": lr for m, lr in suggestions.items()})
scores = {name: [] for name in candidates}
for name, seed in tqdm([(name, seed) for name in candidates for seed in SEEDS], desc="runs"):
    scores[name].append(final_validation(candidates[name], seed))
scores = {name: np.array(values) for name, values in scores.items()}
print(f"{'constant rate':22s} {'val accuracy':>15s} {'val loss':>15s}")
for name, values in scores.items():
    acc, val_loss = values[:, 0], values[:, 1]
    print(f"{name:22s} {acc.mean():7.3f} ± {acc.std(ddof=1):.3f} {val_loss.mean():7.3f} ± {val_loss.std(ddof=1):.3f}")
print(f"mean ± std over {len(SEEDS)} seeds, {EPOCHS} epochs at a constant rate")

# %%
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
grid = [(lr, scores[name]) for name, lr in candidates.items() if name.startswith("grid")]
ax.errorbar([lr for lr, _ in grid], [s[:, 1].mean() for _, s in grid], yerr=[s[:, 1].std(ddof=1) for _, s in grid],
            marker="o", capsize=3, color="C0", label="grid of constant rates")
for m, color in zip(METHODS, ("C1", "C2", "C3")):
    s = scores[f"{m} ({suggestions[m]:.3g})"][:, 1]
    ax.errorbar([suggestions[m]], [s.mean()], yerr=[s.std(ddof=1)], marker="s", capsize=3, color=color,
                linestyle="none", label=f"suggestion '{m}'")
ax.set(xscale="log", yscale="log", xlabel="constant learning rate (log scale)",
       ylabel="validation loss after 20 epochs (log scale)",
       title="Does the suggested rate train well? (mean ± std over 3 seeds)")
ax.legend()
plt.show()

# %%
grid_loss = {lr: scores[name][:, 1].mean() for name, lr in candidates.items() if name.startswith("grid")}
suggestion_loss = {m: scores[f"{m} ({suggestions[m]:.3g})"][:, 1].mean() for m in METHODS}
best_grid_lr = min(grid_loss, key=grid_loss.get)
print(f"best rate of the grid: {best_grid_lr:g} (val loss {grid_loss[best_grid_lr]:.3f})")
for m in METHODS:
    print(f"{m:>9s}: {suggestions[m]:.3g} = {suggestions[m] / best_grid_lr:.2f} x the best grid rate, "
          f"val loss {suggestion_loss[m]:.3f}")

# %%
grid_std = {lr: scores[name][:, 1].std(ddof=1) for name, lr in candidates.items() if name.startswith("grid")}
for m in ("steepest", "minimum"):  # within one standard deviation of the best grid rate
    assert suggestion_loss[m] - grid_loss[best_grid_lr] < grid_std[best_grid_lr]
assert suggestion_loss["valley"] > max(grid_loss[0.03], grid_loss[0.1])
accuracies = {name: values[:, 0].mean() for name, values in scores.items()}
assert max(accuracies, key=accuracies.get).startswith("steepest")
assert suggestions["minimum"] < best_grid_lr < suggestions["steepest"]
assert grid_std[0.3] > 10 * grid_std[0.1] and accuracies["grid 1"] < 0.2
assert 10 < best_grid_lr / suggestions["valley"] < 20

# %% [markdown]
# On this model and budget:
#
# - **`steepest` and `minimum` bracket the best rate of the grid** (0.1): one is twice as large, the
#   other half as large, and both train as well as it, within one standard deviation. `steepest`'s
#   rate gave the highest mean accuracy of the table (0.972).
# - **`valley` is far too cautious for this use**: its rate, 14 times smaller than the best, still
#   trains safely, but after 20 epochs its validation loss (0.206) is worse than that of the grid's
#   0.03 and 0.1. A slow rate is not a bad rate for a longer run, but here it wastes the budget.
# - The grid's 1.0, just to the right of the curve's minimum, does not train at all; the 0.3 is
#   already unreliable (the spread of its validation loss over seeds is more than ten times that of 0.1).
#
# So the range test did what it promises: two of its three rules found, in a few hundred mini-batches,
# a rate as good as the best of a grid that cost 15 training runs. Which rule to trust is not settled
# by the curve itself; on this problem the honest answer is "the range between `minimum` and
# `steepest`", which is exactly what a cyclical schedule uses (section 7).
#
# ## 6. The curve depends on how it was measured
#
# Because the x axis is also a time axis, the same model gives a different curve when the sweep is
# longer or shorter. And because the curve measures what one *update* does, it depends on the
# optimizer. Two quick measurements, three repeats each:

# %%
print(f"{'sweep':42s} {'lr at lowest loss':>18s} {'minimum':>9s} {'valley':>9s}")
by_length = {}
for num_iter in (30, 100, 300, 1000):
    r = lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, start_lr=1e-5, end_lr=10.0,
                      num_iter=num_iter, repeats=3, rng=0)
    by_length[num_iter] = r.lrs[np.argmin(r.losses)]
    print(f"{'SGD momentum 0.9, ' + str(num_iter) + ' iterations':42s} {by_length[num_iter]:18.3g} "
          f"{r.suggest('minimum'):9.3g} {r.suggest('valley'):9.3g}")
plain = lr_range_test(model, loss, X_train, y_train, optimizer=SGD, start_lr=1e-5, end_lr=10.0, num_iter=100,
                      repeats=3, rng=0)
plain_lowest = plain.lrs[np.argmin(plain.losses)]
momentum_lowest = by_length[100]
print(f"{'plain SGD (no momentum), 100 iterations':42s} {plain_lowest:18.3g} {plain.suggest('minimum'):9.3g} "
      f"{plain.suggest('valley'):9.3g}")

# %%
assert by_length[1000] < by_length[100] < by_length[30]
assert 1.5 < plain_lowest / momentum_lowest < 5
print(f"lowest point, plain SGD / momentum 0.9: {plain_lowest / momentum_lowest:.1f}x; "
      f"30 / 1000 iterations: {by_length[30] / by_length[1000]:.0f}x")

# %% [markdown]
# - **Sweep length.** The longer the sweep, the further left the minimum: about 0.9 after 30
#   iterations, 0.1 after 1,000. In a long sweep the model has already learned a lot by the time the rate
#   is large, and the partly trained model blows up at smaller rates than the random one did (a common
#   observation: the loss surface gets sharper as training proceeds). The curve describes the model
#   *during* the sweep, not a fixed
#   property of the problem; 100 iterations, about three epochs here, is a common choice because it is
#   long enough to show the fall and short enough to stay close to the initial model.
# - **Optimizer.** With plain SGD (no momentum) the lowest point is at a rate 2.3 times higher. Not 10
#   times, as the steady-state effective rate $\eta/(1-m)$ of momentum would suggest: momentum takes
#   about ten updates to build up, while the sweep raises the rate by 15 % at every update. Either way, a
#   range test run with one optimizer says little about another; test with the one you train with.
#
# ## 7. Bounds for a cyclical schedule
#
# Lesson 07's cyclical schedules move the rate back and forth between a `base_lr` and a `max_lr`, and
# Smith introduced the range test precisely to choose them: `max_lr` near the rate where the loss
# stops falling (the curve's minimum, or where it becomes ragged) and `base_lr` where it starts to
# fall, or simply a third to a quarter of `max_lr`.
#
# `RangeTestResult.suggest_bounds()` follows the second form with some extra caution: with
# $\eta_{\text{low}}$ the rate at the lowest smoothed loss, `max_lr` $= \eta_{\text{low}}/3$ (every rate
# of the sweep was used for one batch only, while a cycle stays near `max_lr` for hundreds of updates),
# and `base_lr` $=$ `max_lr`$/4$.

# %%
base_lr, max_lr = repeated.suggest_bounds()
lowest_lr = repeated.lrs[repeated.suggest_index("minimum")]
print(f"lowest smoothed loss at lr = {lowest_lr:.3g}")
print(f"suggest_bounds(): base_lr = {base_lr:.3g}, max_lr = {max_lr:.3g}")
ax = repeated.plot(suggestions=())
ax.axvspan(base_lr, max_lr, color="C2", alpha=0.2, label=f"cycle between {base_lr:.2g} and {max_lr:.2g}")
ax.axvline(lowest_lr, color="C3", linestyle=":", label=f"lowest smoothed loss ({lowest_lr:.2g})")
ax.set_title("Bounds for a cyclical learning rate from the range test")
ax.legend(loc="lower left", fontsize=8)
plt.show()

# %%
assert base_lr < best_grid_lr < max_lr < lowest_lr
smith_base = repeated.lrs[int(np.argmax(repeated.losses < 0.9 * repeated.losses[0]))]
print(f"Smith's literal rule on the averaged curve: base_lr = {smith_base:.2g} (loss 10 % below the start), "
      f"max_lr = {lowest_lr:.2g}: a ratio of {lowest_lr / smith_base:.0f}")
assert 15 < lowest_lr / smith_base < 30

# %% [markdown]
# The suggested cycle, 0.044 to 0.18, straddles the best constant rate of the grid (0.1) and stays
# below the grid's unreliable 0.3. Read literally, Smith's first rule (from where the loss starts to
# fall to its minimum) gives a range about twenty times wide, whose top end was a rate that does not
# train at all in the grid above (1.0 failed, and on a log scale 0.53 is closer to it than to 0.1): a cycle spends
# many updates near its top, while the sweep used each rate for one batch. Lesson 07 trains with the
# bounds of `suggest_bounds()`.
#
# ## 8. The model is left untouched
#
# The most common complaint about learning-rate finders is that they train the model they test: after
# the sweep the weights are those of a network that just went through a diverging learning rate, and
# the training that follows starts from there. `lr_range_test` restores the weights, the gradients
# and the train/eval mode when it returns, also when the sweep diverges or is interrupted by an
# exception. Let us check it bit for bit, in three situations.

# %%
def snapshot(model):
    """Every array the model holds (weights and gradients), copied."""
    state = {name: value.copy() for name, value in model.state_dict().items()}
    state.update({f"grad {i}": p.grad.copy() for i, p in enumerate(model.parameters())})
    return state


def identical(a, b):
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


class InterruptedSweep(Exception):
    pass


class LossThatFailsLater(SoftmaxCrossEntropy):
    """The cross-entropy, until its 40th call raises (think of a Ctrl+C in the middle of the sweep)."""

    calls = 0

    def forward(self, pred, target):
        self.calls += 1
        if self.calls == 40:
            raise InterruptedSweep("interrupted after 39 updates")
        return super().forward(pred, target)


model = mlp([64, 64, 10], rng=0)
before = snapshot(model)
checks = {}

r = lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, num_iter=100, rng=0)
checks["after a normal sweep"] = identical(before, snapshot(model))

r = lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, start_lr=1e-3, end_lr=1e3,
                  num_iter=100, rng=0)
assert r.stopped_early
checks[f"after a diverging sweep (stopped at lr {r.lrs[-1]:.3g})"] = identical(before, snapshot(model))

try:
    lr_range_test(model, LossThatFailsLater(), X_train, y_train, optimizer=SGD_MOMENTUM, num_iter=100, rng=0)
except InterruptedSweep as error:
    checks[f"after an exception ({error})"] = identical(before, snapshot(model))

for what, same in checks.items():
    print(f"weights and gradients bit-identical {what}: {same}")
assert all(checks.values()) and len(checks) == 3

# %% [markdown]
# The strongest form of the check: training after a range test gives exactly the same run as training
# without one. Two copies of the same network, one tested first:

# %%
tested, untested = mlp([64, 64, 10], rng=0), mlp([64, 64, 10], rng=0)
lr_range_test(tested, loss, X_train, y_train, optimizer=SGD_MOMENTUM, repeats=3, rng=0)
histories = [fit(m, loss, SGD(m.parameters(), lr=0.1, momentum=0.9), X_train, y_train, epochs=5,
                 validation_data=(X_val, y_val), rng=0) for m in (tested, untested)]
same_run = all(np.array_equal(histories[0].history[k], histories[1].history[k]) for k in histories[0].history)
same_run = same_run and np.array_equal(histories[0].batch_loss, histories[1].batch_loss)
print(f"5 epochs of training, with and without a range test first: every loss identical = {same_run}")
assert same_run and identical(snapshot(tested), snapshot(untested))

# %% [markdown]
# ## Summary
#
# - The range test trains once while the rate grows exponentially, one batch per rate, and plots the
#   smoothed loss: flat (too small), falling (useful), rising (too large). Here it took 100 batches.
# - Smoothing delays the curve: the minimum moved right by 1.3x with the default $f = 0.05$ and by 7x
#   with $f = 0.02$.
# - One sweep is one sample: the `minimum` and `valley` suggestions moved by about 4x between batch
#   orders. `repeats` averages several sweeps and shows their spread.
# - The three rules disagreed by a factor of 28. Checked against a grid of 15 training runs,
#   `steepest` and `minimum` bracketed the best constant rate and trained as well as it; `valley` was
#   too cautious for a 20-epoch run.
# - The curve moves with the sweep length (the minimum fell 9x from 30 to 1,000 iterations) and with the
#   optimizer: test with the optimizer and roughly the setup you train with.
# - `suggest_bounds()` gave a cycle of 0.044 to 0.18 around the best constant rate, for lesson 07.
# - The model leaves the test bit-for-bit unchanged, even after divergence or an exception.
#
# **Exercise:** `exercises/06_lr_range_test.ipynb` has you write the sweep, the smoothing, the stopping
# rule and the `minimum` and `steepest` suggestions yourself, each checked by a `check("q1")` cell (or
# all at once with `python -m lrcourse.grade`).
