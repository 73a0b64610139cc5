"""`make bench-ai-tasks`: frames per second of remove-background (the fast person model) and
gaze-redirect on generated 720p30 clips, through the processors the task worker runs (FFmpeg
decode → model runner → FFmpeg encode), and of the model runner alone (decode → runner, output
thrown away) to tell the model's cost from the encoder's. Besides wall-clock frames/s, each row
gives the CPU time its processes spent per frame (getrusage of the children), which a busy shared
machine disturbs far less: on two idle cores a pipeline that keeps both busy runs at up to
2000 / (CPU ms per frame) frames/s.

The clips: the astronaut cut-out from the chest up walking across a generated gradient, and her face
(scikit-image's photo, via tests/integration/tasks/ai_media.py) drifting over it, both 720p30 with a
tone, made in .run/bench-ai-tasks (kept between runs).

Other benchmarks may call bench_remove_background() and bench_gaze() directly: each returns
{"frames", "seconds", "fps", "cpu_ms_per_frame", "facts"}."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RUN = ROOT / ".run" / "bench-ai-tasks"
FPS = 30


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", *args], check=True)


def make_clips(seconds: int) -> dict[str, Path]:
    """The person and face clips, 1280x720 at 30 fps with a tone."""
    from tests.integration.tasks import ai_media  # noqa: PLC0415

    media = ai_media.make_media(RUN / "media")
    clips = {"person": RUN / f"person-{seconds}s.mp4", "face": RUN / f"face-{seconds}s.mp4"}
    overlays = {"person": "[1:v]scale=-2:560[fg];[0:v][fg]overlay=x='100+6*n':y=H-h",
                "face": "[1:v]scale=-2:720[fg];[0:v][fg]overlay=x='160+40*sin(n/20)':y=0"}
    for name, path in clips.items():
        if not path.exists():
            _ffmpeg("-f", "lavfi", "-i", f"gradients=s=1280x720:r={FPS}:d={seconds}:speed=0.01",
                    "-loop", "1", "-i", str(media / ("person.png" if name == "person" else "face.png")),
                    "-f", "lavfi", "-i", f"sine=f=440:d={seconds}", "-filter_complex", overlays[name],
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(path))
    return clips


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rates(frames: int, seconds: float, cpu: float) -> dict:
    return {"frames": frames, "seconds": round(seconds, 2), "fps": round(frames / seconds, 1),
            "cpu_ms_per_frame": round(cpu * 1000 / frames, 1)}


def _measure(run, source: Path, params: dict, frames: int) -> dict:
    async def quiet(percent: float, stage: str) -> None:
        return None

    with tempfile.TemporaryDirectory(dir=RUN) as workdir:
        started, cpu = time.perf_counter(), _children_cpu()
        result = asyncio.run(run(source, params, Path(workdir), quiet, asyncio.Event()))
        seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    return {**_rates(frames, seconds, cpu), "facts": {**result.facts, "format": result.format}}


def bench_remove_background(seconds: int = 4, output_format: str | None = None,
                            background_color: str | None = None) -> dict:
    """remove-background with the person model on the 720p person clip (default output: WebM with alpha)."""
    from framelane_tasks.processors import remove_background  # noqa: PLC0415

    params = {"model": "person", **({"output_format": output_format} if output_format else {}),
              **({"background_color": background_color} if background_color else {})}
    return _measure(remove_background.run, make_clips(seconds)["person"], params, seconds * FPS)


def bench_gaze(seconds: int = 4) -> dict:
    """gaze-redirect at intensity 1 on the 720p face clip (H.264 out, audio copied)."""
    from framelane_tasks.processors import gaze_redirect  # noqa: PLC0415

    return _measure(gaze_redirect.run, make_clips(seconds)["face"], {"intensity": 1}, seconds * FPS)


def bench_runner(command: list[str], source: Path, frames: int) -> dict:
    """FFmpeg decode → model runner, its frames thrown away: the model's own rate."""
    from framelane_tasks.processors.frame_pipeline import models_python  # noqa: PLC0415

    started, cpu = time.perf_counter(), _children_cpu()
    decode = subprocess.Popen(["ffmpeg", "-v", "error", "-i", str(source), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                              stdout=subprocess.PIPE)
    subprocess.run([models_python(), "-m", "framelane_models", *command, "--width", "1280", "--height", "720",
                    "--video", "--output", "/dev/null"], stdin=decode.stdout, stderr=subprocess.DEVNULL, check=True)
    decode.wait()
    return _rates(frames, time.perf_counter() - started, _children_cpu() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=4, help="clip length (30 fps)")
    args = parser.parse_args()
    RUN.mkdir(parents=True, exist_ok=True)
    clips = make_clips(args.seconds)
    frames = args.seconds * FPS
    rows = [
        ("remove-background, person, runner only", bench_runner(["remove-background", "--model", "person"],
                                                                clips["person"], frames)),
        ("remove-background, person → WebM VP9 + alpha", bench_remove_background(args.seconds)),
        ("remove-background, person → MP4 on a colour",
         bench_remove_background(args.seconds, background_color="#00b140")),
        ("remove-background, person → MOV ProRes 4444", bench_remove_background(args.seconds, output_format="mov")),
        ("gaze-redirect, runner only", bench_runner(["gaze-redirect", "--intensity", "1"], clips["face"], frames)),
        ("gaze-redirect → MP4, audio copied", bench_gaze(args.seconds)),
    ]
    print(f"720p30, {frames} frames, {os.cpu_count()} cores\n")
    print("| path | frames/s | seconds | CPU ms per frame |\n|---|---|---|---|")
    for name, row in rows:
        print(f"| {name} | {row['fps']} | {row['seconds']} | {row['cpu_ms_per_frame']} |")


if __name__ == "__main__":
    main()
