"""The date-order rule: decided from all headers of a file, overridable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from egregora_pipeline.ingestion import DateOrder, DateOrderError, InvalidSettingError
from egregora_pipeline.ingestion.whatsapp.formats import (
    DATE_ORDER_ENV,
    DateStats,
    date_order_override,
    resolve_date_order,
)
from tests.ingestion.conftest import ChatRun


def _stats(**kwargs: object) -> DateStats:
    base: dict[str, object] = {
        "headers": 10,
        "first_has_four_digits": False,
        "max_first": 9,
        "max_second": 9,
        "first_changes": 0,
        "second_changes": 0,
    }
    base.update(kwargs)
    return DateStats(**base)  # type: ignore[arg-type]


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
    assert resolve_date_order(_stats(first_has_four_digits=True)) is DateOrder.YMD
    assert resolve_date_order(_stats(max_first=13)) is DateOrder.DMY
    assert resolve_date_order(_stats(max_second=31)) is DateOrder.MDY
    assert resolve_date_order(_stats(first_changes=1, second_changes=30)) is DateOrder.MDY
    assert resolve_date_order(_stats(first_changes=30, second_changes=1)) is DateOrder.DMY
    assert resolve_date_order(_stats()) is DateOrder.DMY  # a tie falls back to DMY
    assert resolve_date_order(_stats(max_first=13), override=DateOrder.MDY) is DateOrder.MDY
    with pytest.raises(DateOrderError):
        resolve_date_order(_stats(max_first=13, max_second=13))


def test_bad_override_names_the_setting() -> None:
    with pytest.raises(InvalidSettingError, match=DATE_ORDER_ENV):
        date_order_override(None, {DATE_ORDER_ENV: "DDMM"})
    assert date_order_override(None, {}) is None
