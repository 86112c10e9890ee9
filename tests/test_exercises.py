"""The exercises: question references pinned by hand and against the engine, the checks' feedback, the
answer wire format, and the notebook build (up to date, nothing leaked). No kernel is started here."""

import importlib.util
import json
import math
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from lrcourse import schedules
from lrcourse.callbacks import EarlyStopping, ReduceLROnPlateau
from lrcourse.grading import harvest
from lrcourse.grading.checks import Case, Outcome, Question, checks_for, compare, describe, judge, run_question
from lrcourse.grading.questions import EXERCISES, get_exercise
from lrcourse.nn import Parameter
from lrcourse.optim import SGD, Adam, RMSprop
from lrcourse.rangetest import RangeTestResult, range_test_lrs

ROOT = Path(__file__).resolve().parents[1]


def load_build_tool():
    spec = importlib.util.spec_from_file_location("build_exercises", ROOT / "tools" / "build_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build_tool()


def reference(exercise, question_id):
    return get_exercise(exercise).question(question_id).reference


# --- the questions ----------------------------------------------------------------------------------

def test_every_exercise_has_three_to_six_questions_with_cases_and_hints():
    assert [e for e in EXERCISES] == [p.stem for p in sorted((ROOT / "exercises" / "solutions").glob("*.py"))]
    for exercise in EXERCISES.values():
        assert 3 <= len(exercise.questions) <= 6, exercise.name
        assert [q.id for q in exercise.questions] == [f"q{i}" for i in range(1, len(exercise.questions) + 1)]
        for q in exercise.questions:
            assert len(q.cases) >= 2 and q.hint and q.title, (exercise.name, q.id)
            expected = q.expected()  # every reference runs on every case
            assert len(expected) == len(q.cases)


def test_ex01_references_by_hand():
    assert reference("01", "q1")(np.array([0.5, 1.5, -1.0]), np.ones(3)) == pytest.approx((0.25 + 0.25 + 4) / 3)
    np.testing.assert_allclose(reference("01", "q2")(np.array([0.5, 1.5, -1.0]), np.ones(3)),
                               [-1 / 3, 1 / 3, -4 / 3])
    np.testing.assert_allclose(reference("01", "q3")(np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1), [0.95, -2.05])
    # One step from w = b = 0 on y = 3x + 0.5, x = linspace(-1, 1, 9): dL/dw = -6 mean(x**2) = -2.5, dL/db = -1.
    x = np.linspace(-1, 1, 9)
    assert reference("01", "q4")(x, 3 * x + 0.5, 0.1, 1) == pytest.approx((0.25, 0.1))
    losses = reference("01", "q5")(x, 3 * x + 0.5, 0.1, 1)
    assert losses[0] == pytest.approx(np.mean((3 * x + 0.5) ** 2))
    assert losses[1] == pytest.approx(np.mean((3 * x + 0.5 - 0.25 * x - 0.1) ** 2))


def test_ex02_references_by_hand():
    x, W, g = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]]), np.array([[1.0, -1.0, 2.0]])
    np.testing.assert_allclose(reference("02", "q1")(x, W, np.array([0.0, 1.0, 0.5])), [[2.0, 5.0, 1.5]])
    grad_x, grad_W, grad_b = reference("02", "q2")(x, W, g)
    np.testing.assert_allclose(grad_x, [[1 - 2, 0.5 - 2 + 2]])
    np.testing.assert_allclose(grad_W, [[1, -1, 2], [2, -2, 4]])
    np.testing.assert_allclose(grad_b, [1, -1, 2])
    np.testing.assert_allclose(reference("02", "q3")(np.array([[-1.0, 0.0, 2.0]]), np.full((1, 3), 5.0)), [[0, 0, 5]])
    e = np.exp([0.0, 1.0, 2.0])
    np.testing.assert_allclose(reference("02", "q4")(np.array([[1000.0, 1001.0, 1002.0]])), [e / e.sum()])
    assert reference("02", "q5")(np.array([[0.0, 0.0]]), np.array([1])) == pytest.approx(math.log(2))
    assert reference("02", "q5")(np.array([[1000.0, 0.0]]), np.array([1])) == pytest.approx(1000.0)
    np.testing.assert_allclose(reference("02", "q6")(np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([1, 0])),
                               [[0.25, -0.25], [-0.25, 0.25]])


