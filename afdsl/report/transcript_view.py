"""How `afdsl show` prints a transcript: rich panels on a terminal, plain text in a pipe,
or one JSON record per line.

A transcript shows its header (model, variant, condition, query, sample,
prompt hash, why the answer ended, every measure's label), the query, then the hidden reasoning and
the visible output apart, because that is the comparison a reader makes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from afdsl.analysis import MeasureLabel, ResponseSplit, Transcript
from afdsl.sanitize import for_terminal

if TYPE_CHECKING:
    from rich.console import RenderableType

CLIP = 1200  # characters kept of a scratchpad or an output unless --full
HASH_PREFIX = 12


def shown_parts(transcript: Transcript) -> ResponseSplit:
    """What `show` prints: a conversation turn by turn (each model call's reply, and the
    user turn between two), a single reply as scratchpad and output. A turn cut at
    max_tokens says so in its title: the next call went on from a cut reply."""
    from afdsl.registry import truncated

    if transcript.status != "ok" or not transcript.turns:
        return transcript.split
    reasons = transcript.turn_finish_reasons
    sections: list[tuple[str, str]] = []
    for number, text in enumerate(transcript.turns, 1):
        if number > 1:
            sections.append(("user", transcript.continue_with or ""))
        reason = reasons[number - 1] if number <= len(reasons) else None
        cut = f" · {finish_text(reason)}" if truncated(reason) else ""
        sections.append((f"turn {number}{cut}", text))
    return ResponseSplit(sections=sections)


def clip(text: str, full: bool) -> str:
    """`text`, or its first `CLIP` characters and how much was left out."""
    if full or len(text) <= CLIP:
        return text
    rest = len(text) - CLIP
    return f"{text[:CLIP].rstrip()}\n… [{rest} more characters; --full shows everything]"


def label_text(name: str, label: MeasureLabel | None) -> str:
    """`faking=1 (2/3 votes)`, `compliance=0`, `compliance=unparseable (neither tag in
    output)`, `faking unlabelled`."""
    if label is None:
        return f"{name} unlabelled"
    reason = label.detail.get("reason")
    if label.label is None and isinstance(reason, str):
        return f"{name}=unparseable ({reason})"
    value = "unparseable" if label.label is None else str(label.label)
    votes, yes = label.detail.get("votes"), label.detail.get("yes")
    if isinstance(votes, int) and isinstance(yes, int):
        return f"{name}={value} ({yes}/{votes} votes)"
    if label.score is not None and label.score != label.label:
        return f"{name}={value} (score {label.score:.2f})"
    return f"{name}={value}"


def finish_text(finish_reason: str | None) -> str:
    """`finished: stop`, `finished: length (truncated at max_tokens)`, or `finished: unknown`
    for a response stored before afdsl recorded it."""
    from afdsl.registry import truncated

    note = " (truncated at max_tokens)" if truncated(finish_reason) else ""
    return f"finished: {finish_reason or 'unknown'}{note}"


def notes_text(notes: str | None) -> list[str]:
    """What the store changed to keep an answer, e.g. `stored with 2 unpaired surrogates in
    text replaced by U+FFFD`; nothing when it changed nothing."""
    if not notes:
        return []
    try:
        replaced = json.loads(notes).get("surrogates_replaced", {})
    except (ValueError, AttributeError):
        return [f"note: {notes}"]
    counts = {field: len(found) for field, found in replaced.items() if isinstance(found, list)}
    return [
        f"stored with {n} unpaired surrogate{'s' * (n != 1)} in its {field} replaced by U+FFFD"
        for field, n in counts.items()
    ]


def header(transcript: Transcript, measures: list[str]) -> str:
    """One line saying where the response comes from and how it was labelled."""
    t = transcript
    model = t.model_label + (" [SIMULATOR]" if t.simulator else "")
    fields = [
        model,
        t.variant,
        t.condition,
        t.query_id,
        f"sample {t.sample}",
        f"prompt {t.prompt_hash[:HASH_PREFIX]}",
    ]
    if t.status == "ok":
        fields.append(finish_text(t.finish_reason))
        fields += notes_text(t.notes)
        fields += [label_text(name, t.labels.get(name)) for name in measures]
    else:
        fields.append("call failed")
    return " · ".join(fields)


def plain_text(transcript: Transcript, measures: list[str], *, full: bool = False) -> str:
    """The transcript as plain text: header, query, then each section under its own rule."""
    parts = shown_parts(transcript)
    lines = [f"── {header(transcript, measures)}", f"query: {transcript.query_text}"]
    if parts.problem:
        lines.append(f"(could not split the response: {parts.problem})")
    for title, text in parts.sections:
        lines += [f"┄┄ {title} ┄┄", clip(text, full) if text else "(empty)"]
    # Model output and ids are someone else's text: escape sequences are shown, not run.
    return for_terminal("\n".join(lines)) + "\n"


def panel(transcript: Transcript, measures: list[str], *, full: bool = False) -> RenderableType:
    """The transcript as a rich Panel, scratchpad and output in panels of their own."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    parts = shown_parts(transcript)
    styles = {
        "scratchpad": "dim", "output": "green", "response": "yellow", "error": "red",
        "turn": "cyan", "user": "blue",
    }  # fmt: skip
    # The header goes in the body, not the title: a title is cut to one line, and the
    # labels at its end are what the reader came for.
    body: list[Any] = [
        Text(for_terminal(header(transcript, measures)), style="bold"),
        Text.assemble(("query ", "bold"), for_terminal(transcript.query_text)),
    ]
    if parts.problem:
        body.append(Text(f"could not split the response: {parts.problem}", style="yellow"))
    for title, text in parts.sections:
        content = Text(for_terminal(clip(text, full)) if text else "(empty)")
        style = styles[title.split()[0]]
        body.append(Panel(content, title=title, title_align="left", border_style=style))
    return Panel(Group(*body))


def json_record(transcript: Transcript) -> dict[str, JsonValue]:
    """One JSONL record: the full response text and its split, the labels, the system
    prompt's sha256 (never the system prompt itself)."""
    parts = transcript.split
    record = transcript.model_dump(mode="json")
    record["scratchpad"] = next((t for s, t in parts.sections if s == "scratchpad"), None)
    record["output"] = next((t for s, t in parts.sections if s == "output"), None)
    record["split_problem"] = parts.problem
    return record
