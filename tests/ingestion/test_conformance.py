"""Conformance with the well-known WhatsApp parsers, judged by their own tests.

Each peer's public test fixtures and the values its tests expect are copied as
data into ``tests/fixtures/whatsapp_peers/`` (sources and licences in
``tests/fixtures/README.md``); one table-driven test per peer reads them. Where
we differ by design (system lines kept with a NULL author, multi-line text kept
with its newlines, trailing newlines trimmed) the comparison says so, and
``docs/ingestion.md`` lists why. whatstk's own chat generator is run in every
header format it supports and compared with its ground truth.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from egregora_pipeline.ingestion.report import InputReport
from tests.ingestion.conftest import ChatRun

PEERS = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp_peers"


def _parse(
    ingest_chat: Callable[..., ChatRun], text: str, thread: str, **kwargs: Any
) -> tuple[InputReport, list[dict[str, Any]]]:
    run = ingest_chat(text, name=f"WhatsApp Chat with {thread}.txt", **kwargs)
    (entry,) = [e for e in run.report.inputs if e.path.name == f"WhatsApp Chat with {thread}.txt"]
    assert entry.error is None, entry.error
    return entry, [m for m in run.messages if m["thread_id"] == thread]


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


# -- chat-miner (joweich/chat-miner) --------------------------------------------------------


@pytest.mark.parametrize(
    "chat",
    sorted(p.name for p in (PEERS / "chat-miner").glob("*.txt")),
)
def test_chat_miner_fixtures(ingest_chat: Callable[..., ChatRun], chat: str) -> None:
    """chat-miner expects the authored messages, newest first, lines joined by a space;
    it drops system lines and a body-less ``John Doe:.`` (we keep both as system lines)."""
    target = json.loads((PEERS / "chat-miner" / "target.json").read_text(encoding="utf-8"))
    text = (PEERS / "chat-miner" / chat).read_text(encoding="utf-8")
    entry, rows = _parse(ingest_chat, text, "miner")
    assert entry.rejections == []
    ours = [
        {
            "timestamp": _naive_utc(m["ts"]).isoformat(),
            "author": m["author_raw"],
            "message": m["text"].replace("\n", " "),
        }
        for m in reversed(rows)
        if m["author_raw"] is not None
    ]
    assert ours == target
    assert [m["text"] for m in rows if m["author_raw"] is None] == [
        "John Doe:.",
        '+12 345 578 created group "Groupname"',
        "You were added",
    ]


# -- whatsapp-chat-parser (npm, Pustur/whatsapp-chat-parser 4.0.2) -------------------------

NPM: dict[str, Any] = json.loads(
    (PEERS / "whatsapp-chat-parser" / "cases.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", NPM["formats"], ids=[c["name"] for c in NPM["formats"]])
def test_whatsapp_chat_parser_formats(
    ingest_chat: Callable[..., ChatRun], case: dict[str, str]
) -> None:
    entry, (message,) = _parse(ingest_chat, case["line"] + "\n", case["name"])
    assert entry.rejections == []
    assert message["ts"] == datetime.fromisoformat(case["expected_utc"])
    assert (message["author_raw"], message["text"]) == ("a", "m")


def test_whatsapp_chat_parser_chat_example(ingest_chat: Callable[..., ChatRun]) -> None:
    case = NPM["chat_example"]
    _, rows = _parse(ingest_chat, case["text"], "npm-example")
    assert len(rows) == case["messages"]
    # The parser keeps the file's last newline in the last message; we trim it.
    assert rows[-1]["text"] == case["last_message"].rstrip("\n")
    assert [m["author_raw"] for m in rows] == [
        None,
        None,
        "Sample User",
        "TestBot",
        "+410123456789",
    ]


def test_whatsapp_chat_parser_message_cases(ingest_chat: Callable[..., ChatRun]) -> None:
    _, (multi,) = _parse(ingest_chat, "\n".join(NPM["multiline"]["lines"]) + "\n", "npm-multi")
    assert multi["text"] == NPM["multiline"]["message"]

    system = NPM["system"]
    _, (row,) = _parse(ingest_chat, system["line"] + "\n", "npm-system")
    assert (row["author_raw"], row["text"]) == (None, system["message"])
    assert _naive_utc(row["ts"]) == datetime.fromisoformat(system["expected_local"])

    empty = NPM["empty_message"]
    _, (row,) = _parse(ingest_chat, empty["line"] + "\n", "npm-empty")
    assert (row["author_raw"], row["text"]) == (empty["author"], "")

    normal = NPM["normal"]
    _, (row,) = _parse(ingest_chat, normal["line"] + "\n", "npm-normal")
    assert (row["author_raw"], row["text"]) == (normal["author"], normal["message"])
    assert _naive_utc(row["ts"]) == datetime.fromisoformat(normal["expected_local"])

    attachment = NPM["attachment"]
    _, (row,) = _parse(ingest_chat, attachment["line"] + "\n", "npm-attachment")
    assert json.loads(row["attrs"])["attachment"] == attachment["file_name"]


@pytest.mark.parametrize("order", ["DMY", "MDY"])
def test_whatsapp_chat_parser_days_first_option(
    ingest_chat: Callable[..., ChatRun], order: str
) -> None:
    case = NPM["days_first_option"]
    _, (row,) = _parse(ingest_chat, case["line"] + "\n", f"npm-{order}", date_order=order)
    assert [row["ts"].day, row["ts"].month] == case[order]


@pytest.mark.parametrize("case", NPM["date_order"], ids=[c["test"] for c in NPM["date_order"]])
def test_whatsapp_chat_parser_date_order_verdicts(
    ingest_chat: Callable[..., ChatRun], case: dict[str, Any]
) -> None:
    """Their verdict ``days_first`` true/false must be ours (DMY/MDY); where they give
    up (null) we still decide, and every header must be read."""
    text = "".join(f"{a}/{b}/{y}, 10:00 - A: m{i}\n" for i, (a, b, y) in enumerate(case["dates"]))
    entry, rows = _parse(ingest_chat, text, "npm-order")
    assert entry.rejections == []
    assert len(rows) == len(case["dates"])
    assert entry.chat is not None
    if case["days_first"] is not None:
        assert entry.chat["date_order"] == ("DMY" if case["days_first"] else "MDY")


# -- LangChain's WhatsApp loader (langchain-ai/langchain) -----------------------------------

LANGCHAIN = json.loads((PEERS / "langchain" / "expected.json").read_text(encoding="utf-8"))
LANGCHAIN_LINES = (
    (PEERS / "langchain" / "whatsapp_chat.txt").read_text(encoding="utf-8").splitlines()
)


@pytest.mark.parametrize(
    ("line", "expected"),
    list(zip(LANGCHAIN_LINES, LANGCHAIN["messages"], strict=True)),
    ids=[m["date"] for m in LANGCHAIN["messages"]],
)
def test_langchain_loader_lines(
    ingest_chat: Callable[..., ChatRun], line: str, expected: dict[str, str]
) -> None:
    """LangChain reads each line on its own shape (its fixture mixes eight shapes in one
    file); we detect one shape per file, so each line is its own export here."""
    entry, (row,) = _parse(ingest_chat, line + "\n", "langchain")
    assert entry.rejections == []
    assert (row["author_raw"], row["text"]) == (expected["author"], expected["message"])
    assert row["ts"] is not None


# -- whatstk (lucasrodes/whatstk 0.9.1) ------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The argument `message_type`:FutureWarning")
def test_whatstk_pokemon_chat(ingest_chat: Callable[..., ChatRun]) -> None:
    """whatstk's own parse of its sample chat is the reference: the same authored
    messages; its system line (the group's E2E notice) is a system line here too. whatstk
    folds the next author-less line into it; we keep that line as its own system line."""
    from whatstk.whatsapp.parser import df_from_whatsapp

    path = PEERS / "whatstk" / "pokemon.txt"
    reference = df_from_whatsapp(str(path), message_type=True).to_dict("records")
    _, rows = _parse(ingest_chat, path.read_text(encoding="utf-8"), "pokemon")
    authored = [(m["ts"].replace(tzinfo=None), m["author_raw"], m["text"]) for m in rows]
    expected_users = [
        (r["date"].to_pydatetime(), r["username"], r["message"])
        for r in reference
        if r["message_type"] == "user"
    ]
    assert [a for a in authored if a[1] is not None] == expected_users
    systems = [r for r in reference if r["message_type"] == "system"]
    assert [r["username"] for r in systems] == ["Pokemon Chat"]
    ours_system = [m for m in rows if m["author_raw"] is None]
    assert ours_system[0]["text"] == systems[0]["message"].rstrip("\n")
    assert len(ours_system) == 2


def _whatstk_formats() -> list[str]:
    from whatstk.whatsapp.hformat import get_supported_hformats_as_list

    formats: list[str] = get_supported_hformats_as_list()
    return formats


@pytest.fixture(scope="module")
def whatstk_chat() -> Any:
    from whatstk.whatsapp.generation import ChatGenerator

    # Ends in January: the chat crosses a new year, so the year part changes too.
    return ChatGenerator(size=400, seed=11).generate(last_timestamp=datetime(2020, 1, 20, 9, 30))


@pytest.mark.parametrize("hformat", _whatstk_formats())
def test_whatstk_generator_every_format(
    ingest_chat: Callable[..., ChatRun], tmp_path: Path, whatstk_chat: Any, hformat: str
) -> None:
    """whatstk writes its generated chat in ``hformat``; we read it back exactly: every
    message, author and text, at the precision the header keeps, with no rejection."""
    path = tmp_path / "generated.txt"
    whatstk_chat.to_txt(str(path), hformat=hformat)
    entry, rows = _parse(ingest_chat, path.read_text(encoding="utf-8"), "generated")
    assert entry.rejections == []
    seconds = "%S" in hformat
    truth = [
        (
            r["date"].to_pydatetime().replace(microsecond=0, **({} if seconds else {"second": 0})),
            r["username"],
            r["message"],
        )
        for r in whatstk_chat.df.to_dict("records")
    ]
    assert [(_naive_utc(m["ts"]), m["author_raw"], m["text"]) for m in rows] == truth
