"""Run one submission and collect its answers: ``python -m lrcourse.grading.runner BOX``.

The grader starts this inside the sandbox (:mod:`lrcourse.grading.sandbox`), with ``BOX`` the only
writable folder. ``BOX/task.json`` (written by the grader) holds the notebook's code cells, the
functions to call and their inputs (never the expected values), and the time limits. This process runs
the cells in a fresh Jupyter kernel (nbclient), every cell in order, errors allowed; then, in the same
kernel, code it sends calls the learner's functions and writes what came back to
``BOX/answers-KEY.jsonl`` (:mod:`lrcourse.grading.harvest`). What it saw (cells that raised, were
interrupted or killed the kernel) goes to ``BOX/result.json``. Nothing here judges: the grader reads
these files once the sandbox is gone and judges outside it, so a notebook that tampers with this
process can only spoil its own answers.

A cell that does not finish in time is interrupted; a cell that kills the kernel (or hangs it past an
interrupt) is left out and the notebook is run again in a fresh kernel, so the questions that can be
answered are. Output is capped per cell. The notebook's own cells get ``CELL_SHARE`` of the total time,
so some is left to answer the questions.
"""

import dataclasses
import inspect
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from . import harvest as harvest_module

PROBE_TIMEOUT = 5          # seconds for a kernel to answer again after an interrupt
MAX_KERNEL_STARTS = 5      # a notebook whose cells keep killing the kernel is not replayed forever
MAX_OUTPUT_CHARS = 100_000  # kept per cell; the rest of a huge print is dropped
CELL_SHARE = 0.8           # of the total time, for the notebook's own cells
_TIMEOUT_ENAME = "LrcourseGraderTimeout"


def _output_size(content):
    if "text" in content:
        return len(content["text"])
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in content.get("data", {}).values())


def _client_classes():
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbformat.v4 import new_output

    class PinnedKernelManager(AsyncKernelManager):
        """Always this Python's ipykernel: no kernel.json is looked up, so none written by a cell counts."""

        @property
        def kernel_spec(self):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="Python 3", language="python")

    class CappedClient(NotebookClient):
        """A NotebookClient that keeps at most ``max_output_chars`` of output per cell and remembers the
        execute reply of every cell (to tell a time-out from an ordinary error)."""

        def __init__(self, nb, max_output_chars, **kwargs):
            super().__init__(nb, kernel_manager_class=PinnedKernelManager, **kwargs)
            self.max_output_chars = max_output_chars
            self.output_used = {}
            self.replies = {}
            self.on_cell_executed = self._remember_reply

        def _remember_reply(self, cell, cell_index, execute_reply):
            self.replies[cell_index] = execute_reply

        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] != "error":
                used = self.output_used.get(cell_index, 0)
                size = _output_size(msg["content"])
                self.output_used[cell_index] = used + size
                if used + size > self.max_output_chars:
                    if used <= self.max_output_chars:
                        outs.append(new_output("stream", name="stderr", text="\n[output truncated by the grader]\n"))
                    return None
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


# Runs before the notebook: loads the harvest code with a private copy of the builtins and the notebook's
# namespace, under a name only this run knows, so that patching builtins or lrcourse later misses it.
_SETUP_CELL = """\
def _lrcourse_grader_setup():
    import builtins, sys, types
    module = types.ModuleType({key!r})
    module.__dict__["__builtins__"] = dict(builtins.__dict__)
    exec(compile({source!r}, "lrcourse-harvest", "exec"), module.__dict__)
    namespace = globals()
    module.run = lambda *args: module.harvest(namespace, *args)
    sys.modules[{key!r}] = module
_lrcourse_grader_setup()
del _lrcourse_grader_setup
"""
_HARVEST_CELL = """\
__import__("sys").modules[{key!r}].run({function!r}, {cases!r}, {answers!r}, {time_limit!r})
"""


@dataclasses.dataclass
class _Step:
    kind: str          # "setup", "cell" (the notebook's own) or "harvest" (calls for one question)
    index: int         # position in the working notebook
    label: str         # for notes: "cell 7", or the answers key ("q3", "q3-hidden")


def _first_line(source):
    line = next((l.strip() for l in source.splitlines() if l.strip()), "")
    return line if len(line) <= 50 else line[:47] + "..."


