"""The person signs in through an OpenID provider in GOV.UK One Login's shape, running for real
on loopback (tests/signin/provider.py): the relying party's checks are the ones under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shareguard.audit import AuditEntry
from shareguard.config import Settings
from shareguard.signin import keys
from shareguard.signin.models import IdentityLink, OidcRequest
from shareguard.status.models import StatusKind
from tests import factories
from tests.factories import TestWorld, integrated
from tests.signin.provider import Login, TestProvider, authorise

CLIENT_ID = "shareguard-person-test"
DOB = date(1987, 11, 2)


def oidc_settings(settings: Settings, provider: TestProvider, **over: Any) -> Settings:
    return settings.model_copy(
        update={
            "person_sign_in": "oidc",
            "person_oidc_issuer": provider.url,
            "person_oidc_client_id": CLIENT_ID,
            "person_oidc_identity_issuer": provider.identity_issuer,
            "person_oidc_identity_keys": provider.url + "/.well-known/did.json",
            **over,
        }
    )


@pytest.fixture
def oidc(settings: Settings, engine: Any, provider: TestProvider) -> Iterator[TestClient]:
    """The app with the person's sign-in through the test provider, registered with it."""
    from shareguard.web.app import create_app

    configured = oidc_settings(settings, provider)
    provider.register(
        CLIENT_ID,
        keys.public_jwks(configured.key_dir, ("person",)),
        ["http://testserver/my/sign-in/callback"],
    )
    with TestClient(create_app(configured, engine)) as c:
        yield c


@pytest.fixture
def grace(world: TestWorld):  # type: ignore[no-untyped-def]
    p = factories.person(world, "Grace", "Okonkwo-Test", DOB, documents=("GO1234567",))
    factories.status_record(world, p.id, StatusKind.SETTLED)
    return p


def start(client: TestClient) -> str:
    """GET /my/sign-in: the provider's authorisation URL it redirects to."""
    answer = client.get("/my/sign-in", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def sign_in(client: TestClient, provider: TestProvider, login: Login) -> httpx.Response:
    """The whole journey: to the provider, Continue there, back to the callback."""
    provider.login(login)
    callback = authorise(start(client), httpx.Client())
    return client.get(callback, follow_redirects=False)  # type: ignore[return-value]


def as_grace(sub: str = "urn:fdc:gov.uk:2022:grace", **over: Any) -> Login:
    return Login(
        sub=sub,
        id_claims={"vot": "Cl.Cm"},
        identity=("Grace", "Okonkwo-Test", DOB.isoformat()),
        **over,
    )


def actions(session: Session, prefix: str = "signin.") -> list[tuple[str, dict[str, Any]]]:
    session.expire_all()
    integrated(session)
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action.like(prefix + "%")).order_by(AuditEntry.seq)
    )
    return [(e.action, dict(e.details or {})) for e in rows]


