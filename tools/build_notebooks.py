"""Build the lesson notebooks from their plain-text sources, or check that they are up to date.

Each lesson is written as ``notebooks/NN_name.py`` (jupytext "py:percent": ``# %%`` starts a code
cell, ``# %% [markdown]`` a Markdown cell). That file is the source of truth; the ``.ipynb`` beside
it is generated, executed and committed so that the lesson reads well with its outputs on GitHub.

    python tools/build_notebooks.py                 # build and execute every lesson
    python tools/build_notebooks.py 04 05           # only the lessons whose names start so
    python tools/build_notebooks.py --no-execute    # cells only, no outputs (a draft; --check rejects it)
    python tools/build_notebooks.py --check         # CI: is every committed notebook current?

The written notebook is deterministic: cell ids come from the cell index (``cell-00``), the
notebook metadata is reduced to the kernelspec and language, per-cell execution timestamps are
dropped and ipywidgets model ids are renumbered. Rebuilding therefore gives the same cell sources
and, since the lessons are seeded, the same text outputs.

``--check`` executes nothing (it takes a second): it fails, naming the notebook, when a committed
notebook's cells differ from its source, when a source has no notebook or a notebook no source, or
when a code cell was not executed or shows an error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCE_FORMAT = "py:percent"
PATTERN = "[0-9][0-9]_*"
KERNEL = "python3"
CELL_TIMEOUT_S = 120

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL}
# language_info without the Python version, which differs between machines.
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CELL_METADATA_KEPT = ("tags",)  # e.g. nbval-ignore-output; everything else is volatile or noise
# tqdm's notebook bar keeps "n/total [elapsed<remaining, rate]" in an HTML widget; the part in
# brackets is a timing, different on every run, so the saved widget state keeps "n/total" only.
TQDM_TIMING = re.compile(r"^(.*\d+/\d+)[\s\u2007]*\[\d+:\d+(?::\d+)?(?:&lt;|<)[^\]]*\]$", re.DOTALL)
# Fixed namespace so renumbered widget model ids are the same on every build.
WIDGET_ID_NAMESPACE = uuid.UUID("6b9e2f0c-1d7a-4c55-9a43-2f1e8d3b7c10")


# ---------------------------------------------------------------------------------------------
# Finding lessons
# ---------------------------------------------------------------------------------------------


def select(paths, names):
    """The paths whose stem starts with one of ``names`` (``"04"``, ``"04_fixed"``, a path)."""
    if not names:
        return list(paths)
    wanted = [Path(name).stem for name in names]
    chosen = [p for p in paths if any(p.stem.startswith(w) for w in wanted)]
    unmatched = [n for n, w in zip(names, wanted) if not any(p.stem.startswith(w) for p in paths)]
    if unmatched:
        known = ", ".join(p.stem for p in paths) or "none"
        raise SystemExit(f"no lesson matches {', '.join(unmatched)} (lessons: {known})")
    return chosen


def sources(directory=NOTEBOOKS, names=None):
    """The lesson sources ``NN_*.py`` in ``directory``, sorted, optionally filtered by ``names``."""
    return select(sorted(Path(directory).glob(PATTERN + ".py")), names)


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def read_source(path):
    """The notebook (cells only, no outputs) described by the py:percent source ``path``."""
    return jupytext.read(path, fmt=SOURCE_FORMAT)


def normalize(nb, name):
    """The notebook made deterministic: cell ids, metadata, progress-bar timings, widget model ids."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    widget_state = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    nb.metadata = nbformat.NotebookNode(kernelspec=dict(KERNELSPEC), language_info=dict(LANGUAGE_INFO))
    if widget_state and widget_state.get("state"):
        for model in widget_state["state"].values():
            state = model.get("state", {})
            if model.get("model_name") == "HTMLModel" and isinstance(state.get("value"), str):
                state["value"] = TQDM_TIMING.sub(r"\1", state["value"])
        nb.metadata["widgets"] = {WIDGET_STATE: widget_state}
    width = max(2, len(str(len(nb.cells) - 1)))
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:0{width}d}"
        cell.metadata = nbformat.NotebookNode(
            {key: cell.metadata[key] for key in CELL_METADATA_KEPT if key in cell.metadata}
        )
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)
    return renumber_widgets(nb, name)


