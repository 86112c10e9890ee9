# %% [markdown]
# # 08 · Putting it together
#
# The last four lessons each took one piece of the learning-rate question apart: a fixed rate and its
# limit (04), decay schedules (05), the range test (06), cyclical schedules and early stopping (07).
# This lesson puts the pieces together in two ways.
#
# 1. **A recipe**, run end to end on two problems we have not tuned anything for: range test, bounds,
#    cyclical schedule, early stopping, and one final measurement on the test set, against a grid
#    search that got more compute, counting the updates each spends to find its rate.
# 2. **An experiment** on a claim that turns lesson 05 around: *Don't Decay the Learning Rate,
#    Increase the Batch Size* (Smith, Kindermans, Ying and Le, 2017, arXiv:1711.00489). Instead of
#    dividing the rate by some factor at a few milestones, multiply the batch size by the same factor;
#    the paper finds the same accuracy after the same number of epochs, with far fewer updates.

# %%
import functools

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

import lrcourse
from lrcourse import SGD, EarlyStopping, SoftmaxCrossEntropy, evaluate, fit, mlp, schedules
from lrcourse.rangetest import lr_range_test

threadpool_limits(1)  # the matrices here are tiny: one BLAS thread is faster than several

(X_train, y_train), (X_val, y_val), (X_test, y_test) = lrcourse.data.digits(rng=0)
loss = SoftmaxCrossEntropy()
print(f"train {len(X_train)}, validation {len(X_val)}, test {len(X_test)} images")

# %% [markdown]
# ## Part 1 · A recipe, against a tuned baseline
#
# The recipe: run the range test with the optimizer you will train with, take the bounds of
# `suggest_bounds()` (lesson 06), train with a triangular `CyclicLR` between them with a step size of
# 2 epochs (lesson 07), and stop with `EarlyStopping` on the validation loss, with a patience of one
# cycle (4 epochs) and `restore_best_weights=True` (lesson 07 showed that a shorter patience stops in
# the middle of a climb). No learning rate is chosen by hand.
#
# A recipe is only worth something against a baseline that got the same care. The baseline here is
# what one would do without a range test: a **grid search** over constant rates, 0.01, 0.03, 0.1 and
# 0.3 (a factor of about 3 apart), each trained with the same optimizer (SGD, momentum 0.9), the same
# early stopping and the same 40-epoch limit, keeping the rate with the lowest validation loss. Both
# sides pay for finding their rate, and we count what they pay in **updates**: the range test costs at
# most 5 sweeps of 100 updates, the grid search four full training runs.
#
# Two problems, each on 10 seeds (the seed fixes the initial weights, the batch order and the range
# test's batches), both new to the recipe, whose factors were first set on the smaller network of
# lessons 06-07:
#
# - the digits with `mlp([64, 128, 128, 10])`, two hidden layers of 128 units, about four times as many
#   weights as the network of lessons 05 to 07;
# - the three spirals of `lrcourse.data.spirals` (noise 0.3) with `mlp([2, 64, 64, 3])`; training,
#   validation and test sets are three independent draws of 600 points.
#
# Each **test set** is put aside until the very end, where it is used once, for numbers no decision
# depends on; every choice (the grid's winner, the epoch early stopping restores) is made on the
# validation set.

# %%
MAX_EPOCHS, BATCH_SIZE, PATIENCE = 40, 32, 4
GRID = (0.01, 0.03, 0.1, 0.3)
SEEDS = range(10)
RANGE_TEST = dict(start_lr=1e-5, end_lr=10.0, num_iter=100, repeats=5)
optimizer_factory = functools.partial(SGD, momentum=0.9)
spiral_sets = [lrcourse.data.spirals(600, noise=0.3, rng=r) for r in range(3)]  # train, validation, test
problems = {
    "digits": {"data": ((X_train, y_train), (X_val, y_val), (X_test, y_test)), "sizes": [64, 128, 128, 10]},
    "spirals": {"data": tuple(spiral_sets), "sizes": [2, 64, 64, 3]},
}
for name, problem in problems.items():
    (X, _), (X_v, _), (X_t, _) = problem["data"]
    problem["steps_per_epoch"] = int(np.ceil(len(X) / BATCH_SIZE))
    print(f"{name:8s} train {len(X)}, validation {len(X_v)}, test {len(X_t)}; mlp({problem['sizes']}), "
          f"{problem['steps_per_epoch']} updates per epoch")
