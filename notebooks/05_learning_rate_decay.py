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
#    same number of updates, repeated over ten paired seeds;
# 4. repeats the key comparison on two more datasets (spirals, moons), because a claim measured on one
#    dataset is a claim about that dataset;
# 5. checks how the answer depends on the initial learning rate, and what warmup adds;
# 6. chains the pieces the way they are used: a range test picks the starting rate of a decay, and early
#    stopping watches the run.
#
# Every schedule here is a small object from `lrcourse.schedules`: a pure function of the update
# number `t` (0 for the first update) that an optimizer accepts in place of a fixed `lr`.

# %%
import functools

import matplotlib.pyplot as plt
import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

import lrcourse
from lrcourse import SGD, EarlyStopping, ReduceLROnPlateau, SoftmaxCrossEntropy, fit, mlp
from lrcourse import plot, schedules
from lrcourse.rangetest import lr_range_test

threadpool_limits(1)  # the matrices here are tiny: one BLAS thread is faster than several

(X_train, y_train), (X_val, y_val), (X_test, y_test) = lrcourse.data.digits(rng=0)
loss = SoftmaxCrossEntropy()

EPOCHS = 20
BATCH_SIZE = 32
STEPS_PER_EPOCH = int(np.ceil(len(X_train) / BATCH_SIZE))
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH  # the update budget every run gets
SEEDS = range(10)
print(f"{len(X_train)} training images, batches of {BATCH_SIZE}: {STEPS_PER_EPOCH} updates per epoch, "
      f"{TOTAL_STEPS} updates in {EPOCHS} epochs")

# %% [markdown]
# Throughout the lesson the model is `mlp([64, 64, 10])` trained by SGD with momentum 0.9 (the
# optimizer most schedules in the literature were designed for) on batches of 32 images. A run is
# identified by its learning rate (a number or a schedule) and a **seed**; the seed fixes the initial
# weights *and* the order of the mini-batches, so two runs with the same seed differ only in their
# learning rates: a *paired* comparison. Every comparison uses ten seeds and says in how many of them one
# schedule beat the other; the runs go two at a time on two processor cores (`joblib`).
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


DATASETS = {  # name -> (training set, validation set, layer sizes)
    "digits": ((X_train, y_train), (X_val, y_val), [64, 64, 10]),
    "spirals": (lrcourse.data.spirals(600, noise=0.5, rng=0), lrcourse.data.spirals(600, noise=0.5, rng=1),
                [2, 64, 64, 3]),
    "moons": (lrcourse.data.moons(600, noise=0.3, rng=0), lrcourse.data.moons(600, noise=0.3, rng=1), [2, 64, 64, 2]),
}
WATCHERS = {  # callbacks that make their own decisions; built fresh for every run
    "plateau": lambda: [ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2)],
    "early stopping": lambda: [EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)],
}


def train(lr, seed, *, dataset="digits", watcher=None):
    """One run: fresh mlp from `seed`, SGD with momentum 0.9, EPOCHS epochs on `dataset`."""
    (X, y), validation, sizes = DATASETS[dataset]
    model = mlp(sizes, rng=seed)
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    movement = WeightMovement()
    callbacks = [movement, *(WATCHERS[watcher]() if watcher else [])]
    history = fit(model, loss, optimizer, X, y, epochs=EPOCHS, batch_size=BATCH_SIZE,
                  validation_data=validation, callbacks=callbacks, rng=seed)
    history.movement = np.array(movement.distances)
    history.returned = lrcourse.evaluate(model, loss, *validation)  # the weights fit hands back
    return history


runs = {}  # (dataset, name, seed) -> History, so that a run used twice is trained once


def train_all(contenders, dataset="digits", watchers=None):
    """Train every (name -> lr) of `contenders` on every seed, two runs at a time; skip runs already done."""
    watchers = watchers or {}
    jobs = [(name, lr, seed) for name, lr in contenders.items() for seed in SEEDS
            if (dataset, name, seed) not in runs]
    done = Parallel(n_jobs=2)(delayed(train)(lr, seed, dataset=dataset, watcher=watchers.get(name))
                              for name, lr, seed in tqdm(jobs, desc=f"{dataset} runs"))
    runs.update({(dataset, name, seed): history for (name, _, seed), history in zip(jobs, done)})


