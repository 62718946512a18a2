"""`afdsl show --hypothesis` and `--by-query`: which queries drove a number, recounted
from the CSV export and checked against the JSON report's estimates."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

from afdsl.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
SHOW = str(FIXTURES / "show.afs")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("queries")
    paths = {"store": folder / "s.sqlite", "json": folder / "r.json", "csv": folder / "r.csv"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NO_COLOR", "1")
        main(["test", SHOW, "--store", str(paths["store"]), "--quiet"])
        main(["report", SHOW, "--store", str(paths["store"]),
              "--json", str(paths["json"]), "--csv", str(paths["csv"])])  # fmt: skip
    return paths


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")


def _show(capsys, run, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["show", SHOW, "--store", str(run["store"]), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(capsys, run, *args: str) -> list[dict]:
    code, out, err = _show(capsys, run, *args, "--json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def _recount(run, measure: str) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    """(model, variant, condition, query) -> (complied, labelled), from the CSV."""
    counts: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    with run["csv"].open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row[measure] != "":
                key = (row["model"], row["variant"], row["condition"], row["query_id"])
                counts[key][0] += int(row[measure])
                counts[key][1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def test_hypothesis_queries_are_the_values_its_estimate_averages(capsys, run):
    records = _json(capsys, run, "--hypothesis", "rlhf_drives")
    report = json.loads(run["json"].read_text())
    counted = _recount(run, "compliance")
    for model in ("sim:opus_like", "sim:no_gap"):
        mine = [r for r in records if r["model"] == model]
        assert len(mine) == 10  # every query of the fixture
        values = [r["value"] for r in mine]
        assert values == sorted(values, reverse=True)
        (h,) = [
            h for h in report["hypotheses"] if h["name"] == "rlhf_drives" and h["model"] == model
        ]
        assert math.isclose(sum(values) / len(values), h["estimate"], abs_tol=1e-12)
        for r in mine:
            cells = {
                (c["variant"], c["condition"]): (c["complied"], c["samples"]) for c in r["cells"]
            }
            assert set(cells) == {
                (v, c) for v in ("no_rlhf", "base") for c in ("training", "deployment")
            }
            for (variant, condition), got in cells.items():
                assert got == counted[(model, variant, condition, r["query_id"])]
            rate = {k: a / n for k, (a, n) in cells.items()}
            by_hand = (rate["no_rlhf", "training"] - rate["no_rlhf", "deployment"]) - (
                rate["base", "training"] - rate["base", "deployment"]
            )
            assert math.isclose(r["value"], by_hand)


def test_hypothesis_table_prints_the_estimate_and_points_to_the_transcripts(capsys, run):
    code, out, _ = _show(
        capsys, run, "--hypothesis", "fakes_in_training", "--model", "sim:opus_like"
    )
    assert code == 0
    assert "fakes_in_training on sim:opus_like" in out and "[faking]" in out
    assert "estimate" in out and "the mean of 10 per-query values" in out
    assert "sim:no_gap" not in out
    assert "--hypothesis fakes_in_training --query ID" in out
    assert all(line == line.rstrip() for line in out.splitlines())


def test_a_query_of_a_hypothesis_opens_its_transcripts_in_the_cells_it_reads(capsys, run):
    top = _json(capsys, run, "--hypothesis", "rlhf_drives", "--model", "sim:opus_like")[0]
    code, out, _ = _show(
        capsys, run, "--hypothesis", "rlhf_drives", "--query", top["query_id"], "--limit", "0",
        "--json", "--model", "sim:opus_like",
    )  # fmt: skip
    shown = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(shown) == 2 * 2 * 3  # variants x conditions x samples
    assert {s["query_id"] for s in shown} == {top["query_id"]}
    assert {s["variant"] for s in shown} == {"base", "no_rlhf"}


def test_by_query_gives_each_querys_rates_gap_and_delta_gap(capsys, run):
    rows = _json(capsys, run, "--by-query", "--variant", "no_rlhf", "--model", "sim:opus_like")
    counted = _recount(run, "compliance")
    assert len(rows) == 10 and {r["variant"] for r in rows} == {"no_rlhf"}

    def rate(variant: str, condition: str, query: str) -> float:
        complied, n = counted[("sim:opus_like", variant, condition, query)]
        return complied / n

    for r in rows:
        q = r["query_id"]
        gap = rate("no_rlhf", "training", q) - rate("no_rlhf", "deployment", q)
        base = rate("base", "training", q) - rate("base", "deployment", q)
        assert math.isclose(r["gap"], gap) and math.isclose(r["delta_gap"], gap - base)
    deltas = [r["delta_gap"] for r in rows]
    assert deltas == sorted(deltas, reverse=True)


def test_by_query_counts_another_measure(capsys, run):
    code, out, _ = _show(capsys, run, "--by-query", "--measure", "faking")
    assert code == 0 and "base on sim:opus_like [faking]" in out


def test_an_unknown_hypothesis_is_a_usage_error_naming_the_files(capsys, run):
    code, _, err = _show(capsys, run, "--hypothesis", "rlhf_drive")
    assert code == 2
    assert "no hypothesis `rlhf_drive`" in err and "has_gap, rlhf_drives" in err


def test_html_links_each_hypothesis_to_its_queries(run, tmp_path):
    from html.parser import HTMLParser

    html = tmp_path / "r.html"
    assert main(["report", SHOW, "--store", str(run["store"]), "--html", str(html)]) in (0, 1)
    links: list[str] = []
    ids: dict[str, int] = {}  # section id -> its table's data rows
    current: list[str] = []

    class Page(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "a" and (a.get("href") or "").startswith("#queries-"):
                links.append(a["href"][1:])
            if tag == "h3" and a.get("id"):
                current[:] = [a["id"]]
                ids[a["id"]] = 0
            if tag == "td" and current and a.get("class") == "num":
                ids[current[0]] += 1

    Page().feed(html.read_text(encoding="utf-8"))
    report = json.loads(run["json"].read_text())
    assert len(links) == len(report["hypotheses"]) == 6  # 3 hypotheses x 2 models
    assert set(links) == set(ids)
    # 10 queries: every one shown, each with its value and the cells' labels.
    sections = {link: n for link, n in ids.items()}
    assert sections["queries-rlhf_drives-0"] == 10 * (1 + 4)
    assert sections["queries-has_gap-1"] == 10 * (1 + 2)
