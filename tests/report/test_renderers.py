"""The report files and the terminal report, from hand-built outcomes."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path

from rich.console import Console

from afdsl.report import (
    SampleRow,
    build_document,
    render_html,
    render_markdown,
    render_terminal,
    write_csv,
    write_json,
)
from afdsl.report._format import interval_glyph, pval
from afdsl.report.json_report import SCHEMA_PATH, generate_schema
from tests.report.schema import schema_errors


def _terminal(outcome, width=140, **kw) -> str:
    buf = io.StringIO()
    render_terminal(outcome, Console(file=buf, width=width, **kw))
    return buf.getvalue()


def test_terminal_lists_each_hypothesis_with_its_verdict_and_summary(make_outcome):
    out = _terminal(make_outcome())
    lines = out.splitlines()
    assert any("PASS" in line and "goal_guarding" in line for line in lines)
    assert any("FAIL" in line and "same" in line for line in lines)
    assert "1 passed, 1 failed" in out
    assert "SIMULATOR" in out
    assert "gap(no_rlhf) < gap(base)" in out
    assert "Holm" in out  # the footnote names the correction


def test_terminal_has_no_colour_when_not_a_terminal(make_outcome):
    assert "\x1b[" not in _terminal(make_outcome())


def test_terminal_respects_no_colour_even_on_a_terminal(make_outcome, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[3" not in _terminal(make_outcome(), force_terminal=True)
    monkeypatch.delenv("NO_COLOR")
    assert "\x1b[" in _terminal(make_outcome(), force_terminal=True)


def test_terminal_fits_a_narrow_window(make_outcome):
    out = _terminal(make_outcome(), width=80)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "●" not in out  # the interval glyph is dropped when there is no room
    assert "●" in _terminal(make_outcome(), width=160)


def test_terminal_shows_a_models_by_hypotheses_grid_for_several_models(make_outcome):
    out = _terminal(make_outcome(models=("sim:opus_like", "sim:no_gap")), width=160)
    assert "hypotheses x models" in out
    assert "hypotheses x models" not in _terminal(make_outcome())


def test_terminal_reports_problems_as_incomplete(make_outcome):
    outcome = make_outcome(problems=("2 calls failed after retries",))
    out = _terminal(outcome)
    assert "2 calls failed after retries" in out and "run incomplete" in out
    assert outcome.exit_code == 3


def test_exit_code_follows_verdicts(make_outcome):
    assert make_outcome(verdicts={"a": "pass", "b": "pass"}).exit_code == 0
    assert make_outcome(verdicts={"a": "pass", "b": "fail"}).exit_code == 1


def test_interval_glyph_places_estimate_inside_interval_and_marks_zero():
    glyph = interval_glyph(0.02, 0.05, 0.08, half=0.1, width=21)
    assert len(glyph) == 21
    zero, dot = glyph.index("│"), glyph.index("●")
    assert zero == 10 and dot > zero
    assert glyph[dot - 1] == "─" and glyph[dot + 1] == "─"
    across = interval_glyph(-0.02, 0.01, 0.04, half=0.1, width=21)
    assert across.index("┼") == 10 and across.index("●") > 10


def test_json_validates_and_carries_counts_and_manifest(make_outcome, tmp_path):
    path = tmp_path / "r.json"
    write_json(make_outcome(), path)
    doc = json.loads(path.read_text())
    assert schema_errors(doc) == []
    assert doc["experiment"] == "demo"
    assert doc["manifest"]["seed"] == 7
    assert {c["variant"]: c["unparseable"] for c in doc["counts"]}["no_rlhf"] == 3
    assert [h["verdict"] for h in doc["hypotheses"]] == ["pass", "fail"]


def test_json_schema_file_is_up_to_date():
    assert json.loads(SCHEMA_PATH.read_text()) == generate_schema()


def test_schema_rejects_broken_documents(make_outcome):
    doc = build_document(make_outcome())
    del doc["manifest"]["seed"]
    doc["hypotheses"][0]["verdict"] = "maybe"
    doc["variants"][0]["gap_ci"] = [0.1]
    errors = schema_errors(doc)
    assert any("seed" in e for e in errors)
    assert any("maybe" in e for e in errors)
    assert any("gap_ci" in e for e in errors)


def test_json_writes_undefined_intervals_as_null(make_outcome):
    outcome = make_outcome()
    outcome.analysis.variants[0].gap_ci = (float("nan"), float("nan"))
    doc = build_document(outcome)
    assert doc["variants"][0]["gap_ci"] == [None, None]
    assert schema_errors(doc) == []
    json.dumps(doc, allow_nan=False)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.marks: list[dict[str, str | None]] = []
        self.external: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "forest-mark" in (a.get("class") or "").split():
            self.marks.append(a)
        for key in ("src", "href"):
            if a.get(key):
                self.external.append(a[key])


def test_html_is_self_contained_with_one_plot_mark_per_contrast(make_outcome):
    outcome = make_outcome(models=("sim:opus_like", "anthropic:claude"))
    parser = _Collector()
    parser.feed(render_html(outcome))
    parser.close()
    assert len(parser.marks) == len(outcome.analysis.contrasts) == 4
    assert {(m["data-model"], m["data-variant"]) for m in parser.marks} == {
        (c.model, c.variant) for c in outcome.analysis.contrasts
    }
    assert parser.external == []
    assert "svg" in parser.tags and "table" in parser.tags


def test_markdown_has_tables_verdicts_and_manifest(make_outcome):
    md = render_markdown(make_outcome())
    assert "| `no_rlhf` |" in md
    assert "**PASS**" in md and "**FAIL**" in md
    assert "1 passed, 1 failed" in md
    assert '"prompt_set_hash"' in md
    # An expression is a code span: a renderer shows its `<` as written, not `&lt;`.
    assert "| `gap(no_rlhf) < gap(base)` |" in md and "&lt;" not in md


def test_csv_has_one_row_per_sample_and_marks_unparseable(make_outcome, tmp_path):
    outcome = make_outcome()
    path = tmp_path / "r.csv"
    write_csv(outcome, path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("model,variant,condition,query_id")  # the header first
    assert json.loads(Path(f"{path}.manifest.json").read_text())["seed"] == 7
    rows = list(csv.DictReader(lines))
    assert len(rows) == len(outcome.samples)
    assert set(rows[0]) >= {"variant", "condition", "query_id", "sample", "model", "prompt_hash"}
    bad = [r for r in rows if r["unparseable"]]
    assert len(bad) == 1 and bad[0]["compliance"] == "" and bad[0]["query_id"] == "q9"
    failed = [r for r in rows if r["status"] == "error"]
    assert len(failed) == 1 and failed[0]["unparseable"] == ""


def test_csv_never_writes_a_header_twice(make_outcome, tmp_path):
    """A measure named `status` wrote a second `status` column: csv.DictReader kept the
    label and lost the call status, pandas renamed it `status.1`."""
    outcome = make_outcome()
    outcome.samples = [
        SampleRow("m", "base", "training", "q0", 0, "h", "error", {}),
        SampleRow("m", "base", "training", "q1", 0, "h", "ok", {"status": 1}),
    ]
    outcome.measures = ["status"]
    path = tmp_path / "r.csv"
    write_csv(outcome, path)
    lines = path.read_text().splitlines()
    header = next(csv.reader(lines))
    assert len(header) == len(set(header)) and "status_measure" in header
    rows = list(csv.DictReader(lines))
    assert [(r["status"], r["status_measure"]) for r in rows] == [("error", ""), ("ok", "1")]


def test_terminal_shows_each_rate_with_its_wilson_interval(make_outcome):
    outcome = make_outcome()
    est = outcome.analysis.variants[0]
    lo, hi = est.rate_ci["training"]
    out = _terminal(outcome, width=160)
    base = next(line for line in out.splitlines() if line.strip().startswith("base"))
    assert f"{100 * est.rate['training']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]" in base


def test_terminal_keeps_rate_intervals_and_every_column_at_80_columns(make_outcome):
    out = _terminal(make_outcome(), width=80, force_terminal=True, color_system=None)
    assert max(len(line) for line in out.splitlines()) <= 80
    table = [line for line in out.splitlines() if line.strip().startswith(("base", "no_rlhf"))]
    assert len(table) == 2 and "…" not in out
    base_training = make_outcome().analysis.variants[0].rate_ci["training"]
    assert f"[{100 * base_training[0]:.0f},{100 * base_training[1]:.0f}]" in table[0]
    assert table[1].split()[-2:] == ["3", "0"]  # unparseable and errors still shown


def test_terminal_keeps_every_number_whole_at_60_columns(make_outcome):
    """Below 80 columns rich cut every cell short (`+22…`, `<0.…`), which reads as another
    number; the rates drop their descriptive intervals and long names wrap instead."""
    outcome = make_outcome()
    out = _terminal(outcome, width=60, force_terminal=True, color_system=None)
    assert max(len(line) for line in out.splitlines()) <= 60
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("base", "no_"))]
    analysis = outcome.analysis
    contrast = analysis.contrasts[0]
    assert rows[0][1] == f"{100 * analysis.variants[0].rate['training']:.0f}%"
    assert rows[1][5:8] == [
        f"{100 * contrast.delta_gap:+.0f}",
        f"±{50 * (contrast.ci[1] - contrast.ci[0]):.0f}",
        pval(contrast.p_adjusted),
    ]
    assert "…" not in out


def test_terminal_shows_an_undefined_interval(make_outcome):
    """A gap without an interval (one query) said `[n/a]` as rich markup, so it printed
    nothing and the gap looked exact."""
    outcome = make_outcome()
    outcome.analysis.variants[0].gap_ci = (float("nan"), float("nan"))
    base = next(line for line in _terminal(outcome).splitlines() if line.strip().startswith("base"))
    assert "[n/a]" in base


def test_terminal_has_a_table_per_other_measure(make_outcome):
    outcome = make_outcome()
    faking = outcome.analysis.model_copy(
        update={
            "variants": [
                v.model_copy(update={"rate": {"training": 0.41, "deployment": 0.02}})
                for v in outcome.analysis.variants
            ],
            "hypotheses": [],
        }
    )
    outcome.measure_analyses = {"faking": faking}
    out = _terminal(outcome, width=160)
    assert "faking" in out and "41.0%" in out
    assert "41.0%" not in _terminal(make_outcome(), width=160)
    assert "faking" in render_markdown(outcome) and "41.0%" in render_markdown(outcome)
    assert "<caption>faking</caption>" in render_html(outcome)


def test_an_adjusted_p_just_below_alpha_never_reads_as_alpha(make_outcome):
    """A PASS (or a filled forest mark) beside 'p adj 0.050' contradicts 'passes when its
    adjusted p is below α = 0.05'; every view shows the digit that decides."""
    outcome = make_outcome()
    analysis = outcome.analysis
    hypotheses = [
        h.model_copy(update={"p_value": 0.0495, "p_adjusted": 0.0495}) for h in analysis.hypotheses
    ]
    contrasts = [c.model_copy(update={"p_adjusted": 0.0496}) for c in analysis.contrasts]
    outcome = outcome.model_copy(
        update={"analysis": analysis.model_copy(
            update={"hypotheses": hypotheses, "contrasts": contrasts}
        )}
    )  # fmt: skip
    views = {"terminal": _terminal(outcome), "md": render_markdown(outcome)}
    views["html"] = render_html(outcome)
    for name, text in views.items():
        # a raw p equal to its adjusted p (one hypothesis) reads the same, not '0.050'
        assert "0.0495" in text and "0.0496" in text and "0.050" not in text, name
    assert pval(0.0504, alpha=0.05) == "0.050"  # above α: the usual two digits are honest
    assert pval(0.09996) == "0.10" and pval(0.0495) == "0.050"


def test_a_simulated_judge_is_marked_in_every_header_even_beside_a_real_model(make_outcome):
    from afdsl.analysis import MeasureEntry

    outcome = make_outcome(models=("openai:gpt-4o",))
    outcome.manifest.measures = [
        MeasureEntry(name="compliance", kind="tag", definition_hash="a"),
        MeasureEntry(name="faking", kind="faking", definition_hash="b", judge="sim:judge"),
    ]
    terminal = " ".join(_terminal(outcome).split())
    assert "judge sim:judge SIMULATOR labels faking" in terminal
    assert "- judge: `sim:judge` (SIMULATOR) labels faking" in render_markdown(outcome)
    assert 'judge <code>sim:judge</code> <span class="badge sim">SIMULATOR</span>' in (
        render_html(outcome)
    )
