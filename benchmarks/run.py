"""How fast does lrcourse train? Side by side with the BLAS floor, plain numpy, scikit-learn and PyTorch.

    python benchmarks/run.py                      # the full table (a few minutes)
    python benchmarks/run.py --repeats 3 --workloads digits32

Workloads (float32, fixed seeds; plain SGD, lr 0.05, one shuffled epoch, ReLU MLP, softmax
cross-entropy):

- ``syn128``: 60000 x 784 standard normal inputs, labels from a fixed random linear teacher,
  MLP 784-256-256-10, batch 128;
- ``syn32``: the same with batch 32;
- ``digits32``: scikit-learn's 1797 8x8 digits scaled to [0, 1], MLP 64-32-10, batch 32.

Contenders, timed epoch by epoch in turn in this one process (so a slow spell of the machine hits
all of them; the order is reshuffled every round), median over ``--repeats`` epochs after one
warm-up epoch each:

- ``lrcourse``: the public API, ``fit(..., epochs=1)`` with no callbacks and no progress bar;
- ``BLAS floor``: only the matrix products an epoch needs (3 forward and 5 backward per batch for
  three layers; no gradient for the input data), on preallocated arrays: the physical limit of any
  engine that computes the same products with the same BLAS;
- ``numpy loop``: the same net hand-written as a plain numpy loop (the Python overhead reference;
  same initial weights and batch order as ``lrcourse``, so the two report the same loss);
- ``numpy in place``: the same loop with every buffer preallocated and every operation in place,
  so its distance to the floor is what numpy's element-wise operations cost on this machine, with
  no allocation per batch;
- ``scikit-learn``: ``MLPClassifier(solver="sgd", momentum=0, alpha=0)``, one ``partial_fit`` per epoch;
- ``PyTorch``: ``torch.nn.Sequential`` + ``torch.optim.SGD`` in the usual loop (``loss.item()``
  each batch, as ``fit`` records each batch loss), only if torch is installed.

Memory ("MB" column): the peak resident set size (Linux ``VmHWM``, reset through
``/proc/self/clear_refs``) while a contender is built and trains its warm-up epoch, minus the
resident size just before: what it needs on top of the data already in memory.

The table is printed as markdown; everything measured is also written to
``benchmarks/results/latest.json``.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import lrcourse  # noqa: E402
from lrcourse.losses import SoftmaxCrossEntropy  # noqa: E402
from lrcourse.nn import mlp  # noqa: E402
from lrcourse.optim import SGD  # noqa: E402
from lrcourse.training import fit  # noqa: E402

LR = 0.05
WORKLOADS = ("syn128", "syn32", "digits32")
# Environment variables that change how fast the BLAS runs; reported, never changed.
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS")


# --------------------------------------------------------------------------------------------------
# Workloads


class Workload:
    def __init__(self, name, X, y, sizes, batch_size, description):
        self.name, self.X, self.y = name, X, y
        self.sizes, self.batch_size, self.description = sizes, batch_size, description


_SYNTHETIC = {}


def synthetic_data():
    """60000 x 784 standard normal float32 inputs and labels from a random linear teacher (~190 MB)."""
    if not _SYNTHETIC:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((60000, 784), dtype=np.float32)
        teacher = rng.standard_normal((784, 10), dtype=np.float32)
        _SYNTHETIC["data"] = X, np.argmax(X @ teacher, axis=1).astype(np.int64)
    return _SYNTHETIC["data"]


def make_workload(name):
    if name in ("syn128", "syn32"):
        X, y = synthetic_data()
        batch_size = int(name[3:])
        return Workload(name, X, y, [784, 256, 256, 10], batch_size,
                        f"60000x784 synthetic, MLP 784-256-256-10, batch {batch_size}")
    if name == "digits32":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return Workload(name, (X / 16.0).astype(np.float32), y.astype(np.int64), [64, 32, 10], 32,
                        "1797x64 digits, MLP 64-32-10, batch 32")
    raise ValueError(f"unknown workload {name!r}; choose from {WORKLOADS}")


def he_weights(sizes, rng):
    return [(rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32)
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


# --------------------------------------------------------------------------------------------------
# Contenders: each trains one epoch per call of ``epoch()`` and returns that epoch's mean loss
# (None for the floor, which computes no loss). The loss column shows they all train the same net.


class LrcourseFit:
    name = "lrcourse"

    def __init__(self, workload):
        self.w = workload
        self.model = mlp(workload.sizes, rng=0)
        self.loss = SoftmaxCrossEntropy()
        self.optimizer = SGD(self.model.parameters(), lr=LR)
        self.rng = np.random.default_rng(0)

    def epoch(self):
        # One fit call per epoch, so the contenders can take turns. The divergence check is off, as
        # the other contenders have none (its cost per batch is a few float operations either way).
        history = fit(self.model, self.loss, self.optimizer, self.w.X, self.w.y, epochs=1,
                      batch_size=self.w.batch_size, rng=self.rng, divergence_threshold=None)
        return history.history["loss"][-1]


class BlasFloor:
    """Only the matrix products of an epoch, written into preallocated arrays.

    Forward: one product per layer. Backward: the weight gradient of every layer and the input
    gradient of every layer but the first. Nothing else: no bias, activation, loss, update, shuffle.
    """

    name = "BLAS floor"

    def __init__(self, workload):
        self.w = workload
        rng = np.random.default_rng(0)
        batch = workload.batch_size
        self.weights = he_weights(workload.sizes, rng)
        self.weight_grads = [np.empty_like(W) for W in self.weights]
        self.outputs = [np.empty((batch, n), np.float32) for n in workload.sizes[1:]]
        self.output_grads = [np.empty((batch, n), np.float32) for n in workload.sizes[1:]]
        # A realistic gradient at the logits (values only matter to avoid denormals).
        self.output_grads[-1][...] = rng.standard_normal(self.output_grads[-1].shape) * 0.01

    def epoch(self):
        X, batch = self.w.X, self.w.batch_size
        layers = range(len(self.weights))
        for start in range(0, len(X), batch):
            xb = X[start:start + batch]
            m = len(xb)
            inputs = [xb] + [out[:m] for out in self.outputs[:-1]]
            for i in layers:
                np.matmul(inputs[i], self.weights[i], out=self.outputs[i][:m])
            for i in reversed(layers):
                grad = self.output_grads[i][:m]
                np.matmul(inputs[i].T, grad, out=self.weight_grads[i])
                if i > 0:
                    np.matmul(grad, self.weights[i].T, out=self.output_grads[i - 1][:m])
        return None


class NumpyLoop:
    """The same MLP as a plain hand-written numpy training loop (no framework, no checks)."""

    name = "numpy loop"

    def __init__(self, workload):
        self.w = workload
        rng = np.random.default_rng(0)
        self.weights = he_weights(workload.sizes, rng)
        self.biases = [np.zeros(n, np.float32) for n in workload.sizes[1:]]
        self.rng = np.random.default_rng(0)

    def epoch(self):
        X, y, batch = self.w.X, self.w.y, self.w.batch_size
        weights, biases = self.weights, self.biases
        last = len(weights) - 1
        order = self.rng.permutation(len(X))
        total_loss = 0.0
        for start in range(0, len(X), batch):
            idx = order[start:start + batch]
            xb, yb = X[idx], y[idx]
            rows = np.arange(len(idx))
            inputs = []
            h = xb
            for i, (W, b) in enumerate(zip(weights, biases)):
                inputs.append(h)
                h = h @ W + b
                if i < last:
                    h = np.maximum(h, 0)
            h -= h.max(axis=1, keepdims=True)
            probs = np.exp(h)
            probs /= probs.sum(axis=1, keepdims=True)
            total_loss -= np.log(probs[rows, yb]).sum()
            probs[rows, yb] -= 1
            grad = probs / len(idx)
            for i in reversed(range(len(weights))):
                W, b = weights[i], biases[i]
                grad_W, grad_b = inputs[i].T @ grad, grad.sum(axis=0)
                if i > 0:
                    grad = (grad @ W.T) * (inputs[i] > 0)
                W -= LR * grad_W
                b -= LR * grad_b
        return float(total_loss) / len(X)


class NumpyInPlace(NumpyLoop):
    """The same MLP as a numpy loop that allocates nothing per batch: every buffer is made once and
    every operation writes in place (the SGD step even scales the gradient buffer itself).

    What it adds to the BLAS floor is only the element-wise work numpy runs on one core (batch
    gather, bias, ReLU, softmax, update): no allocation, no framework, no checks.
    Same initial weights and batch order as ``lrcourse`` (set up by ``NumpyLoop``), so the same loss.
    """

    name = "numpy in place"

    def __init__(self, workload):
        super().__init__(workload)  # weights, biases and the shuffling rng
        sizes, batch = workload.sizes, workload.batch_size
        self.weight_grads = [np.empty_like(W) for W in self.weights]
        self.bias_grads = [np.empty_like(b) for b in self.biases]
        self.outputs = [np.empty((batch, n), np.float32) for n in sizes[1:]]
        self.masks = [np.empty((batch, n), bool) for n in sizes[1:-1]]
        self.output_grads = [np.empty((batch, n), np.float32) for n in sizes[1:-1]]
        self.xb = np.empty((batch, sizes[0]), np.float32)
        self.yb = np.empty(batch, workload.y.dtype)
        self.row_stat = np.empty((batch, 1), np.float32)  # row max, then row sum of exp
        self.rows = np.arange(batch)

    def epoch(self):
        X, y, batch = self.w.X, self.w.y, self.w.batch_size
        weights, biases = self.weights, self.biases
        last = len(weights) - 1
        order = self.rng.permutation(len(X))
        total_loss = 0.0
        for start in range(0, len(X), batch):
            idx = order[start:start + batch]
            m = len(idx)
            xb = X.take(idx, axis=0, out=self.xb[:m])
            yb = y.take(idx, out=self.yb[:m])
            inputs = [xb] + [out[:m] for out in self.outputs[:-1]]
            for i in range(last + 1):
                out = self.outputs[i][:m]
                np.matmul(inputs[i], weights[i], out=out)
                out += biases[i]
                if i < last:
                    np.greater(out, 0, out=self.masks[i][:m])
                    np.maximum(out, 0, out=out)
            # Softmax cross-entropy, fused: the logits buffer becomes (p - onehot) / m.
            z, rows, stat = self.outputs[last][:m], self.rows[:m], self.row_stat[:m]
            np.max(z, axis=1, keepdims=True, out=stat)
            z -= stat
            picked = z[rows, yb]
            np.exp(z, out=z)
            np.sum(z, axis=1, keepdims=True, out=stat)
            total_loss += float(np.log(stat).sum() - picked.sum())
            z /= stat
            z[rows, yb] -= 1
            z *= 1.0 / m
            grad = z
            for i in range(last, -1, -1):
                np.matmul(inputs[i].T, grad, out=self.weight_grads[i])
                np.sum(grad, axis=0, out=self.bias_grads[i])
                if i > 0:
                    below = self.output_grads[i - 1][:m]
                    np.matmul(grad, weights[i].T, out=below)
                    np.multiply(below, self.masks[i - 1][:m], out=below)
                    grad = below
                for value, g in ((weights[i], self.weight_grads[i]), (biases[i], self.bias_grads[i])):
                    g *= LR
                    value -= g
        return total_loss / len(X)


class SklearnMLP:
    name = "scikit-learn"

    def __init__(self, workload):
        from sklearn.neural_network import MLPClassifier

        self.w = workload
        self.clf = MLPClassifier(hidden_layer_sizes=tuple(workload.sizes[1:-1]), activation="relu",
                                 solver="sgd", learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False,
                                 alpha=0.0, batch_size=workload.batch_size, shuffle=True, random_state=0)
        self.classes = np.unique(workload.y)

    def epoch(self):
        self.clf.partial_fit(self.w.X, self.w.y, classes=self.classes)
        return float(self.clf.loss_)


class TorchMLP:
    name = "PyTorch"

    def __init__(self, workload):
        import torch

        self.torch, self.w = torch, workload
        torch.manual_seed(0)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(workload.sizes[:-1], workload.sizes[1:])):
            layers.append(torch.nn.Linear(n_in, n_out))
            if i < len(workload.sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.loss = torch.nn.CrossEntropyLoss()
        self.X = torch.from_numpy(workload.X)  # shares memory with the numpy array
        self.y = torch.from_numpy(workload.y)
        self.generator = torch.Generator().manual_seed(0)

    def epoch(self):
        batch, n = self.w.batch_size, len(self.X)
        order = self.torch.randperm(n, generator=self.generator)
        total_loss = 0.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = self.X[idx], self.y[idx]
            self.optimizer.zero_grad()
            loss = self.loss(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            total_loss += loss.item() * len(idx)
        return total_loss / n


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Measuring


def _status_kb(field):
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


_PROCESS_PEAK_KB = [0]  # the peak over the whole run, kept across the resets below


def process_peak_mb():
    peak = max(_PROCESS_PEAK_KB[0], _status_kb("VmHWM") or 0)
    return peak / 1024 if peak else None


def _reset_peak_rss():
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0); False if not possible."""
    _PROCESS_PEAK_KB[0] = max(_PROCESS_PEAK_KB[0], _status_kb("VmHWM") or 0)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_workload(workload, contender_classes, repeats):
    """Set up each contender (measuring its memory), then time ``repeats`` epochs of each in turn."""
    contenders, memory_mb = [], {}
    for cls in contender_classes:
        # Memory: the peak while building the contender and training its warm-up epoch, over the
        # resident size before (the data is already in memory, so this is the model, the optimizer
        # state, per-batch temporaries and whatever the library allocates on first use).
        rss_before = _status_kb("VmRSS")
        can_reset = _reset_peak_rss()
        contender = cls(workload)
        contender.epoch()  # warm-up: first-call allocations, BLAS threads start, caches fill
        peak = _status_kb("VmHWM")
        memory_mb[contender.name] = (peak - rss_before) / 1024 if can_reset and peak and rss_before else None
        contenders.append(contender)
    times = {c.name: [] for c in contenders}
    losses = {}
    order_rng = np.random.default_rng(0)
    for _ in range(repeats):
        # In turn, so a slow spell of the machine hits every contender; in a new order each round, so
        # no contender always runs right after the same neighbour (whose threads may still be winding down).
        for i in order_rng.permutation(len(contenders)):
            c = contenders[i]
            start = time.perf_counter()
            losses[c.name] = c.epoch()
            times[c.name].append(time.perf_counter() - start)
    return [{"contender": c.name, "seconds": times[c.name], "median_s": statistics.median(times[c.name]),
             "min_s": min(times[c.name]), "last_epoch_loss": losses[c.name], "memory_mb": memory_mb[c.name]}
            for c in contenders]


