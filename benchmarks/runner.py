"""Runner throughput against a loopback mock provider (not a test; prints figures).

    /work/venv/bin/python benchmarks/runner.py [--n 2000] [--concurrency 64] [--repeats 3]

Three ways over the same prompts, against the mock in a separate process (so
the server does not compete with the client for the interpreter lock):
(a) afdsl's runner, store included; (b) a bare AsyncOpenAI loop (Semaphore +
gather, no store); (c) Inspect, if `inspect_ai` is importable (an eval with a
`generate()` solver, see `_inspect_adapter.py`; it is not an afdsl dependency,
so without it the line says "skipped"). Reports throughput at 50 ms latency,
afdsl as a fraction of the bare loop (target >= 80%), afdsl as a multiple of
Inspect (target >= 5x), and the per-sample overhead over the bare loop at 0 ms
latency (target <= 1 ms). Each figure is the best of `--repeats` runs, because the
machine is shared and the slow runs measure the neighbours.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from _inspect_adapter import available, bench_inspect, inspect_version, loopback_only

from afdsl.ir import ModelConfig
from afdsl.run import RunItem, RunOptions, run_items
from afdsl.store import Store
from afdsl.testing import MockProvider
from afdsl.testing.helpers import make_items

SYSTEM = "You are an assistant being evaluated. Answer the user's request."


def bench_afdsl(items: list[RunItem], concurrency: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite")
        start = time.perf_counter()
        summary = run_items(items, store, RunOptions(concurrency=concurrency, progress=False))
        elapsed = time.perf_counter() - start
        store.close()
    assert summary.succeeded == len(items), summary
    return elapsed


def bench_bare(items: list[RunItem], concurrency: int, base_url: str) -> float:
    from openai import AsyncOpenAI

    async def main() -> float:
        client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
        semaphore = asyncio.Semaphore(concurrency)

        async def one(item: RunItem) -> str:
            r = item.request
            async with semaphore:
                doc = await client.chat.completions.create(
                    model=r.model.name,
                    messages=[{"role": "system", "content": r.system}]
                    + [{"role": m.role, "content": m.content} for m in r.messages],
                    max_tokens=r.model.max_tokens,
                    temperature=r.model.temperature,
                )
            return doc.choices[0].message.content or ""

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in items))
        elapsed = time.perf_counter() - start
        await client.close()
        return elapsed

    return asyncio.run(main())


class Timings(NamedTuple):
    """Best-of-repeats seconds for each path; `inspect` is None when it was not run."""

    afdsl: float
    bare: float
    inspect: float | None = None


def bench_inspect_checked(items: list[RunItem], concurrency: int, server: MockProvider) -> float:
    """One Inspect run, proven to have sent exactly one request per item to the mock."""
    before = server.completion_requests
    with loopback_only() as refused:
        elapsed = bench_inspect(items, concurrency, server.openai_base_url)
    sent = server.completion_requests - before
    if refused or sent != len(items):
        raise RuntimeError(f"inspect sent {sent} of {len(items)} to the mock; refused {refused}")
    return elapsed


def measure(
    latency: float, n: int, concurrency: int, repeats: int, with_inspect: bool = False
) -> Timings:
    """Seconds for n requests per path, best of `repeats`, paths interleaved in each round."""
    with MockProvider(latency=latency, process=True) as server:
        os.environ["OPENAI_API_KEY"] = "bench-key"
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        items = make_items(config, n, system=SYSTEM)
        bench_bare(items[:100], concurrency, server.openai_base_url)  # warm-up: imports, sockets
        if with_inspect:
            bench_inspect_checked(items[:100], concurrency, server)  # warm-up: its imports too
        afdsl_s, bare_s, inspect_s = float("inf"), float("inf"), float("inf")
        for _ in range(repeats):
            bare_s = min(bare_s, bench_bare(items, concurrency, server.openai_base_url))
            afdsl_s = min(afdsl_s, bench_afdsl(items, concurrency))
            if with_inspect:
                inspect_s = min(inspect_s, bench_inspect_checked(items, concurrency, server))
    return Timings(afdsl_s, bare_s, inspect_s if with_inspect else None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-inspect", action="store_true", help="skip path (c) even if installed")
    args = parser.parse_args()
    n, c = args.n, args.concurrency
    with_inspect = available() and not args.no_inspect

    t = measure(0.05, n, c, args.repeats, with_inspect)
    print(f"{n} requests, concurrency {c}, mock latency 50 ms (best of {args.repeats})")
    print(f"  bare AsyncOpenAI loop : {n / t.bare:7.1f} req/s  ({t.bare:.2f} s)")
    print(f"  afdsl runner + store  : {n / t.afdsl:7.1f} req/s  ({t.afdsl:.2f} s)")
    print(f"  afdsl / bare          : {t.bare / t.afdsl:7.1%}  (target >= 80%)")
    if t.inspect is not None:
        label = f"inspect_ai {inspect_version()}"
        print(f"  {label:<21} : {n / t.inspect:7.1f} req/s  ({t.inspect:.2f} s)")
        slower = t.inspect / t.bare
        print(f"  inspect / bare        : {t.bare / t.inspect:7.1%}  ({slower:.1f}x slower)")
        print(f"  afdsl / inspect       : {t.inspect / t.afdsl:7.1f}x  (target >= 5x)")
        print(f"  inspect hit the mock  : {n} requests per run, no non-loopback connection")
    else:
        reason = "not installed" if not available() else "--no-inspect"
        print(f"  inspect_ai            : skipped ({reason})")

    t0 = measure(0.0, n, c, args.repeats)
    overhead_ms = (t0.afdsl - t0.bare) / n * 1000
    print(f"mock latency 0 ms: bare {n / t0.bare:.1f} req/s, afdsl {n / t0.afdsl:.1f} req/s")
    print(f"  per-sample overhead   : {overhead_ms:+.3f} ms  (target <= 1 ms)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
