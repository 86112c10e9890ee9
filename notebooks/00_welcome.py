# %% [markdown]
# # 00 · Welcome: learning rates in neural networks, hands on
#
# Every neural network you train has a number that decides how far each update moves the weights:
# the **learning rate**. Set it too small and training crawls; too large and the loss oscillates or
# explodes; somewhere in between the same model, on the same data, learns in a fraction of the time.
# This course is about that number: where it comes from, why it has a limit, how to find a good value
# without guessing, and how to change it during training (decay, warm restarts, cyclical schedules).
#
# Nothing here is taken on trust. Each lesson makes claims and then *measures* them on real data
# (scikit-learn's handwritten digits, plus small 2-D problems where we can draw the whole loss surface),
# using `lrcourse`, a small numpy neural-network engine that you can read from top to bottom. Where a
# measurement disagrees with common advice, the lesson says so.
#
# This first notebook explains how to use the course and checks that your setup works.

# %% [markdown]
# ## How to run the course
#
# **In the browser, nothing to install (Binder).** Use the *launch Binder* button in the project's
# README. Binder builds the environment and opens JupyterLab on this notebook. A Binder session has
# about one CPU and 2 GB of memory, which is enough: every lesson runs in well under a minute. Binder
# sessions are temporary, so download any notebook you have changed (*File > Download*) before you close
# the tab.
#
# **On your own machine.** With Python 3.10 or newer and `make`:
#
# ```bash
# git clone <the repository URL>    # then, inside the folder:
# make course                       # creates .venv, installs lrcourse, opens JupyterLab
# ```
#
# `make course` is the whole setup: it creates a virtual environment in `.venv/`, installs `lrcourse`
# with the course extras (JupyterLab, ipywidgets, matplotlib, scikit-learn, tqdm) and opens JupyterLab on
# this notebook. Run it again next time: with everything installed, it only opens JupyterLab.
#
# **Running cells.** Click into a cell and press **Shift + Enter** to run it and move to the next one.
# *Run > Run All Cells* runs the whole notebook from the top, which is the safest way to get a
# consistent state; if things get confusing, *Kernel > Restart Kernel and Run All Cells*. Cells depend on
# the cells above them, so run them in order.
#
# **Your numbers, our numbers.** Everything random in the course (data splits, initial weights, the
# order of mini-batches) takes a seed, so on your machine a lesson gives the same numbers every time you
# run it with the same seed. Across machines, the numbers that come out of training may differ in their
# later digits, sometimes more: numpy's linear algebra library (OpenBLAS) picks its code by processor,
# different code rounds differently, and a training run at a large learning rate amplifies a difference in
# the last bit into a visibly different loss. What holds everywhere is what a lesson *claims*: each claim
# is checked by an `assert` in the cell that measures it, with a margin measured across processors and
# seeds, and the text quotes numbers only as precisely as they hold everywhere ("about 0.2"). Exact
# things (data shapes, formulas, a count that does not depend on training) are the same on every machine.
# Change a seed and you see how much of a result is luck; several lessons do exactly that on purpose.

# %% [markdown]
# ## Check your setup
#
# Run the next three cells. The first imports the engine and trains nothing yet; it only loads the data
# set used throughout the course and prints its shape.

# %%
import matplotlib.pyplot as plt
import numpy as np

import lrcourse

(X_train, y_train), (X_val, y_val), (X_test, y_test) = lrcourse.data.digits(rng=0)
print(f"training set:   {X_train.shape[0]:4d} images of {X_train.shape[1]} pixels (8 x 8)")
print(f"validation set: {X_val.shape[0]:4d} images")
print(f"test set:       {X_test.shape[0]:4d} images")
assert len(X_train) + len(X_val) + len(X_test) == 1797  # the whole scikit-learn digits set
print(f"classes: {sorted(set(y_train.tolist()))}, pixel values in [{X_train.min():.0f}, {X_train.max():.0f}]")

# %% [markdown]
# These are the **digits** we will train on: 1,797 handwritten digits from scikit-learn, scanned at 8 x 8
# pixels, split (with seed 0) into 60 % training, 20 % validation and 20 % test. The data set is small
# on purpose: a model trains on it in a second, so we can afford to train it many times, with many
# learning rates and several seeds, which is what honest comparisons need.
#
# The second cell draws a few of them, which checks that plots work.

# %%
fig, axes = plt.subplots(2, 8, figsize=(9, 2.8))
for ax, image, label in zip(axes.flat, X_train, y_train):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"label {label}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("The first 16 training images of the digits data set (8 x 8 pixels, darker = more ink)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The third cell checks **interactive widgets**. Several lessons let you move a slider and watch a
# training run change (lesson 04's learning-rate playground is the first). You should see a slider
# below, and moving it should update the line of text under it. If you see
# `Error displaying widget` or only a line of text such as `VBox(children=...)`, the widget extension
# is missing: on your own machine delete the `.venv` folder and run `make course` again (it installs
# `ipywidgets` 8 and JupyterLab 4 afresh), then reload the browser page.

# %%
import ipywidgets as widgets

weight, gradient = 1.0, 2.0
slider = widgets.FloatLogSlider(
    value=0.1, base=10, min=-3, max=0, step=0.25, description="learning rate", readout_format=".3g"
)
result = widgets.Label()


