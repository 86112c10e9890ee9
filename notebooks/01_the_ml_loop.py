# %% [markdown]
# # 01 · The machine-learning loop
#
# Supervised learning looks for parameters $\theta$ (the weights) such that a model's predictions
# $f(x;\theta)$ match known targets $y$. Every method in this course, from plain gradient descent to
# one-cycle schedules, runs the same five steps over and over:
#
# 1. **data**: take a batch of training examples $(x, y)$;
# 2. **forward pass**: compute the predictions $\hat y = f(x; \theta)$;
# 3. **loss**: one number $L(\hat y, y)$ that says how wrong the predictions are;
# 4. **gradients**: $\nabla_\theta L$, how the loss changes when each weight changes a little
#    (computed by backpropagation, lesson 02);
# 5. **update**: move every weight a small step against its gradient,
#    $\theta \leftarrow \theta - \eta\, \nabla_\theta L$.
#
# The $\eta$ in step 5 is the **learning rate**, the subject of this course. In this lesson we write the
# loop out in plain numpy, check that `lrcourse.fit` computes exactly the same thing, and then train a
# first small neural network and read its loss curve.

# %%
import matplotlib.pyplot as plt
import numpy as np
from tqdm.auto import tqdm

import lrcourse
from lrcourse import data, nn

(X_train, y_train), (X_val, y_val), (X_test, y_test) = data.digits(rng=0)
print(f"train {X_train.shape}, validation {X_val.shape}, test {X_test.shape}")

# %% [markdown]
# ## The loop in plain numpy
#
# The smallest model that can classify the digits is **softmax regression**: one weight matrix
# $W$ (64 pixels x 10 classes) and one bias vector $b$ (10 classes). For an image $x$ (a row of 64 pixel
# values) it computes ten scores, the *logits* $z = xW + b$, and turns them into probabilities with the
# softmax, $p_k = e^{z_k} / \sum_j e^{z_j}$. The loss is the **cross-entropy**, the mean over the
# $N$ examples of $-\log p_{y}$: the negative log of the probability given to the correct class. It is 0
# for a confident correct prediction and grows without bound for a confident wrong one.
#
# Its gradient has a famously simple form (lesson 02 derives it): with $Y$ the one-hot targets,
#
# $$\frac{\partial L}{\partial z} = \frac{P - Y}{N}, \qquad
#   \frac{\partial L}{\partial W} = X^\top \frac{\partial L}{\partial z}, \qquad
#   \frac{\partial L}{\partial b} = \sum_{i} \frac{\partial L}{\partial z_i}.$$
#
# Here is the whole loop. It uses every training image in every update (**full-batch** gradient
# descent) and starts from all-zero weights, so nothing random is involved yet.

# %%
def softmax(z):
    z = z - z.max(axis=1, keepdims=True)  # same result, but exp() cannot overflow
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(p, y):
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def train_softmax_regression(X, y, lr, steps):
    X = X.astype(np.float64)
    W = np.zeros((X.shape[1], 10))
    b = np.zeros(10)
    Y = np.eye(10)[y]                       # one-hot targets
    losses = []
    for step in range(steps):
        p = softmax(X @ W + b)              # 2. forward pass
        losses.append(cross_entropy(p, y))  # 3. loss
        dz = (p - Y) / len(X)               # 4. gradients
        dW, db = X.T @ dz, dz.sum(axis=0)
        W -= lr * dW                        # 5. update
        b -= lr * db
    return W, b, np.array(losses)


def accuracy(W, b, X, y):
    return float(np.mean(np.argmax(X @ W + b, axis=1) == y))


LR, STEPS = 0.5, 100
W, b, numpy_losses = train_softmax_regression(X_train, y_train, lr=LR, steps=STEPS)
for step in (0, 1, 2, 5, 10, 20, 50, 99):
    print(f"step {step:3d}: training loss {numpy_losses[step]:.4f}")
print(f"after {STEPS} steps: training accuracy {accuracy(W, b, X_train, y_train):.3f}, "
      f"validation accuracy {accuracy(W, b, X_val, y_val):.3f}")

