"""The Flask pieces of ``create_app`` (web/flaskapp.py): no sessions, so no cookie, ever."""

from __future__ import annotations

import pytest
from flask import session

from locator.web.flaskapp import LocatorFlask, NoSessions


@pytest.mark.parametrize("method, url, data", [
    ("GET", "/", None),
    ("GET", "/?q=" + "1 place d'armes metz", None),
    ("GET", "/?lang=en", None),
    ("POST", "/", {"q": "1 place d'armes metz"}),
    ("GET", "/widget", None),
    ("POST", "/widget", {"q": "<script>"}),
    ("GET", "/api/v1/lookup?q=" + "1 place d'armes metz", None),
    ("GET", "/api/v1/lookup?lon=6.1757&lat=49.1196", None),
    ("GET", "/api/v1/lookup", None),
    ("GET", "/api/v1/autocomplete?q=metz", None),
    ("GET", "/api/v1/bureaux/57463_1", None),
    ("GET", "/healthz", None),
    ("GET", "/nowhere", None),
    ("OPTIONS", "/api/v1/lookup", None),
])
def test_no_response_ever_sets_a_cookie_even_to_a_client_sending_one(client, method, url, data):
    client.set_cookie("session", "eyJ4IjoxfQ.forged")
    r = client.open(url, method=method, data=data)
    assert r.status_code < 500
    assert "Set-Cookie" not in r.headers
    assert "Cookie" not in r.headers.get("Vary", "")


def test_every_request_gets_the_one_empty_session_that_refuses_writes(app):
    assert isinstance(app, LocatorFlask) and isinstance(app.session_interface, NoSessions)
    seen = []
    for _ in range(2):
        with app.test_request_context("/", headers={"Cookie": "session=eyJ4IjoxfQ.forged"}):
            assert dict(session) == {}
            with pytest.raises(RuntimeError):
                session["voter"] = "12 rue de la Gare"
            seen.append(session._get_current_object())
    assert seen[0] is seen[1] and app.session_interface.is_null_session(seen[0])
