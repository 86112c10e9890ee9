# %% [markdown]
# # 04 · A fixed learning rate
#
# The simplest choice is to pick one number and keep it for the whole training:
#
# $$w_{\text{new}} = w_{\text{old}} - \eta \cdot \nabla L(w_{\text{old}}), \qquad \eta \text{ constant.}$$
#
# The gradient says which way is downhill and how steep it is; $\eta$ turns that into a step. With
# $\eta = 0.01$ each weight moves by one hundredth of its gradient. That sounds harmless, and the step
# can only be "too big" in relation to something. This lesson finds that something: the **curvature** of
# the loss. We derive an exact limit on a quadratic, $\eta < 2/L$, check it to three digits numerically,
# check it on a real model, measure what becomes of it on a neural network (the *edge of stability*),
# then look at what too small, good, oscillating and diverging rates do to a network on digits and on
# spirals, and measure Keras' default rate for SGD, 0.01. At the end, a playground lets you move the
# learning rate yourself.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

import lrcourse
import lrcourse.widgets
from lrcourse import data, nn, optim
from lrcourse.callbacks import Callback
from lrcourse.sharpness import sharpness

(X_train, y_train), (X_val, y_val), _ = data.digits(rng=0)
SEEDS = range(10)  # paired: for a given seed, every rate starts from the same weights and sees the same batches

# %% [markdown]
# ## One weight, one parabola
#
# Take the simplest loss with a minimum: $L(w) = \tfrac12 h w^2$, a parabola with curvature
# $L''(w) = h > 0$ and minimum at $w = 0$. Its gradient is $h w$, so one step of gradient descent gives
#
# $$w_{t+1} = w_t - \eta h w_t = (1 - \eta h)\, w_t \qquad\Longrightarrow\qquad w_t = (1 - \eta h)^t\, w_0 .$$
#
# Everything depends on the factor $1 - \eta h$:
#
# | $\eta h$ | factor $1 - \eta h$ | what happens |
# |---|---|---|
# | between 0 and 1 | between 1 and 0 | $w$ shrinks towards 0 without changing sign: smooth, slow if $\eta h$ is small |
# | exactly 1 | 0 | the minimum in one step ($\eta = 1/h$ is Newton's method) |
# | between 1 and 2 | between 0 and $-1$ | $w$ flips sign every step but shrinks: **oscillating**, still converging |
# | exactly 2 | $-1$ | $w$ jumps between $w_0$ and $-w_0$ forever |
# | above 2 | below $-1$ | each step overshoots further: **diverging** |
#
# So gradient descent on this parabola converges exactly when $0 < \eta < 2/h$. The iterates for six
# rates, $h = 1$:

# %%
h, w0, T = 1.0, 1.0, 20
fig, ax = plt.subplots(figsize=(10, 4))
for eta in (0.1, 0.5, 1.0, 1.5, 2.0, 2.1):
    w = w0 * (1 - eta * h) ** np.arange(T + 1)
    ax.plot(np.arange(T + 1), w, "o-", ms=3, label=f"lr = {eta:g}  (factor {1 - eta * h:+.1f})")
ax.set(title="Gradient descent on L(w) = h w²/2 with h = 1: the weight after each step", xlabel="step t",
       ylabel="w_t", ylim=(-3, 3))
ax.axhline(0, color="k", lw=0.5)
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Many weights: the limit $\eta < 2/L$
#
# A quadratic loss in many weights, $L(w) = \tfrac12 (w - w^\ast)^\top H (w - w^\ast)$, has a symmetric
# curvature matrix $H$ (the Hessian). Write $w - w^\ast$ in the eigenvectors of $H$; along eigenvector
# $i$, with eigenvalue (curvature) $\lambda_i$, gradient descent is exactly the parabola above:
# that component is multiplied by $1 - \eta\lambda_i$ at every step. All components shrink if and only if
# $|1 - \eta \lambda_i| < 1$ for every $i$, that is
#
# $$0 < \eta < \frac{2}{L}, \qquad L = \lambda_{\max}(H) \text{, the largest curvature.}$$
#
# The steepest direction sets the limit for all others. Two more consequences follow from the same
# factors:
#
# - The slowest component shrinks by $\max_i |1-\eta\lambda_i|$ per step. It is smallest, and
#   convergence fastest, at $\eta^\ast = 2/(\mu + L)$ with $\mu = \lambda_{\min}$, where the flattest and
#   the steepest directions shrink equally fast, by $(L-\mu)/(L+\mu)$ per step.
# - When $L/\mu$ (the *condition number*) is large, even $\eta^\ast$ is tiny compared with what the flat
#   directions could take ($2/\mu$), so they converge slowly: one fixed $\eta$ cannot suit both.
#
# Any smooth loss looks like such a quadratic near a point, with $H$ its Hessian there, and $L$, the
# largest eigenvalue of that Hessian, is called the **sharpness** of the region the weights are in. Near
# a minimum, $2/L$ is the speed limit of gradient descent. Whether it also governs the training of a
# network, whose Hessian changes at every step, is a question for a measurement; we make it below.
#
# ### Checking the limit to three digits
#
# `lrcourse.data.Quadratic(a=1, b=10)` is the bowl $(x^2 + 10 y^2)/2$: curvatures $\mu = 1$ and $L = 10$,
# so the limit is $2/L = 0.2$. We run 500 steps of gradient descent from $(-4, 2.5)$ at rates around
# 0.2 and compare the final distance to the minimum with the start.

