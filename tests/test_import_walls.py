"""The walls between stages, checked over the import graph of `afdsl/` (ast, so imports
inside functions count too: a lazy import crosses a wall as surely as a top-level one).

A stage imports only the stages before it; the rules below name the walls the
architecture relies on (docs/architecture.md lists them).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "afdsl"

# Modules every stage may import: errors as values, the IR contract, small leaf helpers.
FOUNDATION = {
    "afdsl", "diagnostics", "ir", "jsonl", "resources", "registry", "sanitize", "inputs", "redact",
    "spans", "textmatch", "textdiff", "inspect_io",
}  # fmt: skip

# The stages in pipeline order; each may import FOUNDATION and the stages before it.
ORDER = [
    "syntax", "perturb", "datasets", "check", "expand", "models", "store", "run", "classify",
    "stats", "analysis", "report", "pipeline", "fmt", "lsp", "cli", "testing", "__main__",
]  # fmt: skip

# Walls beyond the order (each stage: what it must not import).
FORBIDDEN = {
    "stats": set(ORDER) - {"stats"},  # statistics: `ir` and its own modules only
    "models": {"syntax", "check", "perturb", "datasets", "expand"},  # `ir` and the request
    "run": {"check", "expand", "perturb", "datasets"},
    "classify": {"check", "expand", "perturb", "datasets"},
    "report": {"check", "expand", "perturb", "datasets", "models", "run", "classify", "store"},
    "analysis": {"check"},
}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every afdsl import in `path`, wherever it stands in the file."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:  # `from afdsl import ir`, `from afdsl.syntax import _ast`
                if base == "afdsl" or _is_private(alias.name):
                    yield node.lineno, f"{base}.{alias.name}"


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "afdsl"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private(module: str) -> bool:
    """Whether `module` is (in) a private module, such as `afdsl.syntax._ast`."""
    return any(_is_private(part) for part in module.split(".")[1:])


def wall_violations(root: Path = PACKAGE) -> list[str]:
    """Every import in `root` that crosses a wall, as `file:line: what`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        here = _stage(_module_name(path, root))
        for line, target in _imports(path, root):
            if target != "afdsl" and not target.startswith("afdsl."):
                continue
            there = _stage(target)
            where = f"{path.relative_to(root.parent)}:{line}"
            problem = _crossing(here, there) if there != here else None
            if problem:
                found.append(f"{where}: {problem} ({target})")
            elif there != here and _private(target):
                found.append(f"{where}: {here} imports the private module {target}")
    return found


def _crossing(here: str, there: str) -> str | None:
    """What is wrong with stage `here` importing stage `there` (None: allowed)."""
    if here == "afdsl" or (there in FOUNDATION - {"afdsl"} and here not in FOUNDATION):
        return None  # the package root re-exports lazily; every stage may use the foundation
    if there in FORBIDDEN.get(here, set()):
        return f"{here} must not import {there}"
    if here in ORDER and there in ORDER and ORDER.index(there) > ORDER.index(here):
        return f"{here} imports {there}, a later stage"
    if here in FOUNDATION and there in ORDER:
        return f"{here} is a foundation module and must import no stage"
    return None


def test_no_import_crosses_a_stage_wall():
    assert wall_violations() == []


def test_a_forbidden_import_is_caught_even_inside_a_function(tmp_path):
    # A copy of the package with one lazy import of the parser in `stats`: the wall holds.
    copy = tmp_path / "afdsl"
    for path in PACKAGE.rglob("*.py"):
        target = copy / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with (copy / "stats" / "paired.py").open("a", encoding="utf-8") as handle:
        handle.write("\n\ndef _parse():\n    from afdsl.syntax import parse_hypothesis\n")
    found = wall_violations(copy)
    assert len(found) == 1 and "stats must not import syntax" in found[0]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("from afdsl.stats import _paired\n", "private module afdsl.stats._paired"),
        ("import afdsl.check\n", "report must not import check"),
        ("from afdsl.pipeline import test_experiment\n", "a later stage"),
    ],
)
def test_each_kind_of_crossing_is_named(tmp_path, source, message):
    module = tmp_path / "afdsl" / "report" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text(source, encoding="utf-8")
    assert [message in v for v in wall_violations(tmp_path / "afdsl")] == [True]
