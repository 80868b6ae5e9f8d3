"""The database cache (the default without Redis), with a ``set`` of one statement.

Django's ``DatabaseCache.set`` counts the table's rows, then in a transaction reads the key and
updates or inserts it: five round trips. Every API request sets its rate-limit history, so that
was a fifth of a search request's statements. Here ``set`` is one upsert (``INSERT … ON
CONFLICT (cache_key) DO UPDATE``, on PostgreSQL and SQLite), and the table's size is checked
(and culled, as Django does) on one ``set`` in ``CULL_CHECK_EVERY``, so the table may exceed
``MAX_ENTRIES`` by at most about that many rows. ``add`` and ``touch`` keep Django's code.
"""

from __future__ import annotations

import base64
import datetime
import pickle
import random

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import DatabaseError, connections, router
from django.utils.timezone import now as tz_now

CULL_CHECK_EVERY = 100


class DatabaseCache(DjangoDatabaseCache):
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor not in ("postgresql", "sqlite"):
            return super().set(key, value, timeout, version)
        key = self.make_and_validate_key(key, version=version)
        expiry = self.get_backend_timeout(timeout)
        quote = connection.ops.quote_name
        table = quote(self._table)
        if expiry is None:
            expires = datetime.datetime.max.replace(tzinfo=datetime.UTC)
        else:
            expires = datetime.datetime.fromtimestamp(expiry, tz=datetime.UTC)
        expires = connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))
        value = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        try:
            with connection.cursor() as cursor:
                if random.randrange(CULL_CHECK_EVERY) == 0:
                    cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
                    count = cursor.fetchone()[0]
                    if count > self._max_entries:
                        self._cull(db, cursor, tz_now().replace(microsecond=0), count)
                key_col, value_col, expires_col = quote("cache_key"), quote("value"), quote("expires")
                cursor.execute(
                    f"INSERT INTO {table} ({key_col}, {value_col}, {expires_col}) VALUES (%s, %s, %s) "  # noqa: S608
                    f"ON CONFLICT ({key_col}) DO UPDATE SET {value_col} = excluded.{value_col}, "
                    f"{expires_col} = excluded.{expires_col}",
                    [key, value, expires],
                )
        except DatabaseError:
            # As Django's: a cache that cannot be written is not an error of the request.
            return