# %%
bowl = data.Quadratic(a=1.0, b=10.0)
L_bowl, mu_bowl = bowl.max_curvature, min(bowl.a, bowl.b)
print(f"largest curvature L = {L_bowl:g}, limit 2/L = {2 / L_bowl:g}, best fixed rate 2/(mu+L) = {2 / (mu_bowl + L_bowl):.4f}")

start_distance = np.linalg.norm(bowl.default_start)
for lr in (0.190, 0.195, 0.199, 0.200, 0.201, 0.205, 0.210):
    path = data.descent_path(bowl, lambda params, lr=lr: optim.SGD(params, lr=lr), steps=500)
    ratio = np.linalg.norm(path[-1]) / start_distance
    print(f"lr = {lr:.3f}: after {len(path) - 1} steps, distance to the minimum = {ratio:.3g} x the start")

# %%
fine_lrs = np.round(np.arange(0.150, 0.2501, 0.001), 3)
growth = []
for lr in fine_lrs:
    path = data.descent_path(bowl, lambda params, lr=lr: optim.SGD(params, lr=lr), steps=200)
    half = len(path) // 2  # the long-run rate: measured over the second half of the path
    distance = np.linalg.norm(path, axis=1)
    growth.append(np.log10(distance[-1] / distance[half]) / (len(path) - 1 - half))  # log10 factor per step
growth = np.array(growth)
shrinking, growing = fine_lrs[growth < -1e-3], fine_lrs[growth > 1e-3]
neither = fine_lrs[np.abs(growth) <= 1e-3]
print(f"largest rate whose error shrinks: {shrinking.max():.3f}; smallest whose error grows: {growing.min():.3f}; "
      f"neither: {', '.join(f'{lr:.3f}' for lr in neither)}")
assert shrinking.max() == 0.199 and growing.min() == 0.201 and neither.tolist() == [0.2]

predicted = np.log10(np.maximum(np.abs(1 - fine_lrs * mu_bowl), np.abs(1 - fine_lrs * L_bowl)))
fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(fine_lrs, growth, "o", ms=3, label="measured: log10 of the distance ratio per step (steps 100 to 200)")
ax.plot(fine_lrs, predicted, "-", color="C1", label="predicted: log10 max |1 - lr * curvature|")
ax.axvline(2 / L_bowl, color="k", ls=":", label="2 / L = 0.2")
ax.axhline(0, color="k", lw=0.5)
ax.set(title="Quadratic bowl (curvatures 1 and 10): growth of the error per step", xlabel="learning rate",
       ylabel="log10 growth factor per step\n(< 0 converges, > 0 diverges)")
ax.legend()
plt.show()
assert np.allclose(growth, predicted, atol=1e-3)

# %% [markdown]
# The switch from shrinking to growing happens exactly at $\eta = 0.2$: 0.199 converges, 0.201
# diverges, and at 0.200 itself the $y$ component flips sign forever without shrinking or growing. The
# measured long-run rate (blue) follows the predicted factor $\max|1-\eta\lambda_i|$ (orange) to within
# 0.001: below $2/(\mu+L) \approx 0.18$ the flat $x$ direction limits progress, above it the steep $y$
# direction.
#
# ### The best fixed rate is not the largest stable one
#
# How many steps does it take to get within $f < 10^{-8}$ of the minimum, for each rate? The prediction
# from the factors is $\lceil \log(10^{-8}/f_0) / (2 \log \max_i|1-\eta\lambda_i|) \rceil$ steps (f is
# quadratic in the distance, hence the 2).

# %%
def steps_to_reach(fn, lr, tol=1e-8, max_steps=800):
    path = data.descent_path(fn, lambda params: optim.SGD(params, lr=lr), steps=max_steps)
    below = np.nonzero(fn(path) < tol)[0]
    return int(below[0]) if len(below) else np.inf


speed_lrs = np.round(np.arange(0.02, 0.2, 0.005), 3)
measured_steps = np.array([steps_to_reach(bowl, lr) for lr in speed_lrs])
rate = np.maximum(np.abs(1 - speed_lrs * mu_bowl), np.abs(1 - speed_lrs * L_bowl))
predicted_steps = np.log(1e-8 / bowl(bowl.default_start)) / (2 * np.log(rate))
fastest = speed_lrs[np.argmin(measured_steps)]
print(f"fewest steps: {measured_steps.min()} at lr = {fastest}; "
      f"2/(mu+L) = {2 / (mu_bowl + L_bowl):.4f}; at lr = 0.195 (near 2/L): {measured_steps[speed_lrs == 0.195][0]} steps")
