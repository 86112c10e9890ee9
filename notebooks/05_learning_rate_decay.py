# %% [markdown]
# # 05 · Learning-rate decay
#
# Lesson 04 treated the learning rate as one number, fixed for the whole run, and found a trade-off:
# a small rate is safe but slow, a large one is fast but keeps the weights restless and, past a
# limit, diverges. A **decay schedule** refuses the trade-off: it starts with a large rate, to make
# fast progress while the model is far from any good solution, and lowers it as training goes on, so
# that the last updates are small enough for the weights to settle.
#
# This lesson
#
# 1. measures what a fixed rate leaves on the table, on the digits;
# 2. goes through the usual decay schedules (step, multi-step, exponential, inverse-time,
#    polynomial/linear, cosine, warmup, reduce-on-plateau), each with its formula and a plot;
# 3. compares them fairly: same network, same initial weights, same data, same batch order and
#    same number of updates, repeated over five seeds;
# 4. checks how the answer depends on the initial learning rate.
#
# Every schedule here is a small object from `lrcourse.schedules`: a pure function of the update
# number `t` (0 for the first update) that an optimizer accepts in place of a fixed `lr`.

# %%
import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

import lrcourse
from lrcourse import SGD, ReduceLROnPlateau, SoftmaxCrossEntropy, fit, mlp
from lrcourse import plot, schedules

threadpool_limits(1)  # the matrices here are tiny: one BLAS thread is faster than several

(X_train, y_train), (X_val, y_val), (X_test, y_test) = lrcourse.data.digits(rng=0)
loss = SoftmaxCrossEntropy()

EPOCHS = 20
BATCH_SIZE = 32
STEPS_PER_EPOCH = int(np.ceil(len(X_train) / BATCH_SIZE))
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH  # the update budget every run gets
SEEDS = range(5)
print(f"{len(X_train)} training images, batches of {BATCH_SIZE}: {STEPS_PER_EPOCH} updates per epoch, "
      f"{TOTAL_STEPS} updates in {EPOCHS} epochs")

# %% [markdown]
# Throughout the lesson the model is `mlp([64, 64, 10])` trained by SGD with momentum 0.9 (the
# optimizer most schedules in the literature were designed for) on batches of 32 images. A run is
# identified by its learning rate (a number or a schedule) and a **seed**; the seed fixes the initial
# weights *and* the order of the mini-batches, so two runs with the same seed differ only in their
# learning rates.
#
# Besides the usual metrics, the helper below records how far the weights move in each epoch (the
# Euclidean distance between the weight vectors at the end of two consecutive epochs): a direct
# measure of how restless training still is.

# %%
class WeightMovement(lrcourse.Callback):
    """Records ||w(end of epoch e) - w(end of epoch e-1)|| for every epoch."""

    def _weights(self):
        return np.concatenate([p.value.ravel() for p in self.model.parameters()])

    def on_train_begin(self, logs=None):
        self.previous = self._weights()
        self.distances = []

    def on_epoch_end(self, epoch, logs=None):
        current = self._weights()
        self.distances.append(float(np.linalg.norm(current - self.previous)))
        self.previous = current


def train(lr, seed, *, callbacks=()):
    """One run: fresh mlp([64, 64, 10]) from `seed`, SGD with momentum 0.9, EPOCHS epochs."""
    model = mlp([64, 64, 10], rng=seed)
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    movement = WeightMovement()
    history = fit(model, loss, optimizer, X_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE,
                  validation_data=(X_val, y_val), callbacks=[movement, *callbacks], rng=seed)
    history.movement = np.array(movement.distances)
    return history


runs = {}  # (name, seed) -> History, so that a run used twice is trained once


def run(name, lr, seed, callbacks=()):
    if (name, seed) not in runs:
        runs[name, seed] = train(lr, seed, callbacks=callbacks)
    return runs[name, seed]


# %% [markdown]
# ## 1. What a fixed learning rate leaves on the table
#
# Three runs per seed, all 680 updates long:
#
# - a **large** fixed rate, 0.3 (with momentum 0.9, while successive gradients agree, each step moves
#   about $0.3 / (1 - 0.9) = 3$ times the gradient once the velocity has built up);
# - a **small** fixed rate, 0.03;
# - **large, then small**: 0.3 for the first 10 epochs, 0.03 for the last 10 (one step of decay).

