# %% [markdown]
# # 03 · Gradient descent and its optimizers
#
# Lessons 01 and 02 gave us the update $w \leftarrow w - \eta\, g$, where $g$ is the gradient of the loss.
# Two questions remain open, and both change what the learning rate $\eta$ means:
#
# 1. **Which examples** is $g$ computed on? All of them (batch gradient descent), one at a time
#    (stochastic gradient descent) or small groups (mini-batch)?
# 2. **What is done with $g$** before it is applied? Momentum methods accumulate it over steps; adaptive
#    methods (Adagrad, RMSprop, Adam) divide it, weight by weight, by the size of recent gradients.
#
# Each section measures the answer: on digits for training behaviour, on 2-D functions for pictures.

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from joblib import Parallel, delayed
from tqdm.auto import tqdm

import lrcourse
from lrcourse import data, optim, plot, schedules
from lrcourse.callbacks import Callback
from lrcourse.nn import Parameter

(X_train, y_train), (X_val, y_val), _ = data.digits(rng=0)
N = len(X_train)
SEEDS = range(10)  # paired: for a given seed, every variant starts from the same weights and sees the same batches

# %% [markdown]
# ## Batch, mini-batch and stochastic gradient descent
#
# The loss we want to minimise is an average over all $N$ training examples, so its exact gradient is the
# average of $N$ per-example gradients. A **mini-batch** of $B$ examples gives an *estimate* of it:
# unbiased, with a variance that falls like $1/B$. The three classic variants are the two ends and the
# middle of this scale:
#
# | variant | examples per update | updates per epoch (N = 1077) |
# |---|---|---|
# | batch gradient descent | all, $B = N$ | 1 |
# | mini-batch gradient descent | $B$, e.g. 32 | $\lceil N / B \rceil$ = 34 |
# | stochastic gradient descent (SGD) | one, $B = 1$ | 1077 |
#
# (Libraries call their optimizer "SGD" whatever the batch size; the name stuck.)
#
# There are two fair ways to compare them, and they answer different questions. With the **same number of
# updates**, a larger batch gives a better gradient per step. With the **same number of examples
# processed** (epochs, which is roughly the same compute), a smaller batch makes many more steps. We
# train the same network (`mlp([64, 32, 10])`, same initial weights for a given seed, SGD with
# $\eta = 0.1$) with five batch sizes and ten seeds, and record the validation loss against both. The runs
# are independent, so `joblib` runs them two at a time on two processor cores.

# %% tags=["nbval-ignore-output"]
BATCH_SIZES = (1, 8, 32, 128, N)
UPDATE_BUDGET, EPOCH_BUDGET, LR = 200, 2, 0.1


class RecordValidation(Callback):
    """Record the validation loss after chosen updates; stop once ``stop_after`` updates are done."""

    def __init__(self, at_updates, stop_after):
        self.at_updates, self.stop_after, self.val_loss = set(at_updates), stop_after, {}

    def on_batch_end(self, step, logs):
        done = step + 1
        if done in self.at_updates:
            self.val_loss[done] = lrcourse.evaluate(self.model, lrcourse.SoftmaxCrossEntropy(), X_val, y_val)["loss"]
        if done >= self.stop_after:
            self.model.stop_training = True


def record_batch_run(B, seed):
    per_epoch = -(-N // B)  # ceil(N / B) updates make one epoch
    stop_after = max(UPDATE_BUDGET, EPOCH_BUDGET * per_epoch)
    at = set(range(10, UPDATE_BUDGET + 1, 10)) | {max(1, round(k * per_epoch / 10)) for k in range(1, 10 * EPOCH_BUDGET + 1)}
    model = lrcourse.mlp([64, 32, 10], rng=seed)
    record = RecordValidation(at, stop_after)
    lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=LR), X_train, y_train,
                 epochs=-(-stop_after // per_epoch), batch_size=B, rng=seed, callbacks=[record])
    return record.val_loss


batch_jobs = [(B, seed) for B in BATCH_SIZES for seed in SEEDS]
batch_runs = dict(zip(batch_jobs, Parallel(n_jobs=2)(delayed(record_batch_run)(B, seed)
                                                     for B, seed in tqdm(batch_jobs, desc="runs"))))

epoch_seconds = {}  # wall time of one epoch, without the validation checkpoints; best of 3 (1 for B=1)
for B in BATCH_SIZES:
    times = []
    for _ in range(1 if B == 1 else 3):
        model = lrcourse.mlp([64, 32, 10], rng=0)
        start = time.perf_counter()
        lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=LR), X_train, y_train,
                     epochs=1, batch_size=B, rng=0)
        times.append(time.perf_counter() - start)
    epoch_seconds[B] = min(times)


def val_loss_at(B, updates):
    return np.array([batch_runs[B, seed][updates] for seed in SEEDS])


print(f"validation loss, mean (min to max) over seeds {list(SEEDS)}; SGD lr = {LR}")
print(f"{'batch size':>10s} | {'after ' + str(UPDATE_BUDGET) + ' updates':>22s} | "
      f"{'after ' + str(EPOCH_BUDGET) + ' epochs':>22s} | time per epoch")