assert abs(fastest - 2 / (mu_bowl + L_bowl)) <= 0.005
assert measured_steps[speed_lrs == 0.195][0] > 3 * measured_steps.min()

fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(speed_lrs, measured_steps, "o", ms=4, label="measured")
ax.plot(speed_lrs, np.ceil(predicted_steps), "-", label="predicted from max |1 - lr * curvature|")
ax.axvline(2 / (mu_bowl + L_bowl), color="C2", ls="--", label="2 / (mu + L)")
ax.axvline(2 / L_bowl, color="k", ls=":", label="2 / L")
ax.set(title="Steps to reach f < 1e-8 on the bowl", xlabel="learning rate", ylabel="steps", yscale="log")
ax.legend()
plt.show()

# %% [markdown]
# The fastest rate is $2/(\mu + L) \approx 0.18$, as predicted, and it needs far fewer steps than a rate
# just under the limit: at 0.195 the steep direction barely shrinks per step, oscillating almost without
# damping. Maximal stable is not optimal; the best fixed rate sits a little inside the limit.
#
# ### The same limit on a real model
#
# A linear model trained with the mean squared error is exactly a quadratic in its weights, so we can
# compute its $L$ from the data and predict where training breaks. For digits with one-hot targets
# (a linear model $XW + b$, 10 outputs, `MeanSquaredError`), the loss is the mean over $10N$ entries of
# $(\tilde x_i w_k - Y_{ik})^2$ with $\tilde x_i = (x_i, 1)$, so every output column $w_k$ has the same
# Hessian $H = \frac{2}{10N} \tilde X^\top \tilde X$. We compute its largest eigenvalue and then train with
# `fit` on the full batch at rates just below and above $2/L$.

# %% tags=["nbval-ignore-output"]
X64 = X_train.astype(np.float64)
Y_onehot = np.eye(10)[y_train]
X_tilde = np.hstack([X64, np.ones((len(X64), 1))])
L_digits = np.linalg.eigvalsh(2 / (10 * len(X64)) * X_tilde.T @ X_tilde)[-1]
print(f"largest curvature of the least-squares loss on digits: L = {L_digits:.4f}, limit 2/L = {2 / L_digits:.4f}")

linear_runs = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for factor in (0.5, 0.98, 1.02, 1.10):
        model = nn.Sequential(nn.Dense(64, 10, dtype=np.float64, rng=0))
        history = lrcourse.fit(model, lrcourse.MeanSquaredError(),
                               optim.SGD(model.parameters(), lr=factor * 2 / L_digits), X64, Y_onehot,
                               epochs=300, batch_size=len(X64), shuffle=False)
        linear_runs[factor] = history
        outcome = (f"stopped after {len(history.batch_loss)} updates" if history.diverged
                   else f"loss {history.history['loss'][0]:.3f} -> {history.history['loss'][-1]:.4f}")
        print(f"lr = {factor:4.2f} x 2/L = {factor * 2 / L_digits:.4f}: history.diverged = {history.diverged}, {outcome}")
print(f"\n{len(caught)} warnings from fit, e.g.:\n  {caught[0].category.__name__}: {caught[0].message}")
assert [linear_runs[f].diverged for f in (0.5, 0.98, 1.02, 1.10)] == [False, False, True, True]

# %%
fig, ax = plt.subplots(figsize=(8, 4))
for factor, history in linear_runs.items():
    ax.plot(np.arange(1, len(history.batch_loss) + 1), history.batch_loss, label=f"lr = {factor:g} x 2/L")
ax.set(title="Linear model, MSE on digits, full batch: the predicted limit holds", xlabel="update",
       ylabel="training loss (MSE)", yscale="log", xscale="log")
ax.legend()
plt.show()

