"""What every job-driving worker starts with: producer, accounts, SP-API clients,
the throttle client and the health endpoint. Created in ``start()``, never at import;
the consumer of its jobs (:meth:`WorkerRuntime.jobs_consumer`) once it has started."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx

from shared.accounts import AccountRegistry, SpApiClients
from shared.crypto import open_credentials
from shared.events import AccountRegistered, JobEvent
from shared.health import LIVENESS, READINESS, STARTING, HealthServer
from shared.job_state import JobState
from shared.kafka.admin import ensure_topics
from shared.kafka.consumer import BatchHandler
from shared.kafka.owned_jobs import JobsConsumer
from shared.kafka.producer import EventPublisher, make_producer
from shared.kafka.stores import PartitionStore
from shared.kafka.tail import TopicTail
from shared.live_jobs import LiveJobs
from shared.metered import Metered
from shared.quotas import DEFAULT_QUOTAS
from shared.settings import ServiceSettings
from shared.spapi.auth import LwaCredentials
from shared.spapi.endpoints import resolve
from shared.throttle.client import ThrottleClient
from shared.throttle.messages import QuotaKey
from shared.topics import ACCOUNTS, TopicSpec

log = logging.getLogger(__name__)


class JobOwner(Protocol):
    """A worker's side of its jobs on amazon.job-events (shared/kafka/owned_jobs.py)."""

    async def on_ready(self, partition: int, states: list[JobState]) -> None: ...

    async def on_job_event(self, state: JobState, event: JobEvent) -> None: ...

    async def on_revoked(self, dropped: list[JobState]) -> None: ...

    def on_finished_while_restoring(self, partition: int, state: JobState) -> None:
        """A job that finished in the events a restore read (a last step it may be owed,
        taken at once: nothing keeps these states)."""


class WorkerRuntime:
    def __init__(self, name: str, settings: ServiceSettings) -> None:
        self.name = name
        self.settings = settings
        self.instance_id = settings.instance_id or f"{name}-{socket.gethostname()}"
        self.accounts = AccountRegistry()
        self.healthy = True
        self._reported_rates: dict[str, float] = {}

    def heartbeat(self, loop: str) -> Callable[[], None]:
        """What a long-lived loop calls each time round, so liveness sees it progress:
        silent for LIVENESS_STALL_S, it turns /healthz red and the process restarts."""
        return LIVENESS.heartbeat(loop)

    def jobs_consumer(
        self,
        owner: JobOwner,
        *,
        group_id: str,
        changelog: TopicSpec,
        book: LiveJobs | None = None,
        stores: Sequence[PartitionStore] = (),
        inbound: Sequence[TopicSpec] = (),
        on_inbound_batch: BatchHandler | None = None,
        checkpoint_interval_s: float = 1.0,
    ) -> JobsConsumer:
        """The consumer of the jobs ``owner`` drives, its states kept on ``changelog``
        (docs/design.md §14); after :meth:`start`, which makes the publisher."""
        return JobsConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=group_id,
            client_id=self.instance_id,
            publisher=self.publisher,
            book=book if book is not None else LiveJobs(),
            changelog=changelog,
            stores=stores,
            inbound=inbound,
            on_ready=owner.on_ready,
            on_job_event=owner.on_job_event,
            on_inbound_batch=on_inbound_batch,
            on_revoked=owner.on_revoked,
            on_finished_while_restoring=owner.on_finished_while_restoring,
            heartbeat=self.heartbeat(f"{self.name} consumer"),
            checkpoint_interval_s=checkpoint_interval_s,
        )

    async def start(self) -> None:
        s = self.settings
        # Creates what is missing and refuses to run on topics that differ from their
        # declaration (TopicMismatch says what and how to fix it): docs/design.md §16.
        await ensure_topics(s.kafka_bootstrap_servers, settings=s)
        self.producer = make_producer(s.kafka_bootstrap_servers, client_id=self.instance_id)
        await self.producer.start()
        self.publisher = EventPublisher(self.producer, s.signer())
        verifier = s.verifier() if (s.signing_key or s.secret_key) else None
        self.accounts_tail = TopicTail(
            s.kafka_bootstrap_servers,
            ACCOUNTS,
            self.accounts.on_record,
            # Only the system registers accounts (docs/design.md §22).
            admit=(
                (lambda r: verifier.system_refusal(r.topic, r.key, r.value, r.headers))
                if verifier is not None
                else None
            ),
        )
        await self.accounts_tail.start()
        await self.accounts_tail.wait_caught_up()
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
        self.clients = SpApiClients(
            self.accounts,
            self.http,
            self._open,
            endpoint_for=lambda a: resolve(a.region, s.spapi_endpoint, s.lwa_endpoint).api_base_url,
            lwa_endpoint_for=lambda a: resolve(a.region, s.spapi_endpoint, s.lwa_endpoint).lwa_url,
        )
        self.throttle = ThrottleClient(s.kafka_bootstrap_servers, self.publisher, self.instance_id)
        await self.throttle.start()
        READINESS.require(STARTING, lambda: False)  # until the jobs consumer is there
        self.health = HealthServer(s.health_port, lambda: self.healthy)
        port = await self.health.start()
        log.info("worker ready", extra={"instance": self.instance_id, "health_port": port})

    async def stop(self) -> None:
        for closer in (
            self.health.stop,
            self.throttle.stop,
            self.accounts_tail.stop,
            self.http.aclose,
            self.producer.stop,
        ):
            try:
                await closer()
            except Exception:  # stopping must go on whatever one part says
                log.exception("error while stopping")

    def metered(self, state: JobState, *, wait_s: float, priority: int | None = None) -> Metered:
        """The job's SP-API calls under quota tokens (shared/metered.py)."""
        return Metered(
            accounts=self.accounts,
            throttle=self.throttle,
            observe_rate=self.observe_rate,
            job_id=state.job_id,
            shop_id=state.shop_id,
            account_id=state.account_id,
            job_type=state.job_type,
            priority=priority,
            wait_s=wait_s,
        )

    async def observe_rate(self, key: QuotaKey, rate: float) -> None:
        """Tell the throttle a rate Amazon states, when it differs from what it knows."""
        known = self._reported_rates.get(str(key), DEFAULT_QUOTAS[key.quota_class].rate_per_s)
        if abs(rate - known) <= 0.01 * known:
            return
        self._reported_rates[str(key)] = rate
        await self.throttle.report_rate(key, rate)

    def _open(self, account: AccountRegistered) -> LwaCredentials:
        if not self.settings.secret_key:
            raise RuntimeError("AMAZON_JOBS_SECRET_KEY is not set: cannot open credentials")
        return open_credentials(
            self.settings.opening_keys, account.credentials, account_id=account.account_id
        )
