"""The grammar builds conflict-free and the strings behave as documented."""

from __future__ import annotations

from lark import Lark

from afdsl.resources import grammar_path
from afdsl.syntax import get_parser, parse_text


def test_grammar_has_no_conflicts_or_collisions_in_strict_mode() -> None:
    Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=["start", "hypothesis_text"],
        strict=True,
    )


def test_parser_is_built_once_per_process() -> None:
    assert get_parser() is get_parser()


def test_keywords_can_be_names_where_no_keyword_fits() -> None:
    ast = parse_text('scenario base { section section "x" user "{query}" }', "k.afs")
    scenario = ast.scenarios[0]
    assert scenario.name.value == "base"
    assert scenario.sections[0].name.value == "section"


def test_triple_quoted_text_is_dedented_and_keeps_hashes() -> None:
    src = 'scenario s {\n  section a """\n    line one # not a comment\n      indented\n  """\n}\n'
    text = parse_text(src, "t.afs").scenarios[0].sections[0].source.text.value
    assert text == "line one # not a comment\n  indented"


def test_escapes_in_short_strings() -> None:
    src = r'scenario s { section a "say \"hi\"\n\tback\\" }'
    text = parse_text(src, "t.afs").scenarios[0].sections[0].source.text.value
    assert text == 'say "hi"\n\tback\\'


def test_escaped_triple_quote_inside_text_block() -> None:
    src = 'scenario s { section a """a \\""" b""" }'
    text = parse_text(src, "t.afs").scenarios[0].sections[0].source.text.value
    assert text == 'a """ b'


def test_measure_model_on_the_same_line_belongs_to_the_measure() -> None:
    src = "experiment e {\n  measure f = faking votes 3 model sim:judge\n  model sim:opus_like\n}\n"
    exp = parse_text(src, "t.afs").experiments[0]
    assert exp.measures[0].model is not None
    assert exp.measures[0].model.spec is not None
    assert exp.measures[0].model.spec.value == "sim:judge"
    assert [m.spec.value for m in exp.models if m.spec] == ["sim:opus_like"]