print(f"range test: {RANGE_TEST['repeats']} x {RANGE_TEST['num_iter']} = "
      f"{RANGE_TEST['repeats'] * RANGE_TEST['num_iter']} updates at most; grid search: {len(GRID)} runs of up to "
      f"{MAX_EPOCHS} epochs")

# %% [markdown]
# One function trains one set-up with early stopping and measures the restored model; a second runs
# both sides on one problem and seed, and `lrcourse.sweep` runs that on every problem and seed, two at a
# time on two cores.

# %%
def train_with_early_stopping(problem, lr, seed):
    """SGD momentum 0.9 at `lr` (a rate or a schedule), early stopping; metrics of the restored weights."""
    (X, y), validation, test = problem["data"]
    model = mlp(problem["sizes"], rng=seed)
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    stopper = EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    fit(model, loss, optimizer, X, y, epochs=MAX_EPOCHS, batch_size=BATCH_SIZE, validation_data=validation,
        callbacks=[stopper], rng=seed)
    val, tested = evaluate(model, loss, *validation), evaluate(model, loss, *test)
    return {"updates": optimizer.iterations, "val_loss": val["loss"], "val_acc": val["accuracy"],
            "test_acc": tested["accuracy"]}


def range_test_of(name, seed):
    (X, y), _, _ = problems[name]["data"]
    return lr_range_test(mlp(problems[name]["sizes"], rng=seed), loss, X, y, optimizer=optimizer_factory,
                         batch_size=BATCH_SIZE, rng=seed, **RANGE_TEST)


def recipe_and_grid(name, seed):
    """Both sides on one problem and seed, as one flat dict: "recipe ..." and "tuned ..." entries."""
    problem = problems[name]
    range_test = range_test_of(name, seed)
    base_lr, max_lr = range_test.suggest_bounds()
    cyclic = schedules.CyclicLR(base_lr, max_lr, step_size_up=2 * problem["steps_per_epoch"])
    recipe = train_with_early_stopping(problem, cyclic, seed)
    recipe.update(tuning=len(range_test.lrs) * range_test.repeats, max_lr=max_lr)  # updates the sweeps made
    grid = {lr: train_with_early_stopping(problem, lr, seed) for lr in GRID}
    best_lr = min(grid, key=lambda lr: grid[lr]["val_loss"])  # chosen on validation, as a user would
    tuned = dict(grid[best_lr], lr=best_lr, tuning=sum(run["updates"] for run in grid.values()))
    return {**{f"recipe {key}": value for key, value in recipe.items()},
            **{f"tuned {key}": value for key, value in tuned.items()}}


part1 = {(row["name"], row["seed"]): {side: {key.removeprefix(side + " "): value for key, value in row.items()
                                             if key.startswith(side + " ")} for side in ("recipe", "tuned")}
         for row in lrcourse.sweep(recipe_and_grid, name=list(problems), seed=SEEDS, n_jobs=2)}

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
for ax, name in zip(axes, problems):
    range_test = range_test_of(name, 0)  # seed 0's range test of the sweep above, run again to draw it
    range_test.plot(ax=ax, suggestions=())
    base_lr, max_lr = range_test.suggest_bounds()
    ax.axvspan(base_lr, max_lr, color="C2", alpha=0.2, label="suggest_bounds()")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(f"{name}: range test of mlp({problems[name]['sizes']}), seed 0, 5 sweeps")
plt.show()

# %% tags=["nbval-ignore-output"]
def column(name, side, key):
    return np.array([part1[name, s][side][key] for s in SEEDS], dtype=float)


