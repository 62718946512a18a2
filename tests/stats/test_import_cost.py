"""The analysis, power and sequential paths run without importing scipy.stats (~0.85 s)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
import afdsl.stats
from afdsl.stats.power import plan
from afdsl.stats.sequential import SequentialTest
from afdsl.syntax import parse_hypothesis

records = [
    {"variant": v, "condition": c, "query_id": f"q{q}", "sample": s,
     "complied": (q + s) % (2 if c == "training" else 3) == 0}
    for v in ("base", "v") for c in ("training", "deployment")
    for q in range(25) for s in range(2)
]
result = afdsl.stats.analyze_labels(
    records,
    hypotheses=[
        parse_hypothesis("h: gap(v) > gap(base)"),
        parse_hypothesis("e: gap(v) == gap(base) within 0.2"),
    ],
)
assert result.hypotheses and result.contrasts[0].p_permutation > 0
h = parse_hypothesis("h: gap(v) > gap(base)")
plan(h, 0.05, 0.3, 100)
SequentialTest(h, 0.05).update([0.1, -0.2, 0.3])
print("scipy.stats" in sys.modules)
"""


def test_analysis_power_and_sequential_do_not_import_scipy_stats():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
