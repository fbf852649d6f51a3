"""Pages rendered once and static files served from memory: a kept response is the one a
fresh render or ``send_from_directory`` gives (bytes, headers and their order, status),
conditional and range requests included."""

from __future__ import annotations

import email.utils
import os
import time

import pytest
from flask import Flask, send_from_directory

from locator.web import create_app
from locator.web.files import StaticFiles
from locator.web.pages import RenderedPages

#: Headers whose value is the time the response was made.
CLOCK = ("Date", "Expires")

CONSTANT_PAGES = [
    ("/", {}), ("/?lang=en", {}), ("/?lang=xx", {}), ("/integration", {}), ("/integration?lang=en", {}),
    ("/integration", {"base_url": "https://example.org:8443/sub"}),
    ("/widget", {}), ("/widget?lang=en&colour=c00&departement=57&map=0", {}), ("/widget?colour=nope", {}),
    ("/widget", {"base_url": "http://localhost/prefix"}),
]
FILES = ["/static/locator.css", "/static/locator.js?v=1", "/static/favicon.svg", "/embed.js",
         "/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css", "/vendor/leaflet/images/marker-icon.png"]


def without_clock(response) -> list:
    return [(k, "" if k in CLOCK else v) for k, v in response.headers.items()]


@pytest.fixture
def fresh_client(web_locator, web_settings):
    """An app that renders every page again (templates reloaded, as in debug mode)."""
    app = create_app(web_settings, locator=web_locator, test_config={"TESTING": True, "TEMPLATES_AUTO_RELOAD": True})
    return app.test_client()


@pytest.mark.parametrize(("path", "kw"), CONSTANT_PAGES)
def test_a_kept_page_is_the_fresh_render(client, fresh_client, path, kw):
    fresh = fresh_client.get(path, **kw)
    for _ in range(3):  # the first renders and keeps it, the next ones are the kept text
        kept = client.get(path, **kw)
        assert (kept.status_code, without_clock(kept), kept.data) == (fresh.status_code, without_clock(fresh),
                                                                      fresh.data)
    assert client.head(path, **kw).headers == kept.headers


def test_pages_differ_by_language_options_and_host(client):
    bodies = {client.get(path, **kw).data for path, kw in CONSTANT_PAGES}
    # ?lang=xx is the French page, a bad colour the default one
    assert len(bodies) == len(CONSTANT_PAGES) - 2
    assert b"https://example.org:8443/embed.js" in client.get("/integration",
                                                                 base_url="https://example.org:8443/sub").data


def test_the_page_language_switch_and_widget_posts_are_not_kept(client):
    client.get("/widget")
    posted = client.post("/widget", data={"q": "Montigny-lès-Metz"})
    assert posted.status_code == 200 and b"Montigny" in posted.data
    assert b"Montigny" not in client.get("/widget").data


def test_rendered_pages_keep_at_most_their_limit():
    pages = RenderedPages(limit=3)
    for i in range(5):
        assert pages.get(("k", i), lambda i=i: f"page {i}") == f"page {i}"
    assert list(pages._pages) == [("k", 2), ("k", 3), ("k", 4)]
    assert pages.get(("k", 4), lambda: "rendered again") == "page 4"


@pytest.mark.parametrize("path", FILES)
def test_a_file_from_memory_is_what_send_from_directory_gives(client, path):
    first = client.get(path)  # through send_from_directory, then kept
    assert first.status_code == 200
    for _ in range(2):
        kept = client.get(path)
        assert (kept.status_code, without_clock(kept), kept.data) == (200, without_clock(first), first.data)
        date = email.utils.parsedate_to_datetime(kept.headers["Date"]).timestamp()
        assert abs(date - time.time()) < 5
        max_age = kept.cache_control.max_age
        assert email.utils.parsedate_to_datetime(kept.headers["Expires"]).timestamp() - date == max_age
    head = client.head(path)
    assert head.data == b"" and without_clock(head) == without_clock(first)


@pytest.mark.parametrize("path", FILES)
def test_conditional_and_range_requests_of_a_kept_file_are_werkzeugs(client, path):
    first = client.get(path)
    client.get(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).data == first.data
    partial = client.get(path, headers={"Range": "bytes=0-9"})
    assert (partial.status_code, partial.data) == (206, first.data[:10])
    assert client.get(path, headers={"Range": "bytes=99999999-"}).status_code == 416
    assert client.get(path, headers={"If-Match": '"other"'}).status_code == 412


def kept_files(app, name: str) -> set[str]:
    return {os.path.basename(path) for path, _, _ in app.extensions[name]._files}


def test_a_file_asked_under_two_spellings_is_kept_once(app, client):
    plain = [client.get("/vendor/leaflet/leaflet.css") for _ in range(2)]
    other = [client.get("/vendor/leaflet/images/../leaflet.css") for _ in range(2)]
    assert len(app.extensions["locator_leaflet"]._files) == 1
    assert {r.data for r in plain + other} == {plain[0].data}
    assert {tuple(without_clock(r)) for r in plain + other} == {tuple(without_clock(plain[0]))}


def test_missing_files_and_escapes_stay_404(client):
    for path in ("/static/nope.js", "/static/../__init__.py", "/vendor/leaflet/nope", "/vendor/leaflet/../../x"):
        assert client.get(path).status_code == 404
        assert client.get(path).status_code == 404


def test_a_file_changed_on_disk_is_read_again_with_its_new_etag(tmp_path):
    app = Flask(__name__)
    files = StaticFiles(tmp_path)
    app.add_url_rule("/f/<path:name>", "f", lambda name: files.send(name, max_age=60))
    (tmp_path / "a.css").write_text("a { color: red }")
    client = app.test_client()
    first, kept = client.get("/f/a.css"), client.get("/f/a.css")
    assert kept.data == first.data == b"a { color: red }" and kept.headers["ETag"] == first.headers["ETag"]
    (tmp_path / "a.css").write_text("a { color: blue; }")
    stat = os.stat(tmp_path / "a.css")
    os.utime(tmp_path / "a.css", ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    changed = client.get("/f/a.css")
    assert changed.data == b"a { color: blue; }" and changed.headers["ETag"] != first.headers["ETag"]
    with app.test_request_context("/f/a.css"):
        direct = send_from_directory(tmp_path, "a.css", max_age=60)
        direct.direct_passthrough = False
        assert without_clock(client.get("/f/a.css")) == without_clock(direct)
    (tmp_path / "a.css").unlink()
    assert client.get("/f/a.css").status_code == 404


def test_the_warm_up_keeps_the_pages_and_the_files_every_page_links(app, web_locator):
    from locator.cli.serve import warm_up

    warm_up(app, web_locator)
    assert {"locator.css", "locator.js", "favicon.svg"} <= kept_files(app, "locator_static")
    assert {"leaflet.css", "leaflet.js"} <= kept_files(app, "locator_leaflet")
    assert {key[0] for key in app.extensions["locator_pages"]._pages} >= {"pages.index", "widget.widget",
                                                                          "pages.integration"}
