"""Consumer lag as a metric: records on the broker that this instance has not read yet, per
consumer group and topic (docs/design.md §23).

Computed from what the consumer already knows (the high watermark each fetch returns and
its position), so observing costs no request to the broker; a consumer's loop calls
:meth:`LagMeter.observe` after each poll and it looks at most every ``every_s``.
"""

from __future__ import annotations

import time
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Gauge

LAG = Gauge(
    "consumer_lag_records",
    "Records on the broker this instance has not read yet, over its partitions",
    ["consumer_group", "topic"],
)


class LagMeter:
    def __init__(self, consumer: AIOKafkaConsumer, consumer_group: str, every_s: float = 5.0):
        self.consumer = consumer
        self.group = consumer_group
        self.every_s = every_s
        self._last = float("-inf")
        self._topics: set[str] = set()

    def observe(self) -> None:
        """Set the gauge from what the consumer knows now; never waits for the broker."""
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        totals: dict[str, int] = defaultdict(int)
        for tp in self.consumer.assignment():
            high, position = self.consumer.highwater(tp), self._position(tp)
            if high is not None and position is not None:  # else not fetched yet
                totals[tp.topic] += max(0, high - position)
        for topic in self._topics - totals.keys():  # no longer assigned here
            LAG.labels(self.group, topic).set(0)
        for topic, lag in totals.items():
            LAG.labels(self.group, topic).set(lag)
        self._topics = set(totals)

    def _position(self, tp: TopicPartition) -> int | None:
        """The consumer's position when it has one. aiokafka's ``position()`` waits for a
        partition being reset (up to its request timeout), which a consumer's loop must
        not; its subscription state (aiokafka 0.14) says at once whether there is one."""
        try:
            state = self.consumer._subscription.subscription.assignment.state_value(tp)
        except AttributeError:  # unassigned meanwhile, or another aiokafka
            return None
        if state is None or not state.has_valid_position:
            return None
        position: int = state.position
        return position
