"""Backpropagation agrees with centred finite differences through every layer and loss."""

import numpy as np
import pytest

from lrcourse.gradcheck import check_gradients, numerical_gradient, rel_error
from lrcourse.losses import MeanSquaredError, SoftmaxCrossEntropy
from lrcourse.nn import mlp


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse"])
def test_every_layer_and_loss(activation, loss_name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4))
    if loss_name == "cross_entropy":
        loss, y = SoftmaxCrossEntropy(), rng.integers(0, 3, size=6)
    else:
        loss, y = MeanSquaredError(), rng.normal(size=(6, 3))
    model = mlp([4, 5, 5, 3], activation=activation, rng=1, dtype=np.float64)
    errors = check_gradients(model, loss, X, y)
    assert set(errors) == {"0.W", "0.b", "2.W", "2.b", "4.W", "4.b"}
    assert max(errors.values()) < 1e-6, errors


def test_check_catches_a_wrong_backward():
    rng = np.random.default_rng(0)
    model = mlp([3, 4, 2], rng=0, dtype=np.float64)
    original = model.layers[0].backward

    def broken_backward(grad_out):
        grad_in = original(grad_out)
        model.layers[0].W.grad *= 1.1  # a 10% error in dL/dW
        return grad_in

    model.layers[0].backward = broken_backward
    errors = check_gradients(model, SoftmaxCrossEntropy(), rng.normal(size=(5, 3)), np.array([0, 1, 0, 1, 1]))
    assert errors["0.W"] > 1e-2 and errors["2.W"] < 1e-6


def test_numerical_gradient_restores_input_and_is_accurate():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    before = x.copy()
    grad = numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, np.cos(x), rtol=1e-8)


def test_rel_error():
    assert rel_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    assert rel_error(np.array([0.0, 3.0]), np.array([4.0, 0.0])) == pytest.approx(5.0 / 7.0)
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.zeros(2), np.zeros(3))


def test_float32_model_is_refused():
    with pytest.raises(TypeError, match="float64"):
        check_gradients(mlp([2, 2], rng=0), SoftmaxCrossEntropy(), np.zeros((1, 2)), np.array([0]))
