"""Public and staff pages: the register, agreement detail, sign-in, home, help."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import Organisation, Role
from shareguard.agreements import transparency
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.direction import TITLES as DIRECTION_TITLES
from shareguard.agreements.direction import direction_of, operator_ids
from shareguard.agreements.models import Agreement, AgreementState
from shareguard.agreements.retention import ALL_KINDS
from shareguard.agreements.service import AgreementService, missing_items, user_name
from shareguard.checks import CaseService
from shareguard.corrections import NoticeService
from shareguard.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from shareguard.exchange import InboundService, RequestService
from shareguard.matching import ReviewService
from shareguard.matching.models import EntryState
from shareguard.matching.watchlist import WatchlistService
from shareguard.quality.service import QualityService
from shareguard.signin.keys import public_jwks
from shareguard.signin.oidc import SignInFailed
from shareguard.signin.staff import StaffSignIn
from shareguard.signin.staff_oidc import StaffOidcSignIn, StaffRefused
from shareguard.storage.base import today
from shareguard.storage.db import settle
from shareguard.web.console import provider
from shareguard.web.console.render import render
from shareguard.web.console.security import (
    SIGNED_IN_MARKER,
    ConsoleUser,
    Form,
    MaybeUser,
    Officer,
    User,
    date_field,
    field,
    flash,
    load_user,
    sign_in,
)
from shareguard.web.deps import PERSON_SLOT, STAFF_SLOT, SessionDep, client_address, end_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

STATES = [s.value for s in AgreementState]
STATUS_TAG = {
    "draft": "govuk-tag--blue",
    "active": "govuk-tag--green",
    "paused": "govuk-tag--yellow",
    "ended": "govuk-tag--grey",
}
ACTION_TITLES = {
    "create": "Created as a draft",
    "activate": "Signed off and activated",
    "pause": "Paused",
    "resume": "Resumed",
    "end": "Ended",
    "review": "Reviewed",
}


def _safe_next(value: str | None) -> str:
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and not value.startswith("/\\")
    ):
        return value
    return "/console"


# register --------------------------------------------------------------------------------
def _filters(request: Request) -> tuple[str, str]:
    purpose = request.query_params.get("purpose", "")
    status = request.query_params.get("status", "")
    return (purpose if purpose in PURPOSES else "", status if status in STATES else "")


def _filter_context(purpose: str, status: str, states: list[str]) -> dict[str, Any]:
    return {
        "purpose": purpose,
        "status": status,
        "purpose_items": [{"value": "", "text": "All purposes"}]
        + [
            {"value": p.code, "text": p.title, "selected": p.code == purpose}
            for p in PURPOSES.values()
        ],
        "status_items": [{"value": "", "text": "All statuses"}]
        + [{"value": s, "text": s.capitalize(), "selected": s == status} for s in states],
        "status_tag": STATUS_TAG,
        "direction_titles": DIRECTION_TITLES,
    }


@router.get("/", response_class=HTMLResponse)
def start(request: Request, session: SessionDep) -> Response:
    """The public start page: the transparency register of data-sharing agreements."""
    purpose, status = _filters(request)
    rows = []
    for a in transparency.register(session)["agreements"]:
        if purpose and purpose not in {p["code"] for p in a["purposes"]}:
            continue
        if status and a["status"] != status:
            continue
        rows.append(
            {
                "reference": a["reference"],
                "title": a["title"],
                "status": a["status"],
                "purposes": [p["title"] for p in a["purposes"]],
                "recipients": a["recipients"],
                "disclosers": a["disclosers"],
                "direction": a["direction"],
                "review_date": date.fromisoformat(a["review_date"]) if a["review_date"] else None,
                "review_lapsed": a["review_lapsed"],
            }
        )
    query = urlencode({k: v for k, v in {"purpose": purpose, "status": status}.items() if v})
    return render(
        request,
        "console/register.html",
        title="Register of data-sharing agreements",
        rows=rows,
        public=True,
        query=query,
        **_filter_context(purpose, status, STATES[1:]),
    )


@router.get("/agreements", response_class=HTMLResponse)
def staff_register(request: Request, user: User, session: SessionDep) -> Response:
    """Staff view of the register: drafts included; partners see their own agreements."""
    purpose, status = _filters(request)
    found, _ = AgreementService(session).find(
        user.principal, state=status or None, purpose=purpose or None, limit=10_000
    )
    names = {o.id: o.name for o in session.scalars(select(Organisation))}
    on = today()
    operators = operator_ids(session)
    rows = [
        {
            "reference": a.reference,
            "title": a.title,
            "status": a.state,
            "purposes": [PURPOSES[p].title for p in a.purposes],
            "recipients": [names[r] for r in a.recipients()],
            "disclosers": [names[d] for d in a.disclosers()],
            "direction": direction_of(a.disclosers(), a.recipients(), operators),
            "review_date": a.review_date,
            "review_lapsed": a.review_lapsed(on),
        }
        for a in found
    ]
    return render(
        request,
        "console/register.html",
        title="Agreements",
        rows=rows,
        public=False,
        query="",
        **_filter_context(purpose, status, STATES),
    )


# agreement detail --------------------------------------------------------------------------
def _value(a: Agreement, attr: str) -> Any:
    return getattr(a, attr)


def checklist(session: Session, a: Agreement) -> list[dict[str, Any]]:
    """The ICO Data Sharing Code checklist as summary-list sections; missing items flagged."""
    names = {o.id: o.name for o in session.scalars(select(Organisation))}

    def row(title: str, value: Any, required: str | None = None) -> dict[str, Any]:
        if isinstance(value, date):
            value = f"{value.day} {value:%B %Y}"
        empty = value in (None, "", [])
        return {
            "title": title,
            "value": value,
            "missing": empty and required is not None,
            "empty": empty,
        }

    flow = direction_of(a.disclosers(), a.recipients(), operator_ids(session))
    parties = [
        f"{names.get(p.organisation_id, '?')} ({p.role}, {p.controller_role.replace('_', ' ')})"
        for p in a.parties
    ]
    items = [
        DATA_ITEMS[i].title
        + (" (special category)" if DATA_ITEMS[i].special_category else "")
        + (" (criminal offence data)" if DATA_ITEMS[i].criminal_offence else "")
        for i in a.data_items
    ]
    return [
        {
            "heading": "Purpose and parties",
            "rows": [
                row("Reference", a.reference),
                row("Summary", a.summary),
                row("Purposes", ", ".join(PURPOSES[p].title for p in a.purposes)),
                row("Parties", parties, "parties"),
                row("Direction", DIRECTION_TITLES.get(flow, flow)),
                row(
                    "Sharing",
                    "Proactive bulk sharing (match runs)" if a.bulk else "Answers to checks only",
                ),
                row("Frequency", a.frequency, "frequency"),
            ],
        },
        {
            "heading": "Lawfulness, necessity and accountability",
            "rows": [
                row(
                    "Legal gateway",
                    f"{a.legal_gateway_statute} {a.legal_gateway_section}".strip(),
                    "legal_gateway_statute",
                ),
                row("Lawful basis (UK GDPR Article 6)", a.lawful_basis, "lawful_basis"),
                row("Art 9/10 condition", a.special_category_condition),
                row(
                    "DPIA",
                    f"{a.dpia_reference}, {a.dpia_date:%d %B %Y}"
                    if a.dpia_reference and a.dpia_date
                    else a.dpia_reference,
                    "dpia_reference",
                ),
                row("Necessity and proportionality", a.necessity_statement, "necessity_statement"),
                row("Decision-maker", a.decision_maker, "decision_maker"),
            ],
        },
        {
            "heading": "Data shared",
            "rows": [
                row("Data items", items, "data_items"),
                row("Data standards and accuracy", a.data_standards, "data_standards"),
                row("Volume limit per day", a.limit_per_day, "limit_per_day"),
                row("Volume limit per run", a.limit_per_run),
            ],
        },
        {
            "heading": "Individuals' rights and security",
            "rows": [
                row("Individuals' rights", a.rights_handling, "rights_handling"),
                row("Single point of contact", a.contact_point, "contact_point"),
                row("Retention and deletion", a.retention, "retention"),
                row(
                    "Retention rules (enforced)",
                    "; ".join(
                        f"{ALL_KINDS[k].title}: {v}" for k, v in (a.retention_rules or {}).items()
                    ),
                    "retention_rules",
                ),
                row("Security measures", a.security_measures, "security_measures"),
            ],
        },
        {
            "heading": "Dates, review and ending",
            "rows": [
                row("Start date", a.start_date, "start_date"),
                row("End date", a.end_date),
                row("Review date", a.review_date, "review_date"),
                row("Termination procedure", a.termination_procedure, "termination_procedure"),
                row("Duty to tell partners of amendments", a.amendment_duty, "amendment_duty"),
            ],
        },
    ]


def _agreement_for(session: Session, reference: str, user: Any) -> Agreement:
    service = AgreementService(session)
    agreement = service.resolve(reference, user.principal if user else None)
    if agreement.state == AgreementState.DRAFT and user is None:
        raise NotFound(f"agreement {reference} not found")  # drafts are not public
    return agreement


ACTIONS = {
    # action: (button text, states where offered, needs a reason)
    "activate": ("Sign off and activate", {AgreementState.DRAFT}, False),
    "pause": ("Pause", {AgreementState.ACTIVE}, True),
    "resume": ("Resume", {AgreementState.PAUSED}, False),
    "review": (
        "Record a review",
        {AgreementState.ACTIVE, AgreementState.PAUSED, AgreementState.DRAFT},
        False,
    ),
    "end": ("End", {AgreementState.DRAFT, AgreementState.ACTIVE, AgreementState.PAUSED}, True),
}


def _detail(
    request: Request,
    session: Session,
    agreement: Agreement,
    user: Any,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    signed_in = user is not None
    timeline = [
        {
            "title": ACTION_TITLES.get(e.action, e.action.capitalize()),
            "by": user_name(session, e.actor_id) if signed_in else None,
            "at": e.at,
            "reason": e.reason,
            "to_state": e.to_state,
        }
        for e in reversed(agreement.events)
    ]
    officer = bool(user and user.has(Role.GOVERNANCE_OFFICER))
    actions = [
        {"action": k, "text": v[0]}
        for k, v in ACTIONS.items()
        if officer and agreement.state in v[1]
    ]
    signed_off_by = user_name(session, agreement.signed_off_by) if agreement.signed_off_by else None
    return render(
        request,
        "console/agreement.html",
        status_code=status_code,
        title=agreement.title,
        agreement=agreement,
        sections=checklist(session, agreement),
        missing=missing_items(agreement, operator_ids(session)),
        timeline=timeline,
        actions=actions,
        status_tag=STATUS_TAG,
        review_lapsed=agreement.review_lapsed(today()),
        in_force=agreement.in_force(today()),
        signed_off_by=signed_off_by
        if signed_in
        else ("a governance officer" if signed_off_by else None),
        **extra,
    )


@router.get("/agreements/{reference}", response_class=HTMLResponse)
def agreement_detail(
    reference: str, request: Request, user: MaybeUser, session: SessionDep
) -> Response:
    return _detail(request, session, _agreement_for(session, reference, user), user)


def _missing(agreement: Agreement) -> list[str]:
    session = Session.object_session(agreement)
    return missing_items(agreement, operator_ids(session) if session else frozenset())


def _action_page(
    request: Request,
    agreement: Agreement,
    action: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    text, _states, needs_reason = ACTIONS[action]
    return render(
        request,
        "console/agreement_action.html",
        status_code=status_code,
        title=f"{text}: {agreement.reference}",
        agreement=agreement,
        action=action,
        action_text=text,
        needs_reason=needs_reason,
        errors=errors or {},
        values=values or {},
        missing=_missing(agreement) if action == "activate" else [],
    )


@router.get("/agreements/{reference}/{action}", response_class=HTMLResponse)
def agreement_action_form(
    reference: str, action: str, request: Request, session: SessionDep, user: Officer
) -> Response:
    if action not in ACTIONS:
        raise NotFound("page not found")
    agreement = _agreement_for(session, reference, user)
    return _action_page(request, agreement, action)


@router.post("/agreements/{reference}/{action}", response_class=HTMLResponse)
def agreement_action(
    reference: str, action: str, request: Request, form: Form, session: SessionDep, user: Officer
) -> Response:
    if action not in ACTIONS:
        raise NotFound("page not found")
    service = AgreementService(session)
    agreement = _agreement_for(session, reference, user)
    reason = field(form, "reason")
    values = {k: field(form, k) for k in ("reason", "review-day", "review-month", "review-year")}
    errors: dict[str, str] = {}
    if ACTIONS[action][2] and not reason:
        errors["reason"] = f"Enter a reason to {ACTIONS[action][0].lower()} this agreement"
    next_review = date_field(form, "review") if action == "review" else None
    if action == "review" and next_review is None:
        errors["review"] = "Enter the next review date as a real date, for example 27 3 2027"
    if errors:
        return _action_page(request, agreement, action, 422, errors, values)
    try:
        if action == "review":
            assert next_review is not None
            service.review(agreement.id, next_review, user.principal, reason)
        else:
            service.transition(agreement.id, action, user.principal, reason)
    except (InvalidInput, Conflict, Forbidden) as exc:
        settle(session, exc)
        key = (
            "review"
            if exc.field == "next_review_date"
            else ("reason" if exc.field == "reason" else "action")
        )
        errors[key] = _sentence(exc.detail)
        return _action_page(request, agreement, action, 422, errors, values)
    done = {
        "activate": "signed off and activated",
        "pause": "paused",
        "resume": "resumed",
        "end": "ended",
        "review": "reviewed",
    }[action]
    flash(request, f"Agreement {agreement.reference} {done}")
    return RedirectResponse(f"/agreements/{agreement.reference}", status_code=303)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


# sign in / out -----------------------------------------------------------------------------
@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, user: MaybeUser, session: SessionDep) -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    if request.app.state.settings.staff_method == "oidc":
        return _to_provider(request, session, _safe_next(request.query_params.get("next")))
    return render(
        request,
        "console/sign_in.html",
        title="Sign in",
        errors={},
        values={},
        next=_safe_next(request.query_params.get("next")),
        expired=request.query_params.get("expired") == "1",
        demo=request.app.state.settings.mode == "demo",
    )


@router.get("/.well-known/jwks.json")
def client_jwks(request: Request) -> JSONResponse:
    """The public keys shareguard signs its client assertions with (``private_key_jwt``), for
    a provider that reads a ``jwks_uri``: the person's client and the staff client, each only
    when that sign-in goes through a provider (and, for staff, without a client secret)."""
    settings = request.app.state.settings
    clients: list[str] = []
    if settings.person_method == "oidc" and settings.person_oidc_client_id:
        clients.append("person")
    staff_key = settings.staff_oidc_client_id and not settings.staff_oidc_client_secret
    if settings.staff_method == "oidc" and staff_key:
        clients.append("staff")
    return JSONResponse(
        public_jwks(settings.key_dir, tuple(clients)), headers={"Cache-Control": "max-age=300"}
    )


# Staff sign in through the department's OpenID provider (SHAREGUARD_STAFF_SIGN_IN=oidc).
OIDC_STATE = "oidc_staff"


def _callback_uri(request: Request) -> str:
    return provider.callback_uri(request, "/sign-in/callback")


def _to_provider(request: Request, session: Session, next_url: str) -> Response:
    """Send the browser to the staff provider's authorisation endpoint (found by discovery)."""
    service = StaffOidcSignIn(session, request.app.state.settings)
    if not service.configured:
        raise Unavailable("signing in is not available here; no sign-in provider is configured")
    if len(next_url) > 500:  # kept with the pending request; a longer one goes home instead
        next_url = "/console"
    return provider.to_provider(
        request,
        session,
        OIDC_STATE,
        lambda: service.begin(_callback_uri(request), next_url),
        lambda exc: _staff_sign_in_failed(request, exc),
    )


