"""gaze-redirect: the model runner finds faces and irises (framelane_models.gaze: mediapipe face
mesh with iris refinement) and slides each open eye's iris toward the centre of the eye by
`intensity`, changing nothing outside the eye openings. Images become PNG (lossless, so every
pixel outside the eyes is the source's); video becomes H.264 with the audio stream copied as is,
in MP4, or in Matroska when MP4 cannot hold the audio codec. Intensity 0 changes nothing: a video
is remuxed without re-encoding."""

import asyncio
from pathlib import Path

from framelane_renderer.engine import run_ffmpeg
from framelane_tasks.processors import Result
from framelane_tasks.processors.frame_pipeline import probe_visual, run_model
from framelane_tasks.processors.super_resolution import MP4_AUDIO, is_image

MP4_VIDEO = {"h264", "hevc", "vp9", "av1", "mpeg4"}
H264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]


async def run(source: Path, params: dict, workdir: Path, progress, cancel: asyncio.Event) -> Result:
    await progress(0.0, "analyzing")
    info = await probe_visual(source, "redirect")
    intensity = float(params.get("intensity", 1))
    if is_image(info):
        output = workdir / "output.png"
        facts = await run_model(source, info, True, ["gaze-redirect", "--intensity", str(intensity)], "rgb24",
                                ["-frames:v", "1", "-pix_fmt", "rgb24", str(output)], workdir, progress, cancel)
        return Result(output, "png", {"width": info.width, "height": info.height, "duration": None, **facts})
    mp4_audio = not info.has_audio or info.audio_codec in MP4_AUDIO
    if intensity == 0:
        fmt = "mp4" if mp4_audio and info.video_codec in MP4_VIDEO else "mkv"
        output = workdir / f"output.{fmt}"
        await progress(0.0, "encoding")
        await run_ffmpeg(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-map", "0:v:0", "-map", "0:a:0?",
                          "-c", "copy", str(output)], info.duration or 0.0, progress, cancel)
        return Result(output, fmt, {"width": info.width, "height": info.height, "duration": info.duration,
                                    "model": None, "frames_changed": 0})
    fmt = "mp4" if mp4_audio else "mkv"
    width, height = info.width - info.width % 2, info.height - info.height % 2  # 4:2:0 chroma needs even sides
    crop = ["-vf", f"crop={width}:{height}:0:0"] if (width, height) != (info.width, info.height) else []
    output = workdir / f"output.{fmt}"
    encode = ["-i", str(source), "-map", "0:v", "-map", "1:a:0?", *crop, *H264, "-c:a", "copy",
              *(["-movflags", "+faststart"] if fmt == "mp4" else []), str(output)]
    facts = await run_model(source, info, False, ["gaze-redirect", "--intensity", str(intensity)], "rgb24", encode,
                            workdir, progress, cancel)
    return Result(output, fmt, {"width": width, "height": height, "duration": info.duration, **facts})
