"""Benchmark: 20 contrasts x 500 queries x 10 samples, 10,000 sign-flip permutations each.

Run: `python benchmarks/stats.py`. Target: the whole `analyze_labels` call under 1 s.
Records are plain dicts, as read from a labels JSONL file (JSON parsing not timed).
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from afdsl.stats import analyze_labels
from afdsl.stats.paired import sign_flip_p

VARIANTS, QUERIES, SAMPLES = 21, 500, 10  # base + 20 perturbed variants


def make_records(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    records = []
    for v in range(VARIANTS):
        variant = "base" if v == 0 else f"v{v}"
        for condition in ("training", "deployment"):
            p = rng.beta(0.5, 3.0, size=QUERIES)
            labels = rng.random((QUERIES, SAMPLES)) < p[:, None]
            for q in range(QUERIES):
                for s in range(SAMPLES):
                    records.append(
                        {
                            "variant": variant,
                            "condition": condition,
                            "query_id": f"q{q}",
                            "sample": s,
                            "complied": bool(labels[q, s]),
                        }
                    )
    return records


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


COLD_START = """
import afdsl.stats
records = [
    {"variant": v, "condition": c, "query_id": f"q{q}", "sample": 0, "complied": q % 3 == 0}
    for v in ("base", "v1") for c in ("training", "deployment") for q in range(30)
]
afdsl.stats.analyze_labels(records)
"""


def cold_start() -> float:
    """A fresh interpreter importing afdsl.stats and analysing a tiny file (imports dominate)."""
    return best_of(3, lambda: subprocess.run([sys.executable, "-c", COLD_START], check=True))


def main() -> None:
    records = make_records()
    analyze_labels(records[: 2 * QUERIES * SAMPLES])  # warm the scipy/numpy imports
    total = best_of(3, lambda: analyze_labels(records))
    d = np.random.default_rng(1).normal(size=(20, QUERIES))
    permutations = best_of(3, lambda: sign_flip_p(d))
    print(
        f"{len(records):,} labels, {VARIANTS - 1} contrasts x {QUERIES} queries x {SAMPLES} samples"
    )
    print(f"analyze_labels (incl. 10,000 permutations per contrast): {total:.3f} s (target < 1 s)")
    print(f"  of which sign-flip permutations for 20 contrasts: {permutations:.3f} s")
    print(f"cold start (new interpreter, import + tiny analysis): {cold_start():.3f} s")


if __name__ == "__main__":
    main()