same_updates, same_epochs = {}, {}
for B in BATCH_SIZES:
    per_epoch = -(-N // B)
    same_updates[B] = val_loss_at(B, UPDATE_BUDGET)
    same_epochs[B] = val_loss_at(B, max(k for k in batch_runs[B, SEEDS[0]] if k <= EPOCH_BUDGET * per_epoch))
    print(f"{B:>10d} | {same_updates[B].mean():8.3f} ({same_updates[B].min():.3f} to {same_updates[B].max():.3f})"
          f" | {same_epochs[B].mean():8.3f} ({same_epochs[B].min():.3f} to {same_epochs[B].max():.3f})"
          f" | {epoch_seconds[B] * 1e3:.0f} ms wall")

# %%
fig, (ax_u, ax_e) = plt.subplots(1, 2, figsize=(12, 4.2))
for B, colour in zip(BATCH_SIZES, plt.cm.viridis(np.linspace(0, 0.9, len(BATCH_SIZES)))):
    per_epoch = -(-N // B)
    label = f"B = {B}" + (" (batch GD)" if B == N else " (stochastic)" if B == 1 else "")
    updates = np.array(sorted(k for k in batch_runs[B, SEEDS[0]] if k <= UPDATE_BUDGET and k % 10 == 0))
    curves = np.array([[batch_runs[B, s][k] for k in updates] for s in SEEDS])
    ax_u.plot(updates, curves.mean(0), color=colour, label=label)
    ax_u.fill_between(updates, curves.min(0), curves.max(0), color=colour, alpha=0.2)
    updates = np.array(sorted(k for k in batch_runs[B, SEEDS[0]] if k <= EPOCH_BUDGET * per_epoch))
    curves = np.array([[batch_runs[B, s][k] for k in updates] for s in SEEDS])
    ax_e.plot(updates / per_epoch, curves.mean(0), "o-", ms=3, color=colour, label=label)
    ax_e.fill_between(updates / per_epoch, curves.min(0), curves.max(0), color=colour, alpha=0.2)
ax_u.set(title=f"Same number of updates (SGD lr = {LR})", xlabel="updates", ylabel="validation loss", yscale="log")
ax_e.set(title="Same number of examples processed", xlabel="epochs (passes over the training set)",
         ylabel="validation loss", yscale="log")
ax_u.legend()
ax_e.legend()
fig.suptitle(f"Batch size on digits: mean over {len(SEEDS)} seeds, band from min to max")
fig.tight_layout()
plt.show()

# %%
# The statements below, checked on the numbers above.
assert same_updates[1].mean() > 2 * max(same_updates[B].mean() for B in (32, 128, N))  # B=1 far worse per update
assert np.all(same_updates[1] > same_updates[32])                                      # ... in every paired seed
assert abs(same_updates[128].mean() - same_updates[N].mean()) < 0.05                  # no gain beyond B=128
assert abs(same_updates[32].mean() - same_updates[N].mean()) < 0.05                   # ... nor much beyond 32
assert same_epochs[8].max() < same_epochs[32].min() < same_epochs[128].min() < same_epochs[N].min()
relative_spread = {B: np.ptp(same_epochs[B]) / same_epochs[B].mean() for B in BATCH_SIZES}
assert relative_spread[1] > 2 * max(relative_spread[B] for B in BATCH_SIZES if B != 1)  # B=1 is the noisiest
assert epoch_seconds[1] > 3 * epoch_seconds[32]

# %% [markdown]
# What the measurements say:
#
# - **Per update, bigger batches help, but only up to a point.** After 200 updates, one example per
#   update (B = 1) leaves the validation loss more than twice as high as B ≥ 32 on average, and higher
#   than B = 32 in every seed. But B = 128 and the full
#   batch (1077) end up within a few hundredths of each other, and of B = 32: at this learning rate the
#   gradient noise of a 32-example batch hardly slows progress, so the extra examples of a bigger batch
#   buy almost nothing.
# - **Per epoch, smaller batches win by far.** After two passes over the data, B = 8 is best, B = 32
#   behind it, B = 128 has barely started, and full-batch gradient descent has made two updates and
#   learned almost nothing. Stochastic updates (B = 1) get to a similar level as B = 8 on average, but
#   see below. Since an epoch costs about the same arithmetic whatever $B$, this is the
#   practical reason mini-batches are the default.
# - **B = 1 is the noisiest** (its band between seeds is, relative to its mean, more than twice as wide
#   as any other batch size's; its curve jumps up and down from one checkpoint to the next) **and the
#   slowest per epoch in wall-clock time**: 1077 tiny updates per epoch cannot use vectorised arithmetic, and each pays Python's and the
#   library's overhead. On GPUs this effect is even stronger; that is why practice settles on mini-batches
#   of tens to hundreds.
#
# Batch size and learning rate are linked: with the same $\eta$, a bigger batch takes equally long steps
# with less noise, and fewer of them per epoch. Smith, Kindermans, Ying & Le (2017) argue that what matters
# is the noise scale $\eta N / B$, so that *increasing the batch size* can replace decaying the learning
# rate; lesson 08 puts that to the test.
#
# ### Scaling the rate with the batch: the linear scaling rule
#
# The comparison above kept $\eta = 0.1$ for every batch size, so per epoch the large batches were
# handicapped twice: fewer updates, each no longer than a small batch's. The **linear scaling rule**
# (Goyal et al. 2017, *Accurate, Large Minibatch SGD*, arXiv:1706.02677) says: when the batch grows by a
# factor $k$, multiply the learning rate by $k$. The reasoning: $k$ small-batch steps of size $\eta$ move the
# weights by about $\eta$ times the sum of $k$ gradients; one step on a $k$ times larger batch at rate
# $k\eta$ moves them by the same amount, *if* the gradient hardly changes during those $k$ steps. That "if"
# fails early in training, when the weights change fast, and whenever $k\eta$ is beyond the largest usable
# rate. For the first, Goyal et al. raise the rate gradually over the first epochs (**warmup**). For
# adaptive optimizers (Adam, RMSprop), whose step does not grow with the gradient, some use a
# **square-root rule**, $\eta \propto \sqrt{B}$, instead.
#
# We measure all three on digits: the same 2-epoch budget as above, $B = 32$ with $\eta = 0.1$ (SGD) or
# $\eta = 0.005$ (Adam) as the reference, and for each larger or smaller batch the rate given by each rule.
# Warmup raises the rate linearly over the first epoch (`schedules.LinearWarmup`). Ten paired seeds.

# %% tags=["nbval-ignore-output"]
SCALING_BATCHES = (8, 32, 128, 512)
REFERENCE_BATCH, SCALING_EPOCHS = 32, 2
RULES = {  # (optimizer, rule) -> learning rate for batch size B
    ("SGD", "fixed"): lambda B: 0.1,
    ("SGD", "linear"): lambda B: 0.1 * B / REFERENCE_BATCH,
    ("SGD", "linear + warmup"): lambda B: 0.1 * B / REFERENCE_BATCH,
    ("Adam", "linear"): lambda B: 0.005 * B / REFERENCE_BATCH,
    ("Adam", "square root"): lambda B: 0.005 * np.sqrt(B / REFERENCE_BATCH),
}


def scaled_run(optimizer, rule, B, seed):
    lr = RULES[optimizer, rule](B)
    if rule.endswith("warmup"):
        lr = schedules.LinearWarmup(schedules.Constant(lr), warmup_steps=-(-N // B))  # one epoch
    model = lrcourse.mlp([64, 32, 10], rng=seed)
    make = optim.SGD if optimizer == "SGD" else optim.Adam
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a diverged run counts as an infinite loss
        history = lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), make(model.parameters(), lr=lr), X_train,
                               y_train, epochs=SCALING_EPOCHS, batch_size=B, rng=seed)
    return {"val_loss": np.inf if history.diverged
            else lrcourse.evaluate(model, lrcourse.SoftmaxCrossEntropy(), X_val, y_val)["loss"]}


# Every (optimizer, rule) x batch size x seed, two runs at a time on two cores (lrcourse.sweep).
scaling_sweep = lrcourse.sweep(scaled_run, grid=[{"optimizer": optimizer, "rule": rule, "B": B, "seed": seed}
                                                 for optimizer, rule in RULES for B in SCALING_BATCHES for seed in SEEDS],
                               n_jobs=2)
values = scaling_sweep.column("val_loss").reshape(len(RULES), len(SCALING_BATCHES), len(SEEDS))
scaling = {(rule, B): values[i, j] for i, rule in enumerate(RULES) for j, B in enumerate(SCALING_BATCHES)}

print(f"validation loss after {SCALING_EPOCHS} epochs: mean (min to max) over {len(SEEDS)} seeds")
print(f"{'optimizer, rule':22s}" + "".join(f"{'B = ' + str(B):>23s}" for B in SCALING_BATCHES))
for rule in RULES:
    cells = "".join(f"{scaling[rule, B].mean():7.3f} ({scaling[rule, B].min():.2f}-{scaling[rule, B].max():.2f})"
                    .rjust(23) for B in SCALING_BATCHES)
    print(f"{rule[0] + ', ' + rule[1]:22s}{cells}")
print(f"{'learning rates':22s}" + "".join(
    f"{'SGD ' + format(RULES['SGD', 'linear'](B), 'g') + ', Adam ' + format(RULES['Adam', 'square root'](B), '.3g'):>23s}"
    for B in SCALING_BATCHES) + "  (linear for SGD, square root for Adam)")

# %% tags=["nbval-ignore-output"]
# The statements below, checked on the numbers above.
ref = scaling[("SGD", "linear"), 32].mean()
for B in (8, 128):  # the rule holds from 8 to 128: mean within 10 % of the reference
    assert abs(scaling[("SGD", "linear"), B].mean() - ref) < 0.1 * ref
assert scaling[("SGD", "fixed"), 8].mean() < 0.5 * ref < scaling[("SGD", "fixed"), 128].mean() / 1.5  # fixed: far apart
assert scaling[("SGD", "linear"), 512].mean() > 1.5 * ref           # ... and breaks at B = 512 (lr 1.6)
assert scaling[("SGD", "linear + warmup"), 512].mean() > 1.5 * ref  # warmup does not rescue it here
warmup_wins = {B: int(np.sum(scaling[("SGD", "linear + warmup"), B] < scaling[("SGD", "linear"), B]))
               for B in SCALING_BATCHES}
adam_linear_wins = {B: int(np.sum(scaling[("Adam", "linear"), B] < scaling[("Adam", "square root"), B]))
                    for B in (128, 512)}
print(f"seeds (of {len(SEEDS)}) where warmup beat no warmup, per batch size:", warmup_wins)
print(f"seeds (of {len(SEEDS)}) where Adam's linear rule beat its square-root rule:", adam_linear_wins)
assert all(warmup_wins[B] <= 2 for B in (8, 32, 128))
assert adam_linear_wins[128] >= 8

# %% [markdown]
# What the measurement says about the three rules, on digits:
#
# - **Linear scaling holds from B = 8 to B = 128**: with the rate scaled, the three batch sizes end
#   within a few percent of each other after two epochs (the fixed rate spread them by a factor of
#   five). Per epoch, a batch of 128 at $\eta = 0.4$ is as good as a batch of 8 at $0.025$, with 16 times
#   fewer updates, which is what makes large-batch training on many machines possible.
# - **It breaks at B = 512**, where the scaled rate is 1.6: beyond the largest rate this network can use
#   (lesson 04 finds that 2.0 already breaks a similar network at B = 32), and with only 6 updates in two epochs, the
#   gradient is far from constant over the step the rule replaces. The rule holds as long as the scaled
#   rate stays inside the usable range.
# - **Warmup did not help here**: over one epoch it lost to no warmup in (nearly) every seed from B = 8
#   to 128 (printed counts), and at B = 512 it did not bring the loss back near the reference. On this small network the danger warmup guards against,
#   large early steps blowing up a deep network, is not what limits training; with so few updates, the
#   steps lost to the ramp cost more. Goyal et al. needed it for ResNet-50 at batch 8192; treat it as a
#   tool to measure, not a default.
# - **For Adam, the linear rule beat the square-root rule** at B = 128 in nearly every seed (at B = 512
#   see the counts): after two epochs, what limits Adam here is the number of steps, and the square-root
#   rule gives each of the fewer steps too little length. The square-root rule comes from keeping the
#   *noise* of the update constant; it is a reasonable starting point when a long run is limited by noise,
#   not by the number of steps. Measure, as here, before trusting either.

# %% [markdown]
# ## Optimizers: what they do with the gradient
#
# All optimizers below are in `lrcourse.optim`, with the same update equations (and defaults) as PyTorch.
# $g_t$ is the gradient at update $t$ (counting from 1), every operation is per weight (elementwise), and
# $\eta$ is the learning rate.
#
# | optimizer | update | state |
# |---|---|---|
# | SGD | $w \leftarrow w - \eta\, g_t$ | none |
# | momentum (heavy ball) | $v \leftarrow \mu v + g_t$; $\;w \leftarrow w - \eta\, v$ | velocity $v$ |
# | Nesterov | $v \leftarrow \mu v + g_t$; $\;w \leftarrow w - \eta\,(g_t + \mu v)$ | velocity $v$ |
# | Adagrad | $s \leftarrow s + g_t^2$; $\;w \leftarrow w - \eta\, g_t / (\sqrt{s} + \epsilon)$ | sum of squares $s$ |
# | RMSprop | $a \leftarrow \alpha a + (1-\alpha) g_t^2$; $\;w \leftarrow w - \eta\, g_t / (\sqrt{a} + \epsilon)$ | mean square $a$ |
# | Adam | $m \leftarrow \beta_1 m + (1-\beta_1) g_t$; $\;v \leftarrow \beta_2 v + (1-\beta_2) g_t^2$; $\;w \leftarrow w - \eta\, \dfrac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}$ | $m$, $v$ |
#
# with momentum $\mu = 0.9$ (our choice: PyTorch's default is 0, no momentum) and PyTorch's defaults for
# the rest: $\alpha = 0.99$, $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$ ($10^{-10}$ for Adagrad).
#
# - **Momentum** treats the weights like a ball rolling down the loss surface: consistent gradients
#   build up speed, gradients that flip sign from step to step cancel out.
# - **Nesterov** applies the velocity's next contribution $\mu v$ before taking the gradient step: a
#   "look-ahead" that corrects overshoots a step earlier.
# - **Adagrad** divides by the root of *all* past squared gradients, so weights with large gradients
#   take smaller steps, and every weight's steps shrink over time.
# - **RMSprop** uses a *running average* of squared gradients instead, so steps do not shrink forever.
# - **Adam** combines momentum on $g$ ($m$) with RMSprop's scaling ($v$), both bias-corrected so the
#   first steps are not too small while $m$ and $v$ still start from zero.
#
# ### How each one rescales the learning rate
#
# The cleanest way to see what an optimizer does to $\eta$ is to feed it a *constant* gradient $g$ and
# measure the step it takes, divided by $\eta$: for plain SGD that is just $g$. We try a small gradient
# ($g = 0.01$) and a large one ($g = 100$).

# %%
OPTIMIZERS = {
    "SGD": lambda params, lr: optim.SGD(params, lr=lr),
    "momentum": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9),
    "Nesterov": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda params, lr: optim.Adagrad(params, lr=lr),
    "RMSprop": lambda params, lr: optim.RMSprop(params, lr=lr),
    "Adam": lambda params, lr: optim.Adam(params, lr=lr),
}


def steps_for_constant_gradient(make, g, lr=1e-3, updates=100):
    """The size of each update divided by lr, when the gradient is always g."""
    w = Parameter(np.zeros(1))
    opt = make([w], lr)
    sizes = []
    for _ in range(updates):
        before = w.value[0]
        w.grad[:] = g
        opt.step()
        sizes.append((before - w.value[0]) / lr)
    return np.array(sizes)


print("update size / lr under a constant gradient g, after update t = 1, 10, 100")
print(f"{'':9s} | {'g = 0.01':^26s} | {'g = 100':^26s}")
step_table = {}
for name, make in OPTIMIZERS.items():
    row = []
    for g in (0.01, 100.0):
        sizes = steps_for_constant_gradient(make, g)
        step_table[name, g] = sizes
        row.append("  ".join(f"{sizes[t - 1]:8.4g}" for t in (1, 10, 100)))
    print(f"{name:9s} | {row[0]} | {row[1]}")

# %% [markdown]
# Each row matches a closed form (checked in the next cell), and the table shows three different
# meanings of "learning rate":
#
# - **SGD**: the step is $\eta\, g$. A hundred times larger gradient, a hundred times larger step.
# - **Momentum and Nesterov**: the velocity grows towards $g / (1 - \mu)$, so after a few dozen
#   updates the step is $\eta\, g / (1-\mu) = 10\,\eta\, g$. Momentum 0.9 multiplies the effective learning
#   rate by ten (along directions where the gradient is consistent): `SGD(lr=0.01, momentum=0.9)` moves
#   like `SGD(lr=0.1)` on a slope, while still averaging out gradients that flip sign.
# - **Adagrad, RMSprop, Adam**: the step does not depend on the size of $g$ at all (to within
#   $\epsilon$): the same row for $g = 0.01$ and $g = 100$. Here $\eta$ *is* the step size, in the units of
#   the weights. Adagrad's step shrinks like $\eta/\sqrt{t}$; RMSprop's starts at
#   $\eta / \sqrt{1-\alpha} = 10\,\eta$ (its average $a$ starts at zero, without bias correction) and
#   decays towards $\eta$; Adam's is exactly $\eta$ from the first update, thanks to the bias correction.
#
# So "lr = 0.01" is a small step for Adam, a moderate one for SGD on a loss with gradients of order one,
# and a step ten times larger than that for SGD with momentum 0.9. Good learning rates are not
# transferable between optimizers; the digits experiment below measures by how much.

# %%
t = np.arange(1, 101)
for g in (0.01, 100.0):
    expected = {
        "SGD": np.full(100, g),
        "momentum": g * (1 - 0.9 ** t) / (1 - 0.9),                      # v_t = g (1 + 0.9 + ... + 0.9^(t-1))
        "Nesterov": g + 0.9 * g * (1 - 0.9 ** t) / (1 - 0.9),            # g + mu v_t
        "Adagrad": g / (np.sqrt(t * g ** 2) + 1e-10),
        "RMSprop": g / (np.sqrt((1 - 0.99 ** t) * g ** 2) + 1e-8),       # a_t = (1 - alpha^t) g^2
        "Adam": g / (np.abs(g) + 1e-8 * np.sqrt(1 - 0.999 ** t)),       # m, v bias-corrected exactly
    }
    for name in OPTIMIZERS:
        assert np.allclose(step_table[name, g], expected[name], rtol=1e-6), (name, g)
print("all six rows match their closed forms")

# %% [markdown]
# ## Paths on 2-D functions
#
# To *see* these behaviours we run each optimizer on two functions of two variables, from
# `lrcourse.data`, where the full gradient is exact (no mini-batch noise):
#
# - `Quadratic(a=1, b=10)`: the bowl $f(x,y) = (x^2 + 10\,y^2)/2$, ten times steeper along $y$ than along
#   $x$. Ill-conditioned bowls like this are the local picture of most loss surfaces.
# - `Rosenbrock()`: $(1-x)^2 + 100\,(y - x^2)^2$, a curved, flat-bottomed valley; easy to find, hard to
#   follow to its minimum at $(1, 1)$.
#
# `descent_path(fn, factory, steps)` returns the visited points, and `plot.trajectory` draws them on the
# contours. First, how the final value after a fixed number of steps depends on the learning rate, for
# each optimizer: every optimizer gets the same grid of 16 learning rates from $10^{-4}$ to $10^{1}$
# (three per decade).
#
# One number to have in mind when reading the plots: on a parabola $f(w) = \tfrac12 L w^2$ (curvature $L$)
# a gradient step gives $w \leftarrow w - \eta L w = (1 - \eta L)\,w$. For $\eta < 1/L$ the factor is
# between 0 and 1, a smooth approach; between $1/L$ and $2/L$ it is between 0 and $-1$, the step
# overshoots and $w$ flips sign but still shrinks; above $2/L$ it is below $-1$ and every step overshoots
# further: divergence. So plain gradient descent needs $\eta < 2/L$, where $L$ is the largest curvature
# (the steepest direction decides). Lesson 04 derives this properly and measures it.

# %%
bowl, banana = data.Quadratic(a=1.0, b=10.0), data.Rosenbrock()
PATH_STEPS = {bowl.name: 100, banana.name: 500}
path_lrs = np.logspace(-4, 1, 16)


def factory(name, lr):
    return lambda params: OPTIMIZERS[name](params, lr)


def final_value(fn, name, lr):
    path = data.descent_path(fn, factory(name, lr), steps=PATH_STEPS[fn.name])
    return fn(path[-1]) if len(path) == PATH_STEPS[fn.name] + 1 else np.inf  # a short path diverged


final_values = {(fn.name, name): np.array([final_value(fn, name, lr) for lr in path_lrs])
                for fn in (bowl, banana) for name in OPTIMIZERS}

fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
for ax, fn in zip(axes, (bowl, banana)):
    for name in OPTIMIZERS:
        values = final_values[fn.name, name]
        line, = ax.loglog(path_lrs, np.where(np.isfinite(values), np.maximum(values, 1e-30), np.nan), "o-", ms=3,
                          label=name)
        diverged = ~np.isfinite(values)
        if diverged.any():  # one row of crosses per optimizer, above the curves
            row = 1e4 * 10 ** (2 * list(OPTIMIZERS).index(name))
            ax.plot(path_lrs[diverged], np.full(diverged.sum(), row), "x", color=line.get_color())
    ax.set(title=f"{fn.name}: value after {PATH_STEPS[fn.name]} steps", xlabel="learning rate",
           ylabel="f at the last point (crosses: diverged)", ylim=(1e-30, 1e16))
axes[0].axvline(2 / bowl.max_curvature, color="k", ls=":", label="2 / L (lesson 04)")
axes[0].legend(ncol=2, fontsize=8)
fig.tight_layout()
plt.show()


def best_lr(fn, name):
    values = final_values[fn.name, name]
    return path_lrs[np.argmin(values)], values.min(), path_lrs[np.isfinite(values)].max()


for fn in (bowl, banana):
    print(fn.name)
    for name in OPTIMIZERS:
        lr, value, largest = best_lr(fn, name)
        print(f"  {name:9s} best lr {lr:8.3g} -> f = {value:8.1e};  largest lr that did not diverge {largest:.3g}")

# The statements below, checked on the numbers above.
assert best_lr(bowl, "SGD")[2] < 2 / bowl.max_curvature < path_lrs[path_lrs > best_lr(bowl, "SGD")[2]][0]
assert 1.5 < best_lr(bowl, "momentum")[2] / best_lr(bowl, "SGD")[2] < 3
assert best_lr(banana, "momentum")[1] < 1e-4 * best_lr(banana, "SGD")[1]
assert best_lr(bowl, "momentum")[1] > 100 * best_lr(bowl, "SGD")[1]
for name in ("Adagrad", "RMSprop", "Adam"):
    assert np.isfinite(final_values[bowl.name, name]).all() and np.isfinite(final_values[banana.name, name]).all()
assert best_lr(bowl, "Adagrad")[1] < 1e-30 and best_lr(bowl, "RMSprop")[1] < 1e-30
assert 1e-5 < best_lr(bowl, "Adam")[1] < 1e-3
assert best_lr(banana, "Adam")[1] < 1e-3 < min(best_lr(banana, "Adagrad")[1], best_lr(banana, "RMSprop")[1])

# %% [markdown]
# Reading the two panels:
#
# - **Plain SGD has a cliff.** On the bowl it does better and better as $\eta$ grows, up to the last grid
#   point below $2/L = 0.2$ ($L = 10$ is the largest curvature), and diverges beyond it, as the factor
#   $1 - \eta L$ above predicts. On Rosenbrock the steep valley walls force a tiny rate ($10^{-3}$; the next grid point
#   diverges), and 500 such steps barely get it into the valley.
# - **Momentum** also diverges past a limit, about twice as high on the bowl. On Rosenbrock it gets four
#   orders of magnitude closer to the minimum than SGD: the velocity builds up along the valley floor.
#   On the bowl, with $\mu = 0.9$, it is *worse* than plain SGD at its best: it overshoots and swings back
#   and forth (the paths below show it).
# - **Adagrad, RMSprop and Adam never diverge on this grid**, even at $\eta = 10$: their step is about
#   $\eta$ whatever the gradient, so a too-large $\eta$ makes them jump around rather than explode. On the
#   bowl, whose steep and flat directions are exactly the $x$ and $y$ axes (the case per-weight scaling
#   handles best), Adagrad and RMSprop converge to machine precision at large $\eta$. Adam does not
#   settle exactly: its momentum makes it circle the minimum, and over a wide range of $\eta$ it ends
#   around $10^{-4}$ in $f$. On Rosenbrock, Adam is the only adaptive method to get close to $(1, 1)$.
#
# The paths, for one sensible learning rate per optimizer (each from the grid above, chosen to show the
# typical behaviour rather than the very best run):

# %%
SHOW_LR = {
    bowl.name: {"SGD": 0.15, "momentum": 0.02, "Nesterov": 0.02, "Adagrad": 1.0, "RMSprop": 0.1, "Adam": 0.3},
    banana.name: {"SGD": 0.0015, "momentum": 0.001, "Nesterov": 0.001, "Adagrad": 0.5, "RMSprop": 0.01, "Adam": 0.1},
}
SHOW_STEPS = {bowl.name: 40, banana.name: 500}
shown_final, shown_paths = {}, {}
for fn in (bowl, banana):
    fig, axes = plt.subplots(2, 3, figsize=(13, 8) if fn is bowl else (13, 8.5), dpi=80)
    for ax, name in zip(axes.flat, OPTIMIZERS):
        lr = SHOW_LR[fn.name][name]
        path = data.descent_path(fn, factory(name, lr), steps=SHOW_STEPS[fn.name])
        ax.set_prop_cycle(color=["tab:red"])  # a red path stands out from the contour lines
        plot.trajectory(fn, {f"{name}, lr = {lr:g}": path}, ax=ax, levels=15, resolution=100)
        shown_final[fn.name, name], shown_paths[fn.name, name] = fn(path[-1]), path
        ax.set_title(f"{name} (lr = {lr:g}): f = {fn(path[-1]):.1e} after {len(path) - 1} steps", fontsize=10)
    fig.suptitle(f"{fn.name}: {SHOW_STEPS[fn.name]} steps from ({fn.default_start[0]:g}, {fn.default_start[1]:g})")
    fig.tight_layout()
    plt.show()
assert max(shown_final[banana.name, n] for n in ("momentum", "Nesterov", "Adam")) < 1e-2
assert min(shown_final[banana.name, n] for n in ("SGD", "Adagrad", "RMSprop")) > 0.5
overshoot = {n: shown_paths[bowl.name, n][:, 0].max() for n in ("momentum", "Nesterov")}  # how far past x = 0
print(f"bowl, lr 0.02: largest overshoot past the minimum in x: momentum {overshoot['momentum']:.2f}, "
      f"Nesterov {overshoot['Nesterov']:.2f}")
assert overshoot["Nesterov"] < 0.8 * overshoot["momentum"]
assert shown_final[bowl.name, "Nesterov"] < 0.1 * shown_final[bowl.name, "momentum"]

# %% [markdown]
# On the **bowl**, SGD at 0.15 zigzags across the steep $y$ direction (factor $1 - 0.15 \cdot 10 = -0.5$: each
# step flips $y$ and halves it) while it moves along the flat $x$ direction by only 15 % of the remaining
# distance per step (factor $1 - 0.15 = 0.85$): the flat direction sets the pace, and after 40 steps it is
# close to the minimum. Momentum and Nesterov, at the same rate 0.02, both build up speed along $x$;
# momentum swings past the minimum and spirals in, while Nesterov's look-ahead damps the swings: a
# smaller overshoot (printed below the figures) and, after 40 steps, a value of $f$ more than ten times
# lower. The three
# adaptive methods start by moving *diagonally*: dividing by the gradient's own size turns their first
# steps into steps of about equal length in $x$ and $y$, whatever the slope. On **Rosenbrock** the
# difference between following the gradient and following the valley is plain: momentum, Nesterov and
# Adam follow the curved valley floor to $f < 10^{-2}$, near the minimum, while plain SGD (held back by its
# tiny rate), Adagrad (whose steps keep shrinking) and RMSprop at these rates are still on their way
# ($f > 0.5$) after 500 steps.
#
# These are deterministic toy functions with one start point. They show *mechanisms*; which optimizer
# trains a network best has to be measured on a network, with gradient noise.

# %% [markdown]
# ## The optimizers on digits: a fair comparison across learning rates
#
# Comparing optimizers each at one learning rate says more about the chosen rates than about the
# optimizers. So every optimizer trains the same network (`mlp([64, 32, 10])`, same initial weights and
# same mini-batch order for a given seed) for the same budget (4 epochs of mini-batches of 32, 136 updates),
# at each learning rate of the same grid (half-decades from $10^{-3}$ to about 3), with ten seeds. We
# record the final validation loss; a run that diverges (`history.diverged`) counts as a failure.

# %% tags=["nbval-ignore-output"]
sweep_lrs = 10.0 ** np.arange(-3, 0.6, 0.5)
SWEEP_EPOCHS = 4
def sweep_run(name, lr, seed, momentum=None):
    model = lrcourse.mlp([64, 32, 10], rng=seed)
    loss = lrcourse.SoftmaxCrossEntropy()
    optimizer = (OPTIMIZERS[name](model.parameters(), lr) if momentum is None
                 else optim.SGD(model.parameters(), lr=lr, momentum=momentum))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # divergence warnings: counted below instead
        history = lrcourse.fit(model, loss, optimizer, X_train, y_train, epochs=SWEEP_EPOCHS, batch_size=32, rng=seed)
    return {"val_loss": np.inf if history.diverged else lrcourse.evaluate(model, loss, X_val, y_val)["loss"]}


# Every optimizer x rate x seed, two runs at a time on two cores; array() has one axis per parameter.
optimizer_sweep = lrcourse.sweep(sweep_run, name=list(OPTIMIZERS), lr=sweep_lrs, seed=SEEDS, n_jobs=2)
results = dict(zip(OPTIMIZERS, optimizer_sweep.array("val_loss")))  # name -> (rates, seeds)
fig, ax = plt.subplots(figsize=(10, 5))
for name, values in results.items():
    finite = np.isfinite(values).all(axis=1)
    mean = np.where(finite, values.mean(axis=1), np.nan)
    line, = ax.plot(sweep_lrs, mean, "o-", label=name)
    ax.fill_between(sweep_lrs, np.where(finite, values.min(1), np.nan), np.where(finite, values.max(1), np.nan),
                    color=line.get_color(), alpha=0.15)
    if (~finite).any():  # one row of crosses per optimizer, above the curves
        row = 3.0 * 1.12 ** list(OPTIMIZERS).index(name)
        ax.plot(sweep_lrs[~finite], np.full((~finite).sum(), row), "x", ms=8, color=line.get_color())
ax.axhline(np.log(10), color="0.5", ls=":", label="ln 10: chance level")
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="validation loss after 4 epochs",
       title=f"Optimizers on digits: mean of {len(SEEDS)} seeds (band: min to max; crosses: diverged)",
       ylim=(0.1, 6.5))
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout()
plt.show()

