"""How good is the range test's suggested learning rate? Every rule, with and without repeats, on
several tasks and many seeds, against the best rate of a per-seed grid.

    python benchmarks/range_test_study.py                 # study + held-out, writes the results file
    python benchmarks/range_test_study.py --seeds 5       # a quick look (fewer seeds)
    python benchmarks/range_test_study.py --jobs 1        # one process (default: 2)

For every task and seed (the seed fixes the initial weights and the batch order):

1. **grid**: train the model for ``EPOCHS`` epochs at each rate of ``GRID`` (11 rates, a factor 2.5
   apart) and keep the best final validation accuracy: the rate a grid search would have found.
2. **range tests**: ``lr_range_test`` with its default sweep (``start_lr``, ``end_lr``,
   ``num_iter``) and the training optimizer, once with one sweep and once with ``REPEATS`` (5, the
   default) sweeps.
3. **rules**: every rule of ``RULES`` turns a range test into a rate; each rate is trained exactly
   like the grid. **Regret** = best grid accuracy - the rule's accuracy, in points of validation
   accuracy (negative when the rule beat the grid); a rule **fails** on a seed when its regret is
   above ``FAIL_POINTS``.

The **study** tasks and seeds are the ones the default rule was chosen on; the **held-out** part
(two tasks and a set of seeds the study never used) checks that the choice carries over.
Results (per seed and summarised) go to ``benchmarks/results/range_test_study.json``, the summary
tables to ``benchmarks/results/range_test_study.md`` (and are printed). The numbers come from this
machine's BLAS kernel; other CPUs give other training numbers, so read the table for its failures
and its rough regrets.
"""

import argparse
import functools
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lrcourse import SGD, SoftmaxCrossEntropy, evaluate, fit, mlp  # noqa: E402
from lrcourse.data import digits, moons, spirals  # noqa: E402
from lrcourse.rangetest import lr_range_test  # noqa: E402

EPOCHS = 20
BATCH_SIZE = 32
GRID = 10.0 ** np.linspace(-3, 1, 11)  # 0.001 ... 10, a factor 2.5 apart
FAIL_POINTS = 10.0
REPEATS = 5
STUDY_SEEDS = range(20)
HELD_OUT_SEEDS = range(100, 120)


def _digits():
    (X_train, y_train), (X_val, y_val), _ = digits(rng=0)
    return X_train, y_train, X_val, y_val


def _spirals():
    X_train, y_train = spirals(600, noise=0.3, rng=0)
    X_val, y_val = spirals(600, noise=0.3, rng=1)  # another draw of the noise: a held-out sample
    return X_train, y_train, X_val, y_val


def _moons():
    X_train, y_train = moons(500, noise=0.2, rng=0)
    X_val, y_val = moons(500, noise=0.2, rng=1)
    return X_train, y_train, X_val, y_val


# name: (data, layer sizes, momentum). The first four are the study, the last two are held out.
TASKS = {
    "digits SGD": (_digits, [64, 64, 10], 0.0),
    "digits momentum": (_digits, [64, 64, 10], 0.9),
    "spirals": (_spirals, [2, 64, 64, 3], 0.9),
    "moons": (_moons, [2, 32, 32, 2], 0.9),
    "digits wide momentum": (_digits, [64, 128, 128, 10], 0.9),
    "spirals SGD": (_spirals, [2, 64, 64, 3], 0.0),
}
STUDY_TASKS = ("digits SGD", "digits momentum", "spirals", "moons")
HELD_OUT_TASKS = ("digits wide momentum", "spirals SGD")


# --- rules: RangeTestResult -> learning rate -------------------------------------------------------

def _lowest_lr(result):
    return float(result.lrs[result.suggest_index("minimum")])


def _named(method):
    return lambda result: result.suggest(method)


def _steepest_before_lowest(result):
    """Steepest descent of the smoothed loss, looking only left of its lowest point."""
    start = result.num_iter // 10
    stop = result.suggest_index("minimum") + 1
    if stop - start < 3:
        return _lowest_lr(result) / 10
    return float(result.lrs[start + int(np.argmin(np.gradient(result.losses[start:stop])))])


def _divided(k):
    return lambda result: _lowest_lr(result) / k


def _clipped(low_div, high_div):
    def rule(result):
        lowest = _lowest_lr(result)
        return float(np.clip(_steepest_before_lowest(result), lowest / low_div, lowest / high_div))
    return rule


def _steepest_and_minimum(result):
    """Geometric mean of the steepest point left of the lowest and lowest/10, at most lowest/4."""
    lowest = _lowest_lr(result)
    return float(min(np.sqrt(_steepest_before_lowest(result) * lowest / 10), lowest / 4))


