"""Helpers for server-side console tests: read CSRF tokens, sign in, read error summaries."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from tests.factories import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, path: str = "/sign-in") -> str:
    match = _TOKEN.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, who: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": csrf(client),
            "email": f"{who}@test.example",
            "password": password,
            "next": "/console",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]


def error_messages(html: str) -> list[str]:
    """The error summary's messages, as a user reads them."""
    found = re.findall(r'<a href="#[^"]*">\s*([^<]+?)\s*</a>', html)
    return [unescape(m.strip()) for m in found]
