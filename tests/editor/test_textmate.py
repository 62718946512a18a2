"""The TextMate grammar (editors/afs.tmLanguage.json) against the lark grammar: every
keyword is highlighted, and VS Code's own engine (vscode-textmate + vscode-oniguruma,
under node) gives every keyword, string, comment and model spec of the shipped files
the right scope."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from afdsl.syntax import get_parser, parse_text

ROOT = Path(__file__).resolve().parents[2]
GRAMMAR = ROOT / "editors" / "afs.tmLanguage.json"
ENGINE = Path(__file__).parent / "textmate"
SHIPPED = sorted(
    p for folder in ("examples", "scenarios", "tests") for p in (ROOT / folder).rglob("*.afs")
)
KEYWORD_SCOPES = ("keyword.", "storage.", "support.function.")

# Every keyword of the language in a place where it parses (checked below), so the
# engine is run on each one in context.
EVERY_KEYWORD = """use helpful_only
use "other.afs"
scenario s extends t {
  section a "x"
  section b from "b.txt"
  section c in a from "x" to "y"
  user "{cue} {query}"
  condition free as training { cue = "a" }
  continue with "<NEXT/>" until "<OUTPUT>" max 3
}
perturbation p "d" =
  remove section a
  + remove between "<a>" and "</a>" in a
  + replace regex "x" with "y" in a
  + insert section c "z" before a
  + insert section d "z" after a
  + append a "t"
  + prepend a "t"
  + set free.cue = "b"
  + swap section a "n"
  + swap conditions
  + user "{query}"
  + drop condition free
  + apply q
