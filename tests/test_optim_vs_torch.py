"""Optional: the optimizers give PyTorch's numbers on a real model (runs only where torch is installed)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrcourse.nn import Parameter  # noqa: E402
from lrcourse.optim import SGD, Adagrad, Adam, RMSprop  # noqa: E402

CASES = [
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (SGD, torch.optim.SGD, dict(lr=0.05)),
    (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5)),
    (Adagrad, torch.optim.Adagrad, dict(lr=0.1, eps=1e-10)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True,
                                        weight_decay=0.1)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True)),
    (Adagrad, torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1,
                                        weight_decay=0.01)),
]


@pytest.mark.parametrize("ours, theirs, kwargs", CASES)
def test_matches_torch(ours, theirs, kwargs):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 4))
    grads = rng.normal(size=(20, 3, 4))
    w = Parameter(w0.copy())
    opt = ours([w], **kwargs)
    tw = torch.nn.Parameter(torch.tensor(w0.copy()))
    topt = theirs([tw], **kwargs)
    for g in grads:
        w.grad[...] = g
        opt.step()
        tw.grad = torch.tensor(g.copy())
        topt.step()
    np.testing.assert_allclose(w.value, tw.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_adam_with_cycled_beta1_matches_torch_one_cycle():
    # PyTorch's OneCycleLR cycles Adam's beta1 by default (cycle_momentum=True).
    from lrcourse.schedules import OneCycle

    total = 20
    schedule = OneCycle(0.01, total_steps=total)
    rng = np.random.default_rng(1)
    w0, grads = rng.normal(size=(3, 4)), rng.normal(size=(total, 3, 4))
    w = Parameter(w0.copy())
    opt = Adam([w], lr=schedule, betas=(schedule.momentum_schedule(0.85, 0.95), 0.999))
    tw = torch.nn.Parameter(torch.tensor(w0.copy()))
    topt = torch.optim.Adam([tw], lr=0.01)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.01, total_steps=total,
                                                 base_momentum=0.85, max_momentum=0.95)
    for g in grads:
        w.grad[...] = g
        opt.step()
        tw.grad = torch.tensor(g.copy())
        topt.step()
        tsched.step()
    np.testing.assert_allclose(w.value, tw.detach().numpy(), rtol=1e-10, atol=1e-12)
