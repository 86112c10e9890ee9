"""Which lesson cells keep a learner waiting, and do they show progress while they run?

    python benchmarks/slow_cells.py                 # every lesson, cells over 3 s
    python benchmarks/slow_cells.py 04 07 -t 2      # lessons 04 and 07, cells over 2 s

Each notebook runs in a fresh kernel (nbclient, in memory: the file is not changed) with the same
one-thread BLAS as the tests. A cell's time is from the kernel starting it to its reply. A cell
"shows progress" when it displays a progress bar (tqdm, as a widget or as text) or a LivePlot
figure: something that moves while the learner waits. The goal: no silent cell longer than a few
seconds (Binder is slower than a laptop: count on about twice these times there).
"""

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
WIDGET = "application/vnd.jupyter.widget-view+json"


def cell_seconds(cell):
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def shows_progress(cell):
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if WIDGET in data:  # tqdm.auto in a kernel draws an ipywidgets bar
            return True
        if "LivePlot" in cell.source and "image/png" in data:
            return True
        if out.get("output_type") == "stream" and "%|" in out.get("text", ""):  # a text tqdm bar
            return True
    return False


def run(path, timeout=600):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   record_timing=True).execute()
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose names start so (e.g. 04)")
    parser.add_argument("-t", "--threshold", type=float, default=3.0, help="seconds (default 3)")
    args = parser.parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")  # the kernel inherits them, as under `make test`
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.prefixes:
        paths = [p for p in paths if p.name.startswith(tuple(args.prefixes))]
    print("| notebook | cell | seconds | shows progress | first line |\n|---|---|---|---|---|")
    for path in paths:
        nb = run(path)
        total = 0.0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            seconds = cell_seconds(cell) or 0.0
            total += seconds
            if seconds >= args.threshold:
                first = next((line for line in cell.source.splitlines() if line.strip()
                              and not line.startswith("#")), "")
                print(f"| {path.stem} | {index} | {seconds:.1f} | {'yes' if shows_progress(cell) else 'NO'} "
                      f"| `{first.strip()[:70]}` |", flush=True)
        print(f"| {path.stem} | all | {total:.1f} | | |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
