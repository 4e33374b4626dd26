"""A shop's event-signing key (docs/design.md §22): what it signs its inbound events with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.api.deps import Caller, Settings
from services.api.errors import ApiError
from services.api.models import ErrorBody, example
from shared.limits import Identifier
from shared.signing import HEADER, shop_key

ALGORITHM = (
    "v1= + hex HMAC-SHA256 over topic, record key and value, each as a 4-byte "
    "big-endian length then the bytes (0xffffffff for an absent key or value)"
)

router = APIRouter(prefix="/v1/signing-key", tags=["signing"])


class SigningKey(BaseModel):
    model_config = example(
        {
            "shop_id": "shop1",
            "key": "3f1c" + "0" * 60,
            "header": HEADER,
            "algorithm": ALGORITHM,
        }
    )

    shop_id: str
    key: str  # hex; HMAC-SHA256 key
    header: str  # the record header that carries the signature
    algorithm: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 422, 503)
}


@router.get("", response_model=SigningKey, responses=ERRORS)
async def signing_key(
    who: Caller,
    settings: Settings,
    shop_id: Annotated[
        Identifier | None,
        Query(
            description="Admin keys only: the shop whose key to give (an operator "
            "setting up that shop's module)."
        ),
    ] = None,
) -> SigningKey:
    """The calling shop's key; with an admin key, the key of the shop named by
    ``shop_id`` (an admin key is no shop's and signs for none)."""
    if who.is_admin and shop_id is None:
        raise ApiError(400, "no_shop", "an admin key names the shop: ?shop_id=…")
    if not who.is_admin and shop_id not in (None, who.shop_id):
        raise ApiError(403, "forbidden", "a shop key gets only its own shop's signing key")
    shop = shop_id if who.is_admin and shop_id is not None else who.shop_id
    signer = settings.signer()
    if signer is None:
        raise ApiError(503, "no_signing_key", "the API has no signing key configured")
    return SigningKey(
        shop_id=shop,
        key=shop_key(signer.master, shop).hex(),
        header=HEADER,
        algorithm=ALGORITHM,
    )