def _engine_step(optimizer_class, w, grad, steps=1, **kwargs):
    p = Parameter(np.array(w, dtype=float))
    opt = optimizer_class([p], **kwargs)
    for _ in range(steps):
        p.grad[...] = grad
        opt.step()
    return p.value


def test_ex03_references_by_hand_and_against_lrcourse_optim():
    w, v = reference("03", "q1")(np.array([1.0]), np.array([2.0]), np.array([1.0]), 0.1, 0.9)
    assert (w[0], v[0]) == pytest.approx((1 - 0.1 * 2.9, 2.9))
    w, v = reference("03", "q2")(np.array([1.0]), np.array([2.0]), np.array([1.0]), 0.1, 0.9)
    assert (w[0], v[0]) == pytest.approx((1 - 0.1 * (2 + 0.9 * 2.9), 2.9))
    # Adam's first step moves by lr (times sign of g): m_hat = g, v_hat = g**2.
    w, m, v = reference("03", "q4")(np.array([1.0]), np.array([2.0]), np.zeros(1), np.zeros(1), 1, 0.1, 0.9, 0.999, 1e-8)
    assert (w[0], m[0], v[0]) == pytest.approx((0.9, 0.2, 0.004))
    # Two steps of the references equal two steps of the engine's optimizers (same gradient each time).
    rng = np.random.default_rng(0)
    w0, g = rng.normal(size=(2, 4))
    w1, vel = reference("03", "q1")(w0, g, np.zeros(4), 0.1, 0.9)
    w2, _ = reference("03", "q1")(w1, g, vel, 0.1, 0.9)
    np.testing.assert_allclose(w2, _engine_step(SGD, w0, g, 2, lr=0.1, momentum=0.9))
    w1, vel = reference("03", "q2")(w0, g, np.zeros(4), 0.1, 0.9)
    w2, _ = reference("03", "q2")(w1, g, vel, 0.1, 0.9)
    np.testing.assert_allclose(w2, _engine_step(SGD, w0, g, 2, lr=0.1, momentum=0.9, nesterov=True))
    w1, s = reference("03", "q3")(w0, g, np.zeros(4), 0.01, 0.9, 1e-8)
    w2, _ = reference("03", "q3")(w1, g, s, 0.01, 0.9, 1e-8)
    np.testing.assert_allclose(w2, _engine_step(RMSprop, w0, g, 2, lr=0.01, alpha=0.9, eps=1e-8))
    w1, m, v = reference("03", "q4")(w0, g, np.zeros(4), np.zeros(4), 1, 0.01, 0.9, 0.999, 1e-8)
    w2, _, _ = reference("03", "q4")(w1, g, m, v, 2, 0.01, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(w2, _engine_step(Adam, w0, g, 2, lr=0.01))
    path = reference("03", "q5")(1.0, 10.0, np.array([1.0, 1.0]), 0.1, 0.0, 2)
    np.testing.assert_allclose(path, [[1, 1], [0.9, 0.0], [0.81, 0.0]])
    assert reference("03", "q6")(0.1, 32, 128, "linear") == pytest.approx(0.4)       # 4 times the batch
    assert reference("03", "q6")(0.005, 32, 512, "sqrt") == pytest.approx(0.02)      # sqrt(16) = 4
    assert reference("03", "q6")(0.1, 32, 8, "linear") == pytest.approx(0.025)


def test_ex04_references_by_hand():
    np.testing.assert_allclose(reference("04", "q1")(2.0, 1.0, 0.75, 3), [1, -0.5, 0.25, -0.125])
    assert [reference("04", "q2")(4.0, lr) for lr in (0.1, 0.25, 0.375, 0.5, 0.6)] == [
        "monotone", "monotone", "oscillating", "unstable", "unstable"]
    assert reference("04", "q3")(np.diag([1.0, 10.0])) == pytest.approx(0.2)
    assert reference("04", "q3")(np.array([[2.0, 1.0], [1.0, 2.0]])) == pytest.approx(2 / 3)  # eigenvalues 1, 3
    assert reference("04", "q4")(np.array([[2.0, 1.0], [1.0, 2.0]])) == pytest.approx(2 / 4)
    assert reference("04", "q5")(1.0, 1.0, 0.1, 1e-3, 10_000) == math.ceil(math.log(1e-3) / math.log(0.9))
    assert reference("04", "q5")(4.0, 3.0, 0.25, 1e-6, 10_000) == 1
    assert reference("04", "q5")(1.0, 5e-4, 0.1, 1e-3, 10_000) == 0
    assert reference("04", "q5")(10.0, 2.0, 0.25, 1e-3, 100) == -1
    assert reference("04", "q6")(np.diag([1.0, 10.0]), 200) == pytest.approx(10.0)
    assert reference("04", "q6")(np.array([[2.0, 1.0], [1.0, 2.0]]), 200) == pytest.approx(3.0)  # eigenvalues 1, 3


def test_ex05_references_by_hand():
    assert reference("05", "q1")(25, 0.1, 10, 0.5) == pytest.approx(0.025)
    assert reference("05", "q2")(50, 0.1, 100, 0.5) == pytest.approx(0.1 * math.sqrt(0.5))
    assert reference("05", "q2")(250, 0.1, 100, 0.5, True) == pytest.approx(0.025)
    assert reference("05", "q3")(50, 0.1, 100) == pytest.approx(0.05)
    assert reference("05", "q3")(100, 0.1, 100, 0.01) == pytest.approx(0.01)
    assert reference("05", "q4")(5, 0.1, 10, 110) == pytest.approx(0.05)
    assert reference("05", "q4")(60, 0.1, 10, 110) == pytest.approx(0.05)
    assert reference("05", "q5")(0.1, 0.001, 100) == pytest.approx(10 ** -0.02)


def test_ex05_references_match_lrcourse_schedules():
    steps = range(0, 121)
    pairs = [
        (lambda t: reference("05", "q1")(t, 0.1, 10, 0.5), schedules.StepDecay(0.1, step_size=10, gamma=0.5)),
        (lambda t: reference("05", "q2")(t, 0.1, 30, 0.5), schedules.ExponentialDecay(0.1, 30, 0.5)),
        (lambda t: reference("05", "q2")(t, 0.1, 30, 0.5, True), schedules.ExponentialDecay(0.1, 30, 0.5, True)),
        (lambda t: reference("05", "q3")(min(t, 100), 0.1, 100, 0.01), schedules.CosineDecay(0.1, 100, alpha=0.1)),
        (lambda t: reference("05", "q4")(min(t, 110), 0.1, 10, 110),
         schedules.LinearWarmup(schedules.CosineDecay(0.1, 100), warmup_steps=10)),
    ]
    for mine, engine in pairs:
        np.testing.assert_allclose([mine(t) for t in steps], [engine(t) for t in steps], atol=1e-15)


def test_ex06_references_by_hand_and_against_lrcourse_rangetest():
    np.testing.assert_allclose(reference("06", "q1")(1e-3, 10.0, 5), [1e-3, 1e-2, 1e-1, 1, 10])
    np.testing.assert_allclose(reference("06", "q1")(1e-7, 10.0, 100), range_test_lrs(1e-7, 10.0, 100))
    np.testing.assert_allclose(reference("06", "q2")(np.array([1.0, 3.0, 2.0]), 0.5), [1.0, 2.0, 2.0])
    # smoothed 2, 1.5, 1.0, 10.5: 10.5 > 5 * 1.0, so the 4th point is the last one kept.
    assert reference("06", "q3")(np.array([2.0, 1.0, 0.5, 20.0, 30.0]), 0.5, 5.0) == 4
    assert reference("06", "q3")(np.array([2.0, 1.0, 0.5, 0.4]), 0.5, 5.0) == 4
    assert reference("06", "q3")(np.array([2.0, np.inf, 1.0]), 0.5, 5.0) == 2
    lrs = np.array([0.001, 0.01, 0.1, 1.0])
    assert reference("06", "q4")(lrs, np.array([2.0, 1.0, 0.5, 3.0]), 0, 0) == pytest.approx(0.01)
    assert reference("06", "q4")(lrs, np.array([0.1, 1.0, 0.5, 3.0]), 1, 1) == pytest.approx(0.01)
    # On a curve long enough for the engine's windows, the suggestions are the engine's.
    lrs = np.geomspace(1e-6, 1.0, 80)
    x = np.log10(lrs)
    losses = 2 - np.tanh(2 * (x + 3)) + 0.5 * np.exp(3 * (x + 1))
    result = RangeTestResult(lrs, losses)
    assert reference("06", "q4")(lrs, losses, 80 // 10, 5) == pytest.approx(result.suggest("minimum"))
    assert reference("06", "q5")(lrs, losses, 10, 5) == pytest.approx(result.suggest("steepest"))


def test_ex07_references_by_hand():
    assert [reference("07", "q1")(t, 0.1, 1.0, 2) for t in range(5)] == pytest.approx([0.1, 0.55, 1.0, 0.55, 0.1])
    # Second cycle (steps 4000-8000) peaks at 6000 with half the height.
    assert reference("07", "q2")(6000, 0.001, 0.006, 2000) == pytest.approx(0.001 + 0.005 / 2)
    assert reference("07", "q3")(2000, 0.001, 0.006, 2000, 0.9999) == pytest.approx(0.001 + 0.005 * 0.9999 ** 2000)
    assert reference("07", "q4")(0, 0.1, 100) == pytest.approx(0.1 / 25)
    assert reference("07", "q4")(29, 0.1, 100) == pytest.approx(0.1)  # end of phase 1: 0.3 * 100 - 1
    assert reference("07", "q4")(99, 0.1, 100) == pytest.approx(0.1 / 25 / 1e4)
    assert reference("07", "q4")(64, 0.1, 100) == pytest.approx(0.1 / 25 / 1e4 + (0.1 - 0.1 / 25 / 1e4) / 2)
    assert reference("07", "q5")(29, 100) == pytest.approx(0.85)
    assert reference("07", "q5")(99, 100) == pytest.approx(0.95)


def test_ex07_references_match_lrcourse_schedules():
    steps = np.arange(0, 13000, 7)
    for mode, question, extra in (("triangular", "q1", ()), ("triangular2", "q2", ()), ("exp_range", "q3", (0.9999,))):
        engine = schedules.CyclicLR(0.001, 0.006, step_size_up=2000, mode=mode, gamma=(extra or (1.0,))[0])
        mine = [reference("07", question)(int(t), 0.001, 0.006, 2000, *extra) for t in steps]
        np.testing.assert_allclose(mine, engine(steps), rtol=1e-12, err_msg=mode)
    for total, pct, div, final in ((100, 0.3, 25.0, 1e4), (40, 0.25, 10.0, 100.0)):
        engine = schedules.OneCycle(1.0, total_steps=total, pct_start=pct, div_factor=div, final_div_factor=final)
        run = np.arange(total)
        np.testing.assert_allclose([reference("07", "q4")(int(t), 1.0, total, pct, div, final) for t in run], engine(run))
        np.testing.assert_allclose([reference("07", "q5")(int(t), total, pct) for t in run],
                                   engine.momentum_schedule()(run))


def test_ex08_references_by_hand_and_against_lrcourse_callbacks():
    assert [reference("08", "q1")(0.1, 256, b, r) for b, r in ((1024, "linear"), (64, "linear"), (1024, "sqrt"))] \
        == pytest.approx([0.4, 0.025, 0.2])
    losses = [1.0, 0.8, 0.7, 0.71, 0.69, 0.7, 0.72, 0.73]
    early = reference("08", "q2")
    assert [early(losses, 2, 0.0), early(losses, 2, 0.015), early(losses, 10, 0.0), early(losses, 0, 0.0),
            early([0.5, 0.5, 0.5], 1, 0.0)] == [(6, 4), (4, 2), (None, 4), (3, 2), (1, 0)]
    plateau = [1.0, 0.9, 0.95, 0.92, 0.85, 0.86, 0.87, 0.88, 0.89, 0.84, 0.9, 0.91]
    np.testing.assert_allclose(reference("08", "q3")(plateau, 0.1, 0.5, 2, 0.0),
                               [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.00625])
    for patience, min_delta in ((2, 0.0), (2, 0.015), (0, 0.0), (3, 0.001)):
        stopper = EarlyStopping(patience=patience, min_delta=min_delta)
        stopper.model = SimpleNamespace(stop_training=False)
        stopper.on_train_begin()
        stopped = None
        for epoch, loss in enumerate(losses):
            stopper.on_epoch_end(epoch, {"val_loss": loss})
            if stopper.model.stop_training:
                stopped = epoch
                break
        assert early(losses, patience, min_delta) == (stopped, stopper.best_epoch)
    for factor, patience, min_lr in ((0.5, 2, 0.0), (0.1, 1, 0.001)):
        callback = ReduceLROnPlateau(factor=factor, patience=patience, min_delta=0.0, min_lr=min_lr)
        callback.optimizer = SGD([Parameter(np.zeros(1))], lr=0.1)
        callback.on_train_begin()
        engine = []
        for epoch, loss in enumerate(plateau):
            callback.on_epoch_end(epoch, {"val_loss": loss})
            engine.append(callback.optimizer.lr)
        np.testing.assert_allclose(reference("08", "q3")(plateau, 0.1, factor, patience, min_lr), engine)
    recipe = reference("08", "q4")(np.array([0.01, 0.1, 1.0]), np.array([1.0, 0.5, 0.8]), 10)
    np.testing.assert_allclose(recipe, schedules.OneCycle(0.01, total_steps=10)(np.arange(10)))
    w, b = reference("08", "q5")(np.ones((4, 2)), np.array([1.0, 1.0, 0.0, 0.0]), np.array([]))
    assert w.tolist() == [0.0, 0.0] and b == 0.0
    # One step from zero: p = 0.5 everywhere, so dL/dw = X.T (0.5 - y) / N.
    X, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 0.0])
    w, b = reference("08", "q5")(X, y, np.array([2.0]))
    np.testing.assert_allclose(w, [0.5, -1.0])
    assert b == pytest.approx(0.0)