# %% [markdown]
# Two things to check against what we know.
#
# **The first loss is $\ln 10$.** With all weights at zero every logit is 0, the softmax gives each class
# probability $1/10$, and the cross-entropy is $-\ln(1/10) = \ln 10 \approx 2.3026$. A first loss far from
# $\ln(\text{number of classes})$ is a classic sign of a bug (or of a badly scaled initialisation).
#
# **The gradient formula is right.** We can test it without any calculus: nudge one weight by a tiny
# $\varepsilon$ in both directions and see how much the loss changes. The slope
# $(L(w+\varepsilon) - L(w-\varepsilon)) / 2\varepsilon$ must match the formula's entry for that weight.

# %%
assert abs(numpy_losses[0] - np.log(10)) < 1e-12
print(f"first loss {numpy_losses[0]:.6f}, ln 10 = {np.log(10):.6f}")

X64 = X_train.astype(np.float64)
W_probe = np.random.default_rng(0).normal(0, 0.1, size=(64, 10))  # an arbitrary point, not zeros
dz = (softmax(X64 @ W_probe) - np.eye(10)[y_train]) / len(X64)
formula = (X64.T @ dz)[36, 3]  # pixel 36, class 3
eps = 1e-6
W_plus, W_minus = W_probe.copy(), W_probe.copy()
W_plus[36, 3] += eps
W_minus[36, 3] -= eps
slope = (cross_entropy(softmax(X64 @ W_plus), y_train)
         - cross_entropy(softmax(X64 @ W_minus), y_train)) / (2 * eps)
print(f"dL/dW[36, 3]: formula {formula:.8f}, finite difference {slope:.8f}")
assert abs(formula - slope) < 1e-7

# %% [markdown]
# They agree to about eight decimals. Lesson 02 turns this spot check into a systematic
# **gradient check** over every weight of a network.

# %% [markdown]
# ## The same loop with `lrcourse`
#
# `lrcourse` packages the five steps: a model made of layers (`nn.Dense` computes $xW + b$), a loss
# (`SoftmaxCrossEntropy`, softmax and cross-entropy in one, as above), an optimizer (`SGD` applies
# $w \leftarrow w - \eta\, g$) and `fit`, which runs the loop. To show that nothing else is going on, we
# build the same model, start it from zero weights, give `fit` the whole training set as one batch
# (`batch_size=len(X_train)`, `shuffle=False`) and compare its losses with the numpy loop's, step by step.

# %% tags=["nbval-ignore-output"]
linear = nn.Sequential(nn.Dense(64, 10, dtype=np.float64))
for p in linear.parameters():
    p.value[...] = 0.0
history = lrcourse.fit(
    linear, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(linear.parameters(), lr=LR),
    X_train.astype(np.float64), y_train, epochs=STEPS, batch_size=len(X_train), shuffle=False,
)
fit_losses = np.array(history.history["loss"])
largest_gap = np.max(np.abs(fit_losses - numpy_losses))
print(f"largest difference between the two loss curves over {STEPS} steps: {largest_gap:.1e}")
assert largest_gap < 1e-10
assert np.allclose(linear.layers[0].W.value, W, atol=1e-12)

# %% [markdown]
# The two runs agree to rounding error, so `fit` *is* the loop above. It adds what real training needs:
# mini-batches in a shuffled order (the next section, and lesson 03), validation after every epoch,
# callbacks such as early stopping, a progress bar (`progress=True`), and it stops with a warning when
# the loss blows up (lesson 04). An **epoch** is one pass over the training set; with full batches an
# epoch is a single update, with mini-batches of 32 it is $\lceil 1077/32 \rceil = 34$ updates.

# %% [markdown]
# ## A first neural network
#
# Now a real network: a multilayer perceptron with one hidden layer of 64 ReLU units,
# `mlp([64, 64, 10])`. Its weights start random (He initialisation, seeded), so the run is repeatable.
# We train it on mini-batches of 32 images with learning rate 0.1 for 30 epochs, measuring the loss
# and accuracy on the validation set after every epoch.

