"""Settings every service shares (docs/design.md §8); each service subclasses it.

A shared setting names its environment variable (``validation_alias``); a service's own
settings are read from ``<SERVICE>_<FIELD>`` by the ``env_prefix`` of its subclass (which
skips fields with an alias), and every setting can be given by field name in code.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.crypto import parse_key
from shared.kafka.security import KafkaSecuritySettings
from shared.logs import redact_urls
from shared.signing import Signer, Verifier, master_secret

SANDBOX_ENDPOINT = "http://127.0.0.1:8700"


class KafkaTopicSettings(KafkaSecuritySettings):
    """How the declared topics (shared/topics.py) are laid out on the cluster
    (docs/design.md §16), and how clients authenticate to it (its base class). Every
    service reads them, since every service creates and checks the topics at start; give
    all of them the same values."""

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, populate_by_name=True
    )

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    # Of every topic a service creates: 1 on a one-broker development Kafka, 3 in
    # production. Existing topics keep theirs (a lower one is reported at start).
    kafka_replication_factor: int = Field(
        default=1, ge=1, validation_alias="KAFKA_REPLICATION_FACTOR"
    )
    # min.insync.replicas of every topic: with acks=all, a write succeeds only once this
    # many replicas have it (2 of 3 in production: one broker may be down).
    kafka_min_insync_replicas: int = Field(
        default=1, ge=1, validation_alias="KAFKA_MIN_INSYNC_REPLICAS"
    )
    # retention.ms per delete topic, overriding shared/topics.py, as JSON:
    # {"amazon.job-events": 5184000000}; -1 keeps everything. Compacted topics keep their
    # latest values forever and take no retention.
    kafka_topic_retention_ms: dict[str, int] = Field(
        default_factory=dict, validation_alias="KAFKA_TOPIC_RETENTION_MS"
    )
    # Whether a service brings the configs of existing topics (retention.ms,
    # max.message.bytes, min.insync.replicas, compaction settings) to the declared values
    # at start, or only reports the differences. Partitions and cleanup.policy are never
    # changed: a mismatch there stops the service with the fix to apply.
    kafka_alter_topic_configs: bool = Field(
        default=True, validation_alias="KAFKA_ALTER_TOPIC_CONFIGS"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError(
                f"KAFKA_MIN_INSYNC_REPLICAS ({self.kafka_min_insync_replicas}) exceeds "
                f"KAFKA_REPLICATION_FACTOR ({self.kafka_replication_factor}): no acks=all "
                "write could ever succeed"
            )
        for topic, ms in self.kafka_topic_retention_ms.items():
            if ms < -1 or ms == 0:
                raise ValueError(
                    f"KAFKA_TOPIC_RETENTION_MS[{topic!r}] = {ms}: give milliseconds, or -1 "
                    "to keep everything"
                )
        return self


class ServiceSettings(KafkaTopicSettings):
    mongo_url: str = Field(
        default="mongodb://127.0.0.1:27017/amazon_jobs", validation_alias="MONGO_URL"
    )
    # Both default to the local sandbox, so nothing reaches Amazon unless configured to.
    spapi_endpoint: str = Field(default=SANDBOX_ENDPOINT, validation_alias="SPAPI_ENDPOINT")
    lwa_endpoint: str = Field(
        default=SANDBOX_ENDPOINT + "/auth/o2/token", validation_alias="LWA_ENDPOINT"
    )
    time_scale: float = Field(
        default=1.0, gt=0, validation_alias=AliasChoices("AMAZON_JOBS_TIME_SCALE", "time_scale")
    )
    # 32 random bytes, base64 or hex (shared/crypto.py): seals and opens credentials.
    secret_key: str | None = Field(
        default=None,
        repr=False,  # never in logs or tracebacks
        validation_alias=AliasChoices("AMAZON_JOBS_SECRET_KEY", "secret_key"),
    )
    # Keys that sealed credentials before the current one (comma-separated; a passphrase
    # of the first format too): they open, never seal. Empty once every account is
    # re-sealed (python -m services.api.reseal).
    old_secret_keys: str = Field(
        default="",
        repr=False,
        validation_alias=AliasChoices("AMAZON_JOBS_OLD_SECRET_KEYS", "old_secret_keys"),
    )
    # The secret every event-signing key derives from (shared/signing.py); unset: derived
    # from secret_key. 32 random bytes, base64 or hex.
    signing_key: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("AMAZON_JOBS_SIGNING_KEY", "signing_key"),
    )
    # Refuse unsigned inbound events and account records too (a wrong signature is
    # always refused). Off only while producers from before signing remain.
    require_signed_events: bool = Field(
        default=False,
        validation_alias=AliasChoices("AMAZON_JOBS_REQUIRE_SIGNED_EVENTS", "require_signed_events"),
    )
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("AMAZON_JOBS_LOG_LEVEL", "log_level")
    )
    # Liveness and Prometheus metrics of worker services; 0 picks a free port.
    health_port: int = Field(
        default=0, ge=0, validation_alias=AliasChoices("HEALTH_PORT", "health_port")
    )
    instance_id: str = Field(
        default="", validation_alias=AliasChoices("AMAZON_JOBS_INSTANCE_ID", "instance_id")
    )
    # A consumer loop (or other registered loop) that has not shown progress for this many
    # seconds turns /healthz red, so the orchestrator restarts the process (design §8).
    liveness_stall_s: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("LIVENESS_STALL_S", "liveness_stall_s"),
    )
    # Seconds a stopping service gets to finish its batch and commit; then what is left is
    # cancelled and the process exits (orchestrators kill after their own grace period).
    stop_timeout_s: float = Field(
        default=4.5, gt=0, validation_alias=AliasChoices("STOP_TIMEOUT_S", "stop_timeout_s")
    )

    # Settings that are secrets as a whole: never in the start line.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "secret_key",
            "old_secret_keys",
            "signing_key",
            *KafkaSecuritySettings.SECURITY_SECRETS,
        }
    )

    @model_validator(mode="after")
    def _a_real_key(self) -> Self:
        if self.secret_key:
            parse_key(self.secret_key)  # a passphrase stops the service here, saying why
        if self.signing_key:
            parse_key(self.signing_key)
        return self

    def signer(self) -> Signer | None:
        """Signs what this service publishes; None without any key (nothing to sign with)."""
        if not (self.signing_key or self.secret_key):
            return None
        return Signer(master_secret(self.signing_key, self.secret_key))

    def verifier(self) -> Verifier:
        master = master_secret(self.signing_key, self.secret_key)
        return Verifier(master, self.require_signed_events)

    @property
    def opening_keys(self) -> list[str]:
        """The current key, then the old ones: what opens sealed credentials."""
        old = [k.strip() for k in self.old_secret_keys.split(",") if k.strip()]
        return [self.secret_key, *old] if self.secret_key else old

    def safe_summary(self) -> dict[str, object]:
        """Settings for the start log line: secrets left out, URLs without passwords
        (``MONGO_URL`` may carry one)."""
        return {
            name: redact_urls(value) if isinstance(value, str) else value
            for name, value in self.model_dump(exclude=set(self.SECRET_FIELDS)).items()
        }
