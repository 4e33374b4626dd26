"""What a topic must look like on the cluster, and how an existing one differs (pure logic;
shared/kafka/admin.py does the I/O). docs/design.md §16.

A difference is one of three kinds:

* **fatal** — the partition count or the cleanup policy. Keys would land on partitions the
  services do not expect, or a compacted state topic would lose its state (or a log would
  never expire). Changing either rewrites what the data means, so a person decides: the
  service refuses to start and says what differs and the commands that fix it. Also fatal:
  fewer replicas than ``min.insync.replicas``, where no acks=all write can succeed.
* **alterable** — every other declared config (retention, max.message.bytes,
  min.insync.replicas, compaction settings). The declaration and the settings are the
  source of truth, so these are brought to the declared values (or only reported, with
  ``KAFKA_ALTER_TOPIC_CONFIGS=false``).
* **warning** — a replication factor below the declared one: data is less safe than asked
  but correct; raising it is a partition reassignment, an operator's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.settings import KafkaTopicSettings
from shared.topics import BY_NAME, INTERNAL_PREFIX, TopicSpec

__all__ = [
    "Difference",
    "ObservedTopic",
    "TopicLayout",
    "TopicMismatch",
    "Verdict",
    "compare",
    "layouts",
]


class TopicMismatch(RuntimeError):
    """An existing topic differs from its declaration in a way a service must not run on."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "the Kafka topics differ from shared/topics.py; this service will not start "
            "until they match:\n" + "\n".join(f"- {p}" for p in problems)
        )


@dataclass(frozen=True)
class TopicLayout:
    """A declared topic with the cluster's settings applied: what must exist."""

    spec: TopicSpec
    replication_factor: int
    configs: dict[str, str]

    @property
    def name(self) -> str:
        return self.spec.name


def layouts(topics: Iterable[TopicSpec], settings: KafkaTopicSettings) -> list[TopicLayout]:
    """Each topic's full config: its declaration, the retention override, min ISR, RF.

    A retention override for a compacted topic, or one that names no topic we declare,
    is refused (ValueError): it would silently do nothing."""
    wanted = list(topics)
    known = {**BY_NAME, **{t.name: t for t in wanted}}
    for name in settings.kafka_topic_retention_ms:
        spec = known.get(name)
        if spec is None and not name.startswith(INTERNAL_PREFIX):
            # (an internal topic another service declares for itself is let through)
            raise ValueError(f"KAFKA_TOPIC_RETENTION_MS names {name!r}, which is no declared topic")
        if spec is not None and spec.compacted:
            raise ValueError(
                f"KAFKA_TOPIC_RETENTION_MS names {name!r}, a compacted topic: it keeps the "
                "latest value of every key forever and takes no retention"
            )
    out = []
    for spec in wanted:
        configs = spec.config()
        override = settings.kafka_topic_retention_ms.get(spec.name)
        if override is not None:
            configs["retention.ms"] = str(override)
        configs["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
        out.append(TopicLayout(spec, settings.kafka_replication_factor, configs))
    return out


@dataclass(frozen=True)
class ObservedTopic:
    """An existing topic as the cluster describes it."""

    name: str
    partitions: int
    replication_factor: int  # the smallest replica count of its partitions
    configs: Mapping[str, str]  # current value of every config
    overrides: Mapping[str, str]  # the topic's own (dynamic) configs, the rest are defaults


@dataclass(frozen=True)
class Difference:
    topic: str
    config: str
    current: str | None
    declared: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.config} is {self.current}, declared {self.declared}"


@dataclass
class Verdict:
    fatal: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    alterable: list[Difference] = field(default_factory=list)

    def alterations(self, observed: Mapping[str, ObservedTopic]) -> dict[str, dict[str, str]]:
        """Per topic, the complete set of topic configs to write: its present overrides
        with the declared values put in (AlterConfigs replaces the whole set, so whatever
        an operator set beside our configs is written back unchanged)."""
        out: dict[str, dict[str, str]] = {}
        for diff in self.alterable:
            if diff.topic not in out:
                out[diff.topic] = dict(observed[diff.topic].overrides)
            out[diff.topic][diff.config] = diff.declared
        return out


def _same(config: str, current: str | None, declared: str) -> bool:
    if current is None:
        return False
    if config == "cleanup.policy":
        return _policy(current) == _policy(declared)
    if config == "min.cleanable.dirty.ratio":
        try:
            return float(current) == float(declared)
        except ValueError:
            return False
    return current.strip() == declared


def _policy(value: str) -> frozenset[str]:
    return frozenset(p.strip() for p in value.split(",") if p.strip())


def compare(
    wanted: Iterable[TopicLayout], observed: Mapping[str, ObservedTopic], bootstrap: str
) -> Verdict:
    """How each existing topic differs from its layout, sorted by what to do about it."""
    verdict = Verdict()
    topics_cmd = f"kafka-topics.sh --bootstrap-server {bootstrap}"
    configs_cmd = f"kafka-configs.sh --bootstrap-server {bootstrap}"
    for layout in wanted:
        have = observed.get(layout.name)
        if have is None:
            continue
        name, spec = layout.name, layout.spec
        recreate = (
            f"recreate it: `{topics_cmd} --delete --topic {name}`, then start a service, "
            "which creates it as declared (its messages are lost: copy what you need first)"
        )
        if have.partitions != spec.partitions:
            fix = recreate
            if have.partitions < spec.partitions:
                fix += (
                    f"; or, if moving existing keys to other partitions is acceptable, "
                    f"`{topics_cmd} --alter --topic {name} --partitions {spec.partitions}`"
                )
            verdict.fatal.append(
                f"{name} has {have.partitions} partition(s), declared {spec.partitions}: "
                f"keys would not land where the services expect them. Fix: {fix}."
            )
        declared_policy = layout.configs["cleanup.policy"]
        current_policy = have.configs.get("cleanup.policy")
        if not _same("cleanup.policy", current_policy, declared_policy):
            verdict.fatal.append(
                f"{name} has cleanup.policy={current_policy}, declared {declared_policy}"
                + (
                    " (its latest value per key is state that must be kept)"
                    if spec.compacted
                    else " (a log that must expire after its retention)"
                )
                + f". Fix: `{configs_cmd} --alter --entity-type topics --entity-name {name} "
                f"--add-config cleanup.policy={declared_policy}` once you are sure of what "
                f"it holds, or {recreate}."
            )
        min_isr = int(layout.configs["min.insync.replicas"])
        if have.replication_factor < min_isr:
            verdict.fatal.append(
                f"{name} has {have.replication_factor} replica(s) but min.insync.replicas "
                f"{min_isr} is declared (KAFKA_MIN_INSYNC_REPLICAS): no acks=all write "
                "could succeed. Fix: add replicas with kafka-reassign-partitions.sh, or "
                f"lower KAFKA_MIN_INSYNC_REPLICAS to {have.replication_factor}."
            )
        elif have.replication_factor < layout.replication_factor:
            verdict.warnings.append(
                f"{name} has {have.replication_factor} replica(s), declared "
                f"{layout.replication_factor} (KAFKA_REPLICATION_FACTOR): it survives fewer "
                "broker losses than intended; add replicas with kafka-reassign-partitions.sh"
            )
        for config, declared in layout.configs.items():
            if config == "cleanup.policy":
                continue
            current = have.configs.get(config)
            if not _same(config, current, declared):
                verdict.alterable.append(Difference(name, config, current, declared))
    return verdict