print(f"{'optimizer':9s} | best lr | val loss at best lr (min to max) | lrs within 1.5x of its best")
best = {}
for name, values in results.items():
    mean = np.where(np.isfinite(values).all(axis=1), values.mean(axis=1), np.inf)
    i = int(np.argmin(mean))
    best[name] = (sweep_lrs[i], values[i])
    good = sweep_lrs[mean <= 1.5 * mean[i]]
    print(f"{name:9s} | {sweep_lrs[i]:7.3g} | {mean[i]:.3f} ({values[i].min():.3f} to {values[i].max():.3f})"
          f"{'':10s}| {good.min():.3g} to {good.max():.3g}")

# %% tags=["nbval-ignore-output"]
def mean_at(name, lr):
    return results[name][np.argmin(np.abs(np.log(sweep_lrs / lr)))].mean()


best_lr_of = {name: lr for name, (lr, _) in best.items()}
best_mean = {name: values.mean() for name, (_, values) in best.items()}
tenfold_smaller = {name: mean_at(name, best_lr_of[name] / 10) / best_mean[name] for name in OPTIMIZERS}
print("val loss with a learning rate 10x below the best, relative to the best: "
      + ", ".join(f"{name} {ratio:.1f}x" for name, ratio in tenfold_smaller.items()))
