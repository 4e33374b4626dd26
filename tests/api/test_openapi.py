"""The OpenAPI document, without servers: examples everywhere, and each fits its schema."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from services.api.app import create_app
from services.api.settings import ApiSettings

SPEC: dict[str, Any] = create_app(ApiSettings(api_keys="*:k")).openapi()
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
MODELS = sorted(
    name
    for name, schema in SCHEMAS.items()
    if schema.get("type") == "object" and not name.startswith("Page_")
)


def validator(name: str) -> Draft202012Validator:
    # The whole document as the root, so the component's $refs resolve.
    return Draft202012Validator({**SPEC, "$ref": f"#/components/schemas/{name}"})


@pytest.mark.parametrize("name", MODELS)
def test_every_model_has_an_example_that_fits_it(name: str) -> None:
    examples = SCHEMAS[name].get("examples")
    assert examples, f"{name} has no example"
    for example in examples:
        errors = [e.message for e in validator(name).iter_errors(example)]
        assert not errors, f"{name}: {errors}"


def test_every_operation_documents_its_answers() -> None:
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            ok = [code for code in responses if code.startswith("2")]
            assert ok, f"{method} {path}"
            if path.startswith("/v1/"):
                for code in ("401", "422", "503"):
                    body = responses[code]["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/ErrorBody"}, (path, code)


def test_a_replay_documents_that_an_original_may_be_gone() -> None:
    responses = SPEC["paths"]["/v1/dead-letters/{letter_id}/replay"]["post"]["responses"]
    gone = responses["410"]
    assert gone["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert "no longer has it" in gone["description"]
    row = SCHEMAS["DeadLetterRow"]["properties"]
    assert {"raw_stored", "raw_size", "raw_sha256", "raw_head"} <= set(row)


def test_every_v1_operation_declares_the_bearer_key_and_a_readable_operation_id() -> None:
    scheme = SPEC["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    ids = []
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            ids.append(operation["operationId"])
            # camelCase words, no path or method glued on (FastAPI's default id).
            assert operation["operationId"].isalnum(), (method, path)
            if path.startswith("/v1/"):
                assert operation["security"] == [{"apiKey": []}], (method, path)
            else:
                assert "security" not in operation, (method, path)  # probes need no key
    assert len(ids) == len(set(ids))
    assert {"listJobs", "getJob", "createJob", "cancelJob", "listJobItems"} <= set(ids)
