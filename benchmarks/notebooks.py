"""Run every lesson notebook in a fresh kernel and report its wall time and peak memory.

    python benchmarks/notebooks.py                  # notebooks/[0-9][0-9]_*.ipynb
    python benchmarks/notebooks.py --solutions      # also exercises/solutions/*.ipynb
    python benchmarks/notebooks.py 04 06            # only the notebooks whose names start so

Targets, per notebook on this machine: under 60 s and under 1 GB.

Each notebook runs in its own child process (``python benchmarks/notebooks.py --one PATH``), which
starts a new kernel with nbclient, executes all cells in memory (the file is not changed) and
measures:

- **time**: wall time from the first cell to the end of the last one (kernel start-up excluded,
  it is reported separately);
- **kernel peak**: the peak resident set size of the kernel process as the Linux kernel counts it
  (``VmHWM`` in ``/proc/<pid>/status``, read after the last cell, before the kernel shuts down):
  exact, whatever the notebook does between samples;
- **tree peak**: the largest sum of resident sizes of the kernel and all its child processes
  (e.g. joblib workers), polled with psutil every 50 ms; shared pages count once per process, so
  it errs high. The 1 GB target applies to this larger of the two.

The table is printed as markdown and written, with the environment, to
``benchmarks/results/notebooks.json``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = "notebooks/[0-9][0-9]_*.ipynb"
SOLUTIONS = "exercises/solutions/*.ipynb"
KERNEL = "python3"
TIME_TARGET_S = 60.0
MEMORY_TARGET_MB = 1024.0
CELL_TIMEOUT_S = 600  # a cell slower than this counts as failed (far beyond the target anyway)


# --------------------------------------------------------------------------------------------------
# Child: execute one notebook and measure it


def _vmhwm_mb(pid):
    """Peak resident set size of process ``pid`` in MB (Linux), or None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class TreeMemoryPoller(threading.Thread):
    """Poll the resident size of a process and its descendants; keep the largest sum seen."""

    def __init__(self, pid, interval_s=0.05):
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self.max_children = 0
        self._stop_event = threading.Event()

    def sample(self):
        import psutil

        try:
            processes = [self.process] + self.process.children(recursive=True)
        except psutil.Error:
            return
        total = 0
        for proc in processes:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass  # a worker that just ended
        self.peak_mb = max(self.peak_mb, total / 2**20)
        self.max_children = max(self.max_children, len(processes) - 1)

    def run(self):
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval_s)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.sample()


def run_one(path):
    """Execute the notebook at ``path`` in a new kernel; return a dict of measurements."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    # The kernel imports lrcourse from this checkout, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    result = {"notebook": str(path.relative_to(ROOT)), "error": None, "seconds": None,
              "kernel_peak_mb": None, "tree_peak_mb": None,
              "code_cells": sum(cell.cell_type == "code" for cell in nb.cells)}
    state = {"launched": time.perf_counter(), "poller": None}

    def on_notebook_start(**_):  # the kernel is up and answering
        state["pid"] = client.km.provisioner.process.pid
        state["poller"] = TreeMemoryPoller(state["pid"])
        state["poller"].start()
        state["first_cell"] = time.perf_counter()
        result["kernel_start_s"] = state["first_cell"] - state["launched"]

    def on_cell_executed(**_):
        # VmHWM only grows, so its value after the last cell is the notebook's peak.
        result["seconds"] = time.perf_counter() - state["first_cell"]
        result["kernel_peak_mb"] = _vmhwm_mb(state["pid"])

    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(path.parent)}},
                            on_notebook_start=on_notebook_start, on_cell_executed=on_cell_executed)
    try:
        # The kernel's own stderr is start-up chatter, not cell output.
        client.execute(env=env, stderr=subprocess.DEVNULL)
    except Exception as err:  # noqa: BLE001 - a failing notebook is reported, not raised
        lines = str(err).strip().splitlines()
        result["error"] = f"{type(err).__name__}: {lines[-1] if lines else ''}"
    finally:
        if state["poller"] is not None:
            state["poller"].stop()
            result["tree_peak_mb"] = state["poller"].peak_mb
            result["max_child_processes"] = state["poller"].max_children
    return result


# --------------------------------------------------------------------------------------------------
# Parent: one child process per notebook, then the report


def find_notebooks(include_solutions, names):
    paths = sorted(ROOT.glob(LESSONS))
    if include_solutions:
        paths += sorted(ROOT.glob(SOLUTIONS))
    if names:
        paths = [p for p in paths if any(p.stem.startswith(Path(name).stem) for name in names)]
    return paths


def measure(path, timeout_s):
    """Run ``path`` in a child process; a crash or a timeout becomes an error entry."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--one", str(path), "--result", str(out)]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"notebook": str(path.relative_to(ROOT)), "error": f"timed out after {timeout_s:.0f} s"}
        if completed.returncode != 0 or not out.exists():
            tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            return {"notebook": str(path.relative_to(ROOT)), "error": f"runner failed: {tail}"}
        return json.loads(out.read_text())


