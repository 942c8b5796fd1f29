"""WhatsApp message-header shapes, their detection, and the patterns built from them.

A WhatsApp export starts every message with a header whose shape depends on
the phone (Android ``date, time - `` or iOS ``[date, time] ``) and its locale
(separators, 12/24-hour clock, seconds, words such as Finnish ``klo``). We
detect the *shape* once per file from its first lines with one permissive
regex, then build one strict pattern for that shape. Only lines matching the
strict pattern start a message, so a continuation line that merely begins with
something date-like stays part of the previous message.

A line that starts like a header *of this file's shape* (same opening, same
date separators, a time, the same closing) but that the strict pattern cannot
read (an hour of ``25``, an unknown clock word) is neither: it is cut out as
an *unreadable header* and rejected with its line and column
(:func:`header_like_pattern`, :func:`diagnose_header`), never glued onto the
message before it.

The date *order* cannot be read from one line (``03/04/2020``), so it is
decided from all headers of the file, see :mod:`.dateorder`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from egregora_pipeline.ingestion.whatsapp.dateorder import (
    DATE_ORDER_ENV,
    DateOrder,
    date_order_override,
    parse_date_order,
)
from egregora_pipeline.sql import quote_literal

__all__ = [
    "DATE_ORDER_ENV",
    "DateOrder",
    "HeaderShape",
    "date_order_override",
    "detect_shape",
    "header_pattern",
    "parse_date_order",
]

INVISIBLE_MARKS: Final = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Bidi marks WhatsApp sprinkles into exports (LRM, RLM, embeddings, isolates).
They are stripped from headers and names; message text keeps inner ones."""

MARKS_CLASS: Final = "[\u200e\u200f\u202a-\u202e\u2066-\u2069]"
"""The same marks as a regex character class (valid in Python ``re`` and RE2)."""

AMPM_SPACES: Final = " \u202f\u00a0_"
"""Spaces seen before AM/PM: plain, narrow no-break (newer Android/iOS), no-break, and
an underscore (``3:22_AM``, an export re-saved by a tool; LangChain's tests have one)."""

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

TERMINATORS: Final = ("] ", " - ", ": ", " ")
"""What closes a header, most specific first: iOS ``] ``, Android `` - ``, and two
shapes other parsers accept: ``13.06.18 21.25.15: Name: text`` and
``13. 6. 2018. 21:25:15 Name: text`` (nothing but the time before the author)."""

_DETECT_SAMPLE_LINES: Final = 20_000


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
    end: str = ""
    """What closes the header (one of :data:`TERMINATORS`); empty means the platform's
    usual one (``] `` when bracketed, else `` - ``)."""

    @property
    def normalize_ampm(self) -> bool:
        return self.twelve_hour and (not self.ampm_plain or self.ampm_before)

    @property
    def terminator(self) -> str:
        """What ends every header."""
        return self.end or ("] " if self.bracketed else " - ")

    @property
    def terminator_is_unique(self) -> bool:
        """The terminator's first occurrence in a header line is the header's end (no
        date, time or separator of a supported shape contains `` - ``, ``] `` or, when the
        time is written without a colon-space, ``: ``); a lone space is not."""
        return self.terminator != " "

    @property
    def platform(self) -> str:
        return "ios" if self.bracketed else "android"

    def example(self, order: DateOrder = DateOrder.DMY) -> str:
        """A header of this shape written in ``order``, as a person would recognise it."""
        values = {"D": "31", "M": "12", "Y": "2019" if self.year_digits == 4 else "19"}
        date = self.date_sep.join(values[letter] for letter in order.value)
        date += self.date_end
        clock = "11" if self.twelve_hour else "23"
        time = f"{clock}{self.time_sep}59" + (f"{self.time_sep}59" if self.seconds else "")
        if self.twelve_hour:
            time = f"오후 {time}" if self.ampm_before else f"{time} PM"
        body = f"{date}{self.date_time_sep}{time}"
        return f"[{body}] " if self.bracketed else f"{body}{self.terminator}"


_GENERIC_HEADER: Final = re.compile(
    rf"^{MARKS_CLASS}*(?P<open>\[)?{MARKS_CLASS}*"
    r"(?P<d1>\d{1,4})(?P<ds>[./-] ?)(?P<d2>\d{1,4})(?P=ds)(?P<d3>\d{1,4})(?P<dend>\.?)"
    r"(?P<dts>,? ?(?:[^\W\d_]{1,8}\.? ){0,2})"
    r"(?P<h>\d{1,2})(?P<ts>[:.])(?P<mi>\d{2})(?P<ss>(?P=ts)\d{2})?"
    rf"(?P<ap>[{AMPM_SPACES}]?[AaPp]\.?[{AMPM_SPACES}]?[Mm]\.?)?"
    r"(?P<end>\] | - |: | (?=[^\W\d_]|\+|~|\u202a|\u200e))"
)
"""A header of any supported shape. A lone-space terminator must be followed by
what starts a name (a letter, ``+`` of a phone number, ``~``, a bidi mark)."""


