"""No secret reaches a log line: a MongoDB password in MONGO_URL, the credentials key and
the API keys are planted in the services' settings, and their whole logs are searched."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.stack import SECRET_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

PASSWORD = "Planted-Mongo-Pa55"
API_KEY = "planted-admin-api-key"


async def test_a_planted_password_never_appears_in_the_logs(
    topics: str, mongo_url: str, test_output_dir: Path
) -> None:
    host = mongo_url.split("://", 1)[1].split("/", 1)[0]
    stack = Stack(
        bootstrap=topics,
        mongo_url=f"mongodb://amazonjobs:{PASSWORD}@{host}/secrets?authSource=admin",
        workdir=test_output_dir / f"secrets-in-logs-{uuid.uuid4().hex[:8]}",  # fresh logs
        api_keys=f"*:{API_KEY}",
    )
    names = ["throttle", "scheduler", "poller"]
    try:
        stack.start(names)

        def started() -> bool:
            return all("service starting" in stack.services[n].log_path.read_text() for n in names)

        await eventually(started, "every service logged its start and settings")
    finally:
        stack.stop()
    for name in names:
        log = stack.services[name].log_path.read_text()
        assert "amazonjobs:***@" in log, f"{name} logged its MONGO_URL redacted"
        for secret in (PASSWORD, SECRET_KEY, API_KEY):
            assert secret not in log, f"{name} logged {secret!r}"