def verdict(result):
    if result.get("error"):
        return "ERROR"
    memory = max(result.get("tree_peak_mb") or 0, result.get("kernel_peak_mb") or 0)
    missed = []
    if result["seconds"] >= TIME_TARGET_S:
        missed.append("time")
    if memory >= MEMORY_TARGET_MB:
        missed.append("memory")
    return "ok" if not missed else "over " + " and ".join(missed)


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def format_report(results):
    lines = [
        f"Targets per notebook: < {TIME_TARGET_S:.0f} s and < {MEMORY_TARGET_MB:.0f} MB. "
        "Time: first cell to last; kernel peak: VmHWM of the kernel process; "
        "tree peak: kernel + child processes, polled every 50 ms.",
        "",
        "| notebook | code cells | time (s) | kernel start (s) | kernel peak (MB) | tree peak (MB) | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(f"| {r['notebook']} | {r.get('code_cells', '-')} | {_fmt(r.get('seconds'), '.1f')} | "
                     f"{_fmt(r.get('kernel_start_s'), '.1f')} | {_fmt(r.get('kernel_peak_mb'), '.0f')} | "
                     f"{_fmt(r.get('tree_peak_mb'), '.0f')} | {r['verdict']} |")
    timed = [r for r in results if r.get("seconds") is not None]
    if timed:
        lines += ["", f"Total: {sum(r['seconds'] for r in timed):.1f} s over {len(timed)} notebooks; "
                      f"slowest {max(r['seconds'] for r in timed):.1f} s; largest peak "
                      f"{max(max(r.get('tree_peak_mb') or 0, r.get('kernel_peak_mb') or 0) for r in timed):.0f} MB."]
    errors = [r for r in results if r.get("error")]
    for r in errors:
        lines.append(f"- {r['notebook']}: {r['error']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only notebooks whose file name starts with one of these")
    parser.add_argument("--solutions", action="store_true", help=f"also run {SOLUTIONS}")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per notebook (default 900)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "notebooks.json")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one is not None:
        args.result.write_text(json.dumps(run_one(args.one.resolve())))
        return 0

    paths = find_notebooks(args.solutions, args.names)
    if not paths:
        parser.error(f"no notebook found ({LESSONS}{' and ' + SOLUTIONS if args.solutions else ''}"
                     f"{', names ' + ' '.join(args.names) if args.names else ''})")
    results = []
    for path in paths:
        print(f"{path.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
        result = measure(path, args.timeout)
        result["verdict"] = verdict(result)
        results.append(result)
        print(f"    {_fmt(result.get('seconds'), '.1f')} s, {_fmt(result.get('kernel_peak_mb'), '.0f')} MB kernel, "
              f"{_fmt(result.get('tree_peak_mb'), '.0f')} MB tree: {result['verdict']}", file=sys.stderr, flush=True)
    print(format_report(results))

    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {"python": platform.python_version(), "cpus": os.cpu_count(), "time_target_s": TIME_TARGET_S,
              "memory_target_mb": MEMORY_TARGET_MB, "notebooks": results,
              "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(r["verdict"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
