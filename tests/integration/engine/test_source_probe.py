"""Probes of cached render sources are remembered while the file is unchanged."""

from __future__ import annotations

import subprocess

from framelane_renderer import sources


def _clip(path, size: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=red:s={size}:d=0.2", str(path)],
                   check=True)


def test_a_revalidated_source_is_not_probed_again_until_it_changes(tmp_path):
    path = tmp_path / "source.mp4"
    _clip(path, "64x32")
    first = sources.probe(path)
    assert (first.width, first.height) == (64, 32)
    assert sources.probe(path) is first  # same file: ffprobe's answer is reused
    _clip(path, "48x96")  # a changed source (new ETag) is written again
    changed = sources.probe(path)
    assert changed is not first and (changed.width, changed.height) == (48, 96)
