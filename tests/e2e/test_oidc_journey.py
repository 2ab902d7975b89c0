"""Signing in through OpenID providers in Chromium: a member of staff through the department's
provider (roles from the claims mapping, MFA required) and the person through a provider in
GOV.UK One Login's shape. The provider is the tests' real one (tests/signin/provider.py),
served on loopback beside shareguard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shareguard.signin import keys
from tests.e2e.conftest import PERSON, Server, a11y, demo_email
from tests.signin.provider import Login, TestProvider, serve

STAFF_CLIENT, PERSON_CLIENT = "shareguard-staff-e2e", "shareguard-person-e2e"
MAPPING = """\
roles_claim: groups
email_claim: email
mfa:
  required: true
groups:
  - group: sg-officers
    organisation: Home Office
    roles: [governance_officer]
"""


@pytest.fixture(scope="module")
def provider() -> Iterator[TestProvider]:
    found = TestProvider()
    with serve(found.app) as url:
        found.url = url
        yield found


@pytest.fixture(scope="module")
def oidc_server(
    e2e_db: Any, provider: TestProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """shareguard with staff and the person signing in through the provider."""
    from shareguard.web.app import create_app

    settings, engine, _ = e2e_db
    mapping = Path(tmp_path_factory.mktemp("oidc")) / "staff-claims.yaml"
    mapping.write_text(MAPPING)
    configured = settings.model_copy(
        update={
            "staff_sign_in": "oidc",
            "staff_oidc_issuer": provider.url,
            "staff_oidc_client_id": STAFF_CLIENT,
            "staff_oidc_mapping": mapping,
            "person_sign_in": "oidc",
            "person_oidc_issuer": provider.url,
            "person_oidc_client_id": PERSON_CLIENT,
            "person_oidc_identity_issuer": provider.identity_issuer,
            "person_oidc_identity_keys": provider.url + "/.well-known/did.json",
        }
    )
    with Server(create_app(configured, engine)) as srv:
        provider.register(
            STAFF_CLIENT,
            keys.public_jwks(configured.key_dir, ("staff",)),
            [srv.url + "/sign-in/callback"],
        )
        provider.register(
            PERSON_CLIENT,
            keys.public_jwks(configured.key_dir, ("person",)),
            [srv.url + "/my/sign-in/callback"],
        )
        yield srv


def _officer(**claims: Any) -> Login:
    id_claims = {"groups": ["sg-officers"], "email": demo_email("officer"), "amr": ["pwd", "mfa"]}
    id_claims.update(claims)
    return Login(sub="dept|officer-e2e", id_claims=id_claims)


def test_an_officer_signs_in_through_the_department_provider(
    page: Any, oidc_server: Server, provider: TestProvider
) -> None:
    provider.login(_officer())
    page.goto(oidc_server.url + "/governance/firewall")
    # Not signed in: the console sends the browser to the provider, which asks to continue.
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.url == oidc_server.url + "/governance/firewall"
    assert "Signed in as" in page.locator(".sg-account-bar").inner_text()
    a11y(page, "oidc-staff-signed-in")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.locator(".sg-account-bar").count() == 0


def test_an_officer_without_mfa_is_refused_with_a_clear_page(
    page: Any, oidc_server: Server, provider: TestProvider
) -> None:
    provider.login(_officer(amr=["pwd"]))
    page.goto(oidc_server.url + "/sign-in")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "You cannot sign in to this service"
    assert "multi-factor authentication" in page.locator("#why").inner_text()
    assert page.locator("#reference").inner_text()
    a11y(page, "oidc-staff-refused")
    assert page.goto(oidc_server.url + "/api/v1/whoami").status == 401  # type: ignore[union-attr]


def test_the_person_signs_in_through_one_login(
    page: Any, oidc_server: Server, provider: TestProvider, person: str
) -> None:
    born = f"{PERSON['year']}-{int(PERSON['month']):02d}-{int(PERSON['day']):02d}"
    provider.login(
        Login(
            sub="urn:fdc:gov.uk:2022:ada-e2e",
            id_claims={"vot": "Cl.Cm"},
            identity=(PERSON["given"], PERSON["family"], born),
        )
    )
    page.goto(oidc_server.url + "/my/")
    assert "GOV.UK One Login" in page.locator("main").inner_text()
    page.get_by_role("button", name="Start now").click()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.url == oidc_server.url + "/my/account"
    assert f"{PERSON['given']} {PERSON['family']}" in page.locator("main").inner_text()
    a11y(page, "oidc-person-signed-in")
