"""The person-facing service, "View and manage your immigration data", under /my/.

Plain English, GOV.UK patterns: a start page, sign-in with a one-time code (sent through
the configured sign-in route; shown on screen only in demo mode, as a demo convenience), the
person's status, share codes, who checked their data, contesting a check result, and corrections.
"""

from __future__ import annotations

import importlib.util
import secrets
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from unidecode import unidecode

from shareguard.accounts.principal import Principal
from shareguard.agreements.catalogue import PURPOSES
from shareguard.audit.service import AuditService
from shareguard.checks import CaseService
from shareguard.corrections import NoticeService
from shareguard.corrections.requests import CorrectionRequestService
from shareguard.errors import Conflict, InvalidInput, NotFound, RateLimited, Unavailable
from shareguard.signin import CodeResult, CodeSender, SignInService, Verified
from shareguard.signin.oidc import SignInFailed
from shareguard.signin.person import NoRecord, PersonSignIn
from shareguard.signin.staff import audit_sign_in
from shareguard.signin.throttle import Throttle
from shareguard.status import sharecodes
from shareguard.status.service import SHARE_CODE_PURPOSES, StatusService
from shareguard.storage.base import utcnow
from shareguard.storage.db import settle
from shareguard.web.console import provider
from shareguard.web.console.render import PERSON_SERVICE_NAME, render
from shareguard.web.console.security import Form, PersonSignInRequired, date_field, field, flash
from shareguard.web.deps import (
    PERSON_SLOT,
    SessionDep,
    client_address,
    end_session,
    signed_in_person,
    start_session,
)

router = APIRouter(prefix="/my", include_in_schema=False)

STATUS_TITLES = {
    "settled": "Settled status (indefinite leave to remain)",
    "pre_settled": "Pre-settled status (limited leave to remain)",
    "limited_leave": "Limited leave to remain",
    "no_leave": "No current permission to stay",
}
ACTION_TITLES = {
    "check.share_code": "Checked with a share code",
    "check.attributes": "Checked using your details",
    "check.contest": "You contested a result",
    "check.case_closed": "A caseworker answered a referral or contest",
    "disclosure.match_result": "Matched against a list under an agreement",
    "disclosure.check_answer": "Checked your status",
    "disclosure.request": "The Home Office asked another organisation for information about you",
    "disclosure.answer": "An organisation answered a request for information about you",
    "disclosure.inbound": "An organisation sent information about you to the Home Office",
    "policy.deny": "A request to share your data was refused",
    "exchange.not_held": "An organisation said it holds no such information about you",
    "exchange.decline": "An organisation refused a request for information about you",
    "exchange.inbound_propose": "A caseworker checked information sent about you",
    "exchange.inbound_verify": "A second caseworker verified information sent about you",
    "exchange.inbound_dismiss": "A caseworker dismissed information sent about you",
    "correction.request": "A correction was requested",
    "correction.apply": "Your record was corrected",
    "correction.notice": "An organisation was told about a correction",
    "correction.acknowledge": "An organisation confirmed it corrected its records",
    "correction.request.close": "A caseworker answered your correction request",
    "matching.review": "A reviewer decided whether a match was you",
    "matching.adverse_action": "An organisation reported acting on a match",
    "credential.issue": "A digital status credential was issued",
    "credential.verify": "Your digital status credential was checked",
    "credential.revoke": "A digital status credential was revoked",
    "person.lock.set": "You locked checks by name and date of birth",
    "person.lock.clear": "You unlocked checks by name and date of birth",
    "quality.suspend": "Sharing paused while a data-quality problem is looked into",
    "quality.resume": "Sharing resumed after a data-quality problem was resolved",
    "disclosure.credential": "Your status was put in a digital status credential",
    "share_code.create": "A share code was created",
    "share_code.revoke": "A share code was cancelled",
    "signin.success": "You signed in",
    "signin.link": "Your GOV.UK One Login was linked to your record",
    "signin.failure": "Someone entered a wrong security code for you",
}
#: Outcomes of the door's other way, said as what happened to the person's data.
FLOW_OUTCOMES = {
    ("disclosure.request", "permit"): "Request sent to the organisation",
    ("disclosure.answer", "permit"): "Answer received by the Home Office",
    ("disclosure.inbound", "permit"): "Received by the Home Office, not yet checked",
}