# --- judging and the in-notebook check --------------------------------------------------------------

def _square():
    return Question("q1", "square", ("x",), lambda x: x ** 2, cases=(Case((2.0,)), Case((np.array([1.0, 3.0]),))),
                    title="Square", hint="multiply x by itself")


def test_compare_rules():
    assert compare(0.3, 0.1 + 0.2) is None and compare(np.array([1.0, 2.0]), [1.0, 2.0]) is None
    assert compare(1.0, 1.0 + 1e-3) == ""
    assert compare(np.zeros(3), np.zeros((3, 1))) == "expected shape (3,), got shape (3, 1)"
    assert compare(np.zeros(3), np.array([0.0, 1.0, 0.0])).startswith("1 of 3 values differ, first at index 1")
    assert compare(1.0, np.array([1.0])) == "expected a single number, got an array of shape (1,)"
    assert compare(7, 7.0) is None and compare(7, 7.5) == "" and compare(7, "7") == "expected an integer, got a str"
    assert compare(True, 1) == "expected True or False, got a number" and compare(False, np.bool_(False)) is None
    assert compare("unstable", "Unstable") == "" and compare(None, 0) == "expected None, got a number"
    assert compare((1.0, np.ones(2)), [1.0, np.ones(2)]) is None
    assert compare((1.0, 2.0), np.array([1.0, 2.0])) == "expected a tuple of 2 items, got an array of shape (2,)"
    assert compare(float("nan"), float("nan")) is None


