"""The OpenAPI 3.1 document is valid and describes what the routes really answer."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from locator import Settings
from locator.web import create_app
from locator.web.openapi import openapi_document

from .conftest import METZ_SOUTH, MONTIGNY, SCY, THIONVILLE, WOIPPY

DOC_URI = "urn:locator:openapi"


def _pt(lonlat):
    return f"lon={lonlat[0]}&lat={lonlat[1]}"


#: (url, expected HTTP status); each real response is validated against its documented schema.
CALLS = [
    ("/api/v1/lookup?" + _pt(MONTIGNY), 200),
    ("/api/v1/lookup?" + _pt(METZ_SOUTH), 200),
    ("/api/v1/lookup?" + _pt(WOIPPY), 200),
    ("/api/v1/lookup?" + _pt(SCY), 404),
    ("/api/v1/lookup?" + _pt(THIONVILLE), 404),
    ("/api/v1/lookup?q=Montigny-l%C3%A8s-Metz", 200),
    ("/api/v1/lookup?q=rue+de+la+gare", 200),
    ("/api/v1/lookup?q=metz", 200),
    ("/api/v1/lookup?q=Zzyzx", 404),
    ("/api/v1/lookup?q=", 400),
    ("/api/v1/lookup?lon=x&lat=1", 400),
    ("/api/v1/lookup?q=%3Cscript%3E", 400),
    ("/api/v1/sandbox/lookup?q=ok", 200),
    ("/api/v1/sandbox/lookup?q=nearest", 200),
    ("/api/v1/sandbox/lookup?q=ambiguous", 200),
    ("/api/v1/sandbox/lookup?q=not_found", 404),
    ("/api/v1/sandbox/lookup?q=outside_coverage", 404),
    ("/api/v1/sandbox/lookup?q=invalid", 400),
    ("/api/v1/sandbox/lookup?q=unavailable", 503),
    ("/api/v1/autocomplete?q=rue+de+la+gare", 200),
    ("/api/v1/autocomplete?q=me", 200),
    ("/api/v1/autocomplete?q=metz&limit=50", 400),
    ("/api/v1/bureaux", 200),
    ("/api/v1/bureaux?commune=57463", 200),
    ("/api/v1/bureaux?commune=1", 400),
    ("/api/v1/bureaux?commune=57672", 404),
    ("/api/v1/bureaux/57463_1", 200),
    ("/api/v1/bureaux/57751_1", 200),
    ("/api/v1/bureaux/nope", 404),
    ("/api/v1/bureaux/%3Cx%3E", 400),
    ("/api/v1/communes/57463", 200),
    ("/api/v1/communes/57", 400),
    ("/api/v1/communes/99999", 404),
    ("/api/v1/openapi.json", 200),
    ("/healthz", 200),
    ("/readyz", 200),
]


@pytest.fixture(scope="module")
def document():
    return openapi_document()


@pytest.fixture(scope="module")
def registry(document):
    return Registry().with_resource(DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _template_for(document, path: str) -> str:
    for template in document["paths"]:
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not documented")


def check_against_document(document, registry, response, path: str, method: str = "get"):
    template = _template_for(document, path)
    responses = document["paths"][template][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {template} answered {status}, not documented"
    content = responses[status]["content"]
    assert response.mimetype in content, f"{template} {status}: {response.mimetype} not documented"
    ref = f"{DOC_URI}#/" + _pointer("paths", template, method, "responses", status, "content", response.mimetype,
                                    "schema")
    Draft202012Validator({"$ref": ref}, registry=registry).validate(response.get_json())
    for header in responses[status].get("headers", {}):
        assert header in response.headers, f"{template} {status}: header {header} missing"
    return template


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_the_document_is_served(client, document):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.get_json() == document


@pytest.mark.parametrize("url,status", CALLS)
def test_real_responses_match_the_document(client, document, registry, url, status):
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    check_against_document(document, registry, r, url.split("?")[0])


def test_every_documented_path_is_exercised(document):
    exercised = {_template_for(document, url.split("?")[0]) for url, _ in CALLS}
    assert exercised == set(document["paths"])


def test_error_statuses_match_the_document(web_data_dir, web_locator, fake_geocoder, document, registry):
    fake_geocoder.fail = True
    client = create_app(Settings(data_dir=web_data_dir, rate_limit="1/minute"), locator=web_locator).test_client()
    for url in ("/api/v1/lookup?q=metz", "/api/v1/autocomplete?q=metz", "/readyz"):
        r = client.get(url)
        assert r.status_code == 503
        check_against_document(document, registry, r, url.split("?")[0])
    client.get("/api/v1/lookup?" + _pt(MONTIGNY))
    r = client.get("/api/v1/lookup?" + _pt(MONTIGNY))
    assert r.status_code == 429
    assert r.get_json()["status"] == "rate_limited"
    check_against_document(document, registry, r, "/api/v1/lookup")


def test_the_document_lists_rate_limited_among_the_statuses(document):
    assert "429 rate_limited" in document["info"]["description"]
    for path in ("/api/v1/lookup", "/api/v1/autocomplete", "/api/v1/sandbox/lookup"):
        answer = document["paths"][path]["get"]["responses"]["429"]
        assert "rate_limited" in answer["description"] and "Retry-After" in answer["headers"]


def test_the_schemas_do_reject_a_wrong_body(document, registry):
    ref = f"{DOC_URI}#/components/schemas/LookupResult"
    validator = Draft202012Validator({"$ref": ref}, registry=registry)
    assert not validator.is_valid({"status": "ok", "message": "x"})  # fields missing
    assert not validator.is_valid({"status": "maybe", "query": "x", "commune": None, "bureau": None,
                                   "distance_m": None, "method": None, "geocode": None, "candidates": [],
                                   "warnings": [], "mairie": None, "message": "x"})


def test_sandbox_and_real_lookups_share_one_schema(document):
    lookup = document["paths"]["/api/v1/lookup"]["get"]["responses"]
    sandbox = document["paths"]["/api/v1/sandbox/lookup"]["get"]["responses"]
    for status in ("200", "400", "404"):
        assert lookup[status]["content"] == sandbox[status]["content"]
