"""Run a training function over a grid of settings (rates x seeds, ...) and collect a table.

``sweep(fn, lr=[...], seed=range(10))`` calls ``fn(lr=..., seed=...)`` once per point of the grid
(the cartesian product of the lists, in the order given) and returns a :class:`SweepResult`: one
row per point with its parameters and what ``fn`` returned. ``fn`` returns a dict of numbers, or a
:class:`~lrcourse.training.History`, summarised by its last epoch.

The points run in parallel with joblib: ``n_jobs=-1`` uses every core, and inside
``joblib.parallel_config(backend="dask")`` (or with ``backend="dask"``) they run on a Dask cluster,
with the same code. The table is the same whatever runs it: each point seeds its own randomness
(pass the seed as a parameter), and every point runs with ``blas_threads`` BLAS threads (1 by
default), so that workers do not fight over cores and results do not depend on thread counts.

>>> def train(lr, seed):
...     return {"score": lr * 10 + seed}
>>> result = sweep(train, lr=[0.1, 0.2], seed=range(2), progress=False)
>>> result
SweepResult: 4 points, parameters ('lr', 'seed'), outputs ('score',)
 lr  seed  score
0.1     0      1
0.1     1      2
0.2     0      2
0.2     1      3
>>> result.array("score")  # one axis per parameter: (lr, seed)
array([[1., 2.],
       [2., 3.]])
>>> result.array("score").mean(axis=1)  # mean over seeds, one value per lr
array([1.5, 2.5])
"""

import contextlib
import itertools
import math
import numbers
import pickle
import warnings
from collections.abc import Mapping

import numpy as np

from .training import History

__all__ = ["sweep", "SweepResult", "SweepError"]


class SweepError(RuntimeError):
    """A point of a sweep failed; ``params`` holds that point's parameters.

    The message names the point and the original error, so that a failure in a worker process (or
    on a cluster) says which settings caused it.
    """

    def __init__(self, message, params=None):
        super().__init__(message)
        self.params = params

    def __reduce__(self):
        # Pickled in worker processes and sent back: keep the parameters.
        return type(self), (self.args[0], self.params)


class SweepResult:
    """The table of a sweep: ``rows`` (one dict per point, parameters first, then outputs).

    - ``params``, ``outputs``: the column names;
    - ``histories``: for a ``fn`` that returns a History, the History of each row (else None), to
      plot curves; ``history(lr=0.1, seed=0)`` finds the one of a point;
    - ``column(name)``: one column as a numpy array;
    - ``array(name)``: one output shaped by the grid, one axis per parameter (for grids given as
      lists, not as explicit points), so that ``.mean(axis=...)`` averages over seeds;
    - ``to_frame()``: a pandas DataFrame, when pandas is installed.
    """

    def __init__(self, rows, params, outputs, axes=None, histories=None):
        self.rows = rows
        self.params = tuple(params)
        self.outputs = tuple(outputs)
        self.axes = axes
        self.histories = histories if histories is not None else [None] * len(rows)

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def history(self, **params):
        """The History of the one point whose parameters include ``params``."""
        found = [i for i, row in enumerate(self.rows) if all(row.get(k) == v for k, v in params.items())]
        if len(found) != 1:
            raise KeyError(f"{len(found)} points have {params}; give parameters that pick exactly one")
        if self.histories[found[0]] is None:
            raise KeyError(f"the point {self.rows[found[0]]} has no History: fn returned a dict")
        return self.histories[found[0]]

    def column(self, name):
        """The values of column ``name``, in grid order, as a numpy array."""
        if name not in self.params + self.outputs:
            raise KeyError(f"no column {name!r}; columns are {self.params + self.outputs}")
        return np.array([row[name] for row in self.rows])

    def array(self, name):
        """Output ``name`` shaped ``(len(values of param 1), len(values of param 2), ...)``."""
        if self.axes is None:
            raise ValueError("array() needs a grid of lists; this sweep was given explicit points")
        shape = tuple(len(values) for values in self.axes.values())
        return self.column(name).astype(float).reshape(shape)

    def to_frame(self):
        """The table as a ``pandas.DataFrame`` (pandas is not a dependency of lrcourse)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("SweepResult.to_frame() needs pandas: pip install pandas") from None
        return pandas.DataFrame(self.rows, columns=list(self.params + self.outputs))

    def __repr__(self, max_rows=20):
        header = (f"SweepResult: {len(self)} points, parameters {self.params}, "
                  f"outputs {self.outputs}")
        names = self.params + self.outputs
        shown = self.rows if len(self) <= max_rows else self.rows[:max_rows // 2] + self.rows[-max_rows // 2:]
        cells = [[_format(row[name]) for name in names] for row in shown]
        widths = [max([len(name)] + [len(line[i]) for line in cells]) for i, name in enumerate(names)]
        lines = [header, "  ".join(name.rjust(w) for name, w in zip(names, widths))]
        for i, line in enumerate(cells):
            if len(self) > max_rows and i == max_rows // 2:
                lines.append("...")
            lines.append("  ".join(cell.rjust(w) for cell, w in zip(line, widths)))
        return "\n".join(lines)


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _plain(value):
    """numpy scalars as Python numbers, so rows and messages read ``0.1``, not ``np.float64(0.1)``."""
    return value.item() if isinstance(value, np.generic) else value


def _points(grid, kwargs):
    """The grid as a list of parameter dicts, and its axes (None for explicit points)."""
    if grid is not None and kwargs:
        raise TypeError(f"give the grid either as grid= or as keyword lists, not both "
                        f"(got grid= and {sorted(kwargs)})")
    if grid is None:
        grid = kwargs
    if isinstance(grid, Mapping):
        axes = {}
        for name, values in grid.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"grid parameter names must be identifiers, got {name!r}")
            if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
                raise TypeError(f"grid values for {name!r} must be a list of values, got {values!r}; "
                                f"to fix one value, give a one-element list [{values!r}]")
            axes[name] = [_plain(v) for v in values]
            if not axes[name]:
                raise ValueError(f"grid values for {name!r} are empty")
        if not axes:
            raise ValueError("the grid is empty: give at least one parameter, e.g. lr=[0.01, 0.1]")
        points = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
        return points, axes
    points = [dict(point) if isinstance(point, Mapping) else point for point in grid]
    for point in points:
        if not isinstance(point, Mapping):
            raise TypeError(f"grid must be a mapping of lists or a list of mappings, got an item {point!r}")
    if not points:
        raise ValueError("the grid is empty: grid= holds no points")
    return [{k: _plain(v) for k, v in point.items()} for point in points], None


def _summary(history):
    """A History as numbers: each metric's last epoch, the rate at the end, epochs run, divergence."""
    out = {}
    for key, values in history.history.items():
        # "lr" is the grid parameter in most sweeps: the rate the run ended with is "final_lr".
        out["final_lr" if key == "lr" else key] = float(values[-1]) if values else math.nan
    out["epochs_run"] = len(history.epoch)
    out["diverged"] = bool(history.diverged)
    return out