print(f"{'':22s} {'updates spent':>14s} {'updates of':>11s} {'val accuracy':>13s} {'val loss':>9s}")
print(f"{'':22s} {'finding a rate':>14s} {'final run':>11s}")
for name in problems:
    for side, label in (("recipe", "recipe"), ("tuned", "grid search")):
        print(f"{name + ', ' + label:22s} {column(name, side, 'tuning').mean():14.0f} "
              f"{column(name, side, 'updates').mean():11.0f} {column(name, side, 'val_acc').mean():13.3f} "
              f"{column(name, side, 'val_loss').mean():9.3f}")
    chosen = [part1[name, s]["tuned"]["lr"] for s in SEEDS]
    print(f"{'':22s} grid winners: " + ", ".join(f"{lr:g} ({chosen.count(lr)}x)" for lr in GRID if lr in chosen)
          + f"; recipe's max_lr {column(name, 'recipe', 'max_lr').min():.3f} to "
          f"{column(name, 'recipe', 'max_lr').max():.3f}")
print(f"mean over {len(SEEDS)} seeds; validation metrics of the restored (best) weights")
recipe_share = {}
for name in problems:
    recipe_cost = column(name, "recipe", "tuning") + column(name, "recipe", "updates")
    recipe_share[name] = recipe_cost / column(name, "tuned", "tuning")  # the final model is one of the grid's runs
print(f"recipe's updates (range test + training) / grid search's, largest over the seeds: "
      f"{max(share.max() for share in recipe_share.values()):.0%}")

# %%
for name in problems:
    assert np.all(column(name, "recipe", "tuning") <= 500) and np.all(column(name, "tuned", "tuning") > 1500)
assert max(share.max() for share in recipe_share.values()) < 0.6

# %% [markdown]
# The cost side is clear-cut: the recipe found its rates in at most 500 updates and trained once; the
# grid search spent four full runs, about 2,000 updates, before its final model existed. On every seed
# of both problems the recipe's whole cost, search and training, was at most about half of the grid
# search's (the line under the table). The grid search's validation numbers flatter it, though: its
# winner was picked *because* it had the best validation loss of four. The test sets settle it.
#
# ### The test sets, once
#
# Every choice is made; now, and only now, the test sets. These numbers are reported, not used.

# %% tags=["nbval-ignore-output"]
test_gap = {}
print(f"{'':8s} {'recipe':>14s} {'grid search':>14s}   recipe - grid search, per seed (points)")
for name in problems:
    recipe_test, tuned_test = column(name, "recipe", "test_acc"), column(name, "tuned", "test_acc")
    test_gap[name] = recipe_test - tuned_test
    print(f"{name:8s} {recipe_test.mean():7.3f} ± {recipe_test.std(ddof=1):.3f} {tuned_test.mean():7.3f} ± "
          f"{tuned_test.std(ddof=1):.3f}   {np.round(100 * test_gap[name], 1).tolist()}")
    print(f"{'':8s} recipe at least as good on {np.sum(test_gap[name] >= 0)} of {len(SEEDS)} seeds, "
          f"mean difference {100 * test_gap[name].mean():+.2f} points")
print(f"test accuracy, mean ± std over {len(SEEDS)} seeds")

# %%
assert abs(test_gap["digits"].mean()) < 0.01  # a tie on the digits, within one point
assert -0.02 < test_gap["spirals"].mean() < 0  # on the spirals the grid search is ahead, by under 2 points
assert np.sum(test_gap["spirals"] < 0) >= 5  # ... on at least half of the seeds