def test_judge_names_the_input_the_expected_value_and_what_came_back():
    q = _square()
    verdict = run_question(q, lambda x: x * 2)
    assert not verdict.passed and verdict.points == 0
    assert verdict.reason == ("square(x=array([1, 3])) returned array([2, 6]), expected array([1, 9]) "
                              "(2 of 2 values differ, first at index 0: expected 1, got 2).")
    assert run_question(q, lambda x: x * x).passed
    assert judge(q, [Outcome("missing")]).reason == "function `square` not defined"
    assert judge(q, [Outcome("timeout", seconds=3.0)]).reason == "square(x=2) did not finish within 3 s"
    assert judge(q, [Outcome("crash", error="killed the kernel")]).reason == "square(x=2) killed the kernel"
    assert judge(q, [Outcome("value", value=4.0)]).reason.endswith("was not run (grading stopped before it)")
    assert run_question(q, lambda x: 1 / 0).reason == "square(x=2) raised ZeroDivisionError: division by zero"


def test_check_prints_specific_feedback(capsys):
    check = checks_for("05")
    namespace = vars(sys.modules["__main__"])
    assert "step_decay" not in namespace
    check("q1")
    assert capsys.readouterr().out == ("✗ q1 step_decay: function `step_decay` not defined (run the cell that "
                                       "defines it first)\n")
    check("q1", lambda step, initial_lr, step_size, gamma: initial_lr)
    out = capsys.readouterr().out
    assert out.startswith("✗ q1 step_decay: step_decay(step=10, initial_lr=0.1, step_size=10, gamma=0.5) "
                          "returned 0.1, expected 0.05.")
    assert "Hint: count the completed periods" in out
    check("q1", lambda step, initial_lr, step_size, gamma: initial_lr * gamma ** (step // step_size))
    assert capsys.readouterr().out == "✓ q1 step_decay: all 5 cases correct.\n"
    with pytest.raises(KeyError, match="has no question 'q9'"):
        check("q9")


def test_check_finds_the_function_among_the_notebook_globals(capsys, monkeypatch):
    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "decay_rate_for", lambda a, b, n: (b / a) ** (1 / n), raising=False)
    checks_for("05_learning_rate_decay")("q5")
    assert capsys.readouterr().out == "✓ q5 decay_rate_for: all 3 cases correct.\n"
    monkeypatch.setattr(main, "decay_rate_for", 3, raising=False)
    checks_for("05_learning_rate_decay")("q5")
    assert capsys.readouterr().out == "✗ q5 decay_rate_for: `decay_rate_for` is a number, not a function\n"
    monkeypatch.setattr(main, "decay_rate_for", lambda a, b, n: 0.5, raising=False)
    checks_for("05_learning_rate_decay")("q5")
    assert capsys.readouterr().out == (
        "✗ q5 decay_rate_for: decay_rate_for(initial_lr=0.1, final_lr=0.001, steps=100) returned 0.5, "
        "expected 0.95499259.\n  Hint: solve initial_lr * gamma ** steps == final_lr for gamma.\n")


def test_describe_is_short_and_exact_enough():
    assert describe(1 / 3) == "0.33333333"
    assert describe(np.arange(20.0)) == "array of shape (20,)"
    assert describe([1, 2]) == "[1, 2]" and describe((1,)) == "(1,)" and describe(None) == "None"


# --- the wire format between kernel and grader ------------------------------------------------------

def test_harvest_codec_round_trip():
    value = (1, -2.5, float("nan"), float("inf"), None, True, "exp", [np.int64(3), np.float32(0.5)],
             {"a": np.arange(6).reshape(2, 3)}, np.zeros(0), np.array([True, False]))
    decoded = harvest.decode(json.loads(json.dumps(harvest.encode(value))))
    assert decoded[:2] == (1, -2.5) and math.isnan(decoded[2]) and decoded[3] == math.inf
    assert decoded[4:7] == (None, True, "exp") and decoded[7] == [3, 0.5]
    np.testing.assert_array_equal(decoded[8]["a"], np.arange(6).reshape(2, 3))
    assert decoded[9].shape == (0,) and decoded[10].dtype == bool
    assert harvest.decode(harvest.encode(0.1 + 0.2)) == 0.1 + 0.2  # every bit kept
    opaque = harvest.decode(harvest.encode(x for x in ()))
    assert isinstance(opaque, harvest.Opaque) and "generator" in repr(opaque) and opaque != opaque
    with pytest.raises(ValueError):
        harvest.decode({"pickle": "gASV"})


def test_harvest_in_process_records_values_errors_and_time_outs(tmp_path):
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([[harvest.encode((2.0,)), harvest.encode({})],
                                 [harvest.encode((3.0,)), harvest.encode({})]]))
    answers = tmp_path / "answers.jsonl"

    def records(namespace):
        harvest.harvest(namespace, "f", str(cases), str(answers), 0.3)
        return [json.loads(line) for line in answers.read_text().splitlines()]

    assert records({}) == [{"missing": True}]
    assert records({"f": 3}) == [{"not_callable": "int"}]
    ok = records({"f": lambda x: x * 2})
    assert ok[0] == {"found": True} and [harvest.decode(r["value"]) for r in ok[1:]] == [4.0, 6.0]
    assert records({"f": lambda x: 1 / 0})[1:] == [{"error": "ZeroDivisionError: division by zero"}]

    def forever(x):
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # a learner's blanket except must not swallow the time limit
                pass

    start = time.monotonic()
    assert records({"f": forever})[1:] == [{"timeout": 0.3}]  # and the second case is not tried
    assert time.monotonic() - start < 2


