"""The data-quality queue: open findings with owner and due date; resolve with a note."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from shareguard.quality.service import QualityService
from tests.factories import TestWorld
from tests.web import builders
from tests.web.console_helpers import csrf, error_messages, sign_in


def test_officer_resolves_a_finding_with_a_note(client: TestClient, world: TestWorld) -> None:
    fid = builders.quality_finding(world)
    sign_in(client, "officer")
    page = client.get("/governance/quality")
    assert page.status_code == 200
    assert 'href="/governance/quality"' in page.text
    assert "Implausible dates" in page.text and "1 open finding" in page.text
    token = csrf(client, "/governance/quality")
    empty = client.post(f"/governance/quality/{fid}/resolve", data={"csrf_token": token})
    assert empty.status_code == 422
    assert error_messages(empty.text) == ["Say how the finding was resolved"]
    forged = client.post(
        f"/governance/quality/{fid}/resolve", data={"csrf_token": "x", "resolution": "done"}
    )
    assert forged.status_code == 403
    done = client.post(
        f"/governance/quality/{fid}/resolve",
        data={"csrf_token": token, "resolution": "Decision date corrected from the file"},
    )
    assert done.status_code == 200 and "Finding resolved" in done.text
    assert "No open findings." in done.text


def test_auditor_reads_but_cannot_resolve(client: TestClient, world: TestWorld) -> None:
    fid = builders.quality_finding(world)
    sign_in(client, "auditor")
    page = client.get("/governance/quality")
    assert page.status_code == 200 and "Resolve this finding" not in page.text
    token = csrf(client, "/console")
    refused = client.post(
        f"/governance/quality/{fid}/resolve", data={"csrf_token": token, "resolution": "x"}
    )
    assert refused.status_code == 403
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, "agency_user")
    assert client.get("/governance/quality").status_code == 403


def test_the_reviewer_who_owns_a_finding_sees_it_waiting_and_resolves_it(
    client: TestClient, world: TestWorld
) -> None:
    fid = builders.quality_finding(world)
    owner = (
        QualityService(world.session).finding(uuid.UUID(fid), world.principals["officer"]).owner_id
    )
    world.session.rollback()
    assert owner == world.users["reviewer"]  # new findings go to a reviewer
    sign_in(client, "reviewer")
    home = client.get("/console").text
    assert "1 data-quality finding assigned to you" in home
    assert 'href="/governance/quality?owner=me"' in home
    page = client.get("/governance/quality?owner=me")
    assert page.status_code == 200 and "Resolve this finding" in page.text
    assert "/assign" not in page.text  # only officers assign
    token = csrf(client, "/governance/quality")
    done = client.post(
        f"/governance/quality/{fid}/resolve",
        data={"csrf_token": token, "resolution": "Dates checked against the paper file"},
    )
    assert done.status_code == 200 and "Finding resolved" in done.text
    assert "assigned to you" not in client.get("/console").text
