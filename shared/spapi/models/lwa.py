"""Login with Amazon token endpoint: what ``grant_type=refresh_token`` answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LwaTokenResponse(BaseModel):
    """LWA already uses snake_case on the wire, so no aliases."""

    model_config = ConfigDict(extra="allow", frozen=True)

    access_token: str = Field(repr=False)
    token_type: str = "bearer"
    expires_in: int = 3600  # seconds
    refresh_token: str | None = Field(default=None, repr=False)


class LwaErrorResponse(BaseModel):
    """OAuth 2 error body, e.g. ``{"error": "invalid_grant", "error_description": …}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    error: str
    error_description: str | None = None