print(f"the six optimizers at their best rates: val loss {min(best_mean.values()):.3f} to {max(best_mean.values()):.3f}")
print(f"defaults: SGD lr 0.01 -> {mean_at('SGD', 0.01):.3f}, Adam lr 0.001 -> {mean_at('Adam', 0.001):.3f}")

# The statements below, checked on the numbers above.
assert best_lr_of["SGD"] >= 10 * max(best_lr_of["Adam"], best_lr_of["RMSprop"])
assert max(best_lr_of["Adam"], best_lr_of["RMSprop"]) <= 0.05
assert max(best_mean.values()) < 2 * min(best_mean.values())
winner = min(best_mean, key=best_mean.get)
print(f"at the best rates, {winner} (lowest mean) beat, seed by seed: "
      + ", ".join(f"{name} in {int(np.sum(best[winner][1] < values))} of {len(SEEDS)}"
                  for name, (_, values) in best.items() if name != winner))
assert min(tenfold_smaller.values()) > 2
assert mean_at("SGD", 0.01) > 5 * best_mean["SGD"] and mean_at("Adam", 0.001) > 5 * best_mean["Adam"]
for name in ("Adagrad", "RMSprop", "Adam"):
    assert not np.isfinite(results[name][-1]).all()

# %% [markdown]
# What the sweep shows:
#
# - **The best learning rate depends on the optimizer, by orders of magnitude.** Plain SGD wants
#   $\eta$ between about 0.3 and 1 here (printed: the best of the grid on the mean of ten seeds); momentum
#   (which multiplies the effective step by ten) wants several times less (the finer measurement below
#   says how much); Adam and RMSprop, whose $\eta$ is a step size, want a few hundredths or less, ten or
#   more times below SGD's. The usual defaults
#   (0.01 for SGD in Keras, 0.001 for Adam) are both far from the best value for this short budget, with
#   more than five times the best validation loss; lesson 04 looks at the SGD default in more detail.
# - **Every optimizer has a window**: too small and 4 epochs barely move the loss from chance level,
#   too large and training stalls or diverges. The adaptive methods diverge at the top of the grid here,
#   unlike on the 2-D functions: in a network, a step of size $\eta$ on *every* weight at once adds up.
# - **At their own best rates, the six optimizers are close**: their mean validation losses lie within
#   a factor of two of each other. Which one has the lowest mean, and how often it beat each of the
#   others seed by seed, is printed above; on another set of ten seeds the leader and the counts change,
#   so read it as "close", not as a ranking of optimizers in general.
# - **The learning rate matters more than the optimizer.** A rate ten times below the best one gives
#   every optimizer two to five times its best validation loss, a larger gap than the one between
#   optimizers. That is why the rest of the course is about choosing $\eta$.
#
# ### Momentum 0.9 and "ten times less": a finer measurement
#
# A grid with $\sqrt{10} \approx 3.2\times$ between points cannot tell 10 from 6 or 16. So we sweep plain SGD and
# SGD with momentum 0.9 on a grid four times finer (8 points per decade, $1.33\times$ apart), ten paired
# seeds, same 4-epoch budget, and locate each optimizer's best rate on the mean curve over the seeds
# (refined by fitting a parabola, in $\log \eta$, through the best grid point and its two neighbours).

