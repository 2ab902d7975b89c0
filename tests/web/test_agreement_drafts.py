"""A governance officer adds a draft agreement in the console: upload or paste, check, create."""

from __future__ import annotations

import json
import re
import uuid
from importlib import resources
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from shareguard.agreements.service import AgreementService
from tests.factories import TestWorld
from tests.web.console_helpers import csrf, error_messages, sign_in

DOCS_EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "agreement.example.yaml"


def _example(reference: str) -> str:
    """The documented example, naming this test world's organisations."""
    return (
        DOCS_EXAMPLE.read_text(encoding="utf-8")
        .replace("HO-EXAMPLE-001", reference)
        .replace("Home Office", "Test Department")
        .replace("Oakfield Lettings", "Test Agency")
    )


def _count(world: TestWorld) -> int:
    total = AgreementService(world.session).find()[1]
    world.session.rollback()  # end the read so SQLite's lock does not hold up the app's writes
    return total


def _upload(client: TestClient, text: str, as_file: bool = True, name: str = "a.yaml"):  # type: ignore[no-untyped-def]
    token = csrf(client, "/agreements/new")
    if as_file:
        return client.post(
            "/agreements/new",
            data={"csrf_token": token, "text": ""},
            files={"file": (name, text.encode("utf-8"), "application/yaml")},
        )
    return client.post("/agreements/new", data={"csrf_token": token, "text": text})


def _draft_field(html: str) -> str:
    match = re.search(r'name="draft" value="([^"]*)"', html)
    assert match, "no draft on the check-answers page"
    from html import unescape

    return unescape(match.group(1))