# %% [markdown]
# Computed from the data alone, $2/L$ separates the runs that converge (0.98 x) from the ones that blow up
# (1.02 x). `fit` notices the blow-up: when a batch loss is not finite, or its smoothed batch loss
# ($s_t = 0.9\,s_{t-1} + 0.1\,\ell_t$, so that one unlucky batch is not enough) exceeds 10 times the first
# batch's loss, it stops, sets `history.diverged = True` and warns with the learning rate in force, as
# printed above. `history.batch_loss` keeps the losses of the updates that were applied, so
# `len(history.batch_loss)` is the number of updates made before the stop. The warning counts epochs and
# updates from 1, as this course's text and plots do: "in epoch 1 at update 3" is the update whose loss
# crossed the line, which is not applied, so the model keeps its weights after update 2.
#
# ## The edge of stability: what becomes of $2/L$ on a network
#
# For a neural network the loss is not a quadratic: its Hessian, and so its sharpness $L$, changes as the
# weights move. We can still measure $L$ at any point. The Hessian has one row per weight, too large to
# build, but its top eigenvalue needs only products $Hv$, and two gradients give one:
# $Hv \approx (g(w + \epsilon v) - g(w - \epsilon v)) / (2\epsilon)$. Power iteration
# ($v \leftarrow Hv/|Hv|$, repeated) then converges to the top eigenvector, and $v \cdot Hv$ to $L$.
# `lrcourse.sharpness.sharpness(model, loss, X, y)` does exactly this.
#
# We train a small network, `mlp([64, 32, 10], activation="tanh")` in float64, with the mean squared
# error on one-hot targets and **full-batch** gradient descent (no mini-batch noise: the setting where the
# quadratic theory is cleanest), at three rates, and measure the sharpness every 40 updates. The network
# starts with a sharpness of about 5 to 6 (it depends on the seed), so:
#
# - at $\eta = 0.2$, $2/\eta = 10$ is far above it: the quadratic picture says "stable";
# - at $\eta = 0.5$ and $0.7$, $2/\eta = 4$ and $2.9$ are *below* it: on a quadratic with this $L$,
#   gradient descent would diverge.

# %%
class TrackSharpness(Callback):
    """Measure the sharpness before every ``every``-th update (power iteration, warm-started)."""

    def __init__(self, loss, X, y, every):
        self.loss, self.X, self.y, self.every = loss, X, y, every
        self.steps, self.values, self.vector = [], [], None

    def on_batch_begin(self, step, logs):
        if step % self.every == 0:  # the last top eigenvector is a good start for the next measurement
            value, self.vector = sharpness(self.model, self.loss, self.X, self.y, v0=self.vector, rng=0,
                                           tol=1e-3, iters=20, return_vector=True)
            self.steps.append(step)
            self.values.append(value)


def full_batch_gd_with_sharpness(lr, seed, updates=800, every=40):
    model = lrcourse.mlp([64, 32, 10], activation="tanh", rng=seed, dtype=np.float64)
    loss = lrcourse.MeanSquaredError()
    tracker = TrackSharpness(loss, X64, Y_onehot, every)
    history = lrcourse.fit(model, loss, optim.SGD(model.parameters(), lr=lr), X64, Y_onehot, epochs=updates,
                           batch_size=len(X64), shuffle=False, callbacks=[tracker])
    history.sharpness_steps, history.sharpness = np.array(tracker.steps), np.array(tracker.values)
    return history


EOS_LRS = (0.2, 0.5, 0.7)
# Three independent runs, two at a time on two cores, with a progress bar (lrcourse.sweep).
eos_sweep = lrcourse.sweep(full_batch_gd_with_sharpness, lr=EOS_LRS, seed=[SEEDS[0]], n_jobs=2)
eos = {lr: (h.batch_loss, h.sharpness_steps, h.sharpness, h.diverged) for lr, h in zip(EOS_LRS, eos_sweep.histories)}

fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(13, 4.5))
for lr, colour in zip(EOS_LRS, ("C0", "C1", "C3")):
    losses, steps, values, _ = eos[lr]
    ax_s.plot(steps, values, "o-", ms=3, color=colour, label=f"lr = {lr:g}: sharpness")
    ax_s.axhline(2 / lr, color=colour, ls=":", label=f"2 / lr = {2 / lr:.3g}")
    ax_l.plot(np.arange(1, len(losses) + 1), losses, color=colour, label=f"lr = {lr:g}")
ax_s.set(title="Sharpness (top Hessian eigenvalue) during full-batch GD", xlabel="update",
         ylabel="sharpness L", ylim=(0, 12))
ax_l.set(title="Training loss (MSE)", xlabel="update", ylabel="loss", yscale="log")
ax_s.legend(fontsize=8, ncol=2)
ax_l.legend()
fig.suptitle(f"mlp([64, 32, 10], tanh) on digits, full batch, seed {SEEDS[0]}")
fig.tight_layout()
plt.show()

# %% tags=["nbval-ignore-output"]
print(f"{'lr':>4s} | 2/lr | sharpness at the start | median over the second half | its ratio to 2/lr | "
      f"updates where the loss rose")
eos_ratio = {}
for lr in EOS_LRS:
    losses, steps, values, diverged = eos[lr]
    second_half = values[steps >= steps.max() / 2]
    eos_ratio[lr] = np.median(second_half) / (2 / lr)
    print(f"{lr:4g} | {2 / lr:4.3g} | {values[0]:22.2f} | {np.median(second_half):28.2f} | {eos_ratio[lr]:16.2f} | "
          f"{int(np.sum(np.diff(losses) > 0))}")

