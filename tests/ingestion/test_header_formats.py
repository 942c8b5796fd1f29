"""Every supported WhatsApp header shape parses to the right author, text and UTC time."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from egregora_pipeline.ingestion.streams import Utf16AsUtf8
from egregora_pipeline.ingestion.whatsapp.formats import date_components_pattern, detect_shape
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import ChatRun


def _first(run: ChatRun) -> dict[str, object]:
    assert run.report.ok, run.report.inputs[0].error
    return run.messages[0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("12/31/19, 11:59 PM - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("31/12/2019, 23:59 - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("31.12.19, 23:59 - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("2019-12-31, 23:59 - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("31-12-2019 23:59 - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("[31/12/2019, 23:59:59] ", datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("[12/31/19, 11:59:59 PM] ", datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("31/12/2019, 11:59 p.m. - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("31/12/2019, 11:59 p. m. - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("31/12/2019, 9:05 a. m. - ", datetime(2019, 12, 31, 9, 5, tzinfo=UTC)),
        ("12/31/19, 11:59\u202fPM - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("12/31/19, 11:59\u00a0PM - ", datetime(2019, 12, 31, 23, 59, tzinfo=UTC)),
        ("12/31/19, 12:05 AM - ", datetime(2019, 12, 31, 0, 5, tzinfo=UTC)),
        ("12/31/19, 12:05 PM - ", datetime(2019, 12, 31, 12, 5, tzinfo=UTC)),
        ("31.12.2019 klo 21.25.15 - ", datetime(2019, 12, 31, 21, 25, 15, tzinfo=UTC)),
        ("31. 12. 2019. 21:25:15 - ", datetime(2019, 12, 31, 21, 25, 15, tzinfo=UTC)),
        ("\u200e[31/12/2019, 23:59:59] ", datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_header_shape_gives_author_text_and_time(
    ingest_chat: Callable[..., ChatRun], header: str, expected: datetime
) -> None:
    run = ingest_chat(f"{header}Ana Souza: olá mundo\n{header}Bob: second\n")
    first = _first(run)
    assert first["author_raw"] == "Ana Souza"
    assert first["text"] == "olá mundo"
    assert first["ts"] == expected
    assert [m["msg_id"] for m in run.messages] == ["1", "2"]


def test_finnish_short_date_without_padding(ingest_chat: Callable[..., ChatRun]) -> None:
    run = ingest_chat("13.6.2018 klo 21.25.15 - Aino: hei\n14.6.2018 klo 8.01.00 - Aino: moi\n")
    assert [m["ts"] for m in run.messages] == [
        datetime(2018, 6, 13, 21, 25, 15, tzinfo=UTC),
        datetime(2018, 6, 14, 8, 1, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("header", "components"),
    [
        ("12/31/19, 11:59 PM - ", ("12", "31", "19")),
        ("31.12.19, 23:59 - ", ("31", "12", "19")),
        ("2019-12-31, 23:59 - ", ("2019", "12", "31")),
        ("2018/7/1 21:25 - ", ("2018", "7", "1")),
        ("31-12-2019 23:59 - ", ("31", "12", "2019")),
        ("[31/12/2019, 23:59:59] ", ("31", "12", "2019")),
        ("31.12.2019 klo 21.25.15 - ", ("31", "12", "2019")),
        ("31. 12. 2019. 21:25:15 - ", ("31", "12", "2019")),
        ("\u200e[\u200e31/12/2019, 23:59:59] ", ("31", "12", "2019")),
        ("\u200e12/31/19, 11:59 PM - ", ("12", "31", "19")),
    ],
)
def test_the_date_order_rule_reads_the_three_components_of_every_shape(
    header: str, components: tuple[str, str, str]
) -> None:
    # The pattern is RE2 in DuckDB; it only uses syntax Python's re shares.
    shape = detect_shape([f"{header}Ana: hi"])
    assert shape is not None
    match = re.match(date_components_pattern(shape), f"\n{header}Ana: hi")
    assert match is not None
    assert match.groups() == components


def test_crlf_line_endings_are_not_kept_in_text(ingest_chat: Callable[..., ChatRun]) -> None:
    run = ingest_chat("31/12/2019, 23:59 - Ana: one\r\nmore\r\n31/12/2019, 23:59 - Bob: two\r\n")
    assert [m["text"] for m in run.messages] == ["one\nmore", "two"]


def test_invisible_marks_are_kept_out_of_names(ingest_chat: Callable[..., ChatRun]) -> None:
    run = ingest_chat(
        "\u200e31/12/2019, 23:59 - \u202a+55 11 91234-5678\u202c: oi\n"
        "31/12/2019, 23:59 - \u2066Ana\u2069: \u200ehello\n"
    )
    assert [m["author_raw"] for m in run.messages] == ["+55 11 91234-5678", "Ana"]
    assert run.messages[1]["text"] == "hello"


def test_a_header_led_by_a_bidi_mark_mid_file_keeps_its_timestamp(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    # The loader skips header trimming when every header starts with a digit;
    # one marked header anywhere must turn trimming back on.
    run = ingest_chat(
        "31/12/2019, 23:58 - Ana: plain\n"
        "\u200e31/12/2019, 23:59 - Bob: marked\n"
        "01/01/2020, 00:00 - Ana: plain again\n"
    )
    (entry,) = run.report.inputs
    assert entry.rejections == []
    assert [m["ts"] for m in run.messages] == [
        datetime(2019, 12, 31, 23, 58, tzinfo=UTC),
        datetime(2019, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2020, 1, 1, 0, 0, tzinfo=UTC),
    ]


def test_local_time_is_converted_from_the_configured_zone_to_utc(
    ingest_chat: Callable[..., ChatRun], settings: Settings
) -> None:
    run = ingest_chat(
        "15/07/2019, 12:00 - Ana: summer\n15/01/2019, 12:00 - Ana: winter\n",
        settings_override=replace(settings, timezone="Europe/Lisbon"),
    )
    lisbon = ZoneInfo("Europe/Lisbon")
    assert [m["ts"] for m in run.messages] == [
        datetime(2019, 7, 15, 12, 0, tzinfo=lisbon).astimezone(UTC),
        datetime(2019, 1, 15, 12, 0, tzinfo=lisbon).astimezone(UTC),
    ]
    assert run.messages[0]["ts"].hour == 11


def test_an_impossible_date_is_rejected_with_its_line(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(
        "31/12/2019, 23:59 - Ana: ok\n31/02/2019, 23:59 - Ana: no such day\n",
    )
    (entry,) = run.report.inputs
    assert [m["text"] for m in run.messages] == ["ok"]
    (rejection,) = entry.rejections
    assert rejection.line_number == 2
    assert "not a valid DMY date" in rejection.reason


def test_text_without_any_header_is_rejected_as_a_whole(
    ingest_chat: Callable[..., ChatRun], tmp_path: object
) -> None:
    run = ingest_chat("just some notes\n", name="WhatsApp Chat with Nobody.txt")
    (entry,) = run.report.inputs
    assert entry.error is not None
    assert "WhatsApp" in entry.error
    assert run.messages == []


def test_a_chat_saved_again_as_utf16_is_read_like_the_utf8_original(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    text = "31/12/2019, 23:58 - Zoë: olá 😀\r\nsecond line\r\n31/12/2019, 23:59 - Ana: ok\r\n"
    run = ingest_chat(text.encode("utf-16"))
    (entry,) = run.report.inputs
    assert entry.error is None
    assert [(m["author_raw"], m["text"]) for m in run.messages] == [
        ("Zoë", "olá 😀\nsecond line"),
        ("Ana", "ok"),
    ]


def test_utf16_is_transcoded_in_exact_blocks_so_no_block_looks_final_too_early() -> None:
    data = ("31/12/2019, 23:59 - Ana: olá\n" * 1000).encode("utf-16")
    reader = Utf16AsUtf8(io.BytesIO(data))
    blocks = []
    while block := reader.read(4096):
        blocks.append(block)
    assert all(len(b) == 4096 for b in blocks[:-1])
    assert b"".join(blocks).decode("utf-8") == "31/12/2019, 23:59 - Ana: olá\n" * 1000


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["2018. 6. 13. 오후 9:25 - Ana: hi", "2018. 6. 14. 오전 9:05 - Bob: yo"],
            [datetime(2018, 6, 13, 21, 25, tzinfo=UTC), datetime(2018, 6, 14, 9, 5, tzinfo=UTC)],
        ),
        (
            ["2018/6/13 下午 12:05 - Ana: hi", "2018/6/14 上午 12:05 - Bob: yo"],
            [datetime(2018, 6, 13, 12, 5, tzinfo=UTC), datetime(2018, 6, 14, 0, 5, tzinfo=UTC)],
        ),
    ],
    ids=["korean", "chinese"],
)
def test_am_pm_written_as_a_word_before_the_time(
    ingest_chat: Callable[..., ChatRun], lines: list[str], expected: list[datetime]
) -> None:
    run = ingest_chat("".join(f"{line}\n" for line in lines))
    assert [m["ts"] for m in run.messages] == expected
    assert [m["author_raw"] for m in run.messages] == ["Ana", "Bob"]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # year first with one-digit month/day (Chinese, Japanese, Korean locales)
        (
            ["2018/7/1 21:25 - Ana: a", "2018/7/2 9:05 - Bob: b", "2018/10/12 9:00 - Bob: c"],
            [datetime(2018, 7, 1, 21, 25), datetime(2018, 7, 2, 9, 5), datetime(2018, 10, 12, 9)],
        ),
        (
            ["2018. 7. 1. 오후 9:25 - Ana: a", "2018. 7. 2. 오전 9:25 - Ana: b"],
            [datetime(2018, 7, 1, 21, 25), datetime(2018, 7, 2, 9, 25)],
        ),
        # two-digit year first: the part that never changes is the year
        (
            ["19-09-05, 10:00 - Ana: a", "19-09-06, 10:00 - Ana: b", "19-10-01, 10:00 - Ana: c"],
            [datetime(2019, 9, 5, 10), datetime(2019, 9, 6, 10), datetime(2019, 10, 1, 10)],
        ),
        (
            ["[19.09.05 10:00:00] Ana: a", "[19.09.06 10:00:00] Ana: b"],
            [datetime(2019, 9, 5, 10), datetime(2019, 9, 6, 10)],
        ),
        # year-day-month (whatstk writes and reads it)
        (
            ["19/05/09, 10:00 - Ana: a", "19/06/09, 10:00 - Ana: b", "19/28/09, 10:00 - Ana: c"],
            [datetime(2019, 9, 5, 10), datetime(2019, 9, 6, 10), datetime(2019, 9, 28, 10)],
        ),
        # nothing but the time between the date and the author (whatsapp-chat-parser)
        (
            ["13. 6. 2018. 21:25:15 Ana: text", "13. 6. 2018. 21:26:00 Bob Z: a: b"],
            [datetime(2018, 6, 13, 21, 25, 15), datetime(2018, 6, 13, 21, 26)],
        ),
        (
            ["13.06.18 21.25.15: Ana: text", "14.06.18 08.00.00: Ana: more"],
            [datetime(2018, 6, 13, 21, 25, 15), datetime(2018, 6, 14, 8)],
        ),
        # a four-digit year in the middle (whatsapp-chat-parser's format10)
        (
            ["[06/2018/13, 21:25:15] Ana: m", "[06/2018/14, 21:25:15] Ana: n"],
            [datetime(2018, 6, 13, 21, 25, 15), datetime(2018, 6, 14, 21, 25, 15)],
        ),
    ],
)
def test_every_locale_shape_parses_exactly(
    ingest_chat: Callable[..., ChatRun], lines: list[str], expected: list[datetime]
) -> None:
    run = ingest_chat("\n".join(lines) + "\n")
    (entry,) = run.report.inputs
    assert entry.error is None
    assert entry.rejections == []
    assert [m["ts"] for m in run.messages] == [e.replace(tzinfo=UTC) for e in expected]
    assert run.messages[0]["author_raw"] == "Ana"


@pytest.mark.parametrize(
    ("bad_line", "column", "why"),
    [
        ("12/31/19, 9:26 XM - Ana: bad clock word", 15, "unknown clock word 'XM'"),
        ("12/31/19, 9:261 PM - Ana: three-digit minutes", 13, "minute '261'"),
        ("12/31/19, 19:26 PM - Ana: hour past 12", 11, "hour '19'"),
    ],
)
def test_a_header_like_line_that_cannot_be_read_is_rejected_not_glued(
    ingest_chat: Callable[..., ChatRun], bad_line: str, column: int, why: str
) -> None:
    run = ingest_chat(
        f"12/31/19, 9:25 PM - Ana: before\n{bad_line}\nits continuation\n"
        "12/31/19, 9:27 PM - Bob: after\n"
    )
    (entry,) = run.report.inputs
    assert [m["text"] for m in run.messages] == ["before", "after"]
    (rejection,) = entry.rejections
    assert (rejection.line_number, rejection.column_number) == (2, column)
    assert why in rejection.reason
    assert rejection.raw is not None
    assert rejection.raw in f"{bad_line}\nits continuation"  # the header, or all of it
    assert entry.chat is not None
    assert entry.chat["unreadable_headers"] == (0 if "hour" in why else 1)


def test_an_impossible_hour_names_its_column(ingest_chat: Callable[..., ChatRun]) -> None:
    run = ingest_chat(
        "31/12/2019, 23:00 - Ana: a\n31/12/2019, 25:10 - Ana: bad hour\n"
        "31/12/2019, 23:30 - Bob: ok\n"
    )
    (entry,) = run.report.inputs
    (rejection,) = entry.rejections
    assert (rejection.line_number, rejection.column_number) == (2, 13)
    assert "hour '25'" in rejection.reason
    assert [m["text"] for m in run.messages] == ["a", "ok"]


def test_a_continuation_line_that_only_mentions_a_date_stays_text(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(
        "31/12/2019, 23:00 - Ana: the plan\n31/12/2019 is the deadline\n"
        "31/12/2019, 23:59 we meet\n31/12/2019, 23:30 - Bob: ok\n"
    )
    (entry,) = run.report.inputs
    assert entry.rejections == []
    assert run.messages[0]["text"] == (
        "the plan\n31/12/2019 is the deadline\n31/12/2019, 23:59 we meet"
    )


@pytest.mark.parametrize(
    ("line", "zone"),
    [
        ("01/01/0000, 10:00 - Ana: year zero", "UTC"),
        ("31/12/9999, 23:00 - Ana: year 10000 once in UTC", "America/New_York"),
    ],
)
def test_a_year_outside_1_to_9999_is_a_rejection_with_its_line(
    ingest_chat: Callable[..., ChatRun], settings: Settings, line: str, zone: str
) -> None:
    run = ingest_chat(
        f"30/12/2019, 10:00 - Ana: ok\n{line}\n31/12/2019, 10:00 - Ana: ok too\n",
        settings_override=replace(settings, timezone=zone),
    )
    (entry,) = run.report.inputs
    (rejection,) = entry.rejections
    assert rejection.line_number == 2
    assert "0001-9999" in rejection.reason
    assert [m["text"] for m in run.messages] == ["ok", "ok too"]


def test_daylight_saving_gaps_and_repeats_follow_fold_0_and_are_flagged(
    ingest_chat: Callable[..., ChatRun], settings: Settings
) -> None:
    run = ingest_chat(
        "26/03/2023, 01:50 - Ana: before the gap\n"
        "26/03/2023, 02:30 - Ana: in the gap\n"
        "29/10/2023, 02:30 - Ana: in the repeated hour\n"
        "29/10/2023, 03:30 - Ana: after\n",
        settings_override=replace(settings, timezone="Europe/Berlin"),
    )
    berlin = ZoneInfo("Europe/Berlin")
    local = [
        datetime(2023, 3, 26, 1, 50),
        datetime(2023, 3, 26, 2, 30),
        datetime(2023, 10, 29, 2, 30),
        datetime(2023, 10, 29, 3, 30),
    ]
    # Python's own rule: fold=0 (gap read with the offset before; repeat = earlier instant)
    assert [m["ts"] for m in run.messages] == [
        t.replace(tzinfo=berlin, fold=0).astimezone(UTC) for t in local
    ]
    assert run.messages[1]["ts"] == datetime(2023, 3, 26, 1, 30, tzinfo=UTC)
    assert run.messages[2]["ts"] == datetime(2023, 10, 29, 0, 30, tzinfo=UTC)
    flags = [json.loads(m["attrs"]).get("local_time") for m in run.messages]
    assert flags == [None, "nonexistent", "ambiguous", None]


def test_a_repeated_hour_west_of_greenwich_is_the_earlier_instant(
    ingest_chat: Callable[..., ChatRun], settings: Settings
) -> None:
    run = ingest_chat(
        "11/03/2019, 01:30 AM - Ana: first pass\n11/03/2019, 02:30 AM - Ana: after\n",
        settings_override=replace(settings, timezone="America/New_York"),
        date_order="MDY",
    )
    assert [m["ts"] for m in run.messages] == [
        datetime(2019, 11, 3, 5, 30, tzinfo=UTC),  # 01:30 EDT, not 01:30 EST (06:30Z)
        datetime(2019, 11, 3, 7, 30, tzinfo=UTC),
    ]
    assert json.loads(run.messages[0]["attrs"])["local_time"] == "ambiguous"
