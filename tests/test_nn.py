"""Layers, models, saving and loading."""

import numpy as np
import pytest

from lrcourse import nn
from lrcourse.gradcheck import numerical_gradient, rel_error


def test_dense_forward_is_affine_map():
    layer = nn.Dense(2, 3, rng=0)
    layer.W.value[...] = [[1, 2, 3], [4, 5, 6]]
    layer.b.value[...] = [0.5, 0, -1]
    out = layer(np.array([[1.0, 1.0], [0.0, 2.0]], dtype=np.float32))
    np.testing.assert_array_equal(out, [[5.5, 7, 8], [8.5, 10, 11]])


def test_dense_backward_by_hand():
    layer = nn.Dense(2, 1, rng=0, dtype=np.float64)
    layer.W.value[...] = [[2.0], [-1.0]]
    x = np.array([[1.0, 3.0], [2.0, 0.0]])
    layer(x)
    grad_in = layer.backward(np.array([[1.0], [0.5]]))
    np.testing.assert_allclose(layer.W.grad, [[1 * 1 + 2 * 0.5], [3 * 1 + 0 * 0.5]])
    np.testing.assert_allclose(layer.b.grad, [1.5])
    np.testing.assert_allclose(grad_in, [[2.0, -1.0], [1.0, -0.5]])


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.LeakyReLU(0.1), nn.Sigmoid(), nn.Tanh()])
def test_activation_backward_matches_finite_differences(layer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the ReLU kink
    upstream = rng.normal(size=(4, 5))
    layer(x)
    analytic = layer.backward(upstream)
    numeric = numerical_gradient(lambda v: float(np.sum(layer.forward(v) * upstream)), x.copy())
    assert rel_error(analytic, numeric) < 1e-7


def test_activation_values():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(nn.ReLU()(x), [[0, 0, 3]])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x), [[-0.2, 0, 3]])
    np.testing.assert_allclose(nn.Sigmoid()(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.Tanh()(x), np.tanh(x))


def test_sigmoid_is_stable_for_huge_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = nn.Sigmoid()(np.array([[-1000.0, 1000.0]]))
    np.testing.assert_array_equal(out, [[0.0, 1.0]])


def test_mlp_structure_and_init_scale():
    model = nn.mlp([100, 400, 3], rng=0)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "ReLU", "Dense"]
    # He initialisation: std sqrt(2 / fan_in)
    assert abs(model.layers[0].W.value.std() - np.sqrt(2 / 100)) < 0.005
    glorot = nn.mlp([100, 400, 3], activation="tanh", rng=0)
    assert abs(glorot.layers[0].W.value.std() - np.sqrt(2 / 500)) < 0.005
    assert model.layers[0].W.value.dtype == np.float32


def test_same_seed_same_weights():
    a, b = nn.mlp([5, 4, 2], rng=3), nn.mlp([5, 4, 2], rng=3)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.value, q.value)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sizes=[3]), "sizes"),
    (dict(sizes=[3, 2], activation="swish"), "activation"),
])
def test_mlp_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.mlp(**kwargs)


def test_dense_bad_input():
    with pytest.raises(ValueError, match="in_features"):
        nn.Dense(0, 3)
    with pytest.raises(ValueError, match="init"):
        nn.Dense(2, 3, init="zeros")
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, 2\)"):
        nn.Dense(2, 3)(np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.Dense(2, 2), "relu")


def test_zero_grad_and_modes():
    model = nn.mlp([2, 3, 1], rng=0)
    for p in model.parameters():
        p.grad += 1
    model.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())
    model.eval()
    assert not model.training and not model.layers[0].training
    model.train()
    assert model.training and model.layers[1].training


def test_state_dict_is_a_copy_and_round_trips():
    model = nn.mlp([3, 4, 2], rng=0)
    state = model.state_dict()
    state["0.W"][...] = 0
    assert model.layers[0].W.value.any()
    other = nn.mlp([3, 4, 2], rng=1)
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(other.layers[2].b.value, model.layers[2].b.value)


def test_save_load_round_trip(tmp_path):
    model = nn.mlp([3, 4, 2], rng=0)
    path = tmp_path / "m.npz"
    nn.save(model, path)
    other = nn.load(nn.mlp([3, 4, 2], rng=1), path)
    for (_, p), (_, q) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_load_errors_name_the_file_and_parameter_and_leave_model_unchanged(tmp_path):
    model = nn.mlp([3, 4, 2], rng=0)
    before = model.state_dict()
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        nn.load(model, tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="corrupt.npz"):
        nn.load(model, corrupt)
    wrong = tmp_path / "wrong.npz"
    nn.save(nn.mlp([3, 5, 2], rng=0), wrong)
    with pytest.raises(ValueError, match=r"wrong.npz.*'0.W'"):
        nn.load(model, wrong)
    partial = tmp_path / "partial.npz"
    np.savez(partial, **{"0.W": np.zeros((3, 4))})
    with pytest.raises(ValueError, match="missing"):
        nn.load(model, partial)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_save_without_suffix_loads_under_the_same_name(tmp_path):
    model = nn.mlp([3, 4, 2], rng=0)
    written = nn.save(model, tmp_path / "model")
    assert written == str(tmp_path / "model.npz")
    other = nn.load(nn.mlp([3, 4, 2], rng=1), tmp_path / "model")
    np.testing.assert_array_equal(other.layers[0].W.value, model.layers[0].W.value)


def test_load_rejects_text_and_values_too_large_for_the_models_dtype(tmp_path):
    model = nn.mlp([3, 2], rng=0)
    before = model.state_dict()
    strings = tmp_path / "strings.npz"
    np.savez(strings, **{"0.W": np.full((3, 2), "abc"), "0.b": np.zeros(2)})
    with pytest.raises(ValueError, match="'0.W' holds values of dtype <U3, not numbers"):
        nn.load(model, strings)
    huge = tmp_path / "huge.npz"
    np.savez(huge, **{"0.W": np.full((3, 2), 1e300), "0.b": np.zeros(2)})  # finite in float64 only
    with pytest.raises(ValueError, match="'0.W' holds values that are not finite in the model's dtype float32"):
        nn.load(model, huge)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_plot_is_loaded_on_first_use():
    import subprocess
    import sys

    code = ("import sys, lrcourse; assert 'matplotlib' not in sys.modules; "
            "ax = lrcourse.plot.schedule; assert 'lrcourse.plot' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
