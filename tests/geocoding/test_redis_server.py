"""The private redis-server: started as our child, stopped by PID, never left behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
import redis

from locator.geocoding.redis_server import EmbeddedRedis

from ..conftest import redis_servers_under


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_server_runs_in_its_folder_on_a_private_socket_and_stops_by_pid(tmp_path):
    server = EmbeddedRedis(tmp_path / "index").start()
    pid, socket_dir = server.pid, os.path.dirname(server.socket_path)
    assert psutil.Process(pid).cwd() == str((tmp_path / "index").resolve())
    server.client().set("k", "v")
    server.save()
    assert (tmp_path / "index" / "addok.rdb").is_file()
    server.stop()
    assert _wait_gone(pid) and not os.path.exists(socket_dir)
    server.stop()  # idempotent
    assert not server.running


def test_saved_data_is_loaded_by_the_next_server(tmp_path):
    with EmbeddedRedis(tmp_path) as first:
        first.client().set("k", "v")
        first.save()
    with EmbeddedRedis(tmp_path) as second:
        assert second.client().get("k") == b"v"


def test_without_save_nothing_is_written(tmp_path):
    with EmbeddedRedis(tmp_path) as server:
        server.client().set("k", "v")
    assert not (tmp_path / "addok.rdb").exists()


def _stop_in_child(server: EmbeddedRedis) -> None:
    if not server.running:  # seen from the child too (it cannot wait() on its parent's child)
        raise SystemExit(3)
    server.stop()


def test_a_forked_child_never_stops_its_parents_server(tmp_path):
    with EmbeddedRedis(tmp_path) as server:
        child = multiprocessing.get_context("fork").Process(target=_stop_in_child, args=(server,))
        child.start()
        child.join(10)
        assert child.exitcode == 0
        assert server.running and server.client().ping()


def test_server_dies_with_a_process_killed_without_cleanup(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from locator.geocoding.redis_server import EmbeddedRedis
        s = EmbeddedRedis({str(tmp_path)!r}).start()
        print(s.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    pid = int(proc.stdout.split()[0])
    assert _wait_gone(pid), "redis-server outlived its parent"
    assert not redis_servers_under(tmp_path)


def test_server_is_stopped_at_interpreter_exit(tmp_path):
    script = f"from locator.geocoding.redis_server import EmbeddedRedis; print(EmbeddedRedis({str(tmp_path)!r}).start().pid)"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _wait_gone(int(proc.stdout.split()[0]))


def test_client_of_a_stopped_server_is_refused(tmp_path):
    server = EmbeddedRedis(tmp_path).start()
    server.stop()
    with pytest.raises(OSError):
        server.client()
    with pytest.raises(redis.RedisError):
        redis.Redis(unix_socket_path=str(tmp_path / "nowhere.sock")).ping()