# %% tags=["nbval-ignore-output"]
EPOCHS, BATCH, NET_LR = 30, 32, 0.1


def train_mlp(seed, progress=False):
    model = lrcourse.mlp([64, 64, 10], rng=seed)
    loss = lrcourse.SoftmaxCrossEntropy()
    history = lrcourse.fit(
        model, loss, lrcourse.SGD(model.parameters(), lr=NET_LR), X_train, y_train,
        epochs=EPOCHS, batch_size=BATCH, validation_data=(X_val, y_val), rng=seed, progress=progress,
    )
    return model, loss, history


model, loss, history = train_mlp(seed=0, progress=True)
h = history.history
print(f"{len(history.batch_loss)} updates ({EPOCHS} epochs of {len(history.batch_loss) // EPOCHS})")
print(f"epoch  1: train loss {h['loss'][0]:.4f}, val loss {h['val_loss'][0]:.4f}, "
      f"val accuracy {h['val_accuracy'][0]:.3f}")
print(f"epoch {EPOCHS}: train loss {h['loss'][-1]:.4f}, val loss {h['val_loss'][-1]:.4f}, "
      f"val accuracy {h['val_accuracy'][-1]:.3f}")

# %%
epochs = np.arange(1, EPOCHS + 1)
updates_per_epoch = len(history.batch_loss) // EPOCHS
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
ax_loss.plot(np.arange(1, len(history.batch_loss) + 1) / updates_per_epoch, history.batch_loss,
             color="0.75", lw=0.7, label="one mini-batch (training)")
ax_loss.plot(epochs, h["loss"], "o-", ms=3, label="training, mean over the epoch")
ax_loss.plot(epochs, h["val_loss"], "s-", ms=3, label="validation, after the epoch")
ax_loss.set(title="Loss of mlp([64, 64, 10]) on digits, SGD lr = 0.1", xlabel="epoch",
            ylabel="cross-entropy loss", yscale="log")
ax_loss.legend()
ax_acc.plot(epochs, h["accuracy"], "o-", ms=3, label="training")
ax_acc.plot(epochs, h["val_accuracy"], "s-", ms=3, label="validation")
ax_acc.set(title="Accuracy", xlabel="epoch", ylabel="fraction classified correctly", ylim=(0.7, 1.005))
ax_acc.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# How to read these curves (note the log scale on the loss):
#
# - The **grey line** is the loss of each mini-batch. It is noisy because every batch holds different
#   images; each update follows the gradient of one batch, not of the whole training set. The epoch means
#   smooth that noise out.
# - **Training loss falls fastest at the start.** The next cell measures how much of the total decrease
#   happened in the first few epochs.
# - The **validation loss** follows the training loss at first, then falls more slowly while the
#   training loss keeps falling: the network starts to fit details of the training images that do not
#   carry over to new ones. The gap is measured below too.

# %% tags=["nbval-ignore-output"]
first_loss = history.batch_loss[0]
decrease = first_loss - h["loss"][-1]
share_after_3 = (first_loss - h["loss"][2]) / decrease  # epochs 1-3: 10 % of the training
print(f"loss of the very first batch {first_loss:.3f} (ln 10 = {np.log(10):.3f}), "
      f"after {EPOCHS} epochs {h['loss'][-1]:.4f}")
print(f"share of the total decrease reached after 3 of {EPOCHS} epochs: {share_after_3:.0%}")
best_val_epoch = int(np.argmin(h["val_loss"])) + 1
print(f"lowest validation loss {min(h['val_loss']):.4f} at epoch {best_val_epoch}; "
      f"at the end: train {h['loss'][-1]:.4f} vs val {h['val_loss'][-1]:.4f}")
assert share_after_3 > 0.7  # 0.72-0.78 over seeds 0-9 (the same under every BLAS kernel tried)
assert best_val_epoch >= EPOCHS - 2  # validation loss still (slowly) falling at the end
assert h["val_loss"][-1] > 1.5 * h["loss"][-1]
test = lrcourse.evaluate(model, loss, X_test, y_test)
print(f"test set (never used for any decision): loss {test['loss']:.4f}, accuracy {test['accuracy']:.3f}")

