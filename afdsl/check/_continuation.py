"""A scenario's `continue with SEND until UNTIL max N`: the multi-turn protocol, checked."""

from __future__ import annotations

from afdsl import ir
from afdsl.check._context import Context, number_of
from afdsl.diagnostics import Note
from afdsl.syntax import nodes as A

# One call is the single-turn default; past 20 calls a conversation is almost
# certainly a model that never writes the `until` text, paid for at every turn.
MIN_CALLS, MAX_CALLS = 2, 20


def build_continuation(
    ctx: Context, decls: tuple[A.ContinueDecl, ...], inherited: ir.Continuation | None
) -> ir.Continuation | None:
    """The scenario's own `continue` line (reported when repeated or wrong), else the
    parent's; None for a single call."""
    if not decls:
        return inherited
    for extra in decls[1:]:
        ctx.error(
            "AFS176",
            "`continue` is set twice in this scenario",
            extra.span,
            notes=[Note(span=decls[0].span, message="first here")],
        )
    return _checked(ctx, decls[0])


def _checked(ctx: Context, decl: A.ContinueDecl) -> ir.Continuation | None:
    ok = True
    for text, role in ((decl.send, "the turn sent to continue"), (decl.until, "`until`")):
        if not text.value.strip():
            ctx.error(
                "AFS177",
                f"{role} is empty",
                text.span,
                hint='e.g. `continue with "<NEXT/>" until "<OUTPUT>" max 4`',
            )
            ok = False
    if ok and decl.until.value in decl.send.value:
        ctx.error(
            "AFS178",
            f"`until` text {decl.until.value!r} is part of the `with` text",
            decl.until.span,
            hint="the runner stops when a reply contains the `until` text, so it must be "
            "something only the model writes",
        )
        ok = False
    calls = number_of(decl.max_calls, integer=True)
    if calls is None or not MIN_CALLS <= calls <= MAX_CALLS:
        ctx.error(
            "AFS179",
            f"`max {decl.max_calls.raw}`: expected a whole number of model calls from "
            f"{MIN_CALLS} to {MAX_CALLS}",
            decl.max_calls.span,
            hint="`max` counts every call, the first included; a scenario without `continue` "
            "makes one call per sample",
        )
        ok = False
    if not ok or calls is None:
        return None
    return ir.Continuation(send=decl.send.value, until=decl.until.value, max_calls=int(calls))
