"""Consumer lag as a metric: records on the broker that this instance has not read yet, per
consumer group and topic (docs/design.md §23).

Computed from what the consumer already knows (the high watermark each fetch returns and
its position), so observing costs no request to the broker; a consumer's loop calls
:meth:`LagMeter.observe` after each poll and it looks at most every ``every_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from aiokafka import AIOKafkaConsumer
from prometheus_client import Gauge

log = logging.getLogger(__name__)

LAG = Gauge(
    "consumer_lag_records",
    "Records on the broker this instance has not read yet, over its partitions",
    ["consumer_group", "topic"],
)
# A position aiokafka does not have yet (just assigned, being reset) is waited for; the
# meter never holds a loop for it.
POSITION_WAIT_S = 0.5


class LagMeter:
    def __init__(self, consumer: AIOKafkaConsumer, consumer_group: str, every_s: float = 5.0):
        self.consumer = consumer
        self.group = consumer_group
        self.every_s = every_s
        self._last = float("-inf")
        self._topics: set[str] = set()

    async def observe(self) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        totals: dict[str, int] = defaultdict(int)
        try:
            async with asyncio.timeout(POSITION_WAIT_S):
                for tp in self.consumer.assignment():
                    high = self.consumer.highwater(tp)
                    if high is None:  # not fetched yet: nothing known
                        continue
                    totals[tp.topic] += max(0, high - await self.consumer.position(tp))
        except Exception as exc:  # a rebalance under way, a reset: the next look will do
            log.debug("consumer lag not observed", extra={"reason": repr(exc)})
            return
        for topic in self._topics - totals.keys():  # no longer assigned here
            LAG.labels(self.group, topic).set(0)
        for topic, lag in totals.items():
            LAG.labels(self.group, topic).set(lag)
        self._topics = set(totals)
