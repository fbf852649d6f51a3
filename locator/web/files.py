"""Our static files (CSS, JS, Leaflet's) served from memory with the response
``send_from_directory`` gives them: same bytes, same headers in the same order (ETag,
Last-Modified, Cache-Control, Expires, Date, Accept-Ranges, Content-Disposition).

``send_from_directory`` stats, opens and wraps the file, guesses its type and builds every
header on each request (its cost: BENCHMARKS.md, election day). Here the first plain
request for a file goes through it and its headers are kept with the file's bytes; later plain
requests copy them and put in the current Date and Expires. The file is stat'ed on every
request: a file changed on disk is read again, with its new ETag and Last-Modified.

A request with a conditional or range header, and a file whose response is not a plain 200
with the whole file (``USE_X_SENDFILE``, a missing file: 404), always go through
``send_from_directory`` itself, so 304, 206, 412 and 416 are Werkzeug's own.
"""

from __future__ import annotations

import os
import threading
import time

from flask import current_app, request, send_from_directory
from werkzeug.http import http_date
from werkzeug.security import safe_join

#: Request headers that make a response conditional or partial: never answered from memory.
CONDITIONAL_HEADERS = ("HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH",
                       "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE")
#: Bound on the files kept (a file sent two ways, e.g. with two max-ages, counts twice); past
#: it, the oldest is dropped.
MAX_FILES = 256
#: Bound on one file kept in memory (Leaflet's biggest file is ~150 kB).
MAX_BYTES = 4 * 1024 * 1024


class _Entry:
    __slots__ = ("stat", "max_age", "headers", "data", "date_at", "expires_at")

    def __init__(self, stat, max_age, headers, data):
        self.stat = stat
        self.max_age = max_age
        #: (name, value) as send_from_directory set them; Date and Expires replaced when sent
        self.headers = headers
        self.data = data
        self.date_at = _index(headers, "Date")
        self.expires_at = _index(headers, "Expires")


class StaticFiles:
    """The files of one directory, each kept after its first plain request."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = os.fspath(directory)
        self._files: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def send(self, filename: str, *, max_age: int | None = None, mimetype: str | None = None):
        """The response of ``send_from_directory(directory, filename, max_age=max_age)``, its
        mimetype then set to ``mimetype`` when given."""
        environ = request.environ
        path = safe_join(self.directory, filename)
        # by the file it names ("a/../x.js" is "x.js", the same response), and how it is sent
        key = (path, max_age, mimetype)
        entry = self._files.get(key)
        if entry is not None and path is not None and not any(h in environ for h in CONDITIONAL_HEADERS):
            try:
                stat = _stat_key(path)
            except OSError:
                stat = None
            if stat == entry.stat:
                return self._from_memory(entry)
        response = send_from_directory(self.directory, filename, max_age=max_age)
        if mimetype is not None:
            response.mimetype = mimetype
        if path is not None and response.status_code == 200 and not any(h in environ for h in CONDITIONAL_HEADERS):
            self._keep(key, path, max_age, response)
        return response

    def _keep(self, key, path, max_age, response) -> None:
        if "X-Sendfile" in response.headers or response.content_length is None:
            return
        try:
            before = _stat_key(path)
            if before[1] > MAX_BYTES:
                return
            with open(path, "rb") as f:
                data = f.read()
            after = _stat_key(path)
        except OSError:
            return
        # the file the response describes, unchanged while it was read
        etag = response.get_etag()[0] or ""
        if before != after or len(data) != response.content_length or not etag.startswith(f"{before[0]}-{before[1]}-"):
            return
        entry = _Entry(before, max_age, list(response.headers.items()), data)
        with self._lock:
            if key not in self._files and len(self._files) >= MAX_FILES:
                self._files.pop(next(iter(self._files)))
            self._files[key] = entry

    def _from_memory(self, entry: _Entry):
        now = int(time.time())
        headers = list(entry.headers)
        if entry.date_at is not None:
            headers[entry.date_at] = ("Date", _http_date(now))
        if entry.expires_at is not None:
            headers[entry.expires_at] = ("Expires", _http_date(now + entry.max_age))
        return current_app.response_class(entry.data, headers=headers)


_dates: dict[int, str] = {}


def _http_date(seconds: int) -> str:
    """``http_date`` of a whole second, remembered (two or three distinct values a second)."""
    text = _dates.get(seconds)
    if text is None:
        if len(_dates) > 64:
            _dates.clear()
        text = _dates[seconds] = http_date(seconds)
    return text


def _index(headers, name: str) -> int | None:
    return next((i for i, (k, _) in enumerate(headers) if k == name), None)


def _stat_key(path: str) -> tuple:
    st = os.stat(path)
    return st.st_mtime, st.st_size, st.st_ino


def init_static_files(app, *, leaflet_dir: str | os.PathLike) -> None:
    """Serve ``app``'s static folder (its ``static`` route) and Leaflet's folder from memory:
    ``app.extensions["locator_static"]`` and ``["locator_leaflet"]``."""
    static_files = app.extensions["locator_static"] = StaticFiles(app.static_folder)
    app.extensions["locator_leaflet"] = StaticFiles(leaflet_dir)

    def static(filename):
        return static_files.send(filename, max_age=app.get_send_file_max_age(filename))

    app.view_functions["static"] = static