def final(name, key, dataset="digits"):
    """The last epoch's `key` for every seed, as an array."""
    return np.array([runs[dataset, name, seed].history[key][-1] for seed in SEEDS])


def wins(a, b, dataset="digits", key="val_loss"):
    """In how many paired seeds `a` ended with a lower `key` (higher, for an accuracy) than `b`."""
    sign = -1 if "acc" in key else 1
    return int(np.sum(sign * final(a, key, dataset) < sign * final(b, key, dataset)))


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
train_all(first_look)

print(f"{'run':30s} {'train loss':>17s} {'val loss':>15s} {'val acc':>15s} {'weights moved':>15s}")
print(f"{'':30s} {'(last epoch)':>17s} {'':>15s} {'':>15s} {'(last 5 epochs)':>15s}")
first_look_table = {}
for name in first_look:
    train_loss, val_loss, val_acc = (final(name, key) for key in ("loss", "val_loss", "val_accuracy"))
    moved = np.mean([runs["digits", name, seed].movement[-5:].mean() for seed in SEEDS])
    first_look_table[name] = {"train_loss": train_loss.mean(), "val_loss": val_loss.mean(), "moved": moved}
    print(f"{name:30s} {train_loss.mean():8.4f} ± {train_loss.std(ddof=1):.4f} {val_loss.mean():7.3f} ± "
          f"{val_loss.std(ddof=1):.3f} {val_acc.mean():7.3f} ± {val_acc.std(ddof=1):.3f} {moved:15.3f}")
print(f"mean ± standard deviation over {len(SEEDS)} seeds; 'weights moved': mean distance per epoch")
print()
print("training loss (mean over seeds) at the end of epochs 9 to 13:")
for name in first_look:
    curve = np.mean([runs["digits", name, seed].history["loss"] for seed in SEEDS], axis=0)
    print(f"  {name:30s}", "  ".join(f"{value:.4f}" for value in curve[8:13]))
