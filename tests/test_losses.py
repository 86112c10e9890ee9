"""Losses: values equal PyTorch's defaults (means), gradients match finite differences."""

import math

import numpy as np
import pytest

from lrcourse.gradcheck import numerical_gradient, rel_error
from lrcourse.losses import MeanSquaredError, SoftmaxCrossEntropy, accuracy


def test_cross_entropy_value_by_hand():
    logits = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    labels = np.array([2, 0])
    row0 = -(3 - math.log(math.exp(1) + math.exp(2) + math.exp(3)))
    row1 = math.log(3)
    assert SoftmaxCrossEntropy()(logits, labels) == pytest.approx((row0 + row1) / 2, rel=1e-12)


def test_cross_entropy_one_hot_equals_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    one_hot = np.eye(4)[labels]
    a, b = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    assert a(logits, labels) == pytest.approx(b(logits, one_hot), rel=1e-12)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = SoftmaxCrossEntropy()(np.array([[1000.0, 0.0]]), np.array([1]))
    assert value == pytest.approx(1000.0)


@pytest.mark.parametrize("target", ["labels", "one_hot"])
def test_cross_entropy_gradient(target):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 3))
    labels = rng.integers(0, 3, size=5)
    y = labels if target == "labels" else np.eye(3)[labels]
    loss = SoftmaxCrossEntropy()
    loss(logits, y)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda z: SoftmaxCrossEntropy()(z, y), logits.copy())
    assert rel_error(analytic, numeric) < 1e-7


def test_mse_value_and_gradient():
    pred = np.array([[1.0, 2.0], [3.0, 5.0]])
    target = np.array([[0.0, 2.0], [1.0, 1.0]])
    loss = MeanSquaredError()
    assert loss(pred, target) == pytest.approx((1 + 0 + 4 + 16) / 4)
    np.testing.assert_allclose(loss.backward(), 2 * (pred - target) / 4)
    numeric = numerical_gradient(lambda p: MeanSquaredError()(p, target), pred.copy())
    loss(pred, target)
    assert rel_error(loss.backward(), numeric) < 1e-8


def test_mse_accepts_vector_target_for_single_output():
    assert MeanSquaredError()(np.array([[1.0], [3.0]]), np.array([1.0, 1.0])) == pytest.approx(2.0)


def test_loss_bad_input():
    with pytest.raises(ValueError, match="does not match"):
        MeanSquaredError()(np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class labels"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="2 labels for 3 predictions"):
        SoftmaxCrossEntropy()(np.zeros((3, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="logits must have shape"):
        SoftmaxCrossEntropy()(np.zeros(3), np.array([0]))


def test_accuracy():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy(logits, np.array([1, 0, 0, 0])) == 0.75
    assert accuracy(logits, np.eye(2)[[1, 0, 0, 0]]) == 0.75
