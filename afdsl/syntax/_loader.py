"""Load a .afs file with everything it `use`s, once each, detecting cycles.

Resolution of `use "x.afs"`: relative to the including file, then each folder of
`AFDSL_PATH`, then the built-in scenarios. `use name` (bare) looks for
`name.afs` in `AFDSL_PATH` and the built-ins.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

from afdsl.diagnostics import AfsError, Diagnostic, Span
from afdsl.inputs import MAX_SOURCE_BYTES, NOT_FOUND, InputError, decode_utf8, read_input
from afdsl.redact import secret_in, secret_values
from afdsl.resources import scenarios_dir
from afdsl.syntax import _ast as A
from afdsl.syntax._parser import parse_text


def read_source(path: Path) -> str:
    """A source file's text (.afs or section text); raises InputError for a file that is
    not a regular file, too large, or not UTF-8 (see `afdsl.inputs`). Windows editors
    start UTF-8 files with a byte-order mark, which is dropped: it would be a syntax error
    in a .afs file and an invisible character at the start of a section. Line endings
    are read as `\n`, as Python's text mode reads them."""
    text = decode_utf8(read_input(path, MAX_SOURCE_BYTES))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def input_diagnostic(
    exc: InputError, code: str, message: str, path: Path, span: Span | None, hint: str | None
) -> Diagnostic:
    """`message: reason` for a file that could not be read, at the bad byte when the
    file itself is at fault (its line:col), else at `span` (where it was named)."""
    if exc.line is not None:
        span = Span(path=display_path(path), line=exc.line, col=exc.col or 1)
    return Diagnostic(code=code, message=f"{message}: {exc.message}", span=span, hint=hint)