# %% tags=["nbval-ignore-output"]
# each optimizer's grid spans a factor 30 around its best rate of the sweep above
FINE = {"SGD": (0.0, 10.0 ** np.arange(-1.0, 0.51, 1 / 8)), "momentum": (0.9, 10.0 ** np.arange(-2.0, -0.49, 1 / 8))}
fine_sweep = lrcourse.sweep(sweep_run, grid=[{"name": name, "lr": lr, "seed": seed, "momentum": momentum}
                                              for name, (momentum, lrs) in FINE.items() for lr in lrs for seed in SEEDS],
                            n_jobs=2)
fine = {name: fine_sweep.column("val_loss")[fine_sweep.column("name") == name].reshape(len(lrs), -1)
        for name, (_, lrs) in FINE.items()}


def best_log_lr(lrs, values):
    """log10 of the rate at the minimum of the curve: parabola through the best grid point and neighbours."""
    i = int(np.clip(np.argmin(values), 1, len(values) - 2))
    x, y = np.log10(lrs[i - 1:i + 2]), values[i - 1:i + 2]
    a, b, _ = np.polyfit(x, y, 2)
    return -b / (2 * a) if a > 0 else x[1]


fine_mean = {name: np.where(np.isfinite(v).all(axis=1), v.mean(axis=1), np.inf) for name, v in fine.items()}
fine_best = {name: 10 ** best_log_lr(FINE[name][1], values) for name, values in fine_mean.items()}
fine_ratio = fine_best["SGD"] / fine_best["momentum"]
finite = {name: np.where(np.isfinite(v), v, 1e9) for name, v in fine.items()}  # diverged: worst possible
per_seed_ratio = np.array([10 ** (best_log_lr(FINE["SGD"][1], finite["SGD"][:, k])
                                  - best_log_lr(FINE["momentum"][1], finite["momentum"][:, k]))
                           for k in range(len(SEEDS))])
