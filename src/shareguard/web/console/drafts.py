"""A governance officer adds a draft agreement: upload or paste its file, check answers, create.

The file is the one ``shareguard agreements create --file`` reads, parsed by the same code
(``yamlfile.parse_model`` into ``AgreementIn``). The parsed draft travels to the check-answers
page as JSON in a hidden field (too big for the cookie session) and is validated again, in full,
before ``AgreementService.create`` writes anything.
"""

from __future__ import annotations

import uuid
from importlib import resources

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from shareguard.accounts.models import Organisation
from shareguard.agreements.catalogue import DATA_ITEMS, PURPOSES
from shareguard.agreements.direction import operator_ids
from shareguard.agreements.models import Agreement, AgreementParty
from shareguard.agreements.schemas import AgreementIn
from shareguard.agreements.service import AgreementService, missing_items
from shareguard.errors import Conflict, InvalidInput
from shareguard.storage.db import settle
from shareguard.web.console.render import render
from shareguard.web.console.security import Officer, checked_form, field, flash, load_user
from shareguard.web.deps import SessionDep
from shareguard.yamlfile import Problem, line_of, parse_model

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_user)])

#: Largest file or pasted text accepted; agreements are a few KB.
LIMIT = 256 * 1024
LIMIT_TEXT = "256 KB"
#: A request body this big is refused before it is read (the limit plus room for the form).
BODY_LIMIT = LIMIT * 2 + 16 * 1024
#: Problems listed in the error summary; beyond this the list says how many more.
MAX_LISTED = 20
EXAMPLE = "agreement.example.yaml"


def _example() -> str:
    # A copy of docs/agreement.example.yaml inside the package, so installed wheels have it too.
    return (resources.files("shareguard.agreements") / EXAMPLE).read_text(encoding="utf-8")


