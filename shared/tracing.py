"""OpenTelemetry traces of a job, from the API request to the applier's result
(docs/design.md §23).

- Exported by OTLP over HTTP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; otherwise no provider is installed and
  every span is a no-op that costs next to nothing. The exporter reads the standard
  ``OTEL_*`` variables itself (headers, timeout, batch delays).
- The trace context travels in Kafka record headers (W3C ``traceparent``): every
  :class:`~shared.kafka.producer.EventPublisher` send carries the context current at that
  moment, and a consumer takes it back with :func:`context_of`.
- A job's work in a worker is not one call: the submitter decides a request in a batch
  and submits it later from a task; the poller polls many jobs at once. :class:`JobTraces`
  keeps each live job's context, so what a service does for a job later is a child of
  what brought the job in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

log = logging.getLogger(__name__)

TRACER = trace.get_tracer("amazon_jobs")
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
SHUTDOWN_WAIT_S = 2.0

Headers = Sequence[tuple[str, bytes]]


def configure_tracing(service: str) -> bool:
    """Install the OTLP exporter when an endpoint is configured; True if it was."""
    if not any(os.environ.get(v) for v in ENDPOINT_VARIABLES):
        return False
    # Imported here: a service without an endpoint never loads the SDK and its exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("traces exported by OTLP", extra={"service_name": resource.attributes["service.name"]})
    return True


def shutdown_tracing(timeout_s: float = SHUTDOWN_WAIT_S) -> None:
    """Send the spans still queued (at a service's exit), waiting at most ``timeout_s``:
    a collector that does not answer must not hold a stopping service."""
    shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
    if not callable(shutdown):
        return
    done = threading.Thread(target=shutdown, name="otel-shutdown", daemon=True)
    done.start()
    done.join(timeout_s)


# ------------------------------------------------------------------ Kafka record headers


def current_headers() -> list[tuple[str, bytes]] | None:
    """The current trace context as record headers, or None when there is none."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode("ascii")) for k, v in carrier.items()] or None


def context_of(headers: Headers | None) -> Context:
    """The trace context a record carries (an empty context when it carries none)."""
    carrier = {k: v.decode("ascii", "replace") for k, v in headers or () if v is not None}
    return propagate.extract(carrier)


@contextlib.contextmanager
def attached(ctx: Context | None) -> Iterator[None]:
    """Make ``ctx`` the current context for the block (nothing when None)."""
    if ctx is None:
        yield
        return
    token = otel_context.attach(ctx)
    try:
        yield
    finally:
        otel_context.detach(token)


# ------------------------------------------------------------------ trace ids in logs


def current_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` of the current span, for a log line; {} without one."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {
        "trace_id": format(span_context.trace_id, "032x"),
        "span_id": format(span_context.span_id, "016x"),
    }


# ------------------------------------------------------------------ a job's context


class JobTraces:
    """The trace context of each live job of one worker. A job's entry goes when it
    finishes or leaves this instance; past ``max_jobs`` the oldest go first, so an entry
    nobody forgets (a request refused) cannot make it grow without end."""

    def __init__(self, max_jobs: int = 100_000) -> None:
        self._contexts: OrderedDict[str, Context] = OrderedDict()
        self.max_jobs = max_jobs

    def remember(self, job_id: str, ctx: Context | None = None) -> None:
        """Keep ``ctx`` (default: the current context) for the job, when it has a span."""
        ctx = otel_context.get_current() if ctx is None else ctx
        if trace.get_current_span(ctx).get_span_context().is_valid:
            self._contexts[job_id] = ctx
            self._contexts.move_to_end(job_id)
            while len(self._contexts) > self.max_jobs:
                self._contexts.popitem(last=False)

    def of(self, job_id: str) -> Context | None:
        return self._contexts.get(job_id)

    def forget(self, job_id: str) -> None:
        self._contexts.pop(job_id, None)

    def __len__(self) -> int:
        return len(self._contexts)

    @contextlib.contextmanager
    def span(self, job_id: str, name: str, kind: SpanKind = SpanKind.INTERNAL) -> Iterator[Span]:
        """A span for work on the job, a child of the job's context (else of the current
        one); the job's context becomes this span's, so later work follows it."""
        with TRACER.start_as_current_span(
            name, context=self.of(job_id), kind=kind, attributes={"job.id": job_id}
        ) as span:
            self.remember(job_id)
            yield span