def show_update(change=None):
    lr = slider.value
    result.value = f"new_w = {weight} - {lr:.3g} * {gradient} = {weight - lr * gradient:.4g}"


slider.observe(show_update, names="value")
show_update()
widgets.VBox([slider, result])

# %% [markdown]
# That line is the whole subject of the course in one formula: the new weight is the old weight minus
# the learning rate times the gradient. Lesson 01 explains where the gradient comes from, and lesson 04
# why a learning rate that is too large makes the weights run away instead of settling down.

# %% [markdown]
# ## Exercises
#
# Every lesson from 01 on has a matching exercise notebook with the same number and name in the
# `exercises/` folder, for example `exercises/01_the_ml_loop.ipynb` for lesson 01. In an exercise you
# write small functions yourself (a loss, a gradient, an update rule, a schedule). Each question ends with
# a **check cell** such as
#
# ```python
# check("q1")
# ```
#
# which runs your function on a few inputs and tells you, for each one, what it expected and what your
# function returned, or that all cases are correct. Run the cell that defines your function before its
# check cell. To grade all exercises at once, open a terminal in JupyterLab (*File > New > Terminal*; it
# starts in the course folder with the course's Python, both with `make course` and on Binder) and run
#
# ```bash
# python -m lrcourse.grade exercises/
# ```
#
# or, from a notebook cell, `!{sys.executable} -m lrcourse.grade ../exercises/` (after `import sys`;
# `sys.executable` is the notebook's own Python, and the path is relative to the notebook's folder),
# which executes each exercise notebook and prints a score per question. Worked solutions are in
# `exercises/solutions/`; try the questions first, you learn much more from a failed check than from a
# solution.

# %% [markdown]
# ## Roadmap
#
# | lesson | what you will see measured |
# |---|---|
# | **00 · welcome** | this notebook: how to use the course |
# | [**01 · the ML loop**](01_the_ml_loop.ipynb) | data, forward pass, loss, gradient, update: a model trained in twenty lines of numpy, then with `lrcourse.fit` |
# | [**02 · backpropagation**](02_backpropagation.ipynb) | the chain rule by hand on a tiny network, then layer by layer; checking gradients numerically |
# | [**03 · gradient descent and optimizers**](03_gradient_descent_and_optimizers.ipynb) | batch, mini-batch and stochastic updates; momentum, Nesterov, Adagrad, RMSprop, Adam and what each does to the learning rate; scaling the rate with the batch size |
# | [**04 · a fixed learning rate**](04_fixed_learning_rate.ipynb) | why steps larger than 2/L diverge on a quadratic; too small, good, oscillating and diverging on digits; the interactive playground; the edge of stability on a network |
# | [**05 · learning-rate decay**](05_learning_rate_decay.ipynb) | step, exponential, polynomial, cosine, warmup and reduce-on-plateau, compared on one budget |
# | [**06 · the LR range test**](06_lr_range_test.ipynb) | sweeping the learning rate in one short run to find the usable range; which suggestion to trust, measured over seeds and data sets |
# | [**07 · cyclical learning rates**](07_cyclical_learning_rates.ipynb) | triangular cycles, warm restarts and one-cycle, with cyclical momentum, against a tuned fixed rate |
# | [**08 · putting it together**](08_putting_it_together.ipynb) | a recipe from range test to schedule to early stopping, and "increase the batch size instead of decaying the learning rate" put to the test |
#
# Lessons 05 to 08 follow three papers, which are worth reading alongside:
#
# - L. N. Smith (2017). *Cyclical Learning Rates for Training Neural Networks.* IEEE Winter Conference on
#   Applications of Computer Vision (WACV), 464–472.
# - L. N. Smith and N. Topin (2017). *Exploring loss function topology with cyclical learning rates.*
#   arXiv:1702.04283.
# - S. L. Smith, P.-J. Kindermans, C. Ying and Q. V. Le (2017). *Don't Decay the Learning Rate, Increase
#   the Batch Size.* arXiv:1711.00489.

# %% [markdown]
# ## How the lessons are made
#
# Each lesson `notebooks/NN_name.ipynb` is generated from a plain-text source `notebooks/NN_name.py`
# beside it, so that changes can be reviewed as text. `make notebooks` rebuilds and re-executes all of
# them, and the tests re-run every lesson, on this machine's processor and with another processor's code
# forced (`make kernels` tries several): every assert must hold on all of them, and every output that does
# not depend on training must match the one you see. Feel free to edit the notebooks while you learn; if
# you want your change to stay, edit the `.py` source and rebuild.
#
# ## Summary
#
# - Run cells with Shift + Enter, or *Run > Run All Cells*; all lessons are seeded: the same seed gives
#   the same numbers on your machine, and every lesson's claims hold on any machine.
# - You have the digits data (1,077 training images), plots and widgets working.
# - Lessons are in `notebooks/`, exercises with `check("q1")` cells in `exercises/`, and
#   `python -m lrcourse.grade exercises/` grades them all.
#
# **Next:** lesson [01 · the ML loop](01_the_ml_loop.ipynb), and then its exercise
# [exercises/01_the_ml_loop.ipynb](../exercises/01_the_ml_loop.ipynb).
