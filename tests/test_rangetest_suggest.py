"""The range test's default suggestion ("lowest/6" over 5 sweeps) and the bounds for a cyclical rate.

The default was chosen by benchmarks/range_test_study.py; these tests pin what it computes, with values
worked out by hand on curves whose lowest point is known.
"""

import numpy as np
import pytest

from lrcourse import SoftmaxCrossEntropy, mlp
from lrcourse.rangetest import DEFAULT_METHOD, DEFAULT_REPEATS, RangeTestResult, lr_range_test


def parabola_result(num=41, lowest_exponent=-2):
    """Smoothed loss (log10(lr) - lowest_exponent)^2 on lrs 1e-4 ... 1: lowest at 10**lowest_exponent."""
    lrs = np.geomspace(1e-4, 1.0, num)
    return RangeTestResult(lrs, (np.log10(lrs) - lowest_exponent) ** 2)


def test_the_default_is_a_sixth_of_the_lowest_point():
    result = parabola_result()
    assert DEFAULT_METHOD == "lowest/6"
    # lrs are 10 points per decade from 1e-4: 1e-2 is index 20, inside the window [4, 36) of "minimum"
    assert result.suggest_index() == 20
    assert result.suggest() == pytest.approx(1e-2 / 6)
    assert result.suggest("lowest/6") == result.suggest()


def test_default_sits_between_minimum_and_the_lowest_point():
    result = parabola_result(lowest_exponent=-1)
    lowest = 0.1
    assert result.suggest("minimum") == pytest.approx(lowest / 10)
    assert result.suggest() == pytest.approx(lowest / 6)
    assert result.suggest("minimum") < result.suggest() < lowest


def test_default_ignores_the_divergence_spike_and_the_warm_up():
    lrs = np.geomspace(1e-5, 10.0, 60)
    losses = (np.log10(lrs) + 1) ** 2  # lowest at 0.1 ...
    losses[:6] = -5.0  # ... but the first num_iter // 10 = 6 points (smoothing warm-up) are lower
    losses[-5:] = -5.0  # and so are the last 5 (the spike region), which every rule leaves out
    result = RangeTestResult(lrs, losses)
    index = int(np.argmin(np.abs(lrs - 0.1)))
    assert result.suggest_index() == index
    assert result.suggest() == pytest.approx(lrs[index] / 6)


def test_default_stops_at_the_first_non_finite_loss():
    lrs = np.geomspace(1e-4, 1.0, 41)
    losses = (np.log10(lrs) + 2) ** 2
    losses[25:] = np.nan  # from lr 10**-1.5 on; the finite part decreases up to index 20 then rises
    result = RangeTestResult(lrs, losses)
    assert result.suggest() == pytest.approx(1e-2 / 6)


def test_lr_range_test_runs_five_sweeps_by_default():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    result = lr_range_test(mlp([2, 8, 2], rng=0), SoftmaxCrossEntropy(), X, y, num_iter=20, batch_size=16, rng=0)
    assert DEFAULT_REPEATS == 5 and result.repeats == 5
    assert result.raw_losses.shape == (5, len(result.lrs)) and result.losses_std is not None


def test_unknown_rule_names_the_choices():
    with pytest.raises(ValueError, match=r"method must be one of 'lowest/6', 'steepest', 'minimum', 'valley', got 'lowest/5'"):
        parabola_result().suggest("lowest/5")


def test_suggest_bounds_factors():
    # lowest point at 0.1: max_lr = 0.1 / 3, base_lr = max_lr / 4 = 0.1 / 12
    base_lr, max_lr = parabola_result(lowest_exponent=-1).suggest_bounds()
    assert max_lr == pytest.approx(0.1 / 3) and base_lr == pytest.approx(0.1 / 12)
    base_lr, max_lr = parabola_result(lowest_exponent=-1).suggest_bounds(max_div=6, base_div=3)
    assert max_lr == pytest.approx(0.1 / 6) and base_lr == pytest.approx(0.1 / 18)