# %% [markdown]
# What the recipe gives, against a grid search that spent about four times its updates:
#
# - **On the digits, a tie.** The mean test accuracies are within a point of each other (the table),
#   and which side wins changes from seed to seed.
# - **On the spirals, the grid search is ahead**, by about half a point on average and on most seeds
#   (the counts). Early stopping ended the recipe's spirals runs early (the updates of its final run):
#   the recipe's `max_lr` is close to the rates at which these runs become unstable (lesson 06's
#   study: on the spirals the largest constant rate that still trains can be below `max_lr`), and a
#   climb of the cycle that raises the validation loss for a whole patience stops training before the
#   rate has come down.
# - **At a fraction of the cost**: about half of the grid search's updates or less on every seed,
#   most of which the grid search spent on runs it threw away.
#
# So the recipe is a cheap way to a good model, not a better one: with compute to spare, a grid search
# over constant rates with early stopping does as well or slightly better. That matches lessons 05 to
# 07: on these problems the benefit of schedules is speed and robustness more than final accuracy.
#
# ## Part 2 · Don't decay the learning rate, increase the batch size
#
# A mini-batch gradient is the true gradient plus noise, and the noise shrinks as the batch grows.
# Smith, Kindermans, Ying and Le (2017) argue that what a learning-rate decay really does is reduce the
# *scale of that noise*, which for SGD with rate $\epsilon$, batch size $B$, training-set size $N$ and
# momentum $m$ is about
#
# $$g \approx \frac{\epsilon\, N}{B\,(1 - m)}.$$
#
# Dividing $\epsilon$ by a factor $k$ or multiplying $B$ by $k$ lowers $g$ by the same factor. So,
# they predict, a schedule that increases the batch size where the other one decays the rate should
# follow the same curve of accuracy against *epochs*, while making $k$ times fewer updates in each
# later phase. On CIFAR-10 and ImageNet they found exactly that.
#
# Our version: SGD with momentum 0.9, 30 epochs in three phases of 10, factor $k = 4$, on two
# problems, 10 seeds each: the digits with `mlp([64, 64, 10])` (the network of lessons 05-07) and a
# starting rate $\epsilon_0 = 0.1$, and the spirals of part 1 with `mlp([2, 64, 64, 3])` and
# $\epsilon_0 = 0.2$. The test only means something if decaying matters at all, so there is a
# **control** that does neither: if the control does as well, the experiment cannot tell the two
# schedules apart from doing nothing.
#
# | | epochs 1-10 | epochs 11-20 | epochs 21-30 |
# |---|---|---|---|
# | decay the rate | rate $\epsilon_0$, batch 16 | rate $\epsilon_0/4$, batch 16 | rate $\epsilon_0/16$, batch 16 |
# | increase the batch | rate $\epsilon_0$, batch 16 | rate $\epsilon_0$, batch 64 | rate $\epsilon_0$, batch 256 |
# | control: neither | rate $\epsilon_0$, batch 16 | rate $\epsilon_0$, batch 16 | rate $\epsilon_0$, batch 16 |
#
# Each phase is one call of `fit` with the same model and the same optimizer object, so the momentum
# buffer and the update counter carry over from one phase to the next, and the same random generator
# keeps shuffling the batches. One detail: `fit` stops a run as "diverged" when its smoothed batch loss
# climbs above 10 times the *first* batch loss of that call, a guard meant for runs from scratch. A later
# phase starts from a trained model whose first batch loss may be tiny, so the later phases switch the
# guard off (`divergence_threshold=None`).

# %%
PHASE_EPOCHS, B0, FACTOR = 10, 16, 4
batch_problems = {
    "digits": {"data": ((X_train, y_train), (X_val, y_val)), "sizes": [64, 64, 10], "lr0": 0.1},
    "spirals": {"data": tuple(spiral_sets[:2]), "sizes": [2, 64, 64, 3], "lr0": 0.2},
}
ARMS = ("decay the rate", "increase the batch", "control: neither")


def phases_of(arm, lr0):
    """(learning rate, batch size) of the three phases."""
    return {"decay the rate": [(lr0 / FACTOR**i, B0) for i in range(3)],
            "increase the batch": [(lr0, B0 * FACTOR**i) for i in range(3)],
            "control: neither": [(lr0, B0)] * 3}[arm]


def train_in_phases(problem, phases, seed):
    """Train through `phases`, a list of (learning rate, batch size), PHASE_EPOCHS epochs each."""
    (X, y), validation = problem["data"]
    model = mlp(problem["sizes"], rng=seed)
    optimizer = SGD(model.parameters(), lr=phases[0][0], momentum=0.9)
    rng = np.random.default_rng(seed)  # one generator for the whole run: the batch order continues
    log = {"val_accuracy": [], "val_loss": [], "loss": [], "updates": []}
    for phase, (lr, batch_size) in enumerate(phases):
        optimizer.lr = lr
        history = fit(model, loss, optimizer, X, y, epochs=PHASE_EPOCHS, batch_size=batch_size,
                      validation_data=validation, rng=rng, divergence_threshold=10.0 if phase == 0 else None)
        updates_per_epoch = int(np.ceil(len(X) / batch_size))
        for key in ("val_accuracy", "val_loss", "loss"):
            log[key] += history.history[key]
        log["updates"] += [updates_per_epoch] * PHASE_EPOCHS
    log = {key: np.array(values) for key, values in log.items()}
    log["updates"] = np.cumsum(log["updates"])
    assert log["updates"][-1] == optimizer.iterations  # the counter carried over all phases
    return log


