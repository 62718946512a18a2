"""One check of an open document, and the questions an editor asks about it: what is
under the cursor, where is it defined, what does it mean. Pure functions of the
checker's output; the pygls glue lives in `afdsl.lsp.server`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from afdsl import ir
from afdsl.check import CheckResult, check_program
from afdsl.diagnostics import Span
from afdsl.lsp._index import Index, Ref, Symbol, abs_paths, build_index, contains
from afdsl.perturb import LIBRARY_NAME
from afdsl.syntax import LoadedProgram, load_builtin, load_program
from afdsl.syntax import nodes as A

PREVIEW_LINES = 4  # lines of a section's text shown on hover


@dataclass
class Analysis:
    """The checked program of one root file, with its index of names."""

    path: Path
    program: LoadedProgram
    result: CheckResult
    index: Index
    paths: dict[str, str]  # display path -> absolute path

    def abs_path(self, span: Span) -> str:
        return self.paths.get(span.path) or str(Path(span.path).resolve())

    def source(self, span: Span) -> str:
        """The source text a span covers."""
        text = self.program.sources.get(span.path, "")
        lines = text.split("\n")
        start = _offset(lines, span.line, span.col)
        end = _offset(lines, span.end_line or span.line, span.end_col or span.col + 1)
        return text[start:end]


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(text) + 1 for text in lines[: line - 1]) + col - 1


def analyse(path: Path, overlays: dict[str, str]) -> Analysis:
    """Check `path` reading open documents from `overlays` (absolute path -> text)."""
    program = load_program(path, overlays)
    result = check_program(program)
    load_builtin(LIBRARY_NAME, program)  # `apply` may name any library perturbation
    return Analysis(path, program, result, build_index(program), abs_paths(program))


def _at(analysis: Analysis, path: str, line: int, col: int) -> Symbol | Ref | None:
    for symbol in analysis.index.symbols:
        if symbol.owner.abs_path == path and contains(symbol.span, line, col):
            return symbol
    for ref in analysis.index.refs:
        if analysis.abs_path(ref.span) == path and contains(ref.span, line, col):
            return ref
    return None


def resolve(analysis: Analysis, ref: Ref) -> list[Symbol]:
    return analysis.index.named(ref.kinds, ref.name, ref.scope, ref.exclude)


def definition(analysis: Analysis, path: str, line: int, col: int) -> list[tuple[str, Span | None]]:
    """(absolute path, span) of what the name at (line, col) names; span None = the file."""
    found = _at(analysis, path, line, col)
    if isinstance(found, Symbol):
        return [(found.owner.abs_path, found.span)]
    if found is None:
        return []
    if found.kinds == ("file",):
        return [(found.target, None)]
    return [(s.owner.abs_path, s.span) for s in resolve(analysis, found)]


def hover(analysis: Analysis, path: str, line: int, col: int) -> str | None:
    """Markdown describing the name at (line, col)."""
    found = _at(analysis, path, line, col)
    if isinstance(found, Ref):
        if found.kinds == ("file",):
            return f"`{found.target}`"
        targets = resolve(analysis, found)
        found = targets[0] if targets else None
    return describe(analysis, found) if found is not None else None


def describe(analysis: Analysis, symbol: Symbol) -> str:
    head = f"**{symbol.kind}** `{symbol.name}`"
    node = symbol.node
    if isinstance(node, A.PerturbationDecl):
        return _perturbation(analysis, head, node)
    if isinstance(node, A.SectionDecl):
        return f"{head} of scenario `{symbol.container}`\n\n" + _section(symbol, node)
    if isinstance(node, A.VariantDecl | A.VariantFamilyDecl):
        return _variant(analysis, head, symbol.name, node)
    if isinstance(node, A.MeasureDecl):
        return _measure(analysis, head, node)
    if isinstance(node, A.ModelDecl | A.JudgeDecl):
        return _model(analysis, head, node)
    return f"{head}\n\n```afs\n{_first_lines(analysis.source(symbol.whole))}\n```"


def _first_lines(text: str, n: int = PREVIEW_LINES) -> str:
    lines = text.strip("\n").split("\n")
    return "\n".join(lines[:n]) + ("\n…" if len(lines) > n else "")


def _ops_source(analysis: Analysis, ops: tuple[A.Op, ...]) -> str:
    return "\n".join(analysis.source(op.span) for op in ops)


def _perturbation(analysis: Analysis, head: str, node: A.PerturbationDecl) -> str:
    description = node.description.value if node.description is not None else ""
    where = f"\n\n_{node.span.path}_"
    ops = _ops_source(analysis, node.ops)
    return f"{head}\n\n{description}\n\n```afs\n{ops}\n```{where}".replace("\n\n\n\n", "\n\n")


def _section(symbol: Symbol, node: A.SectionDecl) -> str:
    if node.source.kind == "inline":
        text = node.source.text.value
        origin = "inline text"
    else:
        target = Path(symbol.owner.abs_path).parent / node.source.text.value
        try:
            text = target.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return f'from "{node.source.text.value}" (cannot be read)'
        origin = f'from "{node.source.text.value}"'
    return f"{origin}:\n\n```text\n{_first_lines(text)}\n```"


def _checked(analysis: Analysis) -> ir.Experiment | None:
    return analysis.result.experiment


def resolved_ops(analysis: Analysis, ops: tuple[A.Op, ...], applying: tuple[str, ...]) -> list[str]:
    """The operators of `ops` with every `apply NAME` replaced by what NAME does, as
    the checker resolves it (a variant of the experiment first, then a perturbation;
    a variant never applies itself)."""
    out = []
    for op in ops:
        if not isinstance(op, A.Apply) or op.name.value in applying:
            out.append(analysis.source(op.span))
            continue
        kinds = ("variant", "perturbation")
        targets = [
            s
            for s in analysis.index.named(kinds, op.name.value)
            if not (s.kind == "variant" and s.name in applying)
        ]
        node = targets[0].node if targets else None
        inner = getattr(node, "ops", None)
        if inner is None:
            out.append(analysis.source(op.span))
            continue
        out += resolved_ops(analysis, inner, (*applying, op.name.value))
    return out


def _variant(
    analysis: Analysis, head: str, name: str, node: A.VariantDecl | A.VariantFamilyDecl
) -> str:
    resolved = "\n".join(resolved_ops(analysis, node.ops, (name,)))
    return f"{head}\n\nresolved operators:\n```afs\n{resolved}\n```"


def _measure(analysis: Analysis, head: str, node: A.MeasureDecl) -> str:
    experiment = _checked(analysis)
    built = None
    if experiment is not None:
        built = next((m for m in experiment.measures if m.name == node.name.value), None)
    source = f"```afs\n{analysis.source(node.span)}\n```"
    if built is None:
        return f"{head}\n\n{source}"
    params = ", ".join(f"{k} {v}" for k, v in built.params.items())
    judge = f"\n\njudge: `{built.model.spec}`" if built.model is not None else ""
    return f"{head}: {built.kind} ({params}){judge}\n\n{source}"


def _model(analysis: Analysis, head: str, node: A.ModelDecl | A.JudgeDecl) -> str:
    block = node.block if isinstance(node, A.JudgeDecl) else node
    fields = {field.value: value.value for field, value in block.fields}
    spec = block.spec.value if block.spec is not None else fields.get("spec", "?")
    kind = "a simulator (no API calls)" if spec.startswith("sim:") else "a real model"
    rows = "\n".join(f"- {k}: `{v}`" for k, v in fields.items() if k != "spec")
    return f"{head}: `{spec}`, {kind}\n\n{rows}".rstrip()
