"""Bulk matching routes (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from pydantic import TypeAdapter, ValidationError

from shareguard.bounds import MAX_INT
from shareguard.errors import InvalidInput
from shareguard.matching import ImportService, ReviewService, RunOptions, RunService, tasks
from shareguard.matching.schemas import (
    AdverseActionIn,
    AdverseActionOut,
    CandidateOut,
    DatasetOut,
    EntryIn,
    EntryOut,
    LeaveIn,
    ReviewIn,
    RunIn,
    RunOut,
)
from shareguard.matching.watchlist import WatchlistService
from shareguard.pagination import MAX_LIMIT, Page
from shareguard.web.deps import CurrentPrincipal, SessionDep

MAPPING = TypeAdapter(dict[str, str])
router = APIRouter(prefix="/matching", tags=["matching"])


def _candidate(c: Any) -> CandidateOut:
    out = CandidateOut.model_validate(c)
    out.disclosed = c.disclosure_id is not None
    return out


@router.post(
    "/datasets",
    response_model=DatasetOut,
    status_code=201,
    summary="Upload a partner dataset (CSV or Parquet) with its column mapping",
)
def upload_dataset(
    principal: CurrentPrincipal,
    session: SessionDep,
    agreement_id: Annotated[uuid.UUID, Form()],
    mapping: Annotated[
        str,
        Form(
            description='JSON: {"record_id": "id", "first_name": ...}; '
            "postcode and middle_names optional"
        ),
    ],
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form(pattern="^(reject|quarantine)$")] = "reject",
) -> DatasetOut:
    try:
        # pydantic's parser: bounded depth, and only an object of names to column names.
        parsed = MAPPING.validate_json(mapping)
    except ValidationError:
        raise InvalidInput(
            'mapping is a JSON object of names to column names, e.g. {"record_id": "id"}',
            field="mapping",
        ) from None
    suffix = Path(file.filename or "upload.csv").suffix.lower()
    with tempfile.TemporaryDirectory(prefix="shareguard-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as fh:
            shutil.copyfileobj(file.file, fh)
        row = ImportService(session).import_dataset(
            path, parsed, agreement_id, principal, mode=mode, name=file.filename
        )
    return DatasetOut.model_validate(row)


@router.get("/datasets/{dataset_id}/quarantine", summary="Rows left out of a quarantined import")
def dataset_quarantine(
    dataset_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[dict[str, Any]]:
    return ImportService(session).quarantine_errors(dataset_id, principal)


@router.post(
    "/runs", response_model=RunOut, status_code=202, summary="Start a match run as a background job"
)
def start_run(
    body: RunIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> RunOut:
    options = RunOptions(
        threshold=body.threshold,
        review_threshold=body.review_threshold,
        backend=body.backend,
        two_person_rule=body.two_person_rule,
        person_ids=frozenset(body.person_ids) if body.person_ids is not None else None,
        watchlist_source="current" if body.person_ids is None else "request",
        model_from=body.model_from,
    )
    run = RunService(session).start_run(body.agreement_id, body.dataset_id, principal, options)
    # After the response, so after the request's unit of work has committed the queued run.
    background.add_task(tasks.start, request.app.state.engine, run.id)
    return RunOut.model_validate(run)


@router.get("/runs/{run_id}", response_model=RunOut, summary="A run's state and progress")
def get_run(run_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> RunOut:
    return RunOut.model_validate(RunService(session).run(run_id, principal))


@router.get("/runs/{run_id}/results", summary="What the run disclosed to the partner (minimised)")
def run_results(
    run_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[dict[str, Any]]:
    return RunService(session).partner_results(run_id, principal)


@router.get("/reviews", response_model=Page[CandidateOut], summary="The review queue")
def review_queue(
    principal: CurrentPrincipal,
    session: SessionDep,
    run_id: uuid.UUID | None = None,
    state: Literal["pending", "same", "not_same", "need_info"] = "pending",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> Page[CandidateOut]:
    rows, total = ReviewService(session).queue(principal, run_id, state, limit, offset)
    return Page(items=[_candidate(c) for c in rows], total=total, limit=limit, offset=offset)


@router.get("/candidates/{candidate_id}", summary="Both records side by side, with the explanation")
def candidate(
    candidate_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return ReviewService(session).side_by_side(candidate_id, principal)


@router.post("/candidates/{candidate_id}/reviews", response_model=CandidateOut, status_code=201)
def review(
    candidate_id: uuid.UUID, body: ReviewIn, principal: CurrentPrincipal, session: SessionDep
) -> CandidateOut:
    return _candidate(
        ReviewService(session).review(candidate_id, body.outcome, principal, body.note)
    )


@router.post(
    "/candidates/{candidate_id}/adverse-actions",
    response_model=AdverseActionOut,
    status_code=201,
    summary="Report an adverse action (refused without a confirmed review)",
)
def adverse_action(
    candidate_id: uuid.UUID, body: AdverseActionIn, principal: CurrentPrincipal, session: SessionDep
) -> AdverseActionOut:
    row = ReviewService(session).report_adverse_action(
        candidate_id, body.kind, body.contest_route, principal
    )
    return AdverseActionOut.model_validate(row)


@router.post(
    "/watchlist",
    response_model=EntryOut,
    status_code=201,
    summary="Propose a person for an agreement's watch list",
)
def propose(body: EntryIn, principal: CurrentPrincipal, session: SessionDep) -> EntryOut:
    entry = WatchlistService(session).propose(
        body.agreement_id, body.person_id, body.decision_id, body.evidence_ref, principal
    )
    return EntryOut.model_validate(entry)


@router.post(
    "/watchlist/{entry_id}/verify",
    response_model=EntryOut,
    summary="A second caseworker verifies; the gate decides",
)
def verify(entry_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> EntryOut:
    return EntryOut.model_validate(WatchlistService(session).verify(entry_id, principal))


@router.post("/watchlist/{entry_id}/leave", response_model=EntryOut)
def leave(
    entry_id: uuid.UUID, body: LeaveIn, principal: CurrentPrincipal, session: SessionDep
) -> EntryOut:
    return EntryOut.model_validate(
        WatchlistService(session).leave(entry_id, body.reason, principal)
    )


@router.get("/watchlist/kept-out", summary="Who was kept out of an agreement's watch list, and why")
def kept_out(
    agreement_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[dict[str, Any]]:
    principal.require("governance_officer", "caseworker", "auditor")
    return WatchlistService(session).report(agreement_id)
