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


@pytest.mark.parametrize("make", [lambda **kw: data.moons(n_samples=200, **kw),
                                  lambda **kw: data.spirals(n_samples=300, **kw)])
def test_moons_and_spirals_split_like_digits(make):
    X, y = make(rng=0)
    (Xtr, ytr), (Xv, yv), (Xte, yte) = make(rng=0, split=True)
    assert (len(Xtr), len(Xv), len(Xte)) == (0.6 * len(X), 0.2 * len(X), 0.2 * len(X))
    # the same points, partitioned: every row lands in exactly one part
    rows = np.concatenate([Xtr, Xv, Xte])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, X.tolist()))
    for labels in (ytr, yv, yte):  # stratified: each class keeps its share
        np.testing.assert_allclose(np.bincount(labels) / len(labels), np.bincount(y) / len(y))


def test_split_checks_its_sizes():
    X, y = data.moons(n_samples=50, rng=0)
    with pytest.raises(ValueError, match="val_size"):
        data.train_val_test_split(X, y, val_size=0.0)
    with pytest.raises(ValueError, match=r"val_size \+ test_size \(0.5 \+ 0.5\) must be < 1"):
        data.train_val_test_split(X, y, val_size=0.5, test_size=0.5)
    with pytest.raises(TypeError, match="split"):
        data.moons(split="yes")


def test_landscapes_have_their_own_module_and_stay_importable_from_data():
    from lrcourse import landscapes

    assert data.Quadratic is landscapes.Quadratic and data.descent_path is landscapes.descent_path
    assert data.Rosenbrock is landscapes.Rosenbrock


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
