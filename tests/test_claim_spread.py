"""tools/claim_spread.py: asserts become records (verdict and operands), SEEDS can be replaced."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("claim_spread", ROOT / "tools" / "claim_spread.py")
claim_spread = importlib.util.module_from_spec(spec)
spec.loader.exec_module(claim_spread)

SOURCE = """\
SEEDS = (0, 1)
total = sum(SEEDS)
assert total < 2 and 0 <= total
assert total > 5
"""


def _run(script, tmp_path):
    out = tmp_path / "records.jsonl"
    path = tmp_path / "script.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], env=dict(os.environ, CLAIM_SPREAD_OUT=str(out)),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # a failing assert no longer stops the script
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_asserts_are_recorded_with_their_operands(tmp_path):
    first, second = _run(claim_spread.instrument(SOURCE), tmp_path)
    assert first == {"line": 3, "source": "total < 2 and 0 <= total", "ok": True, "sides": [[1.0, 2.0], [0.0, 1.0]]}
    assert second["ok"] is False and second["sides"] == [[1.0, 5.0]]


def test_seeds_are_replaced(tmp_path):
    first, second = _run(claim_spread.instrument(SOURCE, seeds="range(2, 5)"), tmp_path)
    assert first["ok"] is False and first["sides"][0] == [9.0, 2.0]  # 2 + 3 + 4
    assert second["ok"] is True


def test_seeds_without_an_assignment_is_an_error():
    with pytest.raises(ValueError, match="SEEDS"):
        claim_spread.instrument("x = 1\n", seeds="range(3)")
