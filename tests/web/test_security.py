"""Headers, framing, size limits and the privacy of the logs."""

from __future__ import annotations

import logging

import pytest

from locator import DataError, Locator, Settings
from locator.geocoding.fake import FakeGeocoder
from locator.web import create_app
from locator.web.security import (
    content_security_policy,
    frame_ancestors_value,
    rate_limit_storage_uri,
    tiles_source,
)

from .conftest import ANSWERS, MONTIGNY


def csp(response) -> dict:
    out = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


@pytest.mark.parametrize("url", ["/", "/integration", "/api/v1/bureaux", "/healthz", "/nulle-part",
                                 "/api/v1/lookup?q=", "/static/locator.css", "/embed.js"])
def test_every_response_but_the_widget_refuses_framing(client, url):
    r = client.get(url)
    assert csp(r)["frame-ancestors"] == "'none'", url
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("url", ["/api/v1/lookup?lon=6.2&lat=49.1", "/api/v1/bureaux", "/api/v1/nulle-part"])
def test_api_json_gets_the_locked_down_csp_and_no_document_headers(client, url):
    r = client.get(url)
    assert csp(r) == {"default-src": "'none'", "frame-ancestors": "'none'"}
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Permissions-Policy" not in r.headers and "Cross-Origin-Opener-Policy" not in r.headers
    assert "Permissions-Policy" in client.get("/").headers  # pages keep them


