"""The OpenAPI document says how to authenticate, documents every error as problem+json, and
types enumerations as enums."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

ERRORS = {"400", "401", "403", "404", "405", "409", "413", "422", "429"}


def _spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_security_schemes_and_public_routes(client: TestClient) -> None:
    spec = _spec(client)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    assert schemes["consoleSession"]["in"] == "cookie"
    assert spec["security"] == [{"apiKey": []}, {"partnerClient": []}, {"consoleSession": []}]
    assert (
        schemes["partnerClient"]["flows"]["clientCredentials"]["tokenUrl"] == "/api/v1/oauth/token"
    )
    assert spec["paths"]["/api/v1/transparency"]["get"]["security"] == []
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    assert "security" not in spec["paths"]["/api/v1/whoami"]["get"]  # the default: a key


def test_every_operation_documents_its_errors_as_problem_json(client: TestClient) -> None:
    spec = _spec(client)
    missing = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for status in ERRORS:
                content = op["responses"].get(status, {}).get("content", {})
                if "application/problem+json" not in content:
                    missing.append(f"{method.upper()} {path} {status}")
    assert not missing, missing[:10]
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_enumerations_are_enums(client: TestClient) -> None:
    spec = _spec(client)
    schemas = spec["components"]["schemas"]

    def enum_of(model: str, field: str) -> list[str]:
        prop = schemas[model]["properties"][field]
        if "$ref" in prop:
            prop = schemas[prop["$ref"].rsplit("/", 1)[-1]]
        if prop.get("type") == "array":
            item = prop["items"]
            prop = schemas[item["$ref"].rsplit("/", 1)[-1]] if "$ref" in item else item
        return list(prop["enum"])

    assert "active" in enum_of("AgreementOut", "state")
    assert "bank" in enum_of("OrganisationOut", "type")
    assert "caseworker" in enum_of("WhoAmI", "roles")
    assert "referred" in enum_of("CheckOut", "outcome")
    assert "right_to_work" in enum_of("AgreementIn", "purposes")
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert "anyOf" in params["state"] or "$ref" in params["state"]
