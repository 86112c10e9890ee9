# %% [markdown]
# # 07 · Cyclical learning rates
#
# Every schedule in lesson 05 only ever lowered the rate. Leslie Smith (2017, *Cyclical Learning Rates
# for Training Neural Networks*, WACV) proposed the opposite of that habit: let the rate go **up and
# down** between two bounds, again and again. His arguments:
#
# - you no longer need *the* best rate, only a range, and the range test of lesson 06 finds one;
# - raising the rate has a short-term cost (the loss goes up for a while) but can carry the weights
#   out of poor regions of the loss surface (saddle points, sharp minima), and the following low-rate
#   phase lets them settle somewhere better;
# - on his benchmarks, cyclical rates reached the accuracy of a tuned fixed or decaying schedule in
#   fewer iterations.
#
# Smith and Topin (2017, *Exploring loss function topology with cyclical learning rates*,
# arXiv:1702.04283) then reported, among other unexpected behaviours of residual networks under
# cyclical rates, instances of very rapid training with cycles that reach large rates; that became the
# **one-cycle** policy (Smith and Topin, *Super-convergence*,
# arXiv:1708.07120), to which Smith (2018, arXiv:1803.09820) added **cyclical momentum**, moving
# opposite to the rate. Loshchilov and Hutter's **warm restarts** (SGDR, arXiv:1608.03983) are a
# relative: cosine decays, each restarting from the top.
#
# This lesson shows each of these schedules, then measures three claims:
#
# 1. large rates help escape poor regions (on a 2-D function where we can count escapes);
# 2. cyclical schedules work with early stopping, if the patience fits the cycle (digits, 10 seeds);
# 3. cyclical schedules reach a fixed rate's accuracy in fewer iterations, at the same budget: against
#    a fixed rate tuned by a grid search, on the digits, the spirals and the moons, 10 seeds each.

# %%
import functools

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

import lrcourse
import lrcourse.widgets
from lrcourse import SGD, EarlyStopping, SoftmaxCrossEntropy, evaluate, fit, mlp, plot, schedules
from lrcourse.nn import Parameter
from lrcourse.rangetest import lr_range_test

threadpool_limits(1)  # the matrices here are tiny: one BLAS thread is faster than several

(X_train, y_train), (X_val, y_val), (X_test, y_test) = lrcourse.data.digits(rng=0)
loss = SoftmaxCrossEntropy()
BATCH_SIZE = 32
STEPS_PER_EPOCH = int(np.ceil(len(X_train) / BATCH_SIZE))  # 34 updates per epoch

# %% [markdown]
# The bounds come from the range test of lesson 06, run exactly as there: `mlp([64, 64, 10])`, SGD
# with momentum 0.9, five sweeps.

# %% tags=["nbval-ignore-output"]
range_test = lr_range_test(mlp([64, 64, 10], rng=0), loss, X_train, y_train,
                           optimizer=functools.partial(SGD, momentum=0.9), start_lr=1e-5, end_lr=10.0,
                           num_iter=100, repeats=5, rng=0)
BASE_LR, MAX_LR = range_test.suggest_bounds()
LOWEST_LR = float(range_test.lrs[range_test.suggest_index("minimum")])  # bottom of the loss curve
print(f"base_lr = {BASE_LR:.4f}, max_lr = {MAX_LR:.4f}, lowest point of the range test at {LOWEST_LR:.3f}")

# %% [markdown]
# ## 1. The schedules
#
# ### Triangular, triangular2, exp_range
#
# Smith's cyclical rate rises linearly from `base_lr` to `max_lr` in `step_size` updates (a
# *half-cycle*) and falls back in as many. With $s$ the step size,
#
# $$\text{cycle} = \left\lfloor 1 + \frac{t}{2s} \right\rfloor, \qquad
#   x = \left|\frac{t}{s} - 2\,\text{cycle} + 1\right|, \qquad
#   \eta_t = \eta_{\text{base}} + (\eta_{\max} - \eta_{\text{base}})\,\max(0, 1 - x)\cdot \text{scale}_t,$$
#
# where the three modes differ only in the scale: `triangular` keeps $\text{scale} = 1$;
# `triangular2` halves the amplitude every cycle, $\text{scale} = 1/2^{\text{cycle}-1}$; `exp_range`
# shrinks it at every update, $\text{scale} = \gamma^t$. `lrcourse.schedules.CyclicLR` equals PyTorch's
# `CyclicLR` step for step. Smith recommends a step size of 2 to 10 epochs' worth of updates; on our
# 20-epoch budget we take 2 epochs (68 updates), so a full cycle lasts 4 epochs and the run has five.

# %% tags=["nbval-ignore-output"]
EPOCHS = 20
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH
STEP_SIZE = 2 * STEPS_PER_EPOCH
cyclic = {
    "triangular": schedules.CyclicLR(BASE_LR, MAX_LR, step_size_up=STEP_SIZE),
    "triangular2": schedules.CyclicLR(BASE_LR, MAX_LR, step_size_up=STEP_SIZE, mode="triangular2"),
    "exp_range (γ = 0.997)": schedules.CyclicLR(BASE_LR, MAX_LR, step_size_up=STEP_SIZE, mode="exp_range",
                                                gamma=0.997),
}
steps = np.arange(TOTAL_STEPS)
fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
for name, schedule in cyclic.items():
    plot.schedule(schedule, steps, ax=ax, label=name)
