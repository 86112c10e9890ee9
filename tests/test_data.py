"""Datasets, batching and the 2-D test functions."""

import numpy as np
import pytest

from lrcourse import data
from lrcourse.gradcheck import numerical_gradient, rel_error
from lrcourse.optim import SGD


def test_digits_split_is_stratified_scaled_and_deterministic():
    (Xtr, ytr), (Xv, yv), (Xte, yte) = data.digits(rng=0)
    assert len(Xtr) + len(Xv) + len(Xte) == 1797
    assert abs(len(Xv) - 0.2 * 1797) <= 1 and abs(len(Xte) - 0.2 * 1797) <= 1
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert 0.0 == Xtr.min() and Xtr.max() == 1.0
    for labels in (ytr, yv, yte):  # every class is present in about its overall share (~10%)
        shares = np.bincount(labels, minlength=10) / len(labels)
        assert np.all(np.abs(shares - 0.1) < 0.02)
    (Xtr2, _), _, _ = data.digits(rng=0)
    np.testing.assert_array_equal(Xtr, Xtr2)
    (Xtr3, _), _, _ = data.digits(rng=1)
    assert not np.array_equal(Xtr, Xtr3)


def test_moons_and_spirals():
    X, y = data.moons(n_samples=200, noise=0.1, rng=0)
    assert X.shape == (200, 2) and np.bincount(y).tolist() == [100, 100]
    X, y = data.spirals(n_samples=300, n_classes=3, rng=0)
    assert X.shape == (300, 2) and np.bincount(y).tolist() == [100, 100, 100]
    np.testing.assert_array_equal(X, data.spirals(n_samples=300, n_classes=3, rng=0)[0])
    with pytest.raises(ValueError, match="n_classes"):
        data.spirals(n_classes=1)


def test_batches_cover_the_data_once():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    seen = [yb for _, yb in data.batches(X, y, batch_size=3, rng=0)]
    assert [len(b) for b in seen] == [3, 3, 3, 1]
    assert sorted(np.concatenate(seen).tolist()) == list(range(10))
    for Xb, yb in data.batches(X, y, batch_size=4, rng=0):
        np.testing.assert_array_equal(Xb[:, 0], 2 * yb)
    with pytest.raises(ValueError, match="rows"):
        next(data.batches(X, y[:5]))
    with pytest.raises(ValueError, match="batch_size"):
        next(data.batches(X, y, batch_size=0))


@pytest.mark.parametrize("fn", [data.Quadratic(1.0, 10.0), data.Rosenbrock()])
def test_function_gradients(fn):
    for point in ([0.3, -0.7], [-1.2, 1.5]):
        xy = np.array(point)
        assert rel_error(fn.gradient(xy), numerical_gradient(fn, xy.copy())) < 1e-7
    assert fn(fn.minimum) == 0.0
    grid = np.zeros((4, 5, 2))
    assert fn(grid).shape == (4, 5)


def test_quadratic_stability_limit_is_two_over_L():
    bowl = data.Quadratic(1.0, 10.0)
    stable = data.descent_path(bowl, lambda p: SGD(p, lr=0.19), steps=200)
    unstable = data.descent_path(bowl, lambda p: SGD(p, lr=0.21), steps=200)
    assert bowl(stable[-1]) < 1e-3
    assert abs(unstable[-1][1]) > abs(unstable[0][1])  # y grows by |1 - 0.21*10| = 1.1 per step


def test_descent_path_stops_when_diverging():
    path = data.descent_path(data.Quadratic(1.0, 10.0), lambda p: SGD(p, lr=1.0), steps=1000)
    assert len(path) < 1000 and np.max(np.abs(path[-1])) > 350
    with pytest.raises(ValueError, match="start"):
        data.descent_path(data.Quadratic(), lambda p: SGD(p), start=[1.0, 2.0, 3.0])