dropped_name = "0.3, then 0.03 from epoch 10"
print(f"\nthe dropped run ends with a lower training loss than the small rate in {wins(dropped_name, 'small: 0.03', key='loss')} "
      f"of {len(SEEDS)} seeds, lower validation loss than the large rate in {wins(dropped_name, 'large: 0.3')}, "
      f"than the small rate in {wins(dropped_name, 'small: 0.03')}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
epochs = np.arange(1, EPOCHS + 1)
for name in first_look:
    train_losses = np.array([runs["digits", name, seed].history["loss"] for seed in SEEDS])
    movements = np.array([runs["digits", name, seed].movement for seed in SEEDS])
    axes[0].plot(epochs, train_losses.mean(axis=0), marker=".", label=name)
    axes[1].plot(epochs, movements.mean(axis=0), marker=".", label=name)
axes[0].set(yscale="log", xlabel="epoch", ylabel=f"training loss (mean over {len(SEEDS)} seeds, log scale)",
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
assert wins(dropped_name, "small: 0.03", key="loss") >= 8
assert dropped["val_loss"] < large["val_loss"] and wins(dropped_name, "large: 0.3") >= 6
assert dropped["val_loss"] > 0.9 * small["val_loss"]  # ... but not clearly below the small rate: see the text
assert dropped["moved"] < small["moved"] < large["moved"]
assert large["moved"] / small["moved"] > 8
assert small["train_loss"] / dropped["train_loss"] > 2.5 and large["train_loss"] / dropped["train_loss"] > 1.5
drop_curve = np.mean([runs["digits", dropped_name, seed].history["loss"] for seed in SEEDS], axis=0)
assert drop_curve[9] / drop_curve[11] > 4  # epoch 10 -> epoch 12: four times lower or more
small_curve = np.mean([runs["digits", "small: 0.03", seed].history["loss"] for seed in SEEDS], axis=0)
assert small_curve[9] < drop_curve[9]  # at epoch 10 the small rate is ahead of the large one

# %% [markdown]
# For the first 10 epochs the large-rate run and the dropped run are the same run (same seed, same
# rate), so their curves coincide. By epoch 10 the large rate has stopped making steady progress: its
# training loss creeps down unevenly (at epoch 10 the small rate is even ahead, printed above), and even
# in the last five epochs its weights still move about ten times as far per epoch as with the small rate.
# The weights are not settling into a minimum; they keep bouncing around in a region whose size is set by
# the rate.
#
# The moment the rate drops to 0.03 the picture changes: the training loss falls several-fold in two
# epochs (printed above) and the weights move less per epoch than in the run that used 0.03 from the
# start. After 20 epochs the dropped run has the lowest mean training loss of the three, several times
# lower than the small rate's and the large rate's; seed by seed it is below the small rate's in (nearly)
# every seed, below the large rate's in most (the counts above). The small rate learned steadily but
# never made the large early steps.
#
# On the **validation** loss the dropped run beats the large fixed rate in most seeds, but not clearly
# the small one (the counts above): a lower training loss is not automatically a better model. With
# 1,077 training images this network can drive its training loss close to zero, and the validation loss
# then depends on more than how well the training set is fitted. We come back to this in the fair
# comparison below.

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
# in the comparison of section 3 (for another dataset, `make_schedules(η0, steps_per_epoch)` sets them up
# for its own number of updates per epoch).

# %%
def make_schedules(initial_lr, steps_per_epoch=STEPS_PER_EPOCH):
    """The decay schedules compared in this lesson, all starting at (or warming up to) `initial_lr`."""
    STEPS_PER_EPOCH, TOTAL_STEPS = steps_per_epoch, EPOCHS * steps_per_epoch  # noqa: N806 (other datasets)
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
# (68 updates); section 5 measures whether it helps on the digits.
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
PLATEAU = "reduce on plateau (x0.3, patience 2)"
train_all({PLATEAU: schedules.Constant(0.3)}, watchers={PLATEAU: "plateau"})
history = runs["digits", PLATEAU, SEEDS[0]]
ax = plot.history(history, metric="loss")
ax.set_title(f"ReduceLROnPlateau on a constant 0.3: losses and the rate it chose (seed {SEEDS[0]})")
plt.show()
print("learning rate at the end of each epoch:", np.round(history.history["lr"], 4).tolist())

# %% [markdown]
# ## 3. A fair comparison
#
# Now every schedule gets exactly the same chance: the same network and initial weights, the same
# batches in the same order (both fixed by the seed), the same 680 updates, the same initial (peak)
# rate 0.3 and momentum 0.9; ten seeds each. Two more runs complete the field:
#
# - **reduce on plateau** from 0.3, as above;
# - a **constant 0.15**: the mean rate of the cosine and linear schedules. If a decay only helped by
#   lowering the average rate, this constant would do as well.
#
# We report the validation accuracy and loss after the last epoch and the training loss of the last
# epoch, as mean ± standard deviation over the seeds, and count in how many seeds each decay beat each
# constant. The test set stays untouched (lesson 08 uses it once, at the very end).

# %% tags=["nbval-ignore-output"]
MEAN_OF_COSINE = "constant 0.15 (= mean of cosine)"
contenders = {"large: 0.3" if name == "constant" else name: lr for name, lr in decays.items()}  # section 1 ran it
contenders[MEAN_OF_COSINE] = schedules.Constant(0.15)
train_all(contenders)
names = list(contenders) + [PLATEAU]


def result_row(name, dataset="digits"):
    return {key: final(name, k, dataset) for key, k in
            (("val_acc", "val_accuracy"), ("val_loss", "val_loss"), ("train_loss", "loss"))}


def print_table(rows):
    print(f"{'schedule':38s} {'val accuracy':>15s} {'val loss':>15s} {'train loss':>17s}")
    for name, r in rows.items():
        print(f"{name:38s} {r['val_acc'].mean():7.3f} ± {r['val_acc'].std(ddof=1):.3f} "
              f"{r['val_loss'].mean():7.3f} ± {r['val_loss'].std(ddof=1):.3f} "
              f"{r['train_loss'].mean():8.4f} ± {r['train_loss'].std(ddof=1):.4f}")
    print(f"mean ± standard deviation over {len(SEEDS)} seeds, after {EPOCHS} epochs")


results = {name: result_row(name) for name in names}
print_table(results)
decay_names = [name for name in names if name not in ("large: 0.3", MEAN_OF_COSINE)]
print(f"\n{'schedule':38s} seeds (of {len(SEEDS)}) with a lower val loss than constant 0.3 | than constant 0.15")
for name in decay_names:
    print(f"{name:38s} {wins(name, 'large: 0.3'):>20d} {wins(name, MEAN_OF_COSINE):>30d}")

# %%
fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
for i, name in enumerate(names):
    values = results[name]["val_loss"]
    ax.scatter(np.full(len(values), i), values, color="C0", alpha=0.6, label="one seed" if i == 0 else None)
    ax.errorbar(i + 0.15, values.mean(), yerr=values.std(ddof=1), fmt="o", color="C3", capsize=4,
                label="mean ± std" if i == 0 else None)
ax.set_xticks(range(len(names)), [n.replace("large: 0.3", "constant 0.3") for n in names], rotation=30,
              ha="right", fontsize=8)
ax.set_ylabel("validation loss after 20 epochs")
ax.set_title(f"Final validation loss of each schedule on digits, initial rate 0.3 ({len(SEEDS)} seeds each)")
ax.legend()
plt.show()

# %%
constant, control = results["large: 0.3"], results[MEAN_OF_COSINE]
decay_means = {name: results[name]["val_loss"].mean() for name in decay_names}
assert all(mean < constant["val_loss"].mean() for mean in decay_means.values())
assert all(wins(name, "large: 0.3") >= 6 for name in decay_names)  # every decay beat 0.3 in most seeds
assert all(results[name]["val_loss"].std(ddof=1) < constant["val_loss"].std(ddof=1) for name in decay_names)
assert wins("cosine (to 0)", MEAN_OF_COSINE) <= 7  # digits: cosine does not reliably beat its mean rate
best_gain = max(results[name]["val_acc"].mean() for name in decay_names) - constant["val_acc"].mean()
assert best_gain < 0.03  # at most about ten of the 360 validation images
gap = max(decay_means.values()) - min(decay_means.values())
assert gap < 2 * max(results[name]["val_loss"].std(ddof=1) for name in decay_names)

# %% [markdown]
# What the table says, on the digits:
#
# - **Every decay schedule beat the constant 0.3** on the mean validation loss, in most of the ten
#   seeds (counted in the table). Decay also removes most of the seed-to-seed spread of the constant
#   0.3, whose worst seeds end far above the others. The accuracy gains are small: at most a few of the
#   360 validation images.
# - **The shape of the decay matters much less than decaying at all.** The best and the worst decay
#   differ in mean validation loss by a few hundredths, of the order of the seed-to-seed standard
#   deviation of a single schedule. The schedules that end near zero (linear, cosine, warmup + cosine)
#   drive the training loss lowest, which, again, does not make their validation loss the lowest.
# - **On the digits, a constant 0.15 did as well as cosine.** Never decayed, but with the same mean rate as
#   cosine, it is within noise of it: neither wins reliably (the count, column "than constant 0.15"; over
#   our runs on three BLAS kernels and two sets of ten seeds, cosine won in 1 to 6 of 10). Against the
#   other decays the counts vary too; none beats the constant by more than the seed-to-seed spread. Here, most of what decaying from 0.3 buys is a lower average
#   rate, which a well-chosen constant also gives.
#
# Is that last point a property of decay, or of the digits? The next section asks two other datasets.

# %% [markdown]
# ## 4. The same comparison on spirals and moons
#
# Two 2-D problems with noisy labels near the class boundaries: three interleaved **spirals**
# (`data.spirals(noise=0.5)`) and two **moons** (`data.moons(noise=0.3)`), 600 training points each and a
# fresh draw of 600 for validation, `mlp([2, 64, 64, k])`, the same optimizer, batch size, 20 epochs and
# ten paired seeds. Three contenders: the constant 0.3, cosine from 0.3 and the constant at cosine's mean
# rate, 0.15.

# %% tags=["nbval-ignore-output"]
OTHER = ("spirals", "moons")
for dataset in OTHER:
    steps_per_epoch = int(np.ceil(len(DATASETS[dataset][0][0]) / BATCH_SIZE))
    train_all({"large: 0.3": schedules.Constant(0.3),
               "cosine (to 0)": make_schedules(0.3, steps_per_epoch)["cosine (to 0)"],
               MEAN_OF_COSINE: schedules.Constant(0.15)}, dataset=dataset)
print(f"{'dataset':8s} {'schedule':34s} {'val accuracy':>15s} {'val loss':>15s}")
for dataset in ("digits",) + OTHER:
    for name in ("large: 0.3", "cosine (to 0)", MEAN_OF_COSINE):
        r = result_row(name, dataset)
        print(f"{dataset:8s} {name:34s} {r['val_acc'].mean():7.3f} ± {r['val_acc'].std(ddof=1):.3f} "
              f"{r['val_loss'].mean():7.3f} ± {r['val_loss'].std(ddof=1):.3f}")
print()
cosine_vs_mean = {}
for dataset in ("digits",) + OTHER:
    gain = final("cosine (to 0)", "val_accuracy", dataset) - final(MEAN_OF_COSINE, "val_accuracy", dataset)
    cosine_vs_mean[dataset] = (wins("cosine (to 0)", MEAN_OF_COSINE, dataset),
                               wins("cosine (to 0)", MEAN_OF_COSINE, dataset, key="val_accuracy"), gain)
    print(f"{dataset:8s} cosine beat the constant 0.15 in {cosine_vs_mean[dataset][0]:2d} of {len(SEEDS)} seeds "
          f"on the validation loss, {cosine_vs_mean[dataset][1]:2d} on accuracy "
          f"(accuracy difference {100 * gain.min():+.1f} to {100 * gain.max():+.1f} points)")

# %%
assert cosine_vs_mean["spirals"][0] >= 9 and cosine_vs_mean["moons"][0] >= 8
assert cosine_vs_mean["spirals"][1] >= 8
for dataset in OTHER:
    assert wins("cosine (to 0)", "large: 0.3", dataset) >= 9

# %% [markdown]
# On spirals and moons the answer is different: **cosine beat the constant at its own mean rate in
# (nearly) every seed** on the validation loss (the counts above), and on spirals on accuracy too, by up
# to a few points.
# On these problems the class boundary needs fine adjustments at the end of training, which only small
# final steps make; a constant rate, even the right average, keeps the weights moving by a fixed amount.
# What decay buys therefore depends on the problem: on the digits, mostly a lower mean rate; on the 2-D
# problems, a real gain from the small final steps. Both datasets agree that decaying from 0.3 beats
# staying at 0.3.

# %% [markdown]
# ## 5. Does it depend on the initial rate? And what does warmup add?
#
# 0.3 is a *large* initial rate for this network (lesson 06 will find the range where the loss still
# falls). Decay is often sold as a cure for a rate that is too large, and warmup as what lets a large
# rate start at all. So we repeat three of the contenders (constant, cosine and warmup + cosine) with
# initial rates 0.1, 0.3 and 0.5, on the digits, ten paired seeds each.

# %% tags=["nbval-ignore-output"]
initial_lrs = [0.1, 0.3, 0.5]
sensitivity_names = ["constant", "cosine (to 0)", "warmup 2 epochs + cosine"]


def sensitivity_run_name(lr, name):
    if lr == 0.3:
        return "large: 0.3" if name == "constant" else name  # section 3
    return f"{name} from {lr}"


for lr in initial_lrs:
    train_all({sensitivity_run_name(lr, name): make_schedules(lr)[name] for name in sensitivity_names})
sensitivity = {(lr, name): result_row(sensitivity_run_name(lr, name))
               for lr in initial_lrs for name in sensitivity_names}
for metric, label in (("val_acc", "validation accuracy"), ("val_loss", "validation loss")):
    print(f"{label:28s}" + "".join(f"{'η0 = ' + str(lr):>17s}" for lr in initial_lrs))
    for name in sensitivity_names:
        cells = "".join(f"{sensitivity[lr, name][metric].mean():9.3f} ± {sensitivity[lr, name][metric].std(ddof=1):.3f}"
                        for lr in initial_lrs)
        print(f"{name:28s}{cells}")
    print()

print("warmup + cosine against cosine alone, paired by seed (positive: warmup better)")
warmup_effect = {}
for lr in initial_lrs:
    cosine_name = sensitivity_run_name(lr, "cosine (to 0)")
    warm_name = sensitivity_run_name(lr, "warmup 2 epochs + cosine")
    difference = final(cosine_name, "val_loss") - final(warm_name, "val_loss")
    warmup_effect[lr] = (wins(warm_name, cosine_name), difference)
    print(f"  η0 = {lr}: warmup won in {warmup_effect[lr][0]:2d} of {len(SEEDS)} seeds; val loss difference "
          f"mean {difference.mean():+.3f}, from {difference.min():+.3f} to {difference.max():+.3f}")

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
fig.suptitle(f"Constant, cosine and warmup + cosine from three initial rates (mean ± std over {len(SEEDS)} seeds)")
plt.show()


# %%
def mean_of(lr, name, metric):
    return sensitivity[lr, name][metric].mean()


assert mean_of(0.5, "constant", "val_acc") < mean_of(0.5, "cosine (to 0)", "val_acc")
assert mean_of(0.5, "constant", "val_acc") < min(mean_of(lr, "constant", "val_acc") for lr in (0.1, 0.3))
assert warmup_effect[0.5][0] >= 5                                   # at 0.5, warmup helps in most seeds
assert warmup_effect[0.5][1].mean() > 0
assert warmup_effect[0.1][0] <= 7 and abs(warmup_effect[0.1][1].mean()) < 0.01  # at 0.1: no gain

# %% [markdown]
# - **The larger the initial rate, the more decay matters.** At 0.5 the constant rate fails (mean
#   accuracy well below the others, with a large spread between seeds); cosine rescues most of it.
# - **Warmup is a paired question, and the answer depends on the rate.** At 0.5, warmup + cosine beat
#   cosine alone in most seeds (the counts above; 6 or 7 of 10 in our runs) and on average, with a wide
#   spread: in a few seeds it lost. At 0.3 it also won in most seeds, by less. At 0.1 it did not help: it won in a minority of
#   the seeds, and the mean difference is a few thousandths. Warmup is a remedy for a start that is too
#   violent, and its gain grows with the rate; it is not a general improvement.
# - From 0.1, the constant and cosine are close; decaying a rate that is already moderate is a small
#   refinement.
#
# Decay is a safety net for a rate that is too large, and a refinement of a rate that is good, whose size
# depends on the problem (section 4). It does not replace finding a good rate.

# %% [markdown]
# ## 6. Putting it together: range test, then decay, with early stopping watching
#
# In practice the pieces are chained. Lesson 06 is about the **learning-rate range test**: one short run
# in which the rate grows exponentially from tiny to huge, one mini-batch per rate, while the loss is
# recorded; where the loss stops falling, the rate is too large. Its result suggests a *maximum* rate,
# and a decay schedule starts there. Here each seed runs its own range test (three sweeps from that seed's
# initial weights, `lr_range_test(..., repeats=3)`), takes `suggest_bounds()[1]` (a third of the rate at
# the lowest loss of the sweep) as $\eta_0$, and trains cosine from it. We compare the chain with cosine
# from 0.1 (the best start of section 5, found by a grid of full runs: the expensive way) and with a
# constant at the range test's rate.
#
# **Early stopping** (`EarlyStopping(patience=3, restore_best_weights=True)`) ends a run once the
# validation loss has not improved for 3 epochs and hands back the weights of the best epoch. With a
# decay schedule it has a catch: the schedule was planned for 680 updates, and a run stopped early never
# reaches the small final rates. We run the chain once more with early stopping and compare.

# %% tags=["nbval-ignore-output"]
def range_test_start(seed):
    result = lr_range_test(mlp([64, 64, 10], rng=seed), loss, X_train, y_train,
                           optimizer=functools.partial(SGD, momentum=0.9), start_lr=1e-4, end_lr=10.0,
                           num_iter=100, repeats=3, rng=seed)
    return result.suggest_bounds()[1]


range_lrs = dict(zip(SEEDS, Parallel(n_jobs=2)(delayed(range_test_start)(seed) for seed in SEEDS)))
chain_jobs = [(name, seed) for seed in SEEDS for name in ("range test -> cosine", "range test -> constant",
                                                           "range test -> cosine + early stopping")]


def chained(name, seed):
    lr = range_lrs[seed]
    schedule = schedules.Constant(lr) if name.endswith("constant") else schedules.CosineDecay(lr, TOTAL_STEPS)
    return train(schedule, seed, watcher="early stopping" if name.endswith("early stopping") else None)


done = Parallel(n_jobs=2)(delayed(chained)(name, seed) for name, seed in tqdm(chain_jobs, desc="chain runs"))
runs.update({("digits", name, seed): history for (name, seed), history in zip(chain_jobs, done)})
print("η0 from the range test, per seed:", ", ".join(f"{range_lrs[s]:.3f}" for s in SEEDS))
chain_names = ["range test -> cosine", "cosine (to 0) from 0.1", "range test -> constant",
               "range test -> cosine + early stopping"]
print(f"\n{'run':40s} {'val loss of the weights returned':>33s} {'epochs run':>11s}")
returned = {}
for name in chain_names:
    histories = [runs["digits", name, seed] for seed in SEEDS]
    returned[name] = np.array([h.returned["loss"] for h in histories])
    epochs_run = np.array([len(h.epoch) for h in histories])
    print(f"{name:40s} {returned[name].mean():18.3f} ± {returned[name].std(ddof=1):.3f} "
          f"{epochs_run.mean():11.1f}")
chain_wins = {other: int(np.sum(returned["range test -> cosine"] < returned[other])) for other in chain_names[1:]}
print("\nseeds (of 10) where range test -> cosine returned better weights than:", chain_wins)
early = [runs["digits", "range test -> cosine + early stopping", seed] for seed in SEEDS]
stopped = sum(h.stopped_epoch is not None for h in early)
print(f"early stopping ended {stopped} of {len(SEEDS)} runs before epoch {EPOCHS}")

# %%
assert all(0.05 < lr < 1.0 for lr in range_lrs.values())
assert chain_wins["range test -> constant"] >= 5          # the decay is worth having on top of the range test
assert returned["range test -> cosine"].mean() < 1.5 * returned["cosine (to 0) from 0.1"].mean()
assert chain_wins["cosine (to 0) from 0.1"] <= 7           # ... but the best start of the grid is not beaten
assert stopped >= 5                                         # early stopping cuts most cosine runs short

# %% [markdown]
# What the chain gives:
#
# - **The range test found the right order of magnitude in one short run per seed**: its suggestions lie
#   between about 0.15 and 0.3 (printed), at the upper end of the good range. Cosine from there returned
#   weights within a few hundredths of cosine from 0.1, the best start of section 5's grid of full runs,
#   but not better: the chain won in 2 to 6 of 10 seeds over our runs (the count above). The range test
#   costs 300 mini-batches instead of a grid of full trainings; it narrows the search, it does not end it.
# - **The decay is worth having on top of the range test**: at the same starting rate, cosine beat the
#   constant in most seeds (the count above; 6 to 10 of 10 in our runs).
# - **Early stopping and a decay planned for the whole run pull in different directions.** With patience 3,
#   early stopping ended most cosine runs around the middle of the budget (printed), while the rate was
#   still high, so those runs never reached the small final rates that make decay worth it. The weights
#   it returns are the best epoch's *by the validation loss it watched*, so their validation loss is an
#   optimistic estimate (lesson 08 keeps a separate test set for that reason); even so, in several seeds
#   they were worse than the full cosine run's. Use early stopping with a decay as a safety net with
#   generous patience, or with reduce-on-plateau, whose rate follows the run.

# %% [markdown]
# ## Summary
#
# - A fixed large rate keeps the weights moving: about ten times as far per epoch as a small rate, with
#   the training loss stalling. Dropping the rate lets them settle at once: the training loss fell
#   several-fold within two epochs of a single drop.
# - Step, multi-step, exponential, inverse-time, polynomial (linear), cosine and warmup schedules are
#   closed-form functions of the update number in `lrcourse.schedules`; reduce-on-plateau reacts to the
#   validation loss instead (`lrcourse.ReduceLROnPlateau`, which scales any schedule).
# - In a fair comparison from 0.3 (same weights, batches and updates, ten paired seeds) every decay beat
#   the constant 0.3 in most seeds, and the decays were within noise of each other.
# - What decay buys depends on the problem: on the digits a constant at cosine's mean rate did as well as
#   cosine; on spirals and moons cosine beat it in (nearly) every seed.
# - Decay helps more the larger the initial rate. Warmup, compared seed by seed, helped at the largest
#   rate tried (0.5: in 6 or 7 of 10 seeds in our runs, with a wide spread); at 0.1 it made no difference.
# - In practice: find the range of good rates with a range test (lesson 06), start a decay at its top,
#   and if you add early stopping, give it enough patience to let the decay finish.
#
# **Exercise:** `exercises/05_learning_rate_decay.ipynb` has you write step decay, exponential decay,
# cosine annealing and a warm-up followed by cosine, and choose a decay rate that reaches a target rate,
# each checked by a `check("q1")` cell (or all at once with `python -m lrcourse.grade`).
