"""The benchmark compares like with like: every contender trains the same net on the same batches.

Only the small digits workload runs here (a few seconds); the timings themselves are not tested.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("lrcourse_benchmark_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


@pytest.fixture(scope="module")
def digits32():
    return bench.make_workload("digits32")


def test_numpy_contenders_train_the_same_net_as_lrcourse(digits32):
    # Same initial weights, same shuffles, same update: the per-epoch losses agree to float32 rounding.
    losses = {}
    for cls in (bench.LrcourseFit, bench.NumpyLoop, bench.NumpyInPlace):
        contender = cls(digits32)
        losses[cls.name] = [contender.epoch() for _ in range(3)]
    reference = losses["lrcourse"]
    assert reference[2] < reference[0]  # it learns
    for name in ("numpy loop", "numpy in place"):
        np.testing.assert_allclose(losses[name], reference, rtol=1e-5, err_msg=name)


def test_blas_floor_does_only_the_eight_products_per_batch(monkeypatch):
    workload = bench.make_workload("digits32")
    workload.sizes = [64, 32, 16, 10]  # three layers, like syn128
    floor = bench.BlasFloor(workload)
    calls = []
    real_matmul = np.matmul

    def counting_matmul(*args, **kwargs):
        calls.append(args[0].shape)
        return real_matmul(*args, **kwargs)

    monkeypatch.setattr(bench.np, "matmul", counting_matmul)
    assert floor.epoch() is None
    n_batches = -(-len(workload.X) // workload.batch_size)
    assert len(calls) == 8 * n_batches  # 3 forward, 3 weight gradients, 2 input gradients


def test_targets_compare_lrcourse_with_each_reference():
    results = {
        "syn128": [{"contender": "lrcourse", "median_s": 1.3}, {"contender": "BLAS floor", "median_s": 1.0},
                   {"contender": "scikit-learn", "median_s": 2.0}],
        "digits32": [{"contender": "lrcourse", "median_s": 0.3}, {"contender": "numpy loop", "median_s": 0.1}],
    }
    targets = {t["target"]: t for t in bench.check_targets(results, {"median_s": 1.5})}
    assert targets["syn128: lrcourse / BLAS floor"]["met"]  # 1.3 <= 1.3
    assert targets["syn128: lrcourse / scikit-learn"]["met"]
    assert not targets["digits32: lrcourse / numpy loop"]["met"]  # 3x > 2x
    assert not targets["range test, 100 iterations, digits, batch 32 (s)"]["met"]
    assert "syn128: lrcourse / PyTorch" not in targets  # not measured, so not judged


def test_command_writes_the_table_and_json(tmp_path, capsys):
    output = tmp_path / "result.json"
    code = bench.main(["--workloads", "digits32", "--repeats", "1", "--no-torch", "--threads", "1",
                       "--output", str(output)])
    assert code in (0, 1)
    report = json.loads(output.read_text())
    names = [row["contender"] for row in report["results"]["digits32"]]
    assert names == ["BLAS floor", "lrcourse", "numpy loop", "numpy in place", "scikit-learn"]
    assert report["environment"]["numpy_blas"]["num_threads"] == 1
    assert "numpy" in report["environment"]["numpy_blas"]["filepath"]
    assert report["range_test"]["points"] >= 1
    table = capsys.readouterr().out
    assert "| digits32 | numpy in place |" in table and "| target | measured |" in table
