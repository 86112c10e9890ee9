"""Optimizers follow torch.optim's update equations; checked against hand-written references."""

import math

import numpy as np
import pytest

from lrcourse.nn import Parameter
from lrcourse.optim import SGD, Adagrad, Adam, RMSprop

GRADS = [1.0, -2.0, 0.5, 3.0, -1.0]  # one scalar gradient per step


def run(opt_cls, grads=GRADS, w0=1.0, **kwargs):
    w = Parameter(np.array([w0]))
    opt = opt_cls([w], **kwargs)
    out = []
    for g in grads:
        w.grad[:] = g
        opt.step()
        out.append(float(w.value[0]))
    return out


def ref_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0, w=1.0):
    v, out = 0.0, []
    for t, g in enumerate(GRADS):
        g = g + weight_decay * w
        if momentum:
            v = g if t == 0 else momentum * v + g  # PyTorch: buffer starts as the first gradient
            g = g + momentum * v if nesterov else v
        w -= lr * g
        out.append(w)
    return out


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, w=1.0):
    m = v = 0.0
    out = []
    for t, g in enumerate(GRADS, start=1):
        g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        # PyTorch puts eps after the bias correction of sqrt(v)
        w -= lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(w)
    return out


def ref_adagrad(lr, eps=1e-10, w=1.0):
    s, out = 0.0, []
    for g in GRADS:
        s += g * g
        w -= lr * g / (math.sqrt(s) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.5, nesterov=True),
    dict(lr=0.1, momentum=0.9, weight_decay=0.01),
])
def test_sgd_matches_reference(kwargs):
    np.testing.assert_allclose(run(SGD, **kwargs), ref_sgd(**kwargs), rtol=1e-12)


def test_sgd_momentum_by_hand():
    # v1 = 1, w1 = 1 - 0.1; v2 = 0.9 - 2 = -1.1, w2 = 0.9 + 0.11
    assert run(SGD, grads=[1.0, -2.0], lr=0.1, momentum=0.9) == pytest.approx([0.9, 1.01], rel=1e-12)


@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3),
                                    dict(lr=0.01, weight_decay=0.1)])
def test_adam_matches_reference(kwargs):
    ref_kwargs = dict(kwargs)
    if "betas" in ref_kwargs:
        ref_kwargs["b1"], ref_kwargs["b2"] = ref_kwargs.pop("betas")
    np.testing.assert_allclose(run(Adam, **kwargs), ref_adam(**ref_kwargs), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.01, alpha=0.9, momentum=0.8)])
def test_rmsprop_matches_reference(kwargs):
    np.testing.assert_allclose(run(RMSprop, **kwargs), ref_rmsprop(**kwargs), rtol=1e-12)


def test_adagrad_matches_reference():
    np.testing.assert_allclose(run(Adagrad, lr=0.5), ref_adagrad(lr=0.5), rtol=1e-12)


def test_defaults_are_pytorch_and_keras_sgd():
    w = [Parameter(np.zeros(1))]
    assert SGD(w).lr == 0.01 and Adam(w).lr == 0.001 and Adagrad(w).lr == 0.01 and RMSprop(w).lr == 0.01
    assert Adam(w).betas == (0.9, 0.999) and Adam(w).eps == 1e-8 and RMSprop(w).alpha == 0.99


def test_schedule_is_called_with_update_count():
    calls = []

    def schedule(step):
        calls.append(step)
        return 0.1 / (step + 1)

    out = run(SGD, grads=[1.0, 1.0, 1.0], lr=schedule)
    assert calls[:3] == [0, 1, 2]
    assert out == pytest.approx([1 - 0.1, 1 - 0.1 - 0.05, 1 - 0.1 - 0.05 - 0.1 / 3], rel=1e-12)


def test_lr_property_and_scale():
    w = Parameter(np.zeros(1))
    opt = SGD([w], lr=lambda step: 10.0 - step)
    assert opt.lr == 10.0 and opt.iterations == 0
    opt.step()
    opt.step()
    assert opt.iterations == 2 and opt.lr == 9.0  # the lr of the most recent update
    opt.lr_scale = 0.5
    assert opt.lr == 4.5
    w.grad[:] = 1.0
    opt.step()
    assert w.value[0] == pytest.approx(-0.5 * 8.0)


