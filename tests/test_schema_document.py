"""The OpenAPI document the app serves is a valid OpenAPI 3.1 document, as
integrators' tools read it: `openapi-spec-validator` accepts it, `openapi-core`
loads it (the conformance tests, tests/test_schema_conformance.py, then hold
real replies to it), and no schema in it says "null" twice or contradicts
itself about null, which JSON Schema validators refuse or read differently.
"""

from __future__ import annotations

import copy

import pytest
from django.test import Client
from openapi_core import OpenAPI
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

SCHEMA_PATH = "/api/schema/?format=json"


@pytest.fixture(scope="module")
def published() -> dict:
    response = Client().get(SCHEMA_PATH)
    assert response.status_code == 200
    return response.json()


def null_problems(node, path: str = "#") -> list[str]:
    """Every place where a schema says null twice or contradicts itself."""
    problems = []
    if isinstance(node, list):
        for index, item in enumerate(node):
            problems += null_problems(item, f"{path}/{index}")
        return problems
    if not isinstance(node, dict):
        return problems
    types = node.get("type")
    listed = types if isinstance(types, list) else [types] if types else []
    if len(listed) != len(set(listed)):
        problems.append(f"{path}: type {types} repeats an item")
    if "nullable" in node:
        problems.append(f"{path}: 'nullable' is OpenAPI 3.0; 3.1 says null as a type")
    says_null = "null" in listed
    for keyword in ("oneOf", "anyOf"):
        members = node.get(keyword) or []
        null_members = [m for m in members if isinstance(m, dict) and m.get("type") == "null"]
        if says_null and null_members:
            problems.append(f"{path}: null both in type and in {keyword}")
        if len(null_members) > 1:
            problems.append(f"{path}: {keyword} holds null {len(null_members)} times")
    if listed and "enum" in node:
        if None in node["enum"] and not says_null:
            problems.append(f"{path}: enum allows null, type {types} does not")
        if says_null and None not in node["enum"]:
            problems.append(f"{path}: type {types} allows null, enum does not")
    if listed and "const" in node and node["const"] is None and not says_null:
        problems.append(f"{path}: const null, type {types} does not allow it")
    for key, value in node.items():
        if key not in ("enum", "const", "example", "examples", "default"):
            problems += null_problems(value, f"{path}/{key}")
    return problems


def test_the_served_document_is_valid_openapi_3_1(published):
    assert published["openapi"].startswith("3.1")
    validate(published)  # raises, naming the first invalid place


def test_it_loads_in_openapi_core(published):
    OpenAPI.from_dict(published)


def test_no_schema_says_null_twice_or_contradicts_itself(published):
    assert null_problems(published) == []


def test_the_checks_refuse_the_doubled_null_that_once_shipped(published):
    """The document of 2 December: `source` said ["string", "null", "null"]."""
    broken = copy.deepcopy(published)
    source = broken["components"]["schemas"]["SetDNCRequest"]["properties"]["source"]
    source["type"] = ["string", "null", "null"]
    assert null_problems(broken) == [
        "#/components/schemas/SetDNCRequest/properties/source: "
        "type ['string', 'null', 'null'] repeats an item"
    ]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_the_document_names_every_service_and_groups_every_operation(published):
    """A reader of the served document finds each envelope subtopic named on
    the one operation that takes them, and every operation under one of the
    three tags the document declares (not the path's default)."""
    from lcm.api.handlers import HANDLERS

    operation = published["paths"]["/api/lcm/webservice/"]["post"]
    for subtopic in HANDLERS:
        assert f"`{subtopic}`" in operation["description"], subtopic
    declared = [tag["name"] for tag in published["tags"]]
    assert declared == ["webservice", "dialer", "audit"]
    for path, operations in published["paths"].items():
        for method, op in operations.items():
            assert len(op["tags"]) == 1 and op["tags"][0] in declared, (method, path, op["tags"])
    assert "ComplianceCheck" in published["info"]["description"]
