"""Optional: the PyTorch-equivalent schedules give torch's numbers (runs only where torch is installed).

Each case steps a real ``torch.optim.lr_scheduler`` scheduler, reading the optimizer's lr (and
momentum) before each update, which is the value ``schedule(k)`` must give for update k.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.optim import lr_scheduler  # noqa: E402

from lrcourse.schedules import CyclicLR, MultiStepDecay, OneCycle, StepDecay  # noqa: E402

RTOL = 1e-12


def torch_run(make_scheduler, lr, steps, momentum=0.0):
    """lr and momentum of updates 0..steps-1 of a torch SGD driven by a scheduler."""
    weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=lr, momentum=momentum)
    scheduler = make_scheduler(optimizer)
    lrs, momenta = [], []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        weight.grad = torch.ones_like(weight)
        optimizer.step()
        if len(lrs) < steps:  # never step past the last update (OneCycleLR would raise)
            scheduler.step()
    return np.array(lrs), np.array(momenta)


def assert_same(ours, expected):
    steps = np.arange(len(expected))
    np.testing.assert_allclose(ours(steps), expected, rtol=RTOL, atol=0)
    scalar = np.array([ours(int(k)) for k in steps])
    np.testing.assert_allclose(scalar, expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize(
    "initial_lr, step_size, gamma",
    [(0.1, 30, 0.1), (0.05, 7, 0.5), (1.0, 1, 0.97), (0.3, 1000, 0.1), (0.2, 3, 1.5)],
)
def test_step_decay_matches_step_lr(initial_lr, step_size, gamma):
    expected, _ = torch_run(
        lambda opt: lr_scheduler.StepLR(opt, step_size, gamma), initial_lr, 3000
    )
    assert_same(StepDecay(initial_lr, step_size, gamma), expected)


@pytest.mark.parametrize(
    "initial_lr, milestones, gamma",
    [(0.1, [30, 80], 0.1), (0.5, [1, 2, 3, 500, 1000, 2999], 0.5), (1.0, [1000], 0.3), (0.1, [], 0.1)],
)
def test_multi_step_decay_matches_multi_step_lr(initial_lr, milestones, gamma):
    expected, _ = torch_run(
        lambda opt: lr_scheduler.MultiStepLR(opt, milestones, gamma), initial_lr, 3000
    )
    assert_same(MultiStepDecay(initial_lr, milestones, gamma), expected)


def _inverse_cycle(cycle):
    return 1.0 / cycle


def _slow_decay(step):
    return 0.9995**step


CYCLIC_CASES = [
    dict(base_lr=0.001, max_lr=0.006, step_size_up=200, scale_fn=_inverse_cycle),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=7, step_size_down=13, mode="triangular2", scale_fn=_slow_decay,
         scale_mode="iterations"),
    dict(base_lr=0.001, max_lr=0.006, step_size_up=200),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=7, step_size_down=13),
    dict(base_lr=1e-4, max_lr=1e-2, step_size_up=1, step_size_down=1),
    dict(base_lr=0.1, max_lr=0.1, step_size_up=5),
    dict(base_lr=0.01, max_lr=1.0, step_size_up=30, step_size_down=3),
    dict(base_lr=0.001, max_lr=0.006, step_size_up=200, mode="triangular2"),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=10, mode="triangular2"),
    dict(base_lr=0.001, max_lr=0.006, step_size_up=200, mode="exp_range", gamma=0.999),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=11, step_size_down=4, mode="exp_range", gamma=0.99994),
]


@pytest.mark.parametrize("kwargs", CYCLIC_CASES)
def test_cyclic_lr_and_momentum_match_torch(kwargs):
    base_momentum, max_momentum = 0.8, 0.9
    expected_lr, expected_momentum = torch_run(
        lambda opt: lr_scheduler.CyclicLR(
            opt, cycle_momentum=True, base_momentum=base_momentum, max_momentum=max_momentum, **kwargs
        ),
        kwargs["base_lr"],
        3000,
        momentum=0.9,
    )
    schedule = CyclicLR(**kwargs)
    assert_same(schedule, expected_lr)
    assert_same(schedule.momentum_schedule(base_momentum, max_momentum), expected_momentum)


ONE_CYCLE_CASES = [
    dict(max_lr=0.1, total_steps=1000),
    dict(max_lr=0.1, total_steps=1000, anneal_strategy="linear"),
    dict(max_lr=0.1, total_steps=1000, three_phase=True),
    dict(max_lr=0.1, total_steps=1000, three_phase=True, anneal_strategy="linear"),
    dict(max_lr=2.0, total_steps=2345, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    dict(max_lr=0.5, total_steps=7, pct_start=0.5),
    dict(max_lr=0.5, total_steps=7, pct_start=0.45, three_phase=True),
    dict(max_lr=0.5, total_steps=3, pct_start=0.3),  # warm-up phase ends before step 0
    dict(max_lr=0.5, total_steps=3, pct_start=0.1, three_phase=True),
    dict(max_lr=0.5, total_steps=1),
    dict(max_lr=0.01, total_steps=100, pct_start=0.9, anneal_strategy="linear"),
    dict(max_lr=0.01, total_steps=100, pct_start=0.7, three_phase=True),
]


@pytest.mark.parametrize("kwargs", ONE_CYCLE_CASES)
def test_one_cycle_and_momentum_match_torch(kwargs):
    expected_lr, expected_momentum = torch_run(
        lambda opt: lr_scheduler.OneCycleLR(opt, base_momentum=0.85, max_momentum=0.95, **kwargs),
        kwargs["max_lr"],
        kwargs["total_steps"],
        momentum=0.9,
    )
    schedule = OneCycle(**kwargs)
    assert_same(schedule, expected_lr)
    assert_same(schedule.momentum_schedule(0.85, 0.95), expected_momentum)
