"""The `--md` report: plain GitHub-flavoured Markdown to paste in a paper draft or a PR."""

from __future__ import annotations

import json
from pathlib import Path

from afdsl.report import _format as f
from afdsl.report.outcome import TestOutcome


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(outcome: TestOutcome) -> str:
    """The whole report as one Markdown string."""
    m = outcome.manifest
    out = [f"# afdsl test: {outcome.experiment}", ""]
    models = ", ".join(f"`{e.label}`" + (" (SIMULATOR)" if e.simulator else "") for e in m.models)
    out += [
        f"- file: `{outcome.file}`",
        f"- models: {models}",
        f"- design: {m.n_queries} queries x {m.samples} samples, seed {m.seed}",
        f"- store: `{m.store_path}`",
    ]
    if outcome.run is not None:
        r = outcome.run
        out.append(
            f"- run: {r.sent} sent, {r.cached} cached, {r.failed} failed, "
            f"${r.cost_usd:.2f}, {r.elapsed_s:.1f} s"
        )
    if outcome.sequential is not None:
        s = outcome.sequential
        out.append(
            f"- sequential: {s.rounds} rounds, {s.queries_used}/{s.queries_available} "
            f"queries, {'stopped early' if s.stopped_early else 'ran to the end'}"
        )
    out.append("")
    for problem in outcome.problems:
        out += [f"> **error:** {problem}", ""]

    analysis = outcome.analysis
    if analysis is not None:
        counts = {(c.model, c.variant): c for c in outcome.counts}
        for model in f.models_of(analysis):
            entry = next((e for e in m.models if model in (e.label, e.spec)), None)
            badge = " (SIMULATOR)" if entry and entry.simulator else ""
            out += [f"## {model or 'model'}{badge}", ""]
            rows = []
            for est in f.variants_for(analysis, model):
                c = f.contrast_for(analysis, model, est.variant)
                n = counts.get((model or "", est.variant))
                rows.append(
                    [
                        f"`{est.variant}`",
                        f.pct(est.rate.get(analysis.training)),
                        f.pct(est.rate.get(analysis.deployment)),
                        f"{f.pp(est.gap)} {f.ci(est.gap_ci)}",
                        "—" if c is None else f"{f.pp(c.delta_gap)} {f.ci(c.ci)}",
                        "" if c is None else f.pval(c.p_adjusted),
                        str(est.n_queries),
                        str(n.unparseable if n else 0),
                        str(n.errors if n else 0),
                    ]
                )
            header = [
                "variant",
                analysis.training,
                analysis.deployment,
                "gap pp [95% CI]",
                f"Δgap vs {analysis.base} [95% CI]",
                "p adj",
                "queries",
                "unparseable",
                "errors",
            ]
            out += [*_table(header, rows), ""]
        if analysis.hypotheses:
            out += ["## Hypotheses", ""]
            rows = [
                [
                    "**PASS**" if h.verdict == "pass" else "**FAIL**",
                    h.name,
                    h.model or "",
                    f"`{h.expression}`",
                    f"{f.pp(h.estimate)} {f.ci(h.ci)}",
                    f.pval(h.p_value),
                    f.pval(h.p_adjusted),
                    h.method,
                ]
                for h in analysis.hypotheses
            ]
            header = [
                "verdict",
                "hypothesis",
                "model",
                "expression",
                "estimate pp [CI]",
                "p",
                "p adj",
                "method",
            ]
            out += [*_table(header, rows), ""]
        out += [f"**{outcome.n_passed} passed, {outcome.n_failed} failed**", ""]
        out += [
            f"{i}. {note}"
            for i, note in enumerate(f.method_footnote(analysis, _sequential_note(outcome)), 1)
        ]
        out.append("")
    out += [
        "<details><summary>Manifest</summary>",
        "",
        "```json",
        json.dumps(m.model_dump(mode="json"), indent=2),
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)


def write_markdown(outcome: TestOutcome, path: str | Path) -> None:
    """Write the `--md` report to `path`."""
    Path(path).write_text(render_markdown(outcome), encoding="utf-8")


def _sequential_note(outcome: TestOutcome) -> str | None:
    return outcome.sequential.note if outcome.sequential and outcome.sequential.note else None
