"""`replay:PATH`: answers from a JSONL file of earlier transcripts, so recorded runs
of other tools can be re-analysed with afdsl's classifiers and statistics.

One JSON object per line. The answer text is in `text` (or `response`,
`output`, `completion`). A line is matched to a request by, in order:
1. `prompt_hash` (as computed by `afdsl.ir.prompt_hash`), or `system` +
   `messages`, from which the hash is computed; plus `sample` (default 0);
2. otherwise `variant`, `condition`, `query_id` and `sample`.
Optional: `model_id`, `input_tokens`, `output_tokens`. A request with no
recorded answer fails with a `client` error (recorded, never retried).
`messages` may open with a `system` message (the OpenAI chat format) instead
of a `system` field. A line with a field of the wrong type is an error naming
the line.
A relative PATH is read from the folder of the .afs file that names it.
A PATH ending `.eval` or `.json` is an Inspect AI eval log, read with Inspect's
own reader (`afdsl.inspect_io`, extra `afdsl[inspect]`).

A conversation (a scenario with `continue`) may be recorded as `turns`, a list
of the model's replies in order: call k of the conversation is answered with
the k-th (a line with only a text answers the first call). Its line is found by
the conversation's prompt hash, or by the hash of its opening `system` +
`messages`, or by its cell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from afdsl.diagnostics import error
from afdsl.inputs import MAX_DATA_BYTES, InputError, decode_utf8, parse_json_line, read_input
from afdsl.ir import Message, ModelConfig, prompt_hash
from afdsl.jsonl import json_lines
from afdsl.models.base import BackendError, Capabilities, Completion, Request
from afdsl.redact import secret_in, secret_values

_TEXT_FIELDS = ("text", "response", "output", "completion")
MESSAGES_HINT = 'each message is {"role": "user" or "assistant", "content": TEXT}'


def _text_of(record: dict[str, Any]) -> str | None:
    for name in _TEXT_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            return value
    return None


def _turns_of(record: dict[str, Any]) -> list[str]:
    """A conversation's recorded replies: `turns`, else the one text."""
    turns = record.get("turns")
    if isinstance(turns, list):
        return [str(t) for t in turns]
    text = _text_of(record)
    return [] if text is None else [text]


def _reply(record: dict[str, Any], request: Request, path: Path) -> str:
    """The recorded answer to `request`: for a conversation, the turn it asks for."""
    if request.continuation is None:
        return _text_of(record) or "\n\n".join(_turns_of(record))
    turns = _turns_of(record)
    call = sum(m.role == "assistant" for m in request.messages)
    if call >= len(turns):
        raise BackendError(
            "client", f"the transcript in {path} has {len(turns)} turn(s); call {call + 1} has none"
        )
    return turns[call]


def _opening_hash(request: Request) -> str:
    """The hash of a conversation's prompt alone, as a transcript that records it has it."""
    opening: list[Message] = []
    for message in request.messages:
        if message.role == "assistant":
            break
        opening.append(message)
    return prompt_hash(request.system, tuple(opening))


class _Keys(BaseModel):
    """The fields of a transcript line that match it to a request, checked with their types."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    sample: int = 0
    prompt_hash: str | None = None
    system: str | None = None
    messages: list[dict[str, Any]] | None = None
    variant: str = "base"
    condition: str = ""
    query_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    turns: list[str] | None = None

    def hash(self) -> str | None:
        """`prompt_hash`, or the hash of `system` + `messages` as afdsl sends them.

        A leading `system` message (the OpenAI chat format) is the system prompt,
        and each message counts by its role and content only, as afdsl hashes them.
        """
        if self.prompt_hash is not None or self.messages is None:
            return self.prompt_hash
        system, messages = self.system or "", self.messages
        if messages and messages[0].get("role") == "system" and self.system is None:
            system, messages = str(messages[0].get("content", "")), messages[1:]
        pairs = ({"role": m.get("role"), "content": m.get("content")} for m in messages)
        return prompt_hash(system, tuple(Message.model_validate(p) for p in pairs))


def _keys(path: Path, number: int, record: Any) -> tuple[_Keys, str | None]:
    """Line `number`'s keys and prompt hash (see `_Keys.hash`); a malformed line is the
    user's to fix, with its line number."""
    if not isinstance(record, dict) or not _turns_of(record):
        raise error(
            f"{path}:{number}: a transcript needs a text field",
            hint="one of: " + ", ".join(_TEXT_FIELDS) + " (or `turns`, a list of replies)",
        )
    try:
        keys = _Keys.model_validate(record)
        key = keys.hash()  # validates the messages too
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        in_messages = problem["loc"][0] in ("messages", "role", "content")
        raise error(
            f"{path}:{number}: `{where}`: {problem['msg']}",
            hint=MESSAGES_HINT if in_messages else None,
        ) from None
    return keys, key