RULE_FUNCTIONS = {
    "lowest/6 (the default of suggest())": _named("lowest/6"),
    "steepest": _named("steepest"),
    "minimum": _named("minimum"),
    "valley": _named("valley"),
    "steepest before lowest": _steepest_before_lowest,
    **{f"lowest / {k}": _divided(k) for k in (3, 4, 5, 8)},
    "steepest before lowest, in [lowest/10, lowest/3]": _clipped(10, 3),
    "steepest before lowest, in [lowest/10, lowest/5]": _clipped(10, 5),
    "sqrt(steepest before lowest * lowest/10), at most lowest/4": _steepest_and_minimum,
}
# (rule, repeats) pairs evaluated on every task and seed
RULES = [(name, repeats) for name in RULE_FUNCTIONS for repeats in (1, REPEATS)]


def _train(task, lr, seed, data):
    X_train, y_train, X_val, y_val = data
    _, sizes, momentum = TASKS[task]
    model = mlp(sizes, rng=seed)
    loss = SoftmaxCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # divergence warnings: a diverged run simply scores low
        fit(model, loss, SGD(model.parameters(), lr=float(lr), momentum=momentum), X_train, y_train,
            epochs=EPOCHS, batch_size=BATCH_SIZE, rng=seed)
        with np.errstate(all="ignore"):
            return float(evaluate(model, loss, X_val, y_val)["accuracy"])


def run_seed(task, seed):
    """Grid and every rule for one task and seed; returns a plain dict."""
    data_fn, sizes, momentum = TASKS[task]
    data = data_fn()
    optimizer = functools.partial(SGD, momentum=momentum)
    tests = {repeats: lr_range_test(mlp(sizes, rng=seed), SoftmaxCrossEntropy(), data[0], data[1],
                                    optimizer=optimizer, batch_size=BATCH_SIZE, repeats=repeats, rng=seed)
             for repeats in (1, REPEATS)}
    accuracy = {}  # lr -> val accuracy, so a rate two rules agree on is trained once

    def score(lr):
        key = float(lr)
        if key not in accuracy:
            accuracy[key] = _train(task, key, seed, data)
        return accuracy[key]

    grid = [score(lr) for lr in GRID]
    best = max(grid)
    rules = {}
    for name, repeats in RULES:
        lr = RULE_FUNCTIONS[name](tests[repeats])
        rules[f"{name} | {repeats}"] = {"lr": lr, "accuracy": score(lr), "regret": 100 * (best - score(lr))}
    return {"task": task, "seed": seed, "grid": grid, "best_grid_lr": float(GRID[int(np.argmax(grid))]),
            "best": best, "rules": rules, "trainings": len(accuracy),
            "range_test_iterations": sum(len(t.lrs) * t.repeats for t in tests.values())}


def _compact(run):
    """A run for the results file: rates and accuracies rounded, one [lr, accuracy, regret] per rule."""
    return {"task": run["task"], "seed": run["seed"], "grid": [round(a, 4) for a in run["grid"]],
            "best_grid_lr": run["best_grid_lr"], "best": round(run["best"], 4),
            "rules": {name: [float(f"{r['lr']:.4g}"), round(r["accuracy"], 4), round(r["regret"], 2)]
                      for name, r in run["rules"].items()},
            "trainings": run["trainings"], "range_test_iterations": run["range_test_iterations"]}


def _expand(run):
    """The inverse of _compact, for --summarize."""
    rules = run["rules"]
    if rules and isinstance(next(iter(rules.values())), list):
        run = dict(run, rules={name: {"lr": v[0], "accuracy": v[1], "regret": v[2]} for name, v in rules.items()})
    return run


def summarise(runs):
    """{task: {rule: {fails, seeds, mean_regret, worst_regret}}}."""
    table = {}
    for run in runs:
        for rule, r in run["rules"].items():
            table.setdefault(run["task"], {}).setdefault(rule, []).append(r["regret"])
    return {task: {rule: {"seeds": len(regrets), "fails": int(np.sum(np.array(regrets) > FAIL_POINTS)),
                          "mean_regret": float(np.mean(regrets)), "worst_regret": float(np.max(regrets))}
                   for rule, regrets in rules.items()}
            for task, rules in table.items()}


def bounds_summary(runs):
    """Where the grid's good rates sit relative to the range test's lowest point (5 sweeps).

    Per task, over the seeds: the best grid rate / lowest, and the largest grid rate that does not fail
    (within ``FAIL_POINTS`` of the best) / lowest; ``suggest_bounds()`` puts max_lr at lowest / 3.
    """
    table = {}
    for run in runs:
        lowest = run["rules"][f"lowest / 3 | {REPEATS}"]["lr"] * 3
        grid = np.array(run["grid"])
        safe = GRID[grid >= grid.max() - FAIL_POINTS / 100]
        table.setdefault(run["task"], {"best / lowest": [], "largest safe / lowest": []})
        table[run["task"]]["best / lowest"].append(run["best_grid_lr"] / lowest)
        table[run["task"]]["largest safe / lowest"].append(float(safe.max()) / lowest)
    return {task: {key: {"min": float(np.min(v)), "median": float(np.median(v)), "max": float(np.max(v))}
                   for key, v in columns.items()} for task, columns in table.items()}


