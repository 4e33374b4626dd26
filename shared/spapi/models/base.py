"""The base every SP-API model derives from, and the pieces all APIs share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """A model of an API that names its fields in camelCase (Feeds, Reports, Catalog, Orders 2026).

    Python code uses the snake_case names; the wire uses Amazon's names. Unknown fields are
    kept rather than rejected, because Amazon adds fields to responses without a new version.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        frozen=True,
    )

    def to_wire(self) -> dict[str, object]:
        """The JSON body Amazon expects: Amazon's names, absent optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ErrorDetail(CamelModel):
    """Amazon's ``Error``: one entry of the ``errors`` list of a failed call."""

    code: str
    message: str = ""
    details: str | None = None


class ErrorList(CamelModel):
    """Amazon's ``ErrorList`` body: ``{"errors": [...]}``."""

    errors: list[ErrorDetail] = []
