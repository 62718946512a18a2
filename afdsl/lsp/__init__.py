"""The `.afs` language server (`afdsl lsp`), built on the checker. Needs the optional
extra `afdsl[lsp]` (pygls)."""

from __future__ import annotations

from afdsl.diagnostics import AfsError, Diagnostic


def serve() -> None:
    """Run the language server on stdin/stdout; AfsError when pygls is not installed."""
    try:
        from afdsl.lsp.server import serve as serve_stdio
    except ModuleNotFoundError as exc:
        if exc.name not in ("pygls", "lsprotocol") and not str(exc.name).startswith("pygls."):
            raise
        raise AfsError(
            Diagnostic(
                code="AFS070",
                message="`afdsl lsp` needs the language-server extra, which is not installed",
                hint="pip install 'afdsl[lsp]'",
            )
        ) from None
    serve_stdio()