print(f"best rate on the mean curve: SGD {fine_best['SGD']:.3f}, momentum 0.9 {fine_best['momentum']:.4f}; "
      f"ratio {fine_ratio:.1f} (1 / (1 - 0.9) = 10)")
print(f"the same ratio seed by seed: median {np.median(per_seed_ratio):.1f}, "
      f"from {per_seed_ratio.min():.1f} to {per_seed_ratio.max():.1f}")
# On the slow side (the five smallest SGD rates) find the shift that best lays the momentum curve on the
# SGD curve. The momentum grid is the SGD grid divided by 10; one grid index more is 10**(1/8) = 1.33x.
slow = np.arange(5)
mismatch = {d: np.mean(np.abs(np.log(fine_mean["SGD"][slow]) - np.log(fine_mean["momentum"][slow + d])))
            for d in range(-1, 4) if (slow + d).min() >= 0}
slow_shift = 10 ** (1 - min(mismatch, key=mismatch.get) / 8)
print(f"slow side: the momentum curve lies on the SGD curve moved by a factor {slow_shift:.1f}")

fig, ax = plt.subplots(figsize=(8, 4))
for name, values in fine_mean.items():
    line, = ax.plot(FINE[name][1], np.where(np.isfinite(values), values, np.nan), "o-", ms=3, label=name)
    ax.axvline(fine_best[name], color=line.get_color(), ls=":")
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="validation loss after 4 epochs",
       title=f"SGD with and without momentum 0.9, mean of {len(SEEDS)} seeds (dotted: best rate)")
