"""How firmly do a lesson's asserts hold? Re-run its source under other BLAS kernels and seeds.

A lesson pins each claim with an ``assert``. An assert that passes on one machine can fail on another:
OpenBLAS picks its kernels by CPU, and chaotic training turns rounding differences into different
numbers. This tool runs a jupytext source (``notebooks/NN_*.py`` or ``exercises/solutions/NN_*.py``)
as a script in a fresh process for each combination of ``OPENBLAS_CORETYPE`` and seed set, with every
``assert`` turned into a record (pass or fail, and the value of each side of each comparison) instead
of a stop, and prints, per assert, in how many runs it held and the range of its operands.

    python tools/claim_spread.py notebooks/05_learning_rate_decay.py \
        --kernels native Sandybridge Prescott --seeds "range(5)" "range(5, 10)"

``--seeds`` replaces the value of the module-level assignment ``SEEDS = ...`` in the source (each
string is a Python expression); without it the lesson's own seeds are used. Runs go in parallel
(``--jobs``), one BLAS thread each.
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RECORDER = '''
import json as _json, os as _os
import numpy as _np


def _claim_value(value):
    try:
        return float(_np.asarray(value, dtype=float).ravel()[0]) if _np.size(value) == 1 else None
    except (TypeError, ValueError):
        return None


def _claim(line, source, test, sides):
    record = {"line": line, "source": source, "ok": bool(test())}
    try:
        record["sides"] = [[_claim_value(v) for v in group()] for group in sides]
    except Exception as error:  # a side that cannot be evaluated on its own does not hide the verdict
        record["sides_error"] = repr(error)
    with open(_os.environ["CLAIM_SPREAD_OUT"], "a") as _f:
        _f.write(_json.dumps(record) + "\\n")
'''


class _AssertsToRecords(ast.NodeTransformer):
    def __init__(self, source):
        self.source = source

    def visit_Assert(self, node):
        text = ast.get_source_segment(self.source, node.test) or ast.unparse(node.test)
        terms = node.test.values if isinstance(node.test, ast.BoolOp) else [node.test]
        groups = []
        for term in terms:
            operands = [term.left, *term.comparators] if isinstance(term, ast.Compare) else []
            groups.append(ast.Lambda(args=_no_args(), body=ast.List(elts=operands, ctx=ast.Load())))
        call = ast.Call(func=ast.Name("_claim", ast.Load()),
                        args=[ast.Constant(node.lineno), ast.Constant(" ".join(text.split())),
                              ast.Lambda(args=_no_args(), body=node.test),
                              ast.List(elts=groups, ctx=ast.Load())], keywords=[])
        return ast.copy_location(ast.Expr(call), node)


def _no_args():
    return ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


def instrument(source, seeds=None):
    """The source with its asserts recorded and, if ``seeds`` is given, ``SEEDS = <seeds>``."""
    tree = _AssertsToRecords(source).visit(ast.parse(source))
    if seeds is not None:
        replaced = False
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SEEDS" for t in node.targets):
                node.value = ast.parse(seeds, mode="eval").body
                replaced = True
        if not replaced:
            raise ValueError("--seeds given, but the source has no module-level 'SEEDS = ...'")
    return RECORDER + ast.unparse(ast.fix_missing_locations(tree))


def run_once(path, kernel, seeds, workdir):
    script = Path(workdir) / f"run_{kernel}_{abs(hash(seeds))}.py"
    out = script.with_suffix(".jsonl")
    script.write_text(instrument(path.read_text(), seeds))
    env = dict(os.environ, CLAIM_SPREAD_OUT=str(out), MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.pop("OPENBLAS_CORETYPE", None)
    if kernel != "native":
        env["OPENBLAS_CORETYPE"] = kernel
    done = subprocess.run([sys.executable, str(script)], cwd=path.parent, env=env, capture_output=True, text=True)
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    error = done.stderr.strip().splitlines()[-1] if done.returncode else None
    return kernel, seeds, records, error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--kernels", nargs="+", default=["native", "Sandybridge", "Prescott"])
    parser.add_argument("--seeds", nargs="+", default=[None])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write every record to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda ks: run_once(args.source.resolve(), *ks, workdir),
                                [(k, s) for s in args.seeds for k in args.kernels]))
    by_line = {}
    for kernel, seeds, records, error in results:
        if error:
            print(f"{kernel} seeds={seeds}: the script stopped: {error}")
        for record in records:
            by_line.setdefault((record["line"], record["source"]), []).append((kernel, seeds, record))
    for (line, source), hits in sorted(by_line.items()):
        held = sum(r["ok"] for _, _, r in hits)
        print(f"line {line}: held in {held} of {len(hits)} runs: {source}")
        for kernel, seeds, record in hits:
            if not record["ok"]:
                print(f"    FAILED under {kernel}, seeds {seeds}")
        groups = [r.get("sides", []) for _, _, r in hits]
        for g, _ in enumerate(groups[0] if groups else []):
            for s, _ in enumerate(groups[0][g]):
                values = [grp[g][s] for grp in groups if len(grp) > g and grp[g][s] is not None]
                if values and len(groups[0][g]) > 1:
                    print(f"    term {g + 1}, side {s + 1}: {min(values):.6g} to {max(values):.6g}")
    if args.json:
        args.json.write_text(json.dumps([{"kernel": k, "seeds": s, "records": r, "error": e}
                                         for k, s, r, e in results], indent=1))


if __name__ == "__main__":
    main()
