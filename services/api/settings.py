"""Settings of the API service (and of its projector)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.limits import MAX_MESSAGE_BYTES, MAX_REQUEST_PARTS
from shared.settings import ServiceSettings

# The most a request can carry on the bus (MAX_REQUEST_PARTS parts of at most one message
# each): a larger body could never be accepted. 25,000 send_products items with every
# field at its limit take 8 MiB in ASCII, 20.5 MiB in 4-byte UTF-8 characters, and 28.5
# MiB with every non-ASCII character written as \uXXXX (tests/api/test_bodies.py).
MAX_BODY_BYTES = MAX_REQUEST_PARTS * MAX_MESSAGE_BYTES


class ApiSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="API_")

    api_port: int = Field(default=8080, ge=0, le=65535, validation_alias="API_PORT")
    # "shop_id:key" pairs, comma-separated; shop "*" makes an admin key.
    api_keys: str = Field(default="", repr=False, validation_alias="AMAZON_JOBS_API_KEYS")
    # The HTTP process also runs the projector unless it is deployed on its own.
    run_projector: bool = True
    consumer_group: str = Field(
        default="amazon-jobs-projector",
        validation_alias="PROJECTOR_CONSUMER_GROUP",
    )
    # Seconds a request waits for Kafka to take what it publishes before answering 503.
    publish_timeout_s: float = Field(default=10.0, gt=0)
    # Request bodies above this are refused with 413 before they are read whole.
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1024)
    # After a part of the process died, seconds /readyz answers 503 before the port closes.
    failure_drain_s: float = Field(default=1.0, ge=0)
    # Seconds one MongoDB operation of a request may take before the answer is a 503.
    mongo_timeout_s: float = Field(default=10.0, gt=0)
    # Seconds a client is told to wait when MongoDB is unavailable (503 Retry-After).
    retry_after_s: int = Field(default=5, ge=1)
    # Webhook URLs on private, loopback or link-local addresses (docs/design.md §21):
    # refused unless set, here and in the notifier (development and tests set it).
    webhooks_allow_private_urls: bool = Field(
        default=False, validation_alias="WEBHOOKS_ALLOW_PRIVATE_URLS"
    )

    SECRET_FIELDS: ClassVar[frozenset[str]] = ServiceSettings.SECRET_FIELDS | {"api_keys"}