ax.legend()
plt.show()

# %%
assert 7 < slow_shift < 14                       # small rates: momentum 0.9 = ten times the rate
assert 3 < fine_ratio < 12 and 3 < np.median(per_seed_ratio) < 12

# %% [markdown]
# Two different answers, both measured (printed above):
#
# - **At small rates, momentum 0.9 is plain SGD at ten times the rate**: the two curves lie on each other
#   after a shift of about $10 = 1/(1-\mu)$. There the gradient changes slowly from step to step, which
#   is what the $1/(1-\mu)$ argument assumes.
# - **The best rates differ by less than ten**: about 4 to 7 times (mean curve and median over seeds,
#   printed; 4.4 to 7.3 over our runs on three BLAS kernels and two sets of seeds), because the curves are flat near their minimum and momentum's curve turns up
#   earlier: near the largest usable rate, gradients change direction from step to step and momentum's
#   velocity keeps carrying the weights in the old direction.
#
# So "momentum 0.9 wants about ten times less" gives the right order of magnitude, not a law: here the
# best rate was 4 to 7 times less. For a given problem, measure (lesson 06 shows a quick way).
#
# ## Summary
#
# - Mini-batches are the practical middle: per update, a batch of 32 here is as good as the full batch;
#   per epoch at a fixed rate, small batches make far more progress; single examples are noisy and slow in
#   wall time.
# - With the rate scaled in proportion to the batch (the linear scaling rule), batches from 8 to 128
#   reached the same validation loss per epoch; the rule broke once the scaled rate left the usable range
#   (B = 512, rate 1.6). Warmup did not rescue it on this small network. For Adam, linear scaling beat the
#   square-root rule at this short budget.
# - Momentum multiplies the effective learning rate by $1/(1-\mu)$ along consistent directions (on digits,
#   at small rates, $\mu = 0.9$ was exactly plain SGD at ten times the rate; the best rates differed by
#   about 4 to 7 times); Nesterov adds a look-ahead that damps overshoot.
# - Adagrad, RMSprop and Adam divide by a running gradient size, so their $\eta$ is a step size that does
#   not depend on the gradient's scale: Adagrad's shrinks like $1/\sqrt{t}$, RMSprop's starts ten times
#   larger, Adam's is $\eta$ from the start.
# - On digits, the best $\eta$ ranges from 1 (SGD) to a few hundredths or less (Adam, RMSprop); a
#   learning rate only means something together with its optimizer. Each at its own best rate, the
#   optimizers end close together; a tenfold wrong rate costs far more than the choice of optimizer.
#
# **Exercise:** `exercises/03_gradient_descent_and_optimizers.ipynb` has you write the momentum, Nesterov,
# RMSprop and Adam updates yourself, run momentum on the quadratic bowl, and scale a learning rate with the
# batch size by the linear and the square-root rules.
