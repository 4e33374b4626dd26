"""One deadline for every MongoDB operation a request makes (docs/design.md §12).

The client's own ``timeoutMS`` (shared/mongo.py) is sized for the embedded projector's
largest batch; a request gets a shorter one, so that a MongoDB that takes connections and
never answers ends it as a 503 (errors.py) instead of holding the caller. PyMongo keeps
the deadline in a context variable, which the route's tasks inherit.
"""

from __future__ import annotations

import pymongo
from starlette.types import ASGIApp, Receive, Scope, Send


class MongoDeadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with pymongo.timeout(self.seconds):
            await self.app(scope, receive, send)
