"""Sharpness by power iteration on finite-difference Hessian-vector products, against exact Hessians."""

import numpy as np
import pytest

from lrcourse.losses import MeanSquaredError, SoftmaxCrossEntropy
from lrcourse.nn import Dense, Sequential, mlp
from lrcourse.sharpness import hessian_vector_product, loss_gradient, sharpness


def _linear_regression(n=40, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.arange(1, d + 1)  # columns of different scales: distinct eigenvalues
    y = rng.standard_normal((n, 1))
    model = Sequential(Dense(d, 1, dtype=np.float64, rng=seed))
    X1 = np.hstack([X, np.ones((n, 1))])
    H = 2 / n * X1.T @ X1  # MSE of X1 w: mean over n entries of (x1 . w - y)^2
    return model, X, y, H


def _flat(model):
    # Dense stores W (d, 1) then b (1,): the same order as the rows of X1 above
    return np.concatenate([p.value.ravel() for p in model.parameters()])


def test_hessian_vector_product_of_a_quadratic_is_exact():
    model, X, y, H = _linear_regression()
    v = np.random.default_rng(1).standard_normal(H.shape[0])
    np.testing.assert_allclose(hessian_vector_product(model, MeanSquaredError(), X, y, v), H @ v, rtol=1e-6)


def test_sharpness_is_the_top_eigenvalue_of_the_least_squares_hessian():
    model, X, y, H = _linear_regression()
    expected = np.linalg.eigvalsh(H)[-1]
    assert sharpness(model, MeanSquaredError(), X, y, rng=0, tol=1e-10, iters=500) == pytest.approx(expected, rel=1e-6)


def test_sharpness_of_a_network_matches_the_eigenvalue_of_a_finite_difference_hessian():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 3, 30)
    model = mlp([3, 4, 3], activation="tanh", rng=0, dtype=np.float64)
    loss = SoftmaxCrossEntropy()
    w = _flat(model)
    # the full Hessian column by column, from centred differences of the gradient: an independent route
    H = np.empty((w.size, w.size))
    for i in range(w.size):
        e = np.zeros(w.size)
        e[i] = 1e-5
        columns = []
        for sign in (1, -1):
            start = 0
            for p in model.parameters():
                p.value[...] = (w + sign * e)[start:start + p.value.size].reshape(p.value.shape)
                start += p.value.size
            columns.append(loss_gradient(model, loss, X, y))
        H[:, i] = (columns[0] - columns[1]) / 2e-5
    start = 0
    for p in model.parameters():
        p.value[...] = w[start:start + p.value.size].reshape(p.value.shape)
        start += p.value.size
    eigenvalues = np.linalg.eigvalsh((H + H.T) / 2)
    largest = eigenvalues[np.argmax(np.abs(eigenvalues))]
    assert sharpness(model, loss, X, y, rng=0, tol=1e-9, iters=1000) == pytest.approx(largest, rel=1e-4)


def test_weights_are_restored_and_a_warm_start_converges_at_once():
    model, X, y, H = _linear_regression()
    before = _flat(model).copy()
    value, vector = sharpness(model, MeanSquaredError(), X, y, rng=0, tol=1e-12, iters=500, return_vector=True)
    np.testing.assert_array_equal(_flat(model), before)
    again = sharpness(model, MeanSquaredError(), X, y, v0=vector, iters=2)
    assert again == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize("kwargs, message", [({"v": np.zeros(6)}, "non-zero"), ({"v": np.ones(3)}, "6 weights"),
                                             ({"v": np.ones(6), "eps": 0.0}, "eps")])
def test_bad_input_is_named(kwargs, message):
    model, X, y, _ = _linear_regression()
    with pytest.raises(ValueError, match=message):
        hessian_vector_product(model, MeanSquaredError(), X, y, **kwargs)


def test_a_non_finite_loss_is_reported():
    model, X, y, _ = _linear_regression()
    with pytest.raises(ValueError, match="not finite"):
        sharpness(model, MeanSquaredError(), X * np.inf, y, rng=0)
