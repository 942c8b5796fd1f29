"""The date order of one chat, decided from all the evidence its headers give.

``03/04/20`` is 3 April 2020, 4 March 2020 or 20 April 2003 depending on the
phone's locale, and nothing in one header says which. The whole file does:

1. **what each part can be** -- a part above 12 is not a month, above 31 not a
   day, a part written with three or four digits is the year (so the other
   two are not);
2. **how each part changes** between consecutive messages -- the day changes
   far more often than the month, and the year almost never;
3. **chronology** -- WhatsApp writes an export in time order, so the reading
   whose dates never run backwards is the right one.

(1) rules orders out, (2) then (3) rank what is left, and a fixed preference
(``DMY``, the order of most locales) breaks a remaining tie. The outcome
carries the reason in words for the per-input summary. The loader re-checks
chronology with full timestamps after parsing (see ``timestamps.check_times``)
and, if the chosen reading runs backwards, tries the other plausible orders.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from egregora_pipeline.ingestion.errors import DateOrderError, InvalidSettingError

DATE_ORDER_ENV: Final = "EGREGORA_DATE_ORDER"


class DateOrder(enum.StrEnum):
    """Order of the day (D), month (M) and year (Y) components in a header date.

    ``YDM`` is written by some exports whatstk supports; ``DYM``/``MYD`` (a
    four-digit year in the middle, ``06/2018/13``) are accepted by the npm
    whatsapp-chat-parser, so they are read too, but only when the middle part
    is written with four digits.
    """

    DMY = "DMY"
    MDY = "MDY"
    YMD = "YMD"
    YDM = "YDM"
    DYM = "DYM"
    MYD = "MYD"


PREFERENCE: Final = tuple(DateOrder)
"""Tie-break between orders the evidence cannot tell apart: the most common first."""

_MIDDLE_YEAR: Final = frozenset({DateOrder.DYM, DateOrder.MYD})
_PART_NAMES: Final = ("first", "second", "third")
_LETTER_NAMES: Final = {"D": "day", "M": "month", "Y": "year"}


@dataclass(frozen=True)
class PartStats:
    """One position of the date (first, second, third part) over all headers."""

    max_value: int
    min_value: int
    wide: bool
    """Written with three or more digits in some header: only a year is."""
    changes: int
    """How many consecutive headers differ in this part."""


@dataclass(frozen=True)
class DateStats:
    """What the date-order rule needs to know about all headers of one file.

    ``unreadable`` counts, per order, the headers whose parts cannot be a date
    in that order (a month above 12, a day above 31 or 0); ``backward`` the
    consecutive headers whose *date* goes back in time when read in that order.
    """

    headers: int
    parts: tuple[PartStats, PartStats, PartStats]
    unreadable: Mapping[DateOrder, int] = field(default_factory=dict)
    backward: Mapping[DateOrder, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderDecision:
    """The order chosen for one file, why, and the others that stayed plausible."""

    order: DateOrder
    reason: str
    plausible: tuple[DateOrder, ...] = ()
    """Orders that read every header, best first (the chosen one included)."""


def parse_date_order(value: str, *, source: str) -> DateOrder:
    """A :class:`DateOrder` name (any case) or :class:`InvalidSettingError` naming ``source``."""
    try:
        return DateOrder(value.strip().upper())
    except ValueError:
        names = ", ".join(DateOrder)
        raise InvalidSettingError(source, value, f"one of {names}") from None


def date_order_override(
    explicit: DateOrder | str | None, environ: Mapping[str, str] | None = None
) -> DateOrder | None:
    """The override in force: the explicit parameter, else ``EGREGORA_DATE_ORDER``, else none."""
    if explicit is not None:
        return parse_date_order(str(explicit), source="date_order")
    env = os.environ if environ is None else environ
    value = env.get(DATE_ORDER_ENV, "").strip()
    return parse_date_order(value, source=DATE_ORDER_ENV) if value else None


def fits(order: DateOrder, stats: DateStats) -> bool:
    """Whether every header can be a date in ``order`` (rule 1 of the module doc)."""
    month = stats.parts[order.value.index("M")]
    day = stats.parts[order.value.index("D")]
    if month.min_value < 1 or month.max_value > 12 or day.min_value < 1 or day.max_value > 31:
        return False
    year = order.value.index("Y")
    wide = [part.wide for part in stats.parts]
    if any(wide):  # a four-digit year: exactly that position is the year
        return wide[year] and sum(wide) == 1
    return order not in _MIDDLE_YEAR  # two-digit years are never written in the middle


def _change_violations(order: DateOrder, stats: DateStats) -> int:
    """How often ``order`` contradicts "days change more often than months, months
    more often than years" (rule 2); 0 for the true order of nearly every chat."""
    changes = {letter: stats.parts[i].changes for i, letter in enumerate(order.value)}
    return int(changes["D"] < changes["M"]) + int(changes["M"] < changes["Y"])


