"""The Kafka security settings as clients and faust get them (shared/kafka/security.py)."""

from __future__ import annotations

import ssl
from typing import Any

import faust
import pytest
from pydantic import ValidationError

from services.throttle.app import faust_credentials
from services.throttle.settings import ThrottleSettings
from shared.kafka.security import KafkaSecuritySettings
from shared.settings import ServiceSettings

SASL: dict[str, Any] = {
    "kafka_security_protocol": "SASL_PLAINTEXT",
    "kafka_sasl_mechanism": "SCRAM-SHA-256",
    "kafka_sasl_username": "amazon-jobs",
    "kafka_sasl_password": "s3cret-pw",
}


def test_plaintext_gives_no_credentials() -> None:
    options = KafkaSecuritySettings().client_options()
    assert options == {"security_protocol": "PLAINTEXT"}


def test_sasl_gives_the_mechanism_user_and_password() -> None:
    options = KafkaSecuritySettings(**SASL).client_options()
    assert options == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "amazon-jobs",
        "sasl_plain_password": "s3cret-pw",
    }


def test_tls_protocols_get_a_verifying_context() -> None:
    for protocol in ("SSL", "SASL_SSL"):
        options = KafkaSecuritySettings(**{**SASL, "kafka_security_protocol": protocol})
        context = options.client_options()["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode is ssl.CERT_REQUIRED


def test_sasl_without_a_password_does_not_start() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_PASSWORD"):
        KafkaSecuritySettings(**{**SASL, "kafka_sasl_password": ""})


def test_an_unknown_protocol_or_mechanism_is_refused() -> None:
    with pytest.raises(ValidationError):
        KafkaSecuritySettings(**{**SASL, "kafka_security_protocol": "SASL"})
    with pytest.raises(ValidationError):
        KafkaSecuritySettings(**{**SASL, "kafka_sasl_mechanism": "GSSAPI"})


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "env-user")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "env-pw")
    options = KafkaSecuritySettings().client_options()
    assert options["sasl_plain_username"] == "env-user"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"


def test_the_password_is_in_no_repr_and_no_start_line() -> None:
    settings = ServiceSettings(**SASL)
    assert "s3cret-pw" not in repr(settings)
    assert "s3cret-pw" not in str(settings.safe_summary())
    assert settings.safe_summary()["kafka_sasl_username"] == "amazon-jobs"
    assert "s3cret-pw" not in KafkaSecuritySettings(**SASL).describe()


def test_faust_gets_the_same_credentials() -> None:
    credentials = faust_credentials(ThrottleSettings(**SASL))
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("amazon-jobs", "s3cret-pw")
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert credentials.protocol.value == "SASL_PLAINTEXT"
    over_tls = faust_credentials(
        ThrottleSettings(**{**SASL, "kafka_security_protocol": "SASL_SSL"})
    )
    assert isinstance(over_tls, faust.SASLCredentials)
    assert over_tls.protocol.value == "SASL_SSL"
    assert faust_credentials(ThrottleSettings()) is None
