"""Locust file for ``bench.bench_load``: an election-day request mix at fixed rates per phase.

Not run by itself: ``python -m bench.bench_load`` starts the server and runs locust on this
file with ``LOAD_PHASES`` (``seconds:rate,seconds:rate,...``) and ``LOAD_RECORD`` (where every
request's start, latency and status are written as JSON lines when locust quits).

The mix (weights of the tasks): ~60 % address lookups drawn from the Moselle communes
weighted by population (commune names and mairie addresses, typed as people type: lower case,
accents dropped, abbreviations, some typos; many repeats), ~20 % points over the département,
~10 % autocomplete prefixes, ~10 % pages and static files.
"""

from __future__ import annotations

import json
import os
import random
import time
import unicodedata
from pathlib import Path

from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task

ROOT = Path(__file__).resolve().parent.parent
#: Each simulated voter sends this many requests a second: rate = users × this.
PER_USER_RPS = 5.0
#: Moselle's bounding box (lon, lat): some points fall outside every commune (honest 404s).
BBOX = (5.89, 48.53, 7.64, 49.52)
PAGES = ["/", "/widget", "/embed.js", "/static/locator.css", "/static/locator.js", "/integration",
         "/vendor/leaflet/leaflet.js"]
ABBREVIATIONS = [(" rue ", " r "), ("saint", "st"), (" avenue ", " av "), (" place ", " pl "),
                 ("sainte", "ste"), (" boulevard ", " bd ")]


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _typed(text: str, rng: random.Random) -> str:
    """How a voter types it: often lower case without accents, sometimes abbreviated or with
    one swapped pair of letters."""
    if rng.random() < 0.7:
        text = _fold(text).lower()
    if rng.random() < 0.3:
        for long, short in ABBREVIATIONS:
            text = text.replace(long, short)
    if rng.random() < 0.1 and len(text) > 6:
        i = rng.randrange(1, len(text) - 2)
        text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


def _population():
    doc = json.loads((ROOT / "data" / "communes" / "57.geojson").read_text(encoding="utf-8"))
    names, addresses, weights = [], [], []
    for f in doc["features"]:
        p = f["properties"]
        names.append(p["nom"])
        addresses.append((p.get("mairie_adresse") or p["nom"]).replace("\n", " "))
        weights.append(max(int(p.get("population") or 1), 1))
    return names, addresses, weights


NAMES, ADDRESSES, WEIGHTS = _population()
RNG = random.Random(14)
#: A day's queries: drawn once by population, so popular communes repeat as they would.
QUERIES = [_typed(RNG.choices(ADDRESSES if RNG.random() < 0.6 else NAMES, WEIGHTS)[0], RNG) for _ in range(5000)]
PREFIXES = [q[:n] for q in QUERIES[:1000] for n in (3, 6, 10) if len(q) >= n]
RECORDS: list[tuple[float, float, int, str]] = []


class Voter(FastHttpUser):
    wait_time = constant_throughput(PER_USER_RPS)

    def on_start(self):
        self.rng = random.Random()

    @task(60)
    def address(self):
        self.client.get("/api/v1/lookup", params={"q": self.rng.choice(QUERIES)}, name="address")

    @task(20)
    def point(self):
        lon = self.rng.uniform(BBOX[0], BBOX[2])
        lat = self.rng.uniform(BBOX[1], BBOX[3])
        self.client.get("/api/v1/lookup", params={"lon": f"{lon:.5f}", "lat": f"{lat:.5f}"}, name="point")

    @task(10)
    def autocomplete(self):
        self.client.get("/api/v1/autocomplete", params={"q": self.rng.choice(PREFIXES)}, name="autocomplete")

    @task(10)
    def page(self):
        self.client.get(self.rng.choice(PAGES), name="page")


def _phases():
    spec = os.environ.get("LOAD_PHASES", "60:100")
    return [(float(s), float(r)) for s, r in (p.split(":") for p in spec.split(","))]


class Phases(LoadTestShape):
    """Fixed request rates, one per phase: users = rate / PER_USER_RPS, all spawned at once."""

    def tick(self):
        elapsed = self.get_run_time()
        for seconds, rate in _phases():
            if elapsed < seconds:
                users = max(1, round(rate / PER_USER_RPS))
                return users, users
            elapsed -= seconds
        return None


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None,
            start_time=None, **_kw):
    status = getattr(response, "status_code", 0) or 0
    RECORDS.append((start_time or time.time(), response_time, int(status), name))


@events.quitting.add_listener
def _dump(environment, **_kw):
    path = os.environ.get("LOAD_RECORD")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            for r in RECORDS:
                fh.write(json.dumps(r) + "\n")
