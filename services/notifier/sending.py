"""One attempt of one delivery: the URL's addresses checked, the body signed and POSTed."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import httpx

from shared.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    UrlRefused,
    WebhookDelivery,
    address_allowed,
    check_url,
    signature,
)

USER_AGENT = "amazon-jobs-webhooks/1"


async def check_addresses(url: str, allow_private: bool) -> None:
    """UrlRefused when the URL is not allowed, or its host name resolves to an address
    that is not (a public name pointing at 127.0.0.1 or 169.254.169.254). Checked before
    every attempt, since what a name resolves to may change."""
    check_url(url, allow_private)
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UrlRefused(f"{host} does not resolve: {exc}") from None
    for *_, sockaddr in infos:
        if not address_allowed(str(sockaddr[0]), allow_private):
            raise UrlRefused(f"{host} resolves to {sockaddr[0]}, a private or reserved address")


async def attempt(
    client: httpx.AsyncClient,
    url: str,
    delivery: WebhookDelivery,
    secret: str,
    allow_private: bool,
) -> tuple[int | None, str | None]:
    """POST the delivery once: the answer's status code (None when there was none) and
    what went wrong, if anything. Redirects are not followed (they could lead anywhere)."""
    try:
        await check_addresses(url, allow_private)
    except UrlRefused as exc:
        return None, f"not sent: {exc}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(secret, int(time.time()), delivery.body),
        DELIVERY_HEADER: delivery.delivery_id,
        EVENT_HEADER: delivery.event,
    }
    try:
        response = await client.post(url, content=delivery.body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"answered {response.status_code}"
