"""What each call of a conversation did: its finish reason stored per turn and shown when
it was cut at max_tokens, and `afdsl status` counting the calls made and the
conversations that stopped at `max` without their output."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from rich.console import Console

from afdsl.check import load_experiment
from afdsl.cli import main
from afdsl.pipeline import experiment_status
from afdsl.run.status import status_table
from afdsl.store import SCHEMA_VERSION, Store, Turn
from afdsl.testing import MockProvider

SOURCE = """use helpful_only

scenario talking extends helpful_only {{
  continue with "<NEXT/>" until "<OUTPUT>" max 3
}}

experiment cut {{
  base talking
  model smol {{
    spec       "openai:smol"
    base_url   "{url}"
    max_tokens 20
  }}
  queries ["Ramble about a walk first.", "Never settle on an answer.", "Answer at once."]
  samples 1
}}
"""
# Per query (ids q1, q2, q3): the calls each conversation makes in one condition.
CALLS = {"q1": 2, "q2": 3, "q3": 1}
ANSWER = "<SCRATCHPAD_REASONING>ok</SCRATCHPAD_REASONING><OUTPUT><rejected/></OUTPUT>"
THINKING = "<SCRATCHPAD_REASONING>Still thinking.</SCRATCHPAD_REASONING>"
RAMBLING = "<SCRATCHPAD_REASONING>" + "A long walk by the river, and then more. " * 10


def reply(system: str, messages: list[dict[str, Any]]) -> str:
    """q1 rambles past max_tokens first (the mock cuts it), then answers; q2 never writes
    its output (it stops at `max 3`); q3 answers in its first call."""
    calls = sum(m["role"] == "assistant" for m in messages)
    opening = str(messages[0]["content"])
    if "Ramble" in opening:
        return RAMBLING if calls == 0 else ANSWER
    return THINKING if "Never" in opening else ANSWER


def _run(tmp_path: Path) -> tuple[Path, Path]:
    afs, store = tmp_path / "cut.afs", tmp_path / "cut.sqlite"
    with MockProvider(conversation_reply=reply, truncate=True) as server:
        afs.write_text(SOURCE.format(url=server.openai_base_url))
        main(["run", str(afs), "--store", str(store), "--quiet"])
        assert server.completion_requests == 2 * sum(CALLS.values())
    return afs, store


def test_each_turn_keeps_its_finish_reason_and_show_marks_the_cut_one(tmp_path, keyed_env, capsys):
    afs, store_path = _run(tmp_path)
    with Store(store_path) as store:
        rows = {(r.query_id, r.condition): r for r in store.responses(experiment="cut")}
        turns = {key: store.turns((r.prompt_hash, r.model, r.params_hash, r.sample))
                 for key, r in rows.items()}  # fmt: skip
    for condition in ("training", "deployment"):
        reasons = {q: [t.finish_reason for t in turns[q, condition]] for q in CALLS}
        assert reasons == {"q1": ["length", "stop"], "q2": ["stop"] * 3, "q3": ["stop"]}
        # The response row carries its last call's reason, not "unknown".
        assert {rows[q, condition].finish_reason for q in CALLS} == {"stop"}
    capsys.readouterr()

    main(["show", str(afs), "--store", str(store_path), "--query", "q1", "--condition",
          "training"])  # fmt: skip
    titles = [line for line in capsys.readouterr().out.splitlines() if line.startswith("┄┄")]
    assert titles == [
        "┄┄ turn 1 · finished: length (truncated at max_tokens) ┄┄",
        "┄┄ user ┄┄",
        "┄┄ turn 2 ┄┄",
    ]
    main(["show", str(afs), "--store", str(store_path), "--json", "--query", "q1"])
    assert '"turn_finish_reasons": ["length", "stop"]' in capsys.readouterr().out


def test_status_counts_calls_and_the_conversations_that_stopped_at_max(tmp_path, keyed_env):
    afs, store_path = _run(tmp_path)
    experiment = load_experiment(afs)
    with Store(store_path) as store:
        (row,) = experiment_status(experiment, store)
        assert (row.done, row.conversations, row.turns, row.at_max) == (6, 6, 12, 2)
        # A conversation whose response is not stored yet (killed before its last call
        # was written): its calls were made and are counted; it is not done.
        with store.transaction():
            store.db.execute("DELETE FROM responses WHERE text NOT LIKE '%<OUTPUT>%'")
        (row,) = experiment_status(experiment, store)
    assert (row.done, row.missing, row.conversations, row.turns, row.at_max) == (4, 2, 4, 12, 0)
    console = Console(width=200, record=True)
    console.print(status_table([row], store_path))
    text = " ".join(console.export_text().split())  # the caption wraps to the table
    assert "conversations" in text and "turns" in text and "at max" in text
    assert "ended after `max` calls without the `until` text" in text


def test_status_of_single_calls_has_no_conversation_columns(tmp_path):
    console = Console(width=200, record=True)
    afs = tmp_path / "one.afs"
    single = SOURCE.format(url="http://127.0.0.1:9/v1")
    afs.write_text(single.replace('  continue with "<NEXT/>" until "<OUTPUT>" max 3\n', ""))
    with Store(tmp_path / "one.sqlite") as store:
        rows = experiment_status(load_experiment(afs), store)
    console.print(status_table(rows, tmp_path))
    assert "turns" not in console.export_text() and rows[0].missing == 6


# The turns table as schema 3 wrote it: no finish_reason.
TURNS_SCHEMA_3 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '3');
CREATE TABLE turns (
    prompt_hash TEXT NOT NULL, model TEXT NOT NULL, params_hash TEXT NOT NULL,
    sample INTEGER NOT NULL, turn INTEGER NOT NULL, text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0, cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    latency_s REAL NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0, model_id TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (prompt_hash, model, params_hash, sample, turn)
);
INSERT INTO turns (prompt_hash, model, params_hash, sample, turn, text, created_at)
VALUES ('h', 'openai:smol', 'p', 0, 1, 'an old first turn', '2026-01-01T00:00:00+00:00');
"""


def test_a_store_from_schema_3_gains_the_turn_finish_reason(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(TURNS_SCHEMA_3)
    key = ("h", "openai:smol", "p", 0)
    with Store(path) as store:
        (old,) = store.turns(key)
        assert old.text == "an old first turn" and old.finish_reason is None  # unknown
        assert store.put_turns([(key, Turn(turn=2, text="next", finish_reason="length"))]) == []
    with Store(path) as store:  # opened again: nothing left to add
        assert [t.finish_reason for t in store.turns(key)] == [None, "length"]
        version = store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        assert version.fetchone() == (str(SCHEMA_VERSION),) == ("4",)
