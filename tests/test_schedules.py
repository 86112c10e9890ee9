"""Schedules give the PyTorch / Keras numbers, at the edges too, and reject bad parameters.

Expected values are worked out by hand (noted beside them) or from the reference formula written
out again here, independently of lrcourse.schedules. tests/test_schedules_vs_torch.py compares
against real PyTorch where it is installed.
"""

import inspect
import math
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from lrcourse.schedules import (
    Constant,
    CosineDecay,
    CosineRestarts,
    CyclicLR,
    CyclicMomentum,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    MultiStepDecay,
    OneCycle,
    OneCycleMomentum,
    PiecewiseConstant,
    PolynomialDecay,
    Schedule,
    StepDecay,
)

RTOL = 1e-12


def check(schedule, expected):
    """schedule(step) == value for each {step: value}, scalar and array, to 1e-12 relative."""
    steps = np.array(sorted(expected), dtype=np.int64)
    want = np.array([expected[k] for k in steps.tolist()])
    got_scalar = np.array([schedule(int(k)) for k in steps])
    np.testing.assert_allclose(got_scalar, want, rtol=RTOL, atol=1e-300)
    np.testing.assert_allclose(schedule(steps), want, rtol=RTOL, atol=1e-300)


# --- values ---------------------------------------------------------------------------


def test_constant():
    check(Constant(0.01), {0: 0.01, 1: 0.01, 10**9: 0.01})


def test_step_decay_matches_step_lr_docs():
    # PyTorch's StepLR docs: lr 0.05 for epochs 0..29, 0.005 for 30..59, 0.0005 for 60..89.
    s = StepDecay(0.05, step_size=30, gamma=0.1)
    check(s, {0: 0.05, 29: 0.05, 30: 0.005, 59: 0.005, 60: 0.0005, 89: 0.0005, 90: 0.00005})


def test_step_decay_every_step():
    s = StepDecay(1.0, step_size=1, gamma=0.5)  # halves on every update
    check(s, {0: 1.0, 1: 0.5, 2: 0.25, 10: 2.0**-10, 1000: 2.0**-1000})


def test_multi_step_decay_matches_multi_step_lr_docs():
    # PyTorch's MultiStepLR docs: 0.05 if epoch < 30, 0.005 if 30 <= epoch < 80, 0.0005 after.
    s = MultiStepDecay(0.05, milestones=[30, 80], gamma=0.1)
    check(s, {0: 0.05, 29: 0.05, 30: 0.005, 79: 0.005, 80: 0.0005, 10_000: 0.0005})


def test_multi_step_decay_adjacent_and_empty_milestones():
    check(MultiStepDecay(1.0, [1, 2, 3], gamma=0.5), {0: 1.0, 1: 0.5, 2: 0.25, 3: 0.125, 99: 0.125})
    check(MultiStepDecay(0.3, [], gamma=0.5), {0: 0.3, 5000: 0.3})


def test_piecewise_constant_matches_keras_docs():
    # Keras' PiecewiseConstantDecay docs: 1.0 for the first 100001 steps (0..100000),
    # 0.5 for the next 10000 steps, 0.1 for any additional steps.
    s = PiecewiseConstant([100000, 110000], [1.0, 0.5, 0.1])
    check(s, {0: 1.0, 100000: 1.0, 100001: 0.5, 110000: 0.5, 110001: 0.1, 10**7: 0.1})


def test_piecewise_constant_boundary_at_zero():
    check(PiecewiseConstant([0], [0.2, 0.1]), {0: 0.2, 1: 0.1, 2: 0.1})


def test_exponential_decay():
    s = ExponentialDecay(0.1, decay_steps=100000, decay_rate=0.96)
    # 0.1 * 0.96 ** (t / 100000): 0.96 ** 0.5 = sqrt(0.96), 0.96 ** 2 = 0.9216.
    check(s, {0: 0.1, 50000: 0.1 * math.sqrt(0.96), 100000: 0.096, 200000: 0.09216})
    stairs = ExponentialDecay(0.1, decay_steps=100000, decay_rate=0.96, staircase=True)
    check(stairs, {0: 0.1, 99999: 0.1, 100000: 0.096, 199999: 0.096, 200000: 0.09216})


def test_exponential_growth_is_allowed():
    # A rate > 1 grows the lr, as an LR range test does.
    check(ExponentialDecay(1e-3, decay_steps=10, decay_rate=10.0), {0: 1e-3, 10: 1e-2, 20: 1e-1, 5: 1e-3 * 10**0.5})


def test_inverse_time_decay():
    # Keras docs example: 0.1 / (1 + 0.5 * t).
    s = InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)
    check(s, {0: 0.1, 1: 0.1 / 1.5, 2: 0.05, 8: 0.02})
    stairs = InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0, staircase=True)
    check(stairs, {0: 0.1, 9: 0.1, 10: 0.05, 19: 0.05, 20: 0.1 / 3})