# %%
# The statements below, checked on the numbers above.
assert not any(eos[lr][3] for lr in EOS_LRS)                                   # no run diverged
assert all(eos[lr][2][0] > 2 / lr for lr in (0.5, 0.7))                        # they start beyond 2/lr ...
assert all(0.8 < eos_ratio[lr] < 1.2 for lr in (0.5, 0.7))                     # ... and settle at 2/lr
assert eos_ratio[0.2] < 0.7 and np.all(np.diff(eos[0.2][0]) <= 0)             # 0.2: far below, smooth descent
assert all(eos[lr][0][-1] < eos[0.2][0][-1] for lr in (0.5, 0.7))              # the edge runs end lower

# %% [markdown]
# The quadratic's rule does not stop the network; the network adapts to the rule:
#
# - At **0.2** the sharpness stays far below $2/\eta = 10$ (it drifts down a little) and the loss falls at
#   every update, as on a quadratic with a small enough rate.
# - At **0.5 and 0.7** the first updates are unstable (the sharpness is above $2/\eta$), and the loss jumps;
#   instead of diverging, the weights are thrown into a flatter region, where the sharpness is below
#   $2/\eta$. Then the sharpness climbs back and **settles at about $2/\eta$**: over the second half of the
#   run its median is close to $2/\eta$ (table). There the loss keeps falling, but not at every update
#   (the last column): it ends lower than at 0.2.
#
# This is the **edge of stability** (Cohen, Kaur, Li, Kolter & Talwalkar 2021, *Gradient descent on neural
# networks typically occurs at the edge of stability*, arXiv:2103.00065): full-batch gradient descent
# drives the sharpness up to about $2/\eta$ and keeps training there, in a regime the quadratic theory
# calls unstable. (In their larger experiments the sharpness also rises from far below, "progressive
# sharpening"; on this small problem at 0.2 it does not within 800 updates.) So the honest link between
# $2/L$ and a network is: $2/\eta$ is a ceiling on the sharpness of the places gradient descent can stay;
# a larger rate does not diverge as long as flatter places exist, it confines training to them. Only when
# none is reachable does it diverge, as at 10.0 below.
#
# We measured one seed here to keep the lesson fast. With seeds 1, 2 and 10 and the same settings, the
# medians were 0.87 to 1.04 times $2/\eta$ at 0.5 and 0.7 (the lowest, 0.87, at 0.5, where the sharpness
# was still climbing after 800 updates), and about half of $2/\eta$ at 0.2.

# %% [markdown]
# ## Too small, good, oscillating, diverging: a network on digits
#
# Now the network from lesson 01, `mlp([64, 64, 10])`, trained with plain SGD on mini-batches of 32 for
# 10 epochs (340 updates), at rates spread over four orders of magnitude. Every rate uses the same ten
# seeds, so for a given seed all rates start from the same weights and see the same batches (a *paired*
# comparison). The runs are independent, so `lrcourse.sweep` runs them two at a time on two processor
# cores.

# %% tags=["nbval-ignore-output"]
REGIME_LRS = (0.001, 0.01, 0.3, 1.0, 2.0, 10.0)
EPOCHS = 10


def train_digits(lr, seed, epochs=EPOCHS, callbacks=()):
    model = lrcourse.mlp([64, 64, 10], rng=seed)
    history = lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=lr),
                           X_train, y_train, epochs=epochs, batch_size=32, validation_data=(X_val, y_val),
                           rng=seed, callbacks=callbacks)
    history.model = model  # the trained network travels with its History (as in Keras), to inspect it below
    return history


def paired_runs(train, lrs):
    """{(lr, seed): History} for every rate and seed, and the divergence warnings."""
    with warnings.catch_warnings(record=True) as caught:  # sweep brings the workers' warnings back here
        warnings.simplefilter("always")
        result = lrcourse.sweep(train, lr=lrs, seed=SEEDS, n_jobs=2)
    runs = {(row["lr"], row["seed"]): history for row, history in zip(result.rows, result.histories)}
    return runs, [str(w.message) for w in caught]


def print_regimes(runs, lrs):
    print(f"{'lr':>6s} | diverged | val loss after {EPOCHS} epochs: mean (min to max) | val accuracy mean | "
          f"runs whose epoch training loss rose at least once")
    for lr in lrs:
        histories = [runs[lr, s] for s in SEEDS]
        finished = [h for h in histories if not h.diverged]
        val = np.array([h.history["val_loss"][-1] for h in finished])
        acc = np.array([h.history["val_accuracy"][-1] for h in finished])
        rose = sum(np.any(np.diff(h.history["loss"]) > 0) for h in finished)
        summary = f"{val.mean():.3f} ({val.min():.3f} to {val.max():.3f})" if len(finished) else "-"
        print(f"{lr:6g} | {len(histories) - len(finished):2d} of {len(histories)} | {summary:>37s} | "
              f"{acc.mean() if len(finished) else np.nan:17.3f} | {rose} of {len(finished)}")


regimes, divergence_warnings = paired_runs(train_digits, REGIME_LRS)
print_regimes(regimes, REGIME_LRS)
print(f"\nfit warned {len(divergence_warnings)} times, e.g.: {divergence_warnings[0]}")