@router.get("/sign-in/callback", response_class=HTMLResponse)
def sign_in_callback(request: Request, session: SessionDep) -> Response:
    """The staff provider's answer: signs the user in with the roles their claims map to."""
    if request.app.state.settings.staff_method != "oidc":
        raise NotFound("page not found")
    got = provider.answer(request, OIDC_STATE)
    try:
        user_id, next_url = StaffOidcSignIn(session, request.app.state.settings).complete(
            got.state, got.browser_state, got.code, _callback_uri(request), error=got.error
        )
    except SignInFailed as exc:
        settle(session, exc)
        return _staff_sign_in_failed(request, exc)
    sign_in(request, session, user_id)
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    response.set_cookie(
        SIGNED_IN_MARKER, "1", max_age=30 * 24 * 3600, httponly=True, samesite="lax"
    )
    return response


def _staff_sign_in_failed(request: Request, exc: SignInFailed) -> Response:
    return render(
        request,
        "console/sign_in_refused.html",
        status_code=exc.status,
        title=exc.title,
        heading=exc.title,
        detail=_sentence(exc.detail),
        reference=exc.reference,
        refused=isinstance(exc, StaffRefused),
    )


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in_submit(request: Request, form: Form, session: SessionDep) -> Response:
    if request.app.state.settings.staff_method != "password":
        # Staff sign in through the department's provider: no password is ever checked.
        raise NotFound("page not found")
    email, password = field(form, "email"), form.get("password")
    next_url = _safe_next(field(form, "next"))
    errors: dict[str, str] = {}
    status = 401
    if not email:
        errors["email"] = "Enter your email address"
    if not isinstance(password, str) or not password:
        errors["password"] = "Enter your password"
    if not errors:
        try:
            user = StaffSignIn(session, request.app.state.settings.secret_key).authenticate(
                email, str(password), client_address(request)
            )
        except Unauthenticated:
            errors["email"] = "Enter a correct email address and password"
        except RateLimited as exc:
            errors["email"] = exc.detail[:1].upper() + exc.detail[1:]
            status = 429
        else:
            sign_in(request, session, user.id)
            response = RedirectResponse(next_url, status_code=303)
            response.set_cookie(
                SIGNED_IN_MARKER, "1", max_age=30 * 24 * 3600, httponly=True, samesite="lax"
            )
            return response
    return render(
        request,
        "console/sign_in.html",
        status_code=status,
        title="Sign in",
        errors=errors,
        values={"email": email},
        next=next_url,
        expired=False,
        demo=request.app.state.settings.mode == "demo",
    )


