"""WhatsApp message-header shapes, their detection, and the date-order rule.

A WhatsApp export starts every message with a header whose shape depends on
the phone (Android ``date, time - `` or iOS ``[date, time] ``) and its locale
(separators, 12/24-hour clock, seconds, words such as Finnish ``klo``). We
detect the *shape* once per file from its first lines with one permissive
regex, then build one strict pattern for that shape. Only lines matching the
strict pattern start a message, so a continuation line that merely begins with
something date-like stays part of the previous message.

The date *order* cannot be read from one line (``03/04/2020``), so it is
decided from all headers of the file, see :func:`resolve_date_order`.
"""

from __future__ import annotations

import enum
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from egregora_pipeline.ingestion.errors import DateOrderError, InvalidSettingError
from egregora_pipeline.sql import quote_literal

INVISIBLE_MARKS: Final = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Bidi marks WhatsApp sprinkles into exports (LRM, RLM, embeddings, isolates).
They are stripped from headers and names; message text keeps inner ones."""

MARKS_CLASS: Final = "[\u200e\u200f\u202a-\u202e\u2066-\u2069]"
"""The same marks as a regex character class (valid in Python ``re`` and RE2)."""

AMPM_SPACES: Final = " \u202f\u00a0"
"""Spaces seen before AM/PM: plain, narrow no-break (newer Android/iOS), no-break."""

AMPM_WORDS_BEFORE_TIME: Final = {
    "오전": "AM",
    "오후": "PM",
    "上午": "AM",
    "下午": "PM",
    "午前": "AM",
    "午後": "PM",
}
"""Korean, Chinese and Japanese exports write AM/PM as a word *before* the time
(``2018. 6. 13. 오후 9:25 - ``); a header of such a file may carry either word."""

DATE_ORDER_ENV: Final = "EGREGORA_DATE_ORDER"

_DETECT_SAMPLE_LINES: Final = 20_000


class DateOrder(enum.StrEnum):
    """Order of the day, month and year components in a header date."""

    DMY = "DMY"
    MDY = "MDY"
    YMD = "YMD"


@dataclass(frozen=True)
class HeaderShape:
    """The literal pieces of one file's header, as detected.

    ``date_sep`` sits between date components (``/``, ``.``, ``-``, ``. ``),
    ``date_end`` closes the date (``.`` in ``13. 6. 2018.``), ``date_time_sep``
    sits between date and time (``, ``, `` ``, `` klo ``), ``time_sep`` between
    hours and minutes (``:`` or Finnish ``.``), and ``bracketed`` tells iOS
    ``[date, time] `` from Android ``date, time - ``.
    """

    bracketed: bool
    date_sep: str
    date_end: str
    date_time_sep: str
    time_sep: str
    twelve_hour: bool = False
    year_digits: int = 4
    ampm_plain: bool = True
    """AM/PM written exactly `` AM``/`` PM`` (so headers need no normalization)."""
    seconds: bool = False
    """Most headers carry seconds (iOS, Finnish): try that ``strptime`` format first."""
    ampm_before: bool = False
    """AM/PM is a word before the time (:data:`AMPM_WORDS_BEFORE_TIME`), followed by a
    space; ``date_time_sep`` is what comes before that word."""

    @property
    def normalize_ampm(self) -> bool:
        return self.twelve_hour and (not self.ampm_plain or self.ampm_before)

    @property
    def terminator(self) -> str:
        """What ends every header: its first occurrence in a header line is the header's end
        (no date, time or separator of a supported shape contains it)."""
        return "] " if self.bracketed else " - "

    @property
    def platform(self) -> str:
        return "ios" if self.bracketed else "android"


_GENERIC_HEADER: Final = re.compile(
    rf"^{MARKS_CLASS}*(?P<open>\[)?{MARKS_CLASS}*"
    r"(?P<d1>\d{1,4})(?P<ds>[./-] ?)(?P<d2>\d{1,2})(?P=ds)(?P<d3>\d{2,4})(?P<dend>\.?)"
    r"(?P<dts>,? ?(?:[^\W\d_]{1,8}\.? )?)"
    r"(?P<h>\d{1,2})(?P<ts>[:.])(?P<mi>\d{2})(?P<ss>(?P=ts)\d{2})?"
    rf"(?P<ap>[{AMPM_SPACES}]?[AaPp]\.?[{AMPM_SPACES}]?[Mm]\.?)?"
    r"(?P<end>\] | - )"
)


def _escape(literal: str) -> str:
    """Escape a detected literal for both Python ``re`` and RE2 (letters/digits/spaces pass)."""
    return "".join("\\" + ch if not (ch.isalnum() or ch == " ") else ch for ch in literal)


def detect_shape(lines: Iterable[str]) -> HeaderShape | None:
    """The most common header shape among ``lines`` (``None`` if no line is a header).

    A vote, not the first match: one odd line (a pasted message that happens
    to start like a header of another locale) cannot decide the shape.
    """
    # Votes go to plain tuples of the HeaderShape fields (in field order): building
    # a frozen dataclass per line cost four times the regex itself.
    votes: Counter[tuple[bool, str, str, str, str, bool, int, bool, bool, bool]] = Counter()
    for count, line in enumerate(lines):
        if count >= _DETECT_SAMPLE_LINES:
            break
        match = _GENERIC_HEADER.match(line)
        if match is None:
            continue
        bracketed = match["open"] is not None
        if bracketed != (match["end"] == "] "):
            continue
        ap, d1, dts = match["ap"], match["d1"], match["dts"]
        word = dts.rstrip(" ").rsplit(" ", 1)[-1].lstrip(",")
        before = word in AMPM_WORDS_BEFORE_TIME and ap is None
        if before:  # keep only what precedes the word: either word may start a header
            dts = dts[: dts.rindex(word)]
        votes[
            (
                bracketed,
                match["ds"],
                match["dend"],
                dts,
                match["ts"],
                ap is not None or before,
                4 if len(d1) == 4 else len(match["d3"]),
                ap in (None, " AM", " PM"),
                match["ss"] is not None,
                before,
            )
        ] += 1
    if not votes:
        return None
    return HeaderShape(*votes.most_common(1)[0][0])


HEADER_GROUPS: Final = ("h", "d1", "d2", "d3", "hh", "mi", "ss", "ap")
"""Named groups of :func:`header_pattern`: ``h`` is the whole header (its length
says where the body starts), the others are the date and time components."""


def header_pattern(shape: HeaderShape) -> str:
    """The strict header pattern for ``shape``, anchored at a line start.

    The subject is a line *preceded by its newline* (``"\\n" + line``), which
    is how the splitter hands lines over. The pattern uses only syntax shared
    by Python ``re`` and RE2 (DuckDB/Arrow), so tests can run it either way.
    """
    ds = _escape(shape.date_sep)
    open_ = r"\[" if shape.bracketed else ""
    end = r"\] " if shape.bracketed else " - "
    ts = _escape(shape.time_sep)
    return (
        rf"^\n(?P<h>{MARKS_CLASS}*{open_}{MARKS_CLASS}*"
        rf"(?P<d1>\d{{1,4}}){ds}(?P<d2>\d{{1,2}}){ds}(?P<d3>\d{{2,4}}){_escape(shape.date_end)}"
        rf"{_escape(shape.date_time_sep)}{_ampm_word_pattern() if shape.ampm_before else ''}"
        rf"(?P<hh>\d{{1,2}}){ts}(?P<mi>\d{{2}})(?:{ts}(?P<ss>\d{{2}}))?"
        rf"(?:[{AMPM_SPACES}]?(?P<ap>[AaPp])\.?[{AMPM_SPACES}]?[Mm]\.?)?"
        rf"{end})"
    )


def date_components_pattern(shape: HeaderShape) -> str:
    """RE2 pattern whose groups 1 and 2 are the first two date components of a message.

    Anchored like :func:`header_pattern` (subject ``"\\n" + line``) but only as far
    as the second component: an anchored prefix match costs a third of cutting
    the header out and splitting it, and the date-order rule needs nothing else.
    """
    open_ = r"\[" if shape.bracketed else ""
    ds = _escape(shape.date_sep)
    return rf"^\n{MARKS_CLASS}*{open_}{MARKS_CLASS}*(\d{{1,4}}){ds}(\d{{1,2}})"


def _ampm_word_pattern() -> str:
    return "(?:" + "|".join(AMPM_WORDS_BEFORE_TIME) + ") "


def move_ampm_words_sql(header: str) -> str:
    """SQL moving a leading AM/PM word after the time (``오후 9:25`` -> ``9:25 PM``)."""
    for value in ("AM", "PM"):
        words = "|".join(w for w, v in AMPM_WORDS_BEFORE_TIME.items() if v == value)
        pattern = quote_literal(f"(?:{words}) (\\d{{1,2}}[:.]\\d{{2}}(?:[:.]\\d{{2}})?)")
        header = f"regexp_replace({header}, {pattern}, {quote_literal(chr(92) + '1 ' + value)})"
    return header


def strptime_formats(shape: HeaderShape, order: DateOrder) -> list[str]:
    """DuckDB ``strptime`` formats (with and without seconds) for a normalized header.

    The header is normalized by the loader: leading marks and ``[`` removed and,
    for 12-hour files with unusual AM/PM spellings (``p. m.``, U+202F, ...),
    upper-cased with AM/PM spelled `` AM``/`` PM``; the literal pieces of the
    format are then upper-cased to match.
    """

    def literal(text: str) -> str:
        text = text.upper() if shape.normalize_ampm else text
        return text.replace("%", "%%")

    year = "%Y" if shape.year_digits == 4 else "%y"
    parts = {DateOrder.DMY: ("%d", "%m", year), DateOrder.MDY: ("%m", "%d", year)}.get(
        order, (year, "%m", "%d")
    )
    date = literal(shape.date_sep).join(parts) + literal(shape.date_end)
    clock = "%I" if shape.twelve_hour else "%H"
    ts = literal(shape.time_sep)
    ampm = " %p" if shape.twelve_hour else ""
    head = f"{date}{literal(shape.date_time_sep)}{clock}{ts}%M"
    end = literal(shape.terminator)
    with_seconds, without = f"{head}{ts}%S{ampm}{end}", f"{head}{ampm}{end}"
    return [with_seconds, without] if shape.seconds else [without, with_seconds]


@dataclass(frozen=True)
class DateStats:
    """What the date-order rule needs to know about all headers of one file."""

    headers: int
    first_has_four_digits: bool
    max_first: int
    max_second: int
    first_changes: int
    second_changes: int


def parse_date_order(value: str, *, source: str) -> DateOrder:
    """``DMY``/``MDY``/``YMD`` (any case) or :class:`InvalidSettingError` naming ``source``."""
    try:
        return DateOrder(value.strip().upper())
    except ValueError:
        raise InvalidSettingError(source, value, "one of DMY, MDY, YMD") from None


def date_order_override(
    explicit: DateOrder | str | None, environ: Mapping[str, str] | None = None
) -> DateOrder | None:
    """The override in force: the explicit parameter, else ``EGREGORA_DATE_ORDER``, else none."""
    if explicit is not None:
        return parse_date_order(str(explicit), source="date_order")
    env = os.environ if environ is None else environ
    value = env.get(DATE_ORDER_ENV, "").strip()
    return parse_date_order(value, source=DATE_ORDER_ENV) if value else None


def resolve_date_order(
    stats: DateStats, *, override: DateOrder | None = None, path: str = "<chat>"
) -> DateOrder:
    """Decide the date order of one file from all its headers.

    The rule, in order:

    1. an override (parameter or ``EGREGORA_DATE_ORDER``) wins;
    2. a first component written with four digits means year first (``YMD``);
    3. a first component above 12 in any header means day first (``DMY``); a
       second component above 12 means month first (``MDY``); both at once is
       a contradiction and the file is refused (:class:`DateOrderError`);
    4. otherwise every component is at most 12, and the component that changes
       more often between consecutive messages is the day (days roll over far
       more often than months);
    5. a tie (e.g. every message on one date) falls back to ``DMY``, the order
       of most locales; set the override for a month-first export.
    """
    if override is not None:
        return override
    if stats.first_has_four_digits:
        return DateOrder.YMD
    if stats.max_first > 12 and stats.max_second > 12:
        raise DateOrderError(
            path,
            f"headers disagree on the date order: a first component reaches {stats.max_first} "
            f"and a second component reaches {stats.max_second}; set {DATE_ORDER_ENV}=DMY or MDY",
        )
    if stats.max_first > 12:
        return DateOrder.DMY
    if stats.max_second > 12:
        return DateOrder.MDY
    if stats.second_changes > stats.first_changes:
        return DateOrder.MDY
    return DateOrder.DMY
