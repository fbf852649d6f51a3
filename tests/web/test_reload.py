"""Data reload without downtime, under load: ``locator reload`` (SIGHUP to the master) makes a
running ``locator serve`` load the data folder again with the strict loader. A good file is
served within the reload time with no failed request; a corrupt one is refused, the old
answers keep coming, and the log says which file and record."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from locator import Locator, Settings

from .servers import ADDRESS, METZ, ROOT, Load, ServerProcess, copy_data, get_json, serve_env

pytest.importorskip("psutil", reason="psutil is in the test extra")

BUREAU = "57463_1"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server on a private data copy, for the whole module (starting one costs ~10 s)."""
    base = tmp_path_factory.mktemp("reload")
    data = copy_data(base / "data")
    settings = Settings(data_dir=data, index_dir=base / "index")
    Locator.from_data_dir(data, settings=settings).open().close()  # the index, built once
    server = ServerProcess(["--workers", "2", "--pid-file", str(base / "locator.pid")],
                           serve_env(data, base / "index"))
    try:
        url = server.wait_ready()
        yield server, url, data, base / "locator.pid"
    finally:
        assert server.stop() == 0, server.output[-2000:]


def reload(pid_file) -> None:
    done = subprocess.run([sys.executable, "-m", "locator.cli", "reload", "--pid-file", str(pid_file)],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def bureau_name(url: str) -> str:
    status, _, body = get_json(url, "/api/v1/lookup", q=ADDRESS)
    assert status == 200, body
    return body["bureau"]["name"]


def lookups_under_load(url: str) -> Load:
    return Load(url, [("/api/v1/lookup", {"q": ADDRESS}), ("/api/v1/lookup", {"lon": METZ[0], "lat": METZ[1]}),
                      ("/", {}), ("/healthz", {})], threads=3, max_seconds=60)


def rewrite_bureaux(data, edit) -> None:
    path = data / "bureaux.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def test_a_good_new_file_is_served_after_reload_with_no_failed_request(served):
    server, url, data, pid_file = served
    _, _, before = get_json(url, "/healthz")
    assert before["data_version"]
    old_name = bureau_name(url)

    def rename(doc):
        for f in doc["features"]:
            if f["properties"]["id"] == BUREAU:
                f["properties"]["name"] = "Mairie de Metz, salon de réception"

    rewrite_bureaux(data, rename)
    load = lookups_under_load(url)
    try:
        time.sleep(0.5)
        mark = len(server.lines)
        reload(pid_file)
        server.wait_for_line(r"reload: new data loaded", after=mark, timeout=60)
        deadline = time.monotonic() + 30
        while bureau_name(url) == old_name and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        records = load.stop()
    assert bureau_name(url) == "Mairie de Metz, salon de réception"
    _, _, after = get_json(url, "/healthz")
    assert after["data_version"] != before["data_version"]
    statuses = load.statuses()
    assert set(statuses) == {200}, (statuses, [r for r in records if r[2] != 200][:3])
    assert len(records) > 20


def _truncate(data):
    path = data / "bureaux.geojson"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


def _duplicate_id(data):
    rewrite_bureaux(data, lambda doc: doc["features"].append(json.loads(json.dumps(doc["features"][0]))))


def _unknown_commune(data):
    def edit(doc):
        doc["features"][3]["properties"]["code_insee"] = "57999"
    rewrite_bureaux(data, edit)


@pytest.mark.parametrize("corrupt, named", [
    (_truncate, "bureaux.geojson"),
    (_duplicate_id, "bureaux.geojson"),
    (_unknown_commune, "57999"),
], ids=["truncated_json", "duplicate_id", "unknown_commune"])
def test_a_corrupt_file_is_refused_and_the_old_answers_keep_coming(served, corrupt, named):
    server, url, data, pid_file = served
    good = (data / "bureaux.geojson").read_bytes()
    _, _, before = get_json(url, "/healthz")
    old_name = bureau_name(url)
    corrupt(data)
    load = lookups_under_load(url)
    try:
        time.sleep(0.5)
        mark = len(server.lines)
        reload(pid_file)
        refused = server.wait_for_line(r"reload refused", after=mark, timeout=60)
        time.sleep(1.5)  # the workers are recycled on the old app: still no failure
    finally:
        records = load.stop()
        (data / "bureaux.geojson").write_bytes(good)
    assert named in refused, refused
    statuses = load.statuses()
    assert set(statuses) == {200}, (statuses, [r for r in records if r[2] != 200][:3])
    assert bureau_name(url) == old_name
    _, _, after = get_json(url, "/healthz")
    assert after["data_version"] == before["data_version"]
    status, _, ready = get_json(url, "/readyz")
    assert status == 200, ready
