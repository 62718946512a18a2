"""How the base system prompt relates to the files it was loaded from (`afdsl check`)."""

from __future__ import annotations

from pathlib import Path

from afdsl import ir
from afdsl.diagnostics import plural


def describe_layout(
    scenario: ir.Scenario, origins: dict[str, str | None], sources: dict[str, str]
) -> str:
    """One line: whether the rendered system prompt is byte for byte its file(s), and
    where not, what the joins between sections add. Empty when no section is a file."""
    files = [origins.get(s.name) for s in scenario.sections]
    if not any(files):
        return ""
    prompt = scenario.system_prompt()
    spans = f"; spans {', '.join(s.name for s in scenario.spans)}" if scenario.spans else ""
    if len(files) == 1 and files[0] is not None:
        same = prompt == sources.get(files[0])
        verdict = "byte-identical to" if same else "differs from"
        if same and _windows_line_endings(files[0]):
            verdict = "identical, but for its Windows line endings (read as \\n), to"
        return f"{verdict} {files[0]} ({len(prompt):,} chars{spans})"
    if None in files:
        inline = files.count(None)
        return (
            f"{plural(len(files) - inline, 'section')} from files and {inline} inline, "
            f"a blank line between sections ({len(prompt):,} chars{spans})"
        )
    if prompt == "".join(s.text for s in scenario.sections):
        return f"byte-identical to its {len(files)} files put together ({len(prompt):,} chars)"
    # A file that ends with a line break and still gets one added looks like a piece cut
    # from a longer prompt at a line break: put back together, it would not read this way.
    cut = [
        name
        for s, name in zip(scenario.sections[:-1], files, strict=False)
        if s.text.endswith("\n") and ir.joint(s.text, scenario.section_separator)
    ]
    joined = f"{len(files)} section files, a blank line between sections ({len(prompt):,} chars)"
    if not cut:
        return joined
    shown = ", ".join(str(n) for n in cut[:3]) + (", ..." if len(cut) > 3 else "")
    return (
        f"{joined}; not the files put together: a line break is added after {shown}, which "
        f"end{'s' if len(cut) == 1 else ''} with one; to keep a prompt byte for byte, load "
        "it whole from one file and declare spans on it"
    )


def _windows_line_endings(shown: str) -> bool:
    """Whether the file has CRLF line endings, which reading turns into `\\n`."""
    try:
        return b"\r\n" in Path(shown).read_bytes()
    except OSError:
        return False
