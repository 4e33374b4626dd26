"""Reports API 2021-06-30: createReport, getReport(s), cancelReport, getReportDocument."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.amazon_sandbox.clock import isoformat
from services.amazon_sandbox.errors import invalid_input, not_found
from services.amazon_sandbox.gateway import Call, sp_api
from services.amazon_sandbox.params import (
    body_marketplace_ids,
    body_string_map,
    json_object,
    parse_datetime,
)
from services.amazon_sandbox.reports import REPORT_TYPES
from services.amazon_sandbox.routes.jobs import (
    cancel_queued,
    document_response,
    job_fields,
    list_response,
)
from services.amazon_sandbox.state import DocumentKind, Report

PREFIX = "/reports/2021-06-30"


def create_report(call: Call) -> Response:
    body = json_object(call.body)
    report_type = body.get("reportType")
    if not isinstance(report_type, str) or not report_type:
        raise invalid_input("reportType is required.")
    if report_type not in REPORT_TYPES:
        raise invalid_input(
            f"Invalid reportType '{report_type}'.",
            f"The sandbox produces {', '.join(sorted(REPORT_TYPES))}.",
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
    )
    call.seller.reports[report.job_id] = report
    call.seller.report_line.waiting.append(report)
    return JSONResponse({"reportId": report.job_id}, status_code=202)


def get_report(call: Call) -> Response:
    return JSONResponse(report_json(call, _report(call)))


def get_reports(call: Call) -> Response:
    return list_response(call, call.seller.reports.values(), "reportTypes", "reports", report_json)


def cancel_report(call: Call) -> Response:
    return cancel_queued(call, _report(call), call.seller.report_line, "report")


def get_report_document(call: Call) -> Response:
    return document_response(
        call, "reportDocumentId", frozenset({DocumentKind.REPORT}), "Report document"
    )


def _report(call: Call) -> Report:
    report_id = call.path("reportId")
    report = call.seller.reports.get(report_id)
    if report is None:
        raise not_found(f"Report {report_id} was not found.")
    return report


def report_json(call: Call, report: Report) -> dict[str, Any]:
    body: dict[str, Any] = {"reportId": report.job_id, "reportType": report.job_type}
    body.update(job_fields(report, call.state.clock))
    if report.data_start_time:
        body["dataStartTime"] = report.data_start_time
    if report.data_end_time:
        body["dataEndTime"] = report.data_end_time
    if report.result_document_id:
        body["reportDocumentId"] = report.result_document_id
    return body


routes = [
    Route(f"{PREFIX}/reports", sp_api("createReport", create_report), methods=["POST"]),
    Route(f"{PREFIX}/reports", sp_api("getReports", get_reports), methods=["GET"]),
    Route(f"{PREFIX}/reports/{{reportId}}", sp_api("getReport", get_report), methods=["GET"]),
    Route(
        f"{PREFIX}/reports/{{reportId}}",
        sp_api("cancelReport", cancel_report),
        methods=["DELETE"],
    ),
    Route(
        f"{PREFIX}/documents/{{reportDocumentId}}",
        sp_api("getReportDocument", get_report_document),
        methods=["GET"],
    ),
]
