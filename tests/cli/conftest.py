"""The live-system fixtures of the API tests, for the CLI's live test."""

from tests.api.conftest import publisher, system, topics

__all__ = ["publisher", "system", "topics"]