# %% tags=["nbval-ignore-output"]
def dead_fraction(model):
    """Share of hidden ReLU units that output 0 for every training image."""
    first = model.layers[0]
    hidden = np.maximum(X_train @ first.W.value + first.b.value, 0)
    return float(np.mean(hidden.max(axis=0) == 0))


fig, (ax_train, ax_val) = plt.subplots(1, 2, figsize=(13, 4.5))
for lr, colour in zip(REGIME_LRS, ("C7", "C0", "C2", "C1", "C4", "C3")):
    for seed in SEEDS[:3]:  # three seeds per rate keep the figure readable
        history = regimes[lr, seed]
        label = f"lr = {lr:g}" if seed == 0 else None
        epochs_done = np.arange(1, len(history.batch_loss) + 1) / 34  # 34 updates per epoch
        if history.diverged:
            ax_train.plot(epochs_done, history.batch_loss, "x-", color=colour, label=label and label + " (diverged)")
            continue
        ax_train.plot(epochs_done, history.batch_loss, color=colour, lw=0.6, alpha=0.7, label=label)
        ax_val.plot(np.arange(1, EPOCHS + 1), history.history["val_loss"], "o-", ms=3, color=colour, label=label)
ax_train.set(title="Training loss of every mini-batch (3 seeds per rate)", xlabel="epoch", ylabel="batch loss",
             yscale="log")
ax_val.set(title="Validation loss after each epoch", xlabel="epoch", ylabel="validation loss", yscale="log")
ax_train.legend(fontsize=8)
ax_val.legend(fontsize=8)
fig.suptitle("mlp([64, 64, 10]) on digits, plain SGD, batch 32")
fig.tight_layout()
plt.show()
for lr in (1.0, 2.0):
    print(f"lr = {lr:g}: dead hidden units after training, per seed: "
          + ", ".join(f"{dead_fraction(regimes[lr, s].model):.0%}" for s in SEEDS if not regimes[lr, s].diverged))

# %%
# The statements below, checked on the numbers above.
def val_losses(lr):
    return np.array([regimes[lr, s].history["val_loss"][-1] for s in SEEDS])


def rises(lr):
    return np.array([int(np.sum(np.diff(regimes[lr, s].history["loss"]) > 0)) for s in SEEDS])


assert val_losses(0.001).min() > 2.0                                       # barely moved from ln 10
assert val_losses(0.01).min() > 5 * val_losses(0.3).max()                  # the default is far behind
assert np.sum(rises(0.3) > 0) <= 2 and np.sum(rises(1.0) > 0) >= 7          # 1.0 oscillates, 0.3 hardly
digits_wins = int(np.sum(val_losses(1.0) < val_losses(0.3)))               # paired: same seed, same batches
assert digits_wins >= 8                                                     # ... and 1.0 still ends lower
assert val_losses(2.0).min() > 2.0 and min(dead_fraction(regimes[2.0, s].model) for s in SEEDS) > 0.9
assert not any(regimes[2.0, s].diverged for s in SEEDS)
# 10.0 diverges in most seeds; in the others it kills the network like 2.0 (chance-level loss)
assert any(regimes[10.0, s].diverged for s in SEEDS)
assert all(regimes[10.0, s].diverged or regimes[10.0, s].history["val_loss"][-1] > 2.0 for s in SEEDS)

# %% [markdown]
# Five behaviours, measured on the same ten seeds:
#
# - **Too small (0.001):** after 340 updates the validation loss is still above 2, close to the $\ln 10
#   \approx 2.3$ of random guessing. Nothing is wrong except that each step is tiny.
# - **Slow (0.01):** it learns, but after 10 epochs its validation loss is more than five times that
#   of the good rates.
# - **Good (0.3):** fast and smooth: the epoch training loss falls in every epoch, in all or nearly all
#   seeds (table).
# - **Oscillating (1.0):** the mini-batch losses jump around much more, and the epoch training loss goes
#   *up* in some epochs, in most seeds. Yet on the digits it ends with a lower validation loss than 0.3 in
#   nearly every paired seed (counted below; 9 or 10 of 10 in all our runs, on three BLAS kernels and two
#   sets of ten seeds): at this budget, the best fixed rate for
#   the digits is one that already oscillates a little. This is the regime the cyclical schedules of
#   lesson 07 deliberately visit.
# - **Broken (2.0):** not diverging, but dead. The first large steps push most ReLU units into the
#   region where they output 0 for every image (over 90 % of them, printed above); a dead unit has zero
#   gradient and never recovers, so the network is stuck at a loss near $\ln 10$. `fit` cannot flag
#   this: the loss did not blow up. Watching the loss curve does.
# - **Diverging (10.0):** in most seeds the loss explodes within the first updates; `fit` stops, sets
#   `history.diverged`, and warns (printed above). A seed that escapes the explosion ends dead, like 2.0.
#
# The window of rates that work well here spans less than one order of magnitude (0.3 to 1), with a
# cliff right above it.
#
# ### Watching a run
#
# A table after the fact hides *when* things happen. `lrcourse.LivePlot()`, passed to `fit` as a
# callback, redraws one figure while training runs: the loss of every mini-batch (faint) and of every
# epoch, the accuracy, and the learning rate on its own axis. Below, two runs of the table above
# replayed with it, both seed 0: the oscillating 1.0 and the broken 2.0. Watch the batch losses of
# 1.0 jump around the epoch averages, and the loss of 2.0 settle near $\ln 10 \approx 2.3$ with the
# accuracy near chance: `fit` sees nothing wrong there, the curve does. (Try 10.0 and another seed:
# the last frame of a diverging run marks in red where `fit` stopped it, and at which rate.)

