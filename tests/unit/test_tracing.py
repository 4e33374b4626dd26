"""Trace context as the services carry it (shared/tracing.py): record headers, a job's
context kept between its steps, trace ids in log lines, and no exporter unless one is
configured. Spans are recorded by an in-memory exporter of a provider of the test's own
(the process-wide provider is left alone)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.logs import JsonFormatter
from shared.tracing import (
    ENDPOINT_VARIABLES,
    JobTraces,
    attached,
    configure_tracing,
    context_of,
    current_headers,
    current_ids,
)


@pytest.fixture
def spans() -> Iterator[tuple[trace.Tracer, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


def test_headers_carry_the_current_span_to_the_consumers_span(
    spans: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = spans
    assert current_headers() is None  # no span, no header: records stay as they were
    with tracer.start_as_current_span("request") as request:
        headers = current_headers()
    assert headers is not None and [k for k, _ in headers] == ["traceparent"]
    with tracer.start_as_current_span("consume", context=context_of(headers)):
        pass
    by_name = {s.name: s for s in exporter.get_finished_spans()}
    consume = by_name["consume"]
    assert consume.parent is not None
    assert consume.parent.span_id == request.get_span_context().span_id
    assert consume.context.trace_id == request.get_span_context().trace_id


def test_a_record_without_headers_starts_no_trace(
    spans: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = spans
    with tracer.start_as_current_span("consume", context=context_of(None)):
        pass
    with tracer.start_as_current_span("consume", context=context_of([("other", b"x")])):
        pass
    assert [s.parent for s in exporter.get_finished_spans()] == [None, None]


def test_a_jobs_context_waits_for_its_later_work(
    spans: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = spans
    traces = JobTraces(max_jobs=2)
    with tracer.start_as_current_span("request") as request:
        headers = current_headers()
    traces.remember("job-1", context_of(headers))
    traces.remember("job-0", context_of(None))  # nothing to remember: no span in it
    assert traces.of("job-0") is None
    with attached(traces.of("job-1")), tracer.start_as_current_span("submit") as submit:
        pass
    [_, submitted] = exporter.get_finished_spans()
    assert submitted.parent is not None
    assert submitted.parent.span_id == request.get_span_context().span_id
    assert submit.get_span_context().trace_id == request.get_span_context().trace_id
    # Bounded: past max_jobs the oldest go.
    traces.remember("job-2", context_of(headers))
    traces.remember("job-3", context_of(headers))
    assert len(traces) == 2 and traces.of("job-1") is None
    traces.forget("job-3")
    assert traces.of("job-3") is None and traces.of("job-2") is not None


def test_log_lines_name_the_trace_they_were_written_in(
    spans: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, _ = spans
    formatter = JsonFormatter("test")

    def line() -> dict[str, str]:
        record = logging.makeLogRecord({"msg": "hello", "levelname": "INFO", "name": "t"})
        loaded: dict[str, str] = json.loads(formatter.format(record))
        return loaded

    assert "trace_id" not in line() and current_ids() == {}
    with tracer.start_as_current_span("work") as span:
        written = line()
    assert written["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert written["span_id"] == format(span.get_span_context().span_id, "016x")


def test_no_exporter_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ENDPOINT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    before = trace.get_tracer_provider()
    assert configure_tracing("test") is False
    assert trace.get_tracer_provider() is before
