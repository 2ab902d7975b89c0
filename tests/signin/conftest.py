"""A real OpenID provider on loopback for the sign-in tests (tests/signin/provider.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.signin.provider import TestProvider, serve


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[TestProvider]:
    provider = TestProvider()
    with serve(provider.app) as url:
        provider.url = url
        yield provider


@pytest.fixture
def provider(oidc_server: TestProvider) -> Iterator[TestProvider]:
    """The session's provider, with no faults and nobody about to sign in."""
    oidc_server.faults.clear()
    oidc_server.next = None
    oidc_server.requests.clear()
    yield oidc_server
    oidc_server.faults.clear()
