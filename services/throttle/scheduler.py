"""Who gets the next token of one quota key: priority, ageing and fairness between shops.

Pure: no I/O, no clock of its own (``now`` comes in). The order, in words:

1. **Priority with ageing.** Requests are grouped by their base priority (the job type's
   ``BASE_PRIORITY`` or the request's own). A group's strength is its base plus one step
   per ``ageing_step_s`` its oldest request has waited (Magento's leading extension ages
   by +1 per 30 s), so stops go before quantities before prices before sends, yet a send
   that has waited long enough overtakes fresh quantity updates instead of starving.
2. **Fairness inside the winning group.** Shops that share the key are served by
   start-time fair queuing over tokens: each shop carries a finish tag; the shop with the
   smallest start tag ``max(virtual_time, finish)`` goes next and pays its cost. A shop
   that floods the queue gets its share, not the queue; an idle shop cannot save up
   credit, because its start tag is never below the current virtual time.
3. **FIFO inside a shop and group**, by arrival order (the request's Kafka offset).

The head is never skipped for a cheaper request behind it: a request needing 3 tokens
would otherwise wait forever behind a stream of 1-token requests.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Waiting:
    """One queued request as the scheduler sees it."""

    request_id: str
    shop_id: str
    priority: int  # base priority, before ageing
    cost: int
    enqueued_at: float  # when it started waiting, on the service clock
    seq: int  # arrival order within the key

    def order(self) -> tuple[int, str]:
        return (self.seq, self.request_id)


@dataclass(slots=True)
class FairShare:
    """Start-time fair queuing state of the shops sharing one key."""

    virtual_time: float = 0.0
    finish: dict[str, float] = field(default_factory=dict)

    def start_tag(self, shop_id: str) -> float:
        return max(self.virtual_time, self.finish.get(shop_id, self.virtual_time))

    def served(self, shop_id: str, cost: int) -> None:
        start = self.start_tag(shop_id)
        self.finish[shop_id] = start + cost
        self.virtual_time = start
        # A shop whose finish tag the clock has passed has no credit or debt left:
        # forgetting it changes nothing and keeps the state as small as the active shops.
        for shop in [s for s, f in self.finish.items() if f <= self.virtual_time]:
            del self.finish[shop]


class KeyQueue:
    """The waiting requests of one quota key."""

    def __init__(self, ageing_step_s: float, fairness: FairShare | None = None) -> None:
        if ageing_step_s <= 0:
            raise ValueError("ageing_step_s must be positive")
        self.ageing_step_s = ageing_step_s
        self.fairness = fairness if fairness is not None else FairShare()
        self._by_id: dict[str, Waiting] = {}
        # priority -> shop -> requests sorted by arrival
        self._groups: dict[int, dict[str, list[Waiting]]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._by_id

    def get(self, request_id: str) -> Waiting | None:
        return self._by_id.get(request_id)

    def add(self, waiting: Waiting) -> None:
        if waiting.request_id in self._by_id:
            raise ValueError(f"{waiting.request_id} is already queued")
        self._by_id[waiting.request_id] = waiting
        shops = self._groups.setdefault(waiting.priority, {})
        bisect.insort(shops.setdefault(waiting.shop_id, []), waiting, key=Waiting.order)

    def remove(self, request_id: str) -> Waiting | None:
        waiting = self._by_id.pop(request_id, None)
        if waiting is None:
            return None
        shops = self._groups[waiting.priority]
        line = shops[waiting.shop_id]
        line.pop(bisect.bisect_left(line, waiting.order(), key=Waiting.order))
        if not line:
            del shops[waiting.shop_id]
            if not shops:
                del self._groups[waiting.priority]
        return waiting

    def effective_priority(self, waiting: Waiting, now: float) -> int:
        waited = max(0.0, now - waiting.enqueued_at)
        return waiting.priority + int(waited // self.ageing_step_s)

    def next(self, now: float) -> Waiting | None:
        """The request that gets the next token(s), without taking it out."""
        best: tuple[int, int] | None = None
        best_shops: dict[str, list[Waiting]] = {}
        for priority, shops in self._groups.items():
            oldest = min((line[0] for line in shops.values()), key=lambda w: w.enqueued_at)
            strength = (self.effective_priority(oldest, now), priority)
            if best is None or strength > best:
                best, best_shops = strength, shops
        if best is None:
            return None
        shop = min(
            best_shops,
            key=lambda s: (self.fairness.start_tag(s), best_shops[s][0].order()),
        )
        return best_shops[shop][0]

    def served(self, request_id: str) -> Waiting:
        """Take a request out because it was granted, and charge its shop."""
        waiting = self.remove(request_id)
        if waiting is None:
            raise KeyError(request_id)
        self.fairness.served(waiting.shop_id, waiting.cost)
        return waiting

    def depth_by_shop(self) -> dict[str, int]:
        depth: dict[str, int] = {}
        for shops in self._groups.values():
            for shop, line in shops.items():
                depth[shop] = depth.get(shop, 0) + len(line)
        return depth
