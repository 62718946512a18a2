"""Helpers for tests that drive the runner by hand (no .afs file needed).

`make_items(config, n, samples)` builds run items as the expander would;
`batch_round_trip(backend, items)` submits them as one provider batch and
polls it to the end; `FAKE_KEY` is a recognisable fake API key; `keyed_env` is a pytest fixture
that sets it for both SDKs and clears their base-URL variables.
"""

from __future__ import annotations

import asyncio
from typing import Any

from afdsl.ir import Message, ModelConfig, prompt_hash
from afdsl.models.base import BackendError, Completion, Request
from afdsl.run.types import RunItem

FAKE_KEY = "sk-afdsl-test-SECRET-7f3a9c"


def make_items(
    config: ModelConfig, n: int, samples: int = 1, system: str = "You are a careful assistant."
) -> list[RunItem]:
    """n distinct prompts x samples for one model, cell (exp, base, training, qN)."""
    items = []
    for q in range(n):
        messages = (Message(role="user", content=f"Question number {q}: please help."),)
        h = prompt_hash(system, messages)
        for s in range(samples):
            request = Request(
                prompt_hash=h, system=system, messages=messages, model=config, sample=s
            )
            items.append(
                RunItem(
                    request=request,
                    experiment="exp",
                    variant="base",
                    condition="training",
                    query_id=f"q{q}",
                )
            )
    return items


def batch_round_trip(
    backend: Any, items: list[RunItem], poll_s: float = 0.02
) -> dict[str, Completion | BackendError]:
    """Submit `items` as one batch (custom ids c0, c1, ...), poll until done, return results."""

    async def go() -> dict[str, Completion | BackendError]:
        batch_id = await backend.submit_batch([(f"c{i}", it.request) for i, it in enumerate(items)])
        while not await backend.batch_done(batch_id):
            await asyncio.sleep(poll_s)
        results: dict[str, Completion | BackendError] = await backend.batch_results(batch_id)
        return results

    return asyncio.run(go())


try:
    import pytest

    @pytest.fixture
    def keyed_env(monkeypatch: Any) -> str:
        """Set FAKE_KEY for both SDKs; clear their base-URL variables."""
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
        monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
        return FAKE_KEY

except ImportError:  # pytest is a dev dependency; the helpers work without it
    pass
