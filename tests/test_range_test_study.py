"""The range-test study's bookkeeping: regrets, failures and the compact results format."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def study():
    path = ROOT / "benchmarks" / "range_test_study.py"
    spec = importlib.util.spec_from_file_location("lrcourse_range_test_study", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(task, seed, regrets):
    return {"task": task, "seed": seed, "grid": [0.5] * 11, "best_grid_lr": 0.1, "best": 0.9,
            "rules": {name: {"lr": 0.01, "accuracy": 0.9 - r / 100, "regret": r} for name, r in regrets.items()},
            "trainings": 12, "range_test_iterations": 600}


def test_summary_counts_failures_above_ten_points_and_averages_regrets(study):
    runs = [fake_run("moons", 0, {"a | 1": 12.0, "b | 5": 0.5}),
            fake_run("moons", 1, {"a | 1": 10.0, "b | 5": -0.5}),  # exactly 10 points is not a failure
            fake_run("moons", 2, {"a | 1": 2.0, "b | 5": 1.5})]
    summary = study.summarise(runs)["moons"]
    assert summary["a | 1"] == {"seeds": 3, "fails": 1, "mean_regret": pytest.approx(8.0), "worst_regret": 12.0}
    assert summary["b | 5"]["fails"] == 0 and summary["b | 5"]["mean_regret"] == pytest.approx(0.5)
    table = study.markdown(study.summarise(runs), ["moons"])
    assert "| a | 1 | 1/3 fail, mean 8.0, worst 12.0 |" in table


def test_compact_results_round_trip(study):
    run = fake_run("spirals", 3, {"lowest/6 (the default of suggest()) | 5": 0.25})
    expanded = study._expand(study._compact(run))
    assert expanded["rules"] == {"lowest/6 (the default of suggest()) | 5": {"lr": 0.01, "accuracy": 0.8975,
                                                                               "regret": 0.25}}


def test_every_rule_is_evaluated_with_one_sweep_and_with_the_default_five(study):
    from lrcourse.rangetest import DEFAULT_REPEATS

    assert study.REPEATS == DEFAULT_REPEATS
    names = {name for name, _ in study.RULES}
    assert {"steepest", "minimum", "valley", "lowest/6 (the default of suggest())"} <= names
    assert sorted({repeats for _, repeats in study.RULES}) == [1, DEFAULT_REPEATS]