def test_lr_never_evaluates_past_the_last_update():
    def finite_schedule(step):
        if step >= 3:
            raise ValueError("past the end")
        return 0.1

    w = Parameter(np.zeros(1))
    opt = SGD([w], lr=finite_schedule)
    for _ in range(3):
        opt.step()
    assert opt.lr == 0.1


def test_momentum_schedule():
    out = run(SGD, grads=[1.0, 1.0], lr=0.1, momentum=lambda step: [0.0, 0.5][step])
    # v1 = 0*0 + 1 = 1 -> w = 0.9; v2 = 0.5*1 + 1 = 1.5 -> w = 0.75
    assert out == pytest.approx([0.9, 0.75], rel=1e-12)


@pytest.mark.parametrize("make, match", [
    (lambda w: SGD(w, lr=-0.1), "lr"),
    (lambda w: SGD(w, lr=float("nan")), "lr"),
    (lambda w: SGD(w, lr=float("inf")), "lr"),
    (lambda w: SGD(w, momentum=1.0), "momentum"),
    (lambda w: SGD(w, momentum=-0.1), "momentum"),
    (lambda w: SGD(w, nesterov=True), "nesterov"),
    (lambda w: SGD(w, weight_decay=-1.0), "weight_decay"),
    (lambda w: Adam(w, betas=(1.0, 0.999)), r"betas\[0\]"),
    (lambda w: Adam(w, betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda w: Adam(w, eps=-1.0), "eps"),
    (lambda w: RMSprop(w, alpha=1.5), "alpha"),
    (lambda w: RMSprop(w, momentum=2.0), "momentum"),
    (lambda w: Adagrad(w, lr=-1), "lr"),
])
def test_invalid_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make([Parameter(np.zeros(1))])


def test_invalid_params_and_types():
    with pytest.raises(ValueError, match="params is empty"):
        SGD([])
    with pytest.raises(TypeError, match="Parameter"):
        SGD([np.zeros(3)])
    with pytest.raises(TypeError, match="lr"):
        SGD([Parameter(np.zeros(1))], lr="0.1")


def test_bad_schedule_value_is_reported_with_step():
    w = Parameter(np.zeros(1))
    opt = SGD([w], lr=lambda step: -1.0 if step == 1 else 0.1)
    opt.step()
    with pytest.raises(ValueError, match="step 1"):
        opt.step()


def test_state_dict_round_trip():
    w = Parameter(np.array([1.0, 2.0]))
    opt = Adam([w], lr=0.1)
    w.grad[:] = [1.0, -1.0]
    opt.step()
    state = opt.state_dict()
    after_one = w.value.copy()
    opt.step()
    opt.load_state_dict(state)
    w.value[:] = after_one
    opt.step()
    second = w.value.copy()
    # replaying from the saved state gives the same second step
    w2 = Parameter(np.array([1.0, 2.0]))
    opt2 = Adam([w2], lr=0.1)
    for _ in range(2):
        w2.grad[:] = [1.0, -1.0]
        opt2.step()
    np.testing.assert_array_equal(second, w2.value)


def test_updates_keep_float32():
    w = Parameter(np.ones(3, dtype=np.float32))
    for cls in (SGD, Adam, RMSprop, Adagrad):
        opt = cls([w], lr=0.1)
        w.grad[:] = 1
        opt.step()
        assert w.value.dtype == np.float32


def ref_adam_cycled(lr, beta1s, b2=0.999, eps=1e-8, w=1.0):
    """Adam with beta1 changing every step; PyTorch's bias correction uses the current beta1."""
    m = v = 0.0
    out = []
    for t, (g, b1) in enumerate(zip(GRADS, beta1s), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr / (1 - b1 ** t) * m / (math.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
        out.append(w)
    return out


def test_adam_beta1_follows_a_schedule():
    beta1s = [0.95, 0.9, 0.85, 0.9, 0.95]
    out = run(Adam, lr=0.1, betas=(lambda step: beta1s[step], 0.999))
    np.testing.assert_allclose(out, ref_adam_cycled(0.1, beta1s), rtol=1e-12)
    # first step by hand: m = 0.05 * 1, m_hat = 1, v_hat = 1 -> w = 1 - 0.1 * 1 / (1 + 1e-8)
    assert out[0] == pytest.approx(1 - 0.1 / (1 + 1e-8), rel=1e-14)


def test_adam_beta1_schedule_from_one_cycle():
    from lrcourse.schedules import OneCycle

    schedule = OneCycle(0.1, total_steps=5, pct_start=0.4)
    momentum = schedule.momentum_schedule()
    out = run(Adam, lr=schedule, betas=(momentum, 0.999))
    # the reference with lr and beta1 looked up per step
    m = v = 0.0
    w = 1.0
    for t, g in enumerate(GRADS, start=1):
        b1, lr = momentum(t - 1), schedule(t - 1)
        m = b1 * m + (1 - b1) * g
        v = 0.999 * v + 0.001 * g * g
        w -= lr / (1 - b1 ** t) * m / (math.sqrt(v) / math.sqrt(1 - 0.999 ** t) + 1e-8)
    assert out[-1] == pytest.approx(w, rel=1e-12)


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0, w=1.0):
    a = b = ga = 0.0
    out = []
    for g in GRADS:
        g = g + weight_decay * w
        a = alpha * a + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            d = g / (math.sqrt(a - ga * ga) + eps)
        else:
            d = g / (math.sqrt(a) + eps)
        if momentum:
            b = momentum * b + d
            d = b
        w -= lr * d
        out.append(w)
    return out


@pytest.mark.parametrize("kwargs", [dict(lr=0.01, centered=True), dict(lr=0.01, weight_decay=0.1),
                                    dict(lr=0.01, alpha=0.9, momentum=0.8, centered=True, weight_decay=0.05)])
def test_rmsprop_centered_and_weight_decay(kwargs):
    np.testing.assert_allclose(run(RMSprop, **kwargs), ref_rmsprop(**kwargs), rtol=1e-12)


def test_rmsprop_centered_first_step_by_hand():
    # a = 0.5 * 4 = 2, ga = 0.5 * 2 = 1, a - ga**2 = 1 -> step 0.1 * 2 / 1
    assert run(RMSprop, grads=[2.0], lr=0.1, alpha=0.5, eps=0.0, centered=True) == pytest.approx([0.8])


def ref_adagrad_full(lr, lr_decay=0.0, initial_accumulator_value=0.0, weight_decay=0.0, eps=1e-10, w=1.0):
    s, out = initial_accumulator_value, []
    for t, g in enumerate(GRADS):
        g = g + weight_decay * w
        s += g * g
        w -= lr / (1 + t * lr_decay) * g / (math.sqrt(s) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize("kwargs", [dict(lr=0.5, lr_decay=0.1), dict(lr=0.5, initial_accumulator_value=0.1),
                                    dict(lr=0.5, lr_decay=0.5, initial_accumulator_value=1.0, weight_decay=0.1)])
def test_adagrad_lr_decay_and_initial_accumulator(kwargs):
    np.testing.assert_allclose(run(Adagrad, **kwargs), ref_adagrad_full(**kwargs), rtol=1e-12)


def test_adagrad_by_hand():
    # s starts at 5: s = 5 + 4 = 9, step 0.3 * 2 / 3 = 0.2;
    # second update: lr 0.3 / (1 + 1 * 0.5) = 0.2, s = 9 + 16 = 25, step 0.2 * 4 / 5 = 0.16
    out = run(Adagrad, grads=[2.0, 4.0], lr=0.3, lr_decay=0.5, initial_accumulator_value=5.0, eps=0.0)
    assert out == pytest.approx([0.8, 0.64], rel=1e-12)


def test_numbers_only_hyperparameters_refuse_a_schedule_up_front():
    w = [Parameter(np.zeros(1))]
    for make in (lambda: Adam(w, weight_decay=lambda step: 0.1), lambda: SGD(w, weight_decay=lambda s: 0.1),
                 lambda: Adam(w, betas=(0.9, lambda step: 0.99)), lambda: RMSprop(w, alpha=lambda s: 0.9)):
        with pytest.raises(TypeError, match="must be a number, not a schedule"):
            make()


def test_passing_the_model_says_to_call_parameters():
    from lrcourse.nn import mlp

    model = mlp([2, 2], rng=0)
    for wrong in (model, model.parameters):
        with pytest.raises(TypeError, match=r"pass model.parameters\(\)"):
            SGD(wrong)


def test_a_beta1_schedule_out_of_range_is_reported():
    w = Parameter(np.zeros(1))
    opt = Adam([w], betas=(lambda step: 1.0, 0.999))
    with pytest.raises(ValueError, match="betas\\[0\\] schedule returned 1.0 at step 0"):
        opt.step()
