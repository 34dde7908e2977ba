"""The cache: configured from a URL; a Redis cache that is down behaves as an empty one.

The page cache is an optimisation, never a dependency: when Redis is unreachable a
read misses, a write is dropped (both logged), and the page is rendered uncached,
instead of a 500. Timeouts are short so a stalled Redis costs a request little.
"""

from __future__ import annotations

import functools
import logging

import environ
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: Seconds to connect to / wait for the cache before treating it as down.
TIMEOUT = 0.5


def cache_settings(url: str) -> dict:
    """The CACHES entry for ``url``; a Redis URL gets the fail-open backend."""
    config = environ.Env.cache_url_config(url)
    if config["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        config["BACKEND"] = "reviewsite.cache.FailOpenRedisCache"
        options = config.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", TIMEOUT)
        options.setdefault("socket_timeout", TIMEOUT)
    return config


def _fail_open(fallback):
    def wrap(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as error:
                logger.warning("Cache unavailable (%s); %s skipped", error, method.__name__)
                return fallback(*args, **kwargs) if callable(fallback) else fallback

        return wrapper

    return wrap


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache, answering like an empty cache while Redis is unreachable."""

    get = _fail_open(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _fail_open({})(RedisCache.get_many)
    has_key = _fail_open(False)(RedisCache.has_key)
    add = _fail_open(False)(RedisCache.add)
    set = _fail_open(None)(RedisCache.set)
    set_many = _fail_open(lambda data, *a, **k: list(data))(RedisCache.set_many)
    touch = _fail_open(False)(RedisCache.touch)
    delete = _fail_open(False)(RedisCache.delete)
    delete_many = _fail_open(None)(RedisCache.delete_many)
    clear = _fail_open(False)(RedisCache.clear)
