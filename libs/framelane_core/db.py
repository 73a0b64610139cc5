"""PostgreSQL: one async pool per service, pinned to the service's own schema, and a plain-SQL
migration runner (NNNN_name.sql files applied in order, each once, under an advisory lock)."""

import asyncio
import importlib.resources
import logging
import re
from collections.abc import Callable

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)
_MIGRATION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def schema_dsn(dsn: str, schema: str) -> str:
    """The DSN with search_path set to the service's schema (no cross-schema reads by accident)."""
    params = conninfo_to_dict(dsn)
    options = params.get("options") or ""
    params["options"] = f"{options} -c search_path={schema}".strip()
    return make_conninfo(**params)


async def open_pool(dsn: str, schema: str, min_size: int = 2, max_size: int = 10) -> AsyncConnectionPool:
    """An open pool whose connections return rows as dicts and live in `schema`."""
    pool = AsyncConnectionPool(
        schema_dsn(dsn, schema),
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool


def _migrations(package: str) -> list[tuple[str, str]]:
    files = importlib.resources.files(package)
    found = sorted(f.name for f in files.iterdir() if _MIGRATION.match(f.name))
    return [(name, (files / name).read_text()) for name in found]


async def migrate(dsn: str, schema: str, package: str) -> list[str]:
    """Creates the schema and applies the shared core migrations, then the service's own.

    Returns the names applied now. Safe to run from several replicas at once."""
    applied_now = []
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"migrate:{schema}",))
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT name FROM schema_migrations")
            done = {row[0] for row in await cur.fetchall()}
            for source, prefix in (("framelane_core.migrations", "core/"), (f"{package}.migrations", "")):
                for name, sql in _migrations(source):
                    key = prefix + name
                    if key in done:
                        continue
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (key,))
                    applied_now.append(key)
    if applied_now:
        log.info("migrations applied", extra={"fields": {"schema": schema, "applied": applied_now}})
    return applied_now


async def ensure_database(dsn: str) -> None:
    """Creates the DSN's database when it does not exist yet (first `make run` on a server)."""
    params = conninfo_to_dict(dsn)
    name = params.get("dbname") or "postgres"
    admin = make_conninfo(**{**params, "dbname": "postgres"})
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if await cur.fetchone() is None:
            await conn.execute(f'CREATE DATABASE "{name}"')


async def listen(dsn: str, channel: str, on_notify: Callable[[str], None], stopping: asyncio.Event) -> None:
    """Calls `on_notify(payload)` for every NOTIFY on `channel` until `stopping` is set, reconnecting
    after errors (what is sent while reconnecting is missed: listeners also poll)."""
    while not stopping.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f'LISTEN "{channel}"')
                async for notify in conn.notifies():
                    on_notify(notify.payload)
        except asyncio.CancelledError:
            raise
        except Exception:
            await asyncio.sleep(1.0)


async def wake_on_notify(dsn: str, channel: str, wake: asyncio.Event, stopping: asyncio.Event) -> None:
    """Sets the `wake` event on every NOTIFY on `channel`: pollers wake in milliseconds instead of
    at their next poll."""
    await listen(dsn, channel, lambda _: wake.set(), stopping)
