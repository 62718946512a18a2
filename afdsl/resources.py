"""Find files shipped with the package (grammar, built-in scenarios).

In a wheel they live inside the package (`afdsl/grammars`, `afdsl/scenarios`);
in a source checkout or editable install they are the top-level folders.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _package_dir(name: str) -> Path:
    packaged = resources.files("afdsl") / name
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / name


def grammar_path() -> Path:
    return _package_dir("grammars") / "afs.lark"


def scenarios_dir() -> Path:
    return _package_dir("scenarios")