def test_sign_in_redirects_to_the_provider_with_state_nonce_pkce_and_vtr(
    oidc: TestClient, provider: TestProvider
) -> None:
    url = start(oidc)
    assert url.startswith(provider.url + "/authorize?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params["client_id"] == CLIENT_ID and params["response_type"] == "code"
    assert params["redirect_uri"] == "http://testserver/my/sign-in/callback"
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert json.loads(params["vtr"]) == ["Cl.Cm.P2"]
    assert json.loads(params["claims"]) == {
        "userinfo": {"https://vocab.account.gov.uk/v1/coreIdentityJWT": None}
    }
    # The browser holds the state only; the nonce and PKCE verifier stay on the server.
    cookie = oidc.cookies.get("sg_session") or ""
    assert params["nonce"] not in cookie


def test_a_verified_identity_signs_in_to_its_one_record_and_the_link_is_kept(
    oidc: TestClient, provider: TestProvider, grace: Any, session: Session
) -> None:
    done = sign_in(oidc, provider, as_grace())
    assert done.status_code == 303 and done.headers["location"] == "/my/account"
    account = oidc.get("/my/account")
    assert account.status_code == 200 and "Grace Okonkwo-Test" in account.text
    link = session.scalar(select(IdentityLink))
    assert link is not None and link.person_id == grace.id
    assert link.issuer == provider.url and link.subject == "urn:fdc:gov.uk:2022:grace"
    logged = actions(session)
    assert [a for a, _ in logged] == ["signin.link", "signin.success"]
    assert "urn:fdc" not in json.dumps(logged), "audit entries name a hash of the account"
    assert logged[1][1]["kind"] == "person_oidc"
    # The person sees both in "who checked your data"'s history of their own record.
    oidc.post("/my/sign-out", data={"csrf_token": _csrf(oidc)})
    again = sign_in(oidc, provider, as_grace())
    assert again.headers["location"] == "/my/account"
    assert [a for a, _ in actions(session)][-1] == "signin.success"
    assert len(session.scalars(select(IdentityLink)).all()) == 1


def _csrf(client: TestClient) -> str:
    from tests.web.console_helpers import csrf

    return csrf(client, "/my/account")


def test_an_identity_that_matches_nobody_is_not_signed_in(
    oidc: TestClient, provider: TestProvider, grace: Any, session: Session
) -> None:
    nobody = Login(
        sub="urn:nobody", id_claims={"vot": "Cl.Cm"}, identity=("Hamid", "Farouk", "1970-01-01")
    )
    answer = sign_in(oidc, provider, nobody)
    assert answer.status_code == 404
    assert "We could not find your record" in answer.text and "caseworker" in answer.text
    assert "Grace" not in answer.text
    assert oidc.get("/my/account", follow_redirects=False).status_code == 303
    assert session.scalar(select(IdentityLink)) is None
    ((action, details),) = actions(session)
    assert action == "signin.failure" and details["reason"] == "match_none"
    assert details["reference"] in answer.text


def test_an_identity_that_matches_two_people_signs_in_to_neither(
    oidc: TestClient, provider: TestProvider, grace: Any, world: TestWorld, session: Session
) -> None:
    twin = factories.person(world, "Grace", "Okonkwo-Test", DOB, documents=("GO7654321",))
    answer = sign_in(oidc, provider, as_grace())
    assert answer.status_code == 404 and "We could not find your record" in answer.text
    assert oidc.get("/my/account", follow_redirects=False).status_code == 303
    assert session.scalar(select(IdentityLink)) is None
    assert actions(session)[-1][1]["reason"] == "match_ambiguous"
    assert twin.id != grace.id


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("bad_signature", "id_token_signature"),
        ("wrong_aud", "id_token_aud"),
        ("expired", "id_token_exp"),
        ("other_nonce", "id_token_nonce"),
        ("wrong_vot", "id_token_vot"),
        ("no_identity", "identity_missing"),
        ("bad_identity_signature", "identity_signature"),
    ],
)
def test_a_token_or_identity_claim_that_fails_its_checks_is_refused(
    oidc: TestClient,
    provider: TestProvider,
    grace: Any,
    session: Session,
    fault: str,
    reason: str,
) -> None:
    provider.faults.add(fault)
    answer = sign_in(oidc, provider, as_grace())
    assert answer.status_code == 400 and "Sign-in did not work" in answer.text
    assert "Grace" not in answer.text
    assert oidc.get("/my/account", follow_redirects=False).status_code == 303
    assert session.scalar(select(IdentityLink)) is None
    ((action, details),) = actions(session)
    assert (action, details["reason"]) == ("signin.failure", reason)


def test_a_replayed_state_is_refused(
    oidc: TestClient, provider: TestProvider, grace: Any, session: Session
) -> None:
    provider.login(as_grace())
    url = start(oidc)
    callback = authorise(url, httpx.Client())
    assert oidc.get(callback, follow_redirects=False).headers["location"] == "/my/account"
    oidc.post("/my/sign-out", data={"csrf_token": _csrf(oidc)})
    # The same answer again, even with this browser's old state put back in its cookie.
    replay = oidc.get(callback, follow_redirects=False)
    assert replay.status_code == 400 and "Sign-in did not work" in replay.text
    assert actions(session)[-1][1]["reason"] == "state"


def test_an_answer_for_another_browser_is_refused(
    oidc: TestClient,
    provider: TestProvider,
    grace: Any,
    session: Session,
    settings: Settings,
    engine: Any,
) -> None:
    provider.login(as_grace())
    callback = authorise(start(oidc), httpx.Client())
    from shareguard.web.app import create_app

    with TestClient(create_app(oidc_settings(settings, provider), engine)) as victim:
        answer = victim.get(callback, follow_redirects=False)
    assert answer.status_code == 400
    assert victim.cookies.get("sg_session") is None or "psid" not in (
        victim.cookies.get("sg_session") or ""
    )
    assert actions(session)[-1][1]["reason"] == "state"


def test_a_wrong_pkce_verifier_gets_no_tokens(
    oidc: TestClient, provider: TestProvider, grace: Any, session: Session
) -> None:
    provider.login(as_grace())
    callback = authorise(start(oidc), httpx.Client())
    session.execute(update(OidcRequest).values(code_verifier="x" * 64))
    session.commit()
    answer = oidc.get(callback, follow_redirects=False)
    assert answer.status_code == 400
    assert actions(session)[-1][1]["reason"] == "token"


def test_a_cancelled_sign_in_uses_up_its_state(
    oidc: TestClient, provider: TestProvider, session: Session
) -> None:
    url = start(oidc)
    state = parse_qs(urlsplit(url).query)["state"][0]
    answer = oidc.get(f"/my/sign-in/callback?error=access_denied&state={state}")
    assert answer.status_code == 400 and "Try signing in again" in answer.text
    assert actions(session)[-1][1]["reason"] == "provider_access_denied"


def test_the_code_pages_do_not_exist_when_people_sign_in_through_a_provider(
    oidc: TestClient,
) -> None:
    assert oidc.get("/my/sign-in/code").status_code == 404
    assert oidc.post("/my/sign-in", data={}).status_code in (403, 404)