def markdown(summary, tasks):
    lines = ["| rule | repeats | " + " | ".join(tasks) + " |", "|---|---|" + "---|" * len(tasks)]
    for rule in next(iter(summary.values())):
        name, repeats = rule.split(" | ")
        cells = []
        for task in tasks:
            s = summary[task][rule]
            cells.append(f"{s['fails']}/{s['seeds']} fail, mean {s['mean_regret']:.1f}, worst {s['worst_regret']:.1f}")
        lines.append(f"| {name} | {repeats} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=len(STUDY_SEEDS), help="seeds per task (study and held-out)")
    parser.add_argument("--jobs", type=int, default=2, help="joblib processes")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "range_test_study.json"))
    parser.add_argument("--summarize", metavar="JSON", help="only re-summarise the runs of an earlier results file")
    args = parser.parse_args(argv)

    if args.summarize:
        earlier = json.loads(Path(args.summarize).read_text())
        runs = [_expand(run) for run in earlier["runs"]]
        elapsed, args.jobs = earlier["environment"]["wall_time_s"], earlier["environment"]["jobs"]
    else:
        from joblib import Parallel, delayed

        jobs = [(task, seed) for task in STUDY_TASKS for seed in list(STUDY_SEEDS)[:args.seeds]]
        jobs += [(task, seed) for task in STUDY_TASKS + HELD_OUT_TASKS for seed in list(HELD_OUT_SEEDS)[:args.seeds]]
        start = time.perf_counter()
        runs = Parallel(n_jobs=args.jobs, verbose=5)(delayed(run_seed)(task, seed) for task, seed in jobs)
        elapsed = time.perf_counter() - start

    study = [r for r in runs if r["seed"] in STUDY_SEEDS]
    held_out = [r for r in runs if r["seed"] in HELD_OUT_SEEDS]
    results = {
        "settings": {"epochs": EPOCHS, "batch_size": BATCH_SIZE, "grid": GRID.tolist(), "fail_points": FAIL_POINTS,
                     "repeats": REPEATS, "study_seeds": list(STUDY_SEEDS)[:args.seeds],
                     "held_out_seeds": list(HELD_OUT_SEEDS)[:args.seeds],
                     "tasks": {name: {"sizes": sizes, "momentum": momentum, "data": data.__name__.strip("_")}
                               for name, (data, sizes, momentum) in TASKS.items()}},
        "environment": {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
                        "wall_time_s": round(elapsed, 1), "jobs": args.jobs,
                        "load_average_1min": earlier["environment"].get("load_average_1min") if args.summarize
                        else round(os.getloadavg()[0], 1)},
        "study": summarise(study),
        "held_out": summarise(held_out),
        "bounds": bounds_summary(runs),
        "runs": [_compact(run) for run in runs],
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    # Summaries indented for reading, one line per seed's run to keep the file small.
    text = json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=1)[:-2]
    text += ',\n "runs": [\n' + ",\n".join("  " + json.dumps(run) for run in results["runs"]) + "\n ]\n}\n"
    Path(args.output).write_text(text)
    lines = []

    def say(text=""):
        print(text)
        lines.append(text)

    say(f"\n## Study: seeds {results['settings']['study_seeds'][0]}-{results['settings']['study_seeds'][-1]}\n")
    say(markdown(results["study"], STUDY_TASKS))
    held_out_seeds = results["settings"]["held_out_seeds"]
    say(f"\n## Held out: seeds {held_out_seeds[0]}-{held_out_seeds[-1]}\n")
    say(markdown(results["held_out"], STUDY_TASKS + HELD_OUT_TASKS))
    say("\n## Where the good constant rates sit, relative to the lowest point of the range test (5 sweeps)\n")
    say("| task | best grid rate / lowest (min, median, max) | largest safe grid rate / lowest (min, median, max) |")
    say("|---|---|---|")
    for task, columns in results["bounds"].items():
        cells = [", ".join(f"{columns[key][q]:.2f}" for q in ("min", "median", "max"))
                 for key in ("best / lowest", "largest safe / lowest")]
        say(f"| {task} | {cells[0]} | {cells[1]} |")
    say(f"\n{len(runs)} task-seeds, {sum(r['trainings'] for r in runs)} trainings of {EPOCHS} epochs, "
          f"{elapsed:.0f} s with {args.jobs} processes; written to {_shown(args.output)}")

    Path(args.output).with_suffix(".md").write_text(
        "# Range test suggestion study (benchmarks/range_test_study.py)\n\n"
        "Each cell: failures (more than 10 points of validation accuracy below the best rate of an 11-rate grid) "
        "out of the seeds, then the mean and the worst regret in points.\n" + "\n".join(lines) + "\n")


def _shown(path):
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    main()
