"""Renders held before the work queue, moved on by one loop in the renderer service.

* `ingest_external: true`: the render starts `ingesting`; every source that is not already in our
  storage is fetched through the safe fetcher and stored under the render's prefix
  (renders/<id>/sources/), and the spec is rewritten to signed links of those copies before the
  render is queued. A source that cannot be fetched fails the render with the fetcher's code.
* A source that is one of our uploads whose bytes have not arrived yet: the render stays `queued`
  (its `render.queued` event, which is the work item, is written only when every such upload is
  complete) until the upload link could no longer be used; then it fails `source_not_found`.

Rows are leased (stage_lease) so several replicas never stage the same render at once, and every
transition is conditional on the status, so a cancel in between wins. A held render emits the
internal `render.held` when created and every few minutes while it waits: the usage service takes
it as a sign of life of the job (admission confirmed, concurrency lease renewed); webhooks deliver
only the contract's event types, so clients never see it."""

import asyncio
import logging
import mimetypes
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from framelane_core.errors import FramelaneError
from framelane_core.fetch import Allow
from framelane_core.lifecycle import Every
from framelane_core.sources import fetch_source
from framelane_renderer import events, store
from framelane_renderer.sources import source_urls

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
LEASE_SECONDS = 300.0
BATCH = 4
INGESTED_URL_TTL = 7 * 24 * 3600
HELD_RENEW_SECONDS = 300  # a waiting render's render.held event renews its admission this often


def external_sources(spec: dict, storage) -> list[str]:
    """Distinct source URLs of the spec that are not signed links to our own storage."""
    return sorted({u for _, u in source_urls(spec) if storage.local_key_for(u) is None})


def pending_uploads(spec: dict, storage) -> list[str]:
    """Keys of our own uploads the spec uses whose bytes have not arrived yet."""
    keys = {storage.local_key_for(u) for _, u in source_urls(spec)}
    return sorted(k for k in keys if k and k.startswith("uploads/") and storage.stat(k) is None)


def _rewrite(spec: dict, urls: dict[str, str]) -> dict:
    spec = {**spec, "elements": [dict(e) for e in spec.get("elements", [])]}
    if spec.get("background_image_url") in urls:
        spec["background_image_url"] = urls[spec["background_image_url"]]
    for element in spec["elements"]:
        if element.get("source_url") in urls:
            element["source_url"] = urls[element["source_url"]]
    return spec


class Stager:
    """Background runner of the renderer service (see the module docstring)."""

    def __init__(self, pool, storage, allow: Allow, work_dir: Path, job):
        self.pool, self.storage, self.allow, self.work_dir, self.job = pool, storage, allow, work_dir, job
        self._every = Every(POLL_SECONDS, self.stage_once, "staging")

    async def run(self) -> None:
        await self._every.run()

    async def stage_once(self) -> int:
        async with self.pool.connection() as conn, conn.transaction():
            rows = await store.lease_staged(conn, LEASE_SECONDS, BATCH)
        await asyncio.gather(*(self._stage(row) for row in rows))
        return len(rows)

    async def _stage(self, row: dict) -> None:
        spec = row["spec"]
        try:
            if row["status"] == "ingesting":
                spec = await self._ingest(row)
        except FramelaneError as err:
            await self._fail(row, err.code, f"Ingesting a source failed: {err.message}")
            return
        pending = await asyncio.to_thread(pending_uploads, spec, self.storage)
        if pending and row["status"] == "queued":
            if row["hold_until"] < datetime.now(UTC):
                await self._fail(row, "source_not_found", "An uploaded source was never completed: "
                                 f"{pending[0]} has no bytes and its upload link has expired.")
                return
            async with self.pool.connection() as conn, conn.transaction():  # still waiting: look again soon
                await conn.execute("UPDATE renders SET stage_lease = now() + make_interval(secs => %s) WHERE id = %s",
                                   (POLL_SECONDS, row["id"]))
                cur = await conn.execute(  # a long wait renews the render's admission (concurrency lease)
                    "UPDATE renders SET updated_at = now() WHERE id = %s AND status = 'queued'"
                    " AND updated_at < now() - make_interval(secs => %s) RETURNING *", (row["id"], HELD_RENEW_SECONDS))
                if (renewed := await cur.fetchone()) is not None:
                    await events.emit(conn, "held", renewed, self.job(renewed))
            return
        async with self.pool.connection() as conn, conn.transaction():
            moved = await store.release_staged(conn, row["id"], row["status"], spec, pending)
            if moved is not None and not store.is_held(moved):
                await events.emit(conn, "queued", moved, self.job(moved))
        if moved is None:  # cancelled meanwhile: its copies must not outlive it
            await asyncio.to_thread(self.storage.delete_prefix, f"renders/{row['id']}/sources")

    async def _ingest(self, row: dict) -> dict:
        """Copies every external source into storage; the spec with signed links to the copies."""
        spec, ws = row["spec"], row["workspace_id"]
        cache = self.work_dir / "ingest" / row["id"]
        urls = {}
        try:
            for n, url in enumerate(external_sources(spec, self.storage)):
                path = await fetch_source(url, cache, self.allow)
                name = Path(urlsplit(url).path).name or "source"
                suffix = Path(name).suffix.lower() if mimetypes.guess_type(name)[0] else ""
                key = f"renders/{row['id']}/sources/{n}{suffix}"
                await asyncio.to_thread(self.storage.put_file, key, path)
                urls[url] = self.storage.signed_url(key, workspace=ws, ttl=INGESTED_URL_TTL)[0]
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        log.info("sources ingested", extra={"fields": {"render_id": row["id"], "count": len(urls)}})
        return _rewrite(spec, urls)

    async def _fail(self, row: dict, code: str, message: str) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            failed = await store.renders.fail(conn, row["id"], {"code": code, "message": message},
                                              from_statuses=("ingesting", "queued"))
            if failed is not None:
                await events.emit(conn, "failed", failed, self.job(failed))
        await asyncio.to_thread(self.storage.delete_prefix, f"renders/{row['id']}")

    def stop(self) -> None:
        self._every.stop()
