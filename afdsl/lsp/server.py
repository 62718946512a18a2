"""`afdsl lsp`: the language server (pygls, stdio).

Every open `.afs` document is checked with `afdsl.check` on open and on each
change, reading the other open documents' unsaved texts; diagnostics land on the
file they point into (an included file, a section's text file). Hover, go to
definition, completion and document symbols answer from the last check.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from afdsl import __version__
from afdsl.diagnostics import Diagnostic, Span
from afdsl.lsp._analysis import Analysis, analyse, definition, hover
from afdsl.lsp._complete import complete
from afdsl.lsp._symbols import document_symbols

_ITEM_KINDS = {
    "keyword": T.CompletionItemKind.Keyword,
    "section": T.CompletionItemKind.Field,
    "condition": T.CompletionItemKind.EnumMember,
    "variant": T.CompletionItemKind.Variable,
    "perturbation": T.CompletionItemKind.Function,
    "measure": T.CompletionItemKind.Property,
    "scenario": T.CompletionItemKind.Class,
    "judge": T.CompletionItemKind.Module,
    "file": T.CompletionItemKind.File,
}


class AfsServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("afdsl", __version__, text_document_sync_kind=T.TextDocumentSyncKind.Full)
        self.analyses: dict[str, Analysis] = {}  # root uri -> its last check
        # root uri -> its last check that parsed: names in scope while a line is half typed
        self.parsed: dict[str, Analysis] = {}
        self.published: dict[str, set[str]] = {}  # root uri -> uris it put diagnostics on

    def overlays(self) -> dict[str, str]:
        texts = {}
        for uri, document in self.workspace.text_documents.items():
            path = to_fs_path(uri)
            if path is not None:
                texts[str(Path(path).resolve())] = document.source
        return texts

    def check(self, uri: str) -> None:
        path = to_fs_path(uri)
        if path is None:
            return
        analysis = analyse(Path(path), self.overlays())
        self.analyses[uri] = analysis
        if analysis.program.root is not None:
            self.parsed[uri] = analysis
        by_uri: dict[str, list[T.Diagnostic]] = {uri: []}
        for diag in analysis.result.diagnostics:
            target = from_fs_path(analysis.abs_path(diag.span)) if diag.span else uri
            by_uri.setdefault(target or uri, []).append(_diagnostic(diag, analysis))
        stale = self.published.get(uri, set()) - set(by_uri)
        for target in stale:
            by_uri[target] = []  # clear what an earlier check put on another file
        self.published[uri] = {u for u in by_uri if u != uri}
        for target, diagnostics in by_uri.items():
            params = T.PublishDiagnosticsParams(uri=target, diagnostics=diagnostics)
            self.text_document_publish_diagnostics(params)


def _lines(analysis: Analysis, span: Span) -> list[str]:
    return analysis.program.sources.get(span.path, "").split("\n")


def _utf16(lines: list[str], line: int, col: int) -> T.Position:
    """LSP position (0-based, UTF-16 units) of a 1-based (line, code-point column)."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    units = len(text[: max(col - 1, 0)].encode("utf-16-le")) // 2
    return T.Position(line=max(line - 1, 0), character=units)


def to_range(analysis: Analysis, span: Span) -> T.Range:
    lines = _lines(analysis, span)
    end_line = span.end_line or span.line
    end_col = span.end_col or span.col + 1
    return T.Range(start=_utf16(lines, span.line, span.col), end=_utf16(lines, end_line, end_col))


def _diagnostic(diag: Diagnostic, analysis: Analysis) -> T.Diagnostic:
    if diag.span is None:
        where = T.Range(start=T.Position(line=0, character=0), end=T.Position(line=0, character=0))
    else:
        where = to_range(analysis, diag.span)
    message = diag.message + (f"\nhint: {diag.hint}" if diag.hint else "")
    severity = T.DiagnosticSeverity.Error if diag.is_error else T.DiagnosticSeverity.Warning
    return T.Diagnostic(
        range=where, message=message, severity=severity, code=diag.code, source="afdsl"
    )


def _cursor(server: AfsServer, uri: str, position: T.Position) -> tuple[str, int, int, int]:
    """(absolute path, 1-based line, 1-based code-point column, offset) of a position."""
    document = server.workspace.get_text_document(uri)
    lines = document.source.split("\n")
    text = lines[position.line] if position.line < len(lines) else ""
    col, units = 0, 0
    while col < len(text) and units < position.character:
        units += len(text[col].encode("utf-16-le")) // 2
        col += 1
    offset = sum(len(line) + 1 for line in lines[: position.line]) + col
    return str(Path(to_fs_path(uri) or "").resolve()), position.line + 1, col + 1, offset


server = AfsServer()


@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: AfsServer, params: T.DidOpenTextDocumentParams) -> None:
    ls.check(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: AfsServer, params: T.DidChangeTextDocumentParams) -> None:
    ls.check(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
def _did_save(ls: AfsServer, params: T.DidSaveTextDocumentParams) -> None:
    ls.check(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_HOVER)
def _hover(ls: AfsServer, params: T.HoverParams) -> T.Hover | None:
    analysis = ls.analyses.get(params.text_document.uri)
    if analysis is None:
        return None
    path, line, col, _ = _cursor(ls, params.text_document.uri, params.position)
    text = hover(analysis, path, line, col)
    if text is None:
        return None
    return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=text))


@server.feature(T.TEXT_DOCUMENT_DEFINITION)
def _definition(ls: AfsServer, params: T.DefinitionParams) -> list[T.Location]:
    analysis = ls.analyses.get(params.text_document.uri)
    if analysis is None:
        return []
    path, line, col, _ = _cursor(ls, params.text_document.uri, params.position)
    locations = []
    for target, span in definition(analysis, path, line, col):
        start = T.Position(line=0, character=0)
        where = to_range(analysis, span) if span else T.Range(start=start, end=start)
        locations.append(T.Location(uri=from_fs_path(target) or target, range=where))
    return locations


@server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=[" ", "(", ","]))
def _completion(ls: AfsServer, params: T.CompletionParams) -> T.CompletionList:
    uri = params.text_document.uri
    _, _, _, offset = _cursor(ls, uri, params.position)
    text = ls.workspace.get_text_document(uri).source
    analysis = ls.parsed.get(uri)
    found = complete(text, offset, analysis.index if analysis else None)
    items = [
        T.CompletionItem(label=item.label, kind=_ITEM_KINDS.get(item.kind), detail=item.kind)
        for item in found
    ]
    return T.CompletionList(is_incomplete=False, items=items)


@server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def _symbols(ls: AfsServer, params: T.DocumentSymbolParams) -> list[T.DocumentSymbol]:
    analysis = ls.parsed.get(params.text_document.uri)
    if analysis is None or analysis.program.root is None:
        return []
    return document_symbols(analysis, analysis.program.root, to_range)


def serve() -> None:
    """Serve over stdin/stdout until the client says exit."""
    server.start_io()