_LINE_BREAK: Final = re.compile(r"\r\n?|\n")


def split_lines(text: str) -> list[str]:
    """``text`` cut at every line ending: CRLF, LF and a lone CR (old Mac editors, some
    export tools), mixed in any way -- the endings the splitter reads (never
    ``str.splitlines``, which also cuts at U+2028, form feeds and other marks typed in text)."""
    return _LINE_BREAK.split(text)


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
    votes: Counter[tuple[bool, str, str, str, str, bool, int, bool, bool, bool, str]] = Counter()
    for count, line in enumerate(lines):
        if count >= _DETECT_SAMPLE_LINES:
            break
        match = _GENERIC_HEADER.match(line)
        if match is None:
            continue
        bracketed = match["open"] is not None
        end = match["end"]
        if bracketed != (end == "] "):
            continue
        ap, dts = match["ap"], match["dts"]
        word = dts.rstrip(" ").rsplit(" ", 1)[-1].lstrip(",")
        before = word in AMPM_WORDS_BEFORE_TIME and ap is None
        if before:  # keep only what precedes the word: either word may start a header
            dts = dts[: dts.rindex(word)]
        wide = max(len(match["d1"]), len(match["d2"]), len(match["d3"])) >= 3
        votes[
            (
                bracketed,
                match["ds"],
                match["dend"],
                dts,
                match["ts"],
                ap is not None or before,
                4 if wide else 2,
                ap in (None, " AM", " PM"),
                match["ss"] is not None,
                before,
                "" if end in ("] ", " - ") else end,
            )
        ] += 1
    if not votes:
        return None
    return HeaderShape(*votes.most_common(1)[0][0])


HEADER_GROUPS: Final = ("h", "d1", "d2", "d3", "hh", "mi", "ss", "ap")
"""Named groups of :func:`header_pattern`: ``h`` is the whole header (its length
says where the body starts), the others are the date and time components."""


def _opening(shape: HeaderShape) -> str:
    open_ = r"\[" if shape.bracketed else ""
    return f"{MARKS_CLASS}*{open_}{MARKS_CLASS}*"


_NAME_START_RE2: Final = r"(?:\p{L}|\+|~|\x{202a}|\x{200e})"
"""RE2: what may start a name after a lone-space terminator (see :data:`_GENERIC_HEADER`)."""


def header_pattern(shape: HeaderShape) -> str:
    """The strict header pattern for ``shape``, anchored at a line start (RE2 syntax).

    The subject is a line *preceded by its newline* (``"\\n" + line``), which
    is how the splitter hands lines over. The group ``h`` is the header with
    its terminator. For the lone-space terminator RE2 has no look-ahead, so
    the first character of the name is matched after ``h``.
    """
    ds = _escape(shape.date_sep)
    ts = _escape(shape.time_sep)
    lone_space = shape.terminator == " "
    closing = " " if lone_space else _escape(shape.terminator)
    return (
        rf"^\n(?P<h>{_opening(shape)}"
        rf"(?P<d1>\d{{1,4}}){ds}(?P<d2>\d{{1,4}}){ds}(?P<d3>\d{{1,4}}){_escape(shape.date_end)}"
        rf"{_escape(shape.date_time_sep)}{_ampm_word_pattern() if shape.ampm_before else ''}"
        rf"(?P<hh>\d{{1,2}}){ts}(?P<mi>\d{{2}})(?:{ts}(?P<ss>\d{{2}}))?"
        rf"(?:[{AMPM_SPACES}]?(?P<ap>[AaPp])\.?[{AMPM_SPACES}]?[Mm]\.?)?"
        rf"{closing})" + (_NAME_START_RE2 if lone_space else "")
    )


def header_like_pattern(shape: HeaderShape) -> str:
    """RE2: a line that *starts like* a header of ``shape`` (see the module doc).

    Same opening, three numbers of up to four digits with the file's date
    separator (spaces after it optional), up to 16 non-digits, a time of up to
    three digits per part, up to 16 non-digits, and the file's terminator. A
    superset of :func:`header_pattern`; the lines it matches that the strict
    pattern does not are unreadable headers.
    """
    sep = _escape(shape.date_sep.strip() or shape.date_sep)
    date = rf"\d{{1,4}}{sep} ?\d{{1,4}}{sep} ?\d{{1,4}}\.?"
    time = r"\d{1,3}[:.]\d{1,3}(?:[:.]\d{1,3})?"
    closing = _escape(shape.terminator) if shape.terminator != " " else " "
    junk = r"[^\d\n]{0,16}?" if shape.terminator != " " else r"(?: ?[^\d\s:]{1,6})?"
    return rf"^\n{_opening(shape)}{date}[^\d\n]{{0,16}}?{time}{junk}{closing}"


