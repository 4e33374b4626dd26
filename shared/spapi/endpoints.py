"""Where SP-API and Login with Amazon live: Amazon's production hosts or the local sandbox.

Configuration (``SPAPI_ENDPOINT`` / ``LWA_ENDPOINT``, docs/design.md §8) picks one:
unset means the local sandbox, ``production`` means Amazon's host for the account's region,
anything else is taken as a base URL (another sandbox, a recording proxy, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Region(StrEnum):
    NA = "NA"  # North America (and Brazil)
    EU = "EU"  # Europe, Middle East, India, Africa
    FE = "FE"  # Far East: Japan, Singapore, Australia


PRODUCTION_API: dict[Region, str] = {
    Region.NA: "https://sellingpartnerapi-na.amazon.com",
    Region.EU: "https://sellingpartnerapi-eu.amazon.com",
    Region.FE: "https://sellingpartnerapi-fe.amazon.com",
}
LWA_PRODUCTION_URL = "https://api.amazon.com/auth/o2/token"

SANDBOX_BASE_URL = "http://127.0.0.1:8700"  # `python -m services.amazon_sandbox` default
SANDBOX_LWA_PATH = "/auth/o2/token"  # the sandbox serves LWA itself, on Amazon's path

PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class Endpoints:
    api_base_url: str  # without a trailing slash
    lwa_url: str  # the full token URL


def production(region: Region | str) -> Endpoints:
    return Endpoints(PRODUCTION_API[Region(region)], LWA_PRODUCTION_URL)


def sandbox(base_url: str = SANDBOX_BASE_URL) -> Endpoints:
    base = base_url.rstrip("/")
    return Endpoints(base, base + SANDBOX_LWA_PATH)


def resolve(
    region: Region | str,
    spapi_endpoint: str | None = None,
    lwa_endpoint: str | None = None,
) -> Endpoints:
    """The endpoints one account talks to, from the two configuration values.

    An explicit ``lwa_endpoint`` always wins; otherwise LWA goes with the API: Amazon's
    LWA for production, ``<base>/auth/o2/token`` for any other base URL (a sandbox).
    """
    if not spapi_endpoint:
        chosen = sandbox()
    elif spapi_endpoint.strip().lower() == PRODUCTION:
        chosen = production(region)
    else:
        base = spapi_endpoint.strip().rstrip("/")
        is_amazon = base in PRODUCTION_API.values()
        chosen = Endpoints(base, LWA_PRODUCTION_URL if is_amazon else base + SANDBOX_LWA_PATH)
    if lwa_endpoint:
        lwa = lwa_endpoint.strip()
        if lwa.lower() == PRODUCTION:
            lwa = LWA_PRODUCTION_URL
        chosen = Endpoints(chosen.api_base_url, lwa)
    return chosen