def test_officer_uploads_checks_and_creates_a_draft(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "officer")
    register = client.get("/agreements").text
    assert 'href="/agreements/new"' in register and "Add a draft agreement" in register
    before = _count(world)
    ref = f"T-NEW-{uuid.uuid4().hex[:6].upper()}"

    check = _upload(client, _example(ref))
    assert check.status_code == 200, error_messages(check.text)
    page = check.text
    assert "Check the draft agreement" in page
    for shown in (
        ref,
        "Right to rent checks for a letting agent",
        "Test Department",
        "Test Agency",
        "Immigration Act 2014 s.22",
        "1 December 2027",  # review date
        "1 December 2026",  # start date
    ):
        assert shown in page, shown
    assert _count(world) == before  # nothing written until confirmed

    done = client.post(
        "/agreements/new/check",
        data={"csrf_token": csrf(client, "/console"), "draft": _draft_field(page)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/agreements/{ref}"
    detail = client.get(done.headers["location"]).text
    assert f"Draft agreement {ref} created" in detail
    assert "other than you must sign it off" in detail
    assert _count(world) == before + 1
    drafts = client.get("/agreements?status=draft").text
    assert f'href="/agreements/{ref}"' in drafts
    agreement = AgreementService(world.session).by_reference(ref)
    assert agreement.state == "draft" and agreement.author_id == world.users["officer"]


def test_pasted_json_works_too(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "officer")
    ref = f"T-JSON-{uuid.uuid4().hex[:6].upper()}"
    as_json = json.dumps(yaml.safe_load(_example(ref)), indent=2, default=str)
    check = _upload(client, as_json, as_file=False)
    assert check.status_code == 200, error_messages(check.text)
    done = client.post(
        "/agreements/new/check",
        data={"csrf_token": csrf(client, "/console"), "draft": _draft_field(check.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert AgreementService(world.session).by_reference(ref).state == "draft"


def test_errors_name_line_and_field_and_write_nothing(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "officer")
    before = _count(world)
    text = _example("T-BAD-1").replace("[right_to_rent]", "[no_such_purpose]")
    text = text.replace("role: recipient", "role: receiver")
    response = _upload(client, text)
    assert response.status_code == 422
    messages = error_messages(response.text)
    assert any(m.startswith("line 6: purposes.0: unknown purpose; known:") for m in messages)
    assert "line 12: parties.1.role: Input should be 'discloser' or 'recipient'" in messages
    assert response.text.count("<title>Error: ") == 1

    # Not YAML at all.
    broken = _upload(client, "reference: [unclosed\ntitle: x\n", as_file=False)
    assert broken.status_code == 422
    assert any(m.startswith("line ") and "not valid YAML" in m for m in error_messages(broken.text))
    # The pasted text stays in the box to be corrected.
    assert "reference: [unclosed" in broken.text

    # What only the register knows: an unknown organisation, a reference already taken.
    taken = AgreementService(world.session).get(world.agreement()).reference
    clash = _upload(client, _example(taken).replace("Test Agency", "Nobody Ltd"))
    assert clash.status_code == 422
    messages = error_messages(clash.text)
    assert "line 3: reference: an agreement with this reference exists" in messages
    assert "line 11: parties[1].organisation: no organisation with this name or id" in messages

    # Neither a file nor text; both.
    empty = _upload(client, "", as_file=False)
    assert empty.status_code == 422
    assert error_messages(empty.text) == ["Upload a YAML or JSON file, or paste its text"]
    both = client.post(
        "/agreements/new",
        data={"csrf_token": csrf(client, "/agreements/new"), "text": "a: 1"},
        files={"file": ("a.yaml", b"b: 2", "application/yaml")},
    )
    assert error_messages(both.text) == ["Upload a file or paste its text, not both"]
    assert _count(world) == before + 1  # only world.agreement() above


def test_a_date_that_is_no_calendar_day_names_its_line(
    client: TestClient, world: TestWorld
) -> None:
    # PyYAML reads 2026-02-30 as a date and fails to build it: this was a 500.
    sign_in(client, "officer")
    before = _count(world)
    lines = _example("T-BAD-2").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("review_date:"))
    lines[at] = "review_date: 2026-02-30"
    response = _upload(client, "\n".join(lines) + "\n", as_file=False)
    assert response.status_code == 422
    assert error_messages(response.text) == [f"line {at + 1}: review_date: not a real date"]
    alone = _upload(client, "2026-02-30", as_file=False)
    assert alone.status_code == 422
    assert error_messages(alone.text) == ["line 1: not a real date"]
    assert _count(world) == before


def test_a_tampered_or_stale_draft_is_checked_again(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "officer")
    ref = f"T-TWICE-{uuid.uuid4().hex[:6].upper()}"
    draft = _draft_field(_upload(client, _example(ref)).text)
    token = csrf(client, "/console")
    bad = json.loads(draft) | {"purposes": ["no_such_purpose"]}
    refused = client.post(
        "/agreements/new/check", data={"csrf_token": token, "draft": json.dumps(bad)}
    )
    assert refused.status_code == 422
    assert "The draft could not be read: upload the file again" in error_messages(refused.text)
    first = client.post("/agreements/new/check", data={"csrf_token": token, "draft": draft})
    assert first.status_code == 200
    before = _count(world)
    again = client.post("/agreements/new/check", data={"csrf_token": token, "draft": draft})
    assert again.status_code == 422
    assert "reference: an agreement with this reference exists" in error_messages(again.text)
    assert _count(world) == before
    # Without the CSRF token nothing happens either.
    assert client.post("/agreements/new/check", data={"draft": draft}).status_code == 403


def test_non_officers_are_refused(client: TestClient, world: TestWorld) -> None:
    for who in ("caseworker", "auditor", "agency_user"):
        sign_in(client, who)
        assert 'href="/agreements/new"' not in client.get("/agreements").text
        token = csrf(client, "/console")
        assert client.get("/agreements/new").status_code == 403
        assert client.get("/agreements/new/example.yaml").status_code == 403
        response = client.post(
            "/agreements/new", data={"csrf_token": token, "text": _example("T-NOPE-1")}
        )
        assert response.status_code == 403
        client.post("/sign-out", data={"csrf_token": token})
    signed_out = client.get("/agreements/new", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/sign-in")


def test_oversize_files_are_refused(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "officer")
    before = _count(world)
    padding = "# " + "x" * 1000 + "\n"
    big = _example("T-BIG-1") + padding * 300  # about 300 KB
    response = _upload(client, big)
    assert response.status_code == 413
    assert error_messages(response.text) == ["The file must be 256 KB or smaller"]
    huge = _upload(client, big * 3)  # refused before the body is read
    assert huge.status_code == 413
    assert error_messages(huge.text) == ["The file must be 256 KB or smaller"]
    pasted = _upload(client, big, as_file=False)
    assert pasted.status_code == 413
    assert error_messages(pasted.text) == ["The text must be 256 KB or smaller"]
    assert "x" * 1000 not in pasted.text  # never echoed back
    assert _count(world) == before


def test_example_file_and_schema_download(client: TestClient, world: TestWorld) -> None:
    sign_in(client, "officer")
    example = client.get("/agreements/new/example.yaml")
    assert example.status_code == 200 and "attachment" in example.headers["content-disposition"]
    # The packaged copy (for installed wheels) is the documented one.
    assert example.text == DOCS_EXAMPLE.read_text(encoding="utf-8")
    packaged = resources.files("shareguard.agreements") / "agreement.example.yaml"
    assert packaged.read_text(encoding="utf-8") == example.text
    schema = client.get("/agreements/new/schema.json").json()
    assert "reference" in schema["properties"] and "parties" in schema["required"]


def test_hostile_pastes_are_refused_with_a_message(client: TestClient, world: TestWorld) -> None:
    from tests.test_yamlfile import ALIAS_BOMB

    sign_in(client, "officer")
    for text, needle in [
        (ALIAS_BOMB, "anchors and aliases"),
        ("[" * 20_000 + "]" * 20_000, "nested more than"),
        ("reference: X-1\ntitle: a\x00b\n", "NUL or control character"),
    ]:
        for as_file in (False, True):
            response = _upload(client, text, as_file=as_file)
            assert response.status_code == 422, response.text[:300]
            assert any(needle in m for m in error_messages(response.text))
    # A tampered confirmation carrying a deep structure is refused too, not a server error.
    token = csrf(client, "/agreements/new")
    deep = client.post(
        "/agreements/new/check", data={"csrf_token": token, "draft": "[" * 20_000 + "]" * 20_000}
    )
    assert deep.status_code == 422
    assert _count(world) == 0
