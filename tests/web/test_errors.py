"""Unexpected failures: a GOV.UK page in the console, problem+json in the API, no details leaked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.console_helpers import sign_in


def test_unexpected_error_gives_a_plain_page_or_problem_without_details(app, caplog):
    secret = "Jane Example 1990-01-01"  # stands in for personal data inside an exception

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(secret)

    @app.get("/api/v1/boom-test")
    def api_boom() -> None:
        raise RuntimeError(secret)

    client = TestClient(app, raise_server_exceptions=False)
    page = client.get("/boom")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Sorry, there is a problem with the service" in page.text
    api = client.get("/api/v1/boom-test")
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"
    assert secret not in page.text and secret not in api.text
    assert secret not in caplog.text


def test_the_exception_message_never_reaches_the_server_log(app, caplog):
    secret = "Jane Example 1990-01-01"

    @app.get("/api/v1/boom-test2")
    def api_boom() -> None:
        raise ValueError(secret)

    # raise_server_exceptions=True: an exception escaping to the server would fail this call.
    client = TestClient(app)
    resp = client.get("/api/v1/boom-test2")
    assert resp.status_code == 500
    assert secret not in caplog.text
    assert "ValueError" in caplog.text


def test_405_names_the_allowed_methods(client) -> None:  # type: ignore[no-untyped-def]
    api = client.delete("/api/v1/whoami")
    assert api.status_code == 405 and api.headers["allow"] == "GET, HEAD"
    assert api.headers["content-type"].startswith("application/problem+json")
    page = client.put("/sign-in")
    assert page.status_code == 405 and page.headers["allow"] == "GET, HEAD, POST"


def test_a_malformed_id_in_a_console_address_is_a_page_not_found(client, world) -> None:  # type: ignore[no-untyped-def]
    # It was problem+json, which a browser shows as raw text.
    sign_in(client, "reviewer")
    for path in ("/review/Jane%20Example", "/review/1990-01-01"):
        page = client.get(path)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Page not found" in page.text
        assert "Jane" not in page.text and "1990-01-01" not in page.text
    api = client.get("/api/v1/matching/candidates/not-an-id")
    assert api.status_code == 422
    assert api.headers["content-type"] == "application/problem+json"
