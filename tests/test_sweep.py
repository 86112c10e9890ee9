"""lrcourse.sweep: the grid, the table, the same results serially, on processes and on a Dask cluster."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import lrcourse
from lrcourse.sweep import SweepError, SweepResult, sweep


def make_digits_train(epochs=2):
    """A small digits training run; defined in a closure so that workers receive it by value."""

    def train(lr, seed):
        (X, y), validation, _ = lrcourse.data.digits(rng=0)
        model = lrcourse.mlp([64, 16, 10], rng=seed)
        optimizer = lrcourse.SGD(model.parameters(), lr=lr)
        return lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), optimizer, X, y, epochs=epochs,
                            validation_data=validation, rng=seed)

    return train


def add(a, b):
    return {"total": a + b, "product": a * b}


# ---------------------------------------------------------------------------------------------
# The grid and the table
# ---------------------------------------------------------------------------------------------


def test_keyword_lists_give_every_combination_first_parameter_slowest():
    result = sweep(add, a=[1, 2], b=range(3), progress=False)
    assert isinstance(result, SweepResult)
    assert result.params == ("a", "b") and result.outputs == ("total", "product")
    assert [(row["a"], row["b"]) for row in result] == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    assert list(result.column("total")) == [1, 2, 3, 2, 3, 4]
    assert list(result.column("product")) == [0, 1, 2, 0, 2, 4]
    assert result[4] == {"a": 2, "b": 1, "total": 3, "product": 2}


def test_grid_mapping_is_the_same_as_keyword_lists():
    assert sweep(add, grid={"a": [1, 2], "b": [5]}, progress=False).rows == \
        sweep(add, a=[1, 2], b=[5], progress=False).rows


def test_grid_list_of_points_runs_exactly_those_points():
    result = sweep(add, grid=[{"a": 1, "b": 10}, {"a": 3, "b": 30}], progress=False)
    assert result.rows == [{"a": 1, "b": 10, "total": 11, "product": 10},
                           {"a": 3, "b": 30, "total": 33, "product": 90}]
    with pytest.raises(ValueError, match="explicit points"):
        result.array("total")


def test_array_has_one_axis_per_parameter_for_averaging_over_seeds():
    result = sweep(lambda lr, seed: {"score": 10 * lr + seed}, lr=[1, 2, 3], seed=[0, 1], progress=False)
    scores = result.array("score")
    assert scores.shape == (3, 2)
    np.testing.assert_array_equal(scores, [[10, 11], [20, 21], [30, 31]])
    np.testing.assert_array_equal(scores.mean(axis=1), [10.5, 20.5, 30.5])
    assert result.axes == {"lr": [1, 2, 3], "seed": [0, 1]}


def test_numpy_values_become_plain_numbers():
    result = sweep(lambda lr: {"twice": np.float64(2 * lr)}, lr=np.array([0.5, 1.0]), progress=False)
    assert result.rows == [{"lr": 0.5, "twice": 1.0}, {"lr": 1.0, "twice": 2.0}]
    assert all(type(row["lr"]) is float and type(row["twice"]) is float for row in result)


def test_outputs_missing_from_some_points_are_nan():
    result = sweep(lambda a: {"x": a} if a == 1 else {"y": a}, a=[1, 2], progress=False)
    assert result.outputs == ("x", "y")
    assert result[0]["x"] == 1 and np.isnan(result[0]["y"])
    assert np.isnan(result[1]["x"]) and result[1]["y"] == 2


def test_repr_is_a_readable_table():
    text = repr(sweep(add, a=[1, 2], b=[0.25], progress=False))
    assert text.splitlines() == [
        "SweepResult: 2 points, parameters ('a', 'b'), outputs ('total', 'product')",
        "a     b  total  product",
        "1  0.25   1.25     0.25",
        "2  0.25   2.25      0.5",
    ]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"a": 3}, TypeError, r"grid values for 'a' must be a list.*\[3\]"),
    ({"a": "abc"}, TypeError, "grid values for 'a' must be a list"),
    ({"a": []}, ValueError, "grid values for 'a' are empty"),
    ({}, ValueError, "the grid is empty"),
    ({"grid": [], }, ValueError, "the grid is empty"),
    ({"grid": {"a": [1]}, "b": [1]}, TypeError, "either as grid= or as keyword lists"),
    ({"grid": [1, 2]}, TypeError, "a list of mappings"),
    ({"a": [1], "n_jobs": 0}, ValueError, "n_jobs must be"),
    ({"a": [1], "blas_threads": 0}, ValueError, "blas_threads must be an int >= 1, got 0"),
])
def test_bad_grids_and_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        sweep(lambda **kw: {}, progress=False, **kwargs)


def test_fn_must_be_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        sweep(42, a=[1], progress=False)


# ---------------------------------------------------------------------------------------------
# What fn returns
# ---------------------------------------------------------------------------------------------


def test_a_history_becomes_its_last_epoch_and_how_the_run_ended():
    train = make_digits_train(epochs=2)
    history = train(lr=0.1, seed=0)
    row = sweep(train, lr=[0.1], seed=[0], progress=False)[0]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert row[key] == history.history[key][-1]
    assert row["final_lr"] == 0.1  # constant rate: the rate at the end is the rate given
    assert row["epochs_run"] == 2 and row["diverged"] is False


def test_the_histories_are_kept_for_plotting_curves():
    result = sweep(make_digits_train(epochs=2), lr=[0.1, 0.3], seed=[0], n_jobs=2, progress=False)
    curve = result.history(lr=0.3).history["val_loss"]
    assert len(curve) == 2 and curve[-1] == result[1]["val_loss"]
    assert result.histories[1] is result.history(lr=0.3, seed=0)
    with pytest.raises(KeyError, match="2 points have {'seed': 0}"):
        result.history(seed=0)
    with pytest.raises(KeyError, match="fn returned a dict"):
        sweep(add, a=[1], b=[2], progress=False).history(a=1)


def test_a_diverged_history_is_marked_and_its_metrics_are_nan():
    train = make_digits_train(epochs=2)
    with pytest.warns(RuntimeWarning, match="diverged"):
        row = sweep(train, lr=[1e4], seed=[0], progress=False)[0]
    assert row["diverged"] is True and row["epochs_run"] == 0
    # No epoch finished, so the history has no metric at all: the row has no metric columns.
    assert "loss" not in row


def warn_when_large(a):
    if a > 1:
        warnings.warn(f"a = {a} is large", RuntimeWarning)
    return {"double": 2 * a}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_warnings_in_a_point_reach_the_caller_with_the_point(n_jobs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sweep(warn_when_large, a=[1, 2, 3], n_jobs=n_jobs, progress=False)
    assert [(w.category, str(w.message)) for w in caught] == [
        (RuntimeWarning, "sweep point {'a': 2}: a = 2 is large"),
        (RuntimeWarning, "sweep point {'a': 3}: a = 3 is large"),
    ]
    assert all(w.filename == __file__ for w in caught)  # they point at the sweep call


def test_an_output_that_is_not_a_number_is_reported_with_the_point():
    with pytest.raises(SweepError, match=r"\{'a': 1\}: output 'name' must be a number, got 'x'"):
        sweep(lambda a: {"name": "x"}, a=[1], progress=False)
    with pytest.raises(SweepError, match="fn must return a dict of numbers or a History, got list"):
        sweep(lambda a: [a], a=[1], progress=False)


def test_an_output_named_like_a_parameter_is_refused():
    with pytest.raises(SweepError, match="fn returned 'lr', which is also a grid parameter"):
        sweep(lambda lr: {"lr": lr}, lr=[1], progress=False)


# ---------------------------------------------------------------------------------------------
# Errors, interrupts, threads
# ---------------------------------------------------------------------------------------------


def fail_at_three(a, b):
    if a == 3:
        raise ValueError(f"a is {a}")
    return {"total": a + b}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_an_error_in_one_point_names_that_point(n_jobs):
    with pytest.raises(SweepError, match=r"sweep point \{'a': 3, 'b': 0\} failed: ValueError: a is 3") as info:
        sweep(fail_at_three, a=[1, 2, 3, 4], b=[0], n_jobs=n_jobs, progress=False)
    assert info.value.params == {"a": 3, "b": 0}


def test_each_point_runs_with_blas_threads_and_the_caller_keeps_its_own():
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads_in_use(a):
        return {"threads": max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")}

    with threadpool_limits(limits=2, user_api="blas"):
        inside = sweep(blas_threads_in_use, a=[0], progress=False, blas_threads=1)[0]["threads"]
        after = blas_threads_in_use(0)["threads"]
    assert (inside, after) == (1, 2)


INTERRUPTED_SWEEP = textwrap.dedent("""
    import os, sys, time
    from lrcourse.sweep import sweep

    def slow(i):
        with open(os.path.join(sys.argv[1], f"{os.getpid()}.{i}"), "w"):
            pass
        time.sleep(0.5)
        return {"finished": 1}

    if __name__ == "__main__":
        try:
            sweep(slow, i=range(200), n_jobs=2, progress=False)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            raise