# %% tags=["nbval-ignore-output"]
first_look = {
    "large: 0.3": schedules.Constant(0.3),
    "small: 0.03": schedules.Constant(0.03),
    "0.3, then 0.03 from epoch 10": schedules.MultiStepDecay(0.3, milestones=[10 * STEPS_PER_EPOCH], gamma=0.1),
}
for (name, lr), seed in tqdm([(item, seed) for item in first_look.items() for seed in SEEDS], desc="runs"):
    run(name, lr, seed)


def summary(name, key):
    """Mean and standard deviation over seeds of the last epoch's `key`."""
    values = np.array([runs[name, seed].history[key][-1] for seed in SEEDS])
    return values.mean(), values.std(ddof=1)


print(f"{'run':30s} {'train loss':>17s} {'val loss':>15s} {'val acc':>15s} {'weights moved':>15s}")
print(f"{'':30s} {'(last epoch)':>17s} {'':>15s} {'':>15s} {'(last 5 epochs)':>15s}")
first_look_table = {}
for name in first_look:
    train_loss, val_loss, val_acc = (summary(name, key) for key in ("loss", "val_loss", "val_accuracy"))
    moved = np.mean([runs[name, seed].movement[-5:].mean() for seed in SEEDS])
    first_look_table[name] = {"train_loss": train_loss[0], "val_loss": val_loss[0], "moved": moved}
    print(f"{name:30s} {train_loss[0]:8.4f} ± {train_loss[1]:.4f} {val_loss[0]:7.3f} ± {val_loss[1]:.3f} "
          f"{val_acc[0]:7.3f} ± {val_acc[1]:.3f} {moved:15.3f}")
print("mean ± standard deviation over 5 seeds; 'weights moved': mean distance per epoch")
print()
print("training loss (mean over seeds) at the end of epochs 9 to 13:")
for name in first_look:
    curve = np.mean([runs[name, seed].history["loss"] for seed in SEEDS], axis=0)
    print(f"  {name:30s}", "  ".join(f"{value:.4f}" for value in curve[8:13]))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
epochs = np.arange(1, EPOCHS + 1)
for name in first_look:
    train_losses = np.array([runs[name, seed].history["loss"] for seed in SEEDS])
    movements = np.array([runs[name, seed].movement for seed in SEEDS])
    axes[0].plot(epochs, train_losses.mean(axis=0), marker=".", label=name)
    axes[1].plot(epochs, movements.mean(axis=0), marker=".", label=name)
axes[0].set(yscale="log", xlabel="epoch", ylabel="training loss (mean over 5 seeds, log scale)",
            title="Training loss")
axes[1].set(yscale="log", xlabel="epoch", ylabel="distance moved by the weights in the epoch",
            title="How far the weights move per epoch")
for ax in axes:
    ax.axvline(10.5, color="0.6", linestyle=":", linewidth=1)
    ax.legend()
fig.suptitle("A fixed learning rate against one step of decay (mlp on digits, SGD momentum 0.9)")
plt.show()

# %%
large, small, dropped = (first_look_table[name] for name in first_look)
assert dropped["train_loss"] < min(large["train_loss"], small["train_loss"])
assert dropped["val_loss"] < large["val_loss"]
assert dropped["moved"] < small["moved"] < large["moved"]
assert dropped["val_loss"] > 0.9 * small["val_loss"]  # ... but not clearly below the small rate: see the text
assert large["moved"] / small["moved"] > 9
assert small["train_loss"] / dropped["train_loss"] > 2.5 and large["train_loss"] / dropped["train_loss"] > 1.5
drop_curve = np.mean([runs["0.3, then 0.03 from epoch 10", seed].history["loss"] for seed in SEEDS], axis=0)
assert drop_curve[9] / drop_curve[11] > 5  # epoch 10 -> epoch 12: more than 5 times lower
small_curve = np.mean([runs["small: 0.03", seed].history["loss"] for seed in SEEDS], axis=0)
assert small_curve[9] < drop_curve[9]  # at epoch 10 the small rate is ahead of the large one