def display_path(path: Path) -> str:
    """Relative to the working directory when below it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass
class LoadedProgram:
    """Every parsed file (dependencies first), their texts, and problems found loading."""

    root: A.FileAst | None = None
    files: list[A.FileAst] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # display path -> text
    source_files: list[str] = field(default_factory=list)  # absolute paths, in read order
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # absolute path -> text to use instead of the file on disk (an editor's unsaved buffers)
    overlays: dict[str, str] = field(default_factory=dict)
    _loaded: dict[str, A.FileAst | None] = field(default_factory=dict)

    def span_at(self, origin: str, start: int, end: int) -> Span:
        """Span of source offsets [start, end) in the file displayed as `origin`."""
        text = self.sources.get(origin, "")
        line = text.count("\n", 0, start) + 1
        col = start - (text.rfind("\n", 0, start) + 1) + 1
        end_line = text.count("\n", 0, max(end - 1, start)) + 1
        end_col = end - (text.rfind("\n", 0, max(end - 1, start)) + 1) + 1
        return Span(path=origin, line=line, col=col, end_line=end_line, end_col=end_col)

    def text_span(self, text: A.Text, start: int, end: int) -> Span:
        """Span of `text.value[start:end]` in its source file (falls back to the token)."""
        if not text.offsets or start >= len(text.offsets):
            return text.span
        last = text.offsets[min(end, len(text.offsets)) - 1]
        return self.span_at(text.origin, text.offsets[start], last + 1)

    def read(self, path: Path) -> str:
        """The text of `path`: an overlay when one is given, else the file."""
        overlay = self.overlays.get(str(path))
        return overlay if overlay is not None else read_source(path)

    def read_text(self, owner: A.FileAst, ref: A.Text) -> A.Text:
        """Read `from "file.txt"` relative to the .afs file that says it; raises AfsError."""
        path = (Path(owner.abs_path).parent / ref.value).resolve()
        try:
            content = self.read(path)
        except InputError as exc:
            folder = display_path(Path(owner.abs_path).parent)
            hint = f"paths are relative to {folder}/" if exc.message == NOT_FOUND else None
            raise AfsError(
                input_diagnostic(exc, "AFS010", f"cannot read `{ref.value}`", path, ref.span, hint)
            ) from None
        secret = secret_in(content)
        if secret is not None:
            raise AfsError(_secret_diagnostic(secret, f"`{ref.value}`", ref.span))
        shown = self._remember(path, content)
        # Taken exactly, final line break included: a prompt loaded whole must render
        # byte for byte as its file (Scenario.system_prompt counts that break towards
        # the blank line between sections).
        return A.Text(content, ref.span, shown, tuple(range(len(content))))

    def _remember(self, path: Path, content: str) -> str:
        shown = display_path(path)
        if str(path) not in self.source_files:
            self.source_files.append(str(path))
        self.sources[shown] = content
        return shown


def builtin_names() -> list[str]:
    """Names a `use` can give without a path: the scenario files shipped with afdsl."""
    folder = scenarios_dir()
    return sorted(p.stem for p in folder.glob("*.afs")) if folder.is_dir() else []


def _search_dirs(including: Path | None) -> list[Path]:
    dirs = [including] if including is not None else []
    dirs += [Path(p) for p in os.environ.get("AFDSL_PATH", "").split(os.pathsep) if p]
    dirs.append(scenarios_dir())
    return dirs


def resolve_use(use: A.UseDecl, including: Path) -> Path | None:
    """The file a `use` names, or None."""
    if use.bare:
        candidates = [d / f"{use.target}.afs" for d in _search_dirs(None)]
    else:
        candidates = [d / use.target for d in _search_dirs(including)]
    for candidate in candidates:
        # Anything there but a folder: a fifo or a device is refused when it is read.
        if candidate.exists() and not candidate.is_dir():
            return candidate.resolve()
    return None


def load_program(path: str | Path, overlays: dict[str, str] | None = None) -> LoadedProgram:
    """Parse `path` and its includes; syntax and include errors land in `.diagnostics`.
    `overlays` maps absolute paths to texts read instead of the files (unsaved edits)."""
    program = LoadedProgram(overlays=dict(overlays or {}))
    root_path = Path(path)
    try:
        text = program.read(root_path.resolve())
    except InputError as exc:
        if exc.message == NOT_FOUND:
            exc.message = "no such file"
        program.diagnostics.append(
            input_diagnostic(exc, "AFS011", f"cannot read {path}", root_path, None, None)
        )
        return program
    program.root = _load(program, root_path.resolve(), str(path), text, [])
    return program


def load_builtin(name: str, program: LoadedProgram) -> A.FileAst | None:
    """Load a built-in file (e.g. the perturbation library) into `program`."""
    path = (scenarios_dir() / f"{name}.afs").resolve()
    if str(path) in program._loaded:
        return program._loaded[str(path)]
    if not path.is_file():
        return None
    return _load(program, path, display_path(path), read_source(path), [])


def _load(
    program: LoadedProgram, abs_path: Path, shown: str, text: str, stack: list[str]
) -> A.FileAst | None:
    key = str(abs_path)
    program._loaded[key] = None  # marks "in progress" for diamond includes
    if key not in program.source_files:
        program.source_files.append(key)
    program.sources[shown] = text
    if _holds_secret(program, shown, text):
        return None
    try:
        ast = parse_text(text, shown, key)
    except AfsError as exc:
        program.diagnostics.extend(exc.diagnostics)
        return None
    chain = [*stack, shown]
    for use in ast.uses:
        target = resolve_use(use, abs_path.parent)
        if target is None:
            program.diagnostics.append(_missing_use(use))
            continue
        if str(target) in [p for p in _abs_stack(program, chain)]:
            cycle = " -> ".join([*chain, display_path(target)])
            program.diagnostics.append(
                Diagnostic(
                    code="AFS013",
                    message=f"include cycle: {cycle}",
                    span=use.span,
                    hint="remove one of the `use` lines in the cycle",
                )
            )
            continue
        if str(target) in program._loaded:
            continue  # loaded once; diamonds are fine
        try:
            sub_text = program.read(target)
        except InputError as exc:
            program.diagnostics.append(
                input_diagnostic(
                    exc, "AFS011", f"cannot read {display_path(target)}", target, use.span, None
                )
            )
            continue
        _load(program, target, display_path(target), sub_text, chain)
    program._loaded[key] = ast
    program.files.append(ast)
    return ast


SECRET_CODE = "AFS055"  # a file holding a key's value


def _secret_diagnostic(variable: str, what: str, span: Span | None) -> Diagnostic:
    """A file that holds a key's value: its text would be sent to a model and saved."""
    return Diagnostic(
        code=SECRET_CODE,
        message=f"{what} holds the value of ${variable}, a key: it could be sent to the model "
        "and saved with the results",
        span=span,
        hint="remove the key from the file; afdsl reads keys from the environment only",
    )


def _holds_secret(program: LoadedProgram, shown: str, text: str) -> bool:
    """Whether the .afs text holds a key's value, reported at the first one."""
    for value, variable in secret_values().items():
        start = text.find(value)
        if start >= 0:
            at = program.span_at(shown, start, start + len(value))
            program.diagnostics.append(_secret_diagnostic(variable, shown, at))
            return True
    return False


def _abs_stack(program: LoadedProgram, chain: list[str]) -> list[str]:
    """Absolute paths of the files on the include stack (display path -> absolute)."""
    shown_to_abs = {display_path(Path(p)): p for p in program.source_files}
    out = []
    for shown in chain:
        out.append(shown_to_abs.get(shown, str(Path(shown).resolve())))
    return out


def _missing_use(use: A.UseDecl) -> Diagnostic:
    names = builtin_names()
    close = difflib.get_close_matches(Path(use.target).stem, names, n=1)
    hint = f"did you mean `use {close[0]}`?" if close else None
    if hint is None and use.bare:
        hint = "built-in files: " + (", ".join(names) or "none")
    elif hint is None:
        hint = "paths are relative to the including file, then AFDSL_PATH, then the built-ins"
    what = f"`{use.target}`" if use.bare else f'"{use.target}"'
    return Diagnostic(code="AFS012", message=f"cannot find {what}", span=use.span, hint=hint)