def time_range_test(repeats):
    """Median wall time of one sweep, ``lr_range_test(num_iter=100, batch_size=32, repeats=1)``, on digits."""
    from lrcourse.data import digits
    from lrcourse.rangetest import lr_range_test

    (X, y), _, _ = digits(rng=0)
    times, points = [], None
    for _ in range(repeats + 1):  # the first run is a warm-up
        model = mlp([64, 32, 10], rng=0)
        start = time.perf_counter()
        result = lr_range_test(model, SoftmaxCrossEntropy(), X, y, num_iter=100, batch_size=32, repeats=1,
                               rng=0)
        times.append(time.perf_counter() - start)
        points = len(result.lrs)
    times = times[1:]
    return {"seconds": times, "median_s": statistics.median(times), "points": points, "num_iter": 100,
            "stopped_early": bool(result.stopped_early)}


def environment():
    blas = [{k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for info in threadpool_info() if info.get("user_api") == "blas"]
    # SciPy (loaded by scikit-learn) brings a BLAS of its own; numpy's is the one that does the work here.
    blas.sort(key=lambda info: "numpy" not in (info["filepath"] or ""))
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "lrcourse": lrcourse.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "numpy_blas": blas[0] if blas else None,
        "blas_env": {name: os.environ.get(name) for name in BLAS_ENV},
    }
    import sklearn

    env["scikit-learn"] = sklearn.__version__
    if torch_available():
        import torch

        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
    return env


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