ax.set_title(f"Cyclical learning rates between {BASE_LR:.3f} and {MAX_LR:.3f}, step size {STEP_SIZE} updates")
ax.secondary_xaxis("top", functions=(lambda t: t / STEPS_PER_EPOCH, lambda e: e * STEPS_PER_EPOCH)).set_xlabel("epoch")
plt.show()
print("triangular at the start, top and end of its first cycle:",
      np.round(cyclic["triangular"](np.array([0, STEP_SIZE, 2 * STEP_SIZE])), 4).tolist())

# %% [markdown]
# ### Warm restarts
#
# `CosineRestarts` (Keras' `CosineDecayRestarts`) runs a cosine decay from `initial_lr` down to
# `alpha * initial_lr` over `first_decay_steps` updates, then jumps back to the top and starts again;
# each new period lasts `t_mul` times as long as the previous one, and restarts at `m_mul` times the
# previous peak. The jump is abrupt, unlike the triangle's ramp up.

# %%
restarts = {
    "t_mul = 1 (4-epoch periods)": schedules.CosineRestarts(MAX_LR, 4 * STEPS_PER_EPOCH, t_mul=1.0,
                                                             alpha=BASE_LR / MAX_LR),
    "t_mul = 2 (periods of 2, 4, 8 ... epochs)": schedules.CosineRestarts(MAX_LR, 2 * STEPS_PER_EPOCH, t_mul=2.0,
                                                                           alpha=BASE_LR / MAX_LR),
}
fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
for name, schedule in restarts.items():
    plot.schedule(schedule, steps, ax=ax, label=name)
ax.set_title("Cosine decay with warm restarts, from max_lr down to base_lr")
ax.secondary_xaxis("top", functions=(lambda t: t / STEPS_PER_EPOCH, lambda e: e * STEPS_PER_EPOCH)).set_xlabel("epoch")
plt.show()

# %% [markdown]
# ### One cycle, with cyclical momentum
#
# `OneCycle(max_lr, total_steps)` (PyTorch's `OneCycleLR`) makes a single cycle over the whole run: a
# warm-up from `max_lr / div_factor` (default 25) up to `max_lr` during the first 30 % of the updates,
# then a cosine annealing down to `max_lr / (div_factor * final_div_factor)`, four orders of magnitude
# lower. The schedule knows its length: asking it for update number `total_steps` or later is an
# error, so a run cannot silently train past its end.
#
# Its `momentum_schedule(base_momentum=0.85, max_momentum=0.95)` moves the momentum *opposite* to the
# rate: 0.95 at the start and end, 0.85 at the peak. The reasoning: momentum multiplies the effective
# step by about $1/(1-m)$, 20 at $m = 0.95$ and 6.7 at $m = 0.85$, so lowering it while the rate is at
# its peak keeps the effective step from growing as fast as the rate. `CyclicLR` has the same method.

# %% tags=["nbval-ignore-output"]
one_cycle = schedules.OneCycle(MAX_LR, total_steps=TOTAL_STEPS)
momentum = one_cycle.momentum_schedule(base_momentum=0.85, max_momentum=0.95)
fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
plot.schedule(one_cycle, steps, ax=ax, label="learning rate (left)", color="C0")
momentum_ax = ax.twinx()
momentum_ax.plot(steps, momentum(steps), color="C1", label="momentum (right)")
momentum_ax.set_ylabel("momentum")
ax.legend(handles=ax.get_lines() + momentum_ax.get_lines(), loc="center right")
ax.set_title(f"OneCycle(max_lr={MAX_LR:.3f}, total_steps={TOTAL_STEPS}) and its cyclical momentum")
plt.show()
print(f"lr: first {one_cycle(0):.5f}, peak {one_cycle(int(0.3 * TOTAL_STEPS) - 1):.4f}, "
      f"last {one_cycle(TOTAL_STEPS - 1):.2e}; momentum: {momentum(0):.2f} -> "
      f"{momentum(int(0.3 * TOTAL_STEPS) - 1):.2f} -> {momentum(TOTAL_STEPS - 1):.2f}")
try:
    one_cycle(TOTAL_STEPS)
except ValueError as error:
    print("one_cycle(TOTAL_STEPS):", error)

# %% [markdown]
# ## 2. Do large rates help escape poor regions?
#
# On a real network we cannot see the loss surface, so we take a 2-D function where we can: the
# **Rastrigin function**, a bowl covered in ripples,
#
# $$f(x, y) = 2A + \big(x^2 - A\cos 2\pi x\big) + \big(y^2 - A\cos 2\pi y\big), \qquad A = 10.$$
#
# It has a local minimum near every point with integer coordinates and its global minimum, $f = 0$, at
# the origin; the nearest local minima have $f \approx 1$, those at $(3, 3)$ about 18. Gradient descent
# started far from the origin falls into the nearest ripple, a poor region in the sense that matters:
# the minimum it finds is far worse than the one a few ripples away.
#
# Lesson 04's stability limit explains what a rate can do here. At a local minimum the curvature of
# $f$ along each axis is $2 + 4\pi^2 A \approx 397$, so gradient descent can settle in *any* ripple only if
# $\eta < 2/397 \approx 0.005$. The bowl underneath has curvature 2, stable up to $\eta < 1$. A rate
# between the two cannot stay in any ripple, but is still pulled towards the bottom of the bowl.