def _run_point(fn, params, blas_threads):
    """Run one point with limited BLAS threads; return its output as a flat dict of numbers, the
    History when fn returned one, and the warnings it raised as (category, text)."""
    from threadpoolctl import threadpool_limits

    try:
        # Warnings are recorded and re-issued by the caller: a worker's own would never reach the
        # notebook, and this way they do alike whatever runs the point.
        with threadpool_limits(limits=blas_threads), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            output = fn(**params)
    except Exception as exc:
        raise SweepError(f"sweep point {params} failed: {type(exc).__name__}: {exc}", params) from exc
    history = output if isinstance(output, History) else None
    if history is not None:
        output = _summary(history)
    if not isinstance(output, Mapping):
        raise SweepError(f"sweep point {params}: fn must return a dict of numbers or a History, "
                         f"got {type(output).__name__}", params)
    row = {}
    for key, value in output.items():
        value = _plain(value)
        if not isinstance(value, numbers.Number):
            raise SweepError(f"sweep point {params}: output {key!r} must be a number, got {value!r}", params)
        if key in params:
            raise SweepError(f"sweep point {params}: fn returned {key!r}, which is also a grid parameter; "
                             f"rename the output", params)
        row[key] = value
    return row, history, [(w.category, str(w.message)) for w in caught]


