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
# 5. the suggestion rules (steepest, minimum, valley, and `suggest()`'s default), where they disagree;
# 6. which of their suggestions actually trains well, measured on two problems and 10 seeds against
#    a grid search, and where the default comes from;
# 7. what else moves the curve (the length of the sweep, the optimizer);
# 8. choosing the two bounds of a cyclical schedule (lesson 07);
# 9. proof that the test leaves the model exactly as it found it.

# %%
import functools
import warnings

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import lrcourse
from lrcourse import SGD, SoftmaxCrossEntropy, evaluate, fit, mlp, plot
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

# %% tags=["nbval-ignore-output"]
model = mlp([64, 64, 10], rng=0)
result = lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, start_lr=1e-5, end_lr=10.0,
                       num_iter=100, batch_size=32, repeats=1, rng=0)
print(result)

# %% [markdown]
# The sweep would stop early once the smoothed loss exceeded 5 times its lowest value so far
# (`diverge_th=5`): past that point it only draws a wall. This one ran all 100 iterations, up to
# $\eta = 10$ (the stopping rule does trigger in some of the sweeps below).
#
# ## 2. Reading the curve
#
# The grey line is the loss of each mini-batch, the blue line its smoothed version (next section).

# %% tags=["nbval-ignore-output"]
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

# %% tags=["nbval-ignore-output"]
no_stop = dict(optimizer=SGD_MOMENTUM, start_lr=1e-5, end_lr=10.0, num_iter=100, repeats=1, rng=0, diverge_th=1e9)
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
# within a few iterations, and the measured shift is less than 2x for $f = 0.3$ and $0.05$ (the table).
# Heavier smoothing does lag far: with $f = 0.02$ the minimum lands more than 5 times to the right, at
# a rate where the raw loss is already rising. So the minimum of a smoothed curve is an *optimistic* estimate of the
# largest usable rate, and the rules of section 5 that back off from it (by a factor 10 for `minimum`)
# also absorb this delay.
#
# ## 4. One sweep is one sample
#
# The curve depends on which batches the sweep happened to see. `repeats=5` runs the sweep five times
# from the same initial weights with different batch orders. First, five single sweeps (seeds 0 to 4 for
# the batch order), and what each suggestion rule makes of each:

# %% tags=["nbval-ignore-output"]
METHODS = ("lowest/6", "steepest", "minimum", "valley")
single_sweeps = [lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, start_lr=1e-5,
                               end_lr=10.0, num_iter=100, repeats=1, rng=seed) for seed in range(5)]
print(f"{'sweep':>6s} {'points':>7s}" + "".join(f"{m:>11s}" for m in METHODS))
single_suggestions = {m: [] for m in METHODS}
for seed, r in enumerate(single_sweeps):
    for m in METHODS:
        single_suggestions[m].append(r.suggest(m))
    print(f"{seed:6d} {len(r.lrs):7d}" + "".join(f"{r.suggest(m):11.3g}" for m in METHODS))
spread = {m: max(v) / min(v) for m, v in single_suggestions.items()}
print(f"{'max/min':>14s}" + "".join(f"{spread[m]:10.1f}x" for m in METHODS))
print(f"{sum(r.stopped_early for r in single_sweeps)} of the 5 sweeps hit the stopping rule")

# %%
assert 1 <= sum(r.stopped_early for r in single_sweeps) <= 4
assert spread["steepest"] < 2 < min(spread["minimum"], spread["valley"])

# %% [markdown]
# The same model, the same data, only the batch order changed, and a single sweep's suggestion moves
# by the factor in the last row: by less than 2x for `steepest`, but by more than 2x, about 4x, for
# `minimum`, `valley` and `lowest/6` (which shares `minimum`'s point). On this model `steepest` was the
# stable rule; section 6 shows that on another problem it is the jumpy one, since a derivative of a
# noisy curve is noisier than the curve. A factor below 2 is harmless, a rate is only ever chosen to
# within a factor of about 2; a factor of 4 can be the difference between a good rate and a poor one.
# Some of the sweeps also hit the stopping rule, at different rates.
#
# With `repeats=5` the test averages the five smoothed curves over the rates that *every* repeat
# reached (so one repeat's early divergence does not dominate the mean) and reports their standard
# deviation, drawn as a band:

# %% tags=["nbval-ignore-output"]
repeated = lr_range_test(model, loss, X_train, y_train, optimizer=SGD_MOMENTUM, start_lr=1e-5, end_lr=10.0,
                         num_iter=100, repeats=5, rng=0)
print(repeated)
suggestions = {m: repeated.suggest(m) for m in METHODS}
for m, lr in suggestions.items():
    print(f"{m:>9s}: {lr:.3g}")
ax = repeated.plot(suggestions=METHODS)
ax.set_title("Range test, mean of 5 sweeps (band: ± 1 std), with the four suggestions")
plt.show()

# %% [markdown]
# ## 5. Four rules, four answers
#
# A curve is not a number; a rule turns it into one. Three rules come from the tools everyone uses:
#
# - **steepest** (pytorch-lr-finder): the rate where the smoothed loss falls fastest per iteration, the
#   most negative `np.gradient` of the curve, ignoring the first 10 and last 5 points;
# - **minimum** (fastai): a tenth of the rate at the lowest smoothed loss. The factor 10 keeps well clear
#   of the wall, and also undoes the delay of the smoothing;
# - **valley** (fastai's default since 2021): the longest stretch over which the loss keeps
#   decreasing, and a point about two thirds of the way down it.
#
# The fourth, **lowest/6**, is `suggest()`'s default: a sixth of the rate at the lowest smoothed loss,
# on the mean of 5 sweeps (`lr_range_test` runs 5 by default). Section 6 shows where it comes from.
# `minimum`, `valley` and `lowest/6` ignore the first `num_iter // 10` and the last 5 points. On the
# averaged curve above the four rules span this factor:

# %% tags=["nbval-ignore-output"]
disagreement = max(suggestions.values()) / min(suggestions.values())
print(f"largest / smallest suggestion: {disagreement:.0f}x")

# %%
assert disagreement > 10

# %% [markdown]
# They disagree by more than an order of magnitude. Which one is right? The range test is a shortcut
# for a grid search, so we can check each rule against one, and we must do it on more than one problem
# and more than one seed: a rule that works on the digits for seed 0 may fail elsewhere.
#
# ## 6. Which rule trains well? Measured across seeds and problems
#
# For each of 10 seeds (the seed fixes the initial weights, the batch order and the sweeps' batches) and
# two problems, the digits and the three spirals of `lrcourse.data.spirals` (noise 0.3, 600 training
# points, an independent draw of 600 for validation, `mlp([2, 64, 64, 3])`), both with SGD and momentum
# 0.9:
#
# 1. run `lr_range_test` as a user would, with its default sweep ($10^{-7}$ to 10 in 100 iterations),
#    once with one sweep and once with the default 5;
# 2. train 20 epochs at each rate of a grid of six, a factor $\sqrt{10} \approx 3.2$ apart from 0.003
#    to 1, and at each rule's suggestion: `steepest`, `minimum` and `valley` from the single sweep (as
#    their tools use them), `lowest/6` from the 5 sweeps;
# 3. a rule's **regret** on a seed is the best validation accuracy of the grid minus the accuracy at
#    the rule's rate, in points; it **fails** when the regret is above 10 points.
#
# That is 200 short training runs, most of this lesson's running time.

# %%
RULE_EPOCHS = 20
RULE_GRID = 10.0 ** np.linspace(-2.5, 0, 6)  # 0.0032 ... 1
RULE_SEEDS = range(10)
spiral_train = lrcourse.data.spirals(600, noise=0.3, rng=0)
spiral_val = lrcourse.data.spirals(600, noise=0.3, rng=1)
rule_problems = {"digits": ((X_train, y_train), (X_val, y_val), [64, 64, 10]),
                 "spirals": (spiral_train, spiral_val, [2, 64, 64, 3])}
RULES = {"steepest": 1, "minimum": 1, "valley": 1, "lowest/6": 5}  # rule: number of sweeps


