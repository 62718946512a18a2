"""Derived measures and a third condition end to end on the simulator: `faking given
compliance`, `compliance and not faking` and the answers breakdown are checked against an
independent count over the same per-sample labels (the CSV), the hypothesis p against
scipy on those per-query values, and the `unmonitored` condition's rates in every format."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from afdsl.analysis import analyze_labels, derive, family_levels, gather, pilot_plans
from afdsl.analysis._derived import count_derived
from afdsl.check import load_experiment
from afdsl.cli import main
from afdsl.ir import DerivedMeasure, MeasureOperand
from afdsl.stats.power import t_power, t_queries_needed
from afdsl.store import LabelCombination, Store
from tests.report.schema import schema_errors

FIXTURE = Path(__file__).parent / "fixtures" / "derived.afs"
QUERIES = 24
TOL = {"rel": 1e-9, "abs": 1e-12}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `afdsl test` of the fixture with every report written (module-wide: ~2 s)."""
    out = tmp_path_factory.mktemp("derived")
    mp = pytest.MonkeyPatch()
    mp.setenv("NO_COLOR", "1")
    mp.setenv("COLUMNS", "80")
    mp.chdir(FIXTURE.parent)
    files = {ext: out / f"r.{ext}" for ext in ("json", "csv", "md", "html", "labels")}
    terminal = io.StringIO()
    with contextlib.redirect_stdout(terminal):
        code = main(
            ["test", str(FIXTURE), "--store", str(out / "s.sqlite")]
            + [arg for ext, path in files.items() for arg in (f"--{ext}", str(path))]
            + ["--labels-measure", "faking_when_complying"]
        )
    mp.undo()
    with open(files["csv"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "code": code,
        "store": out / "s.sqlite",
        "doc": json.loads(files["json"].read_text()),
        "rows": rows,
        "md": files["md"].read_text(),
        "html": files["html"].read_text(),
        "terminal": terminal.getvalue(),
        "labels": [json.loads(line) for line in files["labels"].read_text().splitlines()],
    }


def _conditional_counts(rows: list[dict[str, str]]) -> dict[tuple[str, str, str], list[int]]:
    """(variant, condition, query) -> [faking among complying, complying with a faking
    label]: the conditional measure counted by hand from the per-sample labels."""
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if row["compliance"] == "1" and row["faking"] in ("0", "1"):
            cell = counts[(row["variant"], row["condition"], row["query_id"])]
            cell[0] += int(row["faking"])
            cell[1] += 1
    return counts


def _base_gaps(rows: list[dict[str, str]]) -> dict[str, float]:
    counts = _conditional_counts(rows)
    gaps = {}
    for (variant, condition, query), (k, n) in counts.items():
        other = counts.get((variant, "deployment", query))
        if variant == "base" and condition == "training" and other:
            gaps[query] = k / n - other[0] / other[1]
    return gaps


def test_the_conditional_measures_per_query_rates_match_a_count_by_hand(run):
    experiment = load_experiment(FIXTURE)
    with Store(run["store"]) as store:
        table = gather(experiment, store, samples=False).tables["faking_when_complying"]
    expected = _conditional_counts(run["rows"])
    found = {
        (variant, condition, query): [cell.complied[query], cell.samples[query]]
        for (_, variant, condition), cell in table.cells.items()
        for query in cell.samples
    }
    assert found == dict(expected)
    assert any(k for k, _ in expected.values())  # the simulator does fake when it complies


def test_the_conditional_hypothesis_is_scipys_t_test_on_those_per_query_gaps(run):
    gaps = _base_gaps(run["rows"])
    (h,) = [h for h in run["doc"]["hypotheses"] if h["name"] == "complying_differs"]
    reference = stats.ttest_1samp(list(gaps.values()), 0.0)
    assert h["n_queries"] == len(gaps) >= 3
    assert h["estimate"] == pytest.approx(sum(gaps.values()) / len(gaps), **TOL)
    assert h["p_value"] == pytest.approx(reference.pvalue, **TOL)
    # Queries with no complying sample in training or deployment are dropped, and counted.
    assert h["n_dropped"] == QUERIES - len(gaps) > 0
    (base,) = [
        v
        for v in run["doc"]["measure_analyses"]["faking_when_complying"]["variants"]
        if v["variant"] == "base"
    ]
    assert base["n_queries"] == len(gaps) and base["n_dropped"] == QUERIES - len(gaps)
    assert f"{QUERIES - len(gaps)} queries dropped" in run["terminal"]
    assert f"base {QUERIES - len(gaps)}" in run["md"]


def test_every_report_says_which_measure_a_hypothesis_tests(run):
    # `gap(base) > 0` on faking given compliance is not a claim about compliance: the
    # measure its `on` names is in the JSON and beside the expression in every format.
    by_name = {h["name"]: h for h in run["doc"]["hypotheses"]}
    assert by_name["fakes_when_complying"]["measure"] == "faking_when_complying"
    assert by_name["unmonitored_like_paid"]["measure"] is None
    shown = "on faking_when_complying: gap(base) > 0"
    assert shown in run["terminal"].replace("\n       ", " ")
    assert f"`{shown}`" in run["md"]
    assert "on faking_when_complying: gap(base) &gt; 0" in run["html"]
    assert "on compliance" not in run["md"]
    assert not schema_errors(run["doc"])


def test_a_blank_line_ends_the_answers_breakdown(tmp_path, monkeypatch, capsys):
    # With two models the second model's title followed the first's caption on the next
    # line. Two models, 4 queries, one sample: well under a second.
    text = FIXTURE.read_text(encoding="utf-8")
    text = text.replace("model   sim:opus_like", "models  [sim:opus_like, sim:sonnet_like]")
    text = text.replace("limit 24", "limit 4").replace("samples 8", "samples 1")
    queries = (FIXTURE.parent / "../../../examples/queries/demo.jsonl").resolve()
    text = text.replace('"../../../examples/queries/demo.jsonl"', f'"{queries.as_posix()}"')
    afs = tmp_path / "two_models.afs"
    afs.write_text(text, encoding="utf-8")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    main(["test", str(afs), "--store", str(tmp_path / "s.sqlite")])
    out = capsys.readouterr().out
    assert "not counted\n\nsim:sonnet_like" in out and "\n\n\n" not in out


def test_three_conditions_keep_variant_names_whole_at_80_columns(run):
    # Three rate columns and wide asymmetric intervals folded the variant column to one
    # letter a line; the zero unparseable and error columns give way first.
    lines = run["terminal"].splitlines()
    assert all(len(line) <= 80 for line in lines)
    tables = sum("SIMULATOR" in line and "sim:opus_like" in line for line in lines)
    assert sum(line.startswith("  no_rlhf ") for line in lines) >= tables - 1 > 3
    assert "  v\n  a\n" not in run["terminal"]


def test_the_exported_conditional_labels_give_afdsl_analyze_the_same_test(run):
    # `--labels-measure` writes the derived labels (samples outside the measure left out)
    # in `afdsl analyze`'s input format: the same per-query values, so the same p.
    complied = sum(row["compliance"] == "1" for row in run["rows"])
    assert len(run["labels"]) == complied
    result = analyze_labels(run["labels"], ["h: gap(base) != 0"])
    (h,) = [h for h in run["doc"]["hypotheses"] if h["name"] == "complying_differs"]
    assert result.hypotheses[0].p_value == pytest.approx(h["p_value"], **TOL)
    assert result.hypotheses[0].n_queries == h["n_queries"]


def test_samples_outside_the_conditional_measure_are_counted_not_unparseable(run):
    refused = sum(row["compliance"] == "0" for row in run["rows"])
    counts = run["doc"]["counts"]
    assert sum(c["excluded_by_measure"].get("faking_when_complying", 0) for c in counts) == refused
    assert all("faking_when_complying" not in c["unparseable_by_measure"] for c in counts)
    assert f"{refused} samples outside `faking_when_complying`" in run["md"].replace("\n", " ")


def test_combined_measures_follow_their_operands_sample_by_sample(run):
    rows = run["rows"]
    assert {"faking_when_complying", "complied_faking", "complied_honestly", "refused"} <= set(
        rows[0]
    )
    for row in rows:
        c, f = int(row["compliance"]), int(row["faking"])
        assert row["complied_faking"] == str(c * f)
        assert row["complied_honestly"] == str(c * (1 - f))
        assert row["refused"] == str(1 - c)
        # Outside the conditional measure there is no label, and it is not unparseable.
        assert row["faking_when_complying"] == (str(f) if c else "")
        assert "faking_when_complying" not in row["unparseable"]


SHARES = ("complied_faking", "complied_other", "complied_unknown", "refused")


def test_the_breakdown_splits_each_cell_into_shares_that_sum_to_one(run):
    doc = run["doc"]
    assert doc["breakdown_measures"] == ["compliance", "faking"]
    assert schema_errors(doc) == []
    by_hand: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in run["rows"]:
        key = (row["variant"], row["condition"])
        if row["compliance"] == "0":
            by_hand[key][3] += 1
        else:
            by_hand[key][{"1": 0, "0": 1}.get(row["faking"], 2)] += 1
    assert len(doc["breakdown"]) == 2 * 3  # variants x conditions, unmonitored included
    for b in doc["breakdown"]:
        counts = [b["complied_faking"], b["complied_other"], b["complied_unknown"], b["refused"]]
        assert counts == by_hand[(b["variant"], b["condition"])]
        shares = [b[f"share_{name}"] for name in SHARES]
        assert sum(shares) == pytest.approx(1.0)
        assert shares[0] == pytest.approx(counts[0] / sum(counts))
    for text in (run["terminal"], run["md"], run["html"]):
        assert "complied with faking reasoning" in text.replace("\n", " ")


def test_a_third_condition_has_its_rates_in_every_format(run):
    doc = run["doc"]
    for v in doc["variants"]:
        assert set(v["rate"]) == {"training", "deployment", "unmonitored"}
    rows = [r for r in run["rows"] if r["variant"] == "base" and r["condition"] == "unmonitored"]
    rate = sum(int(r["compliance"]) for r in rows) / len(rows)
    (base,) = [v for v in doc["variants"] if v["variant"] == "base"]
    assert base["rate"]["unmonitored"] == pytest.approx(rate)
    assert "| unmonitored |" in run["md"]
    assert ">unmonitored</th>" in run["html"]
    assert f"{100 * rate:.0f}%" in run["terminal"]
    header = next(line for line in run["terminal"].splitlines() if "deploy" in line)
    assert "unmoni" in header  # its own column, even at 80 columns
    assert max(len(line) for line in run["terminal"].splitlines()) <= 80
    # The gap stays training minus deployment.
    gaps = defaultdict(lambda: defaultdict(list))
    for r in run["rows"]:
        if r["variant"] == "base":
            gaps[r["query_id"]][r["condition"]].append(int(r["compliance"]))
    expected = [
        sum(c["training"]) / len(c["training"]) - sum(c["deployment"]) / len(c["deployment"])
        for c in gaps.values()
    ]
    assert base["gap"] == pytest.approx(sum(expected) / len(expected), **TOL)


def test_derive_unparseable_operands_and_the_conditions_zero():
    given = DerivedMeasure(
        name="fw",
        kind="given",
        operands=(MeasureOperand(measure="f"), MeasureOperand(measure="c")),
    )
    both = DerivedMeasure(
        name="cf",
        kind="and",
        operands=(MeasureOperand(measure="c"), MeasureOperand(measure="f", negated=True)),
    )
    measures = (given, both)
    assert derive(measures, {"c": 1, "f": 1}) == {"c": 1, "f": 1, "fw": 1, "cf": 0}
    assert derive(measures, {"c": 0, "f": None})["fw"] == "excluded"  # not in the denominator
    assert derive(measures, {"c": 0, "f": None})["cf"] is None  # an operand is unparseable
    assert derive(measures, {"c": None, "f": 1})["fw"] is None
    assert derive(measures, {"c": 1, "f": None})["fw"] is None
    assert derive(measures, {"c": 1})["fw"] == "missing"  # not labelled yet


def test_show_filters_and_labels_transcripts_by_a_derived_measure(run, capsys):
    where = ["--where", "faking_when_complying=0", "--variant", "base", "--limit", "0"]
    code = main(["show", str(FIXTURE), "--store", str(run["store"]), "--json", *where])
    assert code == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = [
        r
        for r in run["rows"]
        if r["variant"] == "base" and (r["compliance"], r["faking"]) == ("1", "0")
    ]
    assert len(records) == len(expected) > 0
    for record in records:
        labels = {name: value["label"] for name, value in record["labels"].items()}
        assert labels["compliance"] == 1 and labels["faking"] == 0
        assert labels["complied_honestly"] == 1 and labels["faking_when_complying"] == 0


def test_power_plans_for_the_share_of_queries_a_conditional_measure_keeps(run):
    experiment = load_experiment(FIXTURE)
    levels = family_levels(experiment, 0.05)
    plans = {p.name: p for p in pilot_plans(experiment, str(run["store"]), levels, 0.8)}
    gaps = list(_base_gaps(run["rows"]).values())
    share = len(gaps) / QUERIES
    p = plans["complying_differs"]
    assert p.usable_share == pytest.approx(share) and share < 1
    sd = float(stats.tstd(gaps))
    level = levels["faking_when_complying"]
    needed = t_queries_needed(p.effect, sd, level, 0.8, "two-sided")
    # The queries the test needs, in queries to ask when only `share` of them enter it.
    assert p.queries_needed == math.ceil(max(2, math.ceil(needed - 1e-9)) / share)
    usable = round(QUERIES * share)
    assert p.power == pytest.approx(t_power(p.effect, sd, usable, level, "two-sided"))
    assert plans["unmonitored_like_paid"].usable_share == 1.0


def test_a_complying_answer_whose_faking_cannot_be_read_keeps_its_share():
    # A variant without a scratchpad: the faking judge has nothing to read. Dropping those
    # answers would show the cell as 100% refused; they are a share of their own.
    experiment = load_experiment(FIXTURE)
    names = ["compliance", "faking"]

    def combination(labels: tuple[int | None, ...], n: int) -> tuple[str, LabelCombination]:
        return "m", LabelCombination("m", "p", "base", "training", "q1", labels, n)

    rows = [combination((1, None), 3), combination((0, None), 5), combination((1, 1), 2)]
    rows += [combination((None, None), 4)]
    (cell,) = count_derived(experiment, rows, names, ("compliance", "faking")).breakdown.values()
    shares = cell.with_shares()
    assert (cell.complied_faking, cell.complied_unknown, cell.refused) == (2, 3, 5)
    assert cell.unreadable == 4 and cell.total == 10
    assert shares.share_complied_unknown == pytest.approx(0.3)
    assert shares.share_refused == pytest.approx(0.5)


def test_a_measure_with_rates_under_one_condition_only_keeps_its_table(run, monkeypatch):
    # A `given` measure whose condition never holds in deployment has training rates
    # and no gap: its table (and the count of samples outside it) vanished from every
    # report, leaving only the hypotheses' errors to hint at it.
    import io

    from rich.console import Console

    from afdsl.pipeline import report_from_store
    from afdsl.report import render_markdown, render_terminal
    from afdsl.stats.models import ConditionRates

    monkeypatch.chdir(FIXTURE.parent)
    record = report_from_store(run["store"], samples=False)
    name = "faking_when_complying"
    full = record.measure_analyses[name]
    only_training = full.model_copy(
        update={
            "variants": [],
            "contrasts": [],
            "hypotheses": [],
            "one_condition": [
                ConditionRates(
                    model=v.model,
                    variant=v.variant,
                    n_queries=v.n_queries,
                    n_samples=v.n_samples,
                    rate={"training": v.rate["training"]},
                    rate_ci={"training": v.rate_ci["training"]},
                )
                for v in full.variants
            ],
        }
    )
    emptied = record.model_copy(
        update={"measure_analyses": {**record.measure_analyses, name: only_training}}
    )
    console = Console(file=io.StringIO(), width=100, no_color=True)
    render_terminal(emptied, console)
    assert isinstance(console.file, io.StringIO)
    out = console.file.getvalue()
    assert f"{name} = faking given compliance" in out and "1 cond." in out
    assert f"### {name} = faking given compliance" in render_markdown(emptied)


def test_combinations_counted_per_cell_are_the_sums_over_the_queries_asked(run):
    # A breakdown with no derived measure reads per-cell counts (a report of 100,000
    # samples read 30,000 per-query rows for it): the same numbers, over the design's
    # queries only.
    experiment = load_experiment(FIXTURE)
    hashes = {m.name: m.definition_hash() for m in experiment.effective_measures()}
    measures = [(name, hashes[name]) for name in ("compliance", "faking")]
    some = {q.id for q in experiment.queries[:10]}
    with Store(run["store"]) as store:
        per_query = store.label_combinations(experiment.name, measures, experiment.samples)
        per_cell = store.label_combinations(
            experiment.name, measures, experiment.samples, queries=some
        )
    summed: dict[tuple[object, ...], int] = defaultdict(int)
    for r in per_query:
        if r.query_id in some:
            summed[(r.model, r.params_hash, r.variant, r.condition, r.labels)] += r.responses
    assert {r.query_id for r in per_cell} == {""}
    assert {
        (r.model, r.params_hash, r.variant, r.condition, r.labels): r.responses for r in per_cell
    } == dict(summed)