@router.post("/sign-out")
def sign_out(request: Request, form: Form, session: SessionDep) -> Response:
    end_session(request, session, STAFF_SLOT)
    end_session(request, session, PERSON_SLOT)
    request.session.clear()
    flash(request, "You have signed out")
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SIGNED_IN_MARKER)
    return response


# home, help --------------------------------------------------------------------------------
#: One line under each navigation link on the home page, so a new user knows where to go.
NAV_HINTS = {
    "/agreements": "The register of data-sharing agreements: checklist, sign-off, pauses, reviews.",
    "/governance/firewall": "Rules no agreement can override, and pauses on sharing.",
    "/governance/audit": "Every decision and disclosure, with signed checkpoints and proofs.",
    "/governance/reports": "Volumes, errors and corrections per agreement, with charts and tables.",
    "/governance/quality": "Data-quality findings to assign and resolve before data is shared.",
    "/casework/people": "Find a person; record decisions and status; correct a record.",
    "/casework/contests": "Referrals from checks and results a person has contested.",
    "/casework/watchlist": "Watch-list entries waiting for a second caseworker to verify.",
    "/review": "Candidate matches to decide before any adverse action can be reported.",
    "/checks/new": "Check a person's status with a share code or their details.",
    "/notices": "Corrections to data you received, to acknowledge once you have fixed it.",
    "/matches": "Results of bulk matching runs, and reporting an action you took.",
    "/credentials/verify": "Check a digital status credential a person has shown you.",
    "/casework/requests": "Ask a partner for information about a person, and read its answer.",
    "/casework/inbound": "Information partners sent in, to check and verify (four eyes).",
    "/governance/requests": "Requests to partners the firewall, a pause or a limit refused.",
    "/requests": "The Home Office's requests for information, to answer by their deadline.",
    "/inbound/new": "Send records to the Home Office under an agreement, one file at a time.",
}