# %%
class Rastrigin:
    """f(x, y) = 2A + x^2 - A cos(2 pi x) + y^2 - A cos(2 pi y): ripples on a bowl, minimum 0 at the origin."""

    def __init__(self, A=10.0):
        self.A = A
        self.minimum = np.zeros(2)
        self.default_start = np.array([3.2, -2.8])
        self.bounds = ((-4.5, 4.5), (-4.5, 4.5))
        self.name = f"Rastrigin function (A = {A:g})"

    def __call__(self, xy):
        xy = np.asarray(xy, dtype=float)
        return 2 * self.A + np.sum(xy**2 - self.A * np.cos(2 * np.pi * xy), axis=-1)

    def gradient(self, xy):
        xy = np.asarray(xy, dtype=float)
        return 2 * xy + 2 * np.pi * self.A * np.sin(2 * np.pi * xy)


rastrigin = Rastrigin()
ripple_limit = 2 / (2 + 4 * np.pi**2 * rastrigin.A)
print(f"largest rate that can settle in a ripple: {ripple_limit:.4f}")

# %% [markdown]
# We start gradient descent (plain SGD on the two coordinates, no noise) from 1,000 random points of
# the square $[-4, 4]^2$ and run 800 updates with each schedule. Small rate: 0.002, below the ripple
# limit. Large rate: 0.015, three times above it. The cyclical schedules move between the two: a
# triangular cycle of 200 updates, cosine warm restarts every 200 updates, and, as the fourth
# variant, a single cosine decay from 0.015 to 0.002 over the whole run. All 1,000 starting points
# are one `Parameter` of shape (1000, 2), so one call of the engine's `SGD` moves them all.
#
# For each run we count the points that end in the **global basin** (within half a unit of the origin
# along both axes) and the mean final value of $f$. For the cyclical schedules we also record $f$ at
# the end of every cycle (when the rate is at its lowest) and keep the best: what early stopping with
# `restore_best_weights` would keep (section 3).