def train_and_score(problem, lr, seed):
    """Validation accuracy after RULE_EPOCHS epochs at a constant rate (a diverged run scores what it scores)."""
    (X, y), (X_v, y_v), sizes = rule_problems[problem]
    model = mlp(sizes, rng=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # divergence warnings are expected for the largest rates
        fit(model, loss, SGD(model.parameters(), lr=lr, momentum=0.9), X, y, epochs=RULE_EPOCHS, batch_size=32,
            rng=seed)
        with np.errstate(all="ignore"):
            return evaluate(model, loss, X_v, y_v)["accuracy"]


def score_rules(problem, seed):
    """One problem and seed: the range tests, the grid's and the rules' scores (a flat dict of numbers)."""
    (X, y), _, sizes = rule_problems[problem]
    tests = {repeats: lr_range_test(mlp(sizes, rng=seed), loss, X, y, optimizer=SGD_MOMENTUM, repeats=repeats,
                                    rng=seed) for repeats in (1, 5)}
    row = {f"grid {i}": train_and_score(problem, lr, seed) for i, lr in enumerate(RULE_GRID)}
    for rule, repeats in RULES.items():
        row[f"rate {rule}"] = tests[repeats].suggest(rule)
        row[f"score {rule}"] = train_and_score(problem, row[f"rate {rule}"], seed)
    row["lowest"] = float(tests[5].lrs[tests[5].suggest_index("minimum")])
    return row


# The problems x seeds run two at a time on two cores (lrcourse.sweep).
rule_runs = {(row["problem"], row["seed"]): {"grid": [row[f"grid {i}"] for i in range(len(RULE_GRID))],
                                             "rates": {rule: row[f"rate {rule}"] for rule in RULES},
                                             "scores": {rule: row[f"score {rule}"] for rule in RULES},
                                             "lowest": row["lowest"]}
             for row in lrcourse.sweep(score_rules, problem=list(rule_problems), seed=RULE_SEEDS, n_jobs=2)}

# %% tags=["nbval-ignore-output"]
rule_table = {}
print(f"{'rule':10s} {'sweeps':>6s}" + "".join(f"{p + ': fails, mean / worst regret':>38s}" for p in rule_problems))
for rule, repeats in RULES.items():
    cells = ""
    for problem in rule_problems:
        regrets = np.array([100 * (max(rule_runs[problem, s]["grid"]) - rule_runs[problem, s]["scores"][rule])
                            for s in RULE_SEEDS])
        rule_table[rule, problem] = {"fails": int(np.sum(regrets > 10)), "mean": regrets.mean(), "worst": regrets.max()}
        r = rule_table[rule, problem]
        cells += f"{r['fails']:>14d}/{len(RULE_SEEDS)}, {r['mean']:5.1f} / {r['worst']:5.1f} pts"
    print(f"{rule:10s} {repeats:6d}{cells}")
print(f"regret: best of the 6-rate grid minus the rule, in points of validation accuracy, over {len(RULE_SEEDS)} seeds")

# %%
for problem in rule_problems:
    for rule in ("lowest/6", "minimum"):
        assert rule_table[rule, problem]["fails"] <= 1 and rule_table[rule, problem]["mean"] < 3
    assert rule_table["valley", problem]["mean"] > rule_table["minimum", problem]["mean"]
assert rule_table["steepest", "spirals"]["fails"] >= 2  # the rule that reads a derivative fails on the spirals

# %% [markdown]
# What the table shows, 10 seeds per problem:
#
# - **`steepest` from one sweep fails** on the spirals on several seeds (the rate lands past the cliff
#   where training breaks down) and sometimes on the digits: the derivative of a single noisy curve is
#   the noisiest thing one can read off it.
# - **`valley` lands far below the best rate**: it costs a few points on average, more than
#   `minimum`. fastai chose it as a safe default; safe, here, means slow.
# - **`minimum`**, a tenth of the lowest point, did not fail, at a cost of about a point or less.
# - **`lowest/6` over 5 sweeps** did not fail either, at a mean cost of one or two points at most; on
#   these two problems and 10 seeds it is about level with `minimum`. Its worst seed on the spirals
#   came close to the 10-point line on one of the BLAS kernels we tried (the worst-regret column), a
#   reminder that 10 seeds are a small sample; the full study below has 40 per problem.
#
# This is a small version of the study behind the default, `benchmarks/range_test_study.py` (one
# command, about 25 minutes on two busy cores). It runs every rule with one and with five sweeps on four
# problems (digits with plain SGD, digits with momentum, spirals, moons) for 20 seeds each, against an
# 11-rate grid, and picked the default from those numbers; then it checks the choice on 20 other seeds
# of the same problems and on two problems it never saw (a wider network on the digits, plain SGD on the
# spirals). Its results, on the machine that produced them (other CPUs give other training numbers,
# never other failure counts for the default on our checks), for the rules of this lesson:
#
# | rule | sweeps | digits SGD | digits momentum | spirals | moons | held out: 6 problems, 20 other seeds |
# |---|---|---|---|---|---|---|
# | lowest/6 | 1 | 0/20, 0.7 | 0/20, 0.3 | 3/20, 5.9 | 2/20, 5.5 | 3/120, at most 2.5 |
# | lowest/6 | 5 | 0/20, 0.7 | 0/20, 0.3 | 0/20, 0.6 | 0/20, 0.7 | 0/120, at most 1.0 |
# | steepest | 1 | 3/20, 13.1 | 1/20, 1.1 | 12/20, 33.2 | 5/20, 14.2 | 17/120, at most 24.3 |
# | steepest | 5 | 0/20, 0.1 | 0/20, 0.3 | 6/20, 13.9 | 1/20, 5.2 | 7/120, at most 19.1 |
# | minimum | 1 | 0/20, 1.0 | 0/20, 0.7 | 0/20, 0.5 | 0/20, 0.6 | 0/120, at most 1.4 |
# | minimum | 5 | 0/20, 1.2 | 0/20, 0.7 | 0/20, 0.3 | 0/20, 0.5 | 0/120, at most 1.3 |
# | valley | 1 | 1/20, 4.7 | 0/20, 2.8 | 1/20, 3.4 | 0/20, 4.1 | 10/120, at most 15.6 |
# | valley | 5 | 2/20, 6.4 | 0/20, 3.0 | 5/20, 9.4 | 1/20, 6.5 | 26/120, at most 28.9 |
#
# Each cell: failures out of 20 seeds, then the mean regret in points. Two things decide the default:
#
# - **Five sweeps, not one.** With one sweep, `lowest/6` failed on some seeds of the spirals and the
#   moons: the lowest point of a single noisy curve can land far to the right. On the mean of 5 sweeps
#   it never did, and `steepest` failed far less often too. (`valley` got worse: averaging makes the
#   curve smoother, its decreasing stretch longer, and its point lower.) Four more sweeps cost 400 more
#   mini-batches, less than one training run of the grid.
# - **A sixth, not a tenth.** The study also tried a third, a fourth, a fifth and an eighth of the
#   lowest point, and combinations with the steepest point: a third, a fourth and a fifth failed on the
#   spirals or the moons, and a tenth (fastai's `minimum`, safe with one sweep or five) costs more on
#   average, up to about 1.4 points on a problem. `lowest/6` with 5 sweeps had a mean regret of at most
#   0.7 points per problem on the study; on the held-out seeds and problems it again never failed,
#   with a mean regret of at most about 1 point (1.0 on the held-out digits with plain SGD).
#
# None of this makes `lowest/6` right for every network: these are small networks trained for 20
# epochs with SGD. It is a default that was measured, and the study script is there to measure it
# again on your own problem.
#
# ## 7. The curve depends on how it was measured
#
# Because the x axis is also a time axis, the same model gives a different curve when the sweep is
# longer or shorter. And because the curve measures what one *update* does, it depends on the
# optimizer. Two quick measurements, three repeats each:

# %% tags=["nbval-ignore-output"]
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
print(f"lowest point, plain SGD / momentum 0.9: {plain_lowest / momentum_lowest:.1f}x; "
      f"30 / 1000 iterations: {by_length[30] / by_length[1000]:.0f}x")

# %%
assert by_length[1000] < by_length[100] < by_length[30]
assert 1.5 < plain_lowest / momentum_lowest < 5

# %% [markdown]
# - **Sweep length.** The longer the sweep, the further left the minimum: near 1 after 30 iterations,
#   about 0.1 after 1,000 (the table). In a long sweep the model has already learned a lot by the time
#   the rate is large, and the partly trained model blows up at smaller rates than the random one did (a
#   common observation: the loss surface gets sharper as training proceeds). The curve describes the
#   model *during* the sweep, not a fixed property of the problem; 100 iterations, about three epochs
#   here, is a common choice because it is long enough to show the fall and short enough to stay close
#   to the initial model.
# - **Optimizer.** With plain SGD (no momentum) the lowest point is at a rate two to three times
#   higher. Not 10 times, as the steady-state effective rate $\eta/(1-m)$ of momentum would suggest:
#   momentum takes about ten updates to build up, while the sweep raises the rate by 15 % at every
#   update. Either way, a range test run with one optimizer says little about another; test with the
#   one you train with.
#
# ## 8. Bounds for a cyclical schedule
#
# Lesson 07's cyclical schedules move the rate back and forth between a `base_lr` and a `max_lr`, and
# Smith introduced the range test precisely to choose them: `max_lr` near the rate where the loss
# stops falling (the curve's minimum, or where it becomes ragged) and `base_lr` where it starts to
# fall, or simply a third to a quarter of `max_lr`.
#
# `RangeTestResult.suggest_bounds()` follows the second form with some extra caution: with
# $\eta_{\text{low}}$ the rate at the lowest smoothed loss, `max_lr` $= \eta_{\text{low}}/3$ and
# `base_lr` $=$ `max_lr`$/4$. Where the two factors come from:
#
# - **`base_lr` = `max_lr` / 4** is Smith's rule of thumb (a cycle spanning a factor 3 to 4), not a
#   measurement; it keeps the whole cycle within one range of rates.
# - **`max_lr` = $\eta_{\text{low}}$ / 3**: every rate of the sweep was used for one batch only, while a
#   cycle stays near `max_lr` for many updates, so `max_lr` backs off from the lowest point. How far is
#   safe can be measured. For each seed of section 6, the rates of the grid that still trained (within
#   10 points of the grid's best) and the first one above them that did not bracket the rate at which
#   constant training breaks down:

# %% tags=["nbval-ignore-output"]
position = {}
for problem in rule_problems:
    below, past = [], []  # the limit lies between the largest grid rate that trains and the next one
    for seed in RULE_SEEDS:
        run = rule_runs[problem, seed]
        grid = np.array(run["grid"])
        trains = grid >= grid.max() - 0.10
        largest = int(np.flatnonzero(trains).max())
        below.append(RULE_GRID[largest] / run["lowest"])
        failing = [lr for lr, ok in zip(RULE_GRID[largest:], trains[largest:]) if not ok]
        past.append(failing[0] / run["lowest"] if failing else np.inf)
    below, past = np.array(below), np.array(past)
    position[problem] = {"default past": int(np.sum(1 / 6 >= past)), "max_lr past": int(np.sum(1 / 3 >= past)),
                         "max_lr surely below": int(np.sum(1 / 3 <= below))}
    print(f"{problem:8s} the limit, as a fraction of the lowest point: above {np.median(below):.2f} and below "
          f"{np.median(past):.2f} (medians over {len(RULE_SEEDS)} seeds)")
    print(f"{'':8s} max_lr = lowest/3 at or past a rate that failed on {position[problem]['max_lr past']} seeds, "
          f"surely below the limit on {position[problem]['max_lr surely below']}; lowest/6 past it on "
          f"{position[problem]['default past']}")

# %%
assert all(p["default past"] == 0 for p in position.values())  # the default never reached a failing rate
assert position["spirals"]["max_lr surely below"] < len(RULE_SEEDS)

# %% [markdown]
# A grid a factor 3.2 apart can only bracket the limit, but that is enough to see the two factors
# differ. A sixth of the lowest point never reached a rate that failed. A third of it, `max_lr`, is
# not surely below the limit on every seed of the spirals, and sometimes at or past a rate that failed
# (the counts above); the full study, with a finer grid, finds the largest constant rate that trains
# as low as 0.13 to 0.19 times the lowest point on some seeds of the moons and the spirals (a median of
# about 0.3 to 0.5), so `max_lr` sits close to or past the limit there. That is by design in Smith's
# scheme: `max_lr` is meant to be at the edge of stability, and a cycle spends only part of its time
# there, half-way down towards `base_lr` most of the time.
# Lessons 07 and 08 measure what that buys and what it costs: cyclical runs reach good accuracy early,
# and with early stopping they can stop while the rate is high.
#
# The bounds of the averaged curve of section 4:

# %% tags=["nbval-ignore-output"]
base_lr, max_lr = repeated.suggest_bounds()
lowest_lr = repeated.lrs[repeated.suggest_index("minimum")]
print(f"lowest smoothed loss at lr = {lowest_lr:.3g}")
print(f"suggest_bounds(): base_lr = {base_lr:.3g}, max_lr = {max_lr:.3g}")
smith_base = repeated.lrs[int(np.argmax(repeated.losses < 0.9 * repeated.losses[0]))]
print(f"Smith's literal rule on the averaged curve: base_lr = {smith_base:.2g} (loss 10 % below the start), "
      f"max_lr = {lowest_lr:.2g}: a ratio of {lowest_lr / smith_base:.0f}")
ax = repeated.plot(suggestions=())
ax.axvspan(base_lr, max_lr, color="C2", alpha=0.2, label=f"cycle between {base_lr:.2g} and {max_lr:.2g}")
ax.axvline(lowest_lr, color="C3", linestyle=":", label=f"lowest smoothed loss ({lowest_lr:.2g})")
ax.set_title("Bounds for a cyclical learning rate from the range test")
ax.legend(loc="lower left", fontsize=8)
plt.show()

# %%
assert base_lr < max_lr < lowest_lr and np.isclose(max_lr / base_lr, 4) and np.isclose(lowest_lr / max_lr, 3)
assert lowest_lr / smith_base > 10

# %% [markdown]
# Read literally, Smith's first rule (from where the loss starts to fall to its minimum) gives a range
# more than ten times wide whose top end is the lowest point itself, a rate that on the spirals is
# typically beyond the limit of constant training (the bracket printed above). Lesson 07 trains with the
# bounds of `suggest_bounds()`.
#
# ## 9. The model is left untouched
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
checks["after a diverging sweep (stopped early)"] = identical(before, snapshot(model))

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
# - Smoothing delays the curve: the minimum moves right, a little with the default $f = 0.05$ and far
#   with $f = 0.02$.
# - One sweep is one sample: suggestions moved by a factor of about 4 between batch orders. `repeats`
#   (5 by default) averages several sweeps and shows their spread.
# - The rules disagree by more than a factor of 10. Measured against a grid search on two problems and
#   10 seeds (and, in `benchmarks/range_test_study.py`, on four problems and 20 seeds, then on held-out
#   seeds and problems), `steepest` from one sweep fails on the spirals, `valley` is safe but slow, and
#   `suggest()`'s default, a sixth of the lowest point of 5 averaged sweeps, never failed and cost the
#   least of the safe rules, well under a point on average in the study.
# - The curve moves with the sweep length and with the optimizer: test with the optimizer and roughly
#   the setup you train with.
# - `suggest_bounds()` puts `max_lr` at a third of the lowest point, at the edge of what constant
#   training survives on some problems, and `base_lr` a quarter below it (Smith's rule of thumb).
# - The model leaves the test bit-for-bit unchanged, even after divergence or an exception.
#
# **Exercise:** `exercises/06_lr_range_test.ipynb` has you write the sweep, the smoothing, the stopping
# rule and the `minimum` and `steepest` suggestions yourself, each checked by a `check("q1")` cell (or
# all at once with `python -m lrcourse.grade`).