# %% [markdown]
# For the first 10 epochs the large-rate run and the dropped run are the same run (same seed, same
# rate), so their curves coincide. By epoch 10 the large rate has stopped making steady progress: its
# training loss creeps down unevenly (at epoch 10 the small rate is even ahead, printed above),
# and even in the last five epochs its weights still move about 2.5 units
# per epoch, about ten times as far as with the small rate. The weights are not settling into a minimum; they
# keep bouncing around in a region whose size is set by the rate.
#
# The moment the rate drops to 0.03 the picture changes: the training loss falls more than five-fold in
# two epochs (printed above) and the weights move less per epoch than in the run that
# used 0.03 from the start. After 20 epochs the dropped run has the lowest training loss of the three,
# several times lower than the small rate's and the large rate's (the table). The small rate
# learned steadily but never made the large early steps.
#
# On the **validation** loss the dropped run beats the large fixed rate, but not clearly the small one
# (within a few hundredths of it, above it in most runs): a lower training loss is not automatically a
# better model. With 1,077 training
# images this network can drive its training loss close to zero, and the validation loss then depends on
# more than how well the training set is fitted. We come back to this in the fair comparison below.

# %% [markdown]
# ## 2. A catalogue of decay schedules
#
# Notation: $\eta_t$ is the learning rate of update $t$ ($t = 0, 1, \dots$), $\eta_0$ the initial rate,
# $T$ the number of updates in the run. Each schedule below equals, step for step, the PyTorch or Keras
# schedule named beside it (the tests of `lrcourse.schedules` check this).
#
# | schedule | $\eta_t$ | same as |
# |---|---|---|
# | `StepDecay(η0, step_size=s, gamma=γ)` | $\eta_0\,\gamma^{\lfloor t/s \rfloor}$ | PyTorch `StepLR` |
# | `MultiStepDecay(η0, milestones, gamma=γ)` | $\eta_0\,\gamma^{\#\{m \in \text{milestones}:\ m \le t\}}$ | PyTorch `MultiStepLR` |
# | `ExponentialDecay(η0, decay_steps=s, decay_rate=r)` | $\eta_0\, r^{t/s}$ (staircase: $r^{\lfloor t/s\rfloor}$) | Keras `ExponentialDecay` |
# | `InverseTimeDecay(η0, decay_steps=s, decay_rate=r)` | $\eta_0 / (1 + r\, t/s)$ | Keras `InverseTimeDecay` |
# | `PolynomialDecay(η0, decay_steps=s, end_lr=η_e, power=p)` | $(\eta_0 - \eta_e)(1 - \min(t, s)/s)^p + \eta_e$ | Keras `PolynomialDecay` |
# | `CosineDecay(η0, decay_steps=s, alpha=α)` | $\eta_0\big((1-\alpha)\tfrac{1}{2}(1 + \cos(\pi \min(t,s)/s)) + \alpha\big)$ | Keras `CosineDecay` |
# | `LinearWarmup(schedule, warmup_steps=w)` | $\eta_{\text{sched}}(0)\, t / w$ for $t < w$, then $\eta_{\text{sched}}(t - w)$ | (Keras: `CosineDecay(warmup_steps=...)`) |
#
# Polynomial decay with power 1 is the **linear** decay. The schedules below all start at
# $\eta_0 = 0.3$ and are set up for our budget of $T = 680$ updates; the parameters are the ones used
# in the comparison of section 3.

# %%
def make_schedules(initial_lr):
    """The decay schedules compared in this lesson, all starting at (or warming up to) `initial_lr`."""
    warmup_steps = 2 * STEPS_PER_EPOCH
    return {
        "constant": schedules.Constant(initial_lr),
        "step (x0.5 every 5 epochs)": schedules.StepDecay(initial_lr, step_size=5 * STEPS_PER_EPOCH, gamma=0.5),
        "multi-step (x0.1 at epochs 10, 15)": schedules.MultiStepDecay(
            initial_lr, milestones=[10 * STEPS_PER_EPOCH, 15 * STEPS_PER_EPOCH], gamma=0.1),
        "exponential (to 1/100)": schedules.ExponentialDecay(initial_lr, decay_steps=TOTAL_STEPS, decay_rate=0.01),
        "inverse-time": schedules.InverseTimeDecay(initial_lr, decay_steps=STEPS_PER_EPOCH, decay_rate=0.5),
        "linear (to 0)": schedules.PolynomialDecay(initial_lr, decay_steps=TOTAL_STEPS, end_lr=0.0, power=1.0),
        "cosine (to 0)": schedules.CosineDecay(initial_lr, decay_steps=TOTAL_STEPS),
        "warmup 2 epochs + cosine": schedules.LinearWarmup(
            schedules.CosineDecay(initial_lr, decay_steps=TOTAL_STEPS - warmup_steps), warmup_steps=warmup_steps),
    }


