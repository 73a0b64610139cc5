"""Render sources: every distinct URL fetched through the shared source cache
(framelane_core.sources) and probed with ffprobe."""

import asyncio
import functools
from pathlib import Path

from framelane_core.fetch import Allow
from framelane_core.sources import fetch_source
from framelane_renderer import engine


def source_urls(spec: dict) -> list[tuple[str, str]]:
    """(JSON path, URL) of every source a normalized spec fetches."""
    urls = [("$.background_image_url", spec["background_image_url"])] if spec.get("background_image_url") else []
    urls += [(f"$.elements[{i}].source_url", e["source_url"]) for i, e in enumerate(spec.get("elements", []))
             if e.get("source_url")]
    return urls


async def fetch_all(urls: list[str], cache_dir: Path, allow: Allow, storage=None) -> dict[str, engine.SourceInfo]:
    """Every distinct URL fetched concurrently and probed: url → SourceInfo."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    distinct = sorted(set(urls))
    paths = await asyncio.gather(*(fetch_source(u, cache_dir, allow, storage) for u in distinct))
    infos = await asyncio.gather(*(asyncio.to_thread(probe, Path(p)) for p in paths))
    return dict(zip(distinct, infos, strict=True))


def probe(path: Path) -> engine.SourceInfo:
    """ffprobe's facts about a cached source, remembered while the file is unchanged (a source
    revalidated with a 304 is the same file: no second ffprobe)."""
    stat = path.stat()
    return _probe_file(str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


@functools.lru_cache(maxsize=512)
def _probe_file(path: str, mtime_ns: int, size: int, inode: int) -> engine.SourceInfo:
    return engine.probe(path)