# %% tags=["nbval-ignore-output"]
for lr in (1.0, 2.0):
    live = lrcourse.LivePlot()
    train_digits(lr, seed=0, callbacks=[live])

# %% [markdown]
# ### Is "the best fixed rate already oscillates" a rule? The same test on spirals
#
# A result measured on one dataset is a result about that dataset. We repeat the three good rates on a
# second problem, three interleaved spirals with noise (`data.spirals(noise=0.5)`: 600 training points,
# a fresh draw of 600 for validation), with `mlp([2, 64, 64, 3])` and otherwise the same recipe: plain
# SGD, batches of 32, 10 epochs, the same ten paired seeds.

# %% tags=["nbval-ignore-output"]
X_spirals, y_spirals = data.spirals(n_samples=600, noise=0.5, rng=0)
X_spirals_val, y_spirals_val = data.spirals(n_samples=600, noise=0.5, rng=1)
SPIRAL_LRS = (0.1, 0.3, 1.0)


def train_spirals(lr, seed, epochs=EPOCHS):
    model = lrcourse.mlp([2, 64, 64, 3], rng=seed)
    history = lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=lr),
                           X_spirals, y_spirals, epochs=epochs, batch_size=32,
                           validation_data=(X_spirals_val, y_spirals_val), rng=seed)
    history.model = model
    return history


spiral_runs, _ = paired_runs(train_spirals, SPIRAL_LRS)
print_regimes(spiral_runs, SPIRAL_LRS)


def final_val(runs, lr):
    return np.array([runs[lr, s].history["val_loss"][-1] for s in SEEDS])


spiral_best = [SPIRAL_LRS[i] for i in np.argmin([final_val(spiral_runs, lr) for lr in SPIRAL_LRS], axis=0)]
spirals_wins = int(np.sum(final_val(spiral_runs, 1.0) < final_val(spiral_runs, 0.3)))
print(f"\n1.0 ends with a lower validation loss than 0.3 in {digits_wins} of {len(SEEDS)} seeds on digits, "
      f"{spirals_wins} of {len(SEEDS)} on spirals")
print("best of the three rates, per seed, on spirals:", spiral_best)

# %%
assert spirals_wins <= 5                     # on spirals, 1.0 does not beat 0.3 in most seeds
assert spiral_best.count(0.3) >= 5           # 0.3 is the best of the three in most seeds

# %% [markdown]
# On spirals the picture changes: 1.0 beats 0.3 in only a minority of the seeds (printed above; 2 to 4 of
# 10 in our runs), and 0.3 is the best of the three in most seeds (6 to 8 of 10 in our runs). So
# "the best fixed rate already oscillates" is a digits result, not a rule. What holds on both is the
# shape: a window of good rates about one order of magnitude wide, with the best one near its top, and
# worse results on either side.

# %% [markdown]
# ## Keras' default: 0.01
#
# Keras' `SGD` optimizer uses `learning_rate=0.01` unless told otherwise (`lrcourse.optim.SGD` has the
# same default). The source post of this course describes it as relatively small: updates are 1 % of the
# gradient, slower to converge but less likely to overshoot. How much slower, on this network? We
# train at 0.01 and at 0.3 until the validation loss first drops below 0.2, on the first three seeds, and
# count epochs (at most 200).

# %% tags=["nbval-ignore-output"]
class StopWhenBelow(Callback):
    """Stop training at the end of the first epoch whose validation loss is <= ``target``."""

    def __init__(self, target):
        self.target, self.epochs_needed = target, None

    def on_epoch_end(self, epoch, logs):
        if logs["val_loss"] <= self.target:
            self.epochs_needed = epoch + 1
            self.model.stop_training = True


SLOW_SEEDS = SEEDS[:3]  # lr 0.01 needs about a hundred epochs per seed: three seeds keep the lesson fast
TARGET, MAX_EPOCHS = 0.2, 200


def epochs_to_target(lr, seed):
    stopper = StopWhenBelow(TARGET)
    train_digits(lr, seed, epochs=MAX_EPOCHS, callbacks=[stopper])
    return {"epochs_needed": stopper.epochs_needed or np.inf}


