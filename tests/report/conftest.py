"""Hand-built outcomes, so the renderers are tested without running anything."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from afdsl.analysis import ModelEntry, Problem, SourceFile
from afdsl.report import Manifest, RunInfo, SampleRow, TestOutcome, VariantCounts
from afdsl.stats.models import AnalysisResult, Contrast, HypothesisResult, VariantEstimate

VARIANTS = ("base", "no_rlhf", "openai_trainer")


def _manifest(models: list[str]) -> Manifest:
    return Manifest(
        afdsl_version="0.1.0",
        python_version="3.11.9",
        platform="test",
        packages={"scipy": "1.17.1"},
        experiment="demo",
        seed=7,
        samples=4,
        n_queries=30,
        source_files=[SourceFile(path="demo.afs", sha256="ab" * 32)],
        prompt_set_hash="cd" * 32,
        models=[
            ModelEntry(
                spec=m,
                label=m,
                simulator=m.startswith("sim:"),
                temperature=1.0,
                max_tokens=1024,
                params_hash="0" * 16,
            )
            for m in models
        ],
        measures=[],
        correction="holm",
        alpha=0.05,
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:01:00+00:00",
        store_path="/tmp/demo.sqlite",
    )


def _analysis(models: list[str], verdicts: dict[str, str]) -> AnalysisResult:
    variants, contrasts, hypotheses = [], [], []
    for mi, model in enumerate(models):
        for vi, name in enumerate(VARIANTS):
            gap = 0.12 - 0.05 * vi + 0.01 * mi
            variants.append(
                VariantEstimate(
                    model=model,
                    variant=name,
                    n_queries=30,
                    n_samples=240,
                    rate={"training": 0.2 + gap / 2, "deployment": 0.2 - gap / 2},
                    rate_ci={"training": (0.15, 0.3), "deployment": (0.1, 0.2)},
                    gap=gap,
                    gap_ci=(gap - 0.04, gap + 0.04),
                )
            )
            if name != "base":
                delta = -0.05 * vi
                contrasts.append(
                    Contrast(
                        model=model,
                        variant=name,
                        against="base",
                        delta_gap=delta,
                        ci=(delta - 0.03, delta + 0.03),
                        p_value=0.004 * vi,
                        p_permutation=0.005 * vi,
                        p_adjusted=0.008 * vi,
                        n_queries=30,
                    )
                )
        for hi, (hname, verdict) in enumerate(verdicts.items()):
            hypotheses.append(
                HypothesisResult(
                    model=model,
                    name=hname,
                    expression=f"gap({VARIANTS[hi + 1]}) < gap(base)",
                    verdict=verdict,  # type: ignore[arg-type]
                    estimate=-0.05 * (hi + 1),
                    ci=(-0.09, -0.01) if verdict == "pass" else (-0.09, 0.03),
                    p_value=0.01 if verdict == "pass" else 0.3,
                    p_adjusted=0.02 if verdict == "pass" else 0.3,
                    method="paired t, one-sided",
                    n_queries=30,
                    n_samples=480,
                )
            )
    return AnalysisResult(
        alpha=0.05, correction="holm", variants=variants, contrasts=contrasts, hypotheses=hypotheses
    )


@pytest.fixture
def make_outcome() -> Callable[..., TestOutcome]:
    def build(
        models: tuple[str, ...] = ("sim:opus_like",),
        verdicts: dict[str, str] | None = None,
        problems: tuple[str, ...] = (),
        unparseable: int = 3,
    ) -> TestOutcome:
        verdicts = verdicts if verdicts is not None else {"goal_guarding": "pass", "same": "fail"}
        samples = [
            SampleRow(m, v, c, f"q{q}", s, f"h{q}{s}", "ok", {"compliance": (q + s) % 2})
            for m in models
            for v in VARIANTS
            for c in ("training", "deployment")
            for q in range(3)
            for s in range(2)
        ]
        samples.append(
            SampleRow(models[0], "base", "training", "q9", 0, "hx", "ok", {"compliance": None})
        )
        samples.append(SampleRow(models[0], "base", "training", "q9", 1, "hy", "error", {}))
        return TestOutcome(
            experiment="demo",
            file="demo.afs",
            manifest=_manifest(list(models)),
            analysis=_analysis(list(models), verdicts),
            counts=[
                VariantCounts(
                    model=m,
                    variant=v,
                    expected=240,
                    responses=240,
                    unparseable=unparseable if v == "no_rlhf" else 0,
                    errors=0,
                )
                for m in models
                for v in VARIANTS
            ],
            run=RunInfo(total=720, sent=700, cached=20, succeeded=700, cost_usd=0.0, elapsed_s=1.5),
            problems=[Problem(kind="run", detail=p) for p in problems],
            measures=["compliance"],
            samples=samples,
        )

    return build
