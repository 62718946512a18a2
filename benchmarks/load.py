"""Load check: 20,000 requests through a flaky provider, every sample stored exactly once.

    .venv/bin/python benchmarks/load.py [--prompts 10000] [--samples 2] [--concurrency 256]

The red team's load case (issue 11): the loopback mock in its own process
answers 10% of completions with HTTP 500 and 5% with 429; afdsl's runner
retries them and stores every answer. Prints the elapsed time and peak RSS, and
checks that the store holds each (prompt, sample) once, all ok, and that the
server answered exactly as many completions as there are samples (none paid
for twice). Not a test: it takes minutes (410 s on 2 shared cores at load 9).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, run_items
from afdsl.store import Store
from afdsl.testing import MockProvider
from afdsl.testing.helpers import make_items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=256)
    args = parser.parse_args()
    os.environ["OPENAI_API_KEY"] = "load-check-key"
    with (
        MockProvider(fail_500=0.10, fail_429=0.05, seed=11, process=True) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        items = make_items(config, args.prompts, samples=args.samples)
        path = Path(folder) / "load.sqlite"
        store = Store(path)
        start = time.perf_counter()
        summary = run_items(items, store, RunOptions(concurrency=args.concurrency, progress=False))
        elapsed = time.perf_counter() - start
        store.close()
        stats = server.stats()
        with sqlite3.connect(path) as db:
            rows, distinct, ok = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT prompt_hash || ':' || sample), "
                "SUM(status = 'ok') FROM responses"
            ).fetchone()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(items)
    print(f"{n} requests, concurrency {args.concurrency}, 10% HTTP 500 + 5% 429 injected")
    print(f"  elapsed {elapsed:.1f} s, peak RSS {rss_mb:.0f} MB")
    print(f"  server: {stats['completion_requests']} attempts, {stats['failures']} injected "
          f"failures, {stats['completions_ok']} answers")  # fmt: skip
    print(f"  store: {rows} rows, {distinct} distinct (prompt, sample), {ok} ok")
    print(f"  summary: {summary.succeeded} succeeded, {summary.failed} failed")
    once = rows == distinct == ok == n == stats["completions_ok"]
    print(f"  every sample stored exactly once, none paid twice: {'yes' if once else 'NO'}")
    sys.stdout.flush()
    return 0 if once else 1


if __name__ == "__main__":
    raise SystemExit(main())
