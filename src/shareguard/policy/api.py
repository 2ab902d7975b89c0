"""Routes for trying decisions, reading compiled policies, firewall rules and pauses (thin)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from shareguard.accounts.models import Role
from shareguard.errors import Refused
from shareguard.policy.present import pause_out
from shareguard.policy.schemas import (
    DecisionOut,
    DecisionRequestIn,
    FirewallChangeOut,
    FirewallDecisionIn,
    FirewallProposalIn,
    FirewallRuleOut,
    PauseIn,
    PauseLiftIn,
    PauseOut,
    PolicyTextOut,
)
from shareguard.policy.service import FirewallService, PauseService, PolicyService
from shareguard.policy.types import Decision
from shareguard.web.deps import CurrentPrincipal, SessionDep, allow

router = APIRouter(tags=["policy"])


def _decision_out(d: Decision) -> DecisionOut:
    return DecisionOut(
        allowed=d.allowed,
        kind=d.kind,
        reason=d.reason,
        policies=list(d.policies),
        agreement_id=d.agreement_id,
        discloser_id=d.discloser_id,
        recipient_id=d.recipient_id,
    )


@router.post(
    "/policy/decisions",
    response_model=DecisionOut,
    summary="Try a decision without disclosing anything",
    description=(
        "Governance officers and auditors may try a request as any organisation. A partner "
        "may ask only about its own requests, under its own key's scope; a refusal is then "
        "answered 403 problem+json naming the reason (`kind` says which check refused)."
    ),
)
def try_decision(
    body: DecisionRequestIn, principal: CurrentPrincipal, session: SessionDep
) -> DecisionOut:
    service = PolicyService(session)
    if principal.has(Role.GOVERNANCE_OFFICER, Role.AUDITOR):
        return _decision_out(service.try_request(body, principal))
    decision = service.try_own_request(body, principal)
    if not decision.allowed:
        raise Refused(decision.reason, kind=decision.kind)
    return _decision_out(decision)


@router.get("/policy/cedar", response_model=PolicyTextOut, summary="Compiled Cedar policies")
def cedar_policies(
    principal: CurrentPrincipal,
    session: SessionDep,
    agreement: Annotated[str | None, Query(description="Reference or id")] = None,
) -> PolicyTextOut:
    principal.require(Role.GOVERNANCE_OFFICER, Role.AUDITOR)
    text, warnings = PolicyService(session).cedar_text(agreement)
    return PolicyTextOut(agreement=agreement, cedar=text, warnings=warnings)


@router.get("/firewall-rules", response_model=list[FirewallRuleOut])
def firewall_rules(
    principal: CurrentPrincipal, session: SessionDep, include_retired: bool = False
) -> list[FirewallRuleOut]:
    rules = FirewallService(session).rules(include_retired=include_retired)
    return [FirewallRuleOut.model_validate(r) for r in rules]


@router.get(
    "/firewall-changes",
    response_model=list[FirewallChangeOut],
    dependencies=[allow("governance_officer", "auditor")],
)
def firewall_changes(
    principal: CurrentPrincipal,
    session: SessionDep,
    status: Literal["pending", "approved", "rejected"] | None = None,
) -> list[FirewallChangeOut]:
    principal.require(Role.GOVERNANCE_OFFICER, Role.AUDITOR)
    return [FirewallChangeOut.model_validate(c) for c in FirewallService(session).changes(status)]


@router.post(
    "/firewall-changes",
    response_model=FirewallChangeOut,
    status_code=201,
    dependencies=[allow("governance_officer")],
)
def propose_firewall_change(
    body: FirewallProposalIn, principal: CurrentPrincipal, session: SessionDep
) -> FirewallChangeOut:
    return FirewallChangeOut.model_validate(FirewallService(session).propose(body, principal))


@router.post(
    "/firewall-changes/{change_id}/approve",
    response_model=FirewallChangeOut,
    dependencies=[allow("governance_officer")],
)
def approve_firewall_change(
    change_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    body: FirewallDecisionIn | None = None,
) -> FirewallChangeOut:
    note = body.note if body else ""
    return FirewallChangeOut.model_validate(
        FirewallService(session).approve(change_id, principal, note)
    )


@router.post(
    "/firewall-changes/{change_id}/reject",
    response_model=FirewallChangeOut,
    dependencies=[allow("governance_officer")],
)
def reject_firewall_change(
    change_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    body: FirewallDecisionIn | None = None,
) -> FirewallChangeOut:
    note = body.note if body else ""
    return FirewallChangeOut.model_validate(
        FirewallService(session).reject(change_id, principal, note)
    )


@router.get(
    "/pauses",
    response_model=list[PauseOut],
    dependencies=[allow("governance_officer", "auditor", "caseworker", "reviewer")],
)
def pauses(
    principal: CurrentPrincipal, session: SessionDep, current: bool = False
) -> list[PauseOut]:
    principal.require(Role.GOVERNANCE_OFFICER, Role.AUDITOR, Role.CASEWORKER, Role.REVIEWER)
    return [pause_out(p) for p in PauseService(session).list(current_only=current)]


@router.post(
    "/pauses", response_model=PauseOut, status_code=201, dependencies=[allow("governance_officer")]
)
def create_pause(body: PauseIn, principal: CurrentPrincipal, session: SessionDep) -> PauseOut:
    return pause_out(PauseService(session).create(body, principal))


@router.post(
    "/pauses/{pause_id}/lift", response_model=PauseOut, dependencies=[allow("governance_officer")]
)
def lift_pause(
    pause_id: uuid.UUID, body: PauseLiftIn, principal: CurrentPrincipal, session: SessionDep
) -> PauseOut:
    return pause_out(PauseService(session).lift(pause_id, principal, body.reason))
