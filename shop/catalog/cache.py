"""Where the public catalog keeps rendered pages and details: a bounded dict in each process by
default, or Redis (CATALOG_CACHE_URL=redis://…) shared by every worker. Keys carry the catalog
version (shop.catalog.version), so an entry is never stale: a change makes a new key, and old keys
are simply never asked for again (evicted by the dict's bound, or by Redis's expiry)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

log = logging.getLogger(__name__)

# Redis keeps an entry this long; a version outliving it is rebuilt once more, nothing else.
REDIS_TTL_SECONDS = 24 * 3600


class LocalCache:
    """A least-recently-used dict of at most `entries` bodies, safe across threads."""

    def __init__(self, entries: int = 2048):
        self.entries = max(entries, 1)
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._data.get(key)
            if body is not None:
                self._data.move_to_end(key)
            return body

    def set(self, key: str, body: bytes) -> None:
        with self._lock:
            self._data[key] = body
            self._data.move_to_end(key)
            while len(self._data) > self.entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisCache:
    """Entries in Redis under `prefix`; when Redis fails, the catalog is built from the database
    (a miss) rather than failing the request."""

    def __init__(self, url: str, prefix: str = "shop:catalog:"):
        import redis

        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(self.prefix + key)
        except Exception:  # the cache is an optimisation: the database answers
            log.warning("catalog cache: Redis read failed", exc_info=True)
            return None

    def set(self, key: str, body: bytes) -> None:
        try:
            self.client.set(self.prefix + key, body, ex=REDIS_TTL_SECONDS)
        except Exception:
            log.warning("catalog cache: Redis write failed", exc_info=True)

    def clear(self) -> None:
        try:
            keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
            if keys:
                self.client.delete(*keys)
        except Exception:
            log.warning("catalog cache: Redis clear failed", exc_info=True)


def make_cache(url: str, entries: int) -> LocalCache | RedisCache:
    return RedisCache(url) if url else LocalCache(entries)
