"""What the grader's sandbox costs: wall time to grade one notebook and a batch, sandbox on and off,
and to start one process in a sandbox.

    python benchmarks/grading.py                    # 1 notebook and a batch of 20, --jobs 2, 3 repeats
    python benchmarks/grading.py --batch 20 --jobs 2 --repeats 3 --json benchmarks/results/grading.json

The notebooks are the solution notebooks (every one gets full marks), repeated to fill the batch. Each
configuration is run ``--repeats`` times, sandbox on and off in turn (which one goes first alternates),
and the median is reported with the range, so that a busy machine shows as a wide range rather than
as a difference.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lrcourse.grading import grader, sandbox  # noqa: E402

SOLUTIONS = ROOT / "exercises" / "solutions"


def batch_of(folder, size):
    """``size`` copies of the solution notebooks, named so the grader knows their exercise."""
    sources = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    paths = []
    for i in range(size):
        source = sources[i % len(sources)]
        path = Path(folder) / f"student{i:03d}_{source.name}"
        shutil.copy(source, path)
        paths.append(path)
    return paths


def timed(paths, jobs, sandboxed):
    started = time.perf_counter()
    reports = grader.grade_paths(paths, jobs=jobs, sandboxed=sandboxed)
    seconds = time.perf_counter() - started
    if not all(r.full_marks for r in reports):
        bad = next(r for r in reports if not r.full_marks)
        raise SystemExit(f"{bad.path} did not get full marks: {grader.format_report(bad)}")
    return seconds


def start_cost(repeats):
    """Seconds to start and end ``python -c 'import numpy'``, in a sandbox and not (same limits)."""
    limits = sandbox.Limits(cpu_seconds=60)
    times = {True: [], False: []}
    for _ in range(repeats):
        for sandboxed in (True, False):
            with tempfile.TemporaryDirectory(prefix="lrcourse-bench-") as folder:
                box = Path(folder) / "box"
                box.mkdir()
                started = time.perf_counter()
                process = sandbox.start(box, [sys.executable, "-c", "import numpy"], sandboxed=sandboxed,
                                        limits=limits, stdout=subprocess.DEVNULL)
                if process.wait() != 0:
                    raise SystemExit(f"python -c 'import numpy' failed (sandboxed={sandboxed})")
                times[sandboxed].append(time.perf_counter() - started)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    args = parser.parse_args(argv)
    why = sandbox.probe()
    if why:
        raise SystemExit(f"no sandbox here ({why}): nothing to compare")
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_before": os.getloadavg()}, "runs": {}}
    for sandboxed, times in start_cost(10 * args.repeats).items():
        results["runs"][f"start python + numpy, sandbox {'on' if sandboxed else 'off'}"] = times
    with tempfile.TemporaryDirectory() as folder:
        paths = batch_of(folder, args.batch)
        configs = [("one notebook", paths[4:5], 1), (f"{args.batch} notebooks, --jobs {args.jobs}", paths, args.jobs)]
        for label, chosen, jobs in configs:
            for repeat in range(args.repeats):
                # Alternate which goes first, so that a load that changes over time favours neither.
                for sandboxed in ((True, False) if repeat % 2 == 0 else (False, True)):
                    key = f"{label}, sandbox {'on' if sandboxed else 'off'}"
                    results["runs"].setdefault(key, []).append(timed(chosen, jobs, sandboxed))
    results["machine"]["load_after"] = os.getloadavg()
    print(f"{'configuration':<40} {'median s':>9} {'min s':>7} {'max s':>7}")
    for key, times in results["runs"].items():
        print(f"{key:<40} {statistics.median(times):9.1f} {min(times):7.1f} {max(times):7.1f}")
    print(f"load average before {results['machine']['load_before'][0]:.1f}, "
          f"after {results['machine']['load_after'][0]:.1f} ({results['machine']['cpus']} CPUs)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
