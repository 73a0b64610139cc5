"""remove-background: the model runner segments every frame (framelane_models.segmentation:
mediapipe selfie segmentation for people, u2netp for other subjects, `auto` picks by whether the
first frame shows a face; edges refined, masks smoothed over time on video) and FFmpeg writes the
mask as alpha: PNG for an image, WebM VP9 with alpha (default) or MOV ProRes 4444 for a video, the
audio passed through. With background_color or background_url the subject is laid over that
background instead (FFmpeg overlay, straight alpha); an opaque background gives an opaque output,
which may also be jpg (images) or mp4 (video)."""

import asyncio
from pathlib import Path

from framelane_core.config import Settings
from framelane_core.fetch import Allow
from framelane_core.sources import fetch_source
from framelane_core.storage import storage_from_settings
from framelane_renderer.engine import SourceInfo
from framelane_tasks.processors import Result, TaskFailed
from framelane_tasks.processors.frame_pipeline import frame_rate, probe_visual, run_model
from framelane_tasks.processors.super_resolution import MP4_AUDIO, is_image

IMAGE_FORMATS, VIDEO_FORMATS = ("png", "jpg"), ("webm", "mov", "mp4")
BACKGROUND_MAX_BYTES = 512 * 1024**2
WEBM_AUDIO = {"opus", "vorbis"}
MOV_AUDIO = MP4_AUDIO | {"pcm_s16le", "pcm_s24le", "pcm_f32le"}
# (encoder options, pixel format with alpha, without). VP9 at its realtime speed keeps a 720p
# video above 10 frames/s on two cores; ProRes 4444 is the editing format.
VIDEO_ENCODERS = {
    "webm": (["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-crf", "30",
              "-b:v", "0"], "yuva420p", "yuv420p"),
    "mov": (["-c:v", "prores_ks", "-profile:v", "4444", "-vendor", "apl0"], "yuva444p10le", "yuv444p10le"),
    "mp4": (["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-movflags", "+faststart"], None, "yuv420p"),
}


def parse_color(text: str) -> tuple[str, bool]:
    """#RRGGBB or #RRGGBBAA → (FFmpeg colour, opaque)."""
    alpha = int(text[7:9], 16) if len(text) == 9 else 255
    return f"0x{text[1:7]}@{alpha / 255:.4f}", alpha == 255


def _audio(fmt: str, codec: str | None) -> list[str]:
    if codec is None:
        return []
    copy = {"webm": WEBM_AUDIO, "mov": MOV_AUDIO, "mp4": MP4_AUDIO}[fmt]
    if codec in copy:
        return ["-c:a", "copy"]
    return ["-c:a", "libopus", "-b:a", "160k"] if fmt == "webm" else ["-c:a", "aac", "-b:a", "192k"]


async def _fetch_background(url: str, workdir: Path) -> Path:
    """background_url through the same safe fetcher and storage as the task's source."""
    settings = Settings(service="tasks_worker")
    return await fetch_source(url, workdir / "background", Allow.parse(settings.fetch_allow),
                              storage_from_settings(settings), BACKGROUND_MAX_BYTES)


async def _background(params: dict, index: int, info: SourceInfo, workdir: Path) -> tuple[list[str], str, str, bool]:
    """(FFmpeg inputs, filter chain ending in [bg], kind, opaque) of the background asked for, if any;
    `index` is the FFmpeg input number it gets."""
    size, rate = f"{info.width}:{info.height}", frame_rate(info)
    if params.get("background_color"):
        color, opaque = parse_color(params["background_color"])
        return [], f"color=c={color}:s={info.width}x{info.height}:r={rate},format=rgba[bg]", "color", opaque
    if not params.get("background_url"):
        return [], "", "transparent", False
    path = await _fetch_background(params["background_url"], workdir)
    still = is_image(await probe_visual(path, "use as a background"))
    inputs = [*(["-loop", "1", "-framerate", rate] if still else ["-stream_loop", "-1"]), "-i", str(path)]
    chain = (f"[{index}:v]scale={size}:force_original_aspect_ratio=increase,crop={size},setsar=1,"
             f"fps={rate},format=rgba[bg]")
    return inputs, chain, "image" if still else "video", True


def _codec(fmt: str, image: bool, opaque: bool, audio_codec: str | None) -> list[str]:
    if image:
        return ["-frames:v", "1", *(["-q:v", "2"] if fmt == "jpg" else ["-pix_fmt", "rgb24" if opaque else "rgba"])]
    options, with_alpha, without = VIDEO_ENCODERS[fmt]
    return [*options, "-pix_fmt", without if opaque else with_alpha, "-map", "1:a:0?", *_audio(fmt, audio_codec)]


async def run(source: Path, params: dict, workdir: Path, progress, cancel: asyncio.Event) -> Result:
    await progress(0.0, "analyzing")
    info = await probe_visual(source, "cut out")
    image = is_image(info)
    fmt = params.get("output_format")
    if fmt and fmt not in (IMAGE_FORMATS if image else VIDEO_FORMATS):
        kind, allowed = ("an image", IMAGE_FORMATS) if image else ("a video", VIDEO_FORMATS)
        raise TaskFailed("invalid_source", f"The source is {kind}: output_format must be one of {', '.join(allowed)}.")
    # Inputs: 0 the processed frames, 1 the source (a video's audio), then the background.
    inputs = [] if image else ["-i", str(source)]
    bg_inputs, chain, background, opaque = await _background(params, 1 if image else 2, info, workdir)
    fmt = fmt or ("png" if image else "mp4" if opaque else "webm")
    if fmt in ("jpg", "mp4") and not opaque:
        raise TaskFailed("invalid_source", f"output_format {fmt} has no alpha: it needs an opaque background.")
    width, height = info.width, info.height
    if fmt == "mp4":  # 4:2:0 chroma needs even sides
        width, height = width - width % 2, height - height % 2
    crop = f",crop={width}:{height}:0:0" if (width, height) != (info.width, info.height) else ""
    graph = ["-map", "0:v"]  # mp4 (the only format that crops) always has a background
    if chain:
        graph = ["-filter_complex", f"{chain};[bg][0:v]overlay=shortest=1:format=rgb{crop}[v]", "-map", "[v]"]
    output = workdir / f"output.{fmt}"
    encode = [*inputs, *bg_inputs, *graph, *_codec(fmt, image, opaque, info.audio_codec), str(output)]
    facts = await run_model(source, info, image, ["remove-background", "--model", params.get("model", "auto")],
                            "rgba", encode, workdir, progress, cancel)
    return Result(output, fmt, {"width": width, "height": height, "duration": None if image else info.duration,
                                "model": facts["model"], "model_name": facts["model_name"], "has_alpha": not opaque,
                                "background": background})
