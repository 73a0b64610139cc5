"""super-resolution, model "fast": FFmpeg Lanczos upscaling plus a light unsharp mask (the
classic fast path of PACKAGES.md §5; PSNR at least bicubic's). Images stay images (PNG, or
JPEG for a JPEG source); video becomes H.264 MP4 with its audio passed through."""

import asyncio
from pathlib import Path

from framelane_renderer.engine import ProbeError, probe, run_ffmpeg
from framelane_tasks.processors import Result, TaskFailed

MAX_SIDE = 8192
IMAGE_CODECS = {"png": "png", "mjpeg": "jpg", "webp": "png", "bmp": "png", "tiff": "png", "gif": "png"}
MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}


def filter_chain(scale: int) -> str:
    return (f"scale=iw*{scale}:ih*{scale}:flags=lanczos+accurate_rnd+full_chroma_int,"
            "unsharp=5:5:0.4:5:5:0")


def _is_image(info) -> bool:
    return info.has_video and not info.has_audio and info.video_codec in IMAGE_CODECS and (
        "pipe" in info.format_name or "image2" in info.format_name or not info.duration or info.duration < 0.1)


async def run(source: Path, params: dict, workdir: Path, progress, cancel: asyncio.Event) -> Result:
    await progress(0.0, "analyzing")
    try:
        info = await asyncio.to_thread(probe, str(source))
    except ProbeError as err:
        raise TaskFailed("codec_unsupported", f"The source could not be decoded: {err}") from None
    if not info.has_video or not info.width or not info.height:
        raise TaskFailed("invalid_source", "The source has no image or video stream to upscale.")
    scale = int(params["scale"])
    width, height = info.width * scale, info.height * scale
    if max(width, height) > MAX_SIDE:
        raise TaskFailed("invalid_source", f"{width}x{height} is over the {MAX_SIDE} px limit of the output.")
    chain = filter_chain(scale)
    if _is_image(info):
        fmt = IMAGE_CODECS[info.video_codec]
        output = workdir / f"output.{fmt}"
        argv = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-map", "0:v:0", "-frames:v", "1", "-vf", chain,
                *(["-q:v", "2"] if fmt == "jpg" else []), str(output)]
        await progress(0.0, "encoding")
        await run_ffmpeg(argv, 0.0, progress, cancel)
        return Result(output, fmt, {"width": width, "height": height, "duration": None})
    even_w, even_h = width - width % 2, height - height % 2  # H.264 4:2:0 needs even sides
    if (even_w, even_h) != (width, height):
        chain += f",crop={even_w}:{even_h}:0:0"
    output = workdir / "output.mp4"
    audio = ["-c:a", "copy"] if info.audio_codec in MP4_AUDIO else ["-c:a", "aac", "-b:a", "192k"]
    argv = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-map", "0:v:0", "-map", "0:a:0?", "-vf", chain,
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", *audio,
            "-movflags", "+faststart", str(output)]
    await progress(0.0, "encoding")
    await run_ffmpeg(argv, info.duration or 0.0, progress, cancel)
    return Result(output, "mp4", {"width": even_w, "height": even_h, "duration": info.duration})
