"""Beyond one machine: the index built once on a Redis primary, two ``locator serve`` nodes
reading a Redis replica (LOCATOR_REDIS_URL), the rate-limit counters on the primary. A rebuild
on the primary reaches both nodes; one node dying leaves the other answering.

Everything binds 127.0.0.1, is bounded in time, and is stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
import redis

from locator.cli import main
from locator.geocoding.redis_server import redis_executable

from ..conftest import BAN_SAMPLE, make_data_dir
from ..web.servers import ServerProcess, get_json


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(workdir, port: int, *extra: str) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([redis_executable(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(workdir), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.05)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _lookup(node: ServerProcess, q: str) -> dict:
    return get_json(node.url, "/api/v1/lookup", q=q)[2]


def _wait_synced(replica: redis.Redis, primary: redis.Redis, timeout: float = 60) -> None:
    """Until the replica is linked and holds what the primary holds (its manifest, same size)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = replica.info("replication")
        if (info.get("master_link_status") == "up" and replica.get("locator|manifest") == primary.get("locator|manifest")
                and replica.dbsize() == primary.dbsize()):
            return
        time.sleep(0.1)
    raise AssertionError(f"replica not in sync after {timeout} s: {replica.info('replication')}")


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    p_port, r_port = _free_port(), _free_port()
    procs = [_start_redis(tmp_path / "primary", p_port)]
    try:
        # addok's search writes temporary keys (its Lua scripts): the replica accepts them,
        # they are its own (a replica's writes never reach the primary nor the other replicas)
        procs.append(_start_redis(tmp_path / "replica", r_port, "--replicaof", "127.0.0.1", str(p_port),
                                  "--replica-read-only", "no"))
        yield f"redis://127.0.0.1:{p_port}/0", f"redis://127.0.0.1:{r_port}/0", procs
    finally:
        for proc in procs:
            _stop(proc)


def test_two_nodes_on_a_replica_answer_the_primary_s_rebuild_and_survive_one_another(cluster, tmp_path, monkeypatch):
    primary_url, replica_url, _ = cluster
    primary, replica = redis.Redis.from_url(primary_url), redis.Redis.from_url(replica_url)
    data = make_data_dir(tmp_path / "data")
    for k in [k for k in os.environ if k.startswith("LOCATOR_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("LOCATOR_REDIS_URL", primary_url)
    assert main(["index", "build", "--data", str(data), "--no-ban"]) == 0  # built once, on the primary
    _wait_synced(replica, primary)

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    env.update(LOCATOR_DATA_DIR=str(data), LOCATOR_INDEX_DIR=str(tmp_path / "node-index"),
               LOCATOR_REDIS_URL=replica_url, LOCATOR_RATE_LIMIT_STORAGE=primary_url.replace("/0", "/1"),
               PYTHONUNBUFFERED="1")
    nodes = [ServerProcess(["--workers", "1"], env), ServerProcess(["--workers", "1"], env)]
    try:
        for node in nodes:
            node.wait_ready()
            d = _lookup(node, "Vionville")
            assert d["status"] == "ok" and d["commune"]["code"] == "57578"
        before = _lookup(nodes[0], "12 rue Serpenoise 57000 Metz")["geocode"]["type"]
        assert before != "housenumber"  # no BAN yet: the street or the commune

        # rebuild on the primary with a BAN file: the nodes read it through the replica
        assert main(["index", "build", "--data", str(data), "--ban", str(BAN_SAMPLE), "--force"]) == 0
        _wait_synced(replica, primary)
        for node, q in zip(nodes, ("14 rue Serpenoise 57000 Metz", "15 bis rue Serpenoise 57000 Metz"), strict=True):
            d = _lookup(node, q)  # a query neither node has answered (nor cached) before
            assert d["geocode"]["type"] == "housenumber", d
        assert redis.Redis.from_url(primary_url.replace("/0", "/1")).dbsize() > 0  # rate limits: on the primary

        nodes[0].proc.kill()
        nodes[0].proc.wait(20)
        d = _lookup(nodes[1], "Saint-Avold")
        assert d["status"] == "ok" and d["commune"]["code"] == "57606"
    finally:
        for node in nodes:
            node.stop(20)
