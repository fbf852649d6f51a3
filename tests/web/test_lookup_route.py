"""``GET /api/v1/lookup`` answered in front of Flask (``lookuproute.LookupRoute``): each request
gets the status, headers (and their order) and body Flask alone gives it; the plain ones are
answered without Flask, the others are Flask's; the rate limit counts each request once."""

from __future__ import annotations

import logging
import re

import pytest
from werkzeug.test import EnvironBuilder

from locator import Locator, Settings
from locator.web import create_app
from locator.web.lookuproute import LookupRoute

#: Requests the route answers itself: (query string, expected status code).
PLAIN = [
    ("q=1+place+d%27armes+metz", 200),                  # ok
    ("q=rue+de+la+gare", 200),                          # ambiguous: candidates
    ("q=10+rue+du+Sablon+Metz&lang=en", 200),
    ("q=nulle+part+du+tout", 404),                      # not found
    ("q=thionville", 404),                              # outside the data
    ("q=", 400), ("", 400), ("q=%3Cscript%3E", 400), ("q=" + "a" * 250, 400), ("q=%21%21", 400),
    ("q=%FF%FE", 404),                                  # escapes that are not UTF-8 stay escaped
    ("lon=6.1757&lat=49.1196", 200), ("lon=6.1757", 400), ("lon=abc&lat=49", 400),
    ("q=metz&lon=6.1&lat=49.1", 400),
    ("q=metz&departement=57", 200), ("q=metz&departement=2A", 404), ("q=metz&departement=999", 400),
    ("q=metz&q=woippy", 200),                           # the first value, as request.args.get
    ("q=woippy&foo=bar&q=metz", 200),
    ("q=Montigny-l%C3%A8s-Metz", 200), ("q=montigny+les+metz+%C2%A0", 200),
]

#: Requests the route leaves to Flask: (method, path, query string, headers).
LEFT_TO_FLASK = [
    ("HEAD", "/api/v1/lookup", "q=metz", {}),
    ("OPTIONS", "/api/v1/lookup", "q=metz", {"Origin": "https://example.org",
                                              "Access-Control-Request-Method": "GET"}),
    ("GET", "/api/v1/lookup", "q=metz", {"Origin": "https://example.org",
                                          "Access-Control-Request-Private-Network": "true"}),
    ("POST", "/api/v1/lookup", "q=metz", {}),
    ("GET", "/api/v1/lookup/", "q=metz", {}),
    ("GET", "/api/v1/autocomplete", "q=metz", {}),
]


def environ(path="/api/v1/lookup", query="", method="GET", headers=None, remote_addr="192.0.2.1"):
    env = EnvironBuilder(path=path, method=method, headers=headers or {},
                         environ_base={"REMOTE_ADDR": remote_addr}).get_environ()
    env["QUERY_STRING"] = query
    return env


def call(wsgi_app, env):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, list(headers)

    body_iter = wsgi_app(env, start_response)
    try:
        body = b"".join(body_iter)
    finally:
        if hasattr(body_iter, "close"):
            body_iter.close()
    return seen["status"], seen["headers"], body


