"""Settings of the poller service.

Durations are in Amazon seconds, like every duration of the system: the service divides
them by ``AMAZON_JOBS_TIME_SCALE`` when it sleeps.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PollerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="POLLER_")

    consumer_group: str = "amazon-jobs-poller"
    # A job still unfinished at Amazon after this long fails (Amazon keeps feeds 90 days,
    # but a feed that has not finished in a day will not be applied in any useful time).
    max_wait_s: float = Field(default=24 * 3600.0, gt=0)
    # getFeeds replaces one getFeed per feed when at least this many feeds of one account
    # are due together.
    batch_min_feeds: int = Field(default=2, ge=2)
    # Amazon limits getFeeds to 0.0222 calls/s (one per 45 s, burst 10) per seller, far
    # below getFeed's 2/s. The throttle meters it (quota class feed_list, per seller); the
    # poller also spaces its own getFeeds per account, so that a batch rarely waits in the
    # throttle's queue while single getFeed tokens are plentiful.
    get_feeds_interval_s: float = Field(default=45.0, ge=0)
    # One wait for a quota token, in real seconds; a longer wait is renewed (same request
    # id), so this only bounds how long a silent throttle service goes unnoticed.
    token_wait_s: float = Field(default=60.0, gt=0)
    # Status calls in flight at once, over all accounts.
    concurrency: int = Field(default=32, ge=1)