batch_runs = {}
for name, arm, seed in tqdm([(n, a, s) for n in batch_problems for a in ARMS for s in SEEDS], desc="runs"):
    problem = batch_problems[name]
    batch_runs[name, arm, seed] = train_in_phases(problem, phases_of(arm, problem["lr0"]), seed)

part2 = {}
for name in batch_problems:
    for arm in ARMS:
        logs = [batch_runs[name, arm, s] for s in SEEDS]
        part2[name, arm] = {key: np.array([log[key][-1] for log in logs]) for key in ("val_accuracy", "val_loss", "loss")}
        part2[name, arm]["updates"] = int(logs[0]["updates"][-1])

# %% [markdown]
# The number of updates each arm makes does not depend on training, only on the batch sizes:

# %%
for name in batch_problems:
    counts = {arm: part2[name, arm]["updates"] for arm in ARMS}
    print(f"{name:8s} updates in 30 epochs: " + ", ".join(f"{arm} {n}" for arm, n in counts.items())
          + f" ({1 - counts['increase the batch'] / counts['decay the rate']:.0%} fewer when the batch grows)")

# %% tags=["nbval-ignore-output"]
print(f"{'':30s} {'val accuracy':>15s} {'val loss':>15s} {'train loss':>17s}")
for name in batch_problems:
    for arm in ARMS:
        r = part2[name, arm]
        print(f"{name + ', ' + arm:30s} {r['val_accuracy'].mean():7.3f} ± {r['val_accuracy'].std(ddof=1):.3f} "
              f"{r['val_loss'].mean():7.3f} ± {r['val_loss'].std(ddof=1):.3f} "
              f"{r['loss'].mean():8.4f} ± {r['loss'].std(ddof=1):.4f}")
print(f"after 30 epochs, mean ± std over {len(SEEDS)} seeds")

# %%
fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")
for row, name in zip(axes, batch_problems):
    for arm in ARMS:
        logs = [batch_runs[name, arm, s] for s in SEEDS]
        mean_val_loss = np.mean([log["val_loss"] for log in logs], axis=0)
        row[0].plot(np.arange(1, 3 * PHASE_EPOCHS + 1), mean_val_loss, marker=".", label=arm)
        row[1].plot(logs[0]["updates"], mean_val_loss, marker=".", label=arm)
    row[0].set(xlabel="epoch", title=f"{name}: against epochs")
    row[1].set(xlabel="updates (parameter updates made so far)", title=f"{name}: against updates")
    for ax in row:
        ax.set(yscale="log", ylabel=f"validation loss (mean of {len(SEEDS)} seeds, log scale)")
        ax.legend(fontsize=8)
    for boundary in (10.5, 20.5):  # phase changes
        row[0].axvline(boundary, color="0.7", linestyle=":")
fig.suptitle("Decaying the rate by 4 or increasing the batch by 4 at epochs 10 and 20")
plt.show()

# %% tags=["nbval-ignore-output"]
wins = {}
for name in batch_problems:
    decay, grow, control = (part2[name, arm] for arm in ARMS)
    gap = grow["val_accuracy"] - decay["val_accuracy"]
    wins[name] = {
        "control below both": int(np.sum(control["val_accuracy"] < np.minimum(decay["val_accuracy"],
                                                                              grow["val_accuracy"]))),
        "control val loss above both": int(np.sum(control["val_loss"] > np.maximum(decay["val_loss"],
                                                                                   grow["val_loss"]))),
        "largest |grow - decay|": np.abs(gap).max(),
        "mean grow - decay": gap.mean(),
    }
    wins[name]["within 1 point"] = int(np.sum(np.abs(gap) <= 0.01))
    print(f"{name}: control's val accuracy below both schedules in {wins[name]['control below both']} of "
          f"{len(SEEDS)} seeds, its val loss above both in {wins[name]['control val loss above both']}")
    print(f"{'':8s} grow - decay, per seed (points): {np.round(100 * gap, 1).tolist()}; "
          f"within 1 point in {wins[name]['within 1 point']} of {len(SEEDS)} seeds")

