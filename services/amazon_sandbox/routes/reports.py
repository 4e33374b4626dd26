"""Reports API 2021-06-30: createReport, getReport(s), cancelReport, getReportDocument."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from services.amazon_sandbox.clock import isoformat
from services.amazon_sandbox.gateway import Call, sp_api
from services.amazon_sandbox.params import (
    body_marketplace_ids,
    body_string_map,
    json_object,
    parse_datetime,
)
from services.amazon_sandbox.reports import REPORT_TYPES
from services.amazon_sandbox.routes.jobs import JobResource, document_response
from services.amazon_sandbox.state import DocumentKind, Report

PREFIX = "/reports/2021-06-30"


def _data_times(report: Report) -> dict[str, Any]:
    times = {"dataStartTime": report.data_start_time, "dataEndTime": report.data_end_time}
    return {name: value for name, value in times.items() if value}


REPORTS: JobResource[Report] = JobResource(
    "report",
    jobs=lambda seller: seller.reports,
    line=lambda seller: seller.report_line,
    document_field="reportDocumentId",
    extra_fields=_data_times,
)


def create_report(call: Call) -> Response:
    body = json_object(call.body)
    report_type = REPORTS.requested_type(
        body, REPORT_TYPES, f"The sandbox produces {', '.join(sorted(REPORT_TYPES))}."
    )
    marketplace_ids = body_marketplace_ids(body.get("marketplaceIds"), call.seller.marketplace_ids)
    options = body_string_map(body.get("reportOptions"), "reportOptions")
    times = {
        name: isoformat(parse_datetime(body[name], name))
        for name in ("dataStartTime", "dataEndTime")
        if body.get(name) is not None
    }
    report = Report(
        job_id=call.state.new_report_id(),
        job_type=report_type,
        marketplace_ids=marketplace_ids,
        created=call.state.clock.now(),
        report_options=options,
        data_start_time=times.get("dataStartTime"),
        data_end_time=times.get("dataEndTime"),
        sabotaged=call.state.faults.malformed_reports(call.seller.seller_id),
        bomb_bytes=call.state.faults.report_bomb_bytes(call.seller.seller_id),
    )
    return REPORTS.enqueue(call, report)


def get_report_document(call: Call) -> Response:
    return document_response(
        call, "reportDocumentId", frozenset({DocumentKind.REPORT}), "Report document"
    )


routes = [
    Route(f"{PREFIX}/reports", sp_api("createReport", create_report), methods=["POST"]),
    Route(f"{PREFIX}/reports", sp_api("getReports", REPORTS.get_list), methods=["GET"]),
    Route(f"{PREFIX}/reports/{{reportId}}", sp_api("getReport", REPORTS.get), methods=["GET"]),
    Route(
        f"{PREFIX}/reports/{{reportId}}",
        sp_api("cancelReport", REPORTS.cancel),
        methods=["DELETE"],
    ),
    Route(
        f"{PREFIX}/documents/{{reportDocumentId}}",
        sp_api("getReportDocument", get_report_document),
        methods=["GET"],
    ),
]
