"""Request limits apply before parsing and before authentication; hostile JSON and query
strings get a 422 naming the field, never a 500; request models refuse unknown fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shareguard.web.limits import MAX_JSON_DEPTH, ROUTE_LIMITS, json_depth, limit_for
from tests.factories import TestWorld, bearer

MB = 1024 * 1024


def test_a_large_body_without_a_key_is_refused_before_it_is_read(client: TestClient) -> None:
    response = client.post(
        "/api/v1/checks/attributes",
        content=b"{" + b" " * (2 * MB) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_chunked_body_is_counted_as_it_arrives(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b" " * 64 * 1024

    response = client.post(
        "/api/v1/checks/attributes", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_a_large_console_form_is_refused(client: TestClient) -> None:
    response = client.post(
        "/sign-in",
        content=b"email=" + b"a" * MB,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_each_route_has_its_limit() -> None:
    assert limit_for("/api/v1/matching/datasets") == 256 * MB
    assert limit_for("/api/v1/inbound/files") == 256 * MB
    assert limit_for("/api/v1/persons") == 128 * 1024
    assert limit_for("/agreements/new") == 4 * MB
    assert limit_for("/my/sign-in") == 64 * 1024
    assert ROUTE_LIMITS[-1][0] == "/"


def test_deep_json_is_refused_naming_the_body(client: TestClient, world: TestWorld) -> None:
    deep = "[" * 20_000 + "]" * 20_000
    response = client.post(
        "/api/v1/persons",
        content=deep,
        headers={**bearer(world.keys["caseworker"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 422 and response.json()["field"] == "body"


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": "[[[[[[", "b": [1, {"c": 2}]}') == 3
    assert json_depth(b'["\\"[[", [[]]]') == 3
    assert json_depth(b"[" * (MAX_JSON_DEPTH + 1)) == MAX_JSON_DEPTH + 1


def test_a_nul_in_json_names_its_field(client: TestClient, world: TestWorld) -> None:
    response = client.post(
        "/api/v1/persons",
        content=b'{"names": [{"given": "A", "family": "B\\u0000C"}], '
        b'"date_of_birth": "1990-01-01"}',
        headers={**bearer(world.keys["caseworker"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "names[0].family" and "B" not in body["detail"]
    assert body["detail"] == "a NUL character is not allowed"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/policy/decisions",
            b'{"organisation": "Test \\ud800Bank", "purpose": "right_to_work"}',
            "organisation",
        ),
        (
            "/api/v1/persons",
            b'{"names": [{"given": "A", "family": "Bx\\uDFFFC"}], "date_of_birth": "1990-01-01"}',
            "names[0].family",
        ),
    ],
)
def test_a_lone_surrogate_in_json_is_a_422_naming_its_field(
    client: TestClient, world: TestWorld, path: str, body: bytes, field: str
) -> None:
    # No UTF-8 writer (the database, the audit log, the policy engine) can encode one:
    # it was a 500 before it was screened.
    response = client.post(
        path,
        content=body,
        headers={**bearer(world.keys["officer"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == field
    assert problem["detail"] == (
        "an unpaired surrogate (\\ud800 to \\udfff without its pair) is not allowed"
    )
    assert "Bx" not in response.text


def test_a_surrogate_pair_in_json_is_an_ordinary_character(
    client: TestClient, world: TestWorld
) -> None:
    response = client.post(
        "/api/v1/policy/decisions",
        content=b'{"organisation": "Test Bank \\ud83e\\udd84", "purpose": "right_to_work"}',
        headers={**bearer(world.keys["officer"]), "Content-Type": "application/json"},
    )
    assert response.status_code != 500
    assert "surrogate" not in response.text


@pytest.mark.parametrize("path", ["/api/v1/agreements?state=a%00b", "/?purpose=%00"])
def test_a_nul_in_a_query_is_refused(client: TestClient, world: TestWorld, path: str) -> None:
    response = client.get(path, headers=bearer(world.keys["officer"]))
    assert response.status_code == 422


def test_unknown_json_fields_are_refused(client: TestClient, world: TestWorld) -> None:
    response = client.post(
        f"/api/v1/organisations/{world.orgs['bank']}/keys",
        json={"name": "k", "admin": True},
        headers=bearer(world.keys["officer"]),
    )
    assert response.status_code == 422 and response.json()["field"] == "admin"


def _objects(schema: dict[str, Any], components: dict[str, Any]) -> Iterator[tuple[str, dict]]:  # type: ignore[type-arg]
    seen: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                stack.append(components[name])
                if components[name].get("type") == "object":
                    yield name, components[name]
            continue
        for value in node.values():
            if isinstance(value, dict):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(value)


def test_every_json_request_model_refuses_unknown_fields(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    open_models = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            for name, model in _objects(schema, components):
                if model.get("additionalProperties") is not False:
                    open_models.add(f"{name} ({method.upper()} {path})")
    assert not open_models, sorted(open_models)
