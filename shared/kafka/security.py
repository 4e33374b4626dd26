"""How every Kafka client of a process authenticates and encrypts: SASL (SCRAM or PLAIN)
and TLS from the environment (docs/design.md §8).

The settings are one connection's, so they are the process's: every client it makes
(shared/kafka/clients.py, and the throttle's faust app) takes them from here. A password
is never logged, never in a repr. A broker that refuses the credentials is told apart
from one that is not reachable yet (:func:`check_credentials`), so that a service with a
wrong password stops at once, saying so, instead of retrying as if the broker were down.
"""

from __future__ import annotations

import ssl
from typing import Any, ClassVar, Literal, Self

from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
SaslMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]

# Broker answers that mean "these credentials are wrong", not "try again later".
_REFUSALS = (
    SaslAuthenticationFailed,
    AuthenticationFailedError,
    UnsupportedSaslMechanismError,
    IllegalSaslStateError,
)
_CHECK_TIMEOUT_MS = 10_000


class KafkaAuthenticationError(RuntimeError):
    """The broker refused this process's credentials: a configuration error, never
    retried (a service exits non-zero with this message)."""


class KafkaSecuritySettings(BaseSettings):
    """SASL and TLS of every Kafka client; PLAINTEXT (the default) needs none of them."""

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, populate_by_name=True
    )

    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default="SCRAM-SHA-512", validation_alias="KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str = Field(default="", validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: str = Field(default="", repr=False, validation_alias="KAFKA_SASL_PASSWORD")
    # The CA that signed the brokers' certificates (else the system's trust store).
    kafka_ssl_cafile: str | None = Field(default=None, validation_alias="KAFKA_SSL_CAFILE")
    # A client certificate, for brokers that authenticate clients by TLS (mTLS).
    kafka_ssl_certfile: str | None = Field(default=None, validation_alias="KAFKA_SSL_CERTFILE")
    kafka_ssl_keyfile: str | None = Field(default=None, validation_alias="KAFKA_SSL_KEYFILE")
    kafka_ssl_keyfile_password: str | None = Field(
        default=None, repr=False, validation_alias="KAFKA_SSL_KEYFILE_PASSWORD"
    )

    # Never in a start line or a log.
    SECURITY_SECRETS: ClassVar[frozenset[str]] = frozenset(
        {"kafka_sasl_password", "kafka_ssl_keyfile_password"}
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.uses_sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")
        return self

    @property
    def uses_sasl(self) -> bool:
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context: ssl.SSLContext = create_ssl_context(
            cafile=self.kafka_ssl_cafile,
            certfile=self.kafka_ssl_certfile,
            keyfile=self.kafka_ssl_keyfile,
            password=self.kafka_ssl_keyfile_password,
        )
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of an aiokafka producer, consumer or admin client."""
        options: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_sasl_username
            options["sasl_plain_password"] = self.kafka_sasl_password
        return options

    def describe(self) -> str:
        """Who connects how, for error messages (no secret)."""
        if self.uses_sasl:
            return (
                f"{self.kafka_security_protocol} {self.kafka_sasl_mechanism} "
                f"as user {self.kafka_sasl_username!r}"
            )
        return self.kafka_security_protocol


async def check_credentials(bootstrap_servers: str, security: KafkaSecuritySettings) -> None:
    """Raise :class:`KafkaAuthenticationError` when a bootstrap broker refuses the
    credentials. A broker that cannot be reached is no verdict: the caller retries it.

    aiokafka's bootstrap logs a refusal and reports only "Unable to bootstrap", which a
    service would retry until its deadline; this asks one connection directly."""
    if not security.uses_sasl and not security.uses_tls:
        return
    options = security.client_options()
    for address in bootstrap_servers.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            conn = await create_conn(
                host,
                int(port),
                client_id="amazon-jobs-credentials-check",
                request_timeout_ms=_CHECK_TIMEOUT_MS,
                **options,
            )
        except _REFUSALS as exc:
            raise KafkaAuthenticationError(
                f"Kafka at {address.strip()} refused the credentials "
                f"({security.describe()}): {exc}; check KAFKA_SASL_USERNAME, "
                "KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM"
            ) from exc
        except ssl.SSLError as exc:
            raise KafkaAuthenticationError(
                f"TLS with Kafka at {address.strip()} failed ({security.describe()}): {exc}; "
                "check KAFKA_SSL_CAFILE and the client certificate"
            ) from exc
        except (OSError, KafkaError, TimeoutError):
            continue  # not reachable (yet): not a verdict on the credentials
        else:
            conn.close()
            return