class Spy:
    """Flask's WSGI app, counting the requests it gets."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.calls = wsgi_app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def route(app) -> LookupRoute:
    assert isinstance(app.wsgi_app, LookupRoute)
    app.wsgi_app.wsgi_app = Spy(app.wsgi_app.wsgi_app)
    return app.wsgi_app


def flask_alone(route):
    return route.wsgi_app.wsgi_app


def without_retry_after(headers):
    return [(k, v) for k, v in headers if k != "Retry-After"]


@pytest.mark.parametrize("query,code", PLAIN)
def test_a_plain_lookup_is_answered_in_front_as_flask_answers_it(route, query, code):
    ours = call(route, environ(query=query))
    assert route.wsgi_app.calls == 0, "answered without Flask"
    theirs = call(flask_alone(route), environ(query=query))
    assert ours == theirs
    assert int(ours[0].split()[0]) == code


@pytest.mark.parametrize("method,path,query,headers", LEFT_TO_FLASK)
def test_other_requests_are_flasks(route, method, path, query, headers):
    ours = call(route, environ(path, query, method, headers))
    assert route.wsgi_app.calls == 1
    assert ours == call(flask_alone(route), environ(path, query, method, headers))


def test_a_query_string_that_is_not_utf8_is_flasks_400(route):
    ours = call(route, environ(query="q=caf\xe9"))  # the raw byte 0xE9, as a server passes it
    assert route.wsgi_app.calls == 1
    assert ours == call(flask_alone(route), environ(query="q=caf\xe9"))
    assert ours[0].startswith("400")


def test_debug_mode_indented_json_is_flasks(web_locator, web_settings):
    app = create_app(web_settings, locator=web_locator, test_config={"TESTING": True, "DEBUG": True})
    spy = app.wsgi_app.wsgi_app = Spy(app.wsgi_app.wsgi_app)
    status, _headers, body = call(app.wsgi_app, environ(query="q=metz"))
    assert spy.calls == 1 and status.startswith("200") and b"\n  " in body


def test_a_request_through_flask_call_reaches_the_route(app, route):
    """``Flask.__call__`` (what gunicorn and the test client call) calls ``app.wsgi_app``: the route."""
    r = app.test_client().get("/api/v1/lookup?q=1+place+d'armes+metz")
    assert r.status_code == 200 and r.json["bureau"]["id"] == "57463_1"
    assert route.wsgi_app.calls == 0


def test_a_dead_geocoder_is_flasks_503_counted_once(web_data_dir, fake_geocoder):
    settings = Settings(data_dir=web_data_dir, rate_limit="5/minute")
    apps = [create_app(settings, locator=Locator.from_data_dir(web_data_dir, settings=settings,
                                                               geocoder=fake_geocoder), test_config={"TESTING": True})
            for _ in range(2)]
    fake_geocoder.fail = True
    ours = call(apps[0].wsgi_app, environ(query="q=1+place+d%27armes+metz"))
    theirs = call(apps[1].wsgi_app.wsgi_app, environ(query="q=1+place+d%27armes+metz"))
    assert ours == theirs and ours[0].startswith("503")
    assert dict(ours[1])["Retry-After"]
    assert [remaining(app, "192.0.2.1") for app in apps] == [4, 4]


def remaining(app, client) -> int:
    limits = app.extensions["locator_limiter"]
    item = limits.lookup[0]
    return limits.strategy.get_window_stats(item, limits.KEY_PREFIX, client, limits.LOOKUP_SCOPE).remaining


def test_the_rate_limit_counts_each_request_once_and_flask_answers_the_429(web_data_dir, web_locator):
    settings = Settings(data_dir=web_data_dir, rate_limit="3/minute")
    ours_app = create_app(settings, locator=web_locator, test_config={"TESTING": True})
    theirs_app = create_app(settings, locator=web_locator, test_config={"TESTING": True})
    spy = ours_app.wsgi_app.wsgi_app = Spy(ours_app.wsgi_app.wsgi_app)
    ours = [call(ours_app.wsgi_app, environ(query="q=metz")) for _ in range(5)]
    theirs = [call(theirs_app.wsgi_app.wsgi_app, environ(query="q=metz")) for _ in range(5)]
    assert [s for s, _, _ in ours] == ["200 OK"] * 3 + ["429 TOO MANY REQUESTS"] * 2
    assert spy.calls == 2  # only the refused ones went to Flask
    for (s1, h1, b1), (s2, h2, b2) in zip(ours, theirs, strict=True):
        assert (s1, without_retry_after(h1), b1) == (s2, without_retry_after(h2), b2)
        assert ("Retry-After" in dict(h1)) == ("Retry-After" in dict(h2))
    assert 1 <= int(dict(ours[-1][1])["Retry-After"]) <= 61
    assert remaining(ours_app, "192.0.2.1") == remaining(theirs_app, "192.0.2.1") == 0
    # another client still passes: the key is the client's
    assert call(ours_app.wsgi_app, environ(query="q=metz", remote_addr="192.0.2.2"))[0] == "200 OK"


def test_behind_a_proxy_the_route_limits_the_forwarded_client(web_data_dir, web_locator):
    settings = Settings(data_dir=web_data_dir, rate_limit="1/minute", trusted_proxies=1)
    app = create_app(settings, locator=web_locator, test_config={"TESTING": True})

    def get(forwarded_for):
        return call(app.wsgi_app, environ(query="q=metz", headers={"X-Forwarded-For": forwarded_for},
                                          remote_addr="10.0.0.1"))[0]

    assert [get("203.0.113.9"), get("203.0.113.9"), get("203.0.113.10")] == [
        "200 OK", "429 TOO MANY REQUESTS", "200 OK"]


def test_the_access_log_line_is_the_one_flask_writes(route, caplog):
    def lines():
        return [re.sub(r" [0-9.]+ms ", " <t>ms ", r.getMessage()) for r in caplog.records
                if r.name == "locator.web.access"]

    with caplog.at_level(logging.INFO, logger="locator.web.access"):
        for query in ("q=1+place+d%27armes+metz", "q=", "lon=6.1757&lat=49.1196"):
            call(route, environ(query=query))
            call(flask_alone(route), environ(query=query))
    logged = lines()
    assert logged[0::2] == logged[1::2]
    assert logged[0::2] == ["GET /api/v1/lookup 200 <t>ms qlen=20", "GET /api/v1/lookup 400 <t>ms qlen=0",
                            "GET /api/v1/lookup 200 <t>ms qlen=13"]