def _error_of(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = str(out.get("evalue", ""))
            value = value if len(value) <= 200 else value[:197] + "..."
            return f"{out.get('ename', 'Error')}: {value}" if value else out.get("ename", "Error")
    return None


class Run:
    """One notebook run with replays: ``steps`` in order, in as many fresh kernels as it takes."""

    def __init__(self, task, box):
        import nbformat
        from nbformat.v4 import new_code_cell, new_notebook

        self.box = Path(box)
        self.cell_timeout = float(task["cell_timeout"])
        self.total_timeout = float(task["total_timeout"])
        key = f"_lrcourse_grader_{secrets.token_hex(8)}"
        cells = [new_code_cell(_SETUP_CELL.format(key=key, source=inspect.getsource(harvest_module)))]
        self.steps = [_Step("setup", 0, "setup")]
        for number, text in task["cells"]:
            self.steps.append(_Step("cell", len(cells), f"cell {number}"))
            cells.append(new_code_cell(text))
        time_limit = float(min(task["call_timeout"], max(1, self.cell_timeout - 2)))
        for question in task["questions"]:
            cases_path = self.box / f"cases-{question['key']}.json"
            cases_path.write_text(json.dumps(question["cases"]))
            self.steps.append(_Step("harvest", len(cells), question["key"]))
            cells.append(new_code_cell(_HARVEST_CELL.format(
                key=key, function=question["function"], cases=str(cases_path),
                answers=str(self.box / f"answers-{question['key']}.jsonl"), time_limit=time_limit)))
        self.probe_index = len(cells)
        cells.append(new_code_cell("pass"))
        self.nb = new_notebook(cells=cells)
        self.nbformat = nbformat
        self.broken = {}          # step label -> why it is left out of later runs
        self.harvested = set()
        self.notes = {}           # step label -> latest note
        self.harvest_errors = {}  # answers key -> error the harvest code raised in the kernel
        self.truncated = []       # cells whose output was cut
        self.stopped = ""         # why the run could not finish, if it could not
        self.skipped = False      # whether cells were skipped for lack of time

    def execute(self):
        client_class = _client_classes()
        started = time.monotonic()
        self.deadline = started + self.total_timeout
        self.cells_deadline = started + CELL_SHARE * self.total_timeout
        for _ in range(MAX_KERNEL_STARTS):
            startup = max(1, min(60, int(self.deadline - time.monotonic())))
            client = client_class(self.nbformat.from_dict(self.nb), MAX_OUTPUT_CHARS,
                                  allow_errors=True, record_timing=False, interrupt_on_timeout=True,
                                  error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "", "traceback": []},
                                  shutdown_kernel="immediate", iopub_timeout=4, startup_timeout=startup)
            try:
                restart = self._run_steps(client)
            except Exception as exc:  # the kernel did not start, or nbclient failed in a way we do not know
                self.stopped = f"the kernel could not be run ({type(exc).__name__}: {exc})"
                return
            if not restart:
                return
            if not any(step.kind == "harvest" and step.label not in self.broken and step.label not in self.harvested
                       for step in self.steps):
                return  # every question has its answers (or its reason): nothing to run again for
            if time.monotonic() > self.deadline - 1:
                self.stopped = f"the notebook used up its {self.total_timeout:g} s before it could be run again"
                return
        self.stopped = f"the kernel stopped {MAX_KERNEL_STARTS} times"

    def _run_steps(self, client):
        """Run every step not yet done or left out; True when the kernel died or hung (run again)."""
        from nbclient.exceptions import DeadKernelError

        # The kernel's own stdout/stderr (not the cells' output) is only start-up chatter.
        with client.setup_kernel(cwd=str(self.box), env=dict(os.environ), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL):
            for step in self.steps:
                if step.label in self.broken or step.label in self.harvested:
                    continue
                remaining = (self.cells_deadline if step.kind == "cell" else self.deadline) - time.monotonic()
                if remaining < 1:
                    if step.kind == "cell":
                        self.notes[step.label] = f"{step.label} not run: the notebook used up its time"
                        self.skipped = True
                    else:
                        self.broken[step.label] = "was not run: the notebook used up its time"
                    continue
                timeout = max(1, int(min(self.cell_timeout, remaining)))
                cell = client.nb.cells[step.index]
                client.timeout = timeout
                try:
                    client.execute_cell(cell, step.index)
                except DeadKernelError:
                    self._leave_out(step, "killed the kernel")
                    return True
                reply = client.replies.get(step.index) or {}
                if reply.get("content", {}).get("ename") == _TIMEOUT_ENAME:
                    if not self._responsive(client):
                        self._leave_out(step, f"did not finish within {timeout} s and could not be interrupted")
                        return True
                    # Interrupted, the kernel lives on; a run again would only wait as long once more.
                    self.broken[step.label] = f"did not finish within {timeout} s"
                    if step.kind == "cell":
                        self.notes[step.label] = f"{step.label} did not finish within {timeout} s and was interrupted"
                    continue
                if client.output_used.get(step.index, 0) > MAX_OUTPUT_CHARS and step.kind == "cell":
                    self.truncated.append(step.label)
                self._record(step, client.nb.cells[step.index])
        return False

    def _responsive(self, client):
        from nbclient.exceptions import DeadKernelError

        client.timeout = PROBE_TIMEOUT
        try:
            client.execute_cell(client.nb.cells[self.probe_index], self.probe_index)
        except DeadKernelError:
            return False
        reply = client.replies.get(self.probe_index) or {}
        return reply.get("content", {}).get("ename") != _TIMEOUT_ENAME

    def _leave_out(self, step, what):
        self.broken[step.label] = what
        if step.kind == "cell":
            source = self.nb.cells[step.index].source
            self.notes[step.label] = (f"{step.label} ({_first_line(source)}) {what}; it was left out and the "
                                      f"notebook run again in a fresh kernel")

    def _record(self, step, cell):
        error = _error_of(cell)
        if step.kind == "harvest":
            self.harvested.add(step.label)
            if error:
                self.harvest_errors[step.label] = error
        elif error and step.kind == "setup":
            self.notes[step.label] = f"the grading code could not be set up in the kernel: {error}"
        elif error:
            self.notes[step.label] = f"{step.label} ({_first_line(self.nb.cells[step.index].source)}) raised {error}"
        else:
            self.notes.pop(step.label, None)

    def result(self):
        """What the grader needs besides the answers, as JSON-ready data."""
        return {"notes": [note for step in self.steps if (note := self.notes.get(step.label))],
                "truncated": self.truncated, "broken": self.broken, "harvest_errors": self.harvest_errors,
                "stopped": self.stopped, "skipped": self.skipped}


def main(argv=None):
    box = Path((argv or sys.argv[1:])[0])
    task = json.loads((box / "task.json").read_text(encoding="utf-8"))
    run = Run(task, box)
    run.execute()
    # Written whole and renamed, so the grader never reads half a file.
    (box / "result.json.tmp").write_text(json.dumps(run.result()), encoding="utf-8")
    os.replace(box / "result.json.tmp", box / "result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
