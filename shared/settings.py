"""Settings every service shares (ARCHITECTURE.md §8); each service subclasses it."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SANDBOX_ENDPOINT = "http://127.0.0.1:8700"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    mongo_url: str = "mongodb://127.0.0.1:27017/amazon_jobs"
    # Both default to the local sandbox, so nothing reaches Amazon unless configured to.
    spapi_endpoint: str = SANDBOX_ENDPOINT
    lwa_endpoint: str = SANDBOX_ENDPOINT + "/auth/o2/token"
    time_scale: float = Field(
        default=1.0, gt=0, validation_alias=AliasChoices("AMAZON_JOBS_TIME_SCALE", "time_scale")
    )
    secret_key: str | None = Field(
        default=None,
        repr=False,  # never in logs or tracebacks
        validation_alias=AliasChoices("AMAZON_JOBS_SECRET_KEY", "secret_key"),
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

    def safe_summary(self) -> dict[str, object]:
        """Settings for the start log line, secrets left out."""
        return self.model_dump(exclude={"secret_key"})