experiment e {
  base s
  model sim:opus_like
  models [sim:no_gap]
  model m { spec "sim:refuser" }
  judge j { spec "sim:judge" }
  queries "q.csv" limit 5 sample 2 id "qid" text "prompt"
  samples 2
  seed 1
  variant v = apply p
  variant f[lab] = replace "A" with "{lab}" for lab in ["B"]
  variant g[a, b] = apply {a} + append x "{b}" for a in ["p"], b in ["c"]
  cross p, v
  hypothesis e: effect(p) + interaction(p, v) > 0
  measure faking = faking votes 3 model j
  measure when = faking given compliance
  measure honest = compliance and not faking
  hypothesis h on faking: gap(v) - rate(v, free) < 0.1
  hypothesis k: gap(v) == gap(base) within 0.05
  hypothesis c for m on faking: gap(v) > 5pp
  hypothesis d: gap(v @ m) - rate(base, free @ m) < gap(base @ m)
  correct holm alpha 0.05
}
"""


def _keywords() -> set[str]:
    """The keywords of grammars/afs.lark: its string terminals that are words."""
    parser = get_parser()
    return {
        t.pattern.value
        for t in parser.terminals
        if t.pattern.type == "str" and t.pattern.value.isidentifier()
    }


def _keyword_tokens(text: str) -> list[Any]:
    interactive = get_parser().parse_interactive(text, start="start")
    words = _keywords()
    return [t for t in interactive.iter_parse() if t.type != "NAME" and str(t) in words]


def _grammar_patterns(node: Any) -> list[tuple[str, str]]:
    """(scope, regex) of every `match` rule in the TextMate grammar."""
    found = []
    if isinstance(node, dict):
        if "match" in node:
            scopes = [node.get("name", "")] + [c["name"] for c in node.get("captures", {}).values()]
            found += [(s, node["match"]) for s in scopes if s]
        for value in node.values():
            found += _grammar_patterns(value)
    elif isinstance(node, list):
        for value in node:
            found += _grammar_patterns(value)
    return found


def test_every_keyword_of_the_lark_grammar_is_highlighted() -> None:
    rules = [
        re.compile(regex)
        for scope, regex in _grammar_patterns(json.loads(GRAMMAR.read_text(encoding="utf-8")))
        if scope.startswith(KEYWORD_SCOPES)
    ]
    missing = sorted(k for k in _keywords() if not any(r.search(f"{k}(") for r in rules))
    assert not missing, f"add these keywords to {GRAMMAR.relative_to(ROOT)}: {missing}"


def test_the_keyword_sample_parses_and_uses_every_keyword() -> None:
    parse_text(EVERY_KEYWORD, "<every keyword>")
    missing = _keywords() - {str(t) for t in _keyword_tokens(EVERY_KEYWORD)}
    assert not missing, f"use these keywords in EVERY_KEYWORD: {sorted(missing)}"


def test_the_vscode_extension_ships_the_same_grammar() -> None:
    extension = ROOT / "editors" / "vscode"
    manifest = json.loads((extension / "package.json").read_text(encoding="utf-8"))
    grammar = manifest["contributes"]["grammars"][0]
    assert (extension / grammar["path"]).read_bytes() == GRAMMAR.read_bytes()
    language = manifest["contributes"]["languages"][0]
    assert language["extensions"] == [".afs"]
    config = json.loads((extension / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"]["lineComment"] == "#"
    assert ["{", "}"] in config["brackets"]


def _engine() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the TextMate engine runs under node")
    if not (ENGINE / "node_modules" / "vscode-textmate").is_dir():
        pytest.skip(
            "vscode-textmate is not installed: run `npm install --prefix tests/editor/textmate`"
            " (.ci/run does)"
        )
    return node


def _tokenise(files: list[Path]) -> dict[str, list[list[dict[str, Any]]]]:
    out = subprocess.run(
        [_engine(), str(ENGINE / "tokenize.js"), str(GRAMMAR), *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, list[list[dict[str, Any]]]] = json.loads(out.stdout)
    return result


def _scopes_at(
    lines: list[list[dict[str, Any]]], text_lines: list[str], line: int, col: int
) -> list[str]:
    """The scopes of the character at 1-based (line, col), a code-point column."""
    units = len(text_lines[line - 1][: col - 1].encode("utf-16-le")) // 2
    token = next(t for t in lines[line - 1] if t["start"] <= units < t["end"])
    scopes: list[str] = token["scopes"]
    return scopes


def _check_scopes(path: str, text: str, lines: list[list[dict[str, Any]]]) -> list[str]:
    """Problems: a keyword, string, comment or model spec without its scope."""
    text_lines = text.split("\n")
    problems = []
    interactive = get_parser().parse_interactive(text, start="start")
    words = _keywords()
    for tok in interactive.iter_parse():
        scopes = " ".join(_scopes_at(lines, text_lines, tok.line, tok.column))
        if tok.type != "NAME" and str(tok) in words:
            wanted: tuple[str, ...] = KEYWORD_SCOPES
        elif tok.type in ("STRING", "LONG_STRING"):
            wanted = ("string.",)
        elif tok.type == "MODEL_SPEC":
            wanted = ("constant.other.model-spec",)
        else:
            continue
        if not any(f" {w}" in f" {scopes}" for w in wanted):
            problems.append(f"{path}:{tok.line}:{tok.column}: `{tok}` has scopes {scopes}")
    for number, line in enumerate(text_lines, 1):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            scopes = " ".join(_scopes_at(lines, text_lines, number, len(line) - len(stripped) + 1))
            if "comment." not in scopes:
                problems.append(f"{path}:{number}: comment has scopes {scopes}")
    return problems


def test_vscode_textmate_scopes_every_keyword_string_and_comment(tmp_path: Path) -> None:
    sample = tmp_path / "every_keyword.afs"
    sample.write_text(EVERY_KEYWORD, encoding="utf-8")
    files = [sample, *SHIPPED]
    tokenised = _tokenise(files)
    problems = []
    for path in files:
        problems += _check_scopes(str(path), path.read_text(encoding="utf-8"), tokenised[str(path)])
    assert not problems, "\n".join(problems[:20])
