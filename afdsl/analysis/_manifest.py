"""The manifest: what a reader needs to reproduce a result, written into every report file."""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, Field

from afdsl import __version__
from afdsl.ir import Experiment, Measure

# The packages whose versions can change a result (parsing, statistics, SDK behaviour).
TRACKED_PACKAGES = ("lark", "pydantic", "numpy", "scipy", "rich", "anthropic", "openai")


class SourceFile(BaseModel):
    # Relative to the folder of the experiment's .afs file (`../data/q.jsonl`), or
    # `afdsl:scenarios/NAME.afs` for a file shipped with afdsl (its version says which),
    # so a manifest names the same files on every machine.
    path: str
    sha256: str | None  # None when the file could no longer be read


class ModelEntry(BaseModel):
    spec: str
    label: str
    simulator: bool
    temperature: float
    max_tokens: int
    params_hash: str
    base_url: str | None = None
    # The ids the provider answered as (its dated release of `spec`), read from the store.
    served_ids: list[str] = Field(default_factory=list)


class MeasureEntry(BaseModel):
    name: str
    kind: str
    definition_hash: str
    judge: str | None = None


class Manifest(BaseModel):
    """Versions, inputs and settings behind one report. Timestamps are UTC ISO 8601."""

    afdsl_version: str
    python_version: str
    platform: str
    packages: dict[str, str]
    experiment: str
    seed: int
    samples: int
    n_queries: int
    source_files: list[SourceFile]
    prompt_set_hash: str
    models: list[ModelEntry]
    measures: list[MeasureEntry]
    correction: str
    alpha: float
    started_at: str
    finished_at: str
    store_path: str


def now_iso() -> str:
    """The current time as a timezone-aware ISO string (reports compare these across machines)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_sha256(path: str | Path) -> str | None:
    """The file's SHA-256, read in chunks; None when it cannot be read (moved or deleted)."""
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def prompt_set_hash(keys: Iterable[tuple[str, str, int]]) -> str:
    """Order-free hash of the (model spec, prompt_hash, sample) keys of a prompt set.

    Computable both from the expanded prompts and from the stored responses, so
    a re-rendered report shows the same hash as the run that produced it.
    """
    return hash_prompt_lines([f"{model}\t{phash}\t{sample}" for model, phash, sample in keys])


def hash_prompt_lines(lines: list[str]) -> str:
    """`prompt_set_hash` of keys already written as "model\tprompt_hash\tsample" lines
    (`Store.query_counts` reads them so); sorts `lines` in place."""
    lines.sort()
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def shown_path(path: str | Path, folder: Path) -> str:
    """`path` as a manifest names it: `afdsl:...` for a file shipped with afdsl, else
    relative to `folder` (the .afs file's), with `/` separators on every system."""
    from afdsl.resources import scenarios_dir

    resolved = Path(path).resolve()
    shipped = scenarios_dir().resolve()
    if resolved.is_relative_to(shipped):
        return f"afdsl:scenarios/{resolved.relative_to(shipped).as_posix()}"
    return Path(os.path.relpath(resolved, folder.resolve())).as_posix()


def package_versions() -> dict[str, str]:
    """Installed versions of `TRACKED_PACKAGES` ("not installed" for a missing one)."""
    versions: dict[str, str] = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_manifest(
    experiment: Experiment,
    *,
    store_path: str | Path,
    prompt_set: str,
    started_at: str,
    finished_at: str | None = None,
    measures: Iterable[Measure] | None = None,
    served_ids: Mapping[str, list[str]] | None = None,
) -> Manifest:
    """Collect the manifest for `experiment`; hashes the .afs and data files as they are now.

    `served_ids` maps a model spec to the ids its provider answered as. File paths are
    relative to the folder of the experiment's file (the first source file); the
    store's path is kept as it was given.
    """
    files = experiment.source_files
    folder = Path(files[0]).parent if files else Path.cwd()
    return Manifest(
        afdsl_version=__version__,
        python_version=sys.version.split()[0],
        platform=platform.platform(),
        packages=package_versions(),
        experiment=experiment.name,
        seed=experiment.seed,
        samples=experiment.samples,
        n_queries=len(experiment.queries),
        source_files=[SourceFile(path=shown_path(p, folder), sha256=file_sha256(p)) for p in files],
        prompt_set_hash=prompt_set,
        models=[
            ModelEntry(
                spec=m.spec,
                label=m.display,
                simulator=m.provider == "sim",
                temperature=m.temperature,
                max_tokens=m.max_tokens,
                params_hash=m.params_hash(),
                base_url=m.base_url,
                served_ids=(served_ids or {}).get(m.spec, []),
            )
            for m in experiment.models
        ],
        measures=[
            MeasureEntry(
                name=ms.name,
                kind=ms.kind,
                definition_hash=ms.definition_hash(),
                judge=ms.model.spec if ms.model else None,
            )
            for ms in (experiment.measures if measures is None else measures)
        ],
        correction=experiment.correction.method,
        alpha=experiment.correction.alpha,
        started_at=started_at,
        finished_at=finished_at or now_iso(),
        store_path=str(store_path),
    )