def load_transcripts(
    path: Path, fields: dict[str, str] | None = None
) -> tuple[dict[tuple[str, int], dict[str, Any]], dict[tuple[str, str, str, int], dict[str, Any]]]:
    """Index transcripts by (prompt_hash, sample) and by (variant, condition, query_id, sample).
    `fields` maps those cell keys to an Inspect log's metadata fields."""
    by_hash: dict[tuple[str, int], dict[str, Any]] = {}
    by_cell: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for number, record in _records(path, fields or {}):
        keys, key = _keys(path, number, record)
        if key is not None:
            by_hash[(key, keys.sample)] = record
        if keys.query_id is not None:
            by_cell[(keys.variant, keys.condition, keys.query_id, keys.sample)] = record
    return by_hash, by_cell


def _records(path: Path, fields: dict[str, str]) -> list[tuple[int, Any]]:
    """(line or sample number, record) of a transcript file or an Inspect log."""
    from afdsl.inspect_io import inspect_records, is_inspect_log

    secrets = secret_values()
    if is_inspect_log(path):
        records = list(enumerate(inspect_records(path, fields), 1))
        for number, record in records:
            _refuse_secret(path, number, json.dumps(record), secrets)
        return records
    try:
        text = decode_utf8(read_input(path, MAX_DATA_BYTES))
    except InputError as exc:
        raise error(f"cannot read replay file {path}: {exc.message}") from None
    out = []
    for number, line in json_lines(text):
        _refuse_secret(path, number, line, secrets)
        try:
            # An answer may hold an unpaired surrogate: it is data, stored as the store
            # stores such text, not a mistake in the file.
            out.append((number, parse_json_line(line, surrogates=True)))
        except InputError as exc:
            raise error(f"{path}:{number}: {exc.message}") from None
    return out


def _refuse_secret(path: Path, number: int, text: str, secrets: Any) -> None:
    secret = secret_in(text, secrets)
    if secret is not None:  # it would be stored, and sent to any judge
        raise error(f"{path}:{number}: this line holds the value of ${secret}, a key")


def transcript_path(config: ModelConfig) -> Path:
    """`replay:PATH` as a file: a relative PATH is read beside the .afs file that names it.

    `source_dir` is that file's folder; without one (a model built in Python
    or given with `--model`), a relative PATH is taken from the working directory.
    """
    path = Path(config.name).expanduser()
    if path.is_absolute() or config.source_dir is None:
        return path
    return Path(config.source_dir) / path


class ReplayBackend:
    """Looks answers up; never touches the network."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.path = transcript_path(config)
        self.by_hash, self.by_cell = load_transcripts(self.path, dict(config.replay_fields))

    def _answer(self, record: dict[str, Any], request: Request) -> Completion:
        return Completion(
            text=_reply(record, request, self.path),
            model_id=str(
                record.get("model_id") or record.get("model") or f"replay:{self.path.name}"
            ),
            input_tokens=int(record.get("input_tokens") or 0),  # checked by `_keys`
            output_tokens=int(record.get("output_tokens") or 0),
            finish_reason="replay",
        )

    def _by_hash(self, request: Request) -> dict[str, Any] | None:
        record = self.by_hash.get((request.prompt_hash, request.sample))
        if record is None and request.continuation is not None:
            record = self.by_hash.get((_opening_hash(request), request.sample))
        return record

    async def complete(self, request: Request) -> Completion:
        record = self._by_hash(request)
        if record is None:
            raise BackendError(
                "client", f"no transcript in {self.path} for prompt {request.prompt_hash[:12]}"
            )
        return self._answer(record, request)

    async def complete_item(
        self, request: Request, variant: str, condition: str, query_id: str
    ) -> Completion:
        """Like `complete`, falling back to the (variant, condition, query_id, sample) key."""
        record = self._by_hash(request)
        if record is None:
            record = self.by_cell.get((variant, condition, query_id, request.sample))
        if record is None:
            raise BackendError(
                "client",
                f"no transcript in {self.path} for prompt {request.prompt_hash[:12]} "
                f"or {variant}/{condition}/{query_id} sample {request.sample}",
            )
        return self._answer(record, request)

    async def aclose(self) -> None:
        return None

    def capabilities(self) -> Capabilities:
        return Capabilities(by_cell=self)


def make_backend(config: ModelConfig) -> ReplayBackend:
    return ReplayBackend(config)