def test_polynomial_decay_keras_docs_example():
    # Keras docs: 0.1 -> 0.01 in 10000 steps with power 0.5; stays at 0.01 afterwards.
    s = PolynomialDecay(0.1, decay_steps=10000, end_lr=0.01, power=0.5)
    check(s, {0: 0.1, 2500: 0.09 * math.sqrt(0.75) + 0.01, 7500: 0.09 * 0.5 + 0.01, 10000: 0.01, 20000: 0.01})


def test_polynomial_decay_defaults_and_power():
    check(PolynomialDecay(0.1, decay_steps=4), {0: 0.1, 2: (0.1 - 1e-4) * 0.5 + 1e-4, 4: 1e-4, 9: 1e-4})
    check(PolynomialDecay(0.1, 4, 0.02, power=2.0), {1: 0.08 * 0.75**2 + 0.02, 2: 0.04, 3: 0.08 / 16 + 0.02})


def test_polynomial_decay_cycle():
    # d = 4 * max(1, ceil(t / 4)): t=0 -> d=4 (Keras' special case), t=4 -> 4 (end of the
    # first decay), t=5 -> 8, t=8 -> 8, t=9 -> 12.
    s = PolynomialDecay(0.1, decay_steps=4, end_lr=0.02, cycle=True)
    lr = lambda t, d: 0.08 * (1 - t / d) + 0.02  # noqa: E731
    check(s, {0: 0.1, 1: lr(1, 4), 4: 0.02, 5: lr(5, 8), 7: lr(7, 8), 8: 0.02, 9: lr(9, 12), 12: 0.02})


def test_cosine_decay_without_warmup():
    s = CosineDecay(0.1, decay_steps=1000)
    check(s, {0: 0.1, 250: 0.05 * (1 + math.sqrt(0.5)), 500: 0.05, 1000: 0.0, 5000: 0.0})
    with_floor = CosineDecay(0.1, decay_steps=1000, alpha=0.1)
    # 0.1 * (0.9 * (1 + cos(pi t / 1000)) / 2 + 0.1)
    check(with_floor, {0: 0.1, 500: 0.1 * (0.9 * 0.5 + 0.1), 1000: 0.01, 1001: 0.01})


def test_cosine_decay_with_warmup_keras_docs_example():
    # Keras docs: warm up from 0 to 0.1 over 1000 steps, then decay over 1000 steps.
    s = CosineDecay(0.0, decay_steps=1000, warmup_steps=1000, warmup_target=0.1)
    check(s, {0: 0.0, 1: 1e-4, 500: 0.05, 999: 0.0999, 1000: 0.1, 1500: 0.05, 2000: 0.0, 2001: 0.0})


def test_cosine_decay_warmup_from_nonzero_with_alpha():
    s = CosineDecay(0.02, decay_steps=10, alpha=0.5, warmup_steps=4, warmup_target=0.1)
    # warmup: 0.02 + 0.08 * t / 4; decay: 0.1 * (0.5 * (1 + cos(pi (t - 4) / 10)) / 2 + 0.5)
    check(s, {0: 0.02, 1: 0.04, 3: 0.08, 4: 0.1, 9: 0.1 * (0.25 + 0.5), 14: 0.05, 100: 0.05})


def test_cosine_decay_warmup_target_without_warmup_steps():
    # Keras decays from warmup_target straight away; initial_lr is not used.
    check(CosineDecay(0.5, decay_steps=10, warmup_target=0.1), {0: 0.1, 5: 0.05, 10: 0.0})


def test_cosine_restarts():
    # Periods of 10, 20, 40 steps starting at 0, 10, 30; peak m_mul ** i; floor alpha (not
    # scaled by m_mul, as in Keras): lr = 0.9 * 0.5 ** i * (1 + cos(pi c)) / 2 + 0.1.
    s = CosineRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5, alpha=0.1)
    lr = lambda i, c: 0.9 * 0.5**i * (1 + math.cos(math.pi * c)) / 2 + 0.1  # noqa: E731
    check(s, {0: 1.0, 5: 0.55, 9: lr(0, 0.9), 10: 0.55, 20: 0.325, 29: lr(1, 19 / 20)})
    check(s, {30: 0.325, 50: lr(2, 0.5), 69: lr(2, 39 / 40), 70: lr(3, 0)})


def test_cosine_restarts_constant_period():
    s = CosineRestarts(0.2, first_decay_steps=4, t_mul=1.0)
    check(s, {0: 0.2, 2: 0.1, 3: 0.1 * (1 - math.sqrt(0.5)), 4: 0.2, 6: 0.1})
    check(s, {400: 0.2, 401: 0.1 * (1 + math.sqrt(0.5))})


