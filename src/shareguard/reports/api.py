"""Report routes: JSON reports, CSV, Vega-Lite chart specs, value assessments, reminders."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends

from shareguard.reports.charts import charts_for
from shareguard.reports.present import to_csv
from shareguard.reports.schemas import AssessmentIn, AssessmentOut, ReminderOut
from shareguard.reports.service import ReportService
from shareguard.web.deps import CsvResponse, CurrentPrincipal, SessionDep


def report_service(session: SessionDep) -> ReportService:
    return ReportService(session)


Reports = Annotated[ReportService, Depends(report_service)]
Period = Literal["day", "month", "quarter", "year"]  # reports.metrics.PERIODS

router = APIRouter(tags=["reports"])


@router.get("/reports", summary="Overall report with a section per agreement")
def overall(
    principal: CurrentPrincipal, reports: Reports, period: Period = "month"
) -> dict[str, Any]:
    return reports.report(principal, period=period)


@router.get("/reports.csv", response_class=CsvResponse, summary="Overall report as CSV")
def overall_csv(
    principal: CurrentPrincipal, reports: Reports, period: Period = "month"
) -> CsvResponse:
    return CsvResponse(to_csv(reports.report(principal, period=period)))


@router.get("/reports/charts", summary="Vega-Lite v5 specs for the overall report")
def overall_charts(
    principal: CurrentPrincipal, reports: Reports, period: Period = "month"
) -> dict[str, Any]:
    return charts_for(reports.report(principal, period=period))


@router.get("/reports/reminders", response_model=list[ReminderOut])
def reminders(principal: CurrentPrincipal, reports: Reports) -> list[ReminderOut]:
    """Agreements due for review or never assessed for value."""
    return [ReminderOut(**r) for r in reports.reminders(principal)]


@router.get("/agreements/{agreement_id}/report", summary="One agreement's report")
def agreement_report(
    agreement_id: uuid.UUID, principal: CurrentPrincipal, reports: Reports, period: Period = "month"
) -> dict[str, Any]:
    return reports.report(principal, agreement_id=agreement_id, period=period)


@router.get(
    "/agreements/{agreement_id}/report/charts", summary="Vega-Lite v5 specs for one agreement"
)
def agreement_charts(
    agreement_id: uuid.UUID, principal: CurrentPrincipal, reports: Reports, period: Period = "month"
) -> dict[str, Any]:
    return charts_for(reports.report(principal, agreement_id=agreement_id, period=period))


@router.post(
    "/agreements/{agreement_id}/value-assessments", response_model=AssessmentOut, status_code=201
)
def assess(
    agreement_id: uuid.UUID, body: AssessmentIn, principal: CurrentPrincipal, reports: Reports
) -> AssessmentOut:
    """Record a value assessment: the benefit claimed against its evidence."""
    row = reports.assess(agreement_id, principal, **body.model_dump())
    return AssessmentOut.model_validate(row)


@router.get("/agreements/{agreement_id}/value-assessments", response_model=list[AssessmentOut])
def assessments(
    agreement_id: uuid.UUID, principal: CurrentPrincipal, reports: Reports
) -> list[AssessmentOut]:
    return [AssessmentOut.model_validate(a) for a in reports.assessments(agreement_id, principal)]