decays = make_schedules(0.3)
for name, schedule in decays.items():
    print(f"{name:36s} {schedule!r}")

# %% [markdown]
# A schedule is a function of the update number, and it also accepts a whole array of update numbers,
# which is how the plots below get all 680 values in one call:

# %%
steps = np.arange(TOTAL_STEPS)
cosine = decays["cosine (to 0)"]
print(cosine(0), cosine(TOTAL_STEPS // 2), cosine(np.array([0, 170, 340, 510, 679])).round(5))
assert cosine(TOTAL_STEPS // 2) == 0.3 * 0.5 * (1 + np.cos(np.pi / 2))  # half-way: half the initial rate

# %%
fig, axes = plt.subplots(2, 4, figsize=(14, 6), sharex=True, sharey=True, layout="constrained")
for ax, (name, schedule) in zip(axes.flat, decays.items()):
    plot.schedule(schedule, steps, ax=ax, label=name, color="C0")
    ax.set_title(name)
    ax.set_ylim(0, 0.32)
    ax.secondary_xaxis("top", functions=(lambda t: t / STEPS_PER_EPOCH, lambda e: e * STEPS_PER_EPOCH)).set_xlabel(
        "epoch")
fig.suptitle(f"Learning rate against update number for each schedule ({TOTAL_STEPS} updates = {EPOCHS} epochs)")
plt.show()

# %% [markdown]
# On a log scale the same curves show how many decades each schedule covers, and where it spends its
# updates:

# %%
fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
for name, schedule in decays.items():
    plot.schedule(schedule, steps, ax=ax, label=name, log=True)
ax.set_title("All schedules on a log scale")
ax.set_ylabel("learning rate (log scale)")
ax.legend(fontsize=8, loc="lower left")
plt.show()

# %% [markdown]
# A useful single number for a schedule is its **mean learning rate** over the run: with plain SGD the
# weights travel, roughly, in proportion to the sum of the rates. The table gives the rate at a few
# points of the run and that mean.

# %%
checkpoints = [0, TOTAL_STEPS // 4, TOTAL_STEPS // 2, 3 * TOTAL_STEPS // 4, TOTAL_STEPS - 1]
print(f"{'schedule':36s}" + "".join(f"{'t=' + str(t):>9s}" for t in checkpoints) + f"{'mean':>9s}")
mean_lr = {}
for name, schedule in decays.items():
    values = schedule(steps)
    mean_lr[name] = values.mean()
    print(f"{name:36s}" + "".join(f"{schedule(t):9.4f}" for t in checkpoints) + f"{values.mean():9.4f}")

# %% [markdown]
# The mean rate differs a lot between schedules that all start at 0.3. Exponential and inverse-time
# decay spend most of the run at small rates (mean about 0.07, less than a quarter of $\eta_0$); linear,
# cosine and warmup + cosine keep half of it (0.150), and so does multi-step, which holds 0.3 for half
# the run and then drops by factors of ten. Cosine and linear have the same mean; cosine stays near the
# peak longer at the start and approaches zero more gently at the end. When two schedules are compared,
# part of any difference can come from the mean rate alone, which is why section 3 adds a constant rate
# equal to the mean of the cosine schedule.
#
# ### Warmup
#
# The first updates of a run are special: the weights are random, the gradients are large and point in
# directions that the next batches will partly undo, and momentum (or Adam's running averages) has no
# history yet. A **warmup** raises the rate linearly from (near) zero to its peak over the first few
# hundred updates and only then starts the decay. It was popularised for large-batch training and
# for transformers, where a full rate from update 0 often diverges. Here it takes the first 2 epochs
# (68 updates); section 4 measures whether it helps on the digits.
#
# ### Reduce on plateau
#
# All the schedules above are fixed in advance. `ReduceLROnPlateau` instead *watches* a metric (here
# the validation loss, computed at the end of every epoch) and multiplies the rate by `factor` once the
# metric has not improved for `patience` epochs. Its decisions depend on the run, so it has no closed
# form: the plot shows what it did in one run. It composes with any schedule (it scales what the
# schedule gives, through `optimizer.lr_scale`); here it scales a constant 0.3. Keras' defaults
# (`factor=0.1, patience=10`) are made for runs of hundreds of epochs; for our 20 epochs we use
# `factor=0.3, patience=2`.

# %% tags=["nbval-ignore-output"]
def plateau_callbacks():
    return [ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2)]


history = run("reduce on plateau (x0.3, patience 2)", 0.3, seed=0, callbacks=plateau_callbacks())
ax = plot.history(history, metric="loss")
ax.set_title("ReduceLROnPlateau on a constant 0.3: losses and the rate it chose (seed 0)")
plt.show()
print("learning rate at the end of each epoch:", np.round(history.history["lr"], 4).tolist())

# %% [markdown]
# ## 3. A fair comparison
#
# Now every schedule gets exactly the same chance: the same network and initial weights, the same
# batches in the same order (both fixed by the seed), the same 680 updates, the same initial (peak)
# rate 0.3 and momentum 0.9; five seeds each. Two more runs complete the field:
#
# - **reduce on plateau** from 0.3, as above;
# - a **constant 0.15**: the mean rate of the cosine and linear schedules. If a decay only helped by
#   lowering the average rate, this constant would do as well.
#
# We report the validation accuracy and loss after the last epoch and the training loss of the last
# epoch, as mean ± standard deviation over the seeds. The test set stays untouched (lesson 08 uses it
# once, at the very end).

# %% tags=["nbval-ignore-output"]
contenders = dict(decays)
contenders["reduce on plateau (x0.3, patience 2)"] = schedules.Constant(0.3)
contenders["constant 0.15 (= mean of cosine)"] = schedules.Constant(0.15)
runs_for = {name: name for name in contenders}
runs_for["constant"] = "large: 0.3"  # the same runs as in section 1: no need to train them again

jobs = [(name, seed) for name in contenders for seed in SEEDS]
for name, seed in tqdm(jobs, desc="schedules x seeds"):
    callbacks = plateau_callbacks() if name.startswith("reduce on plateau") else ()
    run(runs_for[name], contenders[name], seed, callbacks=callbacks)


def result_row(run_name):
    val_acc, val_loss, train_loss = (np.array([runs[run_name, s].history[k][-1] for s in SEEDS])
                                     for k in ("val_accuracy", "val_loss", "loss"))
    return {"val_acc": val_acc, "val_loss": val_loss, "train_loss": train_loss}


def print_table(rows):
    print(f"{'schedule':38s} {'val accuracy':>15s} {'val loss':>15s} {'train loss':>17s}")
    for name, r in rows.items():
        print(f"{name:38s} {r['val_acc'].mean():7.3f} ± {r['val_acc'].std(ddof=1):.3f} "
              f"{r['val_loss'].mean():7.3f} ± {r['val_loss'].std(ddof=1):.3f} "
              f"{r['train_loss'].mean():8.4f} ± {r['train_loss'].std(ddof=1):.4f}")
    print(f"mean ± standard deviation over {len(SEEDS)} seeds, after {EPOCHS} epochs ({TOTAL_STEPS} updates)")


results = {name: result_row(runs_for[name]) for name in contenders}
print_table(results)

# %% tags=["nbval-ignore-output"]
constant = results["constant"]
decay_names = [name for name in contenders if name not in ("constant", "constant 0.15 (= mean of cosine)")]
print(f"{'schedule':38s} seeds (of 5) with a lower val loss than constant 0.3 | than constant 0.15")
for name in decay_names:
    wins = int(np.sum(results[name]["val_loss"] < constant["val_loss"]))
    wins_half = int(np.sum(results[name]["val_loss"] < results["constant 0.15 (= mean of cosine)"]["val_loss"]))
    print(f"{name:38s} {wins:>20d} {wins_half:>30d}")

# %%
fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
names = list(results)
for i, name in enumerate(names):
    values = results[name]["val_loss"]
    ax.scatter(np.full(len(values), i), values, color="C0", alpha=0.6, label="one seed" if i == 0 else None)
    ax.errorbar(i + 0.15, values.mean(), yerr=values.std(ddof=1), fmt="o", color="C3", capsize=4,
                label="mean ± std" if i == 0 else None)
ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
ax.set_ylabel("validation loss after 20 epochs")
ax.set_title("Final validation loss of each schedule, initial rate 0.3 (5 seeds each)")
ax.legend()
plt.show()

# %% tags=["nbval-ignore-output"]
decay_table = {name: results[name] for name in decay_names}
decay_means = {name: r["val_loss"].mean() for name, r in decay_table.items()}
assert all(mean < constant["val_loss"].mean() for mean in decay_means.values())
control = results["constant 0.15 (= mean of cosine)"]
assert abs(control["val_loss"].mean() - results["cosine (to 0)"]["val_loss"].mean()) < 2 * control["val_loss"].std(ddof=1)
assert all(r["val_loss"].std(ddof=1) < constant["val_loss"].std(ddof=1) for r in decay_table.values())
best_gain = max(r["val_acc"].mean() for r in decay_table.values()) - constant["val_acc"].mean()
assert best_gain < 0.03  # at most about ten of the 360 validation images
gap = max(decay_means.values()) - min(decay_means.values())
assert gap < 2 * max(r["val_loss"].std(ddof=1) for r in decay_table.values())
print(f"spread of the mean val loss across decay schedules: {gap:.3f}")

# %% [markdown]
# What the table says:
#
# - **Every decay schedule beat the constant 0.3** on the mean validation loss, in most seeds (the
#   table counts them). Decay also removes most of the seed-to-seed spread of the constant 0.3, whose
#   worst seed ends far above the others. The accuracy gains are small: at most a few of the 360
#   validation images.
# - **The shape of the decay matters much less than decaying at all.** The best and the worst decay
#   differ in mean validation loss by about two hundredths, of the order of the seed-to-seed standard
#   deviation of a single schedule. The schedules that end near zero (linear, cosine, warmup + cosine)
#   drive the training loss lowest, which, again, does not make their validation loss the lowest.
# - **On the digits, a constant 0.15 did about as well as the decays.** Never decayed, but with the same
#   mean rate as cosine, its validation loss is within noise of cosine's (the table, and the counts of
#   seeds each decay won). On this problem and budget, most of what decaying from 0.3 buys is a lower
#   average rate, which a well-chosen constant also gives.
#
# This does not say that decay is useless: it says that "start at 0.3 and decay" and "use 0.15" are
# about equally good here. Which initial rate is "large" is the question of the next section.

# %% [markdown]
# ## 4. Does it depend on the initial rate?
#
# 0.3 is a *large* initial rate for this network (lesson 06 will find the range where the loss still
# falls). Decay is often sold as a cure for a rate that is too large, and warmup as what lets a large
# rate start at all. So we repeat three of the contenders (constant, cosine and warmup + cosine) with
# initial rates from 0.03 to 0.5.

# %% tags=["nbval-ignore-output"]
initial_lrs = [0.03, 0.1, 0.3, 0.5]
sensitivity_names = ["constant", "cosine (to 0)", "warmup 2 epochs + cosine"]
jobs = [(lr, name, seed) for lr in initial_lrs for name in sensitivity_names for seed in SEEDS]


def sensitivity_run_name(lr, name):
    if lr == 0.3:
        return runs_for[name]  # section 3
    if lr == 0.03 and name == "constant":
        return "small: 0.03"  # section 1
    return f"{name} from {lr}"


for lr, name, seed in tqdm(jobs, desc="initial lr x schedule x seeds"):
    run(sensitivity_run_name(lr, name), make_schedules(lr)[name], seed)

sensitivity = {(lr, name): result_row(sensitivity_run_name(lr, name))
               for lr in initial_lrs for name in sensitivity_names}
for metric, label in (("val_acc", "validation accuracy"), ("val_loss", "validation loss")):
    print(f"{label:28s}" + "".join(f"{'η0 = ' + str(lr):>17s}" for lr in initial_lrs))
    for name in sensitivity_names:
        cells = "".join(f"{sensitivity[lr, name][metric].mean():9.3f} ± {sensitivity[lr, name][metric].std(ddof=1):.3f}"
                        for lr in initial_lrs)
        print(f"{name:28s}{cells}")
    print()

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for offset, name in zip((-0.03, 0.0, 0.03), sensitivity_names):
    for ax, metric in zip(axes, ("val_acc", "val_loss")):
        means = [sensitivity[lr, name][metric].mean() for lr in initial_lrs]
        stds = [sensitivity[lr, name][metric].std(ddof=1) for lr in initial_lrs]
        xs = np.array(initial_lrs) * 10 ** offset  # nudge the points apart so the error bars do not overlap
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=name)
for ax, label in zip(axes, ("validation accuracy", "validation loss")):
    ax.set(xscale="log", xlabel="initial learning rate η0 (log scale)", ylabel=f"{label} after 20 epochs",
           title=f"{label.capitalize()} against the initial rate")
    ax.set_xticks(initial_lrs, [str(lr) for lr in initial_lrs])
    ax.minorticks_off()
    ax.legend()
fig.suptitle("Constant, cosine and warmup + cosine from four initial rates (mean ± std over 5 seeds)")
plt.show()

# %% tags=["nbval-ignore-output"]
def mean_of(lr, name, metric):
    return sensitivity[lr, name][metric].mean()


assert mean_of(0.03, "cosine (to 0)", "val_loss") > mean_of(0.03, "constant", "val_loss")
best_cell = min(sensitivity, key=lambda cell: sensitivity[cell]["val_loss"].mean())
assert best_cell == (0.1, "cosine (to 0)"), best_cell
assert mean_of(0.5, "constant", "val_acc") < mean_of(0.5, "cosine (to 0)", "val_acc") < mean_of(
    0.5, "warmup 2 epochs + cosine", "val_acc")
for lr in (0.03, 0.1):  # warmup changes nothing beyond noise at small rates
    difference = abs(mean_of(lr, "warmup 2 epochs + cosine", "val_loss") - mean_of(lr, "cosine (to 0)", "val_loss"))
    assert difference < sensitivity[lr, "cosine (to 0)"]["val_loss"].std(ddof=1)
print("best cell:", best_cell)

# %% [markdown]
# - **From a small rate (0.03), decay does not help**: cosine ends with a *higher* validation loss than
#   the constant, with the same accuracy within noise. Decaying a rate that is already small only makes
#   the run slower.
# - **From 0.1, the best cell of the grid**: cosine from 0.1 has the lowest mean validation loss of
#   this grid; the constant 0.1 is close behind.
# - **The larger the initial rate, the more decay matters.** At 0.5 the constant rate fails (mean
#   accuracy far below the others, with a large spread between seeds); cosine rescues most of it and
#   warmup + cosine more. At 0.03 and 0.1 warmup made no difference beyond noise; at 0.5 it did.
#
# Decay is a safety net for a rate that is too large, and a small refinement of a rate that is good.
# It does not replace finding a good rate, and a decay from a well-chosen rate is the best we found.

# %% [markdown]
# ## Summary
#
# - A fixed large rate keeps the weights moving: ten times as far per epoch as a small rate, with the
#   training loss stalling. Dropping the rate lets them settle at once: the training loss fell more than
#   five-fold within two epochs of a single drop.
# - Step, multi-step, exponential, inverse-time, polynomial (linear), cosine and warmup schedules are
#   closed-form functions of the update number in `lrcourse.schedules`; reduce-on-plateau reacts to the
#   validation loss instead (`lrcourse.ReduceLROnPlateau`, which scales any schedule).
# - In a fair comparison from 0.3 (same weights, batches and 680 updates, five seeds) every decay beat
#   the constant 0.3, the decays were within noise of each other, and a constant 0.15 (the mean rate of
#   cosine) did about as well as them.
# - Decay helps more the larger the initial rate, and not at all from a small one; warmup helped only
#   clearly only at the largest rate tried (0.5). The best runs came from a good initial rate (0.1) with a decay.
# - So: first find the range of good rates (lesson 06, the range test), then decay from the top of it.
#
# **Exercise:** `exercises/05_learning_rate_decay.ipynb` has you write step decay, exponential decay,
# cosine annealing and a warm-up followed by cosine, and choose a decay rate that reaches a target rate,
# each checked by a `check("q1")` cell (or all at once with `python -m lrcourse.grade`).
