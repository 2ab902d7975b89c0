"""Staff sign in through the department's OpenID provider (SHAREGUARD_STAFF_SIGN_IN=oidc),
running for real on loopback (tests/signin/provider.py); roles and organisation come from
the claims mapping file, and multi-factor authentication is required where it says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shareguard.accounts.models import User
from shareguard.config import Settings
from shareguard.errors import InvalidInput
from shareguard.signin import keys
from shareguard.signin.mapping import ClaimsMapping, decide
from shareguard.signin.models import IdentityLink, SignInSession
from shareguard.signin.sessions import SessionService
from tests.factories import TestWorld
from tests.signin.provider import Login, TestProvider, authorise
from tests.signin.test_person_oidc import actions

CLIENT_ID = "shareguard-staff-test"
MAPPING = """\
# Which of the department provider's groups make whom what in shareguard.
roles_claim: groups
email_claim: email
mfa:
  required: true
  amr: [mfa, hwk, otp]
groups:
  - group: sg-officers
    organisation: Test Department
    roles: [governance_officer]
  - group: sg-caseworkers
    organisation: Test Department
    roles: [caseworker]
  - group: sg-agency
    organisation: Test Agency
    roles: [partner_user]
    mfa: false
"""


def staff_settings(settings: Settings, provider: TestProvider, mapping: Path) -> Settings:
    return settings.model_copy(
        update={
            "staff_sign_in": "oidc",
            "staff_oidc_issuer": provider.url,
            "staff_oidc_client_id": CLIENT_ID,
            "staff_oidc_mapping": mapping,
        }
    )


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "staff-claims.yaml"
    path.write_text(MAPPING)
    return path


@pytest.fixture
def staff(
    settings: Settings, engine: Any, provider: TestProvider, mapping_file: Path, world: TestWorld
) -> Iterator[TestClient]:
    """The console with staff signing in through the test provider, registered with it."""
    from shareguard.web.app import create_app

    configured = staff_settings(settings, provider, mapping_file)
    provider.register(
        CLIENT_ID,
        keys.public_jwks(configured.key_dir, ("staff",)),
        ["http://testserver/sign-in/callback"],
    )
    with TestClient(create_app(configured, engine)) as c:
        yield c


def officer(sub: str = "dept-idp|officer", **claims: Any) -> Login:
    id_claims = {"groups": ["sg-officers", "all-staff"], "email": "officer@test.example"}
    id_claims["amr"] = ["pwd", "mfa"]
    id_claims.update(claims)
    return Login(sub=sub, id_claims={k: v for k, v in id_claims.items() if v is not None})


def start(client: TestClient, next_url: str = "/console") -> str:
    answer = client.get(f"/sign-in?next={next_url}", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def sign_in(client: TestClient, provider: TestProvider, login: Login) -> httpx.Response:
    provider.login(login)
    callback = authorise(start(client), httpx.Client())
    return client.get(callback, follow_redirects=False)  # type: ignore[return-value]


def signed_in_as(client: TestClient) -> str | None:
    who = client.get("/api/v1/whoami")
    return None if who.status_code == 401 else json.dumps(who.json())


def test_sign_in_redirects_to_the_department_provider_and_no_password_is_taken(
    staff: TestClient, provider: TestProvider
) -> None:
    url = start(staff)
    assert url.startswith(provider.url + "/authorize?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == "http://testserver/sign-in/callback"
    assert set(params["scope"].split()) == {"openid", "email", "profile", "groups"}
    assert params["code_challenge_method"] == "S256" and len(params["nonce"]) >= 32
    refused = staff.post("/sign-in", data={"email": "officer@test.example", "password": "x"})
    assert refused.status_code in (403, 404)


def test_the_client_key_is_published_for_the_provider_to_read(
    staff: TestClient, provider: TestProvider
) -> None:
    published = staff.get("/.well-known/jwks.json")
    assert published.status_code == 200
    assert published.json() == provider.clients[CLIENT_ID].jwks
    assert all("d" not in k for k in published.json()["keys"]), "public halves only"


def test_an_officer_with_mfa_signs_in_with_the_roles_their_groups_give(
    staff: TestClient, provider: TestProvider, world: TestWorld, session: Session
) -> None:
    done = sign_in(staff, provider, officer())
    assert done.status_code == 303 and done.headers["location"] == "/console"
    who = staff.get("/api/v1/whoami").json()
    assert who["user_id"] == str(world.users["officer"])
    assert who["roles"] == ["governance_officer"]
    assert staff.get("/governance/firewall").status_code == 200
    link = session.scalar(select(IdentityLink))
    assert link is not None and link.user_id == world.users["officer"]
    logged = actions(session)
    assert [a for a, _ in logged] == ["signin.link", "signin.success"]
    assert logged[1][1]["kind"] == "staff_oidc" and logged[1][1]["roles_changed"] is False
    text = json.dumps(logged)
    assert "officer@test.example" not in text and "dept-idp|officer" not in text
    # Next time the link finds the user, whatever the email claim says now.
    staff.post("/sign-out", data={"csrf_token": _csrf(staff)})
    assert signed_in_as(staff) is None
    again = sign_in(staff, provider, officer(email="renamed@dept.example"))
    assert again.status_code == 303
    assert staff.get("/api/v1/whoami").json()["user_id"] == str(world.users["officer"])


def _csrf(client: TestClient) -> str:
    from tests.web.console_helpers import csrf

    return csrf(client, "/console")


@pytest.mark.parametrize(
    ("login", "reason", "says"),
    [
        (officer(amr=["pwd"]), "mfa", "multi-factor authentication"),
        (officer(amr=None), "mfa", "multi-factor authentication"),
        (officer(groups=["all-staff"]), "no_role", "no role in this service"),
        (officer(groups=None), "no_role", "no role in this service"),
        (officer(email="stranger@dept.example"), "unknown_user", "not set up for this service"),
        (officer(groups=["sg-officers", "sg-agency"]), "organisation_ambiguous", "more than one"),
        (officer(groups=["sg-agency"]), "organisation_mismatch", "another organisation"),
    ],
)
def test_a_sign_in_the_mapping_refuses_gets_a_clear_page_and_is_audited(
    staff: TestClient,
    provider: TestProvider,
    session: Session,
    login: Login,
    reason: str,
    says: str,
) -> None:
    answer = sign_in(staff, provider, login)
    assert answer.status_code == 403
    assert "You cannot sign in to this service" in answer.text and says in answer.text
    assert signed_in_as(staff) is None
    assert session.scalar(select(IdentityLink)) is None, "a refusal links nothing"
    ((action, details),) = actions(session)
    assert (action, details["reason"], details["kind"]) == ("signin.failure", reason, "staff_oidc")
    assert details["reference"] in answer.text
    assert "@" not in json.dumps(details) and login.sub not in json.dumps(details)


def test_a_group_the_mapping_exempts_from_mfa_signs_in_without_it(
    staff: TestClient, provider: TestProvider, world: TestWorld
) -> None:
    partner = Login(
        sub="dept-idp|agency",
        id_claims={"groups": "sg-agency", "email": "agency_user@test.example", "amr": ["pwd"]},
    )
    assert sign_in(staff, provider, partner).status_code == 303
    assert staff.get("/api/v1/whoami").json()["user_id"] == str(world.users["agency_user"])


def test_a_role_change_from_the_provider_is_audited_and_ends_the_users_other_sessions(
    staff: TestClient, provider: TestProvider, world: TestWorld, session: Session
) -> None:
    other = SessionService(session).start(user_id=world.users["caseworker"])
    session.commit()
    promoted = officer(sub="dept-idp|cw", email="caseworker@test.example")
    assert sign_in(staff, provider, promoted).status_code == 303
    assert staff.get("/api/v1/whoami").json()["roles"] == ["governance_officer"]
    session.expire_all()
    user = session.get(User, world.users["caseworker"])
    assert user is not None and user.roles == ["governance_officer"]
    ended = session.scalars(
        select(SignInSession).where(SignInSession.user_id == world.users["caseworker"])
    ).all()
    old = [s for s in ended if s.end_reason == "roles_changed"]
    assert len(old) == 1 and SessionService(session).resolve(other) is None
    logged = [a for a, _ in actions(session, "")]
    assert "user.roles_change" in logged and logged[-1] == "signin.success"
    # The browser that signed in keeps its new session, with the new roles.
    assert staff.get("/governance/firewall").status_code == 200


def test_a_token_that_fails_its_checks_is_refused(
    staff: TestClient, provider: TestProvider, session: Session
) -> None:
    provider.faults.add("wrong_aud")
    answer = sign_in(staff, provider, officer())
    assert answer.status_code == 400 and "Sign-in did not work" in answer.text
    assert signed_in_as(staff) is None
    assert actions(session)[-1][1]["reason"] == "id_token_aud"


def test_a_very_long_next_page_goes_home_instead(staff: TestClient, provider: TestProvider) -> None:
    provider.login(officer())
    callback = authorise(start(staff, "/agreements?q=" + "x" * 600), httpx.Client())
    done = staff.get(callback, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/console"


def test_a_replayed_callback_is_refused(
    staff: TestClient, provider: TestProvider, session: Session
) -> None:
    provider.login(officer())
    callback = authorise(start(staff), httpx.Client())
    assert staff.get(callback, follow_redirects=False).status_code == 303
    staff.post("/sign-out", data={"csrf_token": _csrf(staff)})
    replay = staff.get(callback, follow_redirects=False)
    assert replay.status_code == 400 and signed_in_as(staff) is None
    assert actions(session)[-1][1]["reason"] == "state"


# the mapping file -------------------------------------------------------------------------
def _mapping(**over: Any) -> ClaimsMapping:
    import yaml

    data = yaml.safe_load(MAPPING)
    data.update(over)
    return ClaimsMapping.model_validate(data)


@pytest.mark.parametrize(
    ("claims", "organisation", "roles", "refusal"),
    [
        (
            {"groups": ["sg-officers"], "amr": ["mfa"]},
            "Test Department",
            ("governance_officer",),
            "",
        ),
        (
            {"groups": "sg-officers sg-caseworkers", "amr": ["hwk"]},
            "Test Department",
            ("caseworker", "governance_officer"),
            "",
        ),
        (
            {"groups": ["sg-officers"], "amr": ["pwd"]},
            "Test Department",
            ("governance_officer",),
            "mfa",
        ),
        ({"groups": ["sg-agency"]}, "Test Agency", ("partner_user",), ""),
        (
            {"groups": ["sg-agency", "sg-officers"], "amr": ["mfa"]},
            "",
            (),
            "organisation_ambiguous",
        ),
        ({"groups": [{"nested": "x"}], "amr": ["mfa"]}, "", (), "no_role"),
        ({"amr": ["mfa"]}, "", (), "no_role"),
    ],
)
def test_the_mapping_decides_organisation_roles_and_mfa(
    claims: dict[str, Any], organisation: str, roles: tuple[str, ...], refusal: str
) -> None:
    decided = decide(_mapping(), claims)
    assert (decided.organisation, decided.roles, decided.refusal) == (organisation, roles, refusal)


def test_an_acr_the_mapping_names_counts_as_mfa() -> None:
    rules = _mapping(mfa={"required": True, "amr": [], "acr": ["urn:dept:mfa"]})
    assert decide(rules, {"groups": ["sg-officers"], "acr": "urn:dept:mfa"}).refusal == ""
    assert decide(rules, {"groups": ["sg-officers"], "acr": "urn:dept:pwd"}).refusal == "mfa"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (MAPPING.replace("[caseworker]", "[superuser]"), ":13: groups.1.roles: unknown role"),
        (MAPPING + "  - group: sg-officers\n    organisation: X\n    roles: [auditor]\n", "twice"),
        (MAPPING.replace("roles_claim", "role_claim"), "role_claim"),
        ("groups: &a [*a]\n", "anchors and aliases"),
    ],
)
def test_a_bad_mapping_file_stops_the_service_from_starting_and_says_where(
    settings: Settings, engine: Any, tmp_path: Path, text: str, where: str
) -> None:
    from shareguard.web.app import create_app

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    configured = settings.model_copy(update={"staff_sign_in": "oidc", "staff_oidc_mapping": path})
    with pytest.raises(InvalidInput) as refused:
        create_app(configured, engine)
    assert where in str(refused.value) and str(path) in str(refused.value)


def test_a_user_added_without_a_password_signs_in_through_the_provider(
    staff: TestClient,
    provider: TestProvider,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from shareguard.cli import app
    from shareguard.storage import db

    monkeypatch.setattr(db, "get_engine", lambda: session.get_bind())
    added = CliRunner().invoke(
        app,
        [
            "accounts",
            "add-user",
            "newcomer@test.example",
            "--organisation",
            "Test Department",
            "--name",
            "Newcomer",
            "--role",
            "caseworker",
            "--no-password",
        ],
    )
    assert added.exit_code == 0, added.output
    answer = sign_in(staff, provider, officer(sub="dept-idp|new", email="newcomer@test.example"))
    assert answer.status_code == 303
    assert staff.get("/api/v1/whoami").json()["roles"] == ["governance_officer"]