def test_cosine_restarts_restart_lands_on_its_step():
    # With t_mul = 3 and 2 steps first, restart i begins at 3 ** i - 1: 2, 8, 26, 80, 242, ...
    # floor(log(1 + 2 f) / log 3) rounds 4.999... down at step 242; the restart must still
    # happen there (the previous period ends at step 241 with c = 161/162).
    s = CosineRestarts(1.0, first_decay_steps=2, t_mul=3.0)
    end_of_period = (1 + math.cos(math.pi * 161 / 162)) / 2
    check(s, {241: end_of_period, 242: 1.0, 243: (1 + math.cos(math.pi / 486)) / 2})
    # restart 10 at 3 ** 10 - 1 = 59048, after a period of 2 * 3 ** 9 = 39366 steps
    check(s, {59047: (1 + math.cos(math.pi * 39365 / 39366)) / 2, 59048: 1.0})


def test_cosine_restarts_against_sum_of_periods():
    # Walk the periods one by one (the definition), for a non-integer t_mul too.
    for t_mul, m_mul, first in [(2.0, 0.8, 7), (1.5, 1.0, 4), (3.0, 0.9, 1), (1.0, 0.7, 5)]:
        s = CosineRestarts(0.3, first_decay_steps=first, t_mul=t_mul, m_mul=m_mul, alpha=0.05)
        expected = {}
        start, length, i = 0.0, float(first), 0
        for step in range(3000):
            while step >= start + length:
                start, length, i = start + length, length * t_mul, i + 1
            c = (step - start) / length
            expected[step] = 0.3 * (0.95 * m_mul**i * (1 + math.cos(math.pi * c)) / 2 + 0.05)
        steps = np.arange(3000)
        np.testing.assert_allclose(s(steps), [expected[k] for k in range(3000)], rtol=1e-9)


@pytest.mark.parametrize("error", [1e-3, -1e-3])
def test_cosine_restarts_survives_a_log_that_rounds_either_way(monkeypatch, error):
    # The period index comes from a logarithm; nudge it up or down and the values must not move.
    import types

    from lrcourse import schedules

    s = CosineRestarts(1.0, first_decay_steps=2, t_mul=3.0, m_mul=0.5)
    steps = np.arange(3 ** 7)
    exact_array, exact_scalar = s(steps), [s(int(k)) for k in steps]
    nudged = lambda log: lambda x: log(x) + error  # noqa: E731
    monkeypatch.setattr(schedules, "math", types.SimpleNamespace(**{**vars(math), "log": nudged(math.log)}))
    monkeypatch.setattr(schedules, "np", types.SimpleNamespace(**{**vars(np), "log": nudged(np.log)}))
    np.testing.assert_allclose(s(steps), exact_array, rtol=1e-6)
    np.testing.assert_allclose([s(int(k)) for k in steps], exact_scalar, rtol=1e-6)


def test_cosine_restarts_growing_peaks():
    # Keras accepts m_mul > 1: period i starts at m_mul ** i. Periods of 4 steps (t_mul = 1), m_mul 1.5:
    # lr = 0.1 * 1.5 ** i * (1 + cos(pi c)) / 2 with c = (t mod 4) / 4.
    s = CosineRestarts(0.1, first_decay_steps=4, t_mul=1.0, m_mul=1.5)
    check(s, {0: 0.1, 2: 0.05, 4: 0.15, 6: 0.075, 8: 0.225, 9: 0.225 * (1 + math.sqrt(0.5)) / 2})


def test_exponential_growth_overflows_to_inf_for_one_step_as_for_many():
    s = ExponentialDecay(0.1, decay_steps=1, decay_rate=2.0)
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert s(2000) == math.inf
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert s(np.array([0, 2000])).tolist() == [0.1, math.inf]


def test_cyclic_lr_scale_fn_per_cycle_and_per_iteration():
    # PyTorch: lr = base + (max - base) * h * scale_fn(cycle) or scale_fn(t); mode is then ignored.
    per_cycle = CyclicLR(0.1, 0.5, step_size_up=2, mode="exp_range", gamma=0.5, scale_fn=lambda c: 1 / c)
    # tops at t = 2, 6, 10 are in cycles 1, 2, 3; t = 5 is halfway down cycle 2
    check(per_cycle, {0: 0.1, 2: 0.5, 5: 0.1 + 0.4 * 0.5 / 2, 6: 0.1 + 0.4 / 2, 10: 0.1 + 0.4 / 3})
    per_step = CyclicLR(0.1, 0.5, step_size_up=2, scale_fn=lambda t: 1 / (1 + t), scale_mode="iterations")
    check(per_step, {1: 0.1 + 0.2 / 2, 2: 0.1 + 0.4 / 3, 6: 0.1 + 0.4 / 7})
    calls = []
    CyclicLR(0.1, 0.5, step_size_up=2, scale_fn=lambda c: calls.append(c) or 1.0)(np.arange(10))
    assert calls == [1, 2, 3] and all(type(c) is int for c in calls)  # once per cycle, as Python ints