_CLOCK: Final = re.compile(r"(\d{1,3})[:.](\d{1,3})(?:[:.](\d{1,3}))?")


def diagnose_header(line: str, shape: HeaderShape) -> tuple[int, str]:
    """Where (1-based column) and why a header-like ``line`` cannot be read.

    Only called for the few lines :func:`header_like_pattern` matched and the
    strict pattern did not, so plain Python is fine here.
    """
    start = len(line) - len(line.lstrip(INVISIBLE_MARKS + "["))
    date = re.match(r"(\d+)\D+?(\d+)\D+?(\d+)\.?", line[start:])
    if date is None:  # cannot happen for a header-like line; still say something useful
        return 1, "the date is not three numbers"
    for index in (1, 2, 3):
        if len(date[index]) > 4:
            return start + date.start(index) + 1, f"date part {date[index]!r} is too long"
    clock = _CLOCK.search(line, start + date.end())
    if clock is None:
        return start + date.end() + 1, "no time of day after the date"
    hour, minute, second = clock[1], clock[2], clock[3]
    limit = 12 if shape.twelve_hour else 23
    if len(hour) > 2 or int(hour) > limit:
        return clock.start(1) + 1, f"hour {hour!r} is not 0-{limit}"
    if len(minute) != 2 or int(minute) > 59:
        return clock.start(2) + 1, f"minute {minute!r} is not 00-59"
    if second is not None and (len(second) != 2 or int(second) > 59):
        return clock.start(3) + 1, f"second {second!r} is not 00-59"
    between = line[start + date.end() : clock.start()]
    if between.strip(" ,") and between != shape.date_end + shape.date_time_sep:
        return start + date.end() + 1, f"unexpected {between.strip()!r} between date and time"
    after = line[clock.end() :].split(shape.terminator.strip() or " ", 1)[0].strip()
    if after:
        return clock.end() + 1, f"unknown clock word {after!r} after the time"
    return start + 1, "the separators differ from this chat's other headers"


def date_components_pattern(shape: HeaderShape) -> str:
    """RE2 pattern whose groups 1-3 are the three date components of a message.

    Anchored like :func:`header_pattern` (subject ``"\\n" + line``) but only as far
    as the third component: an anchored prefix match costs a third of cutting
    the header out and splitting it, and the date-order rule needs nothing else.
    """
    ds = _escape(shape.date_sep)
    return rf"^\n{_opening(shape)}(\d{{1,4}}){ds}(\d{{1,4}}){ds}(\d{{1,4}})"


def _ampm_word_pattern() -> str:
    return "(?:" + "|".join(AMPM_WORDS_BEFORE_TIME) + ") "


def move_ampm_words_sql(header: str) -> str:
    """SQL moving a leading AM/PM word after the time (``오후 9:25`` -> ``9:25 PM``)."""
    for value in ("AM", "PM"):
        words = "|".join(w for w, v in AMPM_WORDS_BEFORE_TIME.items() if v == value)
        pattern = quote_literal(f"(?:{words}) (\\d{{1,2}}[:.]\\d{{2}}(?:[:.]\\d{{2}})?)")
        header = f"regexp_replace({header}, {pattern}, {quote_literal(chr(92) + '1 ' + value)})"
    return header


_PART_FORMATS: Final = {"D": "%d", "M": "%m"}


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
    parts = [_PART_FORMATS.get(letter, year) for letter in order.value]
    date = literal(shape.date_sep).join(parts) + literal(shape.date_end)
    clock = "%I" if shape.twelve_hour else "%H"
    ts = literal(shape.time_sep)
    ampm = " %p" if shape.twelve_hour else ""
    head = f"{date}{literal(shape.date_time_sep)}{clock}{ts}%M"
    end = literal(shape.terminator)
    with_seconds, without = f"{head}{ts}%S{ampm}{end}", f"{head}{ampm}{end}"
    return [with_seconds, without] if shape.seconds else [without, with_seconds]


def describe_shape(shape: HeaderShape, order: DateOrder = DateOrder.DMY) -> str:
    """One line for the per-input summary: platform, example header, clock."""
    clock = "12-hour" if shape.twelve_hour else "24-hour"
    return f"{shape.platform} header like {shape.example(order)!r} ({clock} clock)"