OUTCOME_TITLES = {
    "confirmed": "Confirmed",
    "not_confirmed": "Not confirmed",
    "referred": "Referred to a caseworker",
    "no_match": "No match",
    "permit": "Answer shared",
    "deny": "Refused: nothing was shared",
}


def available(module: str) -> bool:
    """True once a capability's service has landed (pages for it are offered then)."""

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def person_principal(request: Request, session: SessionDep) -> Principal:
    """The person signed in to this service (a live server-side session), as a principal."""
    person_id = signed_in_person(request, session)
    if person_id is None:
        raise PersonSignInRequired("sign in to see your immigration data")
    return Principal(organisation_id=None, person_id=person_id)


Me = Annotated[Principal, Depends(person_principal)]


def _nav(request: Request, signed_in: bool) -> list[dict[str, Any]]:
    if not signed_in:
        return []
    items = [("Your data", "/my/account"), ("Share codes", "/my/share-codes")]
    if available("shareguard.audit.service"):
        items.append(("Who checked your data", "/my/checks"))
    if available("shareguard.checks.service"):
        items.append(("Contest a result", "/my/contest"))
    if available("shareguard.corrections.service"):
        items.append(("Corrections", "/my/corrections"))
    if available("shareguard.credentials.service"):
        items += [("Credentials", "/my/credentials"), ("Locks", "/my/locks")]
    path = request.url.path
    return [{"text": t, "href": h, "active": path.startswith(h)} for t, h in items]


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    # For the header only; every page that shows data checks the server-side session.
    signed_in = bool(request.session.get(PERSON_SLOT))
    return render(
        request,
        template,
        status_code=status_code,
        serviceName=PERSON_SERVICE_NAME,
        serviceUrl="/my/account" if signed_in else "/my/",
        navigation=_nav(request, signed_in),
        signOutAction="/my/sign-out" if signed_in else None,
        person_signed_in=signed_in,
        **context,
    )


def _sign_in_route(request: Request) -> CodeSender | None:
    """The configured code sender; None in demo mode without one (the code goes on screen).

    Outside demo mode, without a configured route, signing in is refused outright; where
    the person signs in through an OpenID provider, the code pages do not exist.
    """
    if request.app.state.settings.person_method == "oidc":
        raise NotFound("this service signs people in through GOV.UK One Login")
    sender: CodeSender | None = request.app.state.code_sender
    if sender is None and request.app.state.settings.mode != "demo":
        raise Unavailable(
            "signing in to this service is not available here; no sign-in route is configured"
        )
    return sender


def _codes(request: Request, session: Any) -> SignInService:
    return SignInService(session, request.app.state.settings.secret_key)


# start and sign-in ------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def start(request: Request) -> Response:
    one_login = request.app.state.settings.person_method == "oidc"
    return page(request, "my/start.html", title=PERSON_SERVICE_NAME, one_login=one_login)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, session: SessionDep) -> Response:
    if signed_in_person(request, session):
        return RedirectResponse("/my/account", status_code=303)
    if request.app.state.settings.person_method == "oidc":
        return _to_provider(request, session)
    _sign_in_route(request)
    return page(
        request,
        "my/sign_in.html",
        title="Tell us who you are",
        errors={},
        values={},
        examples=_demo_people(request, session),
        expired=request.query_params.get("expired") == "1",
    )


def _demo_people(request: Request, session: Any) -> list[dict[str, str]]:
    """In demo mode only: a few synthetic people to sign in as, so a new user can try it."""
    if request.app.state.settings.mode != "demo":
        return []
    out = []
    for person in StatusService(session).list_persons(limit=20):
        name = person.primary_name()
        if name and person.documents and name.given:
            out.append(
                {
                    "given": name.given,
                    "family": name.family,
                    "dob": person.date_of_birth.strftime("%-d %-m %Y"),
                    "document": person.documents[0].number,
                }
            )
        if len(out) == 3:
            break
    return out