def test_cyclic_lr_triangular():
    s = CyclicLR(0.001, 0.006, step_size_up=2000)
    check(s, {0: 0.001, 1000: 0.0035, 2000: 0.006, 3000: 0.0035, 4000: 0.001, 6000: 0.006, 7999: 0.001 + 0.005 / 2000})


def test_cyclic_lr_asymmetric():
    # Up in 2 steps, down in 6: total 8, rising until x = 0.25 of the cycle.
    s = CyclicLR(0.1, 0.5, step_size_up=2, step_size_down=6)
    check(s, {0: 0.1, 1: 0.3, 2: 0.5, 3: 0.1 + 0.4 * 5 / 6, 5: 0.3, 7: 0.1 + 0.4 / 6, 8: 0.1, 10: 0.5})


def test_cyclic_lr_shortest_cycle():
    s = CyclicLR(0.01, 0.1, step_size_up=1)
    check(s, {0: 0.01, 1: 0.1, 2: 0.01, 3: 0.1, 1000: 0.01, 1001: 0.1})


def test_cyclic_lr_triangular2_halves_each_cycle():
    s = CyclicLR(0.1, 0.5, step_size_up=2, mode="triangular2")
    check(s, {0: 0.1, 2: 0.5, 4: 0.1, 6: 0.3, 10: 0.2, 14: 0.15, 9: 0.1 + 0.4 * 0.25 * 0.5})
    # After ~1075 cycles the height underflows to 0 (it must not overflow on the way).
    check(CyclicLR(0.1, 0.5, step_size_up=1, mode="triangular2"), {2047: 0.1 + 0.4 * 2.0**-1023, 5001: 0.1})


def test_cyclic_lr_exp_range_shrinks_every_step():
    s = CyclicLR(0.1, 0.5, step_size_up=2, mode="exp_range", gamma=0.9)
    check(s, {0: 0.1, 1: 0.1 + 0.2 * 0.9, 2: 0.1 + 0.4 * 0.81, 6: 0.1 + 0.4 * 0.9**6, 7: 0.1 + 0.2 * 0.9**7})


def test_cyclic_lr_against_the_original_clr_formula():
    # Smith's paper / bckenstler's CLR: cycle = floor(1 + t / 2s), x = |t / s - 2 cycle + 1|,
    # lr = base + (max - base) * max(0, 1 - x) * scale (symmetric cycles).
    for mode, s_up in [("triangular", 37), ("triangular2", 10), ("exp_range", 25)]:
        s = CyclicLR(0.01, 0.09, step_size_up=s_up, mode=mode, gamma=0.999)
        t = np.arange(5000)
        cycle = np.floor(1 + t / (2 * s_up))
        x = np.abs(t / s_up - 2 * cycle + 1)
        scale = {"triangular": 1.0, "triangular2": 1 / 2.0 ** (cycle - 1), "exp_range": 0.999**t}[mode]
        expected = 0.01 + 0.08 * np.maximum(0, 1 - x) * scale
        np.testing.assert_allclose(s(t), expected, rtol=1e-12)


def test_cyclic_momentum_moves_opposite_to_lr():
    m = CyclicLR(0.1, 0.5, step_size_up=2).momentum_schedule(0.8, 0.9)
    check(m, {0: 0.9, 1: 0.85, 2: 0.8, 3: 0.85, 4: 0.9, 6: 0.8})
    m2 = CyclicLR(0.1, 0.5, step_size_up=2, mode="triangular2").momentum_schedule()
    check(m2, {0: 0.9, 2: 0.8, 6: 0.85, 10: 0.875})
    m3 = CyclicLR(0.1, 0.5, step_size_up=2, mode="exp_range", gamma=0.9).momentum_schedule(0.7, 0.95)
    check(m3, {0: 0.95, 2: 0.95 - 0.25 * 0.81, 6: 0.95 - 0.25 * 0.9**6})
    assert CyclicLR(0.1, 0.5).momentum_schedule() == CyclicMomentum(CyclicLR(0.1, 0.5), 0.8, 0.9)


def torch_one_cycle_reference(t, max_lr, total, pct, div, final_div, strategy, three_phase, points=None):
    """OneCycleLR's phase walk, written out: phases end at pct*T - 1, (2*pct*T - 2), T - 1."""
    initial = max_lr / div
    low = initial / final_div
    if three_phase:
        ends = [pct * total - 1, 2 * pct * total - 2, total - 1]
        points = points or [initial, max_lr, initial, low]
    else:
        ends = [pct * total - 1, total - 1]
        points = points or [initial, max_lr, low]
    start = 0.0
    for i, end in enumerate(ends):
        if t <= end or i == len(ends) - 1:
            p = (t - start) / (end - start)
            a, b = points[i], points[i + 1]
            if strategy == "cos":
                return b + (a - b) * (1 + math.cos(math.pi * p)) / 2
            return a + (b - a) * p
        start = end