def _waiting(user: ConsoleUser, session: Session) -> list[dict[str, Any]]:
    """Work waiting for this user, one line per queue they look after (omitting empty ones)."""
    items: list[dict[str, Any]] = []
    if user.has(Role.CASEWORKER):
        n = CaseService(session).count_cases(user.principal, state="open")
        items.append(
            _queue(
                n, "open referral or contest", "open referrals and contests", "/casework/contests"
            )
        )

        # Four eyes: a caseworker's own proposals are not theirs to verify.
        n = WatchlistService(session).counts(not_proposed_by=user.id)[EntryState.PROPOSED]
        items.append(
            _queue(
                n,
                "watch-list entry to verify",
                "watch-list entries to verify",
                "/casework/watchlist",
            )
        )
    if user.has(Role.REVIEWER):
        _, n = ReviewService(session).queue(user.principal, limit=1)
        items.append(
            _queue(n, "candidate match to review", "candidate matches to review", "/review")
        )
    if user.has(Role.GOVERNANCE_OFFICER, Role.CASEWORKER, Role.REVIEWER):
        n = QualityService(session).count_findings(user.principal, owner_id=user.id)
        items.append(
            _queue(
                n,
                "data-quality finding assigned to you",
                "data-quality findings assigned to you",
                "/governance/quality?owner=me",
            )
        )
    if user.has(Role.CASEWORKER):
        n = InboundService(session).count_records(user.principal, state="unverified")
        items.append(
            _queue(
                n,
                "record of inbound information to check",
                "records of inbound information to check",
                "/casework/inbound",
            )
        )
    if user.has(Role.PARTNER_USER):
        n = NoticeService(session).count_notices(user.principal, open_only=True)
        items.append(_queue(n, "notice to acknowledge", "notices to acknowledge", "/notices"))

        n = RequestService(session).count(user.principal, state="open")
        items.append(_queue(n, "request for information", "requests for information", "/requests"))
    return [i for i in items if i["count"]]


