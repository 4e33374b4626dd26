"""The declared topic configuration and how an existing topic is judged against it
(shared/topics.py, shared/kafka/topic_check.py, shared/settings.py): pure logic."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.kafka.topic_check import ObservedTopic, TopicLayout, compare, layouts
from shared.limits import BROKER_MESSAGE_BYTES
from shared.settings import KafkaTopicSettings
from shared.topics import (
    ACCOUNTS,
    ALL_TOPICS,
    APPLIER_JOBS,
    CATALOG_EVENTS,
    DAY_MS,
    DEAD_LETTERS,
    INTERNAL_TOPICS,
    INVENTORY,
    JOB_EVENTS,
    JOB_REQUESTS,
    LISTINGS,
    ORDERS,
    POLLER_JOBS,
    SUBMITTER_JOB_IDS,
    SUBMITTER_JOBS,
    THROTTLE_GRANTS,
    THROTTLE_REQUESTS,
    THROTTLE_SNAPSHOTS,
    WEBHOOK_DELIVERIES,
    WEBHOOKS,
    TopicSpec,
    faust_changelog,
)

LOCAL = KafkaTopicSettings()
PRODUCTION = KafkaTopicSettings(kafka_replication_factor=3, kafka_min_insync_replicas=2)
BOOTSTRAP = "k1:9092,k2:9092"


def layout_of(spec: TopicSpec, settings: KafkaTopicSettings = LOCAL) -> TopicLayout:
    (layout,) = layouts([spec], settings)
    return layout


def test_every_topic_has_its_limits_retention_and_replication_explicit() -> None:
    for layout in layouts(ALL_TOPICS, PRODUCTION):
        cfg = layout.configs
        assert layout.replication_factor == 3
        assert cfg["min.insync.replicas"] == "2"
        assert cfg["max.message.bytes"] == str(BROKER_MESSAGE_BYTES) == str(1024 * 1024)
        assert cfg["cleanup.policy"] == ("compact" if layout.spec.compacted else "delete")
        if layout.spec.compacted:
            assert cfg["retention.ms"] == "-1"  # the latest value of a key stays forever
            assert cfg["delete.retention.ms"] == str(DAY_MS)
        else:
            assert int(cfg["retention.ms"]) > 0


def test_the_declared_retentions() -> None:
    days = {
        t.name: int(layout_of(t).configs["retention.ms"]) // DAY_MS
        for t in ALL_TOPICS
        if not t.compacted
    }
    assert days == {
        JOB_REQUESTS.name: 7,
        CATALOG_EVENTS.name: 7,
        JOB_EVENTS.name: 30,
        ORDERS.name: 30,
        DEAD_LETTERS.name: 30,
        WEBHOOK_DELIVERIES.name: 30,
        THROTTLE_REQUESTS.name: 1,
        THROTTLE_GRANTS.name: 1,
    }
    compacted = {t.name for t in ALL_TOPICS if t.compacted}
    assert {
        LISTINGS.name,
        INVENTORY.name,
        ACCOUNTS.name,
        THROTTLE_SNAPSHOTS.name,
        WEBHOOKS.name,
    } <= compacted


def test_worker_changelogs_are_compacted_like_job_events_and_tuned_for_restore() -> None:
    changelogs = (SUBMITTER_JOBS, POLLER_JOBS, APPLIER_JOBS, SUBMITTER_JOB_IDS)
    assert set(changelogs) <= set(INTERNAL_TOPICS)
    assert [t.name for t in changelogs] == [
        "amazon.internal.submitter-jobs",
        "amazon.internal.poller-jobs",
        "amazon.internal.applier-jobs",
        "amazon.internal.submitter-job-ids",
    ]
    for topic in changelogs:
        cfg = topic.config()
        assert topic.compacted and topic.partitions == JOB_EVENTS.partitions == 12
        assert cfg["segment.ms"] == str(3_600_000)
        assert cfg["min.cleanable.dirty.ratio"] == "0.1"
        assert cfg["delete.retention.ms"] == str(DAY_MS)
    throttle_state = faust_changelog("amazon-jobs-throttle", "state", 12)
    assert throttle_state.name == "amazon.internal.amazon-jobs-throttle-state-changelog"
    assert throttle_state.compacted


def test_a_retention_override_replaces_the_declared_one() -> None:
    settings = KafkaTopicSettings(kafka_topic_retention_ms={JOB_EVENTS.name: 90 * DAY_MS})
    assert layout_of(JOB_EVENTS, settings).configs["retention.ms"] == str(90 * DAY_MS)
    assert layout_of(ORDERS, settings).configs["retention.ms"] == str(30 * DAY_MS)
    forever = KafkaTopicSettings(kafka_topic_retention_ms={ORDERS.name: -1})
    assert layout_of(ORDERS, forever).configs["retention.ms"] == "-1"


def test_retention_overrides_that_would_do_nothing_are_refused() -> None:
    on_compacted = KafkaTopicSettings(kafka_topic_retention_ms={LISTINGS.name: DAY_MS})
    with pytest.raises(ValueError, match="compacted topic"):
        layouts(ALL_TOPICS, on_compacted)
    typo = KafkaTopicSettings(kafka_topic_retention_ms={"amazon.job-event": DAY_MS})
    with pytest.raises(ValueError, match="no declared topic"):
        layouts(ALL_TOPICS, typo)
    # another service's own internal topic is let through
    other = KafkaTopicSettings(kafka_topic_retention_ms={"amazon.internal.api-replays": DAY_MS})
    assert len(layouts(ALL_TOPICS, other)) == len(ALL_TOPICS)


def test_settings_refuse_a_min_isr_no_write_could_meet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "1")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    with pytest.raises(ValidationError, match="exceeds KAFKA_REPLICATION_FACTOR"):
        KafkaTopicSettings()
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KAFKA_TOPIC_RETENTION_MS", '{"amazon.job-events": 0}')
    with pytest.raises(ValidationError, match="give milliseconds"):
        KafkaTopicSettings()
    monkeypatch.setenv("KAFKA_TOPIC_RETENTION_MS", '{"amazon.job-events": 5184000000}')
    settings = KafkaTopicSettings()
    assert settings.kafka_min_insync_replicas == 2
    assert settings.kafka_topic_retention_ms == {"amazon.job-events": 5_184_000_000}


def test_a_compacted_topic_takes_no_retention() -> None:
    with pytest.raises(ValueError, match="compacted"):
        TopicSpec("amazon.internal.x", 1, compacted=True, retention_ms=DAY_MS)
    with pytest.raises(ValueError, match="partitions"):
        TopicSpec("amazon.internal.x", 0)


def observed(
    layout: TopicLayout,
    *,
    partitions: int | None = None,
    rf: int | None = None,
    configs: dict[str, object] | None = None,
) -> ObservedTopic:
    """The topic as the cluster would describe it had it been created as declared, but
    for what is given."""
    own = {**layout.configs, **{k: str(v) for k, v in (configs or {}).items()}}
    return ObservedTopic(
        name=layout.name,
        partitions=layout.spec.partitions if partitions is None else partitions,
        replication_factor=layout.replication_factor if rf is None else rf,
        configs={**own, "segment.bytes": "1073741824"},  # a broker default beside ours
        overrides=own,
    )


def test_a_topic_as_declared_passes() -> None:
    wanted = layouts(ALL_TOPICS, PRODUCTION)
    verdict = compare(wanted, {t.name: observed(t) for t in wanted}, BOOTSTRAP)
    assert (verdict.fatal, verdict.warnings, verdict.alterable) == ([], [], [])


def test_partitions_and_cleanup_policy_are_fatal_and_say_how_to_fix() -> None:
    events, listings = layout_of(JOB_EVENTS), layout_of(LISTINGS)
    verdict = compare(
        [events, listings],
        {
            events.name: observed(events, partitions=6),
            listings.name: observed(listings, configs={"cleanup.policy": "delete"}),
        },
        BOOTSTRAP,
    )
    assert len(verdict.fatal) == 2
    parts, policy = verdict.fatal
    assert "amazon.job-events has 6 partition(s), declared 12" in parts
    assert f"kafka-topics.sh --bootstrap-server {BOOTSTRAP} --delete --topic amazon.job-events" in (
        parts
    )
    assert "--alter --topic amazon.job-events --partitions 12" in parts
    assert "amazon.listings has cleanup.policy=delete, declared compact" in policy
    assert "--entity-name amazon.listings --add-config cleanup.policy=compact" in policy
    assert verdict.alterable == []


def test_compact_and_delete_together_is_not_compact() -> None:
    listings = layout_of(LISTINGS)
    both = observed(listings, configs={"cleanup.policy": "compact,delete"})
    assert compare([listings], {listings.name: both}, BOOTSTRAP).fatal
    reordered = layout_of(TopicSpec("amazon.internal.x", 1))
    same = observed(reordered, configs={"cleanup.policy": " delete"})
    assert not compare([reordered], {reordered.name: same}, BOOTSTRAP).fatal


def test_other_configs_are_alterable_keeping_what_else_was_set() -> None:
    events = layout_of(JOB_EVENTS, PRODUCTION)
    have = observed(events, configs={"retention.ms": 1000, "min.insync.replicas": 1})
    have = ObservedTopic(
        have.name,
        have.partitions,
        have.replication_factor,
        have.configs,
        {**have.overrides, "segment.bytes": "10485760"},
    )
    verdict = compare([events], {events.name: have}, BOOTSTRAP)
    assert verdict.fatal == []
    assert sorted(str(d) for d in verdict.alterable) == [
        "amazon.job-events: min.insync.replicas is 1, declared 2",
        "amazon.job-events: retention.ms is 1000, declared 2592000000",
    ]
    (written,) = verdict.alterations({events.name: have}).values()
    assert written["retention.ms"] == str(30 * DAY_MS)
    assert written["min.insync.replicas"] == "2"
    assert written["segment.bytes"] == "10485760"  # AlterConfigs replaces the whole set


def test_replicas_below_declared_warn_and_below_min_isr_are_fatal() -> None:
    events = layout_of(JOB_EVENTS, PRODUCTION)
    two = compare([events], {events.name: observed(events, rf=2)}, BOOTSTRAP)
    assert two.fatal == []
    assert two.warnings and "has 2 replica(s), declared 3" in two.warnings[0]
    one = compare([events], {events.name: observed(events, rf=1)}, BOOTSTRAP)
    assert one.fatal and "has 1 replica(s) but min.insync.replicas 2" in one.fatal[0]
    assert "KAFKA_MIN_INSYNC_REPLICAS" in one.fatal[0]
