from __future__ import annotations

import httpx

from shared.spapi import endpoints
from shared.spapi.endpoints import Region
from shared.spapi.redaction import redact_url


def test_production_regions_and_lwa() -> None:
    eu = endpoints.production(Region.EU)
    assert eu.api_base_url == "https://sellingpartnerapi-eu.amazon.com"
    assert eu.lwa_url == "https://api.amazon.com/auth/o2/token"
    assert endpoints.production("FE").api_base_url == "https://sellingpartnerapi-fe.amazon.com"
    assert endpoints.production("NA").api_base_url == "https://sellingpartnerapi-na.amazon.com"


def test_unset_configuration_means_the_local_sandbox() -> None:
    chosen = endpoints.resolve(Region.EU)
    assert chosen.api_base_url == "http://127.0.0.1:8700"
    assert chosen.lwa_url == "http://127.0.0.1:8700/auth/o2/token"


def test_a_sandbox_url_brings_its_own_lwa() -> None:
    chosen = endpoints.resolve(Region.NA, "http://127.0.0.1:9999/")
    assert chosen.api_base_url == "http://127.0.0.1:9999"
    assert chosen.lwa_url == "http://127.0.0.1:9999/auth/o2/token"


def test_production_keyword_follows_the_account_region() -> None:
    chosen = endpoints.resolve("FE", "production")
    assert chosen == endpoints.production(Region.FE)
    explicit = endpoints.resolve("EU", "https://sellingpartnerapi-eu.amazon.com")
    assert explicit.lwa_url == endpoints.LWA_PRODUCTION_URL


def test_an_explicit_lwa_endpoint_wins() -> None:
    chosen = endpoints.resolve("EU", "http://127.0.0.1:8700", "http://lwa.local/token")
    assert chosen.lwa_url == "http://lwa.local/token"
    assert endpoints.resolve("EU", "http://x", "production").lwa_url == endpoints.LWA_PRODUCTION_URL


def test_presigned_urls_are_redacted_and_others_left_alone() -> None:
    signed = httpx.URL("https://s3.test/doc?X-Amz-Credential=a&X-Amz-Signature=b")
    assert redact_url(signed) == "https://s3.test/doc?<redacted>"
    plain = httpx.URL("https://sp.test/feeds/2021-06-30/feeds?feedTypes=X")
    assert redact_url(plain) == str(plain)
