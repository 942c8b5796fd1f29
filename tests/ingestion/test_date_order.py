"""The date-order rule: decided from all headers of a file, overridable."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from egregora_pipeline.ingestion import DateOrder, DateOrderError, InvalidSettingError
from egregora_pipeline.ingestion.whatsapp.dateorder import (
    DATE_ORDER_ENV,
    DateStats,
    PartStats,
    date_order_override,
    resolve_date_order,
)
from tests.ingestion.conftest import ChatRun


def _stats(
    *maxima: int,
    changes: tuple[int, int, int] = (0, 0, 0),
    wide: tuple[bool, bool, bool] = (False, False, False),
    backward: dict[DateOrder, int] | None = None,
) -> DateStats:
    """Stats of a file whose three parts reach ``maxima`` (every header readable
    in each order those maxima allow)."""
    parts = tuple(
        PartStats(max_value=m, min_value=1, wide=w, changes=c)
        for m, w, c in zip(maxima, wide, changes, strict=True)
    )
    unreadable = {}
    for order in DateOrder:
        roles = dict(zip(order.value, maxima, strict=True))
        unreadable[order] = int(roles["M"] > 12 or roles["D"] > 31)
    return DateStats(
        headers=10,
        parts=(parts[0], parts[1], parts[2]),
        unreadable=unreadable,
        backward=backward or {},
    )


def test_a_first_component_above_12_anywhere_means_day_first(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    # The first lines alone are ambiguous (03/04); line 3 decides for the whole file.
    run = ingest_chat(
        "03/04/2020, 10:00 - Ana: a\n03/04/2020, 11:00 - Ana: b\n25/04/2020, 10:00 - Ana: c\n"
    )
    assert run.messages[0]["ts"] == datetime(2020, 4, 3, 10, 0, tzinfo=UTC)


def test_a_second_component_above_12_anywhere_means_month_first(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat("03/04/20, 10:00 AM - Ana: a\n03/25/20, 10:00 AM - Ana: b\n")
    assert run.messages[0]["ts"] == datetime(2020, 3, 4, 10, 0, tzinfo=UTC)


def test_when_all_components_are_small_the_one_varying_like_a_day_is_the_day(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    days = "".join(f"1/{day}/20, 10:00 AM - Ana: m{day}\n" for day in range(1, 10))
    run = ingest_chat(days)
    assert [m["ts"].day for m in run.messages] == list(range(1, 10))
    assert {m["ts"].month for m in run.messages} == {1}


def test_four_digit_first_component_means_year_first(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat("2020-04-03, 10:00 - Ana: a\n")
    assert run.messages[0]["ts"] == datetime(2020, 4, 3, 10, 0, tzinfo=UTC)


def test_explicit_override_beats_the_rule(ingest_chat: Callable[..., ChatRun]) -> None:
    run = ingest_chat("03/04/2020, 10:00 - Ana: a\n", date_order="MDY")
    assert run.messages[0]["ts"] == datetime(2020, 3, 4, 10, 0, tzinfo=UTC)


def test_environment_override(
    ingest_chat: Callable[..., ChatRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATE_ORDER_ENV, "mdy")
    run = ingest_chat("03/04/2020, 10:00 - Ana: a\n")
    assert run.messages[0]["ts"] == datetime(2020, 3, 4, 10, 0, tzinfo=UTC)


def test_contradicting_headers_reject_the_file_with_advice(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat("25/04/2020, 10:00 - Ana: a\n04/25/2020, 10:00 - Ana: b\n")
    (entry,) = run.report.inputs
    assert entry.error is not None
    assert DATE_ORDER_ENV in entry.error
    assert run.messages == []


def test_rule_as_a_pure_function() -> None:
    def order(stats: DateStats, override: DateOrder | None = None) -> DateOrder:
        return resolve_date_order(stats, override=override).order

    assert order(_stats(12, 12, 2020, wide=(False, False, True))) is DateOrder.DMY
    assert order(_stats(2020, 12, 31, wide=(True, False, False))) is DateOrder.YMD
    assert order(_stats(13, 12, 20)) is DateOrder.DMY
    assert order(_stats(12, 31, 20)) is DateOrder.MDY
    assert order(_stats(9, 9, 20, changes=(1, 30, 0))) is DateOrder.MDY
    assert order(_stats(9, 9, 20, changes=(30, 1, 0))) is DateOrder.DMY
    # two-digit year first: the part that never changes is the year
    assert order(_stats(19, 9, 28, changes=(0, 2, 40))) is DateOrder.YMD
    assert order(_stats(19, 28, 9, changes=(0, 40, 2))) is DateOrder.YDM
    # a tie on every other count: the chronological reading wins, then DMY
    tie = _stats(9, 9, 20, changes=(5, 5, 0), backward={DateOrder.DMY: 3})
    assert order(tie) is DateOrder.MDY
    assert order(_stats(9, 9, 20)) is DateOrder.DMY
    assert order(_stats(13, 12, 20), override=DateOrder.MDY) is DateOrder.MDY
    with pytest.raises(DateOrderError, match="DMY"):
        resolve_date_order(
            DateStats(
                headers=10,
                parts=(
                    PartStats(25, 1, False, 3),
                    PartStats(25, 1, False, 3),
                    PartStats(20, 20, False, 0),
                ),
                unreadable={o: 1 if o is DateOrder.DMY else 5 for o in DateOrder},
            )
        )


def test_every_order_has_a_name_the_setting_accepts() -> None:
    for order in DateOrder:
        assert date_order_override(None, {DATE_ORDER_ENV: order.value.lower()}) is order


def test_bad_override_names_the_setting() -> None:
    with pytest.raises(InvalidSettingError, match=DATE_ORDER_ENV):
        date_order_override(None, {DATE_ORDER_ENV: "DDMM"})
    assert date_order_override(None, {}) is None


def test_a_tie_is_decided_by_which_order_keeps_the_file_chronological(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    # Both parts change once: only month-first keeps the dates moving forward.
    run = ingest_chat("01/05/20, 10:00 - Ana: a\n02/04/20, 10:00 - Ana: b\n")
    assert [m["ts"] for m in run.messages] == [
        datetime(2020, 1, 5, 10, tzinfo=UTC),
        datetime(2020, 2, 4, 10, tzinfo=UTC),
    ]
    chat = run.report.inputs[0].chat
    assert chat is not None
    assert chat["date_order"] == "MDY"
    assert "file order" in str(chat["date_order_reason"])


def test_a_reading_that_runs_backwards_is_replaced_by_one_that_does_not(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    # The first part changes more often (day-like), but read day-first the third
    # message goes back a month; read month-first every message moves forward.
    run = ingest_chat(
        "01/05/20, 10:00 - Ana: a\n02/05/20, 10:00 - Ana: b\n03/04/20, 10:00 - Ana: c\n"
    )
    assert [m["ts"].month for m in run.messages] == [1, 2, 3]
    chat = run.report.inputs[0].chat
    assert chat is not None
    assert chat["date_order"] == "MDY"
    assert chat["chronological"] is True


def test_a_file_no_order_keeps_chronological_is_loaded_and_flagged(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(
        "25/04/2020, 10:00 - Ana: a\n26/04/2020, 10:00 - Ana: b\n"
        "20/04/2020, 10:00 - Ana: back in time\n27/04/2020, 10:00 - Ana: c\n"
    )
    (entry,) = run.report.inputs
    assert entry.error is None
    assert len(run.messages) == 4
    assert entry.chat is not None
    assert entry.chat["chronological"] is False
    assert entry.chat["out_of_order_messages"] == 1
    assert entry.chat["first_out_of_order_line"] == 3
    flagged = [json.loads(m["attrs"]) for m in run.messages]
    assert flagged[2]["out_of_order"] is True
    assert flagged[2]["line"] == 3
    assert "out_of_order" not in flagged[3]


def test_one_message_with_a_wrong_clock_never_moves_the_whole_chat_to_another_order(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    """The parts change like day-month-year; month-first would be in time order only
    because one phone clock was a month off. The change evidence wins; that one
    message is flagged."""
    days = [f"0{d}/01/2020" for d in range(1, 5)] + ["05/02/2020"]
    days += [f"0{d}/01/2020" for d in range(6, 9)]
    run = ingest_chat("".join(f"{day}, 10:00 - Ana: m{i}\n" for i, day in enumerate(days)))
    (entry,) = run.report.inputs
    assert entry.chat is not None
    assert entry.chat["date_order"] == "DMY"
    assert entry.chat["chronological"] is False
    assert [m["ts"].day for m in run.messages] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [m["ts"].month for m in run.messages] == [1, 1, 1, 1, 2, 1, 1, 1]
    assert json.loads(run.messages[5]["attrs"])["out_of_order"] is True


def test_a_clock_change_is_not_out_of_order(ingest_chat: Callable[..., ChatRun]) -> None:
    run = ingest_chat("25/04/2020, 02:50 - Ana: a\n25/04/2020, 02:05 - Ana: b\n")
    chat = run.report.inputs[0].chat
    assert chat is not None
    assert chat["chronological"] is True


def test_the_summary_records_shape_order_and_why(ingest_chat: Callable[..., ChatRun]) -> None:
    run = ingest_chat("25/04/2020, 10:00 - Ana: a\n")
    chat = run.report.inputs[0].chat
    assert chat is not None
    assert chat["shape"] == "android header like '31/12/2019, 23:59 - ' (24-hour clock)"
    assert chat["date_order"] == "DMY"
    assert "only DMY reads every header" in str(chat["date_order_reason"])
    assert chat["unreadable_headers"] == 0


def test_year_day_month_can_be_forced(ingest_chat: Callable[..., ChatRun]) -> None:
    run = ingest_chat("19/05/09, 10:00 - Ana: a\n", date_order="ydm")
    assert run.messages[0]["ts"] == datetime(2019, 9, 5, 10, tzinfo=UTC)


def test_the_refusal_suggests_only_orders_that_read_the_most_headers(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(
        "25/04/2020, 10:00 - Ana: a\n26/04/2020, 10:00 - Ana: b\n04/27/2020, 10:00 - Ana: c\n"
    )
    (entry,) = run.report.inputs
    assert entry.error is not None
    assert f"{DATE_ORDER_ENV}=DMY" in entry.error
    assert "MDY" not in entry.error
