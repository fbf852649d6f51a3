"""The remote BAN/Géoplateforme geocoder, faked at geopy's adapter seam with recorded GeoCodeJSON."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from geopy.adapters import AdapterHTTPError, BaseSyncAdapter
from geopy.exc import GeocoderTimedOut
from geopy.extra.rate_limiter import RateLimiter

from locator import GeocodedPoint, Settings
from locator.config import BAN_LEGACY_URL, GEOPLATEFORME_URL
from locator.errors import GeocoderUnavailable
from locator.geocoding.remote import CircuitBreaker, RemoteGeocoder, split_url

from ..conftest import GEOCODING as FIXTURES

RECORDED = FIXTURES / "remote"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


class FakeAdapter(BaseSyncAdapter):
    """Replays answers: a dict (JSON), or an exception to raise, per call in order."""

    def __init__(self, answers, calls):
        super().__init__(proxies=None, ssl_context=None)
        self.answers = answers
        self.calls = calls

    def get_json(self, url, *, timeout, headers):
        self.calls.append({"url": url, "timeout": timeout, "headers": headers})
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_text(self, url, *, timeout, headers):  # pragma: no cover - BAN answers JSON
        raise NotImplementedError


def remote(*answers, settings=None, **kw):
    calls = []
    factory = lambda proxies, ssl_context: FakeAdapter(list(answers), calls)  # noqa: E731
    g = RemoteGeocoder(settings or Settings(), adapter_factory=factory, **kw)
    return g, calls


def http_error(status, headers=None):
    return AdapterHTTPError(f"HTTP {status}", status_code=status, headers=headers or {}, text="")


def test_recorded_answer_becomes_geocoded_points():
    g, calls = remote(recorded("search_serpenoise.json"))
    points = g.search("12 rue Serpenoise 57000 Metz", limit=2)
    assert points == [
        GeocodedPoint(label="12 Rue Serpenoise 57000 Metz", lon=6.172901, lat=49.116298, type="housenumber",
                      score=0.9712, citycode="57463", postcode="57000", source="remote"),
        GeocodedPoint(label="Rue Serpenoise 57000 Metz", lon=6.17312, lat=49.11642, type="street",
                      score=0.7016, citycode="57463", postcode="57000", source="remote"),
    ]
    url = urlsplit(calls[0]["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "data.geopf.fr", "/geocodage/search")
    assert parse_qs(url.query) == {"q": ["12 rue Serpenoise 57000 Metz"], "limit": ["2"]}
    assert calls[0]["timeout"] == Settings().remote_timeout_s


@pytest.mark.parametrize("url, scheme, netloc, path", [
    (GEOPLATEFORME_URL, "https", "data.geopf.fr", "/geocodage/search"),
    (BAN_LEGACY_URL, "https", "api-adresse.data.gouv.fr", "/search"),
    ("http://127.0.0.1:7878/", "http", "127.0.0.1:7878", "/search"),
])
def test_the_host_is_one_setting_away(url, scheme, netloc, path):
    g, calls = remote(recorded("search_empty.json"), settings=Settings(remote_url=url))
    g.search("Metz")
    got = urlsplit(calls[0]["url"])
    assert (got.scheme, got.netloc, got.path) == (scheme, netloc, path)


def test_filters_are_sent_as_the_api_names_them():
    g, calls = remote(recorded("search_vionville.json"))
    g.search("Vionville", citycode="57578", postcode="57130", limit=1)
    q = parse_qs(urlsplit(calls[0]["url"]).query)
    assert q["citycode"] == ["57578"] and q["postcode"] == ["57130"] and q["limit"] == ["1"]


def test_no_feature_is_an_empty_list():
    g, _ = remote(recorded("search_empty.json"))
    assert g.search("qsdkjqsdlkj") == []


def test_reverse():
    g, calls = remote(recorded("reverse_metz.json"))
    (p,) = g.reverse(6.17625, 49.11973)
    assert p.citycode == "57463" and p.type == "housenumber"
    assert urlsplit(calls[0]["url"]).path.endswith("/reverse")


@pytest.mark.parametrize("failure", [
    recorded("not_geocodejson.json"),
    recorded("malformed_feature.json"),
    "<html>maintenance</html>",
    http_error(500),
    http_error(502),
    http_error(503),
    GeocoderTimedOut("read timeout"),
    OSError("connection reset"),
], ids=["not-geocodejson", "malformed-feature", "html", "500", "502", "503", "timeout", "reset"])
def test_down_slow_or_garbage_is_geocoder_unavailable_from_the_cause(failure):
    g, _ = remote(failure)
    with pytest.raises(GeocoderUnavailable) as info:
        g.search("Metz")
    assert info.value.__cause__ is not None
    assert info.value.http_status == 503


def test_a_refused_query_is_nothing_found_not_an_outage():
    g, _ = remote(http_error(400))
    assert g.search("a") == []
    assert g.breaker.state == "closed"


def test_breaker_stops_calling_a_failing_host_then_tries_again_after_the_cooldown():
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cooldown_s=30, clock=lambda: now[0])
    g, calls = remote(http_error(503), breaker=breaker)
    for _ in range(3):
        with pytest.raises(GeocoderUnavailable):
            g.search("Metz")
    assert len(calls) == 3 and breaker.state == "open"
    with pytest.raises(GeocoderUnavailable, match="paused"):
        g.search("Metz")
    assert len(calls) == 3  # not called while open
    now[0] = 31.0
    g.api.adapter.answers[:] = [recorded("search_vionville.json")]
    assert g.search("Vionville")[0].citycode == "57578"
    assert breaker.state == "closed" and len(calls) == 4


def test_rate_limited_answer_opens_the_breaker_for_retry_after():
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cooldown_s=30, clock=lambda: now[0])
    g, _ = remote(http_error(429, {"retry-after": "120"}), breaker=breaker)  # adapters: case-insensitive headers
    with pytest.raises(GeocoderUnavailable, match="rate-limited"):
        g.search("Metz")
    now[0] = 60.0
    assert breaker.state == "open"
    now[0] = 121.0
    assert breaker.state == "half-open"


def test_batch_mode_goes_through_geopy_rate_limiter():
    g, _ = remote(recorded("search_empty.json"), settings=Settings(remote_max_rps=40), batch=True)
    assert isinstance(g._search, RateLimiter)
    assert g._search.min_delay_seconds == pytest.approx(1 / 40)
    assert g.search("Metz") == []


def test_bad_remote_url_is_refused():
    with pytest.raises(ValueError):
        split_url("ftp://example.org")


@pytest.mark.network
def test_live_national_api_finds_a_metz_address():
    with RemoteGeocoder(Settings()) as g:
        best = g.search("12 rue Serpenoise 57000 Metz", limit=1)[0]
    assert best.citycode == "57463" and best.type == "housenumber"