def test_one_cycle_defaults():
    # T = 1000: initial 0.1/25 = 0.004, min 0.004/1e4 = 4e-7; warm-up ends at step 299.
    s = OneCycle(0.1, total_steps=1000)
    check(s, {0: 0.004, 299: 0.1, 649: (0.1 + 4e-7) / 2, 999: 4e-7})
    ref = {t: torch_one_cycle_reference(t, 0.1, 1000, 0.3, 25.0, 1e4, "cos", False) for t in range(1000)}
    check(s, ref)


def test_one_cycle_linear_and_three_phase_by_hand():
    kwargs = dict(pct_start=0.5, div_factor=10.0, final_div_factor=10.0, anneal_strategy="linear")
    two = OneCycle(1.0, total_steps=10, **kwargs)
    # phases end at 4 and 9: 0.1 -> 1.0 over steps 0..4, 1.0 -> 0.01 over 4..9
    check(two, {0: 0.1, 1: 0.325, 2: 0.55, 4: 1.0, 6: 0.604, 9: 0.01})
    three = OneCycle(1.0, total_steps=10, three_phase=True, **kwargs)
    # phases end at 4, 8, 9: 0.1 -> 1.0 -> 0.1 -> 0.01
    check(three, {0: 0.1, 2: 0.55, 4: 1.0, 6: 0.55, 8: 0.1, 9: 0.01})
    # momentum: 0.95 -> 0.85 -> 0.95 (-> 0.95)
    check(two.momentum_schedule(), {0: 0.95, 2: 0.9, 4: 0.85, 6: 0.89, 9: 0.95})
    check(three.momentum_schedule(), {0: 0.95, 2: 0.9, 4: 0.85, 6: 0.9, 8: 0.95, 9: 0.95})


@pytest.mark.parametrize(
    "max_lr, total, pct, div, final_div, strategy, three_phase",
    [
        (0.1, 1000, 0.3, 25.0, 1e4, "cos", True),
        (0.1, 1000, 0.3, 25.0, 1e4, "linear", False),
        (2.0, 2345, 0.25, 10.0, 100.0, "cos", False),
        (0.5, 7, 0.45, 25.0, 1e4, "cos", True),
        (0.5, 3, 0.3, 25.0, 1e4, "cos", False),  # warm-up would end before step 0
        (0.5, 1, 0.3, 25.0, 1e4, "linear", False),
        (0.01, 100, 0.7, 5.0, 1e3, "cos", True),  # 2*pct*T - 2 is past the last step
    ],
)
def test_one_cycle_against_phase_walk(max_lr, total, pct, div, final_div, strategy, three_phase):
    s = OneCycle(max_lr, total, pct, div, final_div, strategy, three_phase)
    args = (max_lr, total, pct, div, final_div, strategy, three_phase)
    check(s, {t: torch_one_cycle_reference(t, *args) for t in range(total)})
    top, bottom = 0.95, 0.85
    points = [top, bottom, top, top] if three_phase else [top, bottom, top]
    check(s.momentum_schedule(), {t: torch_one_cycle_reference(t, *args, points=points) for t in range(total)})


def test_one_cycle_refuses_steps_past_its_end():
    s = OneCycle(0.1, total_steps=1000)
    assert s(999) == pytest.approx(4e-7, rel=RTOL)
    message = (
        "step 1000 is past the end of this OneCycle schedule: it was configured for "
        "total_steps=1000 updates (steps 0..999)"
    )
    for bad in (lambda: s(1000), lambda: s(np.arange(1001)), lambda: s.momentum_schedule()(1000)):
        with pytest.raises(ValueError) as error:
            bad()
        assert str(error.value) == message
    with pytest.raises(ValueError, match="step 5000 is past the end"):
        s(np.array([3, 5000, 7]))


def test_linear_warmup():
    s = LinearWarmup(StepDecay(0.1, step_size=10), warmup_steps=4)
    check(s, {0: 0.0, 1: 0.025, 3: 0.075, 4: 0.1, 13: 0.1, 14: 0.01})
    from_half = LinearWarmup(Constant(1.0), warmup_steps=5, start_lr=0.5)
    check(from_half, {0: 0.5, 1: 0.6, 4: 0.9, 5: 1.0, 1000: 1.0})
    one_cycle = LinearWarmup(OneCycle(0.1, total_steps=100), warmup_steps=10)
    assert one_cycle(109) == pytest.approx(0.1 / 25 / 1e4, rel=RTOL)
    with pytest.raises(ValueError, match="total_steps=100"):
        one_cycle(110)


# --- behaviour shared by every schedule ------------------------------------------------