DECISIVE_CHANGE_RATIO: Final = 2
"""The part read as the day must change more than this many times as often as the
part read as the month for the change evidence to stand against chronology."""


def chronology_may_overturn(chosen: DateOrder, other: DateOrder, stats: DateStats) -> bool:
    """May ``other``, being in time order where ``chosen`` is not, replace ``chosen``?

    Yes when the change evidence cannot tell them apart, or when it is weak (a
    sparse chat, whose "day" barely changes more often than its "month"). No when
    it is decisive: one message whose phone clock was wrong must not move a whole
    chat whose parts clearly change like ``chosen`` to another reading that merely
    happens to be in time order; that message is flagged instead.
    """
    if _change_violations(other, stats) <= _change_violations(chosen, stats):
        return True
    changes = {letter: stats.parts[i].changes for i, letter in enumerate(chosen.value)}
    return changes["D"] <= DECISIVE_CHANGE_RATIO * changes["M"]


def resolve_date_order(
    stats: DateStats, *, override: DateOrder | None = None, path: str = "<chat>"
) -> OrderDecision:
    """Decide the date order of one file from all its headers (see the module doc).

    An override (parameter or ``EGREGORA_DATE_ORDER``) wins. When no order
    reads every header, the file is refused (:class:`DateOrderError`) with the
    orders that read the most of them, so the override it suggests can work.
    """
    ranked = sorted(
        (o for o in DateOrder if fits(o, stats)),
        key=lambda o: (_change_violations(o, stats), stats.backward.get(o, 0), PREFERENCE.index(o)),
    )
    if override is not None:
        return OrderDecision(override, f"set by {DATE_ORDER_ENV} or date_order", tuple(ranked))
    if not ranked:
        raise DateOrderError(path, _no_orderfits(stats))
    best = ranked[0]
    return OrderDecision(best, _why(best, ranked, stats), tuple(ranked))


def _no_orderfits(stats: DateStats) -> str:
    counts = {o: n for o, n in stats.unreadable.items() if o in DateOrder and n < stats.headers}
    limits = ", ".join(
        f"the {_PART_NAMES[i]} part reaches {part.max_value}" for i, part in enumerate(stats.parts)
    )
    if not counts:
        return f"no date order reads these headers ({limits})"
    fewest = min(counts.values())
    best = sorted((o for o, n in counts.items() if n == fewest), key=PREFERENCE.index)
    names = " or ".join(o.value for o in best)
    return (
        f"headers disagree on the date order ({limits}): no order reads them all; "
        f"{names} reads all but {fewest} of {stats.headers}. Set {DATE_ORDER_ENV}={best[0].value} "
        "to load the file with those headers rejected"
    )


def _why(best: DateOrder, ranked: list[DateOrder], stats: DateStats) -> str:
    """The evidence that decided, in words."""
    parts = ", ".join(
        f"{_LETTER_NAMES[letter]} = {_PART_NAMES[i]} part" for i, letter in enumerate(best.value)
    )
    if len(ranked) == 1:
        others = [o for o in DateOrder if o is not best and not fits(o, stats)]
        maxima = ", ".join(
            f"{_PART_NAMES[i]} part up to {p.max_value}{' (4 digits)' if p.wide else ''}"
            for i, p in enumerate(stats.parts)
        )
        return (
            f"only {best.value} reads every header ({maxima}; {len(others)} other orders "
            f"ruled out): {parts}"
        )
    runner = ranked[1]
    if _change_violations(best, stats) < _change_violations(runner, stats):
        changes = ", ".join(
            f"{_PART_NAMES[i]} part changes {p.changes}x" for i, p in enumerate(stats.parts)
        )
        return f"the parts change like {parts} ({changes})"
    if stats.backward.get(best, 0) < stats.backward.get(runner, 0):
        return (
            f"{best.value} keeps the dates in file order ({stats.backward.get(best, 0)} steps back "
            f"vs {stats.backward.get(runner, 0)} for {runner.value}): {parts}"
        )
    tied = ", ".join(o.value for o in ranked)
    return f"no evidence tells {tied} apart; {best.value} is the most common order: {parts}"
