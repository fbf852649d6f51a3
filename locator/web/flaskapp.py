"""The Flask pieces of ``create_app``: UTF-8 JSON that cannot be read as markup, and a Flask
that remembers which of our functions are plain and keeps no sessions."""

from __future__ import annotations

from types import FunctionType

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask.sessions import NullSession, SessionInterface


class SafeJSONProvider(DefaultJSONProvider):
    """UTF-8 JSON in the contract's key order, with ``<``, ``>`` and ``&`` escaped so that a
    voter's text echoed in ``query`` can never be read as markup, whatever a client does.

    Compact output (every response outside debug) is encoded by orjson: the stdlib encoder
    was a tenth of a point lookup (BENCHMARKS.md). Types orjson does not know, and dates and
    dataclasses (which Flask serialises its own way), go through Flask's ``default`` so the
    output means the same as ``DefaultJSONProvider``'s. Indented output (debug) keeps the
    stdlib encoder.
    """

    ensure_ascii = False
    sort_keys = False
    #: As the stdlib encoder: int dict keys become strings and numpy floats are numbers; dates
    #: and dataclasses go to Flask's ``default``.
    _ORJSON = (orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME
               | orjson.OPT_PASSTHROUGH_DATACLASS)

    def _encode(self, obj) -> bytes:
        return (orjson.dumps(obj, default=self.default, option=self._ORJSON)
                .replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026"))

    def dumps(self, obj, **kwargs):
        if not kwargs or kwargs == _COMPACT:
            return self._encode(obj).decode("utf-8")
        text = super().dumps(obj, **kwargs)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    def compact_body(self, obj) -> bytes:
        """The body of a compact JSON response holding ``obj``."""
        return self._encode(obj) + b"\n"

    def is_compact(self) -> bool:
        """Are responses compact (``compact_body``)? Not in debug, unless ``compact`` says so."""
        return self.compact is True or (self.compact is None and not self._app.debug)

    def response(self, *args, **kwargs):
        if not self.is_compact():
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.compact_body(obj), mimetype=self.mimetype)


_COMPACT = {"separators": (",", ":")}


class NoSessions(SessionInterface):
    """The service keeps nothing about a voter between requests (privacy): no session is read
    from a cookie and none is saved, so no response ever sets a cookie.

    Flask's default interface looks for a secret key and builds an empty ``NullSession`` on
    every request, then asks at the end whether to save it. Here every request gets the same
    ``NullSession`` (empty, and it refuses writes, as Flask's does without a secret key), which
    Flask recognises as null and never saves.
    """

    def __init__(self):
        self._none = self.make_null_session(None)

    def open_session(self, app, request) -> NullSession:
        return self._none

    def save_session(self, app, session, response) -> None:
        return None


class LocatorFlask(Flask):
    """Flask, remembering which of our functions are plain (not ``async``), without sessions
    (``NoSessions``).

    Flask asks ``ensure_sync`` about every hook and the view on every request, and each
    answer goes through ``inspect``, for functions that never change. Only plain
    functions are remembered (bound methods are new objects on every access).
    """

    session_interface = NoSessions()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain_functions: set = set()

    def ensure_sync(self, func):
        if func in self._plain_functions:
            return func
        wrapped = super().ensure_sync(func)
        if wrapped is func and type(func) is FunctionType:
            self._plain_functions.add(func)
        return wrapped