ALL = [
    Constant(0.01),
    StepDecay(0.1, 7, 0.5),
    MultiStepDecay(0.1, [10, 20, 400], 0.3),
    PiecewiseConstant([5, 100], [0.3, 0.2, 0.1]),
    ExponentialDecay(0.1, 100, 0.9),
    ExponentialDecay(0.1, 100, 0.9, staircase=True),
    InverseTimeDecay(0.1, 10, 0.5),
    InverseTimeDecay(0.1, 10, 0.5, staircase=True),
    PolynomialDecay(0.1, 300, 0.001, power=2.0),
    PolynomialDecay(0.1, 300, cycle=True),
    CosineDecay(0.1, 400, alpha=0.1),
    CosineDecay(0.0, 400, warmup_steps=50, warmup_target=0.2),
    CosineRestarts(0.1, 20),
    CosineRestarts(0.1, 13, t_mul=1.0, m_mul=0.8, alpha=0.1),
    CosineRestarts(0.1, 2, t_mul=3.0),
    CosineRestarts(0.1, 6, t_mul=1.37, m_mul=0.9),
    CyclicLR(0.01, 0.1, 50),
    CyclicLR(0.01, 0.1, 30, 70, mode="triangular2"),
    CyclicLR(0.01, 0.1, 40, mode="exp_range", gamma=0.999),
    CyclicLR(0.01, 0.1, 50).momentum_schedule(),
    OneCycle(0.1, 5000),
    OneCycle(0.1, 5000, 0.2, anneal_strategy="linear", three_phase=True),
    OneCycle(0.1, 5000).momentum_schedule(0.8, 0.9),
    LinearWarmup(CosineDecay(0.1, 1000), warmup_steps=100, start_lr=0.001),
]


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_array_equals_scalar_loop(schedule):
    steps = np.arange(5000)
    values = schedule(steps)
    assert values.dtype == np.float64 and values.shape == steps.shape
    loop = np.array([schedule(int(k)) for k in steps])
    np.testing.assert_allclose(values, loop, rtol=1e-14, atol=0)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    # Other integer types and shapes.
    assert type(schedule(7)) is float
    assert schedule(np.int32(7)) == schedule(7) == schedule(np.uint8(7))
    grid = np.array([[0, 1], [2, 4999]], dtype=np.int32)
    np.testing.assert_array_equal(schedule(grid), values[grid])
    assert schedule(np.array([], dtype=int)).shape == (0,)


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_repr_and_config_round_trip(schedule):
    namespace = {cls.__name__: cls for cls in Schedule.__subclasses__()}
    assert eval(repr(schedule), namespace) == schedule
    config = schedule.get_config()
    rebuilt = type(schedule)(**config)
    assert rebuilt == schedule and hash(rebuilt) == hash(schedule)
    np.testing.assert_array_equal(rebuilt(np.arange(300)), schedule(np.arange(300)))
    assert repr(schedule).startswith(type(schedule).__name__ + "(")


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_schedules_are_immutable(schedule):
    name = next(iter(schedule.get_config()))
    with pytest.raises(FrozenInstanceError):
        setattr(schedule, name, 1.0)


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_bad_steps(schedule):
    with pytest.raises(ValueError, match=r"step \(-1\) must be >= 0"):
        schedule(-1)
    with pytest.raises(ValueError, match="must be >= 0"):
        schedule(np.array([0, 3, -2]))
    for bad in (1.0, np.float64(2.0), np.array([0.0, 1.0]), "3", None, True):
        with pytest.raises(TypeError, match="step must be an integer"):
            schedule(bad)


def test_parameter_names_and_defaults_are_as_documented():
    empty = inspect.Parameter.empty
    expected = {
        Constant: [("lr", empty)],
        StepDecay: [("initial_lr", empty), ("step_size", empty), ("gamma", 0.1)],
        MultiStepDecay: [("initial_lr", empty), ("milestones", empty), ("gamma", 0.1)],
        PiecewiseConstant: [("boundaries", empty), ("values", empty)],
        ExponentialDecay: [("initial_lr", empty), ("decay_steps", empty), ("decay_rate", empty), ("staircase", False)],
        InverseTimeDecay: [("initial_lr", empty), ("decay_steps", empty), ("decay_rate", empty), ("staircase", False)],
        PolynomialDecay: [
            ("initial_lr", empty), ("decay_steps", empty), ("end_lr", 1e-4), ("power", 1.0), ("cycle", False),
        ],
        CosineDecay: [
            ("initial_lr", empty), ("decay_steps", empty), ("alpha", 0.0), ("warmup_steps", 0), ("warmup_target", None),
        ],
        CosineRestarts: [
            ("initial_lr", empty), ("first_decay_steps", empty), ("t_mul", 2.0), ("m_mul", 1.0), ("alpha", 0.0),
        ],
        CyclicLR: [
            ("base_lr", empty), ("max_lr", empty), ("step_size_up", 2000), ("step_size_down", None),
            ("mode", "triangular"), ("gamma", 1.0), ("scale_fn", None), ("scale_mode", "cycle"),
        ],
        OneCycle: [
            ("max_lr", empty), ("total_steps", empty), ("pct_start", 0.3), ("div_factor", 25.0),
            ("final_div_factor", 1e4), ("anneal_strategy", "cos"), ("three_phase", False),
        ],
        LinearWarmup: [("schedule", empty), ("warmup_steps", empty), ("start_lr", 0.0)],
    }
    for cls, params in expected.items():
        signature = inspect.signature(cls)
        assert [(p.name, p.default) for p in signature.parameters.values()] == params, cls
    assert inspect.signature(CyclicLR.momentum_schedule).parameters["base_momentum"].default == 0.8
    assert inspect.signature(CyclicLR.momentum_schedule).parameters["max_momentum"].default == 0.9
    assert inspect.signature(OneCycle.momentum_schedule).parameters["base_momentum"].default == 0.85
    assert inspect.signature(OneCycle.momentum_schedule).parameters["max_momentum"].default == 0.95