""")


def test_ctrl_c_stops_the_sweep_and_its_workers(tmp_path):
    import psutil  # installed with distributed (the `test` extra)
    script = tmp_path / "interrupted_sweep.py"
    script.write_text(INTERRUPTED_SWEEP)
    marks = tmp_path / "marks"
    marks.mkdir()
    # A pytest-xdist worker ignores SIGINT, and an ignored signal stays ignored across exec: give the
    # child the default disposition, so that Python turns Ctrl-C into KeyboardInterrupt as in a terminal.
    proc = subprocess.Popen([sys.executable, str(script), str(marks)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while len(list(marks.iterdir())) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list(marks.iterdir())) >= 4, "the sweep did not start"
    worker_pids = {int(mark.name.split(".")[0]) for mark in marks.iterdir()}
    assert proc.pid not in worker_pids  # the points ran in other processes
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "interrupted" in out and "KeyboardInterrupt" in err
    assert proc.returncode != 0
    started = len(list(marks.iterdir()))
    assert started < 100, "the sweep went on after Ctrl-C"
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(pid) for pid in worker_pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in worker_pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert alive == [], f"worker processes {alive} outlived the interrupted sweep"


# ---------------------------------------------------------------------------------------------
# The same table serially, on worker processes, on a Dask cluster
# ---------------------------------------------------------------------------------------------

GRID = {"lr": [0.03, 0.3], "seed": [0, 1, 2]}


@pytest.fixture(scope="module")
def serial_table():
    return sweep(make_digits_train(), grid=GRID, progress=False, n_jobs=1).rows


def test_two_worker_processes_give_the_serial_table(serial_table):
    assert sweep(make_digits_train(), grid=GRID, progress=False, n_jobs=2).rows == serial_table


def test_a_dask_local_cluster_gives_the_serial_table(serial_table):
    import distributed  # the `test` extra installs it
    import joblib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            worker_pids = set(client.run(os.getpid).values())
            assert len(worker_pids) == 2 and os.getpid() not in worker_pids
            on_cluster = sweep(make_digits_train(), grid=GRID, progress=False, backend="dask")
            with joblib.parallel_config(backend="dask"):
                in_config = sweep(make_digits_train(), grid=GRID, progress=False)
            # The points ran in the cluster's worker processes.
            pids = sweep(lambda i: {"pid": os.getpid()}, i=range(6), backend="dask", progress=False)
            failing = pytest.raises(SweepError, match=r"sweep point \{'a': 3, 'b': 0\} failed")
            with failing:
                sweep(fail_at_three, a=[1, 2, 3], b=[0], backend="dask", progress=False)
            # Data captured in fn arrives as ordinary arrays: gathering rows from the views of Dask's
            # message page-faulted through the whole array on every batch (68 faults per gather).
            if sys.platform == "linux":
                faults = sweep(make_gather_faults(), i=[0], backend="dask", progress=False).column("faults")[0]
                assert faults < 100, f"{faults} page faults in 100 gathers of 32 rows"
            # A function that cannot be pickled is an error at once (it made the sweep hang).
            lock = threading.Lock()
            with pytest.raises(TypeError, match="fn must be picklable"):
                sweep(lambda i: {"locked": lock.locked()}, i=[0], backend="dask", progress=False)
    assert on_cluster.rows == serial_table
    assert in_config.rows == serial_table
    assert set(pids.column("pid")) <= worker_pids


def make_gather_faults():
    """A function (a closure, so pickled by value with its data) that gathers random batches of
    rows from its captured array, as fit does, and counts the page faults it took (Linux)."""
    data = np.random.default_rng(0).random((1077, 64), dtype=np.float32)  # digits' training set size
    rows = np.random.default_rng(1).permutation(len(data))[:32]

    def gather_faults(i):
        import resource

        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        for _ in range(100):
            data.take(rows, axis=0, mode="clip")
        return {"faults": resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before}

    return gather_faults


def test_a_function_that_cannot_be_pickled_runs_in_process_and_is_refused_for_workers():
    lock = threading.Lock()

    def locked(i):
        return {"locked": lock.locked()}

    assert sweep(locked, i=[0, 1], n_jobs=1, progress=False).column("locked").tolist() == [False, False]
    with pytest.raises(TypeError, match=r"fn must be picklable .* cannot pickle '_thread.lock'"):
        sweep(locked, i=[0, 1], n_jobs=2, progress=False)


def test_dask_backend_without_a_cluster_says_how_to_make_one():
    with pytest.raises(ValueError, match="there is none: create one first"):
        sweep(add, a=[1], b=[2], backend="dask", progress=False)


# ---------------------------------------------------------------------------------------------
# pandas, optional
# ---------------------------------------------------------------------------------------------


def test_to_frame_gives_a_dataframe_with_parameters_then_outputs():
    import pandas  # the `test` extra installs it
    frame = sweep(add, a=[1, 2], b=[3], progress=False).to_frame()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["a", "b", "total", "product"]
    assert frame["product"].tolist() == [3, 6]


def test_to_frame_without_pandas_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match="pip install pandas"):
        sweep(add, a=[1], b=[2], progress=False).to_frame()