def _same(a: str, b: str) -> bool:

    return unidecode(a).casefold().strip() == unidecode(b).casefold().strip()


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in_submit(request: Request, form: Form, session: SessionDep) -> Response:
    sender = _sign_in_route(request)
    values = {
        k: field(form, k)
        for k in ("given", "family", "document", "dob-day", "dob-month", "dob-year")
    }
    errors: dict[str, str] = {}
    if not values["family"]:
        errors["family"] = "Enter your family name"
    dob = date_field(form, "dob")
    if dob is None:
        errors["dob"] = "Enter your date of birth as a real date, for example 27 3 1990"
    if not values["document"]:
        errors["document"] = "Enter the number of your passport or residence document"
    person_id = None
    throttle = Throttle(session, request.app.state.settings.secret_key)
    wanted = "".join(ch for ch in values["document"].upper() if ch.isalnum())
    account = throttle.key("document", wanted)
    address = throttle.key("address", client_address(request))
    if not errors:
        try:
            throttle.check(account, address)
        except RateLimited as exc:
            errors["family"] = exc.detail[:1].upper() + exc.detail[1:]
            return _details_page(request, session, values, errors, 429)
    if not errors and dob is not None:
        found = sorted(
            {
                person.id
                for person in StatusService(session).candidates(
                    values["given"], values["family"], dob, values["document"]
                )
                if person.date_of_birth == dob
                and any(d.number == wanted for d in person.documents)
                and any(_same(n.family, values["family"]) for n in person.names)
            },
            key=str,
        )
        if len(found) == 1:
            person_id = found[0]
        elif found:
            # Several records hold these details: signing in to either could show the person
            # someone else's record, so none is chosen. A caseworker sorts out the records.
            return _several_records(request, session, found, throttle.failed(account, address))
        else:
            # The same words whichever detail was wrong.
            errors["family"] = "We could not find you with those details. Check them and try again"
            failures = throttle.failed(account, address)
            audit_sign_in(session, ok=False, kind="person_details", failures=failures)
    if errors:
        return _details_page(request, session, values, errors, 422)
    assert person_id is not None
    throttle.succeeded(account)
    challenge, code = _codes(request, session).start(person_id)
    end_session(request, session, PERSON_SLOT)
    # The browser holds only the challenge's id: the code and its tries live server-side.
    request.session["otp"] = str(challenge)
    if sender is not None:
        sender.send(person_id, code)
        return RedirectResponse("/my/sign-in/code", status_code=303)
    # Demo mode only: the code is shown once, on this answer, and kept nowhere.
    return page(
        request, "my/code.html", title="Enter your security code", errors={}, demo_code=code
    )


def _several_records(
    request: Request, session: Any, records: list[uuid.UUID], failures: int
) -> Response:
    """Details that match more than one record sign in to none: the person is sent to a
    caseworker with a reference that finds this refusal's audit entry (the records' ids, never
    what was typed). The page says no more than that these details cannot sign in online: not
    how many records there are, which signing in to one record would not have told."""
    reference = f"{secrets.token_hex(2)}-{secrets.token_hex(2)}".upper()
    audit_sign_in(
        session,
        ok=False,
        kind="person_details",
        details={
            "reason": "several_records",
            "reference": reference,
            "records": [str(r) for r in records],
            "failures": failures,
        },
    )
    return page(
        request,
        "my/no_record.html",
        status_code=409,
        title="We cannot sign you in online",
        reference=reference,
        via="details",
    )


def _details_page(
    request: Request, session: Any, values: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    return page(
        request,
        "my/sign_in.html",
        status_code=status,
        title="Tell us who you are",
        errors=errors,
        values=values,
        examples=_demo_people(request, session),
        expired=False,
    )


def _challenge(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request.session.get("otp")))
    except ValueError:
        return None


@router.get("/sign-in/code", response_class=HTMLResponse)
def code_page(request: Request) -> Response:
    _sign_in_route(request)
    if _challenge(request) is None:
        return RedirectResponse("/my/sign-in", status_code=303)
    return page(request, "my/code.html", title="Enter your security code", errors={})


