"""The `--md` report: plain GitHub-flavoured Markdown to paste in a paper draft or a PR."""

from __future__ import annotations

import json
from pathlib import Path

from afdsl.analysis import TestRecord
from afdsl.report import _format as f
from afdsl.report import _tables as t
from afdsl.report import matrix as mx
from afdsl.sanitize import for_markdown, for_terminal
from afdsl.stats.models import AnalysisResult


def _cell(text: str) -> str:
    """A table cell: Markdown-escaped, except a whole code span (`gap(a) < 0`), whose
    content a renderer shows as written (an `&lt;` there would show as `&lt;`)."""
    inner = text[1:-1]
    if len(text) > 1 and text[0] == text[-1] == "`" and "`" not in inner and "\n" not in inner:
        shown = for_terminal(inner, keep_newlines=False).replace("|", "\\|")
        return f"`{shown}`"
    return for_markdown(text.replace("\n", " "))


def _code(text: str) -> str:
    """`text` as inline code, which shows `<`, `*` and `_` as written; text that would
    close the code span (a backtick, a line break) is HTML-escaped instead."""
    shown = for_terminal(text, keep_newlines=False)
    return for_markdown(shown) if "`" in shown else f"`{shown}`"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _code_first(rows: list[list[str]]) -> list[list[str]]:
    """Variant names as code, so names like `no_rlhf` are not read as emphasis."""
    return [[f"`{row[0]}`", *row[1:]] for row in rows]


def render_markdown(outcome: TestRecord) -> str:
    """The whole report as one Markdown string."""
    out = _header(outcome)
    if outcome.counts and mx.is_matrix(outcome.analysis):
        out += _condensed_counts(outcome)
    elif outcome.counts:
        out += ["## Responses", "", *_table(t.COUNT_HEADERS, t.count_rows(outcome)), ""]
        out += [f"- {line}" for line in t.truncation_lines(outcome)]
        out += [""] if t.truncation_lines(outcome) else []
    for problem in outcome.problems:
        out += [f"> **error:** {for_markdown(problem.text)}", ""]
    for note in outcome.notes:
        out += [f"> **note:** {for_markdown(note.text)}", ""]
    if outcome.analysis is not None:
        out += _analysis(outcome, outcome.analysis)
    out += [
        "<details><summary>Manifest</summary>",
        "",
        "```json",
        json.dumps(outcome.manifest.model_dump(mode="json"), indent=2),
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)


def _condensed_counts(outcome: TestRecord) -> list[str]:
    """A model matrix's responses: one line, the cells with problems, every cell folded."""
    out = ["## Responses", "", mx.counts_line(outcome), ""]
    bad = mx.problem_count_rows(outcome)
    if bad:
        out += [*_table(t.COUNT_HEADERS, bad), ""]
    out += ["<details><summary>Every model and variant</summary>", ""]
    return [*out, *_table(t.COUNT_HEADERS, t.count_rows(outcome)), "", "</details>", ""]


def _header(outcome: TestRecord) -> list[str]:
    """Title and a bullet list of the file, models, design, store, run and sequential rounds."""
    m = outcome.manifest
    out = [f"# afdsl test: {outcome.experiment}", ""]
    models = ", ".join(_code(e.label) + (" (SIMULATOR)" if e.simulator else "") for e in m.models)
    out += [
        f"- file: {_code(outcome.file)}",
        f"- models: {models}",
        *(
            f"- judge: {_code(spec)}{' (SIMULATOR)' if simulator else ''} labels "
            + ", ".join(measures)
            for spec, simulator, measures in f.judges_of(m)
        ),
        f"- design: {f.design(m)}, seed {f.seed_text(m)}",
        f"- store: {_code(m.store_path)}",
    ]
    if outcome.run is not None:
        r = outcome.run
        out.append(
            f"- run: {r.sent} sent, {r.cached} cached, {r.failed} failed, "
            f"{r.cost_text()}, {r.elapsed_s:.1f} s"
        )
    if outcome.sequential is not None:
        s = outcome.sequential
        out.append(
            f"- sequential: {s.rounds} rounds, {s.queries_used}/{s.queries_available} "
            f"queries, {'stopped early' if s.stopped_early else 'ran to the end'}"
        )
    out.append("")
    return out


def _analysis(outcome: TestRecord, analysis: AnalysisResult) -> list[str]:
    """Per model its variants table (and one per other measure), then hypotheses and notes."""
    out: list[str] = []
    if mx.is_matrix(analysis):  # many models: the grids first, the tables per model after
        for heading, header, rows, legend in mx.markdown_matrix(outcome):
            out += [f"## {heading}", "", *_table(header, rows), ""]
            out += [f"_{legend}_", ""] if legend else []
    counts = t.counts_by_variant(outcome)
    for model in f.models_of(analysis):
        badge = " (SIMULATOR)" if t.is_simulator(outcome, model) else ""
        out += [f"## {model or 'model'}{badge}", ""]
        rows = t.variant_rows(analysis, model, counts)
        out += [*_table(t.headers(analysis), _code_first(rows)), ""]
        for measure, result in t.other_measures(outcome, model):
            out += [f"### {t.measure_title(outcome, measure)}", ""]
            rows = t.variant_rows(result, model, counts, measure=measure)
            out += [*_table(t.headers(result), _code_first(rows)), ""]
            out += [f"{line}\n" for line in t.measure_notes(outcome, result, model, measure)]
        rows = t.breakdown_rows(outcome, model)
        if rows:
            out += ["### answers", "", t.breakdown_caption(outcome), ""]
            out += [*_table(t.BREAKDOWN_HEADERS, _code_first(rows)), ""]
    if analysis.hypotheses:
        out += ["## Hypotheses", ""]
        rows = [
            [f"**{v.upper()}**", name, model, f"`{expr}`", *rest]
            for v, name, model, expr, *rest in t.hypothesis_rows(analysis)
        ]
        out += [*_table(t.HYPOTHESIS_HEADERS, rows), ""]
    out += [f"**{t.summary_counts(outcome)}**", ""]
    out += [
        f"{i}. {note}"
        for i, note in enumerate(f.method_footnote(analysis, t.sequential_note(outcome)), 1)
    ]
    out.append("")
    return out


def write_markdown(outcome: TestRecord, path: str | Path) -> None:
    """Write the `--md` report to `path`."""
    Path(path).write_text(render_markdown(outcome), encoding="utf-8")
