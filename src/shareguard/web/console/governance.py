"""Governance pages: the audit log browser with checkpoint and proof downloads."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from shareguard.agreements.models import Agreement
from shareguard.audit.service import AuditService
from shareguard.bounds import MAX_INT
from shareguard.errors import InvalidInput, NotFound
from shareguard.web.console.paging import Paging
from shareguard.web.console.render import render
from shareguard.web.console.security import (
    OfficerOrAuditor,
    load_user,
)
from shareguard.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])


def _audit(request: Request, session: Any) -> AuditService:
    return AuditService(session, request.app.state.settings)


@router.get("/governance/audit", response_class=HTMLResponse)
def audit_log(request: Request, user: OfficerOrAuditor, session: SessionDep) -> Response:
    audit = _audit(request, session)
    action = request.query_params.get("action", "").strip()[:80]
    page = Paging.of(request)
    entries, total = audit.page(user.principal, action=action, limit=page.size, offset=page.offset)
    if not entries and total and page.offset:  # past the end: the last page
        page = page.with_total(total)
        entries, total = audit.page(
            user.principal, action=action, limit=page.size, offset=page.offset
        )
    page = page.with_total(total)
    refs = {a.id: a.reference for a in _agreements(session, entries)}
    checkpoint = audit.latest_checkpoint()
    rows = [
        {
            "seq": e.seq,
            "at": e.at,
            "action": e.action,
            "purpose": e.purpose or "",
            "agreement": refs.get(e.agreement_id) if e.agreement_id else None,
            "decision": e.decision or "",
            "subject": (e.subject_ref or "")[:8],
            "covered": checkpoint is not None
            and e.seq is not None
            and e.seq < checkpoint.tree_size,
        }
        for e in entries
    ]
    return render(
        request,
        "console/audit.html",
        title="Audit log",
        rows=rows,
        checkpoint=checkpoint,
        root=checkpoint.root_hash.hex() if checkpoint else "",
        action=action,
        page=page.context(request),
    )


def _agreements(session: Any, entries: list[Any]) -> list[Agreement]:
    ids = {e.agreement_id for e in entries if e.agreement_id}
    return [a for a in (session.get(Agreement, i) for i in ids) if a is not None]


def _download(body: dict[str, Any], name: str) -> Response:
    return Response(
        json.dumps(body, indent=2, sort_keys=True),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/governance/audit/proofs/inclusion/{seq}.json")
def inclusion(seq: int, request: Request, user: OfficerOrAuditor, session: SessionDep) -> Response:
    """An inclusion proof bundle, signing a new checkpoint first if none covers the entry."""
    if not 0 <= seq <= MAX_INT:
        raise NotFound(f"no audit entry #{seq}")
    bundle = _audit(request, session).inclusion(seq, sign_if_needed=True)
    return _download(bundle, f"inclusion-{seq}.json")


@router.get("/governance/audit/proofs/consistency.json")
def consistency(request: Request, user: OfficerOrAuditor, session: SessionDep) -> Response:
    try:
        old = int(request.query_params.get("old", ""))
        if not 0 <= old <= MAX_INT:
            raise ValueError
    except ValueError:
        raise InvalidInput(
            "enter the tree size of the checkpoint you hold, as a whole number", field="old"
        ) from None
    bundle = _audit(request, session).consistency(old)
    return _download(bundle, f"consistency-{old}-{bundle.get('new_size', 'latest')}.json")


@router.get("/governance/audit/checkpoint.txt")
def checkpoint_note(request: Request, user: OfficerOrAuditor, session: SessionDep) -> Response:
    """The latest checkpoint as a signed note, signing one now if the log has grown."""
    cp = _audit(request, session).checkpoint()
    return Response(
        cp.note,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="checkpoint-{cp.tree_size}.txt"'},
    )