def renumber_widgets(nb, name):
    """Replace ipywidgets' random model ids by ids derived from ``name`` and creation order."""
    text = json.dumps(nb)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    ids = list(state)  # creation order, the same on every run of seeded code
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view and view.get("model_id") and view["model_id"] not in ids:
                ids.append(view["model_id"])
    for index, old in enumerate(ids):
        text = text.replace(old, uuid.uuid5(WIDGET_ID_NAMESPACE, f"{name}:{index}").hex)
    return nbformat.from_dict(json.loads(text))


def build(source, execute=True):
    """Write ``source``'s notebook beside it (executed unless ``execute`` is False). Returns its path."""
    source = Path(source)
    nb = read_source(source)
    if execute:
        client = NotebookClient(
            nb,
            timeout=CELL_TIMEOUT_S,
            kernel_name=KERNEL,
            record_timing=False,
            coalesce_streams=True,  # one stdout output per cell, however the prints were flushed
            resources={"metadata": {"path": str(source.parent)}},
        )
        client.execute()
    nb = normalize(nb, source.stem)
    nbformat.validate(nb)
    target = source.with_suffix(".ipynb")
    nbformat.write(nb, target)
    return target


# ---------------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------------


def cell_signature(cell):
    return cell.cell_type, cell.source, tuple(cell.metadata.get("tags", ()))


def check_notebook(source, notebook):
    """Problems (strings) with the committed ``notebook`` built from ``source``; [] if none."""
    nb = nbformat.read(notebook, as_version=4)
    expected = [cell_signature(c) for c in read_source(source).cells]
    found = [cell_signature(c) for c in nb.cells]
    problems = []
    if expected != found:
        first = next(
            (i for i, (e, f) in enumerate(zip(expected, found)) if e != f), min(len(expected), len(found))
        )
        problems.append(
            f"{notebook.name} is out of date with {source.name} (first difference at cell {first}; "
            f"{len(expected)} cells in the source, {len(found)} in the notebook)"
        )
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.get("execution_count") is None:
            problems.append(f"{notebook.name}: code cell {index} was not executed")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(
                    f"{notebook.name}: code cell {index} shows an error: "
                    f"{output.get('ename')}: {output.get('evalue')}"
                )
    return problems


def check_notebooks(directory=NOTEBOOKS, names=None):
    """Problems with every lesson in ``directory`` (or those matching ``names``); [] if none."""
    directory = Path(directory)
    py = {p.stem: p for p in directory.glob(PATTERN + ".py")}
    ipynb = {p.stem: p for p in directory.glob(PATTERN + ".ipynb")}
    stems = [p.stem for p in select([directory / s for s in sorted(py.keys() | ipynb.keys())], names)]
    problems = []
    for stem in stems:
        if stem not in ipynb:
            problems.append(f"{stem}.py has no notebook {stem}.ipynb: run `make notebooks`")
        elif stem not in py:
            problems.append(f"{stem}.ipynb has no source {stem}.py: add it or delete the notebook")
        else:
            problems.extend(check_notebook(py[stem], ipynb[stem]))
    return problems


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="lessons to build, e.g. 04 or 04_fixed_learning_rate")
    parser.add_argument("--check", action="store_true", help="check the committed notebooks, build nothing")
    parser.add_argument("--no-execute", action="store_true", help="write cells without running them")
    parser.add_argument("--dir", type=Path, default=NOTEBOOKS, help="lesson folder (default: notebooks/)")
    args = parser.parse_args(argv)

    if args.check:
        problems = check_notebooks(args.dir, names=args.names)
        for problem in problems:
            print(f"build_notebooks --check: {problem}", file=sys.stderr)
        if problems:
            print("Rebuild with `make notebooks` (or tools/build_notebooks.py NAME).", file=sys.stderr)
            return 1
        print(f"build_notebooks --check: {len(sources(args.dir, args.names))} lesson notebooks up to date")
        return 0

    failed = []
    chosen = sources(args.dir, args.names)
    if not chosen:
        print(f"no lesson sources {PATTERN}.py in {args.dir}", file=sys.stderr)
        return 1
    for source in chosen:
        start = time.perf_counter()
        try:
            target = build(source, execute=not args.no_execute)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            failed.append(source.name)
            print(f"{source.name}: a cell failed, notebook not written\n{error}", file=sys.stderr)
            continue
        print(f"{target}  ({time.perf_counter() - start:.1f} s)")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
