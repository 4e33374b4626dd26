"""The live-system fixture of the API tests, for the CLI's live test."""

from tests.api.conftest import system

__all__ = ["system"]
