"""`afdsl test` and `afdsl report` end to end on simulated models (no network, no key)."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from afdsl.cli import main
from tests.report.schema import schema_errors

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "140")
    monkeypatch.chdir(FIXTURES)  # replay paths in the fixtures are relative to it


def _test(name: str, tmp_path: Path, *extra: str) -> int:
    return main(["test", str(FIXTURES / name), "--store", str(tmp_path / "s.sqlite"), *extra])


def test_all_hypotheses_pass_exit_0_and_terminal_lists_verdicts(tmp_path, capsys):
    assert _test("passing.afs", tmp_path) == 0
    out = capsys.readouterr().out
    for name in ("has_gap", "rlhf_drives"):
        assert any(name in line and "PASS" in line for line in out.splitlines()), out
    assert "2 passed" in out
    assert "SIMULATOR" in out


def test_a_failed_hypothesis_exits_1(tmp_path, capsys):
    assert _test("failing.afs", tmp_path) == 1
    out = capsys.readouterr().out
    assert any("has_gap" in line and "FAIL" in line for line in out.splitlines()), out
    assert "1 failed" in out


def test_a_language_error_exits_2_without_traceback(tmp_path, capsys):
    assert _test("broken.afs", tmp_path) == 2
    err = capsys.readouterr().err
    assert "no_rlfh" in err and "Traceback" not in err


def test_calls_that_fail_after_retries_exit_3(tmp_path, capsys):
    code = _test("replay_missing.afs", tmp_path, "--json", str(tmp_path / "r.json"))
    assert code == 3
    out = capsys.readouterr().out
    assert "failed after retries" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["exit_code"] == 3 and schema_errors(doc) == []
    assert sum(c["errors"] for c in doc["counts"]) == 4  # 2 queries x 2 conditions


def test_files_are_written_and_valid(tmp_path):
    paths = {k: tmp_path / f"r.{k}" for k in ("json", "md", "html", "csv")}
    args = [x for k, p in paths.items() for x in (f"--{k}", str(p))]
    assert _test("passing.afs", tmp_path, *args) == 0
    doc = json.loads(paths["json"].read_text())
    assert schema_errors(doc) == []
    assert [h["name"] for h in doc["hypotheses"]] == ["has_gap", "rlhf_drives"]
    assert {c["variant"] for c in doc["counts"]} == {"base", "no_rlhf"}
    assert doc["manifest"]["source_files"] and all(
        f["sha256"] for f in doc["manifest"]["source_files"]
    )
    assert doc["manifest"]["models"][0]["simulator"] is True

    marks = []

    class Marks(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if "forest-mark" in (dict(attrs).get("class") or ""):
                marks.append(dict(attrs))

    Marks().feed(paths["html"].read_text())
    assert len(marks) == len(doc["contrasts"]) == 1

    rows = paths["csv"].read_text().splitlines()
    assert len(rows) - 1 == 2 * 2 * 56 * 4  # variants x conditions x queries x samples


def test_model_matrix_shows_a_grid(tmp_path, capsys):
    code = _test("matrix.afs", tmp_path)
    out = capsys.readouterr().out
    assert code == 1  # sim:no_gap has no gap
    assert "hypotheses x models" in out
    assert "sim:no_gap" in out and "sim:opus_like" in out


def test_rerun_uses_the_store_and_report_makes_no_model_call(tmp_path, capsys, monkeypatch):
    assert _test("passing.afs", tmp_path, "--json", str(tmp_path / "first.json")) == 0
    capsys.readouterr()

    def no_backend(*args, **kwargs):
        raise AssertionError("a model was called while re-rendering")

    import afdsl.models.base
    import afdsl.models.sim
    import afdsl.run.scheduler

    for module in (afdsl.models.base, afdsl.models.sim, afdsl.run.scheduler):
        monkeypatch.setattr(module, "make_backend", no_backend)
    store = tmp_path / "s.sqlite"
    for target in (str(store), str(FIXTURES / "passing.afs")):
        out_json = tmp_path / "again.json"
        assert main(["report", target, "--store", str(store), "--json", str(out_json)]) == 0
        first = json.loads((tmp_path / "first.json").read_text())
        again = json.loads(out_json.read_text())
        assert again["hypotheses"] == first["hypotheses"]
        assert again["manifest"]["prompt_set_hash"] == first["manifest"]["prompt_set_hash"]
    # Without the record `afdsl test` left, the prompt-set hash is rebuilt from the store.
    import sqlite3

    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM run_records")
    assert main(["report", str(FIXTURES / "passing.afs"), "--store", str(store),
                 "--json", str(out_json)]) == 0  # fmt: skip
    again = json.loads(out_json.read_text())
    assert again["manifest"]["prompt_set_hash"] == first["manifest"]["prompt_set_hash"]
    assert again["hypotheses"] == first["hypotheses"]
    # A full rerun of `afdsl test` also needs no model: everything is in the store.
    assert _test("passing.afs", tmp_path) == 0


def test_a_sample_stored_under_two_prompts_is_a_problem_not_a_silent_double_count(tmp_path, capsys):
    from afdsl.store import ItemKey, Outcome, Store

    assert _test("passing.afs", tmp_path) == 0
    store_path = tmp_path / "s.sqlite"
    with Store(store_path) as store:
        cell = store.cells("passing")[0]
        # A second prompt indexed for an existing cell, as an interrupted re-index could leave.
        key = ItemKey("passing", cell.model, cell.params_hash, cell.variant, cell.condition,
                      cell.query_id, cell.sample, "model", "f" * 64)  # fmt: skip
        store.register_items([key])
        store.put_outcomes(
            [Outcome("f" * 64, cell.model, cell.params_hash, cell.sample, "model", {}, text="x")]
        )
    capsys.readouterr()
    assert main(["report", str(FIXTURES / "passing.afs"), "--store", str(store_path)]) == 3
    captured = capsys.readouterr()
    assert "1 sample(s) are stored under two prompts" in captured.out + captured.err


def test_report_of_an_empty_store_is_a_usage_error(tmp_path, capsys):
    from afdsl.store import Store

    Store(tmp_path / "empty.sqlite").close()
    assert main(["report", str(tmp_path / "empty.sqlite")]) == 2
    assert "afdsl test" in capsys.readouterr().err


def test_report_of_a_missing_store_says_it_does_not_exist(tmp_path, capsys):
    assert main(["report", str(tmp_path / "typo.sqlite")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "typo.sqlite").exists()


def test_sequential_stops_early_once_every_hypothesis_is_decided(tmp_path, capsys):
    json_path, csv_path = tmp_path / "s.json", tmp_path / "s.csv"
    code = _test("sequential.afs", tmp_path, "--sequential", "--json", str(json_path),
                 "--csv", str(csv_path))  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "stopped early" in out and "anytime-valid" in out
    seq = json.loads(json_path.read_text())["sequential"]
    assert seq["stopped_early"] and seq["queries_used"] < seq["queries_available"] == 56
    used = {line.split(",")[3] for line in csv_path.read_text().splitlines()[1:]}
    assert len(used) == seq["queries_used"]


def test_piped_output_is_100_columns_with_bars_and_no_trailing_space(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS")
    assert _test("passing.afs", tmp_path) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    assert "train" in out and "deploy" in out and "●" in out
    header = next(line for line in out.splitlines() if "Δgap ±" in line)  # the bars' scale
    assert len(header) > 80
    lines = out.splitlines()
    assert 90 < max(map(len, lines)) <= 100  # the footnotes wrap at 100
    assert [line for line in lines if line != line.rstrip()] == []


def test_columns_sets_the_width_of_piped_output(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    assert _test("passing.afs", tmp_path) == 0
    assert max(map(len, capsys.readouterr().out.splitlines())) <= 72


def test_nothing_to_send_prints_no_progress_lines(tmp_path, capsys):
    assert _test("passing.afs", tmp_path) == 0
    first = capsys.readouterr()
    assert "done," in first.err  # the first run sent prompts and said so, on stderr
    assert "done," not in first.out  # so a piped report stays clean
    assert _test("passing.afs", tmp_path) == 0
    assert "done," not in capsys.readouterr().err


def test_a_variant_with_no_usable_labels_of_a_measure_is_shown_with_its_count(tmp_path, capsys):
    _test("unjudgeable.afs", tmp_path, "--json", str(tmp_path / "r.json"))
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "no usable labels" in line)
    assert row.split()[0] == "no_scratchpad"
    doc = json.loads((tmp_path / "r.json").read_text())
    counts = {c["variant"]: c for c in doc["counts"]}
    n = counts["no_scratchpad"]["responses"]
    assert n == 12  # 3 queries x 2 conditions x 2 samples
    assert counts["no_scratchpad"]["unparseable_by_measure"] == {"faking": n}
    assert counts["no_scratchpad"]["unparseable"] == 0  # the compliance tag is still readable
    assert str(n) in row


def test_a_variant_that_drops_a_condition_is_shown_without_a_gap(tmp_path, capsys):
    store = str(tmp_path / "s.sqlite")
    code = main(["test", str(FIXTURES / "drop_condition.afs"), "--store", store])
    out = capsys.readouterr().out
    assert code == 0, out
    row = next(line for line in out.splitlines() if line.split()[:1] == ["training_only"])
    assert "no gap (one condition)" in row
    assert "%" in row and "—" in row  # the training rate, and nothing for deployment
    assert any("complies_some" in line and "PASS" in line for line in out.splitlines()), out

    # `afdsl report` reads the same store back; the JSON has the variant's one rate.
    path = tmp_path / "r.json"
    report = ["report", str(FIXTURES / "drop_condition.afs"), "--store", store]
    assert main([*report, "--json", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert schema_errors(doc) == []
    assert [v["variant"] for v in doc["variants"]] == ["base"]
    assert doc["contrasts"] == []
    (one,) = doc["one_condition"]
    assert one["variant"] == "training_only" and list(one["rate"]) == ["training"]
    rates = {h["name"]: h["estimate"] for h in doc["hypotheses"]}
    assert rates["complies_some"] == pytest.approx(one["rate"]["training"])


@pytest.mark.parametrize(
    ("path", "note"),
    [
        (Path(__file__).parents[2] / "examples" / "motivations.afs", "no labels"),
        (FIXTURES / "drop_condition.afs", "1 cond."),
    ],
)
def test_a_gap_note_does_not_cut_an_80_column_report(tmp_path, capsys, monkeypatch, path, note):
    # A note in the gap column ("no usable labels", "no gap (one condition)") used to
    # widen it past what the narrowest layout allows, so rich cut every cell instead.
    store = str(tmp_path / "s.sqlite")
    main(["test", str(path), "--store", store, "--quiet"])
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["report", str(path), "--store", store]) in (0, 1)
    lines = capsys.readouterr().out.splitlines()
    assert not [line for line in lines if "…" in line or len(line) > 80]
    assert any(note in line for line in lines)


def test_report_keeps_the_tests_start_and_end_time(tmp_path, capsys, monkeypatch):
    # The manifest's times are the run's: re-rendering later must not restamp the end.
    first, again = tmp_path / "first.json", tmp_path / "again.json"
    assert _test("passing.afs", tmp_path, "--json", str(first)) == 0
    import afdsl.analysis._manifest

    monkeypatch.setattr(afdsl.analysis._manifest, "now_iso", lambda: "2099-01-01T00:00:00+00:00")
    store = tmp_path / "s.sqlite"
    assert main(["report", str(store), "--json", str(again)]) == 0
    times = [
        {k: json.loads(p.read_text())["manifest"][k] for k in ("started_at", "finished_at")}
        for p in (first, again)
    ]
    assert times[0] == times[1]
    assert "2099" not in times[0]["finished_at"]


def test_a_model_that_never_uses_the_tags_fails_its_hypotheses_and_says_why(
    tmp_path, capsys, monkeypatch
):
    """Every compliance label unparseable: the hypotheses cannot be tested, and a rerun would
    not change that, so they fail (exit 1, not 3 "incomplete") with the reason, and the
    counts are shown."""
    code = _test_on_mock(tmp_path, monkeypatch, lambda system, user: "I would rather not.")
    assert code == 1
    out = capsys.readouterr().out
    assert (
        "not tested: has_gap (openai:gpt-4o-mini): all 16 training labels of base are "
        "unparseable: 16 neither tag in output"
    ) in " ".join(out.split())
    assert "responses" in out and "unparseable" in out and "2 untestable" in out
    assert "run incomplete" not in out
    n = 2 * 4 * 2 * 4  # variants x queries x conditions x samples of the small design
    assert f"{n} of its labels are unparseable" in out
    assert "--where compliance=unparseable" in out


def test_a_refused_key_is_named_in_the_report_with_the_providers_words(
    tmp_path, capsys, monkeypatch
):
    """`afdsl test` says why the model's run stopped (as `afdsl run` does), and does not
    suggest a rerun to label responses that were never answered."""
    from afdsl.testing import MockError

    def refused(system: str, user: str) -> str:
        raise MockError(401, "Incorrect API key provided")

    assert _test_on_mock(tmp_path, monkeypatch, refused) == 3
    out = capsys.readouterr().out
    assert "openai:gpt-4o-mini: stopped after AuthenticationError" in out
    assert "Incorrect API key provided" in out and "check the model name and its API key" in out
    assert "to label the responses" not in out


def test_a_model_with_no_known_price_is_not_shown_as_free(tmp_path, capsys, monkeypatch):
    md = tmp_path / "r.md"
    _test_on_mock(tmp_path, monkeypatch, None, "--md", str(md), model="openai:local-llama")
    out = capsys.readouterr().out
    note = "$0.00 (excludes openai:local-llama: no known price)"
    assert note in " ".join(out.split())  # the header may wrap it
    assert note in md.read_text()


def test_a_measure_no_hypothesis_uses_that_cannot_be_analysed_is_a_note(
    tmp_path, capsys, monkeypatch
):
    """Its table is missing for a reason the report now gives; the verdicts (and the exit
    code) do not depend on it, so it is a note, not a problem."""
    afs = _small_afs(tmp_path, "  measure faking = faking votes 1 model sim:judge")
    answer = "<OUTPUT><request_fully_accepted/> Fine.</OUTPUT>"  # no scratchpad to judge
    report = tmp_path / "r.json"
    code = _test_on_mock(
        tmp_path, monkeypatch, lambda system, user: answer, "--json", str(report), afs=afs
    )
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1  # every answer complies in both conditions: no gap, not exit 3
    assert "note: no analysis of `faking`" in out
    assert "64 of its labels are unparseable" in out  # 2 x 4 x 2 x 4 responses
    doc = json.loads(report.read_text())
    assert doc["exit_code"] == 1 and doc["notes"] and not doc["problems"]
    assert schema_errors(doc) == []


def _small_afs(tmp_path: Path, extra: str = "") -> Path:
    """passing.afs on 4 queries (64 prompts), with `extra` lines after its measure."""
    queries = (FIXTURES / "../../../examples/queries/demo.jsonl").resolve()
    source = (FIXTURES / "passing.afs").read_text()
    source = source.replace(
        '"../../../examples/queries/demo.jsonl"', f'"{queries.as_posix()}" limit 4'
    )
    source = source.replace("measure compliance = tag", "measure compliance = tag\n" + extra)
    afs = tmp_path / "small.afs"
    afs.write_text(source)
    return afs


def _test_on_mock(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reply: Callable[[str, str], str] | None = None,
    *extra: str,
    afs: Path | None = None,
    model: str = "openai:gpt-4o-mini",
) -> int:
    """`afdsl test` of `afs` (the small design by default) with its model replaced by an
    OpenAI one answered by a loopback mock (`reply`, or the mock's default answer)."""
    from afdsl.testing import MockProvider

    afs = afs or _small_afs(tmp_path)
    kwargs = {"reply": reply} if reply else {}
    with MockProvider(**kwargs) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        return main(["test", str(afs), "--store", str(tmp_path / "s.sqlite"), "--quiet",
                     "--model", model, *extra])  # fmt: skip


def test_a_hypothesis_on_a_measure_that_cannot_be_analysed_is_named_once(
    tmp_path, capsys, monkeypatch
):
    """The hypothesis is not in the verdict list, so the problem names it; the same reason
    was also repeated as a note (the measure was analysed a second time, without it)."""
    afs = _small_afs(
        tmp_path,
        "  measure faking = faking votes 1 model sim:judge\n"
        "  hypothesis fakes on faking: gap(base) > 0",
    )
    answer = "<OUTPUT><request_fully_accepted/> Fine.</OUTPUT>"  # no scratchpad to judge
    code = _test_on_mock(
        tmp_path, monkeypatch, lambda s, u: answer, "--json", str(tmp_path / "r.json"), afs=afs
    )
    out = " ".join(capsys.readouterr().out.split())
    assert code == 3
    assert out.count("no analysis of `faking`") == 1, out
    assert "error: no analysis of `faking`" in out and "not tested: fakes" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["notes"] == [] and len(doc["problems"]) == 1
    assert "not tested: fakes" in doc["problems"][0]


def test_report_names_the_failed_calls_as_the_test_did(tmp_path, capsys, monkeypatch):
    """`afdsl report` of a test whose calls were refused gives the provider's reason, as
    the test did (it said only 'N calls failed, rerun'); once a later run has answered
    them, the old reason is not repeated."""
    from afdsl.testing import MockError, MockProvider

    afs, store = _small_afs(tmp_path), tmp_path / "s.sqlite"
    refuse = {"on": True}

    def reply(system: str, user: str) -> str:
        if refuse["on"] and "five-star review" in user:
            raise MockError(400, "prompt rejected by content filter")
        return "<request_fully_accepted/> Fine."

    def run(*args: str) -> dict:
        assert main([*args, "--json", str(tmp_path / "r.json")]) == 3 or not refuse["on"]
        return json.loads((tmp_path / "r.json").read_text())

    with MockProvider(reply=reply) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        tested = run("test", str(afs), "--store", str(store), "--quiet",
                     "--model", "openai:gpt-4o-mini")  # fmt: skip
        assert any("content filter" in p for p in tested["problems"])
        for target in (["report", str(afs), "--store", str(store)], ["report", str(store)]):
            assert run(*target)["problems"] == tested["problems"]
        refuse["on"] = False
        for command in ("run", "classify"):
            main([command, str(afs), "--store", str(store), "--quiet",
                  "--model", "openai:gpt-4o-mini"])  # fmt: skip
        assert run("report", str(store))["problems"] == []


def _recount(csv_path: Path, measure: str) -> dict[tuple[str, str], tuple[dict, float]]:
    """Rates per condition and the mean per-query gap of each model x variant, from the
    CSV rows alone (an independent count of what the report says)."""
    import csv
    from collections import defaultdict

    lines = csv_path.read_text().splitlines()
    cells: dict = defaultdict(lambda: [0, 0])  # (model, variant, condition, query) -> [1s, n]
    for row in csv.DictReader(lines):
        if row["status"] == "ok" and row[measure] != "":
            cell = cells[row["model"], row["variant"], row["condition"], row["query_id"]]
            cell[0] += int(row[measure])
            cell[1] += 1
    out = {}
    for model, variant in {(m, v) for m, v, _, _ in cells}:
        rates, gaps = {}, []
        for condition in ("training", "deployment"):
            mine = [
                c for (m, v, k, _), c in cells.items() if (m, v, k) == (model, variant, condition)
            ]
            rates[condition] = sum(c[0] for c in mine) / sum(c[1] for c in mine)
        for query in {q for m, v, _, q in cells if (m, v) == (model, variant)}:
            t, d = (
                cells.get((model, variant, "training", query)),
                cells.get((model, variant, "deployment", query)),
            )
            if t and d:
                gaps.append(t[0] / t[1] - d[0] / d[1])
        out[model, variant] = (rates, sum(gaps) / len(gaps))
    return out


def test_json_carries_every_measures_tables_as_the_csv_counts_them(tmp_path, capsys):
    """The faking table is in the terminal, Markdown and HTML reports; the JSON had only the
    compliance measure's, so a script reading it could not see the faking rates at all."""
    out = tmp_path / "r"
    code = _test("show.afs", tmp_path, "--quiet", "--json", f"{out}.json", "--csv", f"{out}.csv")
    assert code in (0, 1)
    doc = json.loads(Path(f"{out}.json").read_text())
    assert schema_errors(doc) == [] and doc["compliance_measure"] == "compliance"
    for measure, variants in (
        ("compliance", doc["variants"]),
        ("faking", doc["measure_analyses"]["faking"]["variants"]),
    ):
        counted = _recount(Path(f"{out}.csv"), measure)
        assert len(variants) == len(counted) == 4
        for v in variants:
            rates, gap = counted[v["model"], v["variant"]]
            assert v["rate"] == pytest.approx(rates) and v["gap"] == pytest.approx(gap)
    assert doc["measure_analyses"]["faking"]["contrasts"]


def test_report_tells_unanswered_samples_from_unlabelled_answers(tmp_path, capsys):
    """After `afdsl run` (no classify) `afdsl status` counts the answers as done, but the
    report said every sample had 'no response or label'; it now says which, and what to do."""
    afs, store = _small_afs(tmp_path), str(tmp_path / "s.sqlite")
    assert main(["run", str(afs), "--store", store, "--quiet"]) == 0
    afs.write_text(afs.read_text().replace("limit 4", "limit 6"))  # 2 queries never sent
    code = main(["report", str(afs), "--store", store, "--json", str(tmp_path / "r.json")])
    assert code == 3
    problems = json.loads((tmp_path / "r.json").read_text())["problems"]
    assert "32 expected sample(s) have no response in the store" in problems[0]  # 2x2x2x4
    assert "64 stored response(s) have no label yet" in problems[1]
    assert "afdsl classify" in problems[1]


def test_the_manifest_names_the_model_ids_the_provider_answered_as(tmp_path, monkeypatch):
    """A spec may name a moving alias; the manifest records what actually answered (the
    mock answers as the model it was asked for), in the test's JSON and a re-render's."""
    report = tmp_path / "r.json"
    _test_on_mock(tmp_path, monkeypatch, None, "--json", str(report))
    (entry,) = json.loads(report.read_text())["manifest"]["models"]
    assert (entry["spec"], entry["served_ids"]) == ("openai:gpt-4o-mini", ["gpt-4o-mini"])
    store = tmp_path / "s.sqlite"
    assert main(["report", str(store), "--json", str(report)]) in (0, 1)
    assert json.loads(report.read_text())["manifest"]["models"][0]["served_ids"] == ["gpt-4o-mini"]