# %% [markdown]
# About three quarters of the whole decrease in training loss happens in the first 3 of 30 epochs
# (10 % of the training; the next section measures it over five seeds); the remaining 27 epochs polish.
# This shape, a fast drop and then a long slow tail, is what motivates the learning-rate schedules of lessons 05 and 07: a rate that suits the fast
# start is not necessarily the one that suits the tail.
#
# The validation loss is still creeping down at epoch 30 (its lowest value is in the last three epochs),
# so this run has not started to overfit in the sense of validation loss rising. But it ends about twice
# as high as the training loss: the network fits the images it trains on better than new ones, and that gap
# widens as training goes on. (The first batch's loss, about 2.6, is of the order of $\ln 10 \approx
# 2.3$: small random initial weights give nearly uniform predictions, like the zero weights above.)
#
# The test set is kept aside for the end of each experiment; all choices (learning rates, epochs) are
# made on the validation set, so the test accuracy stays an honest estimate.

# %% [markdown]
# ## How much of a result is luck?
#
# The run above depends on its seed: the initial weights and the order of the mini-batches. Before
# comparing learning rates in later lessons, we need to know how much the result moves when *only* the
# seed changes. Here is the same training with five seeds.

# %% tags=["nbval-ignore-output"]
SEEDS = range(5)
histories = {seed: train_mlp(seed)[2] for seed in tqdm(SEEDS, desc="seeds")}
runs = {seed: histories[seed].history for seed in SEEDS}
final_val_acc = np.array([runs[s]["val_accuracy"][-1] for s in SEEDS])
final_val_loss = np.array([runs[s]["val_loss"][-1] for s in SEEDS])
for seed in SEEDS:
    print(f"seed {seed}: final val loss {final_val_loss[seed]:.4f}, val accuracy {final_val_acc[seed]:.3f}")
print(f"val accuracy: mean {final_val_acc.mean():.3f}, std {final_val_acc.std(ddof=1):.3f}, "
      f"range {final_val_acc.min():.3f} to {final_val_acc.max():.3f} "
      f"({round((final_val_acc.max() - final_val_acc.min()) * len(y_val))} of {len(y_val)} images)")
# The two shapes described above, seed by seed.
shares = np.array([(histories[s].batch_loss[0] - runs[s]["loss"][2])
                   / (histories[s].batch_loss[0] - runs[s]["loss"][-1]) for s in SEEDS])
gaps = np.array([runs[s]["val_loss"][-1] / runs[s]["loss"][-1] for s in SEEDS])
print(f"share of the loss decrease after 3 epochs: {shares.min():.0%} to {shares.max():.0%}; "
      f"final val loss / train loss: {gaps.min():.1f} to {gaps.max():.1f}")
assert np.all(shares > 0.7) and np.all(gaps > 1.5)
assert final_val_acc.min() > 0.93

fig, ax = plt.subplots(figsize=(7, 4))
for seed in SEEDS:
    ax.plot(epochs, runs[seed]["val_loss"], label=f"seed {seed}")
ax.set(title="Validation loss of the same network, five seeds", xlabel="epoch",
       ylabel="validation cross-entropy", yscale="log")
ax.legend()
plt.show()

# %% [markdown]
# Same model, same data, same learning rate: the final validation accuracy still moves by a few images
# out of 360 between seeds. The shapes of the curves do not: on every seed, about three quarters of the
# loss decrease comes in the first 3 epochs, and the final validation loss is about twice the training
# loss. Keep that spread in mind: when a later lesson says one learning rate or
# schedule is better than another, it compares them on the same seeds and only calls a difference
# real when it is clearly larger than this seed-to-seed noise.

# %% [markdown]
# ## A picture of learning: two moons
#
# Digits live in 64 dimensions, which we cannot draw. On a 2-D toy set we can watch the loop at work.
# Below, a small network (`mlp([2, 32, 32, 2])`) learns to separate scikit-learn's two interleaving half
# moons; the colours show the class it predicts at every point of the plane, after 0, 1, 10 and 100
# epochs of the same loop.