# %%
SMALL, LARGE, TOY_STEPS, PERIOD = 0.002, 0.015, 800, 200
toy_schedules = {
    "constant small (0.002)": (schedules.Constant(SMALL), None),
    "constant large (0.015)": (schedules.Constant(LARGE), None),
    "triangular 0.002-0.015": (schedules.CyclicLR(SMALL, LARGE, step_size_up=PERIOD // 2), PERIOD),
    "warm restarts 0.015-0.002": (schedules.CosineRestarts(LARGE, PERIOD, t_mul=1.0, alpha=SMALL / LARGE), PERIOD),
    "one cosine decay 0.015-0.002": (schedules.CosineDecay(LARGE, TOY_STEPS, alpha=SMALL / LARGE), None),
}
starts = np.random.default_rng(0).uniform(-4, 4, size=(1000, 2))


def in_global_basin(points):
    return np.all(np.abs(points) < 0.5, axis=-1)


def near_origin(points):  # the global basin or one of its 8 neighbouring ripples
    return np.all(np.abs(points) < 1.5, axis=-1)


toy = {}
for name, (schedule, period) in toy_schedules.items():
    points = Parameter(starts.copy(), name="xy")
    optimizer = SGD([points], lr=schedule)
    best = np.full(len(starts), np.inf)
    for step in range(TOY_STEPS):
        points.grad[...] = rastrigin.gradient(points.value)
        optimizer.step()
        if period and (step + 1) % period == 0:
            best = np.minimum(best, rastrigin(points.value))
    final = rastrigin(points.value)
    toy[name] = {"mean f": final.mean(), "global": in_global_basin(points.value).mean(),
                 "near": near_origin(points.value).mean(), "best mean f": best.mean() if period else np.nan}
print(f"{'schedule':30s} {'in global basin':>16s} {'within 1 ripple':>16s} {'mean final f':>13s} "
      f"{'best of cycle ends':>19s}")
print(f"{'start (before any update)':30s} {in_global_basin(starts).mean():16.1%} {near_origin(starts).mean():16.1%} "
      f"{rastrigin(starts).mean():13.2f}")
for name, r in toy.items():
    best = f"{r['best mean f']:19.2f}" if np.isfinite(r["best mean f"]) else ""
    print(f"{name:30s} {r['global']:16.1%} {r['near']:16.1%} {r['mean f']:13.2f}{best}")

# %%
small, large = toy["constant small (0.002)"], toy["constant large (0.015)"]
triangle, restart, single = (toy[k] for k in ("triangular 0.002-0.015", "warm restarts 0.015-0.002",
                                              "one cosine decay 0.015-0.002"))
start_f = rastrigin(starts).mean()
assert small["global"] == in_global_basin(starts).mean()  # nobody changes ripple
assert large["mean f"] > start_f and large["global"] < 0.05
assert max(triangle["mean f"], restart["mean f"]) < small["mean f"] / 6 and single["near"] == 1.0
assert single["global"] > max(triangle["global"], restart["global"]) and single["mean f"] < min(
    triangle["mean f"], restart["mean f"])
assert triangle["best mean f"] < triangle["mean f"]

# %%
paths = {name: lrcourse.data.descent_path(rastrigin, lambda p, s=toy_schedules[name][0]: SGD(p, lr=s),
                                          steps=TOY_STEPS)
         for name in ("triangular 0.002-0.015", "constant small (0.002)")}
ax = plot.trajectory(rastrigin, paths, levels=12)
for (name, path), color in zip(paths.items(), ("C0", "C1")):
    ax.plot(*path[-1], marker="X", markersize=11, color=color, markeredgecolor="k", linestyle="none")
ax.set_title("Gradient descent on the Rastrigin function from (3.2, -2.8), 800 updates (X: end)")
plt.show()
for name, path in paths.items():
    print(f"{name:24s} ends at ({path[-1, 0]:+.3f}, {path[-1, 1]:+.3f}), f = {rastrigin(path[-1]):.3f}")
assert rastrigin(paths["triangular 0.002-0.015"][-1]) < 1e-6 and rastrigin(paths["constant small (0.002)"][-1]) > 17

# %% [markdown]
# What the 1,000 runs per schedule show:
#
# - **The small rate never leaves the ripple it starts in.** Exactly the 1.2 % of points that started
#   in the global basin end there; every other point slides to the bottom of its own ripple, which
#   lowers the mean $f$ from 31 to 11 and no further.
# - **The large rate never settles.** After 800 updates the mean $f$ (32.2) is no better than at the
#   start: the points are thrown from ripple to ripple. The pull of the bowl does show (24 % of the
#   points are near the origin at the end, against 14 % at the start), but nothing stays anywhere.
# - **Passing from the large rate to the small one combines both.** During the large-rate phases the
#   points hop over the ripples towards the bottom of the bowl; when the rate falls below the ripple
#   limit they are caught by the ripple they are in, now near the origin. The triangular schedule ends
#   with 61.5 % of the points in the global basin and a mean $f$ of 1.7, more than six times lower than
#   the small rate's; warm restarts end with 85 % of them within one ripple of the origin.
# - **More cycles are not better here.** A single slow cosine decay from 0.015 to 0.002 beat both
#   cyclical schedules: 76.6 % in the global basin, every point within one ripple of it, mean $f$ 0.25.
#   What helps is the passage from large to small, and the slower it is the deeper the minimum it ends
#   in, the principle of simulated annealing. Cycles give repeated chances: keeping the best end of cycle
#   lowers the triangular schedule's mean $f$ from 1.74 to 1.16.
#
# The picture shows one start, $(3.2, -2.8)$: with the small rate the point slides into the nearest
# ripple, at $(3, -3)$ with $f \approx 18$; with the triangular schedule it crosses the surface and ends
# at the global minimum.
#
# This is a toy: a network's loss surface is not a bowl of regular ripples, and "sharp" and "flat"
# regions of it are harder to define. But the mechanism, a rate too large to stay in a narrow minimum
# but small enough for the broad shape around it, is the one Smith invokes for cyclical rates.
#
# ## 3. Cyclical rates and early stopping
#
# Early stopping (`EarlyStopping`, Keras semantics) ends training once the validation loss has not
# improved for `patience` epochs, and with `restore_best_weights=True` puts back the weights of the best
# epoch. With a cyclical rate the validation loss itself goes up and down with the cycle: it tends to
# rise while the rate climbs and to reach new lows near the bottom of each cycle. A patience shorter
# than a cycle therefore stops training during the first climb. We try a patience of 1 epoch and of 4
# epochs (one full cycle), with the triangular schedule, up to 40 epochs, ten seeds.
#
# First, one of these runs to watch while it trains (seed 0, patience 4), with `lrcourse.LivePlot`: the
# rate climbs and falls in its triangle (right, log scale) while the losses and the accuracy come in
# epoch by epoch, and the last frame marks in red the epoch where early stopping ended training.

# %% tags=["nbval-ignore-output"]
model = mlp([64, 64, 10], rng=0)
history = fit(model, loss, SGD(model.parameters(), lr=cyclic["triangular"], momentum=0.9), X_train, y_train,
              epochs=40, batch_size=BATCH_SIZE, validation_data=(X_val, y_val), rng=0,
              callbacks=[EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True),
                         lrcourse.LivePlot()])

# %%
SEEDS = range(10)
stopping = {}
for patience, seed in tqdm([(p, s) for p in (1, 4) for s in SEEDS], desc="early stopping runs"):
    model = mlp([64, 64, 10], rng=seed)
    stopper = EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = fit(model, loss, SGD(model.parameters(), lr=cyclic["triangular"], momentum=0.9), X_train, y_train,
                  epochs=40, batch_size=BATCH_SIZE, validation_data=(X_val, y_val), callbacks=[stopper], rng=seed)
    restored = evaluate(model, loss, X_val, y_val)
    stopping[patience, seed] = {
        "epochs run": len(history.epoch),
        "best epoch": stopper.best_epoch + 1,  # counted from 1, like the plots
        "restored val loss": restored["loss"],
        "restored val acc": restored["accuracy"],
        "restored is the best": restored["loss"] == min(history.history["val_loss"]),
        "lr at best epoch / base_lr": history.history["lr"][stopper.best_epoch] / BASE_LR,
        "history": history,
    }

# %% tags=["nbval-ignore-output"]
print(f"{'patience':>8s} {'seed':>5s} {'epochs run':>11s} {'best epoch':>11s} {'lr/base_lr there':>17s} "
      f"{'restored val loss':>18s} {'val acc':>8s}")
for (patience, seed), r in stopping.items():
    print(f"{patience:8d} {seed:5d} {r['epochs run']:11d} {r['best epoch']:11d} {r['lr at best epoch / base_lr']:17.2f} "
          f"{r['restored val loss']:18.4f} {r['restored val acc']:8.3f}")
for patience in (1, 4):
    rows = [stopping[patience, s] for s in SEEDS]
    print(f"patience {patience}: mean epochs run {np.mean([r['epochs run'] for r in rows]):.1f}, "
          f"restored val loss {np.mean([r['restored val loss'] for r in rows]):.4f}, "
          f"val acc {np.mean([r['restored val acc'] for r in rows]):.3f}")
lower_loss = sum(stopping[4, s]["restored val loss"] < stopping[1, s]["restored val loss"] for s in SEEDS)
print(f"patience 4 restored a lower validation loss than patience 1 in {lower_loss} of {len(SEEDS)} seeds")
at_top = sum(r["lr at best epoch / base_lr"] > 3.5 for r in stopping.values())
print(f"best epoch ended at the top of a cycle (lr/base_lr near 4) in {at_top} of {len(stopping)} runs")

# %%
assert all(r["restored is the best"] for r in stopping.values())
print("restored weights give exactly the best validation loss seen, in every run")

# %%
fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
for patience, color, width in ((1, "C3", 6), (4, "C0", 1.5)):  # the same run until patience 1 stops it
    history = stopping[patience, 0]["history"]
    epochs = np.arange(1, len(history.epoch) + 1)
    ax.plot(epochs, history.history["val_loss"], marker=".", color=color, linewidth=width, alpha=0.8,
            label=f"validation loss, patience {patience}")
    best = stopping[patience, 0]["best epoch"]
    ax.plot(best, history.history["val_loss"][best - 1], marker="*", markersize=14, color=color, linestyle="none",
            label=f"restored epoch {best} (patience {patience})")
for trough in range(4, len(stopping[4, 0]["history"].epoch) + 1, 4):
    ax.axvline(trough, color="0.8", linewidth=0.8, zorder=0)
ax.set(xlabel="epoch (grey lines: end of each cycle, rate at base_lr)", ylabel="validation loss",
       title="Triangular cyclical rate with early stopping (seed 0)")
ax.legend(fontsize=8)
plt.show()

# %%
short = [stopping[1, s] for s in SEEDS]
full = [stopping[4, s] for s in SEEDS]
assert np.mean([r["epochs run"] for r in short]) < np.mean([r["epochs run"] for r in full])
assert np.mean([r["restored val loss"] for r in full]) < np.mean([r["restored val loss"] for r in short])
assert np.mean([r["restored val acc"] for r in full]) > np.mean([r["restored val acc"] for r in short])
assert lower_loss >= 8
assert at_top <= len(stopping) // 4  # the best epoch is rarely at the top of a cycle
assert all(r["epochs run"] <= 8 for r in short)  # patience 1 always stopped within the first two cycles

# %% [markdown]
# With a patience of one epoch, training stopped within the first two cycles (8 epochs at most) in
# every seed, as soon as the rising rate pushed the validation loss up once. A patience of one full
# cycle (4 epochs) let training continue for several cycles and ended with a better model: a lower mean
# restored validation loss and a higher accuracy (the table), and a lower validation loss seed by seed
# in nearly every seed (the count under the table). In every run the restored weights give exactly the
# best validation loss recorded. The best epoch mostly ended with the rate at the bottom of a cycle or
# half-way (column `lr/base_lr there`: about 1 at the bottom, 2.5 half-way), and only in a few runs at
# its top (about 4; the count under the table).
#
# Rule of thumb from this: with a cyclical rate, set the patience to at least one cycle, and keep
# `restore_best_weights=True`, since training may stop in the middle of a climb.
#
# ## 4. Cyclical against a tuned fixed rate
#
# Smith's headline claim is that a cyclical rate reaches the accuracy of a fixed one *in fewer
# iterations*. A fair test needs a fixed rate that got the same care: not one or two rates picked by
# hand, but the best of a **grid of 11 constant rates**, a factor $\sqrt 2$ apart from 0.0125 to 0.4, the
# grid-search a user without a range test would run. Same network, same initial weights and batch
# order (the seed), 20 epochs each, SGD with momentum 0.9, **10 seeds**, on two problems: the digits
# (`mlp([64, 64, 10])`, 34 updates per epoch) and the three spirals of `lrcourse.data.spirals` (noise
# 0.3, 600 training points, a validation set drawn independently, `mlp([2, 64, 64, 3])`, 19 updates
# per epoch).
#
# The cyclical side takes its bounds from `suggest_bounds()` of a range test run on each problem
# (seed 0, five sweeps, as above): the triangular and triangular2 modes of `CyclicLR` with a 4-epoch cycle, and one-cycle up to
# `max_lr` with its cyclical momentum. "Best fixed" is the grid's rate with the highest final validation
# accuracy averaged over the seeds: a choice made after the fact, which favours the fixed rate.

# %%
FIXED_GRID = 0.0125 * np.sqrt(2) ** np.arange(11)  # 0.0125 ... 0.4
COMPARE_SEEDS = range(10)
spiral_train = lrcourse.data.spirals(600, noise=0.3, rng=0)
spiral_val = lrcourse.data.spirals(600, noise=0.3, rng=1)
problems = {"digits": {"train": (X_train, y_train), "val": (X_val, y_val), "sizes": [64, 64, 10]},
            "spirals": {"train": spiral_train, "val": spiral_val, "sizes": [2, 64, 64, 3]}}
for name, problem in problems.items():
    X, y = problem["train"]
    problem["steps_per_epoch"] = int(np.ceil(len(X) / BATCH_SIZE))
    test = lr_range_test(mlp(problem["sizes"], rng=0), loss, X, y, optimizer=functools.partial(SGD, momentum=0.9),
                         start_lr=1e-5, end_lr=10.0, num_iter=100, repeats=5, rng=0)
    problem["bounds"] = test.suggest_bounds()


def contenders_for(problem):
    base_lr, max_lr = problem["bounds"]
    step_size, total = 2 * problem["steps_per_epoch"], EPOCHS * problem["steps_per_epoch"]
    cycle = schedules.OneCycle(max_lr, total_steps=total)
    return {**{f"fixed {lr:.3g}": (schedules.Constant(lr), 0.9) for lr in FIXED_GRID},
            "triangular": (schedules.CyclicLR(base_lr, max_lr, step_size_up=step_size), 0.9),
            "triangular2": (schedules.CyclicLR(base_lr, max_lr, step_size_up=step_size, mode="triangular2"), 0.9),
            "one-cycle": (cycle, cycle.momentum_schedule(0.85, 0.95))}


def train_contender(problem, schedule, seed):
    lr, momentum_ = contenders_for(problems[problem])[schedule]
    model = mlp(problems[problem]["sizes"], rng=seed)
    return fit(model, loss, SGD(model.parameters(), lr=lr, momentum=momentum_), *problems[problem]["train"],
               epochs=EPOCHS, batch_size=BATCH_SIZE, validation_data=problems[problem]["val"], rng=seed)


def accuracy_curves(result):
    """{(problem, schedule): validation accuracy of every seed and epoch, shape (seeds, epochs)} of a sweep."""
    curves = {}
    for row, history in zip(result.rows, result.histories):
        curves.setdefault((row["problem"], row["schedule"]), []).append(history.history["val_accuracy"])
    return {key: np.array(c) for key, c in curves.items()}


# Every problem x schedule x seed, two runs at a time on two cores (lrcourse.sweep).
curves = accuracy_curves(lrcourse.sweep(train_contender, problem=list(problems),
                                        schedule=list(contenders_for(problems["digits"])), seed=COMPARE_SEEDS,
                                        n_jobs=2))

# %% tags=["nbval-ignore-output"]
def epochs_to(curve, level):
    """First epoch (from 1) whose validation accuracy is >= level, or None."""
    reached = np.flatnonzero(curve >= level - 1e-12)
    return int(reached[0]) + 1 if reached.size else None


CYCLICAL = ("triangular", "triangular2", "one-cycle")
summary, best_fixed = {}, {}
for problem_name in problems:
    fixed = [n for n in contenders_for(problems[problem_name]) if n.startswith("fixed")]
    best_fixed[problem_name] = max(fixed, key=lambda n: curves[problem_name, n][:, -1].mean())
    target = curves[problem_name, best_fixed[problem_name]][:, -1].mean()
    level = np.floor(100 * (target - 0.01)) / 100  # a round level a point below the best fixed rate's final
    summary[problem_name, "level"] = level
    print(f"{problem_name}: bounds {problems[problem_name]['bounds'][0]:.3f} to {problems[problem_name]['bounds'][1]:.3f}; "
          f"best of the grid: {best_fixed[problem_name]}, final val accuracy {target:.3f}")
    print(f"  {'schedule':12s} {'final val acc':>15s} {'epochs to ' + format(level, '.2f'):>16s} "
          f"{'epochs to ' + format(target, '.3f'):>16s}")
    for name in (best_fixed[problem_name],) + CYCLICAL:
        curve = curves[problem_name, name]
        to_level = [epochs_to(c, level) for c in curve]
        to_target = [epochs_to(c, target) for c in curve]
        key = "best fixed" if name.startswith("fixed") else name
        summary[problem_name, key] = {"final": curve[:, -1], "to_level": to_level, "to_target": to_target}

        def describe(values):
            reached = [v for v in values if v is not None]
            return f"{np.median(reached):5.1f} ({len(reached)}/{len(values)})" if reached else "never"

        print(f"  {key:12s} {curve[:, -1].mean():7.3f} ± {curve[:, -1].std(ddof=1):.3f} {describe(to_level):>16s} "
              f"{describe(to_target):>16s}")
print(f"mean ± std over {len(COMPARE_SEEDS)} seeds; 'epochs to': median over the seeds that reached it (how many)")

# %% tags=["nbval-ignore-output"]
paired = {}
for problem_name in problems:
    fixed = summary[problem_name, "best fixed"]
    for name in CYCLICAL:
        run = summary[problem_name, name]
        never = len(COMPARE_SEEDS) + 1  # a seed that never reached the level counts as slowest
        sooner = sum((a or never) < (b or never) for a, b in zip(run["to_level"], fixed["to_level"]))
        higher, lower = int(np.sum(run["final"] > fixed["final"])), int(np.sum(run["final"] < fixed["final"]))
        paired[problem_name, name] = {"sooner": sooner, "higher": higher, "lower": lower}
        print(f"{problem_name:8s} {name:12s} reached {summary[problem_name, 'level']:.2f} before the best fixed rate "
              f"in {sooner} of {len(COMPARE_SEEDS)} seeds; final accuracy higher in {higher}, lower in {lower} "
              f"(mean {100 * (run['final'] - fixed['final']).mean():+.2f} points)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
for ax, problem_name in zip(axes, problems):
    fixed_name = best_fixed[problem_name]
    for name in (fixed_name,) + CYCLICAL:
        style = "--" if name.startswith("fixed") else "-"
        label = f"best fixed ({name.removeprefix('fixed ')})" if name.startswith("fixed") else name
        ax.plot(np.arange(1, EPOCHS + 1), curves[problem_name, name].mean(axis=0), linestyle=style, marker=".",
                label=label)
    for trough in range(4, EPOCHS + 1, 4):
        ax.axvline(trough, color="0.85", linewidth=0.8, zorder=0)
    low = curves[problem_name, fixed_name].mean(axis=0)[3]
    ax.set(ylim=(low - 0.02, None), xlabel="epoch (grey lines: end of each cycle, rate at base_lr)",
           ylabel=f"validation accuracy (mean of {len(COMPARE_SEEDS)} seeds)",
           title=f"{problem_name}: cyclical schedules against the best of 9 fixed rates")
    ax.legend(fontsize=8, loc="lower right")
plt.show()

# %% [markdown]
# What the table and the paired counts say:
#
# - **Sooner, yes, to a level a point below the best fixed rate's final accuracy.** The triangular
#   schedule got there before the tuned fixed rate on most seeds of both problems (the paired counts
#   above the plot).
# - **Not higher at the end.** After 20 epochs the tuned fixed rate is at least as accurate on average;
#   on the digits it ends ahead of the triangular schedule on most seeds, on the spirals they are within
#   a few validation points of each other.
#
# The early lead is the **trough effect**, and the lines below show it. A triangular cycle's validation
# accuracy moves with its rate: while the rate climbs to `max_lr` (epochs 2, 6, 10 ...) the weights are
# shaken and accuracy falls back; when it comes down to `base_lr` at the end of each cycle (epochs 4,
# 8, 12 ..., the grey lines) the noise of the updates drops and accuracy jumps up. The first trough
# comes at epoch 4 with a rate four times below `max_lr` and below the tuned fixed rate, and a low rate
# after a high one is what every decay schedule of lesson 05 exploits. So the early lead comes from
# passing through low rates early, not from anything only a cycle can do; and because a cyclical
# curve makes its gains at the troughs, a comparison at one chosen level can swing with the level (an
# earlier version of this section, with two hand-picked fixed rates and 96 % as the level, reported
# "25 % sooner" from exactly that effect).

# %% tags=["nbval-ignore-output"]
trough_epochs = np.arange(4, EPOCHS + 1, 4)
for problem_name in problems:
    tri = curves[problem_name, "triangular"].mean(axis=0)
    print(f"{problem_name:8s} triangular, mean val accuracy at the cycle's troughs: {np.round(tri[trough_epochs - 1], 3).tolist()}")
    print(f"{'':8s} and at its peaks (2 epochs earlier):             {np.round(tri[trough_epochs - 3], 3).tolist()}")

# %%
for problem_name in problems:
    tri = curves[problem_name, "triangular"].mean(axis=0)
    assert np.all(tri[trough_epochs[:2] - 1] - tri[trough_epochs[:2] - 3] > 0.01)  # first two cycles: troughs up
    assert paired[problem_name, "triangular"]["sooner"] >= 7
    assert summary[problem_name, "triangular"]["final"].mean() <= summary[problem_name, "best fixed"]["final"].mean()
assert paired["digits", "triangular"]["lower"] >= 5

# %% [markdown]
# What a cyclical schedule does buy is not speed but **the search**. To find its fixed rate, the grid
# search above trained 11 rates for 20 epochs each; the range test that gave the cyclical bounds used 5
# sweeps of 100 updates:

# %%
for name, problem in problems.items():
    grid_updates = len(FIXED_GRID) * EPOCHS * problem["steps_per_epoch"]
    range_updates = 5 * 100
    print(f"{name:8s} grid search: {len(FIXED_GRID)} runs x {EPOCHS * problem['steps_per_epoch']} updates = "
          f"{grid_updates} updates; range test: at most {range_updates} updates ({grid_updates / range_updates:.0f}x fewer)")

# %% [markdown]
# And that for one seed; a grid search that looks at several seeds, as ours did, costs that many
# times more. The cyclical schedule gets within a few validation points of the tuned rate's accuracy
# for the price of a range test, an order of magnitude cheaper than the grid.
#
# ### One-cycle on three problems
#
# One-cycle's long annealing at the end sometimes gives it the best final accuracy of all; whether it
# does here is a question for the same fair comparison, with a third problem added: the two moons
# (`lrcourse.data.moons`, 500 points, noise 0.2, `mlp([2, 32, 32, 2])`, validation set drawn
# independently), with its own range test and the same 11-rate grid.

# %%
problems["moons"] = {"train": lrcourse.data.moons(500, noise=0.2, rng=0), "val": lrcourse.data.moons(500, noise=0.2, rng=1),
                     "sizes": [2, 32, 32, 2]}
moons = problems["moons"]
moons["steps_per_epoch"] = int(np.ceil(len(moons["train"][0]) / BATCH_SIZE))
moons["bounds"] = lr_range_test(mlp(moons["sizes"], rng=0), loss, *moons["train"],
                                optimizer=functools.partial(SGD, momentum=0.9), start_lr=1e-5, end_lr=10.0,
                                num_iter=100, repeats=5, rng=0).suggest_bounds()
moons_contenders = {n: v for n, v in contenders_for(moons).items() if n.startswith("fixed") or n == "one-cycle"}
curves.update(accuracy_curves(lrcourse.sweep(train_contender, problem=["moons"], schedule=list(moons_contenders),
                                             seed=COMPARE_SEEDS, n_jobs=2)))

# %% tags=["nbval-ignore-output"]
one_cycle_wins = {}
print(f"{'':8s} {'best fixed rate':>16s} {'its final':>10s} {'one-cycle final':>16s} {'one-cycle above, seeds':>23s}")
for problem_name in problems:
    fixed = [n for n in curves if n[0] == problem_name and n[1].startswith("fixed")]
    best = max(fixed, key=lambda key: curves[key][:, -1].mean())
    fixed_final, cycle_final = curves[best][:, -1], curves[problem_name, "one-cycle"][:, -1]
    one_cycle_wins[problem_name] = (cycle_final.mean() - fixed_final.mean(), int(np.sum(cycle_final > fixed_final)))
    print(f"{problem_name:8s} {best[1]:>16s} {fixed_final.mean():10.3f} {cycle_final.mean():16.3f} "
          f"{one_cycle_wins[problem_name][1]:>16d} of {len(COMPARE_SEEDS)}")

# %%
for problem_name, (mean_difference, seeds_above) in one_cycle_wins.items():
    assert abs(mean_difference) < 0.01 and seeds_above <= len(COMPARE_SEEDS) // 2

# %% [markdown]
# Against the best of 11 fixed rates, one-cycle is level on all three problems: its mean final
# accuracy is within a point of the tuned rate's, and it ends above it on at most half of the seeds (the
# table). On these set-ups its annealing does not buy a better model than a well-chosen constant rate;
# what it does buy, like the other cyclical schedules, is that its one rate, `max_lr`, came from a
# range test instead of a grid search.
#
# That is the pattern of the whole comparison: on small problems, and against a fixed rate chosen by a
# grid search, cyclical schedules are not clearly better and only "faster" to levels their troughs
# happen to reach; they are about as good, for a tenth of the cost of finding the rate.
#
# ## 5. Explore the schedules yourself
#
# The widget below draws any schedule of `lrcourse.schedules` as you move its sliders (pick
# `CyclicLR` and switch the mode, or `OneCycle` and change `pct_start`). It needs a running kernel: on
# a static page (GitHub) you see nothing below this line.

# %%
explorer = lrcourse.widgets.schedule_explorer("CyclicLR", steps=TOTAL_STEPS)
explorer.update(base_lr=round(BASE_LR, 4), max_lr=round(MAX_LR, 4), step_size_up=STEP_SIZE)
explorer.widget

# %% [markdown]
# ## Summary
#
# - `CyclicLR` (triangular, triangular2, exp_range), `CosineRestarts` and `OneCycle` with its
#   `momentum_schedule` are closed-form schedules in `lrcourse.schedules`, equal to their PyTorch and
#   Keras counterparts; `suggest_bounds()` of the range test of lesson 06 gives their bounds.
# - On the Rastrigin function a rate above the ripples' stability limit escapes poor local minima and a
#   rate below it settles; schedules that pass from one to the other end far lower, and a single slow
#   decay did best of all.
# - With early stopping, a patience of one cycle instead of one epoch trained longer and restored a
#   better model on nearly every seed; `restore_best_weights` returned exactly the best epoch.
# - Against a fixed rate tuned by an 11-rate grid search, cyclical schedules reached a level a point
#   below the tuned rate's final accuracy sooner on most seeds, because their troughs pass through low
#   rates early, but did not end higher; one-cycle was level with the tuned rate on the digits, the
#   spirals and the moons. What they save is the search: one range test of at most 500 updates instead
#   of a grid of full training runs.
#
# **Exercise:** `exercises/07_cyclical_learning_rates.ipynb` has you write the triangular,
# triangular2 and exp_range cycles and the one-cycle rate and momentum, each checked by a
# `check("q1")` cell (or all at once with `python -m lrcourse.grade`).
