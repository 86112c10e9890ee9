# %% [markdown]
# # Exercise 04 · A fixed learning rate
#
# Lesson 04 showed a learning rate that is too small crawl, one that is too large diverge, and the limit
# $2/L$ in between. On a quadratic all of it can be computed exactly, which is what you do here.
#
# On the parabola $f(w) = h w^2 / 2$ (curvature $h > 0$, minimum at 0) a gradient step is
#
# $$w \leftarrow w - \eta\, h\, w = (1 - \eta h)\, w ,$$
#
# so after $t$ steps $w_t = (1 - \eta h)^t w_0$: everything depends on the factor $1 - \eta h$. On a
# quadratic in several dimensions, $f(w) = w^\top H w / 2$, the same holds along each eigenvector of the
# symmetric matrix $H$, with its eigenvalue in place of $h$.
#
# Replace each `raise NotImplementedError(...)` with your code, run the cell, then its `check` cell.

# %%
import numpy as np

from lrcourse.grading import checks_for

check = checks_for("04_fixed_learning_rate")

# %% [markdown]
# ## Q1 · The iterates
#
# Write `gd_iterates(h, w0, lr, steps)` that runs gradient descent on $h w^2 / 2$ from `w0` and returns
# the array $[w_0, w_1, \dots, w_{\text{steps}}]$ (`steps + 1` values).

# %%
def gd_iterates(h, w0, lr, steps):
    """[w_0, ..., w_steps] of gradient descent with step size lr on h * w**2 / 2."""
    ### BEGIN SOLUTION: loop, or use the closed form w0 * (1 - lr * h) ** t
    w = w0
    iterates = [w]
    for _ in range(steps):
        w = w - lr * h * w
        iterates.append(w)
    return np.array(iterates)
    ### END SOLUTION


# %%
check("q1")

# %% [markdown]
# ## Q2 · Monotone, oscillating or unstable?
#
# The factor $1 - \eta h$ tells the story. Write `behaviour(h, lr)` returning one of three strings:
#
# * `"monotone"`: $0 < \eta h \le 1$, $w$ shrinks towards 0 without changing sign;
# * `"oscillating"`: $1 < \eta h < 2$, $w$ flips sign every step but still shrinks;
# * `"unstable"`: $\eta h \ge 2$, $|w|$ never shrinks (at exactly 2 it bounces forever, above it explodes).

# %%
def behaviour(h, lr):
    """'monotone', 'oscillating' or 'unstable': what gradient descent does on h * w**2 / 2."""
    ### BEGIN SOLUTION: compare lr * h with 1 and with 2
    factor = 1.0 - lr * h
    if factor >= 0:
        return "monotone"
    if factor > -1:
        return "oscillating"
    return "unstable"
    ### END SOLUTION


# %%
check("q2")

# %% [markdown]
# ## Q3 · The largest stable learning rate
#
# On $w^\top H w / 2$ every eigen-direction must satisfy $\eta \lambda_i < 2$, and the most curved one is
# the first to fail. Write `largest_stable_lr(H)` returning the limit $2 / \lambda_{\max}$ as a float
# (`np.linalg.eigvalsh` gives the eigenvalues of a symmetric matrix).

# %%
def largest_stable_lr(H):
    """2 / (largest eigenvalue of the symmetric positive definite matrix H)."""
    ### BEGIN SOLUTION: the largest eigenvalue decides
    return float(2.0 / np.max(np.linalg.eigvalsh(H)))
    ### END SOLUTION


# %%
check("q3")

# %% [markdown]
# ## Q4 · The best fixed learning rate
#
# Convergence is as slow as the slowest direction, the one whose factor $|1 - \eta \lambda_i|$ is
# largest. A small $\eta$ makes the flattest direction slow, a large one makes the steepest direction
# oscillate. The best single $\eta$ balances the two, $|1 - \eta \lambda_{\min}| = |1 - \eta \lambda_{\max}|$,
# which gives $\eta^* = 2 / (\lambda_{\min} + \lambda_{\max})$. Write `best_fixed_lr(H)`.

# %%
def best_fixed_lr(H):
    """The fixed learning rate that converges fastest on w.T @ H @ w / 2."""
    ### BEGIN SOLUTION: you need the smallest and the largest eigenvalue
    eigenvalues = np.linalg.eigvalsh(H)
    return float(2.0 / (eigenvalues[0] + eigenvalues[-1]))
    ### END SOLUTION


# %%
check("q4")

# %% [markdown]
# ## Q5 · How many steps?
#
# Write `steps_to_reach(h, w0, lr, tol, max_steps)`: run gradient descent on $h w^2 / 2$ from `w0` and
# return the number of steps after which $|w| \le$ `tol` for the first time (0 if $|w_0|$ already is).
# If `max_steps` steps are not enough, return `-1`.

# %%
def steps_to_reach(h, w0, lr, tol, max_steps):
    """Steps until |w| <= tol on h * w**2 / 2, or -1 if more than max_steps would be needed."""
    ### BEGIN SOLUTION: count the steps in a loop; check |w| before each step
    w, steps = w0, 0
    while abs(w) > tol:
        if steps == max_steps:
            return -1
        w = (1 - lr * h) * w
        steps += 1
    return steps
    ### END SOLUTION


# %%
check("q5")

# %% [markdown]
# ## Q6 · Sharpness by power iteration
#
# On a network the Hessian is far too large to build, so lesson 04 measured its top eigenvalue (the
# sharpness $L$) with products $Hv$ only: **power iteration** repeats $v \leftarrow Hv / \lVert Hv \rVert$,
# and $v \cdot Hv$ converges to the eigenvalue of largest magnitude. Write `top_eigenvalue(H, iters)`
# for a symmetric matrix `H`: start from `np.ones(n) / np.sqrt(n)`, do `iters` iterations using only
# `H @ v`, and return $v \cdot Hv$ as a float.

# %%
def top_eigenvalue(H, iters):
    """The largest-magnitude eigenvalue of the symmetric matrix H, by `iters` steps of power iteration."""
    ### BEGIN SOLUTION: normalise H @ v at every step; the Rayleigh quotient at the end
    v = np.ones(len(H)) / np.sqrt(len(H))
    for _ in range(iters):
        hv = H @ v
        v = hv / np.linalg.norm(hv)
    return float(v @ H @ v)
    ### END SOLUTION


# %%
check("q6")

# %% [markdown]
# ## Too small, just right, too large
#
# The ill-conditioned bowl of lesson 04 has curvatures 1 and 10. How many steps does each direction need
# to shrink a unit error below $10^{-3}$, for a few learning rates? The slower direction decides.

# %%
H = np.diag([1.0, 10.0])
print(f"largest stable lr: {largest_stable_lr(H):.4f}, best fixed lr: {best_fixed_lr(H):.4f}")
for lr in (0.01, 0.1, best_fixed_lr(H), 0.19, 0.21):
    steps = [steps_to_reach(h, 1.0, lr, 1e-3, 10_000) for h in (1.0, 10.0)]
    print(f"lr = {lr:.4f}: {behaviour(1.0, lr):>11} / {behaviour(10.0, lr):<11} "
          f"steps (flat, steep direction) = {steps}")