# %%
X_moons, y_moons = data.moons(n_samples=400, noise=0.2, rng=0)
moons_model = lrcourse.mlp([2, 32, 32, 2], rng=1)
moons_loss = lrcourse.SoftmaxCrossEntropy()
moons_opt = lrcourse.SGD(moons_model.parameters(), lr=0.1)
batch_order = np.random.default_rng(1)  # one generator shared by the calls below: new orders each epoch

grid_x, grid_y = np.meshgrid(np.linspace(-1.6, 2.6, 200), np.linspace(-1.2, 1.7, 150))
grid = np.column_stack([grid_x.ravel(), grid_y.ravel()]).astype(np.float32)
fig, axes = plt.subplots(1, 4, figsize=(13, 3.4), sharey=True)
done = 0
moons_history_accuracy = []
for ax, target_epochs in zip(axes, (0, 1, 10, 100)):
    if target_epochs > done:
        lrcourse.fit(moons_model, moons_loss, moons_opt, X_moons, y_moons,
                     epochs=target_epochs - done, batch_size=32, rng=batch_order)
        done = target_epochs
    scores = lrcourse.predict(moons_model, grid)
    ax.contourf(grid_x, grid_y, (scores[:, 1] > scores[:, 0]).reshape(grid_x.shape),
                levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
    for label, colour in ((0, "#2171b5"), (1, "#d94801")):
        ax.scatter(*X_moons[y_moons == label].T, s=8, color=colour, label=f"class {label}")
    result = lrcourse.evaluate(moons_model, moons_loss, X_moons, y_moons)
    moons_history_accuracy.append(result["accuracy"])
    ax.set(title=f"after {target_epochs} epoch{'s' * (target_epochs != 1)}\nloss {result['loss']:.3f}, accuracy {result['accuracy']:.2f}",
           xlabel="x1")
axes[0].set_ylabel("x2")
axes[0].legend(loc="lower left", fontsize=8)
fig.suptitle("Predicted class (background) of mlp([2, 32, 32, 2]) on two moons, SGD lr = 0.1")
fig.tight_layout()
plt.show()
assert moons_history_accuracy[0] == 0.5 and moons_history_accuracy[-1] > 0.95

# %% [markdown]
# Before training, this random network happens to predict class 0 everywhere (accuracy 0.50, a coin
# flip). One epoch (13 updates) already draws a straight boundary in roughly the right direction, which
# gets about 85 % of the points right; by epoch 10 the boundary starts to bend, and by epoch 100 it follows the
# curve of the moons and gets 98 % right, missing mostly points that the noise pushed into the other
# moon. Each picture is the same five-step loop, run for more updates.

# %% [markdown]
# ## Where the learning rate sits
#
# In everything above, the learning rate appeared in exactly one line: `W -= lr * dW` in numpy,
# `SGD(..., lr=0.1)` in `lrcourse`. We chose 0.5 for softmax regression and 0.1 for the network without
# justification. Lesson 04 shows what happens when this number is too small or too large, and why there
# is a hard limit above which training cannot converge. First, lesson 02 opens the box we used but did
# not explain: where the gradients come from.
#
# ## Summary
#
# - Training is a loop: batch, forward pass, loss, gradients, update $\theta \leftarrow \theta - \eta\,\nabla L$.
# - Softmax regression trained by 20 lines of numpy and by `lrcourse.fit` gives the same losses to
#   within $10^{-10}$: `fit` is that loop, plus mini-batches, validation, callbacks and safeguards.
# - A first network reaches about 95 % validation accuracy; most of its loss decrease comes in the first
#   few epochs, and its validation loss falls ever more slowly while the training loss keeps falling.
# - Changing only the seed moves the final accuracy by a few images: compare methods over several seeds.
#
# **Exercise:** `exercises/01_the_ml_loop.ipynb` has you write the loss, its gradient and the update for
# a straight-line model, and run the loop yourself.