# --- the build ---------------------------------------------------------------------------------------

def test_student_source_replaces_each_block_by_a_stub_with_its_hint():
    source = ("def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION: use x\n    y = x + 1\n    return y\n"
              "    ### END SOLUTION\n\n\nanswer = 1\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")
    assert build.student_source(source) == (
        'def f(x):\n    """Doc."""\n    raise NotImplementedError("use x")\n\n\nanswer = 1\n'
        'raise NotImplementedError("replace this line with your code")')
    with pytest.raises(build.SourceError, match="without"):
        build.student_source("### BEGIN SOLUTION\nx = 1\n", "here")
    with pytest.raises(build.SourceError, match="without"):
        build.student_source("x = 1\n### END SOLUTION\n", "here")


def test_leak_check_catches_solution_code_in_a_student_notebook():
    solution = build.read_source(ROOT / "exercises" / "solutions" / "05_learning_rate_decay.py")
    student = build.make_student(solution, "05_learning_rate_decay")
    assert build.leak_problems(solution, student, "student") == []
    student.cells[3].source += "\n    periods = step // step_size"
    problems = build.leak_problems(solution, student, "student")
    assert problems == ["student cell 3: contains solution code: 'periods = step // step_size'"]


def test_spec_check_catches_a_missing_check_cell():
    solution = build.read_source(ROOT / "exercises" / "solutions" / "05_learning_rate_decay.py")
    assert build.spec_problems(solution, "05_learning_rate_decay") == []
    solution.cells = [c for c in solution.cells if c.source.strip() != 'check("q2")']
    assert build.spec_problems(solution, "05_learning_rate_decay") == [
        "05_learning_rate_decay q2: no check('q2') cell"]


def test_committed_notebooks_are_current_and_leak_nothing():
    problems, count = build.check_all()
    assert problems == [] and count == len(EXERCISES)
    for name in EXERCISES:
        student = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
        solution = nbformat.read(ROOT / "exercises" / "solutions" / f"{name}.ipynb", as_version=4)
        code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
        assert "BEGIN SOLUTION" not in code and code.count("raise NotImplementedError(") == len(
            EXERCISES[name].questions)
        assert student.metadata["lrcourse"] == {"exercise": name, "version": "student"}
        assert solution.metadata["lrcourse"] == {"exercise": name, "version": "solution"}
        assert [c.id for c in student.cells] == [c.id for c in solution.cells]


def test_rebuilding_without_execution_gives_byte_identical_student_notebooks(tmp_path):
    for source in build.sources():
        solution = build.read_source(source)
        student = build.make_student(solution, source.stem)
        target = tmp_path / f"{source.stem}.ipynb"
        nbformat.write(student, target)
        assert target.read_bytes() == (ROOT / "exercises" / f"{source.stem}.ipynb").read_bytes(), source.stem
