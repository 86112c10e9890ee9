"""How much LivePlot slows a digits run, measured in a real Jupyter kernel.

    python benchmarks/liveplot.py                    # 20, 100 and 300 epochs, 5 repeats
    python benchmarks/liveplot.py --epochs 300 -r 9

Goal: less than 10 % on a run worth watching. The run is the lessons' network, ``mlp([64, 64, 10])``,
plain SGD at lr 0.1, batches of 32 (34 updates per epoch), with validation data. In one kernel
(nbclient), for each length, runs without and with ``LivePlot()`` (default settings) alternate, so
that a change in the machine's load hits both alike; the medians are compared. The kernel's
display messages are sent for real, so the cost of showing each picture is included.

LivePlot's cost is a fixed part (the last frame, always drawn, and the first, which builds the
figure) plus at most ``max_overhead`` (3 %) of the run for the frames in between, plus recording
each update; so the overhead falls with the length of the run. Wall times on a shared machine are
noisy (runs of the same length move by 10-30 % from one to the next), so three measures are given:
the medians, the minima (the least disturbed runs), and the time spent inside LivePlot's own hooks
(recording and drawing, timed in the kernel), as a share of the plain run: that one is not
blurred by the noise of the training around it.
"""

import argparse
import json
import os
import platform
import sys

import nbformat
from nbclient import NotebookClient

KERNEL_CODE = """
import json, time
import numpy as np
import lrcourse
import matplotlib.pyplot  # as in every lesson: the import is not LivePlot's cost
(X, y), validation, _ = lrcourse.data.digits(rng=0)

class TimedLivePlot(lrcourse.LivePlot):
    # LivePlot, with the time spent in its hooks added up (what it costs the run, noise aside).

    inside = 0.0

    def _timed(hook):
        def timed(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return hook(self, *args, **kwargs)
            finally:
                TimedLivePlot.inside += time.perf_counter() - start
        return timed

    on_train_begin = _timed(lrcourse.LivePlot.on_train_begin)
    on_batch_end = _timed(lrcourse.LivePlot.on_batch_end)
    on_epoch_end = _timed(lrcourse.LivePlot.on_epoch_end)
    on_train_end = _timed(lrcourse.LivePlot.on_train_end)


def one_run(epochs, live):
    model = lrcourse.mlp([64, 64, 10], rng=0)
    callbacks = [TimedLivePlot()] if live else []
    TimedLivePlot.inside = 0.0
    start, start_cpu = time.perf_counter(), time.process_time()
    lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=0.1), X, y,
                 epochs=epochs, validation_data=validation, rng=0, callbacks=callbacks)
    return (time.perf_counter() - start, time.process_time() - start_cpu,
            callbacks[0].frames if live else 0, TimedLivePlot.inside)

one_run(2, True)  # warm up: imports, fonts
results = {}
for epochs in EPOCHS:
    plain, live, plain_cpu, live_cpu, frames, inside = [], [], [], [], [], []
    for repeat in range(REPEATS):
        for with_plot in ((False, True) if repeat % 2 == 0 else (True, False)):
            seconds, cpu, shown, in_hooks = one_run(epochs, with_plot)
            (live if with_plot else plain).append(seconds)
            (live_cpu if with_plot else plain_cpu).append(cpu)
            if with_plot:
                frames.append(shown)
                inside.append(in_hooks)
    results[epochs] = {"plain_s": float(np.median(plain)), "live_s": float(np.median(live)),
                       "plain_min": min(plain), "live_min": min(live), "inside_s": float(np.median(inside)),
                       "plain_cpu": float(np.median(plain_cpu)), "live_cpu": float(np.median(live_cpu)),
                       "frames": int(np.median(frames)), "plain_all": plain, "live_all": live}
print("RESULTS " + json.dumps(results))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[20, 100, 300])
    parser.add_argument("-r", "--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    code = f"EPOCHS = {args.epochs!r}\nREPEATS = {args.repeats}\n" + KERNEL_CODE
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=3600, kernel_name="python3").execute()
    text = "".join(out.get("text", "") for out in nb.cells[0].outputs if out.get("output_type") == "stream")
    results = json.loads(text.split("RESULTS ", 1)[1])
    print(f"LivePlot overhead on a digits run (mlp([64, 64, 10]), batch 32), median of {args.repeats}, "
          f"{platform.processor() or platform.machine()}, load average {os.getloadavg()[0]:.1f}")
    print("| epochs | updates | wall without (s) | wall with (s) | overhead (medians) | overhead (minima) "
          "| inside LivePlot (s) | inside / run | CPU overhead | frames |\n|---|---|---|---|---|---|---|---|---|---|")
    for epochs, r in results.items():
        overhead = r["live_s"] / r["plain_s"] - 1
        overhead_min = r["live_min"] / r["plain_min"] - 1
        cpu_overhead = r["live_cpu"] / r["plain_cpu"] - 1
        print(f"| {epochs} | {int(epochs) * 34} | {r['plain_s']:.2f} | {r['live_s']:.2f} | {overhead:+.1%} "
              f"| {overhead_min:+.1%} | {r['inside_s']:.3f} | {r['inside_s'] / r['plain_s']:.1%} "
              f"| {cpu_overhead:+.1%} | {r['frames']} |")
    print("\nEvery run (s), without / with:")
    for epochs, r in results.items():
        print(f"  {epochs:>5}: {[round(s, 2) for s in r['plain_all']]} / {[round(s, 2) for s in r['live_all']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
