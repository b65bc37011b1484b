"""A page of a log listing read through narrow `created_at` windows, for SecantusDB.

SecantusDB (0.7) fetches and decodes every document in the index range a filter names, sorts
them in Python and only then applies the limit (`Storage.find_matching`): the newest 20 of a
million entries cost a million fetches (~25 s), the newest 20 ERRORs the fetch of every ERROR,
whatever the indexes. A range on an indexed field does narrow what it fetches, so this reader asks
for the page one window of time at a time, newest first (oldest first when paging back towards
the newest), each window sized from what the previous ones held, until the page is full. Each
window's documents are part of the answer: nothing is read twice. MongoDB needs none of this
(`logger.log_readers.IndexedReader`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.collection import Collection

from logger.log_query import EPOCH, Direction, PageRequest, Position
from logger.log_readers import NEWEST_FIRST, OLDEST_FIRST, Batch, Bounds, finish, ids_beyond


@dataclass(frozen=True)
class _Memory:
    """What the last first page of one listing held: the time per entry, and (for the newest
    page) its newest entry."""

    pace: timedelta
    newest: datetime | None


class WindowedReader:
    """Pages through consecutive `created_at` windows.

    A window is a range on `created_at` after the equalities on level and name, so one of the
    indexes bounds it. The first window is as long as a page took last time: remembered per
    listing in this process for a first page, carried in the cursor for the next. An empty
    window makes the next one `growth` times longer, one with a few entries is stretched to what
    their density promises. A text search fetches every entry of its windows, not only the
    matches, so its windows grow by at most two, each sized from the time the last one took, and
    it stops after `search_budget` seconds with what it found and where it stopped.
    """

    FIRST_SPAN = timedelta(milliseconds=100)
    MIN_SPAN = timedelta(milliseconds=1)
    # How far ahead of this process's clock another writer's clock may be.
    CLOCK_SKEW = timedelta(minutes=5)
    MEMORY_SIZE = 256

    def __init__(
        self,
        search_budget: float = 0.03,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.search_budget = search_budget
        self.clock = clock
        self.memory: dict[tuple[Any, ...], _Memory] = {}

    def read(self, collection: Collection, request: PageRequest) -> Batch:
        return _Walk(self, collection, request).run()

    def remember(self, key: tuple[Any, ...], pace: timedelta, newest: datetime | None) -> None:
        if len(self.memory) >= self.MEMORY_SIZE:
            self.memory.clear()
        self.memory[key] = _Memory(pace, newest)


class _Walk:
    """One read: the windows of a single page."""

    def __init__(self, reader: WindowedReader, collection: Collection, request: PageRequest):
        self.reader, self.collection, self.request = reader, collection, request
        self.query = request.query
        self.older = request.direction is Direction.OLDER
        self.need = request.limit + 1  # one more than the page: is there anything beyond it?
        self.key = (self.query.level, self.query.name, self.query.until)
        self.known = reader.memory.get(self.key) if request.start is None else None
        pace = request.cursor.pace if request.cursor else None
        pace = pace or (self.known.pace if self.known else None)
        self.span = max(pace * self.need * 1.2, reader.MIN_SPAN) if pace else reader.FIRST_SPAN
        self.searching = self.query.text is not None
        self.growth = 2 if self.searching else 4
        self.documents: list[dict[str, Any]] = []
        self.windows = 0
        self.window_seconds = 0.0  # how long the last window took to read, and its span
        self.window_span = timedelta(0)

    def run(self) -> Batch:
        bounds = Bounds.of(self.request)
        if bounds.tie is not None:
            # One query per condition: SecantusDB plans no index for an `$or`.
            for condition in ids_beyond(bounds.tie, self.older):
                tie = {"created_at": bounds.tie.created_at, **condition}
                self.documents += self._find(tie, self.need - len(self.documents))
        if self.older:
            edge, end = bounds.upper, bounds.lower or EPOCH
        else:
            edge, end = bounds.lower or EPOCH, bounds.upper
        # The page's own edge is exclusive past a tie (read above) and where `until` sets it.
        inclusive = not self.older and bounds.tie is None
        deadline = time.monotonic() + self.reader.search_budget
        last = False
        while len(self.documents) < self.need and not last:
            if self.searching and self.windows and not self._fit(deadline):
                assert edge is not None
                return Batch(self.documents, Position(edge, None), self.span / self.need)
            if self.older:
                edge, last = self._older_window(edge, inclusive, end)
            else:
                edge, last = self._newer_window(edge, inclusive, end)
            inclusive = not self.older  # each window starts where the last one stopped
        pace = self._pace()
        if self.request.start is None and not self.searching and len(self.documents) > 1:
            newest = self.documents[0]["created_at"] if self.query.until is None else None
            self.reader.remember(self.key, pace, newest)
        return finish(self.documents, self.request.limit, pace)

    def _pace(self) -> timedelta:
        """The time per entry here, which the next page starts from. A search's is what its
        windows had reached: its matches say nothing of what it fetches."""
        if self.searching or len(self.documents) < 2:
            return self.span / self.need
        newest, oldest = self.documents[0]["created_at"], self.documents[-1]["created_at"]
        return abs(newest - oldest) / (len(self.documents) - 1)

    def _fit(self, deadline: float) -> bool:
        """Shorten a search's next window to what the time left can read, judged by the time
        the last one took; False when that is nothing."""
        seconds = max(self.window_seconds, 1e-6)
        affordable = self.window_span * ((deadline - time.monotonic()) / seconds)
        if affordable < self.reader.MIN_SPAN:
            return False
        self.span = min(self.span, affordable)
        return True

    def _older_window(
        self, edge: datetime | None, inclusive: bool, end: datetime
    ) -> tuple[datetime, bool]:
        """The window below `edge` (None: the newest, open above); returns its lower edge,
        which the next window excludes, and whether it reached `end`."""
        top = edge or self.reader.clock()
        bottom, span = top - self.span, self.span
        known = self._known_page()
        if known is not None and known[0] < top and (bottom < known[0] or self.windows):
            # Nothing since the newest page this listing had when last read (or windows grown
            # through a quiet spell would reach past it, into whatever burst lies behind):
            # read down to that page, and go on at the pace it was read at.
            bottom, span = known[0], top - known[0]
            self.span = max(known[1] * self.need, self.reader.MIN_SPAN)
        last = bottom <= end
        bottom = max(bottom, end)
        time_range: dict[str, Any] = {"$gte": bottom}
        if edge is not None:
            time_range["$lte" if inclusive else "$lt"] = edge
        self._read({"created_at": time_range}, span, bottom)
        return bottom, last

    def _newer_window(
        self, edge: datetime, inclusive: bool, end: datetime | None
    ) -> tuple[datetime, bool]:
        """The window from `edge` up; the newest one is open above (entries stamped by a clock
        ahead of ours are found). Returns its upper edge, where the next window starts."""
        top = edge + self.span
        horizon = self.reader.clock() + self.reader.CLOCK_SKEW
        last = top >= end if end is not None else top > horizon
        time_range: dict[str, Any] = {"$gte" if inclusive else "$gt": edge}
        if not last:
            time_range["$lt"] = top
        elif end is not None:
            time_range["$lt"] = end
        self._read({"created_at": time_range}, top - edge, top)
        return top, last

    def _known_page(self) -> tuple[datetime, timedelta] | None:
        """Where the newest page of this listing began when last read, and its time per entry
        (None: not known)."""
        if self.known is None or self.known.newest is None:
            return None
        return self.known.newest - self.known.pace * self.need, self.known.pace

    def _read(self, time_selector: dict[str, Any], span: timedelta, far: datetime) -> None:
        """Read one window, whose far edge is `far`, and size the next one."""
        started = time.monotonic()
        found = self._find(time_selector, self.need - len(self.documents))
        self.window_seconds, self.window_span = time.monotonic() - started, span
        self.windows += 1
        self.documents += found
        if not found:
            # An empty window says only that the entries are further away.
            self.span *= self.growth
            return
        # Entries say how many to expect per unit of time, counted from the first one found
        # (not across the silence before it). Aim at 1.5 times the rest, so that another window
        # is rarely needed, but never more than `growth` times longer: a density read off a few
        # entries can be far off.
        have = len(self.documents)
        occupied = max(abs(far - self.documents[0]["created_at"]), self.reader.MIN_SPAN)
        wanted = occupied * (self.need - have) / have * 1.5
        self.span = min(max(wanted, self.reader.MIN_SPAN), self.span * self.growth)

    def _find(self, time_selector: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        # created_at first: where no index serves the whole filter (a text search), SecantusDB
        # plans on the first field it can, and the time range is the narrow one.
        selector = {**time_selector, **self.query.selector()}
        order = NEWEST_FIRST if self.older else OLDEST_FIRST
        return list(self.collection.find(selector).sort(order).limit(limit))
