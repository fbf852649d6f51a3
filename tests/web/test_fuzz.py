"""Bad input, generated: the API fuzzed from its own OpenAPI document with schemathesis (a
small example budget here; ``scripts/fuzz_api.py`` sends 10,000+ requests to a real server),
and the HTML routes fed hypothesis strings and classic hostile payloads. Never a 5xx, every
API response as documented, nothing reflected unescaped."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locator import Locator, Settings
from locator.web import create_app

from .conftest import fake_geocoder_of_the_web_data

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")

#: Response checks: no 5xx, status codes, content types, bodies and headers as documented.
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance")


@pytest.fixture(scope="module")
def fuzz_app(web_data_dir):
    settings_ = Settings(data_dir=web_data_dir, rate_limit="10000000/minute")
    locator = Locator.from_data_dir(web_data_dir, settings=settings_, geocoder=fake_geocoder_of_the_web_data())
    return create_app(settings_, locator=locator, test_config={"TESTING": True})


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


def _checks():
    from schemathesis import checks

    return [getattr(checks, name) for name in CHECKS]


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_generated_api_request_is_answered_as_the_openapi_document_says(case):
    case.call_and_validate(checks=_checks())


# -- the HTML routes -------------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    "\u202egnp.exe",                     # RTL override
    "Metz\x00<b>",                       # NUL byte
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%253Cscript%253E",
    "\ufeff<svg/onload=alert(1)>",
    "a" * 10_000,
    "1 place d'Armes" + "\u0301" * 500,
]
ROUTES = ["/", "/recherche", "/widget", "/integration"]
DANGEROUS = ("<script>alert", "<img src=x", "<svg/onload", "onerror=alert", "onmouseover='alert")


def assert_safe(response, payload: str) -> None:
    assert response.status_code < 500, (response.status_code, payload[:80])
    body = response.get_data(as_text=True)
    for marker in DANGEROUS:
        if marker in payload:
            assert marker not in body, (marker, payload[:80])


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_classic_payloads_on_the_html_routes_are_never_a_5xx_nor_reflected(fuzz_app, route, payload):
    client = fuzz_app.test_client()
    assert_safe(client.get(route, query_string={"q": payload, "lang": payload}), payload)
    if route in ("/recherche", "/widget"):
        assert_safe(client.post(route, data={"q": payload}), payload)


@pytest.mark.parametrize("route", ROUTES)
def test_huge_and_broken_requests_on_the_html_routes_are_refused_not_a_5xx(fuzz_app, route):
    client = fuzz_app.test_client()
    big = "q=" + "a" * 1_000_000
    assert client.get(f"{route}?{big}").status_code < 500
    assert client.post(route, data=big.encode(), content_type="application/x-www-form-urlencoded").status_code < 500
    # invalid UTF-8 and broken percent-encoding, in the query string and the body
    for raw in (b"q=%ff%fe%c3%28", b"q=%%%zz", b"q=\xff\xfe", b"q=%C0%AE%C0%AE%2F"):
        # WSGI hands the raw query string over as latin-1 text
        assert client.get(route, environ_overrides={"QUERY_STRING": raw.decode("latin-1")}).status_code < 500
        assert client.post(route, data=raw, content_type="application/x-www-form-urlencoded").status_code < 500


@pytest.mark.parametrize("route", ROUTES)
@given(text=st.text(max_size=300))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_any_text_on_the_html_routes_is_never_a_5xx_nor_reflected_unescaped(fuzz_app, route, text):
    client = fuzz_app.test_client()
    payload = f"<i>{text}</i>"
    response = client.get(route, query_string={"q": payload})
    assert response.status_code < 500
    assert payload not in response.get_data(as_text=True) or "<" not in payload
