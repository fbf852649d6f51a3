"""Locust file for ``bench.bench_load``: an election-day request mix, sent open loop at fixed
rates per phase.

Not run by itself: ``python -m bench.bench_load`` starts the server and runs locust on this
file with ``LOAD_PHASES`` (``seconds:rate,seconds:rate,...``) and ``LOAD_RECORD`` (where every
request's scheduled start, lateness, latency and status are written as JSON lines when locust
quits, and the generator's own CPU time next to it in ``LOAD_RECORD.cpu``).

Open loop: one scheduler greenlet starts request *i* at ``t0 + i / rate`` (piecewise over the
phases), each in its own greenlet, whether or not earlier requests have been answered: a slow
server does not slow the arrivals down (no coordinated omission). Latency is counted from the
scheduled start, so when the generator itself falls behind (it shares the cores) the delay is
charged to the request, and the lateness of each start is recorded so the bench can say how
well the schedule was kept. Requests go through geventhttpclient (the client under locust's
``FastHttpUser``) with one shared connection pool, without locust's per-request statistics:
locust runs the phases and the gevent loop.

The mix (weights): ~60 % address lookups drawn from the Moselle communes weighted by
population (commune names and mairie addresses, typed as people type: lower case, accents
dropped, abbreviations, some typos; many repeats), ~20 % points over the département, ~10 %
autocomplete prefixes, ~10 % pages and static files.
"""

from __future__ import annotations

import json
import os
import random
import resource
import time
import unicodedata
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import gevent
from gevent.pool import Group
from geventhttpclient import HTTPClient
from locust import LoadTestShape, User, constant, events, task

ROOT = Path(__file__).resolve().parent.parent
#: Seconds after the last phase for the last answers to come back before locust stops.
DRAIN_S = 8.0
#: A request not answered in this time counts as no answer (status 0).
TIMEOUT_S = 6.0
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
#: (scheduled start, lateness of the start ms, latency from the scheduled start ms, status, kind)
RECORDS: list[tuple[float, float, float, int, str]] = []
#: Scheduled starts the generator had not reached by the end of the last phase.
NOT_SENT: list[float] = []


def _phases():
    spec = os.environ.get("LOAD_PHASES", "60:100")
    return [(float(s), float(r)) for s, r in (p.split(":") for p in spec.split(","))]


def schedule(phases, t0: float):
    """Scheduled start times: ``rate`` evenly spaced arrivals a second during each phase."""
    start = t0
    for seconds, rate in phases:
        n = int(round(seconds * rate))
        for i in range(n):
            yield start + i / rate
        start += seconds


class Voter(User):
    """One user whose only task is the scheduler; every request is its own greenlet."""

    wait_time = constant(0)
    concurrency = 2000          # connections the client may open (requests in flight)

    def on_start(self):
        url = urlsplit(self.host)
        self.http = HTTPClient(url.hostname, url.port, concurrency=self.concurrency,
                               connection_timeout=TIMEOUT_S, network_timeout=TIMEOUT_S)
        self.rng = random.Random()
        self.requests = Group()
        kinds = [(self.address, 60), (self.point, 20), (self.autocomplete, 10), (self.page, 10)]
        self.kinds = [k for k, _ in kinds]
        self.weights = [w for _, w in kinds]

    def on_stop(self):
        self.requests.kill(block=False)
        self.http.close()

    @task
    def run_schedule(self):
        choose, rng, spawn = self.rng.choices, self.rng, self.requests.spawn
        phases = _phases()
        t0 = time.time()
        end = t0 + sum(s for s, _ in phases)
        behind = 0
        for at in schedule(phases, t0):
            now = time.time()
            if now >= end:
                # The generator could not keep up (it shares the cores): what it did not
                # start by the end of the phases is counted as not sent, not sent late.
                NOT_SENT.append(at)
                continue
            delay = at - now
            if delay > 0:
                gevent.sleep(delay)
                behind = 0
            else:
                behind += 1
                if behind % 20 == 0:
                    gevent.sleep(0)   # catching up: let the answers in flight be read too
            spawn(self._one, at, choose(self.kinds, self.weights)[0], rng)
        self.requests.join(timeout=DRAIN_S)
        gevent.sleep(3600)      # the shape stops the run

    def _one(self, at: float, send, rng) -> None:
        started = time.time()
        try:
            status, kind = send(rng)
        except Exception:  # noqa: BLE001 - a failed request is a record with status 0
            status, kind = 0, "error"
        end = time.time()
        RECORDS.append((at, (started - at) * 1000, (end - at) * 1000, status, kind))

    def _get(self, path, params, kind):
        # geventhttpclient's own client, under locust's gevent loop and run control: locust's
        # session (URL building, a request event and its statistics per request) doubled the
        # generator's CPU, taken from the server's two cores; this file records each request.
        if params:
            path = path + "?" + urlencode(params)
        try:
            response = self.http.get(path)
            response.read()
            response.release()
        except (OSError, gevent.Timeout):
            return 0, kind
        return int(response.status_code), kind

    def address(self, rng):
        return self._get("/api/v1/lookup", {"q": rng.choice(QUERIES)}, "address")

    def point(self, rng):
        lon = rng.uniform(BBOX[0], BBOX[2])
        lat = rng.uniform(BBOX[1], BBOX[3])
        return self._get("/api/v1/lookup", {"lon": f"{lon:.5f}", "lat": f"{lat:.5f}"}, "point")

    def autocomplete(self, rng):
        return self._get("/api/v1/autocomplete", {"q": rng.choice(PREFIXES)}, "autocomplete")

    def page(self, rng):
        return self._get(rng.choice(PAGES), None, "page")


class Phases(LoadTestShape):
    """One user (the scheduler) for the phases and the drain, then stop."""

    def tick(self):
        if self.get_run_time() < sum(s for s, _ in _phases()) + DRAIN_S:
            return 1, 1
        return None


@events.quitting.add_listener
def _dump(environment, **_kw):
    path = os.environ.get("LOAD_RECORD")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            for r in RECORDS:
                fh.write(json.dumps(r) + "\n")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        Path(path + ".cpu").write_text(json.dumps({"user_s": usage.ru_utime, "system_s": usage.ru_stime,
                                                   "not_sent": len(NOT_SENT)}))