async def upload_form(request: Request) -> FormData | None:
    """The posted form after its CSRF check, or None if the body is too big to read at all."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > BODY_LIMIT:
        return None
    return await checked_form(request)


def _clip(text: str, size: int) -> str:
    # Messages quote field names and codes from the file: never echo a long run of input.
    return text if len(text) <= size else text[: size - 1] + "…"


def _say(p: Problem) -> str:
    field_part = f"{_clip(p.field, 80)}: " if p.field else ""
    return f"line {p.line}: {field_part}{_clip(p.message, 200)}"


def _form_page(
    request: Request,
    status: int = 200,
    problems: list[str] | None = None,
    source: str = "file",
    text: str = "",
) -> Response:
    problems = problems or []
    anchor = "#agreement-file" if source == "file" else "#agreement-text"
    error_list: list[dict[str, str]] = [{"text": p, "href": anchor} for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        error_list.append({"text": f"and {len(problems) - MAX_LISTED} more problems"})
    message = ""
    if problems:
        message = (
            problems[0]
            if len(problems) == 1
            else f"There are {len(problems)} problems: see the list above"
        )
    return render(
        request,
        "console/agreement_new.html",
        status_code=status,
        title="Add a draft agreement",
        errors={source: message} if problems else {},
        error_list=error_list,
        text=text,
        limit=LIMIT_TEXT,
    )


def _read(form: FormData) -> tuple[str, str, list[str], int]:
    """(source, text, problems, status) from the upload or the pasted text."""
    upload = form.get("file")
    raw = b""
    if isinstance(upload, UploadFile) and upload.filename:
        raw = upload.file.read(LIMIT + 1)
    pasted = field(form, "text")
    if raw and pasted:
        return "file", pasted, ["Upload a file or paste its text, not both"], 422
    if not raw and not pasted:
        return "file", "", ["Upload a YAML or JSON file, or paste its text"], 422
    source = "file" if raw else "text"
    if len(raw) > LIMIT or len(pasted.encode("utf-8")) > LIMIT:
        return source, "", [f"The {source} must be {LIMIT_TEXT} or smaller"], 413
    if raw:
        try:
            return source, raw.decode("utf-8-sig"), [], 200
        except UnicodeDecodeError:
            return source, "", ["The file must be YAML or JSON text (UTF-8)"], 422
    return source, pasted, [], 200


def _service_problems(session: Session, data: AgreementIn, text: str | None) -> list[str]:
    """What create would refuse (reference taken, unknown organisation...), with lines if known."""
    out = []
    for exc in AgreementService(session).check(data):
        name = exc.field or "file"
        line = f"line {line_of(text, name)}: " if text is not None else ""
        out.append(f"{line}{name}: {_clip(exc.detail, 200)}")
    return out


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


# the upload --------------------------------------------------------------------------------
@router.get("/agreements/new", response_class=HTMLResponse)
def new_form(request: Request, user: Officer) -> Response:
    """Upload or paste a draft agreement (the file the CLI reads)."""
    return _form_page(request)


@router.get("/agreements/new/example.yaml")
def example_file(user: Officer) -> Response:
    return Response(
        _example(),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{EXAMPLE}"'},
    )


@router.get("/agreements/new/schema.json")
def schema_file(user: Officer) -> Response:
    return JSONResponse(
        AgreementIn.model_json_schema(),
        headers={"Content-Disposition": 'attachment; filename="agreement.schema.json"'},
    )


@router.post("/agreements/new", response_class=HTMLResponse)
def upload(
    request: Request,
    user: Officer,
    session: SessionDep,
    form: FormData | None = Depends(upload_form),
) -> Response:
    """Parse and check the file, writing nothing; show the answers to confirm."""
    if form is None:
        return _form_page(request, 413, [f"The file must be {LIMIT_TEXT} or smaller"])
    source, text, problems, status = _read(form)
    shown = text if source == "text" else ""
    if problems:
        return _form_page(request, status, problems, source, shown)
    data, found = parse_model(text, AgreementIn)
    if data is None:
        return _form_page(request, 422, [_say(p) for p in found], source, shown)
    more = _service_problems(session, data, text)
    if more:
        return _form_page(request, 422, more, source, shown)
    return _check_page(request, session, data)


# check answers and create ---------------------------------------------------------------
def _check_page(request: Request, session: Session, data: AgreementIn) -> Response:
    names = {str(o.id): o.name for o in session.scalars(select(Organisation))}
    # A transient (never added) agreement, so the page can say what activation will still need.
    ids = {name: oid for oid, name in names.items()}
    preview = Agreement(
        **data.model_dump(exclude={"parties"}),
        parties=[
            AgreementParty(
                organisation_id=_uuid(ids.get(p.organisation, p.organisation)),
                role=p.role,
                controller_role=p.controller_role,
            )
            for p in data.parties
        ],
    )
    return render(
        request,
        "console/agreement_new_check.html",
        title="Check the draft agreement",
        data=data,
        draft=data.model_dump_json(),
        parties=[
            {"name": names.get(p.organisation, p.organisation), **p.model_dump()}
            for p in data.parties
        ],
        purposes=[PURPOSES[c].title for c in data.purposes],
        data_items=[DATA_ITEMS[c].title for c in data.data_items],
        missing=missing_items(preview, operator_ids(session)),
    )


@router.post("/agreements/new/check", response_class=HTMLResponse)
def create(
    request: Request,
    user: Officer,
    session: SessionDep,
    form: FormData | None = Depends(upload_form),
) -> Response:
    """Validate the confirmed draft again, then record it."""
    if form is None:
        return _form_page(request, 413, [f"The file must be {LIMIT_TEXT} or smaller"])
    try:
        # pydantic's own JSON parser: bounded recursion, no RecursionError on deep input.
        data = AgreementIn.model_validate_json(field(form, "draft"))
    except (ValueError, ValidationError):
        return _form_page(request, 422, ["The draft could not be read: upload the file again"])
    problems = _service_problems(session, data, None)
    if problems:
        return _form_page(request, 422, problems)
    try:
        agreement = AgreementService(session).create(data, user.principal)
    except (InvalidInput, Conflict) as exc:  # e.g. the reference was taken a moment ago
        settle(session, exc)
        return _form_page(request, 422, [f"{exc.field or 'file'}: {_clip(exc.detail, 200)}"])
    missing = missing_items(agreement, operator_ids(session))
    needs = (
        f"It still needs {len(missing)} checklist item{'s' if len(missing) != 1 else ''}; "
        if missing
        else "Its checklist is complete; "
    )
    flash(
        request,
        f"Draft agreement {agreement.reference} created",
        "Nothing is shared under a draft. "
        + needs
        + "to activate it, a governance officer other than you must sign it off.",
    )
    return RedirectResponse(f"/agreements/{agreement.reference}", status_code=303)