def test_result_pages_refuse_framing_too(client):
    r = client.post("/recherche", data={"q": "Metz"})
    assert csp(r)["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("method,url", [("GET", "/widget"), ("POST", "/widget"), ("GET", "/widget?lang=en")])
def test_the_widget_may_be_framed_by_any_site_by_default(client, method, url):
    r = client.open(url, method=method, data={"q": "Montigny-lès-Metz"} if method == "POST" else None)
    assert csp(r)["frame-ancestors"] == "*"
    assert "X-Frame-Options" not in r.headers


def test_widget_errors_stay_frameable(client):
    r = client.post("/widget", data={"q": "<script>"})
    assert r.status_code == 400
    assert csp(r)["frame-ancestors"] == "*"


def test_widget_frame_ancestors_come_from_settings(web_data_dir, web_locator):
    settings = Settings(data_dir=web_data_dir, widget_frame_ancestors=("https://mairie.example.fr",
                                                                       "https://*.parti.example"))
    client = create_app(settings, locator=web_locator).test_client()
    assert csp(client.get("/widget"))["frame-ancestors"] == "https://mairie.example.fr https://*.parti.example"
    assert csp(client.get("/"))["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("bad", ["https://ok.example; script-src *", "javascript:", "data:", "https://a b"])
def test_bad_frame_ancestor_settings_are_refused_at_start_up(bad):
    with pytest.raises(DataError):
        frame_ancestors_value((bad,))


def test_csp_has_no_inline_scripts_and_only_our_origin():
    policy = content_security_policy(frame_ancestors="'none'", tiles=None)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "connect-src 'self'" in policy


def test_tiles_origin_is_allowed_in_img_src_when_configured(web_data_dir, web_locator):
    assert tiles_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org"
    settings = Settings(data_dir=web_data_dir, tiles_url="https://tiles.example.org/{z}/{x}/{y}.png",
                        tiles_attribution="© contributeurs OpenStreetMap")
    client = create_app(settings, locator=web_locator).test_client()
    r = client.post("/recherche", data={"q": "Montigny-lès-Metz"})
    assert "https://tiles.example.org" in csp(r)["img-src"]
    assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in r.get_data(as_text=True)
    with pytest.raises(DataError):
        tiles_source("javascript:alert(1)")


def test_no_tiles_by_default_and_the_page_says_so(client):
    r = client.post("/recherche", data={"q": "Montigny-lès-Metz"})
    html = r.get_data(as_text=True)
    assert "data-tiles" not in html
    # said in plain words, not "fond de carte désactivé"
    assert "Cette carte ne montre pas les rues" in html and "Fond de carte" not in html
    assert csp(r)["img-src"] == "'self' data:"


def test_lookup_responses_are_never_cached(client):
    assert client.get("/api/v1/lookup?q=metz").headers["Cache-Control"] == "no-store"
    assert client.post("/recherche", data={"q": "metz"}).headers["Cache-Control"] == "no-store"


def test_the_access_log_has_status_latency_and_length_never_the_address(client, caplog):
    address = "Rue de la Gare 57950 Montigny-lès-Metz"
    with caplog.at_level(logging.DEBUG):
        client.get("/api/v1/lookup", query_string={"q": address})
        client.post("/recherche", data={"q": address})
        client.post("/widget", data={"q": address})
        client.get("/api/v1/autocomplete", query_string={"q": address})
        client.get("/api/v1/lookup", query_string={"lon": str(MONTIGNY[0]), "lat": str(MONTIGNY[1])})
    lines = [r.getMessage() for r in caplog.records if r.name == "locator.web.access"]
    assert len(lines) == 5
    assert lines[0].startswith("GET /api/v1/lookup 200 ")
    assert f"qlen={len(address)}" in lines[0]
    assert "ms" in lines[0]
    for needle in ("Gare", "Montigny", "57950", str(MONTIGNY[0]), "127.0.0.1"):
        assert needle not in caplog.text, needle


def test_the_access_log_does_not_log_unmatched_paths(client, caplog):
    with caplog.at_level(logging.INFO):
        client.get("/12-rue-de-la-gare-woippy")
    line = [r.getMessage() for r in caplog.records if r.name == "locator.web.access"][0]
    assert "gare" not in line.lower()
    assert "<no route>" in line


def test_request_bodies_are_limited(client):
    assert client.post("/recherche", data={"q": "a" * 20_000}).status_code == 413
    assert client.post("/widget", data={"q": "a" * 20_000}).status_code == 413
    many_fields = client.post("/recherche", data={f"f{i}": "x" for i in range(200)})
    assert many_fields.status_code == 400  # parsed (small), but there is no query in it


def test_proxy_fix_uses_forwarded_client_ip_only_when_configured(web_data_dir, web_locator):
    url = "/api/v1/lookup?lon=6.15&lat=49.1"
    direct = create_app(Settings(data_dir=web_data_dir, rate_limit="1/minute"), locator=web_locator).test_client()
    assert direct.get(url, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    # A client cannot dodge the limit by inventing X-Forwarded-For when no proxy is trusted.
    assert direct.get(url, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 429

    proxied = create_app(Settings(data_dir=web_data_dir, rate_limit="1/minute", trusted_proxies=1),
                         locator=web_locator).test_client()
    assert proxied.get(url, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    assert proxied.get(url, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    assert proxied.get(url, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 429


def test_rate_limit_storage_failure_lets_voters_through(web_data_dir, web_locator):
    # Nothing listens on this port: the limiter's storage fails and requests still pass.
    settings = Settings(data_dir=web_data_dir, rate_limit="1/minute", rate_limit_storage="redis://127.0.0.1:9/0")
    client = create_app(settings, locator=web_locator).test_client()
    assert [client.get("/api/v1/lookup?lon=6.15&lat=49.1").status_code for _ in range(3)] == [200, 200, 200]


def test_rate_limit_counters_can_live_in_redis_shared_by_servers(web_data_dir, web_locator, tmp_path):
    # Two apps (two gunicorn workers or two machines) on one Redis share each IP's budget.
    from locator.geocoding.redis_server import EmbeddedRedis

    with EmbeddedRedis(tmp_path / "redis", "limits.rdb") as redis_server:
        settings = Settings(data_dir=web_data_dir, rate_limit="2/minute",
                            rate_limit_storage=f"redis+unix://{redis_server.socket_path}")
        first = create_app(settings, locator=web_locator).test_client()
        second = create_app(settings, locator=web_locator).test_client()
        url = "/api/v1/lookup?lon=6.15&lat=49.1"
        assert first.get(url).status_code == 200
        assert second.get(url).status_code == 200
        assert first.get(url).status_code == 429
        assert second.get(url).status_code == 429
        assert redis_server.client().dbsize() > 0


class EmbeddedStandIn(FakeGeocoder):
    """The fake geocoder plus what the embedded one exposes to the web layer: its redis-server's
    socket (``redis_socket_path``) as the chain's ``embedded`` backend."""

    def __init__(self, socket_path):
        super().__init__(ANSWERS, match="prefix", name="embedded")
        self.redis_socket_path = socket_path
        self.settings = Settings()

    def backend(self, name):
        return self if name == "embedded" else None


def test_rate_limit_counters_default_to_the_embedded_geocoders_redis_shared_by_workers(web_data_dir, tmp_path):
    # No LOCATOR_RATE_LIMIT_STORAGE: two workers of one server (forked after the geocoder's
    # redis-server started) count each IP once, in a database apart from the index.
    from locator.geocoding.redis_server import EmbeddedRedis

    with EmbeddedRedis(tmp_path / "redis", "addok.rdb") as redis_server:
        geocoder = EmbeddedStandIn(redis_server.socket_path)
        settings = Settings(data_dir=web_data_dir, rate_limit="2/minute")
        assert settings.rate_limit_storage is None
        locator = Locator.from_data_dir(web_data_dir, settings=settings, geocoder=geocoder)
        assert rate_limit_storage_uri(settings, geocoder) == f"redis+unix://{redis_server.socket_path}?db=1"
        first = create_app(settings, locator=locator).test_client()
        second = create_app(settings, locator=locator).test_client()
        url = "/api/v1/lookup?lon=6.15&lat=49.1"
        assert [first.get(url).status_code, second.get(url).status_code] == [200, 200]
        assert [first.get(url).status_code, second.get(url).status_code] == [429, 429]
        client = redis_server.client()
        assert client.dbsize() == 0  # the index's database is untouched
        client.select(1)
        assert client.dbsize() > 0


def test_without_embedded_redis_the_counters_are_per_worker_and_the_log_says_so(web_data_dir, web_locator,
                                                                                   caplog):
    settings = Settings(data_dir=web_data_dir)
    with caplog.at_level("WARNING", logger="locator.web.security"):
        create_app(settings, locator=web_locator)
    assert rate_limit_storage_uri(settings, web_locator.geocoder) == "memory://"
    assert "per worker" in caplog.text
    assert rate_limit_storage_uri(settings.replace(rate_limit_storage="redis://cache:6379/2"),
                                  web_locator.geocoder) == "redis://cache:6379/2"


def test_with_an_external_redis_for_the_geocoder_the_counters_go_there_too():
    geocoder = EmbeddedStandIn(None)
    geocoder.settings = Settings(redis_url="redis://cache:6379/3")
    assert rate_limit_storage_uri(Settings(), geocoder) == "redis://cache:6379/3"


def test_a_unix_socket_redis_url_is_given_to_limits_in_its_own_scheme(tmp_path):
    # redis-py reads unix:///path; limits refuses that scheme and reads redis+unix:///path: the
    # service used to fail at start-up with LOCATOR_REDIS_URL=unix://… and no rate-limit storage.
    from locator.geocoding.redis_server import EmbeddedRedis
    from locator.web.security import RateLimits

    with EmbeddedRedis(tmp_path / "redis", "addok.rdb") as redis_server:
        geocoder = EmbeddedStandIn(None)
        geocoder.settings = Settings(redis_url=f"unix://{redis_server.socket_path}?db=1")
        uri = rate_limit_storage_uri(Settings(), geocoder)
        assert uri == f"redis+unix://{redis_server.socket_path}?db=1"
        limits = RateLimits("2/minute", uri)
        assert limits.storage.check()


def test_the_default_limit_leaves_room_for_a_shared_address():
    # A mairie's public terminal or a mobile operator's NAT: dozens of voters behind one IP.
    from limits import parse_many

    [limit] = parse_many(Settings().rate_limit)
    assert limit.amount / limit.get_expiry() * 60 >= 600
