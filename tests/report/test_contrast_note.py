"""A contrast's reason for an exact p reaches the reports' footnotes."""

from __future__ import annotations

from afdsl.report._format import method_footnote
from afdsl.stats import analyze_labels


def test_the_footnotes_say_why_a_contrast_p_is_exact():
    records = [
        {"variant": v, "condition": c, "query_id": q, "sample": 0,
         "complied": v == "v" and c == "training"}
        for v in ("base", "v")
        for q in ("a", "b", "c")
        for c in ("training", "deployment")
    ]  # fmt: skip
    notes = method_footnote(analyze_labels(records))
    assert notes[-1].startswith("Δgap v vs base: all 3 per-query values equal 1")
    varied = [{**r, "complied": r["complied"] or r["query_id"] == "a"} for r in records]
    assert not any(n.startswith("Δgap v vs") for n in method_footnote(analyze_labels(varied)))
