"""Take the README screenshots of the page and the widget (run by hand, not by CI).

    python docs/screenshots/capture.py [--out docs/screenshots]

Serves the committed Moselle data with the embedded geocoder (index built in a temporary
folder) on 127.0.0.1, and drives Debian's Chromium with Playwright.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from locator import Settings
from locator.web import create_app, load_locator

ROOT = Path(__file__).resolve().parents[2]


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # request lines carry addresses
        pass

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _host_page(base: str):
    snippet = (f'<div data-bureau-de-vote data-lang="fr" data-departement="57" data-colour="7a1f5c"></div>'
               f'<script src="{base}/embed.js" async></script>')

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [("<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Mairie d'exemple</title></head>"
                 "<body style='font-family:sans-serif;max-width:640px;margin:1rem auto'>"
                 "<h1>Élections : où voter ?</h1><p>Le site d'une mairie ou d'un parti, qui intègre le widget :</p>"
                 f"{snippet}</body></html>").encode()]
    return app


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--address", default="25 rue du Maréchal-Foch, Algrange")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as index_dir:
        settings = Settings(data_dir=ROOT / "data", index_dir=Path(index_dir), rate_limit="1000/minute")
        locator = load_locator(settings)
        server = make_server("127.0.0.1", 0, create_app(settings, locator=locator), threaded=True,
                             request_handler=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
                phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
                phone.goto(base + "/")
                phone.fill("#q", args.address)
                phone.click("button[type=submit]")
                phone.wait_for_selector(".map[data-outline='1']")
                phone.screenshot(path=str(args.out / "page-phone.png"), full_page=True)

                # The widget as another site embeds it: the documented snippet on a page of
                # another origin (another port), resized by embed.js.
                host = make_server("127.0.0.1", 0, _host_page(base), threaded=True)
                threading.Thread(target=host.serve_forever, daemon=True).start()
                desk = browser.new_page(viewport={"width": 760, "height": 700})
                desk.goto(f"http://127.0.0.1:{host.server_port}/")
                frame = desk.frame_locator("iframe")
                frame.locator("#q").fill("Woippy")
                frame.locator("button[type=submit]").click()
                frame.locator(".map[data-outline='1']").wait_for()
                desk.wait_for_function("document.querySelector('iframe').getBoundingClientRect().height > 600")
                desk.screenshot(path=str(args.out / "widget.png"), full_page=True)
                host.shutdown()

                nojs = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
                page = nojs.new_page()
                page.goto(base + "/")
                page.fill("#q", "Saint-Avold")
                page.click("button[type=submit]")
                page.screenshot(path=str(args.out / "page-nojs.png"), full_page=True)
                browser.close()
        finally:
            server.shutdown()
            locator.geocoder.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