# %%
for name in batch_problems:
    decay, grow, control = (part2[name, arm] for arm in ARMS)
    assert abs(wins[name]["mean grow - decay"]) < 0.01  # the two schedules agree within a point on average
    assert wins[name]["within 1 point"] >= 8  # and on most seeds
    assert grow["updates"] < 0.5 * decay["updates"]
assert wins["spirals"]["control below both"] == len(SEEDS)  # the control loses on every seed
assert wins["spirals"]["control val loss above both"] == len(SEEDS)
spirals_drop = (part2["spirals", ARMS[0]]["val_accuracy"].mean() - part2["spirals", ARMS[2]]["val_accuracy"].mean())
assert spirals_drop > 0.1
assert abs(part2["digits", ARMS[2]]["val_accuracy"].mean() - part2["digits", ARMS[0]]["val_accuracy"].mean()) < 0.005
assert wins["digits"]["control val loss above both"] >= 7

# %% [markdown]
# The paper's prediction holds on both problems, and the spirals show that it is not a tie by default:
#
# - **Same accuracy, with fewer updates.** Decaying the rate and increasing the batch end within a
#   point of each other in mean validation accuracy on both problems (the table), and within a point
#   seed by seed on at least 8 of the 10 seeds (the lines above; an occasional seed of the spirals
#   ends a few points apart); against epochs their mean curves lie on top of each other (left panels). The batch schedule made less than half the updates, because its later phases
#   take 4 and 16 times fewer, larger steps (right panels). On hardware that processes a batch of 256
#   nearly as fast as a batch of 16, such as a GPU, fewer updates means proportionally less time, which
#   is the paper's point.
# - **On the spirals the control loses, on every seed.** Kept at $\epsilon_0 = 0.2$ with batches of 16,
#   the noise never comes down and the control ends more than 10 points of validation accuracy behind
#   both schedules; so here the test can tell the arms apart, and decay and batch growth come out the
#   same.
# - **On the digits the control ties on accuracy** (within half a point of the schedules' mean), so
#   accuracy alone cannot separate the arms there; the control's validation loss is higher than both
#   schedules' on most seeds (the line above), with a lower training loss: without the noise reduction
#   it keeps fitting the training set harder.
#
# The limits of the experiment: the training sets are small, so the last phase's batch of 256 is a
# quarter or more of them and an epoch is a handful of updates; the batch cannot keep growing (at
# $B = N$ it is full-batch gradient descent, and the paper switches back to decaying the rate once the
# batch reaches its maximum). Two small networks on two small data sets are two data points, not a
# proof.
#
# ## Summary
#
# - **Recipe:** range test with the training optimizer, bounds from `suggest_bounds()`, a triangular
#   `CyclicLR` between them, early stopping with a patience of one cycle and `restore_best_weights`.
#   Against a grid search over four constant rates with the same early stopping, over 10 seeds on two
#   problems, it tied on the digits' test sets and fell slightly behind on the spirals', for less than
#   half of the updates.
# - **Increase the batch size instead of decaying the rate:** the same accuracy after the same 30
#   epochs with less than half the updates, on both problems; on the spirals, where doing neither loses
#   on every seed, both schedules recover the same accuracy.
# - Across lessons 04 to 08 the largest effects came from the rate itself: the range in which it
#   trains, and staying inside it. Schedules, cycles and batch growth are refinements whose benefits here
#   were speed, robustness and a lower validation loss, each measured over several seeds because a
#   single run could not tell them apart from luck.
#
# **Exercise:** `exercises/08_putting_it_together.ipynb` has you scale a learning rate with the batch
# size, write early stopping and reduce-on-plateau as functions of a list of validation losses, turn a
# range test into a one-cycle schedule, and train a model with a schedule, each checked by a
# `check("q1")` cell (or all at once with `python -m lrcourse.grade`).
