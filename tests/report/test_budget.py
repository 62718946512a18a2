"""One `--budget` covers the whole `afdsl test`: model calls, judge calls, every round."""

from __future__ import annotations

from pathlib import Path

import pytest

import afdsl.classify
import afdsl.run
from afdsl import pipeline
from afdsl.pipeline import TestOptions
from afdsl.run import RunOptions

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def budgets_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float | None]]:
    """Let the real runner and classifier work, but charge $0.30 for each call of either."""
    seen: list[tuple[str, float | None]] = []
    real_run, real_items = afdsl.run.run_prompts, afdsl.run.run_items
    real_classify = afdsl.classify.classify_experiment

    def run_prompts(experiment, prompts, store, options):  # type: ignore[no-untyped-def]
        seen.append(("run", options.budget_usd))
        return real_run(experiment, prompts, store, options).model_copy(update={"cost_usd": 0.30})

    def run_items(items, store, options):  # type: ignore[no-untyped-def]
        seen.append(("run", options.budget_usd))
        return real_items(items, store, options).model_copy(update={"cost_usd": 0.30})

    def classify_experiment(experiment, store, options, **kw):  # type: ignore[no-untyped-def]
        seen.append(("classify", options.budget_usd))
        return real_classify(experiment, store, options, **kw).model_copy(
            update={"judge_cost_usd": 0.30}
        )

    monkeypatch.setattr(afdsl.run, "run_prompts", run_prompts)
    monkeypatch.setattr(afdsl.run, "run_items", run_items)
    monkeypatch.setattr(afdsl.classify, "classify_experiment", classify_experiment)
    return seen


def _options(tmp_path: Path, **extra: object) -> TestOptions:
    run = RunOptions(budget_usd=1.0, progress=False)
    return TestOptions(store=tmp_path / "s.sqlite", run=run, **extra)


def test_judges_get_what_the_model_calls_left(tmp_path, budgets_seen) -> None:
    pipeline.test_experiment(FIXTURES / "passing.afs", _options(tmp_path))
    assert budgets_seen == [("run", 1.0), ("classify", pytest.approx(0.70))]


def test_each_sequential_round_gets_what_earlier_rounds_left(tmp_path, budgets_seen) -> None:
    pipeline.test_experiment(FIXTURES / "sequential.afs", _options(tmp_path, sequential=True))
    assert len(budgets_seen) >= 4  # at least two rounds
    left = [b for _, b in budgets_seen]
    expected = [max(1.0 - 0.30 * i, 0.0) for i in range(len(left))]
    assert left == pytest.approx(expected)


def test_a_budget_stop_says_a_plain_rerun_continues_and_a_rerun_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The budget is per command: the message must not ask for a higher one, and the same
    command run again goes on from what is stored."""
    from afdsl.cli import main
    from afdsl.testing import MockProvider

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(FIXTURES)
    args = ["test", "passing.afs", "--store", str(tmp_path / "s.sqlite"), "--quiet",
            "--model", "openai:gpt-4o", "--budget", "0.5"]  # fmt: skip
    with MockProvider() as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        codes = [main(args)]
        while codes[-1] == 3 and len(codes) < 30:  # each command spends its own $0.50
            codes.append(main(args))
    out = " ".join(capsys.readouterr().out.split())
    assert codes[0] == 3 and "rerun to continue: each command has its own budget" in out
    assert "higher --budget" not in out
    assert len(codes) > 2 and codes[-1] in (0, 1)  # plain reruns finished the test
