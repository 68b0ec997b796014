"""Timeline items: every dated event, one item per reading of its date, with its evidence.

An event dated to a day is a point; to a month or a year, a range over that month or year
(marked with its precision, never narrowed to a day); from a start date to an end date, a
range; from a start date alone, a point marked open. An event whose evidence units give
different dates (the two readings of a garbled weekday) has one item per reading, each
marked as one of the readings. Each item carries how it is drawn (``stated``, ``claimed``,
``planned``, ``disputed``, ``cancelled``: :meth:`EventRecord.presentation`) and the
quotes and claimants of its evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from karabakh_kg.graph import lookup
from karabakh_kg.graph.events import ALL, EventRecord, event_records, period
from karabakh_kg.graph.projection import parse_date

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

MAX_FILTER_VALUES = 50
"""Most kinds or participants one timeline request may filter by."""


@dataclass(frozen=True)
class Window:
    """The days a timeline shows (either end open)."""

    start: dt.date | None = None
    end: dt.date | None = None

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Window:
        """From ISO dates or years; ValueError naming a bad or reversed range."""
        first = parse_date(start, "from")
        last = parse_date(end, "end")
        if end and len(end.strip()) == 4 and last is not None:
            last = dt.date(last.year, 12, 31)
        if first and last and first > last:
            raise ValueError(f"the date range is empty: from {start} is after to {end}")
        return cls(first, last)

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        return (self.start is None or last >= self.start) and (
            self.end is None or first <= self.end
        )


def timeline_items(
    kg: KnowledgeGraph,
    *,
    window: Window | None = None,
    perspective: str = ALL,
    kinds: Iterable[str] = (),
    participants: Iterable[str] = (),
    resolve: Callable[[str], str] | None = None,
) -> list[dict[str, Any]]:
    """The items of every dated event in ``window`` under ``perspective``, in date order.

    ``kinds``: kgo: class names (an event of a subclass counts); ``participants``: names
    of agents (any name :func:`lookup.resolve` knows) one of whom must take part in the
    event in some role. Raises ValueError for an unknown kind, LookupError for an unknown
    participant, :class:`~karabakh_kg.graph.events.UnknownPerspectiveError` for an unknown
    perspective. ``resolve`` names participants' IRIs (by default :func:`lookup.resolve`
    over ``kg``; over a part of a graph, the whole graph's look-up).
    """
    view = window or Window()
    records = event_records(kg, perspective)
    wanted_kinds = _check_kinds(kg, kinds, records)
    index = lookup.index(kg)
    named = resolve or (lambda name: lookup.resolve(kg, name))
    wanted_agents = {named(name) for name in _bounded(participants, "participants")}
    items: list[dict[str, Any]] = []
    for record in records:
        if wanted_kinds and not wanted_kinds & record.kinds:
            continue
        if wanted_agents and not wanted_agents & set(record.agents()):
            continue
        items.extend(_items(index, record, view))
    return items


def _bounded(values: Iterable[str], what: str) -> list[str]:
    listed = [v for v in values if v and v.strip()]
    if len(listed) > MAX_FILTER_VALUES:
        raise ValueError(f"at most {MAX_FILTER_VALUES} {what}, not {len(listed)}")
    return listed


def _check_kinds(kg: KnowledgeGraph, kinds: Iterable[str], records: list[EventRecord]) -> set[str]:
    from karabakh_kg.graph.categories import hierarchy

    wanted = {k.strip().removeprefix("kgo:") for k in _bounded(kinds, "kinds")}
    known = {
        iri.rsplit("#", 1)[-1]
        for iri, ancestors in hierarchy(kg).ancestors.items()
        if any(a.endswith("#Event") for a in ancestors)
    }
    for kind in sorted(wanted):
        if kind not in known:
            import difflib

            # the closest three, ties in the order of the names: the same on every server
            close = difflib.get_close_matches(kind, sorted(known), n=3, cutoff=0)
            raise ValueError(f"unknown event kind {kind!r}; kinds include {', '.join(close)}")
    return wanted


def _items(index: lookup.Index, record: EventRecord, window: Window) -> list[dict[str, Any]]:
    readings = record.readings()
    presentation = record.presentation()
    items = []
    for number, (start, end, precision) in enumerate(readings, start=1):
        first, last = period(start)
        if end:
            last = period(end)[1]
        if not window.overlaps(first, last):
            continue
        point = precision == "day" or precision in ("from", "until")
        classes = [presentation, f"precision-{precision}"]
        if len(readings) > 1:
            classes.append("reading")
        item = record.to_dict(index)
        item.update(
            {
                "id": f"{record.iri}#{number}",
                "start": first.isoformat(),
                "end": None if point else (last + dt.timedelta(days=1)).isoformat(),
                "date": start if not end else f"{start}/{end}",
                "precision": precision,
                "reading": number if len(readings) > 1 else None,
                "readingEvidence": sorted(
                    {d.evidence for d in record.dates if d.value in (start, end)}
                ),
                "readings": len(readings),
                "className": " ".join(classes),
            }
        )
        items.append(item)
    return items
