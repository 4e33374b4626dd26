"""Every aiokafka client the system makes, with the process's security settings applied
(shared/kafka/security.py): SASL and TLS are configured once, not at each call site."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka.security import KafkaSecuritySettings


def security_options(security: KafkaSecuritySettings | None = None) -> dict[str, Any]:
    """The given settings' client options, else the environment's."""
    return (security if security is not None else KafkaSecuritySettings()).client_options()


def new_consumer(
    *topics: str,
    bootstrap_servers: str,
    security: KafkaSecuritySettings | None = None,
    **options: Any,
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap_servers, **security_options(security), **options
    )


def new_producer(
    bootstrap_servers: str, security: KafkaSecuritySettings | None = None, **options: Any
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, **security_options(security), **options
    )


def new_admin(
    bootstrap_servers: str, security: KafkaSecuritySettings | None = None, **options: Any
) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, **security_options(security), **options
    )