def _queue(n: int, one: str, many: str, href: str) -> dict[str, Any]:
    return {"count": n, "text": f"{n:,} {one if n == 1 else many}", "href": href}


@router.get("/console", response_class=HTMLResponse)
def home(request: Request, user: User, session: SessionDep) -> Response:
    service = AgreementService(session)
    on = today()
    found, _ = service.find(user.principal, limit=10_000)
    soon = on + timedelta(days=30)
    due = [
        a
        for a in found
        if a.state in {AgreementState.ACTIVE, AgreementState.PAUSED}
        and a.review_date
        and a.review_date <= soon
    ]
    drafts = [a for a in found if a.state == AgreementState.DRAFT]
    counts: dict[str, int] = {}
    for a in found:
        counts[a.state] = counts.get(a.state, 0) + 1
    return render(
        request,
        "console/home.html",
        title="Home",
        counts=counts,
        due=due,
        drafts=drafts,
        on=on,
        status_tag=STATUS_TAG,
        Role=Role,
        hints=NAV_HINTS,
        waiting=_waiting(user, session),
    )


@router.get("/help", response_class=HTMLResponse)
def help_page(request: Request) -> Response:
    return render(
        request,
        "console/help.html",
        title="How this service works",
        purposes=list(PURPOSES.values()),
    )


@router.get("/accessibility", response_class=HTMLResponse)
def accessibility(request: Request) -> Response:
    return render(request, "console/accessibility.html", title="Accessibility statement")