@router.post("/sign-in/code", response_class=HTMLResponse)
def code_submit(request: Request, form: Form, session: SessionDep) -> Response:
    _sign_in_route(request)
    challenge = _challenge(request)
    sent = "".join(ch for ch in field(form, "code") if ch.isdigit())[:6]
    throttle = Throttle(session, request.app.state.settings.secret_key)
    address = throttle.key("address", client_address(request))
    throttle.check(None, address)  # each code counts its own tries; this bounds an address
    verified = (
        _codes(request, session).verify(challenge, sent)
        if challenge is not None
        else Verified(CodeResult.EXPIRED)
    )
    if verified.result != CodeResult.SIGNED_IN and challenge is not None:
        failures = throttle.failed(None, address)
        if verified.person_id is not None:
            audit_sign_in(
                session,
                ok=False,
                kind="person_code",
                person_id=verified.person_id,
                failures=failures,
            )
    if verified.result == CodeResult.EXPIRED:
        request.session.pop("otp", None)
        return page(
            request, "my/code_expired.html", status_code=410, title="Your security code has expired"
        )
    if verified.result == CodeResult.WRONG:
        message = (
            "Enter the 6-digit security code"
            if not sent
            else "The security code is not correct. Check it and try again"
        )
        return page(
            request,
            "my/code.html",
            status_code=422,
            title="Enter your security code",
            errors={"code": message},
        )
    request.session.pop("otp", None)
    assert verified.person_id is not None
    start_session(request, session, person_id=verified.person_id)
    audit_sign_in(session, ok=True, kind="person", person_id=verified.person_id)
    return RedirectResponse("/my/account", status_code=303)


# sign-in through GOV.UK One Login (or a provider in its shape) ---------------------------
OIDC_STATE = "oidc_person"


def _callback_uri(request: Request) -> str:
    return provider.callback_uri(request, "/my/sign-in/callback")


def _to_provider(request: Request, session: Any) -> Response:
    """Send the browser to the provider's authorisation endpoint (found by discovery)."""
    service = PersonSignIn(session, request.app.state.settings)
    if not service.configured:
        raise Unavailable(
            "signing in to this service is not available here; no sign-in provider is configured"
        )
    return provider.to_provider(
        request,
        session,
        OIDC_STATE,
        lambda: service.begin(_callback_uri(request)),
        lambda exc: _sign_in_failed(request, exc),
    )


@router.get("/sign-in/callback", response_class=HTMLResponse)
def sign_in_callback(request: Request, session: SessionDep) -> Response:
    """The provider's answer: signs the person in to their record, or says why not."""
    if request.app.state.settings.person_method != "oidc":
        raise NotFound("this service does not sign people in through GOV.UK One Login")
    got = provider.answer(request, OIDC_STATE)
    service = PersonSignIn(session, request.app.state.settings)
    try:
        person_id = service.complete(
            got.state, got.browser_state, got.code, _callback_uri(request), error=got.error
        )
    except SignInFailed as exc:
        settle(session, exc)
        return _sign_in_failed(request, exc)
    end_session(request, session, PERSON_SLOT)
    start_session(request, session, person_id=person_id)
    return RedirectResponse("/my/account", status_code=303)


def _sign_in_failed(request: Request, exc: SignInFailed) -> Response:
    if isinstance(exc, NoRecord):
        return page(
            request,
            "my/no_record.html",
            status_code=exc.status,
            title="We could not find your record",
            reference=exc.reference,
        )
    return page(
        request,
        "my/sign_in_failed.html",
        status_code=exc.status,
        title="Sign-in did not work",
        detail=exc.detail[:1].upper() + exc.detail[1:],
        reference=exc.reference,
    )


@router.post("/sign-out")
def sign_out(request: Request, form: Form, session: SessionDep) -> Response:
    end_session(request, session, PERSON_SLOT)
    for key in ("otp", "new_code"):
        request.session.pop(key, None)
    return RedirectResponse("/my/signed-out", status_code=303)


@router.get("/signed-out", response_class=HTMLResponse)
def signed_out(request: Request) -> Response:
    return page(request, "my/signed_out.html", title="You have signed out")