def sweep(fn, grid=None, *, n_jobs=None, backend=None, progress=True, blas_threads=1, **params):
    """Call ``fn(**point)`` for every point of a grid and return the results as a :class:`SweepResult`.

    The grid is keyword lists (``lr=[0.01, 0.1], seed=range(5)``: every combination, the first
    parameter varying slowest), or ``grid=`` a mapping of the same lists, or ``grid=`` a list of
    dicts, each a point (for settings that go together); a parameter named like one of this
    function's own arguments (``n_jobs``, ``backend``, ...) can only be given through ``grid=``.
    ``fn`` returns a dict of numbers, or a ``History`` (its last epoch's metrics, ``final_lr``,
    ``epochs_run`` and ``diverged``).

    - ``n_jobs``: worker processes (joblib); ``-1`` for all cores; ``None`` takes joblib's default
      (1, or what an enclosing ``joblib.parallel_config`` says).
    - ``backend``: a joblib backend name; ``"dask"`` runs the points on the Dask cluster of the
      current ``distributed.Client`` (``pip install 'lrcourse[cluster]'``). ``None``: joblib's
      default (processes), or the enclosing ``joblib.parallel_config``.
    - ``progress``: a progress bar over the points (tqdm).
    - ``blas_threads``: BLAS threads per point; 1 keeps parallel workers off each other's cores
      and makes the table the same whatever ``n_jobs`` is.

    A failing point raises :class:`SweepError` naming its parameters; warnings raised in a point
    (e.g. fit's divergence warning) are issued again here, prefixed with the point. Ctrl-C
    (KeyboardInterrupt) stops the workers and the sweep.

    >>> sweep(lambda lr: {"step": lr * 3}, lr=[1, 2], progress=False).column("step")
    array([3, 6])
    """
    points, axes = _points(grid, params)
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
                               or n_jobs == 0):
        raise ValueError(f"n_jobs must be None, a positive int or a negative int (-1: all cores), got {n_jobs!r}")
    if isinstance(blas_threads, bool) or not isinstance(blas_threads, numbers.Integral) or blas_threads < 1:
        raise ValueError(f"blas_threads must be an int >= 1, got {blas_threads!r}")
    if not callable(fn):
        raise TypeError(f"fn must be a function taking the grid parameters as keywords, got {fn!r}")
    outputs, histories = zip(*_parallel_map(fn, points, n_jobs, backend, progress, blas_threads))

    output_names = list(dict.fromkeys(name for out in outputs for name in out))
    param_names = list(dict.fromkeys(name for point in points for name in point))
    rows = [{**{name: point.get(name) for name in param_names},
             **{name: out.get(name, math.nan) for name in output_names}}
            for point, out in zip(points, outputs)]
    return SweepResult(rows, param_names, output_names, axes, list(histories))


class _Shipped:
    """``fn`` on its way to the workers: pickled once, by cloudpickle, as one blob, arrays and all.

    Dask sends the numpy arrays of a task out of band, and a worker's arrays are then views of the
    received message. For the training data captured in ``fn`` that was slow: numpy's gather of a
    batch's rows (``take``) page-faulted through the whole array on every batch (about 46,000 minor
    faults in a 20-epoch digits fit, 2.3x its CPU time). Arrays unpickled from one blob are
    ordinary arrays, as on joblib's own processes. Pickling once, here, also turns a function that
    cannot be pickled into a clear error (on Dask it made the sweep hang).
    """

    def __init__(self, fn):
        import cloudpickle

        self.fn = fn
        try:
            self.blob = cloudpickle.dumps(fn)
        except Exception as exc:
            raise TypeError(f"fn must be picklable to run on worker processes or a cluster, and "
                            f"{fn!r} is not ({type(exc).__name__}: {exc}); with n_jobs=1 it runs "
                            f"in this process") from exc

    def __call__(self, **params):
        return self.fn(**params)

    def __reduce__(self):
        return _unship, (self.blob,)


def _unship(blob):
    shipped = _Shipped.__new__(_Shipped)
    shipped.fn, shipped.blob = pickle.loads(blob), blob
    return shipped


def _parallel_map(fn, points, n_jobs, backend, progress, blas_threads):
    import joblib
    from tqdm.auto import tqdm

    if backend == "dask":
        _check_dask_client()
    # parallel_config (unlike Parallel(backend=...)) knows how to load the "dask" backend.
    config = joblib.parallel_config(backend=backend) if backend is not None else contextlib.nullcontext()
    with config:
        parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator")
        # Where the points run: here when joblib has one job to give (its own test, whatever the
        # backend: n_jobs=-1 on one core, say) or on threads; else fn must travel.
        in_process = (joblib.effective_n_jobs(n_jobs) == 1
                      or getattr(joblib.parallel.get_active_backend()[0], "uses_threads", False))
    task_fn = fn if in_process else _Shipped(fn)
    tasks = (joblib.delayed(_run_point)(task_fn, point, blas_threads) for point in points)
    bar = tqdm(total=len(points), desc="sweep", unit="point", disable=not progress)
    outputs = []
    try:
        # The generator yields results in grid order as they arrive; closing it (on an error or
        # Ctrl-C) cancels the points not yet started and stops the worker processes.
        results = parallel(tasks)
        try:
            for point, (row, history, caught) in zip(points, results):
                for category, text in caught:
                    warnings.warn(f"sweep point {point}: {text}", category, stacklevel=3)
                outputs.append((row, history))
                bar.update(1)
        finally:
            results.close()
    finally:
        bar.close()
    return outputs


def _check_dask_client():
    try:
        from distributed import get_client
    except ImportError:
        raise ImportError("backend='dask' needs dask.distributed: pip install 'lrcourse[cluster]'") from None
    try:
        get_client()
    except ValueError:
        raise ValueError("backend='dask' runs on the current Dask cluster, and there is none: create "
                         "one first, e.g. client = distributed.Client() (a local cluster) or "
                         "client = gateway.new_cluster().get_client() (Dask Gateway)") from None