# --------------------------------------------------------------------------------------------------
# Targets (from the benchmarks issue) and the report


def check_targets(results, range_test):
    """Every target of the benchmarks issue that this run measured: name, measured value, limit, met."""

    def ratio(workload, other):
        rows = {r["contender"]: r["median_s"] for r in results.get(workload, [])}
        if "lrcourse" in rows and other in rows:
            return rows["lrcourse"] / rows[other]
        return None

    wanted = [  # (what, measured, comparison, limit)
        ("syn128: lrcourse / BLAS floor", ratio("syn128", "BLAS floor"), "<=", 1.3),
        ("syn128: lrcourse / PyTorch", ratio("syn128", "PyTorch"), "<", 1.0),
        ("syn128: lrcourse / scikit-learn", ratio("syn128", "scikit-learn"), "<", 1.0),
        ("syn32: lrcourse / PyTorch", ratio("syn32", "PyTorch"), "<", 1.0),
        ("syn32: lrcourse / scikit-learn", ratio("syn32", "scikit-learn"), "<", 1.0),
        ("digits32: lrcourse / numpy loop", ratio("digits32", "numpy loop"), "<=", 2.0),
        ("digits32: lrcourse / PyTorch (far below)", ratio("digits32", "PyTorch"), "<", 0.5),
    ]
    if range_test is not None:
        wanted.append(("range test, 100 iterations, digits, batch 32 (s)", range_test["median_s"], "<", 1.0))
    return [{"target": name, "measured": value, "comparison": op, "limit": limit,
             "met": bool(value <= limit if op == "<=" else value < limit)}
            for name, value, op, limit in wanted if value is not None]


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def format_report(env, results, range_test, targets, peak_mb, no_torch=False):
    blas = env["numpy_blas"] or {}
    lines = [
        f"CPU: {env['cpu']} ({env['cpus']} CPUs); Python {env['python']}, numpy {env['numpy']}, "
        f"scikit-learn {env['scikit-learn']}, " + (f"torch {env['torch']} ({env['torch_threads']} threads)"
                                                   if "torch" in env else "torch not installed"),
        f"numpy BLAS: {blas.get('internal_api')} {blas.get('version')} ({blas.get('architecture')}), "
        f"{blas.get('num_threads')} threads; "
        + ", ".join(f"{k}={v}" if v is not None else f"{k} unset" for k, v in env["blas_env"].items()
                    if v is not None or k.startswith("OPENBLAS_") and k != "OPENBLAS_NUM_THREADS"),
        "",
        "| workload | contender | s/epoch (median) | min | x BLAS floor | lrcourse / this | MB | last epoch loss |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for workload, rows in results.items():
        by_name = {r["contender"]: r for r in rows}
        floor = by_name.get("BLAS floor")
        mine = by_name.get("lrcourse")
        for r in rows:
            x_floor = r["median_s"] / floor["median_s"] if floor else None
            vs_mine = mine["median_s"] / r["median_s"] if mine and r is not mine else None
            lines.append(f"| {workload} | {r['contender']} | {r['median_s']:.4f} | {r['min_s']:.4f} | "
                         f"{_fmt(x_floor, '.2f')} | {_fmt(vs_mine, '.2f')} | {_fmt(r['memory_mb'], '.1f')} | "
                         f"{_fmt(r['last_epoch_loss'], '.4f')} |")
    if range_test is not None:
        lines += ["", f"Range test (num_iter=100, digits, batch 32): {range_test['median_s']:.3f} s median "
                      f"({range_test['points']} of {range_test['num_iter']} points before the sweep stopped)."]
    lines += ["", "| target | measured | limit | met |", "|---|---:|---:|---|"]
    for t in targets:
        lines.append(f"| {t['target']} | {t['measured']:.3f} | {t['comparison']} {t['limit']:g} | "
                     f"{'yes' if t['met'] else 'NO'} |")
    if "torch" not in env:
        lines += ["", "PyTorch skipped: " + ("left out with --no-torch." if no_torch else
                                             "torch is not installed (`pip install -e '.[torch]'` adds it).")]
    lines += ["", f"Peak resident memory of the whole benchmark process: {_fmt(peak_mb, '.0f')} MB."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs per contender (default 7)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit BLAS/OpenMP/torch threads (e.g. 1, like a Binder session); default: as set up")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if installed")
    parser.add_argument("--no-range-test", action="store_true", help="skip timing the range test")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json",
                        help="where to write the JSON results")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    for name in names:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")

    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be >= 1, got {args.threads}")
        # threadpoolctl limits only the libraries already loaded: load scikit-learn's (and through
        # it SciPy's BLAS and OpenMP) first, so that no contender runs with more threads.
        import sklearn.neural_network  # noqa: F401

        threadpool_limits(limits=args.threads)
    contender_classes = [BlasFloor, LrcourseFit, NumpyLoop, NumpyInPlace, SklearnMLP]
    if not args.no_torch and torch_available():
        contender_classes.append(TorchMLP)
        if args.threads is not None:
            import torch

            torch.set_num_threads(args.threads)
    elif not args.no_torch:
        print("torch is not installed: the PyTorch column is skipped.", file=sys.stderr)
    env = environment()
    if args.no_torch:
        env.pop("torch", None)

    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # sklearn's float32 notes, torch's first-use notes
        for name in names:
            workload = make_workload(name)
            print(f"{name}: {workload.description} ...", file=sys.stderr, flush=True)
            results[name] = run_workload(workload, contender_classes, args.repeats)
    range_test = None if args.no_range_test else time_range_test(args.repeats)
    targets = check_targets(results, range_test)
    peak_mb = process_peak_mb()
    print(format_report(env, results, range_test, targets, peak_mb, args.no_torch))

    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {"environment": env, "repeats": args.repeats, "lr": LR, "results": results,
              "range_test": range_test, "targets": targets, "process_peak_rss_mb": peak_mb,
              "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}",
          file=sys.stderr)
    return 0 if all(t["met"] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