# the person's data ------------------------------------------------------------------------
def _status_view(status: Any) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "title": STATUS_TITLES.get(status.kind, status.kind),
        "kind": status.kind,
        "valid_from": status.valid_from,
        "valid_to": status.valid_to,
        "work": (
            "Yes, with conditions: " + status.work_conditions if status.work_conditions else "Yes"
        )
        if status.may_work
        else "No",
        "rent": "Yes" if status.may_rent else "No",
        "study": "Yes" if status.may_study else "No",
        "public_funds": "Yes" if status.public_funds else "No",
    }


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None
    service = StatusService(session)
    person = service.person(me.person_id)
    codes = service.share_codes(me.person_id, me)
    now = utcnow()
    live = [c for c in codes if c.revoked_at is None and c.expires_at > now]
    name = person.primary_name()
    return page(
        request,
        "my/account.html",
        title="Your immigration data",
        name=name.full if name else "",
        status=_status_view(service.current_status(me.person_id)),
        live_codes=len(live),
        nav=_nav(request, True),
    )


@router.get("/status", response_class=HTMLResponse)
def status(request: Request, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None
    service = StatusService(session)
    history = [
        _status_view(s) | {"recorded_at": s.recorded_at, "reason": s.reason}  # type: ignore[operator]
        for s in reversed(service.status_history(me.person_id))
    ]
    return page(
        request,
        "my/status.html",
        title="Your immigration status",
        status=_status_view(service.current_status(me.person_id)),
        history=history,
    )


# share codes ------------------------------------------------------------------------------
def _code_rows(codes: list[Any]) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for c in reversed(codes):
        state = "revoked" if c.revoked_at else ("expired" if c.expires_at <= now else "active")
        rows.append(
            {
                "id": c.id,
                "purpose": PURPOSES[c.purpose].title,
                "hint": c.hint,
                "expires_at": c.expires_at,
                "created_at": c.created_at,
                "state": state,
            }
        )
    return rows


@router.get("/share-codes", response_class=HTMLResponse)
def share_codes(request: Request, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None
    rows = _code_rows(StatusService(session).share_codes(me.person_id, me))
    return page(request, "my/share_codes.html", title="Your share codes", rows=rows)


def purpose_items(selected: str = "") -> list[dict[str, Any]]:
    return [
        {
            "value": code,
            "text": PURPOSES[code].title,
            "checked": code == selected,
            "hint": {"text": PURPOSES[code].question},
        }
        for code in SHARE_CODE_PURPOSES
    ]


@router.get("/share-codes/new", response_class=HTMLResponse)
def new_share_code(request: Request, me: Me) -> Response:
    return page(
        request,
        "my/share_code_new.html",
        title="What do you need to prove?",
        errors={},
        items=purpose_items(),
    )


@router.post("/share-codes/new", response_class=HTMLResponse)
def create_share_code(request: Request, form: Form, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None
    purpose = field(form, "purpose")
    if purpose not in SHARE_CODE_PURPOSES:
        return page(
            request,
            "my/share_code_new.html",
            status_code=422,
            title="What do you need to prove?",
            errors={"purpose": "Select what you need to prove"},
            items=purpose_items(),
        )
    row, code = StatusService(session).create_share_code(me.person_id, purpose, me)
    request.session["new_code"] = {
        "code": sharecodes.display(code),
        "purpose": purpose,
        "expires": row.expires_at.date().isoformat(),
    }
    return RedirectResponse("/my/share-codes/created", status_code=303)


@router.get("/share-codes/created", response_class=HTMLResponse)
def share_code_created(request: Request, me: Me) -> Response:
    new = request.session.pop("new_code", None)
    if not isinstance(new, dict):
        return RedirectResponse("/my/share-codes", status_code=303)
    return page(
        request,
        "my/share_code_created.html",
        title="Your share code",
        code=new["code"],
        purpose=PURPOSES[new["purpose"]],
        expires=date.fromisoformat(new["expires"]),
    )


@router.post("/share-codes/{code_id}/revoke", response_class=HTMLResponse)
def revoke_share_code(
    code_id: uuid.UUID, request: Request, form: Form, me: Me, session: SessionDep
) -> Response:
    assert me.person_id is not None
    row = StatusService(session).revoke_share_code(me.person_id, code_id, me)
    flash(
        request,
        f"Share code ending {row.hint} cancelled",
        "Nobody can use it to check your status any more.",
    )
    return RedirectResponse("/my/share-codes", status_code=303)


# who checked my data ------------------------------------------------------------------------
@router.get("/checks", response_class=HTMLResponse)
def checks(request: Request, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None

    items = AuditService(session, request.app.state.settings).access_log(me.person_id, me)
    rows = [
        {
            "at": i.at,
            "what": ACTION_TITLES.get(i.action or "", (i.action or "").replace(".", " ")),
            "organisation": i.organisation,
            "flow": f"From {i.discloser} to {i.recipient}" if i.discloser and i.recipient else "",
            "purpose": PURPOSES[i.purpose].title if i.purpose in PURPOSES else i.purpose,
            "agreement": i.agreement_reference,
            "gateway": i.legal_gateway,
            "statutory": i.purpose in PURPOSES and PURPOSES[i.purpose].statutory,
            "outcome": FLOW_OUTCOMES.get(
                (i.action or "", i.outcome or ""), OUTCOME_TITLES.get(i.outcome or "", i.outcome)
            ),
            "withheld": i.withheld,
            "deleted": i.deleted,
        }
        for i in reversed(items)
    ]
    return page(request, "my/checks.html", title="Who checked your data", rows=rows)


# contest ----------------------------------------------------------------------------------
@router.get("/contest", response_class=HTMLResponse)
def contest_form(request: Request, me: Me) -> Response:
    return page(
        request,
        "my/contest.html",
        title="Contest a check result",
        errors={},
        values={"reference": request.query_params.get("reference", "")},
    )


@router.post("/contest", response_class=HTMLResponse)
def contest_submit(request: Request, form: Form, me: Me, session: SessionDep) -> Response:

    values = {"reference": field(form, "reference"), "statement": field(form, "statement")}
    errors: dict[str, str] = {}
    check_id: uuid.UUID | None = None
    try:
        check_id = uuid.UUID(values["reference"])
    except ValueError:
        errors["reference"] = (
            "Enter the check reference you were given, for example "
            "0192f7c4-1a2b-7c3d-8e4f-5a6b7c8d9e0f"
        )
    if not values["statement"]:
        errors["statement"] = "Tell us why you think the result is wrong"
    if not errors and check_id is not None:
        try:
            case = CaseService(session).contest(check_id, me, values["statement"])
        except NotFound as exc:
            settle(session, exc)
            errors["reference"] = "We could not find a check with that reference"
        except (Conflict, InvalidInput) as exc:
            settle(session, exc)
            errors["reference"] = exc.detail[:1].upper() + exc.detail[1:]
        else:
            return page(
                request,
                "my/contest_done.html",
                title="Your contest has been received",
                case_reference=str(case.id),
                respond_by=case.respond_by,
            )
    return page(
        request,
        "my/contest.html",
        status_code=422,
        title="Contest a check result",
        errors=errors,
        values=values,
    )


# corrections ------------------------------------------------------------------------------
@router.get("/corrections", response_class=HTMLResponse)
def corrections(request: Request, me: Me, session: SessionDep) -> Response:
    assert me.person_id is not None

    service = NoticeService(session)
    return page(
        request,
        "my/corrections.html",
        title="Corrections to your record",
        notices=service.person_notices(me.person_id, me),
        told=service.recipients_told(me.person_id, me),
        requests=CorrectionRequestService(session).for_person(me.person_id, me),
    )


@router.get("/corrections/request", response_class=HTMLResponse)
def correction_request_form(request: Request, me: Me) -> Response:
    return page(
        request, "my/correction_request.html", title="Ask for a correction", errors={}, values={}
    )


@router.post("/corrections/request", response_class=HTMLResponse)
def correction_request_submit(
    request: Request, form: Form, me: Me, session: SessionDep
) -> Response:
    assert me.person_id is not None

    values = {
        "what_is_wrong": field(form, "what_is_wrong"),
        "correct_value": field(form, "correct_value"),
    }
    errors: dict[str, str] = {}
    if not values["what_is_wrong"]:
        errors["what_is_wrong"] = "Tell us what is wrong in your record"
    for name in values:
        if len(values[name]) > 2000:
            errors[name] = "Use 2,000 characters or fewer"
    if not errors:
        row = CorrectionRequestService(session).request(
            me.person_id, me, values["what_is_wrong"], values["correct_value"]
        )
        return page(
            request,
            "my/correction_request_done.html",
            title="Request sent",
            reference=str(row.id),
            respond_by=row.respond_by,
        )
    return page(
        request,
        "my/correction_request.html",
        status_code=422,
        title="Ask for a correction",
        errors=errors,
        values=values,
    )
