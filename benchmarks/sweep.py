"""Speed of lrcourse.sweep: serial, on worker processes, and on a Dask LocalCluster.

    python benchmarks/sweep.py            # 3 repeats
    python benchmarks/sweep.py -r 5

1. A 40-point digits sweep (8 learning rates x 5 seeds, ``mlp([64, 64, 10])``, 20 epochs of plain SGD
   each, batch 32): serial (``n_jobs=1``) against ``n_jobs=2``. The time of ``n_jobs=2`` includes
   starting the worker processes, as a learner's first sweep does (joblib keeps them for the next
   sweep, so later sweeps start faster: both figures are shown). Beside them, the machine's own
   ceiling: the same 40 points split in two halves, run at once by two independent Python
   processes without joblib (on a VM whose two cores slow each other down, that is below 2x).
2. Overhead per point on a ``distributed.LocalCluster`` (2 worker processes, 1 thread each): a sweep
   of 200 points that return at once, so that all the time is scheduling, sending the function and
   the results; the same on joblib's own processes for comparison. The cluster's start-up is
   reported apart.

Each figure is the median of the repeats. On a machine that others share, timings move a lot: the
load average is printed with them, and the CPU time of each worker (psutil) beside the wall times.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import lrcourse
from lrcourse.sweep import sweep

LRS = list(np.round(np.geomspace(0.003, 1.0, 8), 4))
SEEDS = list(range(5))
EPOCHS = 20


def make_train():
    """The training function, built in a closure so that workers receive it by value, with the data
    (loaded once here: loading it in the function would import scikit-learn in every new worker)."""
    (X, y), validation, _ = lrcourse.data.digits(rng=0)

    def train(lr, seed):
        model = lrcourse.mlp([64, 64, 10], rng=seed)
        return lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=lr),
                            X, y, epochs=EPOCHS, validation_data=validation, rng=seed)

    return train


def run_part(part, parts):
    """Run every ``parts``-th point of the grid, from ``part``, serially in this process; the seconds."""
    train = make_train()
    points = [(lr, seed) for lr in LRS for seed in SEEDS][part::parts]
    start = time.perf_counter()
    for lr, seed in points:
        train(lr, seed)
    return time.perf_counter() - start


def two_processes():
    """Wall time of the two halves of the grid run at once by two independent processes (the slower)."""
    children = [subprocess.Popen([sys.executable, __file__, "--part", str(part), "2"], stdout=subprocess.PIPE,
                                 text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
                for part in range(2)]
    return max(float(child.communicate()[0].split()[-1]) for child in children)


def nothing(i):
    return {"done": 1}


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def cpu_seconds():
    """CPU seconds (user + system) used so far by this process and each of its children, by pid."""
    import psutil

    me = psutil.Process()
    seconds = {}
    for process in [me] + me.children(recursive=True):
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--repeats", type=int, default=3)
    parser.add_argument("--part", type=int, nargs=2, metavar=("K", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:  # a child of two_processes()
        print(f"{run_part(*args.part):.4f}")
        return 0
    import joblib
    from distributed import Client, LocalCluster

    train = make_train()
    grid = {"lr": LRS, "seed": SEEDS}
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    serial, cold, warm, serial_cpu, worker_cpu, ceiling = [], [], [], [], [], []
    for _ in range(args.repeats):
        # A fresh pool for the "first sweep" figure, then the same pool again.
        from joblib.externals.loky import get_reusable_executor
        get_reusable_executor().shutdown(wait=True)
        before = time.process_time()
        seconds, reference = timed(lambda: sweep(train, grid=grid, n_jobs=1, progress=False))
        serial.append(seconds)
        serial_cpu.append(time.process_time() - before)
        seconds, parallel = timed(lambda: sweep(train, grid=grid, n_jobs=2, progress=False))
        cold.append(seconds)
        assert parallel.rows == reference.rows, "n_jobs=2 gave another table"
        before = cpu_seconds()
        warm.append(timed(lambda: sweep(train, grid=grid, n_jobs=2, progress=False))[0])
        after = cpu_seconds()
        worker_cpu.append(sorted(after[pid] - before[pid] for pid in after
                                 if pid in before and pid != os.getpid()))
        ceiling.append(two_processes())
    median = statistics.median

    def speed_up(times, baseline=serial):
        """Median of the paired ratios baseline / times, repeat by repeat (the load moves both alike)."""
        return median(s / t for s, t in zip(baseline, times))

    print(f"\n40-point digits sweep ({len(LRS)} rates x {len(SEEDS)} seeds, {EPOCHS} epochs each), "
          f"median of {args.repeats}:")
    print(f"  serial (n_jobs=1):               {median(serial):6.2f} s  {[round(s, 2) for s in serial]}")
    print(f"  n_jobs=2, new worker processes:  {median(cold):6.2f} s  speed-up {speed_up(cold):.2f}x  "
          f"{[round(s, 2) for s in cold]}")
    print(f"  n_jobs=2, workers already there: {median(warm):6.2f} s  speed-up {speed_up(warm):.2f}x  "
          f"{[round(s, 2) for s in warm]}")

    print(f"  two independent processes, half the points each (the ceiling): {median(ceiling):6.2f} s  "
          f"speed-up {speed_up(ceiling):.2f}x  {[round(s, 2) for s in ceiling]}")
    busy = [[round(c, 2) for c in workers if c > 0.05] for workers in worker_cpu]
    print(f"  CPU time: serial {median(serial_cpu):.2f} s; n_jobs=2 (workers already there), per busy worker "
          f"{busy} s")

    points = 200
    loky_overhead = []
    for _ in range(args.repeats):
        sweep(nothing, i=range(4), n_jobs=2, progress=False)  # workers up
        loky_overhead.append(timed(lambda: sweep(nothing, i=range(points), n_jobs=2, progress=False))[0] / points)
    start_up, dask_overhead, dask_sweep, dask_serial = [], [], [], []
    for _ in range(args.repeats):
        seconds, cluster = timed(lambda: LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                      dashboard_address=None))
        start_up.append(seconds)
        with cluster, Client(cluster):
            sweep(nothing, i=range(4), backend="dask", progress=False)  # workers have imported lrcourse
            dask_overhead.append(
                timed(lambda: sweep(nothing, i=range(points), backend="dask", progress=False))[0] / points)
            with joblib.parallel_config(backend="dask"):
                seconds, on_cluster = timed(lambda: sweep(train, grid=grid, progress=False))
            dask_sweep.append(seconds)
            dask_serial.append(timed(lambda: sweep(train, grid=grid, n_jobs=1, progress=False))[0])
            assert on_cluster.rows == reference.rows, "the cluster gave another table"
    print(f"\nOverhead per point ({points} points that return at once), median of {args.repeats}:")
    print(f"  joblib processes (n_jobs=2):     {1000 * median(loky_overhead):6.1f} ms  "
          f"{[round(1000 * s, 1) for s in loky_overhead]}")
    print(f"  Dask LocalCluster (2 processes): {1000 * median(dask_overhead):6.1f} ms  "
          f"{[round(1000 * s, 1) for s in dask_overhead]}")
    print(f"  LocalCluster start-up:           {median(start_up):6.2f} s")
    print(f"  the 40-point digits sweep on it: {median(dask_sweep):6.2f} s  speed-up over serial "
          f"{speed_up(dask_sweep, dask_serial):.2f}x (a serial run after each)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