needed = lrcourse.sweep(epochs_to_target, lr=[0.3, 0.01], seed=SLOW_SEEDS, n_jobs=2)
epochs_needed = {(row["lr"], row["seed"]): row["epochs_needed"] for row in needed}
for lr in (0.3, 0.01):
    print(f"lr = {lr:4g}: epochs to reach validation loss {TARGET}: "
          + ", ".join(str(epochs_needed[lr, s]) for s in SLOW_SEEDS))
slowdown = [epochs_needed[0.01, s] / epochs_needed[0.3, s] for s in SLOW_SEEDS]
print(f"lr 0.01 needs {min(slowdown):.0f} to {max(slowdown):.0f} times as many epochs as lr 0.3")
assert min(slowdown) > 10

# %% [markdown]
# On this network, Keras' default needs well over ten times as many epochs as a rate of 0.3 to reach the
# same validation loss; both get there in the end. The default is a safe value for models whose
# gradients are large; it is not a good value in general, because a good value depends on the curvature of
# *your* loss, which no library can know in advance. Lesson 06 shows how to find the usable range in one
# short run instead of guessing.

# %% [markdown]
# ## The learning-rate playground
#
# Move the **learning rate** slider (log scale) and watch the path of gradient descent on the bowl from
# above (left) and the loss $f - f^\ast$ step by step (right). The title says whether the run is slow,
# good, oscillating or diverging. Things to try:
#
# 1. With SGD, find the rate where the path starts to zig-zag, and the one where it flies off. Compare
#    with $2/(\mu+L) \approx 0.18$ and $2/L = 0.2$.
# 2. Switch to *SGD + momentum 0.9*: how far can you push the rate now, and what does the path look like
#    just below the limit?
# 3. Switch to *Adam*: can you make it diverge at all? (Lesson 03 explains why its $\eta$ is a step size.)
# 4. Switch the function to *Rosenbrock*: the curved valley is much sharper, so the SGD limit is far
#    lower.
#
# The widget needs a running kernel: run the cells above first (*Run > Run All Cells*).

# %%
playground = lrcourse.widgets.lr_playground(lr=0.05)
playground

# %% [markdown]
# For readers without a kernel, the same verdicts the playground shows, for plain SGD on the bowl
# (50 steps from $(-4, 2.5)$):

# %%
for lr in (0.01, 0.05, 0.1, 0.15, 0.19, 0.21, 0.5):
    playground.update(lr=lr)
    print(f"lr = {lr:5g}: {playground.verdict:11s}  f - f* after {len(playground.path) - 1} steps: "
          f"{playground.losses[-1]:.2g}")
_ = playground.update(lr=0.05)  # back to where the slider started

# %% [markdown]
# ## Summary
#
# - A fixed learning rate multiplies every gradient by the same $\eta$. On a quadratic, each curvature
#   direction $\lambda$ shrinks by $|1-\eta\lambda|$ per step, so gradient descent converges if and only if
#   $\eta < 2/L$, with $L$ the largest curvature; we found the switch between 0.199 and 0.201 on a bowl
#   with $L = 10$, and at the computed $2/L$ for a linear model on digits.
# - The fastest fixed rate on a quadratic is $2/(\mu+L)$, inside the limit; near the limit the steep
#   direction barely damps. With a large condition number $L/\mu$, no single rate is fast in every
#   direction.
# - On a network the sharpness moves with the weights. Full-batch gradient descent at a rate whose $2/\eta$
#   is below the starting sharpness does not diverge: it moves to flatter places and then trains with
#   the sharpness at about $2/\eta$, the *edge of stability* (measured with `lrcourse.sharpness`).
# - On a network, rates that are too small waste updates, good ones fall smoothly, slightly larger ones
#   oscillate (on digits they still end best, in nearly every paired seed; on spirals they do not),
#   larger ones can kill ReLU units without any explosion, and the largest diverge, which `fit` detects
#   and reports.
# - Keras' default 0.01 needed more than ten times as many epochs as 0.3 on digits: a default is not a
#   tuned value.
#
# A fixed rate has to be a compromise between the fast start and the careful end of training. Lesson 05
# lets it change over time (decay schedules); lesson 06 finds the usable range by measurement.
#
# **Exercise:** `exercises/04_fixed_learning_rate.ipynb` has you compute iterates on a parabola, classify
# rates as monotone, oscillating or unstable, derive the largest stable and the best fixed learning
# rate from the curvature, and compute a sharpness by power iteration, as `lrcourse.sharpness` does.
#
# **References.** The range-test and cyclical-rate lessons build on L. N. Smith (2017), *Cyclical Learning
# Rates for Training Neural Networks*, WACV; and L. N. Smith & N. Topin (2017), *Exploring loss function
# topology with cyclical learning rates*, arXiv:1702.04283.
