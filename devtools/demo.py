"""The demo of `make up`: filled in once the pipeline can run jobs end to end."""

from __future__ import annotations

from collections.abc import Callable


async def run_demo(env: dict[str, str], say: Callable[[str], None]) -> None:
    say("demo: not available yet (the job pipeline is still being built)")
