"""The read-only Lua scripts the geocoder runs on the index's Redis (the fast path's street
lookup, the fuzzy pass's and the relations' membership tests): one round trip each."""

from __future__ import annotations

import hashlib

from redis.exceptions import NoScriptError


class LuaScript:
    """A Lua script run by ``EVALSHA``, loaded first where Redis does not know it yet (a new or
    restarted server, a replica).

    What redis-py's ``Script`` does, without its work on every call (an import, and a check that
    the client is not a pipeline, an ``isinstance`` through typing's protocols; the cost is in
    BENCHMARKS.md, the fast path over HTTP). The SHA is computed once, when the script is defined:
    it is the same on every server.
    """

    __slots__ = ("source", "sha")

    def __init__(self, source: str):
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, client, keys=(), args=()):
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            client.script_load(self.source)
            return client.evalsha(self.sha, len(keys), *keys, *args)