def test_config_keys_are_the_parameters():
    s = OneCycle(0.1, 100)
    assert s.get_config() == dict(
        max_lr=0.1, total_steps=100, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
        anneal_strategy="cos", three_phase=False,
    )
    inner = StepDecay(0.1, 5)
    assert LinearWarmup(inner, 3).get_config() == dict(schedule=inner, warmup_steps=3, start_lr=0.0)
    assert MultiStepDecay(0.1, [3, 5]).get_config()["milestones"] == (3, 5)


# --- invalid parameters -----------------------------------------------------------------

INVALID = [
    # (constructor, exception, words the message must contain: the parameter and the value)
    (lambda: Constant(0.0), ValueError, ["lr", "0.0"]),
    (lambda: Constant(-0.1), ValueError, ["lr", "-0.1"]),
    (lambda: Constant(float("nan")), ValueError, ["lr", "nan"]),
    (lambda: Constant("0.1"), TypeError, ["lr", "'0.1'"]),
    (lambda: StepDecay(-0.1, 10), ValueError, ["initial_lr", "-0.1"]),
    (lambda: StepDecay(0.1, 0), ValueError, ["step_size", "0"]),
    (lambda: StepDecay(0.1, 2.5), TypeError, ["step_size", "2.5"]),
    (lambda: StepDecay(0.1, 10, gamma=0.0), ValueError, ["gamma", "0.0"]),
    (lambda: MultiStepDecay(0.1, [30, 30]), ValueError, ["milestones", "[30, 30]", "increasing"]),
    (lambda: MultiStepDecay(0.1, [80, 30]), ValueError, ["milestones", "[80, 30]", "increasing"]),
    (lambda: MultiStepDecay(0.1, [0, 30]), ValueError, ["milestones[0]", "0"]),
    (lambda: MultiStepDecay(0.1, 30), TypeError, ["milestones", "30"]),
    (lambda: MultiStepDecay(0.1, [10], gamma=-1), ValueError, ["gamma", "-1"]),
    (lambda: PiecewiseConstant([10, 20], [0.1, 0.01]), ValueError, ["values", "boundaries", "[10, 20]", "[0.1, 0.01]"]),
    (lambda: PiecewiseConstant([10], [0.1, 0.01, 0.001]), ValueError, ["values", "boundaries"]),
    (lambda: PiecewiseConstant([20, 10], [0.1, 0.01, 0.001]), ValueError, ["boundaries", "[20, 10]", "increasing"]),
    (lambda: PiecewiseConstant([], [0.1]), ValueError, ["boundaries", "empty"]),
    (lambda: PiecewiseConstant([10], [0.1, 0.0]), ValueError, ["values[1]", "0.0"]),
    (lambda: ExponentialDecay(0.1, 10, 0.0), ValueError, ["decay_rate", "0.0"]),
    (lambda: ExponentialDecay(0.1, 10, -0.5), ValueError, ["decay_rate", "-0.5"]),
    (lambda: ExponentialDecay(0.1, 0, 0.5), ValueError, ["decay_steps", "0"]),
    (lambda: ExponentialDecay(0.1, 10, 0.5, staircase="yes"), TypeError, ["staircase", "'yes'"]),
    (lambda: InverseTimeDecay(0.1, 10, 0.0), ValueError, ["decay_rate", "0.0"]),
    (lambda: InverseTimeDecay(0.0, 10, 0.5), ValueError, ["initial_lr", "0.0"]),
    (lambda: PolynomialDecay(0.1, -5), ValueError, ["decay_steps", "-5"]),
    (lambda: PolynomialDecay(0.1, 5, end_lr=-1e-3), ValueError, ["end_lr", "-0.001"]),
    (lambda: PolynomialDecay(0.1, 5, power=0.0), ValueError, ["power", "0.0"]),
    (lambda: CosineDecay(0.1, 0), ValueError, ["decay_steps", "0"]),
    (lambda: CosineDecay(0.1, 10, alpha=1.5), ValueError, ["alpha", "1.5"]),
    (lambda: CosineDecay(0.1, 10, warmup_steps=5), ValueError, ["warmup_steps", "5", "warmup_target"]),
    (lambda: CosineDecay(0.1, 10, warmup_steps=-1, warmup_target=0.2), ValueError, ["warmup_steps", "-1"]),
    (lambda: CosineDecay(0.0, 10), ValueError, ["initial_lr", "0.0"]),
    (lambda: CosineDecay(0.0, 10, warmup_steps=5, warmup_target=0.0), ValueError, ["warmup_target", "0.0"]),
    (lambda: CosineRestarts(0.1, 0), ValueError, ["first_decay_steps", "0"]),
    (lambda: CosineRestarts(0.1, 10, t_mul=0.5), ValueError, ["t_mul", "0.5"]),
    (lambda: CosineRestarts(0.1, 10, m_mul=0.0), ValueError, ["m_mul", "0.0"]),
    (lambda: CosineRestarts(0.1, 10, m_mul=-1.5), ValueError, ["m_mul", "-1.5"]),
    (lambda: CyclicLR(0.01, 0.1, scale_fn=0.5), TypeError, ["scale_fn", "0.5"]),
    (lambda: CyclicLR(0.01, 0.1, scale_fn=abs, scale_mode="epoch"), ValueError, ["scale_mode", "'epoch'"]),
    (lambda: CosineRestarts(0.1, 10, alpha=-0.1), ValueError, ["alpha", "-0.1"]),
    (lambda: CyclicLR(0.1, 0.01), ValueError, ["max_lr (0.01) must be >= base_lr (0.1)"]),
    (lambda: CyclicLR(0.0, 0.01), ValueError, ["base_lr", "0.0"]),
    (lambda: CyclicLR(0.01, 0.1, step_size_up=0), ValueError, ["step_size_up", "0"]),
    (lambda: CyclicLR(0.01, 0.1, step_size_down=0), ValueError, ["step_size_down", "0"]),
    (lambda: CyclicLR(0.01, 0.1, mode="exp"), ValueError, ["mode", "'exp'", "triangular2"]),
    (lambda: CyclicLR(0.01, 0.1, mode="exp_range", gamma=0.0), ValueError, ["gamma", "0.0"]),
    (lambda: CyclicLR(0.01, 0.1, mode="exp_range", gamma=1.01), ValueError, ["gamma", "1.01"]),
    (lambda: CyclicLR(0.01, 0.1).momentum_schedule(0.95, 0.85), ValueError, ["max_momentum (0.85) must be >= base_m"]),
    (lambda: CyclicLR(0.01, 0.1).momentum_schedule(0.8, 1.0), ValueError, ["max_momentum", "1.0"]),
    (lambda: CyclicLR(0.01, 0.1).momentum_schedule(-0.1, 0.9), ValueError, ["base_momentum", "-0.1"]),
    (lambda: CyclicMomentum(OneCycle(0.1, 10)), TypeError, ["lr_schedule", "OneCycle"]),
    (lambda: OneCycle(0.0, 100), ValueError, ["max_lr", "0.0"]),
    (lambda: OneCycle(0.1, 0), ValueError, ["total_steps", "0"]),
    (lambda: OneCycle(0.1, 100, pct_start=0.0), ValueError, ["pct_start", "0.0"]),
    (lambda: OneCycle(0.1, 100, pct_start=1.0), ValueError, ["pct_start", "1.0"]),
    (lambda: OneCycle(0.1, 100, pct_start=1.5), ValueError, ["pct_start", "1.5"]),
    (lambda: OneCycle(0.1, 10, pct_start=0.1), ValueError, ["pct_start * total_steps", "0.1 * 10"]),
    (lambda: OneCycle(0.1, 100, div_factor=0.0), ValueError, ["div_factor", "0.0"]),
    (lambda: OneCycle(0.1, 100, final_div_factor=-1.0), ValueError, ["final_div_factor", "-1.0"]),
    (lambda: OneCycle(0.1, 100, anneal_strategy="cosine"), ValueError, ["anneal_strategy", "'cosine'"]),
    (lambda: OneCycle(0.1, 100, three_phase=1), TypeError, ["three_phase", "1"]),
    (lambda: OneCycle(0.1, 100).momentum_schedule(0.9, 0.8), ValueError, ["max_momentum (0.8) must be >= base_m"]),
    (lambda: OneCycle(0.1, 100).momentum_schedule(0.85, 1.5), ValueError, ["max_momentum", "1.5"]),
    (lambda: OneCycleMomentum(CyclicLR(0.01, 0.1)), TypeError, ["lr_schedule", "CyclicLR"]),
    (lambda: LinearWarmup(0.1, 10), TypeError, ["schedule", "0.1"]),
    (lambda: LinearWarmup(Constant(0.1), 0), ValueError, ["warmup_steps", "0"]),
    (lambda: LinearWarmup(Constant(0.1), 10, start_lr=-0.1), ValueError, ["start_lr", "-0.1"]),
]


@pytest.mark.parametrize("make, exception, words", INVALID)
def test_invalid_parameters(make, exception, words):
    with pytest.raises(exception) as error:
        make()
    for word in words:
        assert word in str(error.value)
